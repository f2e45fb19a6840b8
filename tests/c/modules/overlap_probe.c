/*
 * Test-only module for tests/c/harness.c: detects overlapping calls on one instance.
 *
 * Compiled twice by tests/c/run.sh:
 *   -DMODEL=BH_THREAD_SERIALIZED -DMODNAME='"cserial"'  -> libbridgehost_mod_cserial.so
 *       the host must never overlap two calls: the harness requires 0 overlaps;
 *   -DMODEL=BH_THREAD_SAFE       -DMODNAME='"csafe"'    -> libbridgehost_mod_csafe.so
 *       the control: the host may overlap calls, and with 8 threads it does, which proves
 *       the detector detects (the harness requires > 0 overlaps).
 *
 * Methods (per instance):
 *   probe          increments an atomic in-flight counter, stays in flight ~100 us, decrements
 *                  it. Seeing another call in flight counts an overlap and fails with code 99
 *                  ("overlap: N calls in flight").
 *   overlaps       u32 LE: overlaps detected so far.
 *   max_in_flight  u32 LE: the most calls ever seen in flight at once.
 */
#define _GNU_SOURCE
#include "bridgehost_module.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef MODEL
#error "define MODEL (BH_THREAD_SERIALIZED or BH_THREAD_SAFE)"
#endif
#ifndef MODNAME
#error "define MODNAME"
#endif

typedef struct {
    const bh_host_api *api;
    atomic_int in_flight;
    atomic_uint overlaps;
    atomic_int max_in_flight;
} instance;

static void put_u32(uint8_t out[4], uint32_t v) {
    out[0] = (uint8_t)v;
    out[1] = (uint8_t)(v >> 8);
    out[2] = (uint8_t)(v >> 16);
    out[3] = (uint8_t)(v >> 24);
}

static int32_t probe_init(const bh_host_api *api, const uint8_t *config, size_t config_len,
                          void **instance_out, bh_call_ctx *err) {
    (void)config;
    (void)config_len;
    instance *self = calloc(1, sizeof *self);
    if (self == NULL) {
        api->fail(err, 12, "out of memory", 13);
        return 12;
    }
    self->api = api;
    atomic_init(&self->in_flight, 0);
    atomic_init(&self->overlaps, 0);
    atomic_init(&self->max_in_flight, 0);
    *instance_out = self;
    return 0;
}

static int32_t probe(instance *self, bh_call_ctx *call) {
    int now = atomic_fetch_add(&self->in_flight, 1) + 1;
    int seen = atomic_load(&self->max_in_flight);
    while (now > seen && !atomic_compare_exchange_weak(&self->max_in_flight, &seen, now)) {
    }
    struct timespec ts = {0, 100 * 1000};
    nanosleep(&ts, NULL);
    int32_t rc = 0;
    if (now > 1) {
        atomic_fetch_add(&self->overlaps, 1);
        char msg[64];
        int n = snprintf(msg, sizeof msg, "overlap: %d calls in flight", now);
        self->api->fail(call, 99, msg, (size_t)n);
        rc = 99;
    }
    atomic_fetch_sub(&self->in_flight, 1);
    return rc;
}

static int32_t probe_call(void *inst, uint32_t method, const uint8_t *input, size_t input_len,
                          bh_call_ctx *call) {
    instance *self = inst;
    (void)input;
    (void)input_len;
    uint8_t out[4];
    switch (method) {
    case 0:
        return probe(self, call);
    case 1:
        put_u32(out, atomic_load(&self->overlaps));
        return self->api->write(call, out, sizeof out) == BH_API_OK ? 0 : 1;
    case 2:
        put_u32(out, (uint32_t)atomic_load(&self->max_in_flight));
        return self->api->write(call, out, sizeof out) == BH_API_OK ? 0 : 1;
    default:
        self->api->fail(call, 22, "no such method", 14);
        return 22;
    }
}

static void probe_destroy(void *inst) { free(inst); }

static const bh_method_desc methods[] = {
    {"probe", 0, 0},
    {"overlaps", BH_METHOD_NONBLOCKING, 0},
    {"max_in_flight", BH_METHOD_NONBLOCKING, 0},
};

static const bh_module_desc desc = {
    .magic = BH_MODULE_MAGIC,
    .abi_version = BH_MODULE_ABI_VERSION,
    .struct_size = sizeof(bh_module_desc),
    .thread_model = MODEL,
    .method_count = sizeof methods / sizeof methods[0],
    .name = MODNAME,
    .version = "1.0.0",
    .methods = methods,
    .init = probe_init,
    .call = probe_call,
    .destroy = probe_destroy,
};

__attribute__((visibility("default"))) const bh_module_desc *bridgehost_module_v1(void) {
    return &desc;
}
