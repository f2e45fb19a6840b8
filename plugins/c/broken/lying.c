/*
 * Descriptors that lie about memory, for the host's fault-tolerant validation
 * tests. Compiled once per case with -DCASE_<name> into broken/liblying_<name>.so
 * (see plugins/Makefile). A host that dereferences what the descriptor claims
 * crashes with SIGSEGV; a v1 host must reject every case with an ABI error.
 *
 * The entry function builds the descriptor at run time in two anonymous pages,
 * the second made inaccessible, so each lie ends exactly at unmapped memory:
 *
 *   wild_name            name = 0x10 (page 0 is never mapped)
 *   name_into_unmapped   name = the last 3 bytes of the mapped page, no NUL before
 *                        the inaccessible page
 *   methods_short        method_count 2, the table holds 1 entry before the
 *                        inaccessible page
 *   methods_wild         methods = an aligned address in the inaccessible page
 *   desc_partly_mapped   the descriptor's first 16 bytes (valid magic, version,
 *                        size) end the mapped page; the rest is inaccessible
 *   desc_unmapped        the entry returns an address in the inaccessible page
 *   entry_is_data        bridgehost_module_v1 is a data object, not a function
 *   init_is_data         init points at a data object
 */
#define _GNU_SOURCE
#include "bridgehost_module.h"

#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define BH_EXPORT __attribute__((visibility("default")))

#if defined(CASE_entry_is_data)

/* A data symbol under the entry's name: calling it executes a data page. */
BH_EXPORT const unsigned char bridgehost_module_v1[64] = {0xff, 0xff, 0xff, 0xff};

#else

static int32_t l_init(const bh_host_api *api, const uint8_t *config, size_t config_len,
                      void **instance_out, bh_call_ctx *err)
{
    (void)config;
    (void)config_len;
    (void)err;
    *instance_out = (void *)api;
    return 0;
}

static int32_t l_call(void *instance, uint32_t method, const uint8_t *input, size_t input_len,
                      bh_call_ctx *call)
{
    (void)instance;
    (void)method;
    (void)input;
    (void)input_len;
    (void)call;
    return 0;
}

static void l_destroy(void *instance) { (void)instance; }

static const unsigned char not_code[64] = {0xff, 0xff};

static const bh_method_desc good_methods[2] = {{"echo", 0, 0}, {"other", 0, 0}};

BH_EXPORT const bh_module_desc *bridgehost_module_v1(void)
{
    static char *pages;
    long page = sysconf(_SC_PAGESIZE);
    if (pages == NULL) {
        pages = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (pages == MAP_FAILED)
            return NULL;
    }
    char *end = pages + page; /* first inaccessible byte */
    bh_module_desc d = {
        .magic = BH_MODULE_MAGIC,
        .abi_version = BH_MODULE_ABI_VERSION,
        .struct_size = sizeof(bh_module_desc),
        .thread_model = BH_THREAD_SAFE,
        .method_count = 2,
        .name = "lying",
        .version = "0.0.0",
        .methods = good_methods,
        .init = l_init,
        .call = l_call,
        .destroy = l_destroy,
    };
    bh_module_desc *out = (bh_module_desc *)pages; /* start of the mapped page */
#if defined(CASE_wild_name)
    d.name = (const char *)(uintptr_t)0x10;
#elif defined(CASE_name_into_unmapped)
    memcpy(end - 3, "abc", 3);
    d.name = end - 3;
#elif defined(CASE_methods_short)
    bh_method_desc *t = (bh_method_desc *)(end - sizeof(bh_method_desc));
    t[0] = good_methods[0];
    d.methods = t;
#elif defined(CASE_methods_wild)
    d.methods = (const bh_method_desc *)(end + 64);
#elif defined(CASE_desc_partly_mapped)
    out = (bh_module_desc *)(end - 16);
#elif defined(CASE_desc_unmapped)
    out = (bh_module_desc *)(end + 64);
#elif defined(CASE_init_is_data)
    d.init = (int32_t (*)(const bh_host_api *, const uint8_t *, size_t, void **, bh_call_ctx *))(
        uintptr_t)not_code;
#else
#error "unknown CASE"
#endif
    (void)not_code;
#if defined(CASE_desc_partly_mapped)
    memcpy(out, &d, 16); /* magic, abi_version, struct_size: all valid */
#elif defined(CASE_desc_unmapped)
    (void)d;
#else
    *out = d;
#endif
    mprotect(end, (size_t)page, PROT_NONE);
    return out;
}

#endif
