/*
 * Prints the layout of every struct in plugins/include/bridgehost_module.h
 * and the value of every constant, one "key value" pair per line:
 *
 *   size.<struct> N   align.<struct> N   off.<struct>.<field> N   const.<NAME> V
 *
 * plugins/abi/tests/layout.rs compiles this with the system C compiler, runs
 * it and compares every line with the Rust mirror (crate bridgehost-module-abi);
 * any drift, missing or extra key fails the test. When a field is added to
 * the header, add it here too: the Rust test then demands it of the mirror.
 *
 *   cc -std=c11 -Wall -Wextra -Werror -Iplugins/include tests/abi_layout/layout.c -o layout
 */
#include "bridgehost_module.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>

#define SIZE(T)                                                                                    \
    printf("size.%s %zu\nalign.%s %zu\n", #T, sizeof(T), #T, (size_t)alignof(T))
#define OFF(T, F) printf("off.%s.%s %zu\n", #T, #F, offsetof(T, F))
#define CONST_U(N) printf("const.%s %llu\n", #N, (unsigned long long)(N))
#define CONST_I(N) printf("const.%s %lld\n", #N, (long long)(N))

int main(void)
{
    SIZE(bh_host_api);
    OFF(bh_host_api, struct_size);
    OFF(bh_host_api, abi_version);
    OFF(bh_host_api, instance_token);
    OFF(bh_host_api, write);
    OFF(bh_host_api, fail);
    OFF(bh_host_api, emit);
    OFF(bh_host_api, log);

    SIZE(bh_method_desc);
    OFF(bh_method_desc, name);
    OFF(bh_method_desc, flags);
    OFF(bh_method_desc, reserved);

    SIZE(bh_module_desc);
    OFF(bh_module_desc, magic);
    OFF(bh_module_desc, abi_version);
    OFF(bh_module_desc, struct_size);
    OFF(bh_module_desc, thread_model);
    OFF(bh_module_desc, method_count);
    OFF(bh_module_desc, name);
    OFF(bh_module_desc, version);
    OFF(bh_module_desc, methods);
    OFF(bh_module_desc, init);
    OFF(bh_module_desc, call);
    OFF(bh_module_desc, destroy);
    OFF(bh_module_desc, module_flags);
    OFF(bh_module_desc, reserved);

    SIZE(bh_module_interface);
    OFF(bh_module_interface, struct_size);
    OFF(bh_module_interface, format);
    OFF(bh_module_interface, text);
    OFF(bh_module_interface, text_len);
    OFF(bh_module_interface, hash);
    OFF(bh_module_interface, direct);
    OFF(bh_module_interface, direct_count);
    OFF(bh_module_interface, reserved);

    /* Function pointer and size_t widths the signatures rely on. */
    printf("size.fnptr %zu\n", sizeof(bh_module_entry_fn));
    printf("size.size_t %zu\n", sizeof(size_t));

    CONST_U(BH_MODULE_MAGIC);
    CONST_U(BH_MODULE_ABI_VERSION);
    CONST_U(BH_MODULE_MAX_METHODS);
    CONST_U(BH_MODULE_MAX_NAME_LEN);
    CONST_U(BH_THREAD_SAFE);
    CONST_U(BH_THREAD_SERIALIZED);
    CONST_U(BH_THREAD_SINGLE);
    CONST_U(BH_METHOD_NONBLOCKING);
    CONST_U(BH_MODULE_STATEFUL);
    CONST_U(BH_MODULE_DESC_V1_SIZE);
    CONST_U(BH_MODULE_INTERFACE_V1_SIZE);
    CONST_U(BH_DIRECT_MAX_PARAMS);
    CONST_I(BH_API_OK);
    CONST_I(BH_API_INVALID);
    CONST_I(BH_API_TOO_LARGE);
    CONST_I(BH_API_STALE);
    CONST_I(BH_API_OVERLOADED);
    printf("const.BH_MODULE_ENTRY_SYMBOL %s\n", BH_MODULE_ENTRY_SYMBOL);
    CONST_U(BH_INTERFACE_FORMAT_WIT);
    CONST_U(BH_INTERFACE_MAX_TEXT);
    printf("const.BH_MODULE_INTERFACE_SYMBOL %s\n", BH_MODULE_INTERFACE_SYMBOL);
    return 0;
}
