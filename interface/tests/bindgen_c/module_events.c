/* A module built on the bindings generated from events.wit (interface/tests/bindgen_c.rs opens it
 * with the host, in process and isolated): fire() emits every event of emit_events.c through the
 * generated ev_emit_* functions, from the calling thread or from a thread of its own. */
#include "emit_events.c"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#define BH_EXPORT __attribute__((visibility("default")))

typedef struct inst {
    const bh_host_api *api;
    uint64_t token;
} inst;

typedef struct job {
    inst *in;
    uint32_t ok;
} job;

static void *fire_thread(void *arg)
{
    job *j = arg;
    j->ok = emit_all(j->in->api, j->in->token, NULL);
    return NULL;
}

/* For ev_fire's direct entry (docs/TYPED.md, "Direct calls"). */
const bh_host_api *ev_instance_api(void *instance)
{
    return ((inst *)instance)->api;
}

int32_t ev_fire(ev_call *call, const bool *threaded, uint32_t *out)
{
    inst *in = call->instance;
    if (!*threaded) {
        *out = emit_all(in->api, in->token, NULL);
        return 0;
    }
    job j = {in, 0};
    pthread_t th;
    if (pthread_create(&th, NULL, fire_thread, &j) != 0)
        return ev_fail(call, EAGAIN, "cannot start a thread");
    pthread_join(th, NULL);
    *out = j.ok;
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
    in->token = api->instance_token;
    *instance_out = in;
    return 0;
}

static int32_t call(void *instance, uint32_t method, const uint8_t *input, size_t input_len,
                    bh_call_ctx *ctx)
{
    return ev_dispatch(((inst *)instance)->api, instance, method, input, input_len, ctx);
}

static void destroy(void *instance)
{
    free(instance);
}

static const bh_method_desc methods[] = {EV_METHOD_ENTRIES};

static const bh_module_desc desc = {
    .magic = BH_MODULE_MAGIC,
    .abi_version = BH_MODULE_ABI_VERSION,
    .struct_size = sizeof(bh_module_desc),
    .thread_model = BH_THREAD_SAFE,
    .method_count = EV_METHOD_COUNT,
    .name = "events_c",
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
