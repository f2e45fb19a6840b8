/* author_counter.c as a real module (interface/tests/bindgen_c.rs opens it with the host, in
 * process and isolated): the descriptor, with BH_MODULE_STATEFUL, around the generated
 * counter_iface.c. */
#include "author.c"

#include <errno.h>

#define BH_EXPORT __attribute__((visibility("default")))

static int32_t init(const bh_host_api *api, const uint8_t *config, size_t config_len,
                    void **instance_out, bh_call_ctx *err)
{
    (void)config;
    (void)config_len;
    inst *in = test_instance_new();
    if (in == NULL) {
        api->fail(err, ENOMEM, "out of memory", 13);
        return ENOMEM;
    }
    in->api = api;
    *instance_out = in;
    return 0;
}

static int32_t call(void *instance, uint32_t method, const uint8_t *input, size_t input_len,
                    bh_call_ctx *ctx)
{
    return counter_dispatch(((inst *)instance)->api, instance, method, input, input_len, ctx);
}

static void destroy(void *instance)
{
    test_instance_free(instance);
}

static const bh_method_desc methods[] = {COUNTER_METHOD_ENTRIES};

static const bh_module_desc desc = {
    .magic = BH_MODULE_MAGIC,
    .abi_version = BH_MODULE_ABI_VERSION,
    .struct_size = sizeof(bh_module_desc),
    .thread_model = BH_THREAD_SAFE,
    .method_count = COUNTER_METHOD_COUNT,
    .name = "counter_c",
    .version = "0.1.0",
    .methods = methods,
    .init = init,
    .call = call,
    .destroy = destroy,
    .module_flags = BH_MODULE_STATEFUL,
};

BH_EXPORT const bh_module_desc *bridgehost_module_v1(void)
{
    return &desc;
}
