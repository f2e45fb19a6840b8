/*
 * Test-only stateful module (BH_MODULE_STATEFUL): a counter that lives in the
 * instance, like a cache or an in-memory database would.
 *
 * Under process isolation the host runs it in one worker (workers > 1 is
 * refused), keeps no pre-initialised spare, and after a worker restart fails
 * the next call once with StateLost instead of silently running it against a
 * fresh counter (docs/ISOLATION.md, "Stateful modules").
 *
 * Methods (serialized; every number little-endian):
 *   insert   adds one to the instance's counter; output: the new count (u64)
 *   count    output: the counter (u64)
 *   pid      output: the serving process id (u32)
 *   inits    output: how many times init() ran in this process (u32)
 *   crash    aborts the process (only ever called isolated)
 *   sleep    sleeps for the u32 input, in milliseconds (timeouts, cancels); first
 *            emits event "sleep-started" (payload: the input's u32), the "started"
 *            signal: received, it proves the call is running (isolated: in the worker)
 *   spin     burns the u32 input in milliseconds of CPU time (CPU-limit recycling)
 *
 * With -DSTATEFUL_V1_SIZE (core/tests/stateful.rs builds it so) the descriptor
 * claims the first v1 size (BH_MODULE_DESC_V1_SIZE, no module_flags) while its
 * memory still holds BH_MODULE_STATEFUL: a host must read it as a module
 * built before the flag existed, i.e. not stateful.
 */
#include "bridgehost_module.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const bh_host_api *api;
    uint64_t count;
} instance;

static atomic_uint inits;

static void put_le(uint8_t *out, uint64_t v, int n) {
    for (int i = 0; i < n; i++)
        out[i] = (uint8_t)(v >> (8 * i));
}

static int32_t st_init(const bh_host_api *api, const uint8_t *config, size_t config_len,
                       void **instance_out, bh_call_ctx *err) {
    (void)config; (void)config_len;
    instance *in = calloc(1, sizeof *in);
    if (in == NULL) {
        static const char msg[] = "out of memory";
        api->fail(err, 12, msg, sizeof msg - 1);
        return 12;
    }
    in->api = api;
    atomic_fetch_add(&inits, 1);
    *instance_out = in;
    return 0;
}

static int32_t st_call(void *inst, uint32_t method, const uint8_t *input, size_t input_len,
                       bh_call_ctx *call) {
    instance *in = inst;
    uint8_t buf[8];
    switch (method) {
    case 0: /* insert */
        in->count++;
        put_le(buf, in->count, 8);
        return in->api->write(call, buf, 8) == BH_API_OK ? 0 : 1;
    case 1: /* count */
        put_le(buf, in->count, 8);
        return in->api->write(call, buf, 8) == BH_API_OK ? 0 : 1;
    case 2: /* pid */
        put_le(buf, (uint64_t)getpid(), 4);
        return in->api->write(call, buf, 4) == BH_API_OK ? 0 : 1;
    case 3: /* inits */
        put_le(buf, atomic_load(&inits), 4);
        return in->api->write(call, buf, 4) == BH_API_OK ? 0 : 1;
    case 4: /* crash */
        abort();
    case 5: { /* sleep */
        uint32_t ms = 0;
        if (input_len >= 4)
            ms = (uint32_t)input[0] | (uint32_t)input[1] << 8 | (uint32_t)input[2] << 16 |
                 (uint32_t)input[3] << 24;
        /* Best effort: a full event queue drops it, and the call runs the same. */
        static const char topic[] = "sleep-started";
        put_le(buf, ms, 4);
        in->api->emit(in->api->instance_token, topic, sizeof topic - 1, buf, 4);
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        return 0;
    }
    case 6: { /* spin */
        uint32_t ms = 0;
        if (input_len >= 4)
            ms = (uint32_t)input[0] | (uint32_t)input[1] << 8 | (uint32_t)input[2] << 16 |
                 (uint32_t)input[3] << 24;
        struct timespec t0, t;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
        volatile uint64_t x = 0;
        do {
            for (int i = 0; i < 100000; i++)
                x += (uint64_t)i;
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
        } while ((uint64_t)(t.tv_sec - t0.tv_sec) * 1000u +
                     (uint64_t)((t.tv_nsec - t0.tv_nsec) / 1000000L) <
                 ms);
        return 0;
    }
    default: {
        static const char msg[] = "unknown method";
        in->api->fail(call, 22, msg, sizeof msg - 1);
        return 22;
    }
    }
}

static void st_destroy(void *inst) { free(inst); }

static const bh_method_desc methods[] = {
    {"insert", 0, 0}, {"count", 0, 0}, {"pid", 0, 0},
    {"inits", 0, 0},  {"crash", 0, 0}, {"sleep", 0, 0}, {"spin", 0, 0},
};

static const bh_module_desc desc = {
    .magic = BH_MODULE_MAGIC,
    .abi_version = BH_MODULE_ABI_VERSION,
#ifdef STATEFUL_V1_SIZE
    .struct_size = BH_MODULE_DESC_V1_SIZE,
#else
    .struct_size = sizeof(bh_module_desc),
#endif
    .thread_model = BH_THREAD_SERIALIZED,
    .method_count = sizeof methods / sizeof methods[0],
    .name = "stateful",
    .version = "1.0.0",
    .methods = methods,
    .init = st_init,
    .call = st_call,
    .destroy = st_destroy,
    .module_flags = BH_MODULE_STATEFUL,
};

__attribute__((visibility("default"))) const bh_module_desc *bridgehost_module_v1(void) {
    return &desc;
}
