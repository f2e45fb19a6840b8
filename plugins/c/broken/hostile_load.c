/*
 * Modules whose *loading* is hostile: code that runs before the host can
 * validate anything. Compiled once per case with -DCASE_<name> into
 * hostile/libhostile_<name>.so (see plugins/Makefile). Loading one in-process
 * ends or hangs the loading process -- no in-process check can prevent that
 * (docs/ISOLATION.md) -- so they are only ever loaded in a worker: the
 * validate step (`bridgehost inspect`, ModuleOptions::validate_in_worker) must
 * report each as a typed error, never as a valid module.
 *
 *   ctor_exit     an ELF constructor calls _exit(0)
 *   ctor_crash    an ELF constructor raises SIGSEGV
 *   entry_hangs   bridgehost_module_v1() never returns
 */
#define _GNU_SOURCE
#include "bridgehost_module.h"

#include <signal.h>
#include <stddef.h>
#include <unistd.h>

#define BH_EXPORT __attribute__((visibility("default")))

static int32_t h_init(const bh_host_api *api, const uint8_t *config, size_t config_len,
                      void **instance_out, bh_call_ctx *err)
{
    (void)config;
    (void)config_len;
    (void)err;
    *instance_out = (void *)api;
    return 0;
}

static int32_t h_call(void *instance, uint32_t method, const uint8_t *input, size_t input_len,
                      bh_call_ctx *call)
{
    (void)instance;
    (void)method;
    (void)input;
    (void)input_len;
    (void)call;
    return 0;
}

static void h_destroy(void *instance) { (void)instance; }

static const bh_method_desc methods[1] = {{"echo", 0, 0}};

static const bh_module_desc desc = {
    .magic = BH_MODULE_MAGIC,
    .abi_version = BH_MODULE_ABI_VERSION,
    .struct_size = sizeof(bh_module_desc),
    .thread_model = BH_THREAD_SAFE,
    .method_count = 1,
    .name = "hostile_load",
    .version = "0.0.0",
    .methods = methods,
    .init = h_init,
    .call = h_call,
    .destroy = h_destroy,
};

#if defined(CASE_ctor_exit)
__attribute__((constructor)) static void ctor(void) { _exit(0); }
#elif defined(CASE_ctor_crash)
__attribute__((constructor)) static void ctor(void) { raise(SIGSEGV); }
#elif !defined(CASE_entry_hangs)
#error "unknown CASE"
#endif

BH_EXPORT const bh_module_desc *bridgehost_module_v1(void)
{
#if defined(CASE_entry_hangs)
    for (;;)
        pause();
#endif
    return &desc;
}
