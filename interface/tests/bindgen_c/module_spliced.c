/* A module whose generated typed methods are spliced after two byte methods of its own
 * (interface/tests/bindgen_c.rs, a_typed_table_spliced_after_byte_methods_*): the descriptor is
 * {"ping", "length", SPLICED_METHOD_ENTRIES}, so spliced_iface.c is compiled with
 * -DSPLICED_FIRST_METHOD=2u -DSPLICED_MODULE_METHOD_COUNT=5u (the test also builds it with wrong
 * values, which the host must refuse at load). */
#include "spliced_iface.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BH_EXPORT __attribute__((visibility("default")))

typedef struct inst {
    const bh_host_api *api;
} inst;

const bh_host_api *spliced_instance_api(void *instance)
{
    return ((inst *)instance)->api;
}

int32_t spliced_add(spliced_call *call, const uint32_t *a, const uint32_t *b, uint32_t *out)
{
    (void)call;
    *out = *a + *b;
    return 0;
}

int32_t spliced_scale(spliced_call *call, const double *x, const double *k, double *out)
{
    if (*k == 0.0)
        return spliced_fail(call, EDOM, "scale: k is zero");
    *out = *x * *k;
    return 0;
}

int32_t spliced_greet(spliced_call *call, const spliced_string *name, spliced_string *out)
{
    static const char hello[] = "hello, ";
    char *s = spliced_alloc(call, sizeof hello - 1 + name->len);
    if (s == NULL)
        return spliced_fail(call, ENOMEM, "out of memory");
    memcpy(s, hello, sizeof hello - 1);
    memcpy(s + sizeof hello - 1, name->ptr, name->len);
    out->ptr = s;
    out->len = sizeof hello - 1 + name->len;
    return 0;
}

static int32_t init(const bh_host_api *api, const uint8_t *config, size_t config_len,
                    void **instance_out, bh_call_ctx *err)
{
    (void)config;
    (void)config_len;
    inst *in = malloc(sizeof *in);
    if (in == NULL) {
        api->fail(err, ENOMEM, "out of memory", 13);
        return ENOMEM;
    }
    in->api = api;
    *instance_out = in;
    return 0;
}

#define FIRST_TYPED 2u

static int32_t call(void *instance, uint32_t method, const uint8_t *input, size_t input_len,
                    bh_call_ctx *ctx)
{
    const bh_host_api *api = ((inst *)instance)->api;
    switch (method) {
    case 0: /* ping: the input back */
        return api->write(ctx, input, input_len);
    case 1: { /* length: the input's length, u32 little-endian */
        uint8_t n[4] = {(uint8_t)input_len, (uint8_t)(input_len >> 8), (uint8_t)(input_len >> 16),
                        (uint8_t)(input_len >> 24)};
        return api->write(ctx, n, sizeof n);
    }
    default:
        return spliced_dispatch(api, instance, method - FIRST_TYPED, input, input_len, ctx);
    }
}

static void destroy(void *instance)
{
    free(instance);
}

static const bh_method_desc methods[] = {{"ping", 0u, 0u}, {"length", 0u, 0u}, SPLICED_METHOD_ENTRIES};

static const bh_module_desc desc = {
    .magic = BH_MODULE_MAGIC,
    .abi_version = BH_MODULE_ABI_VERSION,
    .struct_size = sizeof(bh_module_desc),
    .thread_model = BH_THREAD_SAFE,
    .method_count = FIRST_TYPED + SPLICED_METHOD_COUNT,
    .name = "spliced",
    .version = "0.1.0",
    .methods = methods,
    .init = init,
    .call = call,
    .destroy = destroy,
};

BH_EXPORT const bh_module_desc *bridgehost_module_v1(void)
{
    return &desc;
}
