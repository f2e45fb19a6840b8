/*
 * Test-only module for WIT resources (docs/TYPED.md, "Resources (handles)"), written by hand
 * against the wire format, without the generators: every runtime's resource tests run against
 * it, and it shows what a module must do with handles whatever produced its code.
 *
 * Interface: c/counter.wit (embedded as is with .incbin; the hash below is its canonical hash,
 * printed by `bridgehost wit c/counter.wit`: a text edited without updating it is refused by the
 * host with "hash mismatch").
 *
 * Handles are per instance and generation-checked: handle = generation << 32 | (slot + 1), the
 * instance's first generation is random, and a slot's generation moves on when its counter is
 * dropped, so a dropped handle, one from another instance or one issued before a worker restart
 * fails the call with EINVAL "stale handle: no live counter has handle 0x...". A counter that a
 * running call borrowed is pinned: dropped meanwhile, it is destroyed when the last such call
 * returns. destroy() destroys every counter still live.
 *
 * Thread model BH_THREAD_SAFE (a drop may run while slow-get runs); the table has a mutex.
 * BH_MODULE_STATEFUL: the counters live in the instance.
 *
 * Events (the WIT's `events` interface): slow-get emits "slow-get-started" with its counter's
 * handle once it has pinned the counter, before it sleeps: the "started" signal tests wait for
 * before dropping the counter under the running call (instead of sleeping).
 *
 * Bytes-only methods besides the interface: "crash" aborts the process (isolated tests restart
 * the worker with it), "pid" returns the serving process id (u32).
 *
 * One lie, for the tests of the host's checks: the drop of a counter named "lies-on-drop"
 * (`named`) returns the handle, 8 bytes of output a drop does not have (the host refuses it as
 * AbiMismatch; the counter is dropped all the same).
 *
 * Direct entries (docs/TYPED.md, "Direct calls"): live and destroyed-total, written by hand (see
 * `direct` below).
 */
#include "bridgehost_module.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define STR2(x) #x
#define STR(x) STR2(x)

/* The interface text, the file itself (COUNTER_WIT is its path, given by the Makefile). */
__asm__(".section .rodata\n"
        ".global counter_wit_start\n"
        ".hidden counter_wit_start\n"
        "counter_wit_start:\n"
        ".incbin \"" STR(COUNTER_WIT) "\"\n"
        ".global counter_wit_end\n"
        ".hidden counter_wit_end\n"
        "counter_wit_end:\n"
        ".previous\n");
extern const char counter_wit_start[];
extern const char counter_wit_end[];

/* `bridgehost wit c/counter.wit` */
static const uint8_t COUNTER_HASH[32] = {
    0x4e, 0xb1, 0x7a, 0x01, 0xd7, 0x74, 0xdb, 0x6f, 0xfe, 0x09, 0xda, 0xf9, 0x5a, 0xc6, 0x55, 0x86,
    0x9b, 0xd8, 0x3f, 0xa7, 0x5d, 0xac, 0x2e, 0xf2, 0x98, 0xa6, 0x5d, 0xc0, 0xe2, 0x2f, 0xbe, 0x82,
};

typedef struct counter {
    uint64_t value;   /* guarded by the table mutex */
    char *name;       /* NULL: none; immutable after creation */
    size_t name_len;
} counter;

typedef struct slot {
    counter *obj;    /* NULL: free */
    uint32_t gen;    /* the generation of the handle that names obj */
    uint32_t pins;   /* running calls that borrowed obj */
    bool dropped;    /* dropped while pinned: destroyed at the last unpin */
} slot;

typedef struct instance {
    const bh_host_api *api;
    pthread_mutex_t mu;
    slot *slots;
    size_t len, cap;
    uint32_t next_gen; /* generation given to the next insert */
    uint32_t live;     /* counters not dropped */
} instance;

static atomic_uint_fast64_t destroyed_total;

#define LIES_ON_DROP "lies-on-drop"

static void counter_free(counter *c) {
    free(c->name);
    free(c);
    atomic_fetch_add(&destroyed_total, 1);
}

/* ---- errors ---- */

static int32_t fail(instance *in, bh_call_ctx *ctx, int32_t code, const char *msg) {
    in->api->fail(ctx, code, msg, strlen(msg));
    return code;
}

static int32_t stale(instance *in, bh_call_ctx *ctx, uint64_t h) {
    char msg[96];
    snprintf(msg, sizeof msg, "stale handle: no live counter has handle 0x%016llx",
             (unsigned long long)h);
    return fail(in, ctx, EINVAL, msg);
}

/* ---- the handle table ---- */

/* Insert c; 0 when out of memory (c is then not owned by the table). Holds no lock. */
static uint64_t table_insert(instance *in, counter *c) {
    pthread_mutex_lock(&in->mu);
    size_t i = 0;
    while (i < in->len && in->slots[i].obj != NULL)
        i++;
    if (i == in->len) {
        if (in->len == in->cap) {
            size_t cap = in->cap ? in->cap * 2 : 8;
            if (cap > UINT32_MAX - 1) {
                pthread_mutex_unlock(&in->mu);
                return 0;
            }
            slot *s = realloc(in->slots, cap * sizeof *s);
            if (s == NULL) {
                pthread_mutex_unlock(&in->mu);
                return 0;
            }
            in->slots = s;
            in->cap = cap;
        }
        in->len++;
    }
    slot *s = &in->slots[i];
    s->obj = c;
    s->gen = in->next_gen++;
    s->pins = 0;
    s->dropped = false;
    in->live++;
    uint64_t h = ((uint64_t)s->gen << 32) | (uint64_t)(i + 1);
    pthread_mutex_unlock(&in->mu);
    return h;
}

/* The slot index a handle names if it is live (not dropped), under the lock; -1 otherwise. */
static ptrdiff_t table_find(instance *in, uint64_t h) {
    uint64_t idx = h & 0xffffffffu;
    if (idx == 0 || idx > in->len)
        return -1;
    slot *s = &in->slots[idx - 1];
    if (s->obj == NULL || s->dropped || s->gen != (uint32_t)(h >> 32))
        return -1;
    return (ptrdiff_t)(idx - 1);
}

/* Pin the counter named by h for a call; NULL when h is stale. */
static counter *table_pin(instance *in, uint64_t h) {
    pthread_mutex_lock(&in->mu);
    ptrdiff_t i = table_find(in, h);
    counter *c = NULL;
    if (i >= 0) {
        in->slots[i].pins++;
        c = in->slots[i].obj;
    }
    pthread_mutex_unlock(&in->mu);
    return c;
}

/* Release a pin taken with table_pin(h) (h was live then, so its slot still holds the counter). */
static void table_unpin(instance *in, uint64_t h) {
    size_t i = (size_t)(h & 0xffffffffu) - 1;
    counter *dead = NULL;
    pthread_mutex_lock(&in->mu);
    slot *s = &in->slots[i];
    if (--s->pins == 0 && s->dropped) {
        dead = s->obj;
        s->obj = NULL;
        s->dropped = false;
    }
    pthread_mutex_unlock(&in->mu);
    if (dead != NULL)
        counter_free(dead);
}

/* Drop handle h: false when it is stale. The counter is destroyed now, or at its last unpin. */
static bool table_drop(instance *in, uint64_t h) {
    counter *dead = NULL;
    pthread_mutex_lock(&in->mu);
    ptrdiff_t i = table_find(in, h);
    if (i < 0) {
        pthread_mutex_unlock(&in->mu);
        return false;
    }
    slot *s = &in->slots[i];
    in->live--;
    s->gen++; /* the dropped handle is stale from now on, even while pinned */
    if (s->pins == 0) {
        dead = s->obj;
        s->obj = NULL;
    } else {
        s->dropped = true;
    }
    pthread_mutex_unlock(&in->mu);
    if (dead != NULL)
        counter_free(dead);
    return true;
}

/* ---- wire ---- */

typedef struct reader {
    const uint8_t *p;
    size_t left;
} reader;

static bool rd_u32(reader *r, uint32_t *v) {
    if (r->left < 4)
        return false;
    *v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
         (uint32_t)r->p[3] << 24;
    r->p += 4;
    r->left -= 4;
    return true;
}

static bool rd_u64(reader *r, uint64_t *v) {
    uint32_t lo, hi;
    if (r->left < 8 || !rd_u32(r, &lo) || !rd_u32(r, &hi))
        return false;
    *v = (uint64_t)hi << 32 | lo;
    return true;
}

/* Strict UTF-8 (no overlongs, surrogates or values above U+10FFFF). */
static bool utf8_ok(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

static bool rd_string(reader *r, const uint8_t **s, size_t *n) {
    uint32_t len;
    if (!rd_u32(r, &len) || len > r->left || !utf8_ok(r->p, len))
        return false;
    *s = r->p;
    *n = len;
    r->p += len;
    r->left -= len;
    return true;
}

static void put_u32(uint8_t *b, uint32_t v) {
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *b, uint64_t v) {
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static int32_t write_all(instance *in, bh_call_ctx *ctx, const uint8_t *b, size_t n) {
    int32_t st = in->api->write(ctx, b, n);
    return st == BH_API_OK ? 0 : fail(in, ctx, EIO, "the host refused the output");
}

static int32_t write_u64(instance *in, bh_call_ctx *ctx, uint64_t v) {
    uint8_t b[8];
    put_u64(b, v);
    return write_all(in, ctx, b, 8);
}

/* result<_, string>::err / result<u64, string>::err: tag 1, then the string. */
static int32_t write_err_string(instance *in, bh_call_ctx *ctx, const char *msg) {
    size_t n = strlen(msg);
    uint8_t b[5];
    b[0] = 1;
    put_u32(b + 1, (uint32_t)n);
    int32_t st = write_all(in, ctx, b, 5);
    return st != 0 ? st : write_all(in, ctx, (const uint8_t *)msg, n);
}

/* ---- the counters ---- */

static counter *counter_new(uint64_t start, const uint8_t *name, size_t name_len) {
    counter *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->value = start;
    if (name != NULL) {
        c->name = malloc(name_len ? name_len : 1);
        if (c->name == NULL) {
            free(c);
            return NULL;
        }
        memcpy(c->name, name, name_len);
        c->name_len = name_len;
    }
    return c;
}

/* Insert a new counter and write its handle (8 bytes, after `prefix` bytes of tag if any). */
static int32_t new_handle(instance *in, bh_call_ctx *ctx, counter *c, const uint8_t *prefix,
                          size_t prefix_len) {
    if (c == NULL)
        return fail(in, ctx, ENOMEM, "out of memory");
    uint64_t h = table_insert(in, c);
    if (h == 0) {
        counter_free(c);
        return fail(in, ctx, ENOMEM, "out of memory");
    }
    if (prefix_len > 0) {
        int32_t st = write_all(in, ctx, prefix, prefix_len);
        if (st != 0) {
            table_drop(in, h);
            return st;
        }
    }
    int32_t st = write_u64(in, ctx, h);
    if (st != 0)
        table_drop(in, h);
    return st;
}

enum {
    M_CTOR, M_ADD, M_GET, M_NAME, M_FORK, M_SLOW_GET, M_NAMED, M_MANY, M_SUM, M_LIVE,
    M_DESTROYED_TOTAL, M_DROP, M_CRASH, M_PID,
};

static const bh_method_desc methods[] = {
    {"[constructor]counter", 0, 0},
    {"[method]counter.add", 0, 0},
    {"[method]counter.get", 0, 0},
    {"[method]counter.name", 0, 0},
    {"[method]counter.fork", 0, 0},
    {"[method]counter.slow-get", 0, 0},
    {"[static]counter.named", 0, 0},
    {"[static]counter.many", 0, 0},
    {"sum", 0, 0},
    {"live", 0, 0},
    {"destroyed-total", 0, 0},
    {"[resource-drop]counter", 0, 0},
    {"crash", 0, 0},
    {"pid", 0, 0},
};

static int32_t malformed(instance *in, bh_call_ctx *ctx) {
    return fail(in, ctx, EINVAL, "malformed input");
}

/* A method on one borrowed counter (h, pinned): self, then the method's own parameters in r. */
static int32_t call_method(instance *in, uint32_t m, uint64_t h, counter *c, reader *r,
                           bh_call_ctx *ctx) {
    switch (m) {
    case M_ADD: {
        uint64_t n;
        if (!rd_u64(r, &n) || r->left != 0)
            return malformed(in, ctx);
        pthread_mutex_lock(&in->mu);
        bool overflow = c->value > UINT64_MAX - n;
        uint64_t v = overflow ? c->value : (c->value += n);
        pthread_mutex_unlock(&in->mu);
        if (overflow) {
            char msg[96];
            snprintf(msg, sizeof msg, "overflow: %llu + %llu does not fit in u64",
                     (unsigned long long)v, (unsigned long long)n);
            return write_err_string(in, ctx, msg);
        }
        uint8_t b[9];
        b[0] = 0;
        put_u64(b + 1, v);
        return write_all(in, ctx, b, 9);
    }
    case M_GET: {
        if (r->left != 0)
            return malformed(in, ctx);
        pthread_mutex_lock(&in->mu);
        uint64_t v = c->value;
        pthread_mutex_unlock(&in->mu);
        return write_u64(in, ctx, v);
    }
    case M_NAME: {
        if (r->left != 0)
            return malformed(in, ctx);
        if (c->name == NULL) {
            uint8_t none = 0;
            return write_all(in, ctx, &none, 1);
        }
        uint8_t b[5];
        b[0] = 1;
        put_u32(b + 1, (uint32_t)c->name_len);
        int32_t st = write_all(in, ctx, b, 5);
        return st != 0 ? st : write_all(in, ctx, (const uint8_t *)c->name, c->name_len);
    }
    case M_FORK: {
        uint64_t delta;
        if (!rd_u64(r, &delta) || r->left != 0)
            return malformed(in, ctx);
        pthread_mutex_lock(&in->mu);
        uint64_t v = c->value;
        pthread_mutex_unlock(&in->mu);
        if (v > UINT64_MAX - delta)
            return fail(in, ctx, EINVAL, "fork: the start value does not fit in u64");
        return new_handle(in, ctx, counter_new(v + delta, NULL, 0), NULL, 0);
    }
    case M_SLOW_GET: {
        uint32_t ms;
        if (!rd_u32(r, &ms) || r->left != 0)
            return malformed(in, ctx);
        if (ms > 10000)
            return fail(in, ctx, EINVAL, "slow-get: at most 10000 ms");
        /* The "started" signal (event slow-get-started, payload the u64 handle): the counter is
         * pinned, so a drop from now on is deferred until this call returns. Best effort: a
         * full event queue drops it, and the call runs the same. */
        static const char topic[] = "slow-get-started";
        uint8_t payload[8];
        put_u64(payload, h);
        in->api->emit(in->api->instance_token, topic, sizeof topic - 1, payload, sizeof payload);
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
        pthread_mutex_lock(&in->mu);
        uint64_t v = c->value;
        pthread_mutex_unlock(&in->mu);
        return write_u64(in, ctx, v);
    }
    default:
        return fail(in, ctx, EINVAL, "unknown method");
    }
}

static int32_t ct_call(void *inst, uint32_t m, const uint8_t *input, size_t input_len,
                       bh_call_ctx *ctx) {
    instance *in = inst;
    reader r = {input, input_len};
    switch (m) {
    case M_CTOR: {
        uint64_t start;
        if (!rd_u64(&r, &start) || r.left != 0)
            return malformed(in, ctx);
        return new_handle(in, ctx, counter_new(start, NULL, 0), NULL, 0);
    }
    case M_ADD:
    case M_GET:
    case M_NAME:
    case M_FORK:
    case M_SLOW_GET: {
        uint64_t h;
        if (!rd_u64(&r, &h))
            return malformed(in, ctx);
        counter *c = table_pin(in, h);
        if (c == NULL)
            return stale(in, ctx, h);
        int32_t st = call_method(in, m, h, c, &r, ctx);
        table_unpin(in, h);
        return st;
    }
    case M_NAMED: {
        const uint8_t *name;
        size_t name_len;
        uint64_t start;
        if (!rd_string(&r, &name, &name_len) || !rd_u64(&r, &start) || r.left != 0)
            return malformed(in, ctx);
        if (name_len == 0)
            return write_err_string(in, ctx, "a counter's name must not be empty");
        uint8_t ok = 0;
        return new_handle(in, ctx, counter_new(start, name, name_len), &ok, 1);
    }
    case M_MANY: {
        uint32_t n;
        if (!rd_u32(&r, &n) || r.left / 8 < n || r.left != (size_t)n * 8)
            return malformed(in, ctx);
        uint64_t *hs = calloc(n ? n : 1, sizeof *hs);
        if (hs == NULL)
            return fail(in, ctx, ENOMEM, "out of memory");
        int32_t st = 0;
        uint32_t made = 0;
        for (; made < n; made++) {
            uint64_t start;
            rd_u64(&r, &start); /* length checked above */
            counter *c = counter_new(start, NULL, 0);
            hs[made] = c ? table_insert(in, c) : 0;
            if (hs[made] == 0) {
                if (c)
                    counter_free(c);
                st = fail(in, ctx, ENOMEM, "out of memory");
                break;
            }
        }
        if (st == 0) {
            uint8_t b[8];
            put_u32(b, n);
            st = write_all(in, ctx, b, 4);
            for (uint32_t i = 0; st == 0 && i < n; i++) {
                put_u64(b, hs[i]);
                st = write_all(in, ctx, b, 8);
            }
        }
        if (st != 0) /* nothing reaches the caller: release what was made */
            for (uint32_t i = 0; i < made; i++)
                table_drop(in, hs[i]);
        free(hs);
        return st;
    }
    case M_SUM: {
        uint64_t ha, hb;
        if (!rd_u64(&r, &ha) || !rd_u64(&r, &hb) || r.left != 0)
            return malformed(in, ctx);
        counter *a = table_pin(in, ha);
        if (a == NULL)
            return stale(in, ctx, ha);
        counter *b = table_pin(in, hb);
        if (b == NULL) {
            table_unpin(in, ha);
            return stale(in, ctx, hb);
        }
        pthread_mutex_lock(&in->mu);
        uint64_t va = a->value, vb = b->value;
        pthread_mutex_unlock(&in->mu);
        table_unpin(in, hb);
        table_unpin(in, ha);
        if (va > UINT64_MAX - vb)
            return fail(in, ctx, EINVAL, "sum: does not fit in u64");
        return write_u64(in, ctx, va + vb);
    }
    case M_LIVE: {
        if (r.left != 0)
            return malformed(in, ctx);
        pthread_mutex_lock(&in->mu);
        uint32_t live = in->live;
        pthread_mutex_unlock(&in->mu);
        uint8_t b[4];
        put_u32(b, live);
        return write_all(in, ctx, b, 4);
    }
    case M_DESTROYED_TOTAL:
        if (r.left != 0)
            return malformed(in, ctx);
        return write_u64(in, ctx, atomic_load(&destroyed_total));
    case M_DROP: {
        uint64_t h;
        if (!rd_u64(&r, &h) || r.left != 0)
            return malformed(in, ctx);
        /* A counter named LIES_ON_DROP lies: its drop returns the handle (8 bytes a drop does not
         * have), for the tests of the host's refusal. */
        bool lies = false;
        counter *c = table_pin(in, h);
        if (c != NULL) {
            lies = c->name_len == sizeof LIES_ON_DROP - 1 &&
                   memcmp(c->name, LIES_ON_DROP, c->name_len) == 0;
            table_unpin(in, h);
        }
        if (!table_drop(in, h))
            return stale(in, ctx, h);
        return lies ? write_u64(in, ctx, h) : 0;
    }
    case M_CRASH:
        abort();
    case M_PID: {
        uint8_t b[4];
        put_u32(b, (uint32_t)getpid());
        return write_all(in, ctx, b, 4);
    }
    default:
        return fail(in, ctx, EINVAL, "unknown method");
    }
}

static int32_t ct_init(const bh_host_api *api, const uint8_t *config, size_t config_len,
                       void **out, bh_call_ctx *err) {
    (void)config;
    (void)config_len;
    instance *in = calloc(1, sizeof *in);
    if (in == NULL) {
        static const char msg[] = "out of memory";
        api->fail(err, ENOMEM, msg, sizeof msg - 1);
        return ENOMEM;
    }
    in->api = api;
    pthread_mutex_init(&in->mu, NULL);
    uint32_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
        seed = (uint32_t)time(NULL) ^ (uint32_t)(uintptr_t)in;
    in->next_gen = seed;
    *out = in;
    return 0;
}

static void ct_destroy(void *inst) {
    instance *in = inst;
    for (size_t i = 0; i < in->len; i++)
        if (in->slots[i].obj != NULL)
            counter_free(in->slots[i].obj);
    free(in->slots);
    pthread_mutex_destroy(&in->mu);
    free(in);
}

static const bh_module_desc desc = {
    .magic = BH_MODULE_MAGIC,
    .abi_version = BH_MODULE_ABI_VERSION,
    .struct_size = sizeof(bh_module_desc),
    .thread_model = BH_THREAD_SAFE,
    .method_count = sizeof methods / sizeof methods[0],
    .name = "counter",
    .version = "0.1.0",
    .methods = methods,
    .init = ct_init,
    .call = ct_call,
    .destroy = ct_destroy,
    .module_flags = BH_MODULE_STATEFUL,
};

__attribute__((visibility("default"))) const bh_module_desc *bridgehost_module_v1(void) {
    return &desc;
}

/* Direct entries (docs/TYPED.md, "Direct calls"): live and destroyed-total take no parameters and
 * return a scalar, so the host may call them in-process with 64-bit slots instead of call(). Each
 * must behave exactly like its bytes method in ct_call: the same value, as a slot (u32 and u64
 * zero-extended). They cannot fail; a direct entry that does fails through
 * in->api->fail(ctx, ...) and returns the code, like call(). */
static int32_t direct_live(void *inst, const uint64_t *args, uint64_t *result, bh_call_ctx *ctx) {
    (void)args;
    (void)ctx;
    instance *in = inst;
    pthread_mutex_lock(&in->mu);
    uint32_t live = in->live;
    pthread_mutex_unlock(&in->mu);
    *result = live;
    return 0;
}

static int32_t direct_destroyed_total(void *inst, const uint64_t *args, uint64_t *result,
                                      bh_call_ctx *ctx) {
    (void)inst;
    (void)args;
    (void)ctx;
    *result = (uint64_t)atomic_load(&destroyed_total);
    return 0;
}

/* Indexed like `methods`: NULL for the methods without a direct entry. */
static const bh_direct_fn direct[sizeof methods / sizeof methods[0]] = {
    [M_LIVE] = direct_live,
    [M_DESTROYED_TOTAL] = direct_destroyed_total,
};

static bh_module_interface iface;
static pthread_once_t iface_once = PTHREAD_ONCE_INIT;

/* The text's length is only known at link time (two symbols of this object), so the record is
 * filled once, on first use. */
static void iface_fill(void) {
    iface.struct_size = sizeof(bh_module_interface);
    iface.format = BH_INTERFACE_FORMAT_WIT;
    iface.text = counter_wit_start;
    iface.text_len = (size_t)(counter_wit_end - counter_wit_start);
    memcpy(iface.hash, COUNTER_HASH, sizeof COUNTER_HASH);
    iface.direct = direct;
    iface.direct_count = sizeof direct / sizeof direct[0];
    iface.reserved = 0;
}

__attribute__((visibility("default"))) const bh_module_interface *bridgehost_module_interface(void) {
    pthread_once(&iface_once, iface_fill);
    return &iface;
}
