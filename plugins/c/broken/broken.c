/*
 * Deliberately broken module descriptors, for the host's validation tests.
 *
 * Compiled once per case with -DCASE_<name> into broken/libbroken_<name>.so
 * (see plugins/Makefile for the list). Every case starts from a valid module
 * (methods "echo" and "other", whose entry points really work, so a host that
 * wrongly accepts the descriptor still does not crash) and breaks exactly
 * one thing. A v1 host must reject every one of them with an ABI error.
 *
 *   not_a_module            shared library without the bridgehost_module_v1 symbol
 *   entry_returns_null      bridgehost_module_v1() returns NULL
 *   wrong_magic             magic ^ 1
 *   wrong_abi_version       abi_version 2
 *   struct_size_small       struct_size = offsetof(bh_module_desc, destroy)
 *   unknown_thread_model    thread_model 7
 *   null_module_name        name NULL
 *   non_utf8_module_name    name "bad\xff"
 *   null_init / null_call / null_destroy   that function pointer NULL
 *   null_methods            methods NULL (method_count 2)
 *   method_count_zero       method_count 0
 *   method_count_huge       method_count 100000 (table has 2 entries: the count
 *                           must be rejected before the table is read)
 *   null_method_name        methods[1].name NULL
 *   empty_method_name       methods[1].name ""
 *   non_utf8_method_name    methods[1].name "bad\xc3\x28"
 *   duplicate_method_names  methods "echo", "echo"
 *   method_name_too_long    methods[1].name is 129 bytes (+ NUL)
 *   unknown_flags           methods[1].flags 0x80000002
 *   reserved_nonzero        methods[1].reserved 1
 *   unknown_module_flags    module_flags 0x80000001 (BH_MODULE_STATEFUL plus an unknown bit)
 *   module_reserved_nonzero the descriptor's reserved field 1
 */
#include "bridgehost_module.h"

#include <stddef.h>
#include <stdlib.h>

#define BH_EXPORT __attribute__((visibility("default")))

#ifndef CASE_not_a_module

__attribute__((unused)) static int32_t b_init(const bh_host_api *api, const uint8_t *config, size_t config_len,
                      void **instance_out, bh_call_ctx *err)
{
    (void)config;
    (void)config_len;
    (void)err;
    *instance_out = (void *)api;
    return 0;
}

__attribute__((unused)) static int32_t b_call(void *instance, uint32_t method, const uint8_t *input, size_t input_len,
                      bh_call_ctx *call)
{
    const bh_host_api *api = instance;
    (void)method;
    if (input_len == 0)
        return 0;
    return api->write(call, input, input_len) == BH_API_OK ? 0 : 1;
}

__attribute__((unused)) static void b_destroy(void *instance)
{
    (void)instance;
}

#define A16 "aaaaaaaaaaaaaaaa"

#if defined(CASE_null_method_name)
#define NAME1 NULL
#elif defined(CASE_empty_method_name)
#define NAME1 ""
#elif defined(CASE_non_utf8_method_name)
#define NAME1 "bad\xc3\x28"
#elif defined(CASE_duplicate_method_names)
#define NAME1 "echo"
#elif defined(CASE_method_name_too_long)
#define NAME1 A16 A16 A16 A16 A16 A16 A16 A16 "a" /* 129 bytes */
#else
#define NAME1 "other"
#endif

#if defined(CASE_unknown_flags)
#define FLAGS1 0x80000002u
#else
#define FLAGS1 BH_METHOD_NONBLOCKING
#endif

#if defined(CASE_reserved_nonzero)
#define RESERVED1 1u
#else
#define RESERVED1 0u
#endif

__attribute__((unused)) static const bh_method_desc methods[2] = {
    {"echo", 0, 0},
    {NAME1, FLAGS1, RESERVED1},
};

static const bh_module_desc desc = {
#if defined(CASE_wrong_magic)
    .magic = BH_MODULE_MAGIC ^ 1u,
#else
    .magic = BH_MODULE_MAGIC,
#endif
#if defined(CASE_wrong_abi_version)
    .abi_version = BH_MODULE_ABI_VERSION + 1u,
#else
    .abi_version = BH_MODULE_ABI_VERSION,
#endif
#if defined(CASE_struct_size_small)
    .struct_size = offsetof(bh_module_desc, destroy),
#else
    .struct_size = sizeof(bh_module_desc),
#endif
#if defined(CASE_unknown_thread_model)
    .thread_model = 7u,
#else
    .thread_model = BH_THREAD_SAFE,
#endif
#if defined(CASE_method_count_zero)
    .method_count = 0u,
#elif defined(CASE_method_count_huge)
    .method_count = 100000u,
#else
    .method_count = 2u,
#endif
#if defined(CASE_null_module_name)
    .name = NULL,
#elif defined(CASE_non_utf8_module_name)
    .name = "bad\xff",
#else
    .name = "broken",
#endif
    .version = "0.0.0",
#if defined(CASE_null_methods)
    .methods = NULL,
#else
    .methods = methods,
#endif
#if defined(CASE_null_init)
    .init = NULL,
#else
    .init = b_init,
#endif
#if defined(CASE_null_call)
    .call = NULL,
#else
    .call = b_call,
#endif
#if defined(CASE_null_destroy)
    .destroy = NULL,
#else
    .destroy = b_destroy,
#endif
#if defined(CASE_unknown_module_flags)
    .module_flags = 0x80000000u | BH_MODULE_STATEFUL,
#endif
#if defined(CASE_module_reserved_nonzero)
    .reserved = 1u,
#endif
};

BH_EXPORT const bh_module_desc *bridgehost_module_v1(void)
{
#if defined(CASE_entry_returns_null)
    (void)desc;
    return NULL;
#else
    return &desc;
#endif
}

#else /* CASE_not_a_module */

BH_EXPORT int bridgehost_not_a_module(void)
{
    return 42;
}

#endif
