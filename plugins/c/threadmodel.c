/*
 * Test-only modules that check the host honours a module's thread model.
 * Compiled twice:
 *   -DMODEL=BH_THREAD_SERIALIZED -DMODNAME='"serial"' -> libbridgehost_mod_serial.so
 *   -DMODEL=BH_THREAD_SINGLE     -DMODNAME='"single"' -> libbridgehost_mod_single.so
 *
 * Methods (all per instance):
 *   probe     marks itself in flight for ~200 us; if another call is in flight at the same
 *             time on this instance, counts an overlap and fails with code 99.
 *   overlaps  u32 LE: overlaps detected so far.
 *   tid       u32 LE: the kernel thread id the call runs on.
 *   init_tid  u32 LE: the kernel thread id that ran init.
 *   log       logs the input (UTF-8, info level) through the host, inside the call: a host
 *             log sink then runs on the calling thread, inside this call (re-entrancy tests).
 *             Output: the log() status as i32 LE.
 */
#define _GNU_SOURCE
#include "bridgehost_module.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MODEL
#error "define MODEL"
#endif

typedef struct {
    const bh_host_api *api;
    atomic_int in_flight;
    atomic_uint overlaps;
    uint32_t init_tid;
} instance;

static uint32_t current_tid(void) { return (uint32_t)syscall(SYS_gettid); }

static void put_u32(uint8_t out[4], uint32_t v) {
    out[0] = (uint8_t)v; out[1] = (uint8_t)(v >> 8); out[2] = (uint8_t)(v >> 16); out[3] = (uint8_t)(v >> 24);
}

static int32_t tm_init(const bh_host_api *api, const uint8_t *config, size_t config_len,
                       void **instance_out, bh_call_ctx *err) {
    (void)config; (void)config_len;
    instance *in = calloc(1, sizeof *in);
    if (in == NULL) {
        static const char msg[] = "out of memory";
        api->fail(err, 12, msg, sizeof msg - 1);
        return 12;
    }
    in->api = api;
    in->init_tid = current_tid();
    *instance_out = in;
    return 0;
}

static int32_t tm_call(void *inst, uint32_t method, const uint8_t *input, size_t input_len,
                       bh_call_ctx *call) {
    instance *in = inst;
    uint8_t buf[4];
    switch (method) {
    case 0: { /* probe */
        int before = atomic_fetch_add(&in->in_flight, 1);
        struct timespec ts = {0, 200 * 1000};
        nanosleep(&ts, NULL);
        int after = atomic_fetch_sub(&in->in_flight, 1);
        if (before != 0 || after != 1) {
            atomic_fetch_add(&in->overlaps, 1);
            static const char msg[] = "overlapping calls on one instance";
            in->api->fail(call, 99, msg, sizeof msg - 1);
            return 99;
        }
        return 0;
    }
    case 1:
        put_u32(buf, atomic_load(&in->overlaps));
        return in->api->write(call, buf, 4) == BH_API_OK ? 0 : 1;
    case 2:
        put_u32(buf, current_tid());
        return in->api->write(call, buf, 4) == BH_API_OK ? 0 : 1;
    case 3:
        put_u32(buf, in->init_tid);
        return in->api->write(call, buf, 4) == BH_API_OK ? 0 : 1;
    case 4:
        put_u32(buf, (uint32_t)in->api->log(in->api->instance_token, 2, (const char *)input,
                                            input_len));
        return in->api->write(call, buf, 4) == BH_API_OK ? 0 : 1;
    default:
        return 2;
    }
}

static void tm_destroy(void *inst) { free(inst); }

static const bh_method_desc methods[] = {
    {"probe", 0, 0}, {"overlaps", BH_METHOD_NONBLOCKING, 0},
    {"tid", BH_METHOD_NONBLOCKING, 0}, {"init_tid", BH_METHOD_NONBLOCKING, 0},
    {"log", 0, 0},
};

static const bh_module_desc desc = {
    BH_MODULE_MAGIC, BH_MODULE_ABI_VERSION, sizeof(bh_module_desc), MODEL,
    sizeof methods / sizeof methods[0], MODNAME, "1.0.0", methods,
    tm_init, tm_call, tm_destroy, 0, 0,
};

__attribute__((visibility("default"))) const bh_module_desc *bridgehost_module_v1(void) {
    return &desc;
}
