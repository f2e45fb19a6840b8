/*
 * C harness for the bridgehost C ABI (dotnet-bridge/include/bridgehost.h).
 *
 * Drives the whole ABI as a C program would, once per isolation mode (in-process, then process
 * isolation when it is available), and checks every guarantee of docs/C_ABI.md that a C caller
 * can observe: values, status codes, thread-local errors, handle validation, hostile lengths,
 * callback lifetimes, thread models, close/cancel semantics, leak-free handle accounting.
 * tests/c/run.sh builds it twice and runs it under ASan+UBSan and under valgrind.
 *
 *   harness <module-dir> <test-module-dir>
 *     module-dir       the staged bundled modules (target/dist: libbridgehost_mod_{std,zlib,
 *                      faulty}.so, broken/libbroken_*.so)
 *     test-module-dir  libbridgehost_mod_cserial.so and libbridgehost_mod_csafe.so
 *                      (tests/c/modules/overlap_probe.c)
 *   BH_REQUIRE_ISOLATION=1  makes an unavailable isolation mode a failure instead of a skip.
 *   BH_CASE=<substring>     runs only the cases whose name contains it (debugging).
 *   BH_SKIP_ISOLATION=<why> skips the process-isolation mode (run.sh sets it when the worker
 *                           executable is not staged); BRIDGEHOST_WORKER names the worker.
 *
 * Prints one PASS/FAIL/SKIP line per case and closes with "N passed, N failed"; exit status 1 on
 * any failure.
 */
#define _GNU_SOURCE
#include "bridgehost.h"
/* Not "bridgehost_module.h": it cannot share a translation unit with bridgehost.h (`bh_call` is
 * a function here and the module ABI's opaque call-context type there). The values both headers
 * define (BH_THREAD_*, BH_METHOD_NONBLOCKING) are compared by dotnet-bridge/tests/exports.rs. */
#define MODULE_MAX_NAME_LEN 128 /* BH_MODULE_MAX_NAME_LEN */
#define MODULE_API_INVALID (-1) /* BH_API_INVALID: a module's write(NULL, 16) gets this */

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ layout (compile time) */

_Static_assert(sizeof(bh_status) == 4, "bh_status is int32_t");
_Static_assert(sizeof(bh_host) == 8 && sizeof(bh_task) == 8, "handles are uint64_t");
_Static_assert(sizeof(bh_host_options) == 80, "bh_host_options layout (explicit_zero, reserved appended to 72)");
_Static_assert(offsetof(bh_host_options, thread_name) == 40, "bh_host_options layout");
_Static_assert(offsetof(bh_host_options, thread_name_len) == 48, "bh_host_options layout");
_Static_assert(offsetof(bh_host_options, module_dirs) == 56, "bh_host_options layout");
_Static_assert(offsetof(bh_host_options, module_dirs_len) == 64, "bh_host_options layout");
_Static_assert(offsetof(bh_host_options, explicit_zero) == 72, "bh_host_options layout");
_Static_assert(offsetof(bh_host_options, event_queue_bytes) == 32, "bh_host_options layout");
_Static_assert(offsetof(bh_host_options, module_dir) == 16, "bh_host_options layout");
_Static_assert(offsetof(bh_host_options, module_dir_len) == 24, "bh_host_options layout");
_Static_assert(sizeof(bh_module_options) == 152, "bh_module_options layout (supervision fields appended to 96)");
_Static_assert(offsetof(bh_module_options, spare_workers) == 96, "bh_module_options layout");
_Static_assert(offsetof(bh_module_options, breaker_failures) == 100, "bh_module_options layout");
_Static_assert(offsetof(bh_module_options, breaker_window_ms) == 104, "bh_module_options layout");
_Static_assert(offsetof(bh_module_options, breaker_cooldown_ms) == 112, "bh_module_options layout");
_Static_assert(offsetof(bh_module_options, startup_timeout_ms) == 120, "bh_module_options layout");
_Static_assert(offsetof(bh_module_options, close_grace_ms) == 128, "bh_module_options layout");
_Static_assert(offsetof(bh_module_options, cpu_limit_ms) == 136, "bh_module_options layout");
_Static_assert(offsetof(bh_module_options, open_files) == 144, "bh_module_options layout");
_Static_assert(offsetof(bh_module_options, sandbox) == 148, "bh_module_options layout");
_Static_assert(BH_OPTION_CALL_TIMEOUT_NS == 9 && BH_OPTION_SPARE_WORKERS == 10 &&
                   BH_OPTION_CLOSE_GRACE_NS == 15 && BH_OPTION_SANDBOX == 18,
               "BH_OPTION_* ids are fixed");
_Static_assert(offsetof(bh_module_options, validate_in_worker) == 88, "bh_module_options layout");
_Static_assert(offsetof(bh_module_options, explicit_zero) == 92, "bh_module_options layout");
_Static_assert(offsetof(bh_module_options, max_event) == 80, "bh_module_options layout");
_Static_assert(offsetof(bh_module_options, call_timeout_ms) == 16, "bh_module_options layout");
_Static_assert(offsetof(bh_module_options, config) == 48, "bh_module_options layout");
_Static_assert(offsetof(bh_module_options, worker_path_len) == 72, "bh_module_options layout");
_Static_assert(sizeof(bh_counters) == 160, "bh_counters layout (5 counters appended to 0.1's 120 bytes)");
_Static_assert(offsetof(bh_counters, unblamed_violations) == 152, "bh_counters layout");
_Static_assert(offsetof(bh_counters, state_lost) == 120, "bh_counters layout");
_Static_assert(offsetof(bh_counters, events_refused) == 128, "bh_counters layout");
_Static_assert(offsetof(bh_counters, events_discarded) == 136, "bh_counters layout");
_Static_assert(offsetof(bh_counters, worker_output_dropped) == 144, "bh_counters layout");
_Static_assert(offsetof(bh_counters, calls) == 8, "bh_counters layout");
_Static_assert(offsetof(bh_counters, latency_ns_max) == 112, "bh_counters layout");
_Static_assert(offsetof(bh_counters, state_lost) == 120, "bh_counters: state_lost appended");
_Static_assert(BH_E_BUFFER_TOO_SMALL == -15 && BH_E_INVALID_ARGUMENT == -1, "status values");
_Static_assert(BH_E_STATE_LOST == -16, "status values");

/* ------------------------------------------------------------------ tiny test framework */

static int g_passed, g_failed, g_skipped;
static int g_case_failures;
static const char *g_mode = "";
static const char *g_dist;
static const char *g_testmods;
static double g_slow = 1.0; /* timeouts scale (valgrind) */

static const char *last_error(void) {
    static _Thread_local char buf[2048];
    bh_last_error_message(buf, sizeof buf);
    return buf;
}

static void failf(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "    %s:%d: [%s] ", file, line, g_mode);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    g_case_failures++;
}

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond))                                                                           \
            failf(__FILE__, __LINE__, "check failed: %s", #cond);                             \
    } while (0)

#define CHECKF(cond, ...)                                                                      \
    do {                                                                                       \
        if (!(cond))                                                                           \
            failf(__FILE__, __LINE__, __VA_ARGS__);                                            \
    } while (0)

/* Evaluate a bh_status expression once and compare it with the wanted status. */
#define EXPECT(expr, want)                                                                     \
    do {                                                                                       \
        bh_status got_ = (expr);                                                               \
        bh_status want_ = (want);                                                              \
        if (got_ != want_)                                                                     \
            failf(__FILE__, __LINE__, "%s = %d (%s), want %d (%s); last error: %s", #expr,    \
                  got_, bh_status_name(got_), want_, bh_status_name(want_),                    \
                  got_ == BH_OK ? "-" : last_error());                                         \
    } while (0)

/* EXPECT plus: the last error message contains `needle`. */
#define EXPECT_MSG(expr, want, needle)                                                         \
    do {                                                                                       \
        bh_status got2_ = (expr);                                                              \
        EXPECT(got2_, (want));                                                                 \
        if (got2_ == (want) && strstr(last_error(), (needle)) == NULL)                         \
            failf(__FILE__, __LINE__, "%s: message \"%s\" lacks \"%s\"", #expr, last_error(), \
                  (needle));                                                                   \
    } while (0)

typedef void (*case_fn)(uint32_t isolation);

/* Watchdog: a case that hangs (a deadlock, a call that never returns) fails the whole run with
 * its name instead of blocking CI forever. */
#define CASE_TIMEOUT_S 60.0
static _Atomic(const char *) g_case_name;
static _Atomic(double) g_case_deadline;

static double now_s(void);

static void *watchdog(void *arg) {
    (void)arg;
    for (;;) {
        sleep(1);
        double deadline = atomic_load(&g_case_deadline);
        if (deadline > 0 && now_s() > deadline) {
            printf("FAIL [%s] %s: timed out after %.0f s (hung)\n", g_mode,
                   atomic_load(&g_case_name), CASE_TIMEOUT_S * g_slow);
            printf("%d passed, %d failed\n", g_passed, g_failed + 1);
            fflush(stdout);
            _exit(1);
        }
    }
    return NULL;
}

static void run_case(const char *name, case_fn fn, uint32_t isolation) {
    const char *only = getenv("BH_CASE");
    if (only != NULL && only[0] != 0 && strstr(name, only) == NULL)
        return;
    g_case_failures = 0;
    atomic_store(&g_case_name, name);
    atomic_store(&g_case_deadline, now_s() + CASE_TIMEOUT_S * g_slow);
    fn(isolation);
    atomic_store(&g_case_deadline, 0.0);
    if (g_case_failures == 0) {
        g_passed++;
        printf("PASS [%s] %s\n", g_mode, name);
    } else {
        g_failed++;
        printf("FAIL [%s] %s (%d failed checks)\n", g_mode, name, g_case_failures);
    }
    fflush(stdout);
}

/* The status of a stale handle `id` at an export of the type tagged `tag` (docs/C_ABI.md,
 * "Handles"): BH_E_CLOSED when it has that type's shape (its tag, a non-zero generation: a
 * retired handle, freed, closed or completed), BH_E_INVALID_ARGUMENT for anything else. */
static bh_status stale_status(uint64_t id, uint8_t tag) {
    return (id >> 56) == tag && ((id >> 32) & 0xffffff) != 0 ? BH_E_CLOSED : BH_E_INVALID_ARGUMENT;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ------------------------------------------------------------------ helpers */

static bh_host new_host(uint32_t submit_threads) {
    bh_host_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.submit_threads = submit_threads;
    o.module_dir = g_dist;
    o.module_dir_len = strlen(g_dist);
    bh_host h = {0};
    EXPECT(bh_host_new(&o, &h), BH_OK);
    return h;
}

static bh_module_options mod_opts(uint32_t isolation) {
    bh_module_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.isolation = isolation;
    return o;
}

static bh_status open_module(bh_host h, const char *spec, uint32_t isolation, bh_module *m) {
    bh_module_options o = mod_opts(isolation);
    return bh_module_open(h, spec, strlen(spec), &o, m);
}

static bh_module must_open(bh_host h, const char *spec, uint32_t isolation) {
    bh_module m = {0};
    EXPECT(open_module(h, spec, isolation, &m), BH_OK);
    return m;
}

static bh_method resolve(bh_module m, const char *name) {
    bh_method f = {0};
    EXPECT(bh_method_resolve(m, name, strlen(name), &f), BH_OK);
    return f;
}

/* Call and copy the output into a malloc'ed buffer (*out, *out_len); frees the bh_buffer. */
static bh_status call_copy(bh_method f, const void *in, size_t len, uint8_t **out,
                           size_t *out_len) {
    bh_buffer b = {0};
    bh_status s = bh_call(f, in, len, &b);
    *out = NULL;
    *out_len = 0;
    if (s != BH_OK)
        return s;
    const uint8_t *data = NULL;
    size_t n = 0;
    EXPECT(bh_buffer_data(b, &data, &n), BH_OK);
    CHECKF(data != NULL, "bh_buffer_data gave NULL data (len %zu)", n);
    *out = malloc(n + 1);
    if (n > 0 && data != NULL)
        memcpy(*out, data, n);
    *out_len = n;
    EXPECT(bh_buffer_free(b), BH_OK);
    return s;
}

/* Call a method that must succeed with exactly `want` (want_len bytes). */
static void call_expect(bh_method f, const void *in, size_t len, const void *want, size_t want_len) {
    uint8_t *out = NULL;
    size_t n = 0;
    bh_status s = call_copy(f, in, len, &out, &n);
    CHECKF(s == BH_OK, "call: %s (%s)", bh_status_name(s), last_error());
    if (s == BH_OK) {
        CHECKF(n == want_len && (n == 0 || memcmp(out, want, n) == 0),
               "call output differs: %zu bytes, want %zu", n, want_len);
    }
    free(out);
}

static uint32_t u32le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Completion recorder: callbacks run on pool threads. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int count;
    bh_status status;
    int64_t detail;
    char error[256];
    uint8_t data[64];
    size_t len;
} completion;

static void completion_init(completion *c) {
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
}

static void completion_destroy(completion *c) {
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
}

static void on_complete(void *user, bh_status status, const uint8_t *data, size_t len,
                        const char *error, size_t error_len, int64_t detail) {
    completion *c = user;
    pthread_mutex_lock(&c->mu);
    c->count++;
    c->status = status;
    c->detail = detail;
    c->len = len;
    if (status == BH_OK) {
        /* data is never NULL on BH_OK, even when empty */
        if (data == NULL)
            c->status = 12345;
        else
            memcpy(c->data, data, len < sizeof c->data ? len : sizeof c->data);
    } else {
        size_t n = error_len < sizeof c->error - 1 ? error_len : sizeof c->error - 1;
        if (error != NULL)
            memcpy(c->error, error, n);
        c->error[n] = 0;
    }
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* Wait until `c` has at least n completions (false on timeout). */
static int completion_wait(completion *c, int n, double timeout_s) {
    double deadline = now_s() + timeout_s * g_slow;
    pthread_mutex_lock(&c->mu);
    while (c->count < n && now_s() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->cv, &c->mu, &ts);
    }
    int ok = c->count >= n;
    pthread_mutex_unlock(&c->mu);
    return ok;
}

/* An inaccessible reservation of 2^32 + 4 KiB: any byte read or written through it faults. */
static uint8_t *guard_map(void) {
    void *p = mmap(NULL, ((size_t)1 << 32) + 4096, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void guard_unmap(uint8_t *p) {
    if (p != NULL)
        munmap(p, ((size_t)1 << 32) + 4096);
}

/* ------------------------------------------------------------------ cases: library-wide */

static void t_version_and_status_names(uint32_t iso) {
    (void)iso;
    const char *v = bh_version();
    CHECK(v != NULL && v[0] != 0);
    CHECK(strcmp(bh_status_name(BH_OK), "ok") == 0);
    CHECK(strcmp(bh_status_name(BH_E_INVALID_ARGUMENT), "invalid_argument") == 0);
    CHECK(strcmp(bh_status_name(BH_E_ABI_MISMATCH), "abi_mismatch") == 0);
    CHECK(strcmp(bh_status_name(BH_E_BUFFER_TOO_SMALL), "buffer_too_small") == 0);
    CHECK(strcmp(bh_status_name(7), "unknown") == 0);
    CHECK(strcmp(bh_status_name(INT32_MIN), "unknown") == 0);
}

static void t_last_error_api(uint32_t iso) {
    (void)iso;
    bh_host h = {0};
    EXPECT_MSG(bh_host_new(NULL, NULL), BH_E_INVALID_ARGUMENT, "out is a null pointer");
    size_t full = bh_last_error_message(NULL, 0);
    CHECK(full == strlen("invalid argument: out is a null pointer"));
    char small[6];
    memset(small, 0x7f, sizeof small);
    CHECK(bh_last_error_message(small, 5) == full);
    CHECK(memcmp(small, "inva\0", 5) == 0 && small[5] == 0x7f);
    CHECK(bh_last_error_message(NULL, 100) == full); /* NULL buffer: sizes only */
    /* A successful call does not clear the thread's last error. */
    EXPECT(bh_host_new(NULL, &h), BH_OK);
    CHECK(bh_last_error_message(NULL, 0) == full);
    EXPECT(bh_host_free(h), BH_OK);
    CHECK(bh_last_error_detail() == 0);
}

static void *fresh_thread_error(void *arg) {
    int *ok = arg;
    char buf[8] = "xxxxxxx";
    *ok = bh_last_error_message(buf, sizeof buf) == 0 && buf[0] == 0 && bh_last_error_detail() == 0;
    return NULL;
}

static void t_last_error_is_per_thread(uint32_t iso) {
    (void)iso;
    EXPECT(bh_host_free((bh_host){0}), BH_E_INVALID_ARGUMENT); /* this thread now has an error */
    int ok = 0;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, fresh_thread_error, &ok) == 0);
    pthread_join(t, NULL);
    CHECKF(ok, "a new thread must see no error");
}

/* ------------------------------------------------------------------ cases: per mode */

static void t_describe_modules(uint32_t iso) {
    bh_host h = new_host(0);
    const char *specs[] = {"std", "zlib", "faulty"};
    for (size_t i = 0; i < 3; i++) {
        bh_module m = must_open(h, specs[i], iso);
        size_t n = 0;
        EXPECT(bh_module_name(m, NULL, 0, &n), BH_E_BUFFER_TOO_SMALL);
        CHECKF(n == strlen(specs[i]), "name length %zu", n);
        CHECK(bh_last_error_detail() == (int64_t)n);
        char name[64];
        size_t n2 = 0;
        EXPECT(bh_module_name(m, name, sizeof name, &n2), BH_OK);
        CHECKF(n2 == n && memcmp(name, specs[i], n) == 0, "name %.*s", (int)n2, name);
        char version[64];
        EXPECT(bh_module_version(m, version, sizeof version, &n2), BH_OK);
        CHECK(n2 > 0);
        /* The path: absolute, the spec's file, two-call as the name. */
        char file[64], path[4096];
        snprintf(file, sizeof file, "/libbridgehost_mod_%s.so", specs[i]);
        size_t fl = strlen(file), pn = 0;
        EXPECT(bh_module_path(m, NULL, 0, &pn), BH_E_BUFFER_TOO_SMALL);
        CHECKF(pn > fl && pn <= sizeof path, "path length %zu", pn);
        CHECK(bh_last_error_detail() == (int64_t)pn);
        memset(path, 'x', sizeof path);
        n2 = 0;
        EXPECT(bh_module_path(m, path, pn - 1, &n2), BH_E_BUFFER_TOO_SMALL);
        CHECKF(n2 == pn && path[0] == 'x', "too small: %zu, buffer untouched", n2);
        EXPECT(bh_module_path(m, path, pn, &n2), BH_OK);
        CHECKF(n2 == pn && path[0] == '/' && memcmp(path + pn - fl, file, fl) == 0, "path %.*s",
               (int)n2, path);
        n2 = 7;
        EXPECT_MSG(bh_module_path(m, path, sizeof path, NULL), BH_E_INVALID_ARGUMENT,
                   "len is a null pointer");
        EXPECT_MSG(bh_module_path(m, NULL, 8, &n2), BH_E_INVALID_ARGUMENT, "buf is a null pointer");
        CHECK(n2 == 7);
        uint32_t model = 99, count = 0;
        EXPECT(bh_module_thread_model(m, &model), BH_OK);
        CHECK(model == BH_THREAD_SAFE);
        EXPECT(bh_module_method_count(m, &count), BH_OK);
        CHECK(count >= 2);
        int saw_nonblocking = 0;
        for (uint32_t k = 0; k < count; k++) {
            char mname[MODULE_MAX_NAME_LEN + 1];
            uint32_t flags = 0xffffffffu;
            EXPECT(bh_module_method_name(m, k, mname, sizeof mname, &n2, &flags), BH_OK);
            CHECK((flags & ~BH_METHOD_NONBLOCKING) == 0);
            saw_nonblocking |= (flags & BH_METHOD_NONBLOCKING) != 0;
            /* The effective flags: NONBLOCKING survives only in-process. */
            bh_method f = {0};
            EXPECT(bh_method_resolve(m, mname, n2, &f), BH_OK);
            uint32_t eff = 0xffffffffu;
            EXPECT(bh_method_flags(f, &eff), BH_OK);
            CHECK(eff == (iso == BH_ISOLATION_IN_PROCESS ? flags : 0u));
            EXPECT(bh_method_free(f), BH_OK);
        }
        CHECK(saw_nonblocking);
        uint32_t flags = 7;
        EXPECT_MSG(bh_module_method_name(m, count, name, sizeof name, &n2, &flags),
                   BH_E_INVALID_ARGUMENT, "out of range");
        CHECK(flags == 7);
        /* Descriptive: the path keeps answering after close; a freed handle is refused. */
        EXPECT(bh_module_close(m), BH_OK);
        char again[4096];
        EXPECT(bh_module_path(m, again, sizeof again, &n2), BH_OK);
        CHECK(n2 == pn && memcmp(again, path, pn) == 0);
        EXPECT(bh_module_free(m), BH_OK);
        n2 = 7;
        EXPECT(bh_module_path(m, again, sizeof again, &n2), BH_E_CLOSED);
        CHECK(n2 == 7);
    }
    EXPECT(bh_host_free(h), BH_OK);
}

static void t_echo_checksum(uint32_t iso) {
    bh_host h = new_host(0);
    bh_module m = must_open(h, "std", iso);
    bh_method echo = resolve(m, "echo");
    bh_method crc = resolve(m, "checksum");
    call_expect(echo, "hello", 5, "hello", 5);
    call_expect(echo, NULL, 0, "", 0); /* (NULL, 0) is an empty input */
    static const uint8_t crc32c[4] = {0xe3, 0x06, 0x92, 0x83};
    call_expect(crc, "123456789", 9, crc32c, 4);
    /* 1 MiB through echo: bytes survive intact. */
    size_t big = 1 << 20;
    uint8_t *in = malloc(big);
    for (size_t i = 0; i < big; i++)
        in[i] = (uint8_t)(i * 131 + 7);
    call_expect(echo, in, big, in, big);
    free(in);
    /* in-process faulty: its well-behaved method works, its hostile writes are refused cleanly */
    bh_module faulty = must_open(h, "faulty", iso);
    bh_method ok = resolve(faulty, "ok");
    call_expect(ok, "x", 1, "x", 1);
    bh_method bogus = resolve(faulty, "bogus_write");
    uint8_t *out = NULL;
    size_t n = 0;
    EXPECT(call_copy(bogus, "null", 4, &out, &n), BH_E_MODULE); /* write(call, NULL, 16) */
    CHECKF(bh_last_error_detail() == MODULE_API_INVALID, "bogus_write detail %lld (%s)",
           (long long)bh_last_error_detail(), last_error());
    free(out);
    bh_method_free(ok);
    bh_method_free(bogus);
    EXPECT(bh_module_free(faulty), BH_OK);
    EXPECT(bh_method_free(echo), BH_OK);
    EXPECT(bh_method_free(crc), BH_OK);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);
}

/* bh_shared_buffer: an input in it is read in place by an isolated worker (docs/ISOLATION.md,
 * "Transport"); same results as any input, at any offset, after rewriting; a worker can never
 * change it; bad arguments and stale handles are typed. */
static void t_shared_buffer(uint32_t iso) {
    bh_host h = new_host(0);
    bh_module m = must_open(h, "std", iso);
    bh_method echo = resolve(m, "echo");
    bh_method crc = resolve(m, "checksum");
    bh_shared_buffer b = {0};
    EXPECT(bh_shared_buffer_new(0, &b), BH_E_INVALID_ARGUMENT);
    EXPECT(bh_shared_buffer_new(16, NULL), BH_E_INVALID_ARGUMENT);
    size_t want = (1 << 20) + 3;
    EXPECT(bh_shared_buffer_new(want, &b), BH_OK);
    uint8_t *data = NULL;
    size_t len = 0;
    EXPECT(bh_shared_buffer_data(b, NULL, &len), BH_E_INVALID_ARGUMENT);
    EXPECT(bh_shared_buffer_data(b, &data, &len), BH_OK);
    CHECKF(data != NULL && len == want, "bh_shared_buffer_data: %p, %zu bytes", (void *)data, len);
    if (data == NULL || len != want)
        return;
    uint8_t *copy = malloc(len);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < len; i++)
            data[i] = (uint8_t)(i * 131 + 7 + round);
        memcpy(copy, data, len);
        call_expect(echo, data, len, copy, len);
        call_expect(echo, data + 5, len - 9, copy + 5, len - 9);
        uint8_t *a = NULL, *c = NULL;
        size_t an = 0, cn = 0;
        EXPECT(call_copy(crc, data, len, &a, &an), BH_OK);
        EXPECT(call_copy(crc, copy, len, &c, &cn), BH_OK);
        CHECKF(an == 4 && cn == 4 && memcmp(a, c, 4) == 0, "checksum of a shared buffer differs");
        free(a);
        free(c);
    }
    if (iso == BH_ISOLATION_PROCESS) {
        bh_module faulty = must_open(h, "faulty", iso);
        bh_method scribble = resolve(faulty, "scribble_input");
        uint8_t *out = NULL;
        size_t n = 0;
        EXPECT(call_copy(scribble, data, len, &out, &n), BH_E_WORKER_CRASHED);
        CHECKF(memcmp(data, copy, len) == 0, "a worker changed the caller's shared buffer");
        free(out);
        EXPECT(call_copy(scribble, copy, len, &out, &n), BH_OK); /* its own copy: allowed */
        free(out);
        EXPECT(bh_method_free(scribble), BH_OK);
        EXPECT(bh_module_free(faulty), BH_OK);
    }
    EXPECT(bh_shared_buffer_free(b), BH_OK);
    EXPECT(bh_shared_buffer_free(b), BH_E_CLOSED);
    EXPECT(bh_shared_buffer_data(b, &data, &len), BH_E_CLOSED);
    call_expect(echo, copy, len, copy, len); /* the worker let the buffer go */
    free(copy);
    EXPECT(bh_method_free(echo), BH_OK);
    EXPECT(bh_method_free(crc), BH_OK);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);
}

/* Typed wire helpers for the zlib cases (docs/TYPED.md, "Wire format"). */
static size_t put_bytes(uint8_t *p, const void *data, uint32_t n) {
    for (int k = 0; k < 4; k++)
        p[k] = (uint8_t)(n >> (8 * k));
    memcpy(p + 4, data, n);
    return 4 + (size_t)n;
}

static uint64_t get_u64(const uint8_t *p) {
    uint64_t x = 0;
    for (int k = 0; k < 8; k++)
        x |= (uint64_t)p[k] << (8 * k);
    return x;
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)get_u64((const uint8_t[8]){p[0], p[1], p[2], p[3], 0, 0, 0, 0});
}

/* zlib's typed methods (plugins/c/zlib.wit, generated plugins/c/zlib_iface.c): round trips,
 * zlib-error values, and hostile typed input refused with a message naming the parameter. */
static void t_zlib_typed(uint32_t iso) {
    bh_host h = new_host(0);
    bh_module z = must_open(h, "zlib", iso);
    char wit[4096];
    size_t wit_len = 0;
    EXPECT(bh_module_interface(z, wit, sizeof wit, &wit_len), BH_OK);
    CHECKF(wit_len < sizeof wit && strstr(wit, "inflate: func(data: list<u8>") != NULL,
           "zlib's interface: %.*s", (int)wit_len, wit);
    EXPECT(bh_module_check_binding(z, wit, wit_len), BH_OK);
    bh_method def = resolve(z, "deflate");
    bh_method inf = resolve(z, "inflate");
    size_t n = 100 * 1000;
    uint8_t *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)("typed zlib "[i % 11] ^ (i / 1000));
    uint8_t *in = malloc(n + 64), *out = NULL, *back = NULL;
    size_t out_len = 0, back_len = 0;

    /* deflate(data, none) -> list<u8>; inflate(that, none) -> ok(data) */
    size_t len = put_bytes(in, data, (uint32_t)n);
    in[len++] = 0;
    EXPECT(call_copy(def, in, len, &out, &out_len), BH_OK);
    CHECKF(out_len > 4 && get_u32(out) == out_len - 4 && out_len < n / 4, "deflate gave %zu",
           out_len);
    uint32_t packed_len = (uint32_t)(out_len - 4);
    uint8_t *packed = malloc(packed_len);
    memcpy(packed, out + 4, packed_len);
    free(out);
    len = put_bytes(in, packed, packed_len);
    in[len++] = 0;
    EXPECT(call_copy(inf, in, len, &back, &back_len), BH_OK);
    CHECKF(back_len == 5 + n && back[0] == 0 && get_u32(back + 1) == n &&
               memcmp(back + 5, data, n) == 0,
           "inflate gave %zu bytes", back_len);
    free(back);

    /* level some(9) works; some(10) fails the call (EINVAL) */
    len = put_bytes(in, data, 1000);
    in[len++] = 1;
    in[len++] = 9;
    EXPECT(call_copy(def, in, len, &out, &out_len), BH_OK);
    free(out);
    in[len - 1] = 10;
    EXPECT_MSG(call_copy(def, in, len, &out, &out_len), BH_E_MODULE, "deflate: level must be 0..9");
    CHECK(bh_last_error_detail() == 22);

    /* zlib-error values: corrupt(msg), truncated, trailing-data(3), too-large(10) */
    struct {
        const uint8_t *data;
        uint32_t len;
        int max; /* -1: none */
        uint8_t tag;
        uint64_t payload;
    } errs[] = {
        {(const uint8_t *)"not zlib", 8, -1, 0, 0},
        {packed, packed_len - 1, -1, 1, 0},
        {packed, packed_len, 10, 4, 10},
    };
    for (size_t k = 0; k < sizeof errs / sizeof errs[0]; k++) {
        len = put_bytes(in, errs[k].data, errs[k].len);
        in[len++] = errs[k].max < 0 ? 0 : 1;
        if (errs[k].max >= 0)
            for (int b = 0; b < 8; b++)
                in[len++] = (uint8_t)((uint64_t)errs[k].max >> (8 * b));
        EXPECT(call_copy(inf, in, len, &out, &out_len), BH_OK);
        CHECKF(out_len >= 2 && out[0] == 1 && out[1] == errs[k].tag, "case %zu: %zu bytes", k,
               out_len);
        if (errs[k].tag == 0)
            CHECKF(out_len == 6 + get_u32(out + 2) && memmem(out + 6, out_len - 6,
                                                             "incorrect header check", 22),
                   "corrupt: %.*s", (int)out_len, (const char *)out);
        if (errs[k].tag == 4)
            CHECK(out_len == 10 && get_u64(out + 2) == errs[k].payload);
        free(out);
    }
    uint8_t *trailing = malloc(packed_len + 3);
    memcpy(trailing, packed, packed_len);
    memcpy(trailing + packed_len, "xyz", 3);
    len = put_bytes(in, trailing, packed_len + 3);
    in[len++] = 0;
    EXPECT(call_copy(inf, in, len, &out, &out_len), BH_OK);
    CHECK(out_len == 10 && out[0] == 1 && out[1] == 3 && get_u64(out + 2) == 3);
    free(out);
    free(trailing);

    /* Hostile typed input: a call failure (EINVAL) naming the method and parameter. */
    static const uint8_t lying[] = {0xff, 0xff, 0xff, 0xff, 1, 2, 3, 0};
    EXPECT_MSG(call_copy(inf, lying, sizeof lying, &out, &out_len), BH_E_MODULE,
               "inflate: parameter data: malformed typed payload at byte 0: list length 4294967295 needs at least 4294967295 bytes, 4 left");
    CHECK(bh_last_error_detail() == 22);
    static const uint8_t bad_tag[] = {1, 0, 0, 0, 0x78, 7};
    EXPECT_MSG(call_copy(inf, bad_tag, sizeof bad_tag, &out, &out_len), BH_E_MODULE,
               "inflate: parameter max-size: malformed typed payload at byte 5: option tag 7 is neither 0 nor 1");
    static const uint8_t short_opt[] = {0, 0, 0, 0, 1, 9, 9};
    EXPECT_MSG(call_copy(inf, short_opt, sizeof short_opt, &out, &out_len), BH_E_MODULE,
               "inflate: parameter max-size: malformed typed payload at byte 5: truncated: 8 bytes needed, 2 left");
    static const uint8_t extra[] = {0, 0, 0, 0, 0, 0};
    EXPECT_MSG(call_copy(def, extra, sizeof extra, &out, &out_len), BH_E_MODULE,
               "deflate: malformed typed payload at byte 5: 1 trailing byte");
    EXPECT_MSG(call_copy(def, NULL, 0, &out, &out_len), BH_E_MODULE,
               "deflate: parameter data: malformed typed payload at byte 0: truncated: 4 bytes needed, 0 left");

    /* The host's output limit still bounds a typed inflate. */
    bh_module_options o = mod_opts(iso);
    o.max_output = 64 * 1024;
    bh_module zs = {0};
    EXPECT(bh_module_open(h, "zlib", 4, &o, &zs), BH_OK);
    bh_method inf2 = resolve(zs, "inflate");
    len = put_bytes(in, packed, packed_len);
    in[len++] = 0;
    EXPECT(call_copy(inf2, in, len, &out, &out_len), BH_E_RESOURCE_LIMIT);
    free(out);
    bh_method_free(inf2);
    bh_module_free(zs);

    free(packed);
    free(in);
    free(data);
    bh_method_free(def);
    bh_method_free(inf);
    EXPECT(bh_module_free(z), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);
}

static void t_zlib_round_trip(uint32_t iso) {
    bh_host h = new_host(0);
    bh_module z = must_open(h, "zlib", iso);
    bh_method comp = resolve(z, "compress");
    bh_method decomp = resolve(z, "decompress");
    bh_method crc = resolve(z, "crc32");
    size_t n = 300 * 1000;
    uint8_t *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)("bridgehost zlib round trip "[i % 27] ^ (i / 4096));
    uint8_t *packed = NULL, *unpacked = NULL;
    size_t packed_len = 0, unpacked_len = 0;
    EXPECT(call_copy(comp, data, n, &packed, &packed_len), BH_OK);
    CHECKF(packed_len > 0 && packed_len < n / 4, "compressed %zu -> %zu", n, packed_len);
    EXPECT(call_copy(decomp, packed, packed_len, &unpacked, &unpacked_len), BH_OK);
    CHECK(unpacked_len == n && memcmp(unpacked, data, n) == 0);
    static const uint8_t crc_iso[4] = {0xcb, 0xf4, 0x39, 0x26};
    call_expect(crc, "123456789", 9, crc_iso, 4);
    /* Garbage is a module error with zlib's code and message. */
    uint8_t *out = NULL;
    size_t out_len = 0;
    EXPECT_MSG(call_copy(decomp, "not zlib", 8, &out, &out_len), BH_E_MODULE, "incorrect header");
    CHECK(bh_last_error_detail() == -3);
    free(out);
    /* A bomb bounded by max_output: resource limit, not memory exhaustion. */
    bh_module_options o = mod_opts(iso);
    o.max_output = 64 * 1024;
    bh_module zs = {0};
    EXPECT(bh_module_open(h, "zlib", 4, &o, &zs), BH_OK);
    bh_method d2 = resolve(zs, "decompress");
    EXPECT(call_copy(d2, packed, packed_len, &out, &out_len), BH_E_RESOURCE_LIMIT);
    free(out);
    bh_method_free(d2);
    bh_module_free(zs);
    free(data);
    free(packed);
    free(unpacked);
    bh_method_free(comp);
    bh_method_free(decomp);
    bh_method_free(crc);
    EXPECT(bh_module_free(z), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);
}

static void t_call_into_two_call(uint32_t iso) {
    bh_host h = new_host(0);
    bh_module m = must_open(h, "std", iso);
    bh_method echo = resolve(m, "echo");
    const char *msg = "the quick brown fox";
    size_t len = strlen(msg);
    /* Too small: the size required, in *out_len and in the detail; canary past the end intact. */
    uint8_t *buf = malloc(len + 16);
    memset(buf, 0xcc, len + 16);
    size_t need = 0;
    EXPECT_MSG(bh_call_into(echo, (const uint8_t *)msg, len, buf, 4, &need), BH_E_BUFFER_TOO_SMALL,
               "bytes required");
    CHECK(need == len);
    CHECK(bh_last_error_detail() == (int64_t)len);
    for (size_t i = 4; i < len + 16; i++)
        CHECKF(buf[i] == 0xcc, "byte %zu past the capacity was written", i);
    /* Sizing call with no buffer at all. */
    need = 0;
    EXPECT(bh_call_into(echo, (const uint8_t *)msg, len, NULL, 0, &need), BH_E_BUFFER_TOO_SMALL);
    CHECK(need == len);
    /* Exact buffer. */
    size_t got = 0;
    EXPECT(bh_call_into(echo, (const uint8_t *)msg, len, buf, need, &got), BH_OK);
    CHECK(got == len && memcmp(buf, msg, len) == 0);
    CHECK(buf[len] == 0xcc);
    /* Input and output may not alias. */
    memcpy(buf, msg, len);
    EXPECT_MSG(bh_call_into(echo, buf, len, buf + 2, len, &got), BH_E_INVALID_ARGUMENT, "overlap");
    free(buf);
    EXPECT(bh_method_free(echo), BH_OK);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);
}

/* Read, copy out and free a spilled output; BH_OK and *n its length. */
static bh_status take_spill(bh_buffer spill, uint8_t *dst, size_t cap, size_t *n) {
    const uint8_t *d = NULL;
    size_t len = 0;
    bh_status s = bh_buffer_data(spill, &d, &len);
    if (s == BH_OK && len <= cap)
        memcpy(dst, d, len);
    *n = len;
    bh_status f = bh_buffer_free(spill);
    return s != BH_OK ? s : f;
}

static void t_call_spill(uint32_t iso) {
    bh_host h = new_host(0);
    bh_module m = must_open(h, "std", iso);
    bh_method echo = resolve(m, "echo");
    const char *msg = "the quick brown fox";
    size_t len = strlen(msg);
    uint64_t live0 = bh_debug_live_handles();
    uint8_t buf[64];
    memset(buf, 0xcc, sizeof buf);
    size_t n = 0;
    bh_buffer spill = {77};
    /* Fits (also exactly): in the caller buffer, no spill, nothing written past the output. */
    EXPECT(bh_call_spill(echo, (const uint8_t *)msg, len, buf, len, &n, &spill), BH_OK);
    CHECK(n == len && spill.id == 0 && memcmp(buf, msg, len) == 0 && buf[len] == 0xcc);
    spill.id = 77;
    EXPECT(bh_call_spill(echo, NULL, 0, NULL, 0, &n, &spill), BH_OK);
    CHECK(n == 0 && spill.id == 0);
    /* Does not fit: the whole output in a spill buffer, the method ran once. */
    EXPECT(bh_call_spill(echo, (const uint8_t *)msg, len, buf, 4, &n, &spill), BH_OK);
    CHECK(n == len && spill.id != 0);
    CHECK(bh_debug_live_handles() == live0 + 1);
    uint8_t got[64];
    size_t got_len = 0;
    EXPECT(take_spill(spill, got, sizeof got, &got_len), BH_OK);
    CHECK(got_len == len && memcmp(got, msg, len) == 0);
    EXPECT(bh_buffer_free(spill), BH_E_CLOSED); /* freed once, by take_spill: retired */
    EXPECT(bh_call_spill(echo, (const uint8_t *)msg, len, NULL, 0, &n, &spill), BH_OK);
    CHECK(n == len && spill.id != 0);
    EXPECT(take_spill(spill, got, sizeof got, &got_len), BH_OK);
    CHECK(got_len == len && memcmp(got, msg, len) == 0);
    /* A module writing in 32 KiB chunks (zlib decompress): the first chunk fits, a later one does
     * not, so the spill carries the prefix already written into the caller buffer. */
    bh_module z = must_open(h, "zlib", iso);
    bh_method comp = resolve(z, "compress");
    bh_method decomp = resolve(z, "decompress");
    size_t big = 200 * 1024 + 3;
    uint8_t *data = malloc(big);
    for (size_t i = 0; i < big; i++)
        data[i] = (uint8_t)((i * 2654435761u) >> 13);
    uint8_t *packed = NULL;
    size_t packed_len = 0;
    EXPECT(call_copy(comp, data, big, &packed, &packed_len), BH_OK);
    size_t caps[] = {0, 1, 40 * 1024, big - 1, big, big + 100};
    uint8_t *out = malloc(big + 100);
    uint8_t *whole = malloc(big);
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        spill.id = 77;
        n = 0;
        EXPECT(bh_call_spill(decomp, packed, packed_len, caps[i] ? out : NULL, caps[i], &n, &spill),
               BH_OK);
        CHECKF(n == big, "cap %zu: out_len %zu", caps[i], n);
        if (caps[i] >= big) {
            CHECKF(spill.id == 0 && memcmp(out, data, big) == 0, "cap %zu: fits", caps[i]);
        } else {
            CHECKF(spill.id != 0, "cap %zu: spilled", caps[i]);
            size_t wl = 0;
            EXPECT(take_spill(spill, whole, big, &wl), BH_OK);
            CHECKF(wl == big && memcmp(whole, data, big) == 0, "cap %zu: spilled bytes", caps[i]);
        }
    }
    CHECK(bh_debug_live_handles() == live0 + 3); /* z, comp, decomp; no buffer left behind */
    /* Errors: nothing written to the out-pointers, no buffer left behind. */
    bh_method fail = resolve(m, "fail");
    n = 12345;
    spill.id = 77;
    EXPECT_MSG(bh_call_spill(fail, (const uint8_t *)"no", 2, buf, sizeof buf, &n, &spill), BH_E_MODULE,
               "no");
    CHECK(n == 12345 && spill.id == 77);
    bh_module_options o = mod_opts(iso);
    o.max_output = 64 * 1024;
    bh_module zs = {0};
    EXPECT(bh_module_open(h, "zlib", 4, &o, &zs), BH_OK);
    bh_method d2 = resolve(zs, "decompress");
    EXPECT(bh_call_spill(d2, packed, packed_len, out, 1024, &n, &spill), BH_E_RESOURCE_LIMIT);
    CHECK(n == 12345 && spill.id == 77);
    bh_method_free(d2);
    bh_module_free(zs);
    CHECK(bh_debug_live_handles() == live0 + 4);
    /* Bad arguments. */
    EXPECT_MSG(bh_call_spill(echo, NULL, 1, buf, sizeof buf, &n, &spill), BH_E_INVALID_ARGUMENT,
               "null pointer with length 1");
    EXPECT(bh_call_spill(echo, (const uint8_t *)msg, len, NULL, 1, &n, &spill), BH_E_INVALID_ARGUMENT);
    EXPECT_MSG(bh_call_spill(echo, (const uint8_t *)msg, len, buf, sizeof buf, NULL, &spill),
               BH_E_INVALID_ARGUMENT, "out_len is a null pointer");
    EXPECT_MSG(bh_call_spill(echo, (const uint8_t *)msg, len, buf, sizeof buf, &n, NULL),
               BH_E_INVALID_ARGUMENT, "spill is a null pointer");
    memcpy(buf, msg, len);
    EXPECT_MSG(bh_call_spill(echo, buf, len, buf + 2, len, &n, &spill), BH_E_INVALID_ARGUMENT, "overlap");
    EXPECT_MSG(bh_call_spill((bh_method){m.id}, NULL, 0, NULL, 0, &n, &spill), BH_E_INVALID_ARGUMENT,
               "stale or invalid bh_method handle");
    CHECK(n == 12345 && spill.id == 77);
    free(data);
    free(packed);
    free(out);
    free(whole);
    bh_method_free(fail);
    bh_method_free(comp);
    bh_method_free(decomp);
    EXPECT(bh_module_free(z), BH_OK);
    EXPECT(bh_method_free(echo), BH_OK);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);
}

/* bh_call_typed: the input encoded as one list<u8>, the output checked as one and located. std's
 * echo returns its input as it is, so raw input (no flag) becomes the output to check. */
static void t_call_typed(uint32_t iso) {
    bh_host h = new_host(0);
    bh_module_options o = mod_opts(iso);
    o.max_input = 1004;
    bh_module m = {0};
    EXPECT(bh_module_open(h, "std", 3, &o, &m), BH_OK);
    bh_method echo = resolve(m, "echo");
    uint64_t live0 = bh_debug_live_handles();
    uint8_t buf[64];
    size_t n = 0, skip = 99;
    bh_buffer spill = {77};
    const uint8_t data[] = {1, 2, 0xff};
    /* Both flags: the bytes come back at offset 4 of the output. */
    EXPECT(bh_call_typed(echo, data, 3, BH_TYPED_LIST_INPUT | BH_TYPED_LIST_OUTPUT, buf, sizeof buf,
                         &n, &skip, &spill), BH_OK);
    CHECK(n == 3 && skip == 4 && spill.id == 0 && memcmp(buf + 4, data, 3) == 0);
    /* Input only: the output is the encoding itself. */
    EXPECT(bh_call_typed(echo, data, 3, BH_TYPED_LIST_INPUT, buf, sizeof buf, &n, &skip, &spill), BH_OK);
    CHECK(n == 7 && skip == 0 && memcmp(buf, "\x03\x00\x00\x00\x01\x02\xff", 7) == 0);
    /* Output only, spilled: the offset is within the spill buffer. */
    const uint8_t framed[] = {3, 0, 0, 0, 1, 2, 0xff};
    EXPECT(bh_call_typed(echo, framed, 7, BH_TYPED_LIST_OUTPUT, buf, 2, &n, &skip, &spill), BH_OK);
    CHECK(n == 3 && skip == 4 && spill.id != 0);
    const uint8_t *d = NULL;
    size_t dl = 0;
    EXPECT(bh_buffer_data(spill, &d, &dl), BH_OK);
    CHECK(dl == 7 && memcmp(d + skip, data, 3) == 0);
    EXPECT(bh_buffer_free(spill), BH_OK);
    /* An empty list both ways. */
    EXPECT(bh_call_typed(echo, NULL, 0, BH_TYPED_LIST_INPUT | BH_TYPED_LIST_OUTPUT, buf, sizeof buf,
                         &n, &skip, &spill), BH_OK);
    CHECK(n == 0 && skip == 4 && spill.id == 0);
    /* The length counts against max_input (1004): 1000 bytes fit, 1001 do not. */
    uint8_t *big = calloc(1001, 1);
    EXPECT(bh_call_typed(echo, big, 1000, BH_TYPED_LIST_INPUT | BH_TYPED_LIST_OUTPUT, NULL, 0, &n,
                         &skip, &spill), BH_OK);
    CHECK(n == 1000 && skip == 4 && spill.id != 0);
    EXPECT(bh_buffer_free(spill), BH_OK);
    n = 12345;
    skip = 99;
    spill.id = 77;
    EXPECT_MSG(bh_call_typed(echo, big, 1001, BH_TYPED_LIST_INPUT, NULL, 0, &n, &skip, &spill),
               BH_E_RESOURCE_LIMIT, "1005");
    CHECK(n == 12345 && skip == 99 && spill.id == 77);
    free(big);
    /* Output that lies: nothing written, no buffer left behind, whether it fit or spilled. */
    struct { const char *raw; size_t len; const char *why; } lies[] = {
        {"\x03\x00\x00\x00" "ab", 6, "list length 3 needs at least 3 bytes"},
        {"\x01\x00\x00\x00" "ab", 6, "1 trailing byte"},
        {"\x01\x00", 2, "truncated"},
        {"", 0, "truncated"},
    };
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        size_t caps[] = {sizeof buf, 1};
        for (size_t k = 0; k < 2; k++) {
            EXPECT_MSG(bh_call_typed(echo, (const uint8_t *)lies[i].raw, lies[i].len, BH_TYPED_LIST_OUTPUT,
                                     buf, caps[k], &n, &skip, &spill),
                       BH_E_ABI_MISMATCH, lies[i].why);
            CHECK(strstr(last_error(), "output of echo does not match its interface") != NULL);
            CHECK(n == 12345 && skip == 99 && spill.id == 77);
        }
    }
    /* BH_TYPED_LIST_EXACT: a list of exactly out_cap bytes lands in buf alone (no prefix, no
     * spill); any other length spills whole, located as without the flag; a lie is refused. */
    const uint32_t exact = BH_TYPED_LIST_INPUT | BH_TYPED_LIST_OUTPUT | BH_TYPED_LIST_EXACT;
    memset(buf, 0xee, sizeof buf);
    EXPECT(bh_call_typed(echo, data, 3, exact, buf, 3, &n, &skip, &spill), BH_OK);
    CHECK(n == 3 && skip == 0 && spill.id == 0 && memcmp(buf, data, 3) == 0 && buf[3] == 0xee);
    size_t other_caps[] = {2, 4, sizeof buf};
    for (size_t k = 0; k < 3; k++) {
        EXPECT(bh_call_typed(echo, data, 3, exact, buf, other_caps[k], &n, &skip, &spill), BH_OK);
        CHECK(n == 3 && skip == 4 && spill.id != 0);
        EXPECT(bh_buffer_data(spill, &d, &dl), BH_OK);
        CHECK(dl == 7 && memcmp(d + skip, data, 3) == 0);
        EXPECT(bh_buffer_free(spill), BH_OK);
    }
    EXPECT(bh_call_typed(echo, NULL, 0, exact, NULL, 0, &n, &skip, &spill), BH_OK);
    CHECK(n == 0 && skip == 0 && spill.id == 0);
    n = 12345;
    skip = 99;
    spill.id = 77;
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        EXPECT_MSG(bh_call_typed(echo, (const uint8_t *)lies[i].raw, lies[i].len,
                                 BH_TYPED_LIST_OUTPUT | BH_TYPED_LIST_EXACT, buf, 3, &n, &skip, &spill),
                   BH_E_ABI_MISMATCH, lies[i].why);
        CHECK(n == 12345 && skip == 99 && spill.id == 77);
    }
    CHECK(bh_debug_live_handles() == live0);
    /* Bad arguments. */
    EXPECT_MSG(bh_call_typed(echo, data, 3, 8, buf, sizeof buf, &n, &skip, &spill), BH_E_INVALID_ARGUMENT,
               "unknown bh_call_typed flags 0x8");
    EXPECT_MSG(bh_call_typed(echo, data, 3, BH_TYPED_LIST_EXACT, buf, 3, &n, &skip, &spill),
               BH_E_INVALID_ARGUMENT, "BH_TYPED_LIST_EXACT needs BH_TYPED_LIST_OUTPUT");
    EXPECT_MSG(bh_call_typed(echo, data, 3, 0, buf, sizeof buf, &n, NULL, &spill), BH_E_INVALID_ARGUMENT,
               "out_skip is a null pointer");
    EXPECT_MSG(bh_call_typed(echo, NULL, 1, BH_TYPED_LIST_INPUT, buf, sizeof buf, &n, &skip, &spill),
               BH_E_INVALID_ARGUMENT, "null pointer with length 1");
    /* A flag the function's declared signature contradicts is the caller's mistake, refused
     * before the module runs (not an output "that does not match its interface"). */
    bh_method es = resolve(m, "echo-string");
    bh_counters c0 = {.struct_size = sizeof c0}, c1 = {.struct_size = sizeof c1};
    EXPECT(bh_module_counters(m, &c0), BH_OK);
    const uint8_t hi[] = {2, 0, 0, 0, 'h', 'i'};
    EXPECT_MSG(bh_call_typed(es, hi, 6, BH_TYPED_LIST_OUTPUT, buf, sizeof buf, &n, &skip, &spill),
               BH_E_INVALID_ARGUMENT, "bh_call_typed: echo-string returns string, not list<u8>");
    EXPECT_MSG(bh_call_typed(es, hi + 4, 2, BH_TYPED_LIST_INPUT, buf, sizeof buf, &n, &skip, &spill),
               BH_E_INVALID_ARGUMENT, "bh_call_typed: echo-string takes (s: string), not one list<u8>");
    bh_method add = resolve(m, "add");
    EXPECT_MSG(bh_call_typed(add, data, 3, BH_TYPED_LIST_INPUT | BH_TYPED_LIST_OUTPUT, buf, sizeof buf,
                             &n, &skip, &spill),
               BH_E_INVALID_ARGUMENT, "bh_call_typed: add takes (a: u32, b: u32), not one list<u8>");
    /* A method the interface does not declare (std's bytes-only checksum) has no types to claim. */
    bh_method ck = resolve(m, "checksum");
    EXPECT_MSG(bh_call_typed(ck, data, 3, BH_TYPED_LIST_OUTPUT, buf, sizeof buf, &n, &skip, &spill),
               BH_E_INVALID_ARGUMENT,
               "bh_call_typed: checksum is not a function of the module's typed interface");
    EXPECT_MSG(bh_call_typed(ck, data, 3, BH_TYPED_LIST_INPUT, buf, sizeof buf, &n, &skip, &spill),
               BH_E_INVALID_ARGUMENT, "checksum is not a function");
    CHECK(n == 12345 && skip == 99 && spill.id == 77);
    EXPECT(bh_module_counters(m, &c1), BH_OK);
    CHECK(c1.calls == c0.calls);
    /* Without flags it is the plain call (bh_call_spill). */
    EXPECT(bh_call_typed(ck, data, 3, 0, buf, sizeof buf, &n, &skip, &spill), BH_OK);
    CHECK(n == 4 && skip == 0 && spill.id == 0);
    EXPECT(bh_method_free(ck), BH_OK);
    /* Without the flags the same call runs (the output is the string's encoding). */
    EXPECT(bh_call_typed(es, hi, 6, 0, buf, sizeof buf, &n, &skip, &spill), BH_OK);
    CHECK(n == 6 && skip == 0 && memcmp(buf, hi, 6) == 0);
    EXPECT(bh_method_free(add), BH_OK);
    EXPECT(bh_method_free(es), BH_OK);
    EXPECT(bh_method_free(echo), BH_OK);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);
}

/* bh_call_scalar: std's add(u32, u32) -> u32 and sleep(u32) with one 64-bit slot per argument
   (the direct entry in-process when std has one, the ordinary call otherwise: same results). */
static void t_call_scalar(uint32_t iso) {
    bh_host h = new_host(0);
    bh_module m = must_open(h, "std", iso);
    bh_method add = resolve(m, "add");
    bh_method sleep = resolve(m, "sleep");
    bh_method echo = resolve(m, "echo");
    bh_method checksum = resolve(m, "checksum");
    uint64_t r = 0;
    const uint64_t two[] = {2, 3};
    EXPECT(bh_call_scalar(add, two, 2, &r), BH_OK);
    CHECK(r == 5);
    /* Edge values: the sum is modulo 2^32, the result slot zero-extended. */
    const uint64_t wrap[] = {0xffffffffu, 2};
    EXPECT(bh_call_scalar(add, wrap, 2, &r), BH_OK);
    CHECK(r == 1);
    const uint64_t top[] = {0xffffffffu, 0};
    EXPECT(bh_call_scalar(add, top, 2, &r), BH_OK);
    CHECK(r == 0xffffffffu);
    /* The same call through the bytes path agrees. */
    uint8_t in[8] = {0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0}, out[8];
    size_t n = 0;
    EXPECT(bh_call_into(add, in, 8, out, sizeof out, &n), BH_OK);
    CHECK(n == 4 && u32le(out) == 1);
    /* Refused before any module code runs; *result untouched. */
    r = 77;
    const uint64_t three[] = {1, 2, 3};
    EXPECT_MSG(bh_call_scalar(add, three, 3, &r), BH_E_INVALID_ARGUMENT, "add takes 2 argument(s), got 3");
    EXPECT_MSG(bh_call_scalar(add, two, 1, &r), BH_E_INVALID_ARGUMENT, "add takes 2 argument(s), got 1");
    EXPECT_MSG(bh_call_scalar(add, NULL, 0, &r), BH_E_INVALID_ARGUMENT, "add takes 2 argument(s), got 0");
    const uint64_t wide[] = {1, 0x100000000ull};
    EXPECT_MSG(bh_call_scalar(add, wide, 2, &r), BH_E_INVALID_ARGUMENT,
               "parameter b: 4294967296 is out of range for u32");
    const uint64_t negative[] = {(uint64_t)-1, 1};
    EXPECT_MSG(bh_call_scalar(add, negative, 2, &r), BH_E_INVALID_ARGUMENT, "-1 is out of range for u32");
    EXPECT_MSG(bh_call_scalar(add, NULL, 2, &r), BH_E_INVALID_ARGUMENT, "null pointer with count 2");
    EXPECT_MSG(bh_call_scalar(add, two, 2, NULL), BH_E_INVALID_ARGUMENT, "result is a null pointer");
    uint64_t unaligned[3] = {0};
    EXPECT_MSG(bh_call_scalar(add, (const uint64_t *)((const uint8_t *)unaligned + 4), 2, &r),
               BH_E_INVALID_ARGUMENT, "not aligned");
    /* Methods without a scalar signature: a typed function that is not eligible, a bytes-only one. */
    EXPECT_MSG(bh_call_scalar(echo, two, 1, &r), BH_E_INVALID_ARGUMENT, "has no scalar signature");
    EXPECT_MSG(bh_call_scalar(checksum, two, 1, &r), BH_E_INVALID_ARGUMENT, "has no scalar signature");
    CHECK(r == 77);
    /* A function without a result: its slot is 0. A module error keeps its code and message. */
    const uint64_t zero[] = {0};
    EXPECT(bh_call_scalar(sleep, zero, 1, &r), BH_OK);
    CHECK(r == 0);
    const uint64_t long_sleep[] = {60001};
    EXPECT_MSG(bh_call_scalar(sleep, long_sleep, 1, &r), BH_E_MODULE, "sleep: 60001 ms exceeds 60000 ms");
    /* A freed method is a retired handle; so is every method of a closed module. */
    EXPECT(bh_method_free(sleep), BH_OK);
    EXPECT_MSG(bh_call_scalar(sleep, zero, 1, &r), BH_E_CLOSED, "retired");
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_call_scalar(add, two, 2, &r), BH_E_CLOSED);
    bh_method_free(add);
    bh_method_free(echo);
    bh_method_free(checksum);
    EXPECT(bh_host_free(h), BH_OK);
}

static void t_hostile_input(uint32_t iso) {
    bh_host h = new_host(0);
    bh_module m = must_open(h, "std", iso);
    bh_method echo = resolve(m, "echo");
    bh_buffer b = {0};
    size_t n = 0;
    completion c;
    completion_init(&c);
    const size_t huge[] = {(size_t)1 << 31, (size_t)1 << 32, (size_t)PTRDIFF_MAX + 1, SIZE_MAX};
    EXPECT_MSG(bh_call(echo, NULL, 1, &b), BH_E_INVALID_ARGUMENT, "null pointer with length 1");
    uint8_t *guard = guard_map();
    CHECKF(guard != NULL, "mmap PROT_NONE guard: %s", strerror(errno));
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        size_t len = huge[i];
        EXPECT(bh_call(echo, NULL, len, &b), BH_E_INVALID_ARGUMENT);
        EXPECT(bh_call_into(echo, NULL, len, NULL, 0, &n), BH_E_INVALID_ARGUMENT);
        EXPECT(bh_call_spill(echo, NULL, len, NULL, 0, &n, &b), BH_E_INVALID_ARGUMENT);
        EXPECT(bh_submit(echo, NULL, len, on_complete, &c, NULL), BH_E_INVALID_ARGUMENT);
        if (guard == NULL)
            continue;
        /* A real but unreadable pointer: refused before a single byte is read (or copied). */
        bh_status want = len > (size_t)PTRDIFF_MAX ? BH_E_INVALID_ARGUMENT : BH_E_RESOURCE_LIMIT;
        EXPECT(bh_call(echo, guard, len, &b), want);
        uint8_t out[8];
        EXPECT(bh_call_into(echo, guard, len, out, sizeof out, &n), want);
        EXPECT(bh_call_spill(echo, guard, len, out, sizeof out, &n, &b), want);
        EXPECT(bh_submit(echo, guard, len, on_complete, &c, NULL), want);
        /* An unwritable output buffer with a huge capacity: nothing is written for an empty
         * output; a capacity above PTRDIFF_MAX is refused outright. */
        bh_status s = bh_call_into(echo, NULL, 0, guard, len, &n);
        if (len > (size_t)PTRDIFF_MAX) {
            EXPECT(s, BH_E_INVALID_ARGUMENT);
        } else {
            EXPECT(s, BH_OK);
            CHECK(n == 0);
        }
        b.id = 77;
        s = bh_call_spill(echo, NULL, 0, guard, len, &n, &b);
        if (len > (size_t)PTRDIFF_MAX) {
            EXPECT(s, BH_E_INVALID_ARGUMENT);
        } else {
            EXPECT(s, BH_OK);
            CHECK(n == 0 && b.id == 0);
        }
        EXPECT(bh_module_name(m, (char *)guard, len > (size_t)PTRDIFF_MAX ? len : 0, &n),
               len > (size_t)PTRDIFF_MAX ? BH_E_INVALID_ARGUMENT : BH_E_BUFFER_TOO_SMALL);
        /* Text arguments. */
        bh_module m2 = {0};
        bh_method f2 = {0};
        EXPECT(bh_module_open(h, NULL, len, NULL, &m2), BH_E_INVALID_ARGUMENT);
        EXPECT(bh_method_resolve(m, NULL, len, &f2), BH_E_INVALID_ARGUMENT);
        if (len > (size_t)PTRDIFF_MAX) {
            EXPECT(bh_module_open(h, (const char *)guard, len, NULL, &m2), BH_E_INVALID_ARGUMENT);
            EXPECT(bh_method_resolve(m, (const char *)guard, len, &f2), BH_E_INVALID_ARGUMENT);
        }
    }
    guard_unmap(guard);
    CHECKF(c.count == 0, "a rejected submit ran its completion %d times", c.count);
    completion_destroy(&c);
    EXPECT(bh_call_into(echo, NULL, 0, NULL, 1, &n), BH_E_INVALID_ARGUMENT);
    /* Null out-pointers, null callbacks. */
    EXPECT_MSG(bh_call(echo, NULL, 0, NULL), BH_E_INVALID_ARGUMENT, "out is a null pointer");
    EXPECT_MSG(bh_submit(echo, NULL, 0, NULL, NULL, NULL), BH_E_INVALID_ARGUMENT,
               "null function pointer");
    bh_subscription sub = {0};
    EXPECT(bh_subscribe(m, "tick", 4, NULL, NULL, &sub), BH_E_INVALID_ARGUMENT);
    /* Bad text: invalid UTF-8, an embedded NUL, a path-like name that does not exist. */
    bh_module m2 = {0};
    EXPECT_MSG(bh_module_open(h, "st\xff", 3, NULL, &m2), BH_E_INVALID_ARGUMENT, "UTF-8");
    EXPECT(bh_module_open(h, "std\0x", 5, NULL, &m2), BH_E_INVALID_ARGUMENT);
    EXPECT(bh_module_open(h, "../../etc/passwd-not-here", 25, NULL, &m2), BH_E_NOT_FOUND);
    EXPECT(bh_module_open(h, "no_such_module", 14, NULL, &m2), BH_E_NOT_FOUND);
    bh_method f2 = {0};
    EXPECT(bh_method_resolve(m, "ech\xc3", 4, &f2), BH_E_INVALID_ARGUMENT);
    EXPECT(bh_method_resolve(m, "nope", 4, &f2), BH_E_NOT_FOUND);
    /* Bad options. */
    bh_module_options o = mod_opts(iso);
    o.struct_size = 72; /* smaller than the 0.1 struct (80): refused; 80 is t_old_size_options */
    EXPECT_MSG(bh_module_open(h, "std", 3, &o, &m2), BH_E_INVALID_ARGUMENT, "struct_size");
    o = mod_opts(iso);
    o.reserved = 1;
    EXPECT_MSG(bh_module_open(h, "std", 3, &o, &m2), BH_E_INVALID_ARGUMENT, "reserved");
    o = mod_opts(iso);
    o.isolation = 7;
    EXPECT_MSG(bh_module_open(h, "std", 3, &o, &m2), BH_E_INVALID_ARGUMENT, "isolation");
    o = mod_opts(iso);
    o.max_input = UINT64_MAX;
    EXPECT(bh_module_open(h, "std", 3, &o, &m2), BH_E_INVALID_ARGUMENT);
    o = mod_opts(iso);
    o.config = NULL;
    o.config_len = 5;
    EXPECT(bh_module_open(h, "std", 3, &o, &m2), BH_E_INVALID_ARGUMENT);
    bh_host_options ho;
    memset(&ho, 0, sizeof ho);
    ho.struct_size = 3;
    bh_host h2 = {0};
    EXPECT_MSG(bh_host_new(&ho, &h2), BH_E_INVALID_ARGUMENT, "struct_size");
    bh_counters cnt;
    memset(&cnt, 0, sizeof cnt);
    cnt.struct_size = 4;
    EXPECT(bh_module_counters(m, &cnt), BH_E_INVALID_ARGUMENT);
    EXPECT(bh_module_counters(m, NULL), BH_E_INVALID_ARGUMENT);
    /* Log level out of range. */
    EXPECT(bh_set_log_callback(5, NULL, NULL), BH_E_INVALID_ARGUMENT);
    /* Input over the module's max_input: resource limit before the call. */
    o = mod_opts(iso);
    o.max_input = 4;
    bh_module small = {0};
    EXPECT(bh_module_open(h, "std", 3, &o, &small), BH_OK);
    bh_method se = resolve(small, "echo");
    call_expect(se, "1234", 4, "1234", 4);
    EXPECT_MSG(bh_call(se, (const uint8_t *)"12345", 5, &b), BH_E_RESOURCE_LIMIT, "max_input");
    /* One rule, the core's: every synchronous form refuses it with the same words and counts
     * the refusal as an error (the C ABI has no input-length check of its own). */
    {
        uint8_t obuf[16];
        size_t olen = 0;
        bh_buffer spill = {0};
        EXPECT_MSG(bh_call_into(se, (const uint8_t *)"12345", 5, obuf, sizeof obuf, &olen),
                   BH_E_RESOURCE_LIMIT, "max_input");
        EXPECT_MSG(bh_call_spill(se, (const uint8_t *)"12345", 5, obuf, sizeof obuf, &olen, &spill),
                   BH_E_RESOURCE_LIMIT, "max_input");
        bh_counters sc;
        memset(&sc, 0, sizeof sc);
        sc.struct_size = sizeof sc;
        EXPECT(bh_module_counters(small, &sc), BH_OK);
        CHECK(sc.errors == 3);
    }
    bh_method_free(se);
    bh_module_free(small);
    EXPECT(bh_method_free(echo), BH_OK);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);
}

static void t_handles(uint32_t iso) {
    bh_host h = new_host(0);
    bh_module m = must_open(h, "std", iso);
    bh_method echo = resolve(m, "echo");
    bh_buffer b = {0};
    EXPECT(bh_call(echo, (const uint8_t *)"x", 1, &b), BH_OK);
    /* Forged. */
    const uint64_t forged[] = {0, 1, UINT64_MAX, 0xb100000100000000ull, 0xb4ffffffffffffffull,
                               0xdeadbeefdeadbeefull};
    for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
        const uint8_t *d = NULL;
        size_t n = 0;
        /* A value with the shape of a handle of the export's own type (its tag, a non-zero
         * generation) reads as a retired one: BH_E_CLOSED; anything else is not a handle. */
        EXPECT_MSG(bh_buffer_data((bh_buffer){forged[i]}, &d, &n), stale_status(forged[i], 0xb4), "stale or invalid");
        EXPECT(bh_buffer_free((bh_buffer){forged[i]}), stale_status(forged[i], 0xb4));
        EXPECT(bh_host_close((bh_host){forged[i]}), stale_status(forged[i], 0xb1));
        EXPECT(bh_module_close((bh_module){forged[i]}), stale_status(forged[i], 0xb2));
        EXPECT(bh_method_free((bh_method){forged[i]}), stale_status(forged[i], 0xb3));
        EXPECT(bh_unsubscribe((bh_subscription){forged[i]}), stale_status(forged[i], 0xb5));
        int32_t cancelled = 5;
        EXPECT(bh_task_cancel((bh_task){forged[i]}, &cancelled), stale_status(forged[i], 0xb6));
        CHECK(cancelled == 5);
    }
    /* Neighbours of a live handle (same type tag, other generation or index). */
    EXPECT(bh_buffer_free((bh_buffer){b.id ^ ((uint64_t)1 << 32)}), stale_status(b.id ^ ((uint64_t)1 << 32), 0xb4));
    EXPECT(bh_buffer_free((bh_buffer){b.id + 1}), BH_E_CLOSED);
    /* Cross-type: a live handle of another type is rejected and named. */
    bh_counters cnt;
    memset(&cnt, 0, sizeof cnt);
    cnt.struct_size = sizeof cnt;
    EXPECT_MSG(bh_host_counters((bh_host){m.id}, &cnt), BH_E_INVALID_ARGUMENT, "it is a bh_module handle");
    EXPECT_MSG(bh_module_close((bh_module){h.id}), BH_E_INVALID_ARGUMENT, "it is a bh_host handle");
    EXPECT_MSG(bh_buffer_free((bh_buffer){echo.id}), BH_E_INVALID_ARGUMENT, "it is a bh_method handle");
    EXPECT_MSG(bh_method_free((bh_method){b.id}), BH_E_INVALID_ARGUMENT, "it is a bh_buffer handle");
    bh_buffer b2 = {0};
    EXPECT(bh_call((bh_method){m.id}, NULL, 0, &b2), BH_E_INVALID_ARGUMENT);
    /* Double free. */
    EXPECT(bh_buffer_free(b), BH_OK);
    EXPECT_MSG(bh_buffer_free(b), BH_E_CLOSED, "stale or invalid bh_buffer handle");
    const uint8_t *d = NULL;
    size_t n = 0;
    EXPECT(bh_buffer_data(b, &d, &n), BH_E_CLOSED);
    /* Module freed: its handle is retired (closed), a method resolved from it reports closed. */
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT_MSG(bh_module_free(m), BH_E_CLOSED, "retired (freed, closed or completed)");
    EXPECT(bh_module_close(m), BH_E_CLOSED);
    EXPECT_MSG(bh_call(echo, NULL, 0, &b2), BH_E_CLOSED, "closed");
    EXPECT(bh_method_free(echo), BH_OK);
    EXPECT(bh_method_free(echo), BH_E_CLOSED);
    /* Host: close is idempotent and keeps the handle; free retires it. */
    EXPECT(bh_host_close(h), BH_OK);
    EXPECT(bh_host_close(h), BH_OK);
    bh_module m3 = {0};
    EXPECT_MSG(open_module(h, "std", iso, &m3), BH_E_CLOSED, "closed");
    EXPECT(bh_host_free(h), BH_OK);
    EXPECT(bh_host_free(h), BH_E_CLOSED);
}

/* The prefix rule (docs/C_ABI.md "Extending structs"): a caller built against the 0.1 header
 * passes an 80-byte bh_module_options without max_event; it is accepted and max_event defaults
 * (1 MiB), even when the bytes after its struct are not zero. max_event set by a current caller is
 * honoured: std's emit of a payload above it is refused. */
static void t_old_size_options(uint32_t iso) {
    bh_host h = new_host(0);
    uint8_t payload[2 + 100];
    memcpy(payload, "t", 2); /* topic "t", NUL, then 100 bytes */
    memset(payload + 2, 'x', 100);
    struct { bh_module_options o; uint64_t guard; } old;
    memset(&old, 0, sizeof old);
    old.o = mod_opts(iso);
    old.o.struct_size = 80;   /* sizeof(bh_module_options) in 0.1 */
    old.o.max_event = 16;     /* beyond the old struct: must not be read */
    bh_module m = {0};
    EXPECT(bh_module_open(h, "std", 3, &old.o, &m), BH_OK);
    bh_method emit = resolve(m, "emit");
    uint8_t *out = NULL;
    size_t n = 0;
    EXPECT(call_copy(emit, payload, sizeof payload, &out, &n), BH_OK);
    free(out);
    EXPECT(bh_method_free(emit), BH_OK);
    EXPECT(bh_module_free(m), BH_OK);

    bh_module_options o = mod_opts(iso);
    o.max_event = 16;
    EXPECT(bh_module_open(h, "std", 3, &o, &m), BH_OK);
    emit = resolve(m, "emit");
    EXPECT(call_copy(emit, payload, sizeof payload, &out, &n), BH_E_MODULE);
    free(out);
    EXPECT(call_copy(emit, payload, 2 + 16, &out, &n), BH_OK); /* at the limit: delivered */
    free(out);
    EXPECT(bh_method_free(emit), BH_OK);
    EXPECT(bh_module_free(m), BH_OK);

    /* A caller from before the supervision fields (96 bytes): the bytes after its struct are not
       read (cpu_limit_ms 1 would be refused in either mode: below 1 s, or "requires process
       isolation"; sandbox 7 is no flag), so it gets the supervision defaults. The same bytes in a
       current caller's struct are read and judged. */
    struct { bh_module_options o; uint64_t guard; } pre;
    memset(&pre, 0, sizeof pre);
    pre.o = mod_opts(iso);
    pre.o.struct_size = 96;
    pre.o.cpu_limit_ms = 1;
    pre.o.sandbox = 7;
    EXPECT(bh_module_open(h, "std", 3, &pre.o, &m), BH_OK);
    emit = resolve(m, "emit");
    EXPECT(call_copy(emit, payload, 2 + 16, &out, &n), BH_OK);
    free(out);
    EXPECT(bh_method_free(emit), BH_OK);
    EXPECT(bh_module_free(m), BH_OK);
    pre.o.struct_size = sizeof pre.o;
    bh_module m_bad = {0};
    EXPECT_MSG(bh_module_open(h, "std", 3, &pre.o, &m_bad), BH_E_INVALID_ARGUMENT,
               "bh_module_options.sandbox must be 0 or 1, not 7");

    EXPECT(bh_module_open(h, "std", 3, &o, &m), BH_OK);
    /* A 0.1 bh_counters (120 bytes): the fields added since are not written past it. */
    struct { bh_counters c; } oldc;
    memset(&oldc, 0x5a, sizeof oldc);
    oldc.c.struct_size = 120;
    EXPECT(bh_module_counters(m, &oldc.c), BH_OK);
    CHECK(oldc.c.events_refused == 0x5a5a5a5a5a5a5a5aull);
    /* A newer, larger bh_counters: ours, then zeros up to its struct_size (counters this
     * library does not keep read 0), nothing past it; as the options structs are filled. */
    {
        struct { bh_counters c; uint64_t later[2]; uint64_t guard; } newc;
        memset(&newc, 0x5a, sizeof newc);
        newc.c.struct_size = (uint32_t)(sizeof newc.c + sizeof newc.later);
        EXPECT(bh_module_counters(m, &newc.c), BH_OK);
        CHECK(newc.c.struct_size == sizeof newc.c + sizeof newc.later);
        CHECK(newc.c.reserved == 0);
        CHECK(newc.later[0] == 0 && newc.later[1] == 0);
        CHECK(newc.guard == 0x5a5a5a5a5a5a5a5aull);
        newc.c.struct_size = 4097;
        EXPECT_MSG(bh_module_counters(m, &newc.c), BH_E_INVALID_ARGUMENT, "at most 4096");
    }
    CHECK(oldc.c.worker_output_dropped == 0x5a5a5a5a5a5a5a5aull);
    CHECK(oldc.c.unblamed_violations == 0x5a5a5a5a5a5a5a5aull);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);

    /* A 0.1 bh_host_options (32 bytes): event_queue_bytes, past it, is not read (1 would be
       refused), so the host gets the default. */
    bh_host_options ho;
    memset(&ho, 0, sizeof ho);
    ho.struct_size = 32;
    ho.event_queue_bytes = 1;
    bh_host h2 = {0};
    EXPECT(bh_host_new(&ho, &h2), BH_OK);
    EXPECT(bh_host_free(h2), BH_OK);
    ho.struct_size = sizeof ho;
    EXPECT_MSG(bh_host_new(&ho, &h2), BH_E_INVALID_ARGUMENT, "event_queue_bytes");
    ho.event_queue_bytes = 1 << 20;
    EXPECT(bh_host_new(&ho, &h2), BH_OK);
    EXPECT(bh_host_free(h2), BH_OK);

    /* thread_name (issue 17 item 3), appended after event_queue_bytes: a 40-byte caller's is
       not read (bad UTF-8 would be refused); a full struct's is, and must be UTF-8. */
    static const char bad_name[] = {(char)0xff, (char)0xfe};
    ho.thread_name = bad_name;
    ho.thread_name_len = sizeof bad_name;
    ho.struct_size = 40;
    EXPECT(bh_host_new(&ho, &h2), BH_OK);
    EXPECT(bh_host_free(h2), BH_OK);
    ho.struct_size = sizeof ho;
    EXPECT_MSG(bh_host_new(&ho, &h2), BH_E_INVALID_ARGUMENT, "thread_name");
    ho.thread_name = "bh-c-test";
    ho.thread_name_len = strlen("bh-c-test");
    EXPECT(bh_host_new(&ho, &h2), BH_OK);
    EXPECT(bh_host_free(h2), BH_OK);
}

/* The two halves of the prefix rule a C caller can get wrong (docs/C_ABI.md "Extending structs"):
 * (1) an explicit_zero bit for a field beyond the caller's struct_size is BH_E_INVALID_ARGUMENT,
 * naming the bit and the size -- a 96-byte caller (before the supervision fields) cannot switch
 * the sandbox off, drop the close grace or the spare worker (it got BH_OK before); (2) a
 * struct_size that ends inside a field is BH_E_INVALID_ARGUMENT for every struct passed or
 * filled, nothing read or written; a size where a field ends is accepted. */
#define MO_END(f) (offsetof(bh_module_options, f) + sizeof(((bh_module_options *)0)->f))
static void t_struct_size_rule(uint32_t iso) {
    static const struct { uint32_t bit; size_t end; const char *name; } sup[] = {
        {BH_OPTION_SPARE_WORKERS, MO_END(spare_workers), "spare_workers"},
        {BH_OPTION_BREAKER_FAILURES, MO_END(breaker_failures), "breaker_failures"},
        {BH_OPTION_BREAKER_WINDOW_NS, MO_END(breaker_window_ms), "breaker_window"},
        {BH_OPTION_BREAKER_COOLDOWN_NS, MO_END(breaker_cooldown_ms), "breaker_cooldown"},
        {BH_OPTION_STARTUP_TIMEOUT_NS, MO_END(startup_timeout_ms), "startup_timeout"},
        {BH_OPTION_CLOSE_GRACE_NS, MO_END(close_grace_ms), "close_grace"},
        {BH_OPTION_CPU_LIMIT_NS, MO_END(cpu_limit_ms), "cpu_limit"},
        {BH_OPTION_OPEN_FILES, MO_END(open_files), "open_files"},
        {BH_OPTION_SANDBOX, MO_END(sandbox), "sandbox"},
    };
    /* Every older size that has explicit_zero (it ends at 96): where a later field ends. */
    static const uint32_t sizes[] = {96, 100, 104, 112, 120, 128, 136, 144, 148};
    bh_host h = new_host(0);
    bh_module m = {0};
    char want[256];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (size_t j = 0; j < sizeof sup / sizeof sup[0]; j++) {
            bh_module_options o = mod_opts(iso);
            o.struct_size = sizes[i];
            o.explicit_zero = 1u << sup[j].bit;
            if (sup[j].end > sizes[i]) {
                snprintf(want, sizeof want, "explicit_zero bit %u (1 << BH_OPTION_", sup[j].bit);
                EXPECT_MSG(bh_module_open(h, "std", 3, &o, &m), BH_E_INVALID_ARGUMENT, want);
                snprintf(want, sizeof want, "which is beyond struct_size %u ", sizes[i]);
                CHECKF(strstr(last_error(), want) != NULL, "size %u bit %u: %s", sizes[i],
                       sup[j].bit, last_error());
            } else if (iso == BH_ISOLATION_IN_PROCESS) {
                /* Applied: in-process every supervision 0 is refused by the core, naming it. */
                EXPECT_MSG(bh_module_open(h, "std", 3, &o, &m), BH_E_INVALID_ARGUMENT,
                           sup[j].name);
                CHECKF(strstr(last_error(), "beyond struct_size") == NULL, "%s", last_error());
            }
        }
    }
    /* The report, as written: 96 bytes, sandbox off. */
    bh_module_options o = mod_opts(iso);
    o.struct_size = 96;
    o.explicit_zero = 1u << BH_OPTION_SANDBOX;
    EXPECT_MSG(bh_module_open(h, "std", 3, &o, &m), BH_E_INVALID_ARGUMENT,
               "bh_module_options.explicit_zero bit 18 (1 << BH_OPTION_SANDBOX) names sandbox, "
               "which is beyond struct_size 96");
    /* Before explicit_zero (80, 88, 92) the mask is not read at all. */
    static const uint32_t before[] = {80, 88, 92};
    for (size_t i = 0; i < 3; i++) {
        o = mod_opts(iso);
        o.struct_size = before[i];
        o.explicit_zero = 1u << BH_OPTION_SANDBOX | 1u << 31;
        EXPECT(bh_module_open(h, "std", 3, &o, &m), BH_OK);
        EXPECT(bh_module_free(m), BH_OK);
    }

    /* A struct_size inside a field: 98 cuts breaker_failures in half. */
    static const uint32_t mo_bad[] = {81, 84, 90, 94, 98, 102, 108, 116, 140, 150, 151};
    for (size_t i = 0; i < sizeof mo_bad / sizeof mo_bad[0]; i++) {
        o = mod_opts(iso);
        o.struct_size = mo_bad[i];
        snprintf(want, sizeof want, "bh_module_options.struct_size is %u, which ends inside a field",
                 mo_bad[i]);
        EXPECT_MSG(bh_module_open(h, "std", 3, &o, &m), BH_E_INVALID_ARGUMENT, want);
        bh_module_options d;
        memset(&d, 0xa5, sizeof d);
        d.struct_size = mo_bad[i];
        EXPECT_MSG(bh_module_options_default(&d), BH_E_INVALID_ARGUMENT, "ends inside a field");
        CHECKF(d.spare_workers == 0xa5a5a5a5u && d.workers == 0xa5a5a5a5u,
               "size %u: bh_module_options_default wrote", mo_bad[i]);
    }
    /* On a boundary: 100 bytes have spare_workers, whole (9 is out of range), not the rest. */
    o = mod_opts(iso);
    o.struct_size = 100;
    o.spare_workers = 9;
    o.breaker_failures = 7;
    EXPECT_MSG(bh_module_open(h, "std", 3, &o, &m), BH_E_INVALID_ARGUMENT, "spare_workers");
    bh_module_options d;
    memset(&d, 0xa5, sizeof d);
    d.struct_size = 100;
    EXPECT(bh_module_options_default(&d), BH_OK);
    CHECK(d.spare_workers == 1 && d.breaker_failures == 0xa5a5a5a5u);

    static const uint32_t ho_bad[] = {33, 36, 44, 48, 64, 74, 79};
    for (size_t i = 0; i < sizeof ho_bad / sizeof ho_bad[0]; i++) {
        bh_host_options ho;
        memset(&ho, 0, sizeof ho);
        ho.struct_size = ho_bad[i];
        bh_host h2 = {0};
        snprintf(want, sizeof want, "bh_host_options.struct_size is %u, which ends inside a field",
                 ho_bad[i]);
        EXPECT_MSG(bh_host_new(&ho, &h2), BH_E_INVALID_ARGUMENT, want);
        memset(&ho, 0xa5, sizeof ho);
        ho.struct_size = ho_bad[i];
        EXPECT(bh_host_options_default(&ho), BH_E_INVALID_ARGUMENT);
        CHECK(ho.submit_threads == 0xa5a5a5a5u);
    }

    m = must_open(h, "std", iso);
    static const uint32_t cnt_bad[] = {9, 12, 23, 124, 159};
    for (size_t i = 0; i < sizeof cnt_bad / sizeof cnt_bad[0]; i++) {
        bh_counters c;
        memset(&c, 0xa5, sizeof c);
        c.struct_size = cnt_bad[i];
        snprintf(want, sizeof want, "bh_counters.struct_size is %u, which ends inside a field",
                 cnt_bad[i]);
        EXPECT_MSG(bh_module_counters(m, &c), BH_E_INVALID_ARGUMENT, want);
        EXPECT(bh_host_counters(h, &c), BH_E_INVALID_ARGUMENT);
        CHECK(c.calls == 0xa5a5a5a5a5a5a5a5ull);
    }
    bh_counters c;
    memset(&c, 0xa5, sizeof c);
    c.struct_size = 24; /* the header, calls, errors */
    EXPECT(bh_module_counters(m, &c), BH_OK);
    CHECK(c.calls == 0 && c.errors == 0 && c.crashes == 0xa5a5a5a5a5a5a5a5ull);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);
}

/* bh_host_add_module_dir (issue 14 item 4): a directory added to a live host is searched by
   name; a missing one is BH_E_NOT_FOUND, a file BH_E_INVALID_ARGUMENT, a closed host BH_E_CLOSED. */
static void t_add_module_dir(uint32_t iso) {
    (void)iso;
    char dir[] = "/tmp/bh-c-moddir-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char src[4096], link_path[4096], missing[4096];
    snprintf(src, sizeof src, "%s/libbridgehost_mod_std.so", g_dist);
    snprintf(link_path, sizeof link_path, "%s/libbridgehost_mod_c_added_probe.so", dir);
    snprintf(missing, sizeof missing, "%s/missing", dir);
    CHECK(symlink(src, link_path) == 0);
    bh_host h = {0};
    EXPECT(bh_host_new(NULL, &h), BH_OK);
    bh_module m = {0};
    EXPECT(open_module(h, "c_added_probe", 0, &m), BH_E_NOT_FOUND);
    EXPECT(bh_host_add_module_dir(h, missing, strlen(missing)), BH_E_NOT_FOUND);
    EXPECT(bh_host_add_module_dir(h, link_path, strlen(link_path)), BH_E_INVALID_ARGUMENT);
    EXPECT(bh_host_add_module_dir(h, NULL, 0), BH_E_INVALID_ARGUMENT);
    EXPECT(bh_host_add_module_dir(h, dir, strlen(dir)), BH_OK);
    m = must_open(h, "c_added_probe", 0);
    bh_method echo = resolve(m, "echo");
    call_expect(echo, "hi", 2, "hi", 2);
    EXPECT(bh_method_free(echo), BH_OK);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_host_close(h), BH_OK);
    EXPECT(bh_host_add_module_dir(h, dir, strlen(dir)), BH_E_CLOSED);
    EXPECT(bh_host_free(h), BH_OK);
    CHECK(unlink(link_path) == 0);
    CHECK(rmdir(dir) == 0);
}

static void t_module_errors(uint32_t iso) {
    bh_host h = new_host(0);
    bh_module m = must_open(h, "std", iso);
    bh_method fail = resolve(m, "fail");
    bh_method echo = resolve(m, "echo");
    bh_buffer b = {0};
    EXPECT_MSG(bh_call(fail, (const uint8_t *)"disk on fire", 12, &b), BH_E_MODULE, "disk on fire");
    CHECK(bh_last_error_detail() == 42);
    size_t full = bh_last_error_message(NULL, 0);
    CHECK(full == strlen("module error 42: disk on fire"));
    char msg[64];
    CHECK(bh_last_error_message(msg, sizeof msg) == full);
    CHECK(strcmp(msg, "module error 42: disk on fire") == 0);
    /* The error survives a later success on the same thread. */
    call_expect(echo, "ok", 2, "ok", 2);
    CHECK(bh_last_error_detail() == 42);
    /* A panic inside the Rust module becomes module error 101. */
    bh_method panic = resolve(m, "panic");
    EXPECT_MSG(bh_call(panic, (const uint8_t *)"kaboom", 6, &b), BH_E_MODULE, "panic: kaboom");
    CHECK(bh_last_error_detail() == 101);
    /* Counters saw it all. */
    bh_counters cnt;
    memset(&cnt, 0, sizeof cnt);
    cnt.struct_size = sizeof cnt;
    EXPECT(bh_module_counters(m, &cnt), BH_OK);
    CHECKF(cnt.calls == 3 && cnt.errors == 2, "calls %llu errors %llu",
           (unsigned long long)cnt.calls, (unsigned long long)cnt.errors);
    /* An older, shorter struct: whole fields within struct_size only. */
    bh_counters partial;
    memset(&partial, 0xab, sizeof partial);
    partial.struct_size = 16;
    EXPECT(bh_module_counters(m, &partial), BH_OK);
    CHECK(partial.calls == 3);
    CHECK(partial.errors == 0xababababababababull);
    memset(&cnt, 0, sizeof cnt);
    cnt.struct_size = sizeof cnt;
    EXPECT(bh_host_counters(h, &cnt), BH_OK);
    CHECK(cnt.calls == 3);
    bh_method_free(panic);
    bh_method_free(fail);
    bh_method_free(echo);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);
}

/* ---- option defaults */

/* The defaults every 0 field stands for, read from the library (docs/C_ABI.md lists them). */
static void t_option_defaults(uint32_t iso) {
    (void)iso;
    bh_host_options ho;
    memset(&ho, 0, sizeof ho);
    ho.struct_size = sizeof ho;
    EXPECT(bh_host_options_default(&ho), BH_OK);
    CHECKF(ho.submit_threads == 64, "submit_threads %u", ho.submit_threads);
    CHECK(ho.submit_queue_capacity == 4096);
    CHECK(ho.event_queue_capacity == 65536);
    CHECK(ho.module_dir == NULL && ho.module_dir_len == 0);
    CHECK(ho.thread_name == NULL && ho.thread_name_len == 0);
    bh_module_options mo;
    memset(&mo, 0xab, sizeof mo);
    mo.struct_size = sizeof mo;
    EXPECT(bh_module_options_default(&mo), BH_OK);
    CHECK(mo.isolation == BH_ISOLATION_IN_PROCESS && mo.workers == 1 && mo.reserved == 0);
    CHECK(mo.call_timeout_ms == 0 && mo.memory_limit == 0);
    CHECK(mo.max_input == (256u << 20) && mo.max_output == (256u << 20));
    CHECK(mo.max_event == (1u << 20));
    CHECK(mo.config == NULL && mo.config_len == 0 && mo.worker_path == NULL);
    CHECK(mo.validate_in_worker == 0 && mo.explicit_zero == 0);
    /* Supervision (docs/ISOLATION.md): the core's defaults. */
    CHECK(mo.spare_workers == 1 && mo.breaker_failures == 5);
    CHECK(mo.breaker_window_ms == 30000 && mo.breaker_cooldown_ms == 1000);
    CHECK(mo.startup_timeout_ms == 10000 && mo.close_grace_ms == 5000);
    CHECK(mo.cpu_limit_ms == 3600000 && mo.open_files == 64 && mo.sandbox == 1);
    /* The filled structs are valid options as they are. */
    ho.module_dir = g_dist;
    ho.module_dir_len = strlen(g_dist);
    bh_host h = {0};
    EXPECT(bh_host_new(&ho, &h), BH_OK);
    bh_module m = {0};
    EXPECT(bh_module_open(h, "std", 3, &mo, &m), BH_OK);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);
    /* A struct_size below the oldest struct is refused. */
    memset(&ho, 0, sizeof ho);
    ho.struct_size = 4;
    EXPECT(bh_host_options_default(&ho), BH_E_INVALID_ARGUMENT);
    EXPECT(bh_module_options_default(NULL), BH_E_INVALID_ARGUMENT);
}

/* ---- events */

typedef struct {
    uint32_t magic;
    atomic_int count;
    atomic_int bad;
    atomic_ullong next_seq;
    bh_subscription self;
    atomic_int self_ready;
    int unsubscribe_inside;
    atomic_int unsubscribe_status;
    int slow_ms;
} event_sink;

#define SINK_MAGIC 0x51c0ffeeu

/* Set to a sink's address right before it is freed: a delivery to it after that is a bug. */
static _Atomic(void *) g_freed_sink;
static atomic_int g_late_deliveries;

static void on_event(void *user, const char *topic, size_t topic_len, const uint8_t *data,
                     size_t len) {
    /* A delivery after bh_unsubscribe returned: counted here, and the reads of the freed sink
     * below are what ASan (heap-use-after-free) and valgrind (invalid read) report. */
    if (atomic_load(&g_freed_sink) == user)
        atomic_fetch_add(&g_late_deliveries, 1);
    event_sink *s = user;
    if (s->magic != SINK_MAGIC || topic == NULL || data == NULL)
        atomic_fetch_add(&s->bad, 1);
    if (topic_len != 4 || memcmp(topic, "tick", 4) != 0 || len != 8)
        atomic_fetch_add(&s->bad, 1);
    else {
        unsigned long long seq = 0;
        for (int i = 7; i >= 0; i--)
            seq = seq << 8 | data[i];
        if (seq != atomic_fetch_add(&s->next_seq, 1))
            atomic_fetch_add(&s->bad, 1); /* delivered out of order */
    }
    if (s->unsubscribe_inside) {
        while (!atomic_load(&s->self_ready)) {
        }
        atomic_store(&s->unsubscribe_status, bh_unsubscribe(s->self) + 1000);
    }
    atomic_fetch_add(&s->count, 1);
    if (s->slow_ms)
        sleep_ms(s->slow_ms);
}

static event_sink *sink_new(void) {
    event_sink *s = calloc(1, sizeof *s);
    s->magic = SINK_MAGIC;
    return s;
}

static int wait_count(atomic_int *v, int n, double timeout_s) {
    double deadline = now_s() + timeout_s * g_slow;
    while (atomic_load(v) < n && now_s() < deadline)
        sleep_ms(2);
    return atomic_load(v) >= n;
}

static void ticker(bh_method t, uint32_t count, uint32_t interval_ms) {
    uint8_t in[8];
    for (int i = 0; i < 4; i++) {
        in[i] = (uint8_t)(count >> (8 * i));
        in[4 + i] = (uint8_t)(interval_ms >> (8 * i));
    }
    call_expect(t, in, sizeof in, "", 0);
}

/* The input of std's gate_wait (docs/BUNDLED.md): the timeout, then the key. */
static size_t gate_input(uint8_t *in, uint32_t timeout_ms, const char *key) {
    size_t k = strlen(key);
    for (int i = 0; i < 4; i++)
        in[i] = (uint8_t)(timeout_ms >> (8 * i));
    memcpy(in + 4, key, k);
    return 4 + k;
}

static void t_events(uint32_t iso) {
    bh_host h = new_host(0);
    bh_module m = must_open(h, "std", iso);
    bh_method tick = resolve(m, "ticker");
    event_sink *s = sink_new();
    bh_subscription sub = {0};
    EXPECT(bh_subscribe(m, "tick", 4, on_event, s, &sub), BH_OK);
    ticker(tick, 5, 1);
    CHECKF(wait_count(&s->count, 5, 10), "got %d of 5 events", atomic_load(&s->count));
    sleep_ms(20);
    CHECK(atomic_load(&s->count) == 5);
    CHECK(atomic_load(&s->bad) == 0);
    EXPECT(bh_unsubscribe(sub), BH_OK);
    EXPECT(bh_unsubscribe(sub), BH_E_CLOSED); /* retired */
    free(s);
    /* Topic validation. */
    EXPECT(bh_subscribe(m, "", 0, on_event, NULL, &sub), BH_E_INVALID_ARGUMENT);
    bh_counters cnt;
    memset(&cnt, 0, sizeof cnt);
    cnt.struct_size = sizeof cnt;
    EXPECT(bh_module_counters(m, &cnt), BH_OK);
    CHECK(cnt.events_emitted >= 5 && cnt.events_delivered == 5);
    bh_method_free(tick);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);
}

static void t_unsubscribe_inside_callback(uint32_t iso) {
    bh_host h = new_host(0);
    bh_module m = must_open(h, "std", iso);
    bh_method tick = resolve(m, "ticker");
    event_sink *s = sink_new();
    s->unsubscribe_inside = 1;
    EXPECT(bh_subscribe(m, "tick", 4, on_event, s, &s->self), BH_OK);
    atomic_store(&s->self_ready, 1);
    ticker(tick, 20, 1);
    CHECK(wait_count(&s->count, 1, 10));
    sleep_ms(100); /* the ticker keeps emitting; none may reach the retired subscription */
    CHECKF(atomic_load(&s->count) == 1, "delivered %d times", atomic_load(&s->count));
    CHECKF(atomic_load(&s->unsubscribe_status) == BH_OK + 1000, "bh_unsubscribe inside: %d",
           atomic_load(&s->unsubscribe_status) - 1000);
    EXPECT(bh_unsubscribe(s->self), BH_E_CLOSED); /* already retired */
    bh_method_free(tick);
    EXPECT(bh_module_free(m), BH_OK);
    free(s);
    EXPECT(bh_host_free(h), BH_OK);
}

static void t_no_callback_after_unsubscribe(uint32_t iso) {
    bh_host h = new_host(0);
    bh_module m = must_open(h, "std", iso);
    bh_method tick = resolve(m, "ticker");
    event_sink *s = sink_new();
    s->slow_ms = 1; /* widen the window in which a delivery is in progress */
    bh_subscription sub = {0};
    EXPECT(bh_subscribe(m, "tick", 4, on_event, s, &sub), BH_OK);
    ticker(tick, 2000, 0);
    CHECK(wait_count(&s->count, 3, 10));
    EXPECT(bh_unsubscribe(sub), BH_OK);
    /* From here the callback must never run with s: poison and free it at once. Under ASan or
     * valgrind a late delivery is a use-after-free report; without them g_late_deliveries
     * counts it. */
    atomic_store(&g_freed_sink, s);
    memset(s, 0xdd, sizeof *s);
    free(s);
    sleep_ms(100);
    CHECKF(atomic_load(&g_late_deliveries) == 0, "%d deliveries after bh_unsubscribe returned",
           atomic_load(&g_late_deliveries));
    bh_method_free(tick);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);
    atomic_store(&g_freed_sink, NULL);
}

/* ---- submit, close, cancel */

/* Counts std's "gate" events: a gate_wait call announcing itself from inside the module. */
static void on_started(void *user, const char *topic, size_t topic_len, const uint8_t *data,
                       size_t len) {
    (void)topic;
    (void)topic_len;
    (void)data;
    (void)len;
    atomic_fetch_add((atomic_int *)user, 1);
}

static void t_close_during_inflight_submit(uint32_t iso) {
    bh_host h = new_host(0);
    bh_module m = must_open(h, "std", iso);
    bh_method sleep = resolve(m, "sleep_ms");
    bh_method gate_wait = resolve(m, "gate_wait");
    completion c;
    completion_init(&c);
    bh_task t = {0};
    /* A call that lasts 300 ms from its start (gate_wait with nobody to open it), started after
     * t0: a close that waits for it returns no earlier than t0 + 0.3 s, however the threads are
     * scheduled. Closed once the call is seen running, not after a sleep: gate_wait emits event
     * "gate" on entry, from inside the module (inside its worker, isolated). */
    atomic_int started = 0;
    bh_subscription started_sub = {0};
    EXPECT(bh_subscribe(m, "gate", 4, on_started, &started, &started_sub), BH_OK);
    uint8_t in[64];
    size_t in_len = gate_input(in, 300, "inflight");
    double t0 = now_s();
    EXPECT(bh_submit(gate_wait, in, in_len, on_complete, &c, &t), BH_OK);
    CHECK(wait_count(&started, 1, 10));
    EXPECT(bh_module_close(m), BH_OK); /* waits for the call in flight */
    EXPECT(bh_unsubscribe(started_sub), BH_OK);
    double waited = now_s() - t0;
    CHECK(completion_wait(&c, 1, 10));
    if (iso == BH_ISOLATION_IN_PROCESS) {
        CHECKF(c.status == BH_OK, "in-flight call: %d (%s)", c.status, c.error);
        /* It ran to its timeout (0: not opened), not cut short. */
        CHECKF(c.len == 1 && c.data[0] == 0, "gate_wait output: %zu bytes", c.len);
        CHECKF(waited >= 0.3, "close returned %.3f s after the call was submitted, before it "
               "finished", waited);
    } else {
        CHECKF(c.status == BH_OK || c.status == BH_E_CLOSED, "in-flight call: %d (%s)", c.status,
               c.error);
    }
    CHECK(c.count == 1);
    /* After close: clean errors, no callback. */
    bh_buffer b = {0};
    EXPECT_MSG(bh_call(sleep, (const uint8_t *)"0", 1, &b), BH_E_CLOSED, "closed");
    EXPECT(bh_submit(sleep, (const uint8_t *)"0", 1, on_complete, &c, NULL), BH_E_CLOSED);
    EXPECT(bh_module_close(m), BH_OK); /* idempotent */
    sleep_ms(20);
    CHECK(c.count == 1);
    completion_destroy(&c);

    /* Host freed while a submit runs: the completion has run when bh_host_free returns. */
    bh_module m2 = must_open(h, "std", iso);
    bh_method sleep2 = resolve(m2, "sleep_ms");
    completion c2;
    completion_init(&c2);
    EXPECT(bh_submit(sleep2, (const uint8_t *)"200", 3, on_complete, &c2, NULL), BH_OK);
    sleep_ms(30);
    EXPECT(bh_host_free(h), BH_OK);
    pthread_mutex_lock(&c2.mu);
    CHECKF(c2.count == 1, "completion count %d right after bh_host_free", c2.count);
    CHECKF(c2.status == BH_OK || c2.status == BH_E_CLOSED, "status %d", c2.status);
    pthread_mutex_unlock(&c2.mu);
    completion_destroy(&c2);
    bh_method_free(sleep);
    bh_method_free(gate_wait);
    bh_method_free(sleep2);
    bh_module_free(m);
    bh_module_free(m2);
}

static void t_cancel_queued_submit(uint32_t iso) {
    bh_host h = new_host(1); /* one pool thread: the second task waits behind the first */
    bh_module m = must_open(h, "std", iso);
    bh_method sleep = resolve(m, "sleep_ms");
    bh_method echo = resolve(m, "echo");
    completion c1, c2;
    completion_init(&c1);
    completion_init(&c2);
    bh_task t1 = {0}, t2 = {0};
    EXPECT(bh_submit(sleep, (const uint8_t *)"300", 3, on_complete, &c1, &t1), BH_OK);
    EXPECT(bh_submit(echo, (const uint8_t *)"queued", 6, on_complete, &c2, &t2), BH_OK);
    int32_t cancelled = -1;
    EXPECT(bh_task_cancel(t2, &cancelled), BH_OK);
    CHECK(cancelled == 1);
    CHECK(completion_wait(&c2, 1, 10));
    CHECKF(c2.status == BH_E_CANCELLED, "cancelled task: %d", c2.status);
    CHECK(strstr(c2.error, "cancelled") != NULL);
    CHECK(completion_wait(&c1, 1, 10));
    CHECK(c1.status == BH_OK);
    /* Both handles retired before their completions ran. */
    EXPECT(bh_task_cancel(t1, &cancelled), BH_E_CLOSED);
    EXPECT(bh_task_cancel(t2, &cancelled), BH_E_CLOSED);
    sleep_ms(20);
    CHECK(c1.count == 1 && c2.count == 1);
    /* Completion payloads: output on success, never a NULL data pointer. */
    completion c3;
    completion_init(&c3);
    EXPECT(bh_submit(echo, NULL, 0, on_complete, &c3, NULL), BH_OK);
    CHECK(completion_wait(&c3, 1, 10));
    CHECK(c3.status == BH_OK && c3.len == 0);
    completion_destroy(&c1);
    completion_destroy(&c2);
    completion_destroy(&c3);
    bh_method_free(sleep);
    bh_method_free(echo);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);
}

/* ---- thread models */

typedef struct {
    bh_method probe;
    int calls;
    atomic_int *failures;
} hammer_arg;

static void *hammer(void *p) {
    hammer_arg *a = p;
    for (int i = 0; i < a->calls; i++) {
        bh_buffer b = {0};
        bh_status s = bh_call(a->probe, NULL, 0, &b);
        if (s == BH_OK)
            bh_buffer_free(b);
        else
            atomic_fetch_add(a->failures, 1);
    }
    return NULL;
}

/* 8 threads x `calls` probes; returns (overlaps seen by the module, failed calls). */
static void run_hammer(bh_host h, const char *path, uint32_t iso, int calls, uint32_t *overlaps,
                       uint32_t *max_in_flight, int *failures) {
    bh_module m = must_open(h, path, iso);
    bh_method probe = resolve(m, "probe");
    atomic_int fails;
    atomic_init(&fails, 0);
    pthread_t th[8];
    hammer_arg arg = {probe, calls, &fails};
    for (int i = 0; i < 8; i++)
        CHECK(pthread_create(&th[i], NULL, hammer, &arg) == 0);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    bh_method q = resolve(m, "overlaps");
    bh_method mx = resolve(m, "max_in_flight");
    uint8_t *out = NULL;
    size_t n = 0;
    EXPECT(call_copy(q, NULL, 0, &out, &n), BH_OK);
    *overlaps = n == 4 ? u32le(out) : 0xffffffffu;
    free(out);
    EXPECT(call_copy(mx, NULL, 0, &out, &n), BH_OK);
    *max_in_flight = n == 4 ? u32le(out) : 0xffffffffu;
    free(out);
    *failures = atomic_load(&fails);
    bh_method_free(probe);
    bh_method_free(q);
    bh_method_free(mx);
    EXPECT(bh_module_free(m), BH_OK);
}

static void t_serialized_module_never_overlaps(uint32_t iso) {
    char path[4096];
    snprintf(path, sizeof path, "%s/libbridgehost_mod_cserial.so", g_testmods);
    bh_host h = new_host(0);
    bh_module m = must_open(h, path, iso);
    uint32_t model = 99;
    EXPECT(bh_module_thread_model(m, &model), BH_OK);
    CHECK(model == BH_THREAD_SERIALIZED);
    bh_module_free(m);
    uint32_t overlaps = 0, max_in_flight = 0;
    int failures = 0;
    int calls = g_slow > 1 ? 40 : 200;
    run_hammer(h, path, iso, calls, &overlaps, &max_in_flight, &failures);
    CHECKF(overlaps == 0 && max_in_flight == 1 && failures == 0,
           "serialized module: %u overlaps, max %u in flight, %d failed calls", overlaps,
           max_in_flight, failures);
    if (iso == BH_ISOLATION_IN_PROCESS) {
        /* Control: the same probe declared thread-safe is called concurrently and the probe
         * notices: the detector is live, so the 0 above means something. */
        snprintf(path, sizeof path, "%s/libbridgehost_mod_csafe.so", g_testmods);
        run_hammer(h, path, iso, calls, &overlaps, &max_in_flight, &failures);
        CHECKF(overlaps > 0 && max_in_flight > 1 && failures == (int)overlaps,
               "thread-safe control: %u overlaps, max %u in flight, %d failed calls", overlaps,
               max_in_flight, failures);
    }
    EXPECT(bh_host_free(h), BH_OK);
}

/* ---- broken modules */

/* Read a little-endian u32 of a bh_inspect description at *off (bounds-checked). */
static uint32_t info_u32(const uint8_t *d, size_t n, size_t *off) {
    if (*off + 4 > n) {
        CHECK(!"description truncated");
        return 0;
    }
    uint32_t v = (uint32_t)d[*off] | (uint32_t)d[*off + 1] << 8 | (uint32_t)d[*off + 2] << 16 |
                 (uint32_t)d[*off + 3] << 24;
    *off += 4;
    return v;
}

/* A string of a bh_inspect description, compared with `want` (NULL: skipped). */
static void info_str(const uint8_t *d, size_t n, size_t *off, const char *want) {
    uint32_t len = info_u32(d, n, off);
    CHECK(*off + len <= n);
    if (want)
        CHECKF(len == strlen(want) && memcmp(d + *off, want, len) == 0, "want %s", want);
    *off += len;
}

/* bh_inspect: in a worker by default, with a deadline; a constructor that calls _exit(0) or
 * crashes is a typed error, never BH_OK. In process: the same description of a good module.
 * validate_in_worker guards an in-process open the same way. */
static void t_inspect(uint32_t iso) {
    (void)iso; /* run once, in the process mode's pass: it needs the worker */
    bh_host h = new_host(0);
    for (uint32_t flags = 0; flags <= BH_INSPECT_IN_PROCESS; flags++) {
        bh_buffer b = {0};
        EXPECT(bh_inspect(h, "std", 3, 0, flags, &b), BH_OK);
        const uint8_t *d = NULL;
        size_t n = 0;
        EXPECT(bh_buffer_data(b, &d, &n), BH_OK);
        size_t off = 0;
        CHECK(info_u32(d, n, &off) == 1);                  /* abi_version */
        CHECK(info_u32(d, n, &off) == BH_THREAD_SAFE);     /* thread model */
        CHECK((info_u32(d, n, &off) & BH_INFO_STATEFUL) == 0);
        uint32_t methods = info_u32(d, n, &off);
        CHECK(methods >= 3);
        info_str(d, n, &off, "std");
        info_str(d, n, &off, NULL); /* version */
        info_str(d, n, &off, NULL); /* path */
        int echo = 0;
        for (uint32_t i = 0; i < methods; i++) {
            (void)info_u32(d, n, &off);
            uint32_t len = info_u32(d, n, &off);
            CHECK(off + len <= n);
            echo |= len == 4 && memcmp(d + off, "echo", 4) == 0;
            off += len;
        }
        CHECK(echo && off == n);
        EXPECT(bh_buffer_free(b), BH_OK);
    }
    char path[1024];
    static const struct { const char *file; bh_status want; } hostile[] = {
        {"libhostile_ctor_exit.so", BH_E_WORKER_EXITED},
        {"libhostile_ctor_crash.so", BH_E_WORKER_CRASHED},
    };
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        snprintf(path, sizeof path, "%s/hostile/%s", g_dist, hostile[i].file);
        bh_buffer b = {0};
        EXPECT(bh_inspect(h, path, strlen(path), 5000, 0, &b), hostile[i].want);
        CHECK(b.id == 0);
        bh_module_options o = mod_opts(BH_ISOLATION_IN_PROCESS);
        o.validate_in_worker = 1;
        bh_module m = {0};
        EXPECT(bh_module_open(h, path, strlen(path), &o, &m), hostile[i].want);
    }
    bh_buffer b = {0};
    EXPECT_MSG(bh_inspect(h, "std", 3, 1000, BH_INSPECT_IN_PROCESS, &b), BH_E_INVALID_ARGUMENT, "deadline");
    EXPECT_MSG(bh_inspect(h, "std", 3, 0, 4, &b), BH_E_INVALID_ARGUMENT, "flags");
    EXPECT(bh_inspect(h, "nope", 4, 0, 0, &b), BH_E_NOT_FOUND);
    bh_module_options o = mod_opts(BH_ISOLATION_IN_PROCESS);
    o.validate_in_worker = 2;
    bh_module m = {0};
    EXPECT_MSG(bh_module_open(h, "std", 3, &o, &m), BH_E_INVALID_ARGUMENT, "validate_in_worker");
    o.validate_in_worker = 1;
    EXPECT(bh_module_open(h, "std", 3, &o, &m), BH_OK);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_host_close(h), BH_OK);
    EXPECT(bh_inspect(h, "std", 3, 0, 0, &b), BH_E_CLOSED);
    EXPECT(bh_host_free(h), BH_OK);
}

static void t_broken_fixtures(uint32_t iso) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/broken", g_dist);
    DIR *d = opendir(dir);
    CHECKF(d != NULL, "%s: %s (make -C plugins OUT=target/dist builds it)", dir, strerror(errno));
    if (d == NULL)
        return;
    bh_host h = new_host(0);
    int seen = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 3, ".so") != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        bh_module m = {0};
        bh_status s = open_module(h, path, iso, &m);
        CHECKF(s == BH_E_ABI_MISMATCH, "%s: %d (%s) %s", e->d_name, s, bh_status_name(s),
               s == BH_OK ? "" : last_error());
        if (s == BH_E_ABI_MISMATCH)
            CHECKF(strstr(last_error(), e->d_name) != NULL, "%s: message lacks the file: %s",
                   e->d_name, last_error());
        if (s == BH_OK)
            bh_module_free(m);
        seen++;
    }
    closedir(d);
    CHECKF(seen >= 21, "only %d broken fixtures in %s", seen, dir);
    /* Not even an ELF file. */
    char path[4096];
    snprintf(path, sizeof path, "%s/not_elf.so", g_testmods);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs("#!/bin/sh\necho this is not a shared library\n", f);
        fclose(f);
        bh_module m = {0};
        EXPECT_MSG(open_module(h, path, iso, &m), BH_E_ABI_MISMATCH, "not_elf.so");
    }
    EXPECT(bh_host_free(h), BH_OK);
}

/* ---- isolation only */

/* The supervision fields (docs/C_ABI.md): in-process, a worker's setting changed from its
 * default is refused by the core (startup_timeout and sandbox: unless validate_in_worker);
 * isolated, sandbox off (0 with its explicit_zero bit) lets the faulty module open a socket the
 * default sandbox denies, and breaker_failures 1 with a 60 s cool-down makes the call after one
 * crash BH_E_UNAVAILABLE. */
static void t_supervision_options(uint32_t iso) {
    bh_host h = new_host(0);
    bh_module m = {0};
    bh_module_options o = mod_opts(iso);
    if (iso == BH_ISOLATION_IN_PROCESS) {
        o.cpu_limit_ms = 10000;
        EXPECT_MSG(bh_module_open(h, "std", 3, &o, &m), BH_E_INVALID_ARGUMENT,
                   "cpu_limit requires process isolation");
        o.cpu_limit_ms = UINT64_MAX; /* no limit: a change from the default too */
        EXPECT_MSG(bh_module_open(h, "std", 3, &o, &m), BH_E_INVALID_ARGUMENT,
                   "cpu_limit requires process isolation");
        o = mod_opts(iso);
        o.explicit_zero = 1u << BH_OPTION_CLOSE_GRACE_NS;
        EXPECT_MSG(bh_module_open(h, "std", 3, &o, &m), BH_E_INVALID_ARGUMENT,
                   "close_grace requires process isolation");
        o = mod_opts(iso);
        o.explicit_zero = 1u << BH_OPTION_SANDBOX;
        EXPECT_MSG(bh_module_open(h, "std", 3, &o, &m), BH_E_INVALID_ARGUMENT,
                   "sandbox requires process isolation or validate_in_worker");
        o = mod_opts(iso);
        o.sandbox = 1; /* the default: no change */
        EXPECT(bh_module_open(h, "std", 3, &o, &m), BH_OK);
        EXPECT(bh_module_free(m), BH_OK);
        EXPECT(bh_host_free(h), BH_OK);
        return;
    }
    o.spare_workers = 9;
    EXPECT_MSG(bh_module_open(h, "faulty", 6, &o, &m), BH_E_INVALID_ARGUMENT,
               "spare_workers must be in 0..=8, got 9");
    uint8_t *out = NULL;
    size_t n = 0;
    for (int off = 0; off < 2; off++) {
        o = mod_opts(iso);
        if (off)
            o.explicit_zero = 1u << BH_OPTION_SANDBOX;
        EXPECT(bh_module_open(h, "faulty", 6, &o, &m), BH_OK);
        bh_method sock = resolve(m, "socket");
        if (off) {
            call_expect(sock, NULL, 0, "ok", 2);
        } else {
            EXPECT(call_copy(sock, NULL, 0, &out, &n), BH_E_MODULE);
            free(out);
            out = NULL;
        }
        EXPECT(bh_method_free(sock), BH_OK);
        EXPECT(bh_module_free(m), BH_OK);
    }
    o = mod_opts(iso);
    o.breaker_failures = 1;
    o.breaker_cooldown_ms = 60000;
    EXPECT(bh_module_open(h, "faulty", 6, &o, &m), BH_OK);
    bh_method seg = resolve(m, "segfault");
    bh_method ok = resolve(m, "ok");
    EXPECT(call_copy(seg, NULL, 0, &out, &n), BH_E_WORKER_CRASHED);
    free(out);
    out = NULL;
    EXPECT(call_copy(ok, "x", 1, &out, &n), BH_E_UNAVAILABLE);
    free(out);
    EXPECT(bh_method_free(seg), BH_OK);
    EXPECT(bh_method_free(ok), BH_OK);
    EXPECT(bh_module_free(m), BH_OK);
    /* cpu_limit_ms UINT64_MAX: no CPU limit (the worker keeps the RLIMIT_CPU it inherits). */
    o = mod_opts(iso);
    o.cpu_limit_ms = UINT64_MAX;
    EXPECT(bh_module_open(h, "std", 3, &o, &m), BH_OK);
    bh_method echo = resolve(m, "echo");
    call_expect(echo, "u", 1, "u", 1);
    EXPECT(bh_method_free(echo), BH_OK);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);
}

static void t_crash_is_contained(uint32_t iso) {
    bh_host h = new_host(0);
    bh_module m = must_open(h, "faulty", iso);
    bh_method seg = resolve(m, "segfault");
    bh_method ab = resolve(m, "abort");
    bh_method ok = resolve(m, "ok");
    bh_buffer b = {0};
    EXPECT(bh_call(seg, NULL, 0, &b), BH_E_WORKER_CRASHED);
    CHECKF(bh_last_error_detail() == SIGSEGV, "signal %lld", (long long)bh_last_error_detail());
    call_expect(ok, "after", 5, "after", 5);
    EXPECT(bh_call(ab, NULL, 0, &b), BH_E_WORKER_CRASHED);
    CHECK(bh_last_error_detail() == SIGABRT);
    call_expect(ok, "again", 5, "again", 5);
    bh_counters cnt;
    memset(&cnt, 0, sizeof cnt);
    cnt.struct_size = sizeof cnt;
    EXPECT(bh_module_counters(m, &cnt), BH_OK);
    CHECK(cnt.crashes == 2);
    bh_method_free(seg);
    bh_method_free(ab);
    bh_method_free(ok);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);
}

/* The test-only stateful module (BH_MODULE_STATEFUL): workers > 1 is refused; after a worker
 * restart the next call fails once with BH_E_STATE_LOST (it did not run), the appended
 * bh_counters.state_lost moves, and later calls run against a fresh instance. In-process:
 * never. */
static uint64_t stateful_insert(bh_method insert) {
    uint8_t *out = NULL;
    size_t n = 0;
    uint64_t v = 0;
    EXPECT(call_copy(insert, NULL, 0, &out, &n), BH_OK);
    if (out != NULL && n == 8)
        memcpy(&v, out, 8);
    free(out);
    return v;
}

static uint64_t state_lost_count(bh_module m) {
    bh_counters cnt;
    memset(&cnt, 0, sizeof cnt);
    cnt.struct_size = sizeof cnt;
    EXPECT(bh_module_counters(m, &cnt), BH_OK);
    return cnt.state_lost;
}

static void t_stateful_state_lost(uint32_t iso) {
    bh_host h = new_host(0);
    if (iso == BH_ISOLATION_PROCESS) {
        bh_module_options o = mod_opts(iso);
        o.workers = 2;
        bh_module refused = {0};
        EXPECT_MSG(bh_module_open(h, "stateful", 8, &o, &refused), BH_E_INVALID_ARGUMENT, "stateful");
    }
    bh_module m = must_open(h, "stateful", iso);
    bh_method insert = resolve(m, "insert");
    for (uint64_t i = 1; i <= 3; i++)
        CHECKF(stateful_insert(insert) == i, "insert %llu", (unsigned long long)i);
    if (iso == BH_ISOLATION_PROCESS) {
        bh_method crash = resolve(m, "crash");
        bh_buffer b = {0};
        EXPECT(bh_call(crash, NULL, 0, &b), BH_E_WORKER_CRASHED);
        EXPECT_MSG(bh_call(insert, NULL, 0, &b), BH_E_STATE_LOST, "did not run");
        CHECK(strcmp(bh_status_name(BH_E_STATE_LOST), "state_lost") == 0);
        CHECK(state_lost_count(m) == 1);
        CHECK(stateful_insert(insert) == 1); /* fresh state after the one report */
        CHECK(state_lost_count(m) == 1);
        /* A caller built against the 120-byte bh_counters never sees the appended field. */
        bh_counters old;
        memset(&old, 0, sizeof old);
        old.struct_size = 120;
        old.state_lost = 77;
        EXPECT(bh_module_counters(m, &old), BH_OK);
        CHECK(old.state_lost == 77 && old.calls > 0);
        bh_method_free(crash);
    } else {
        CHECK(state_lost_count(m) == 0);
    }
    bh_method_free(insert);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);
}

/* ---- logging */

typedef struct {
    atomic_int records;
    atomic_int opened;
    atomic_int bad;
} log_sink;

static void on_log(void *user, uint32_t level, const char *target, size_t target_len,
                   const char *msg, size_t msg_len) {
    log_sink *l = user;
    if (level > BH_LOG_INFO || target == NULL || msg == NULL || target_len == 0)
        atomic_fetch_add(&l->bad, 1);
    if (msg_len >= 13 && memmem(msg, msg_len, "module opened", 13) != NULL)
        atomic_fetch_add(&l->opened, 1);
    atomic_fetch_add(&l->records, 1);
}

static void t_log_callback(uint32_t iso) {
    log_sink *l = calloc(1, sizeof *l);
    EXPECT(bh_set_log_callback(BH_LOG_INFO, on_log, l), BH_OK);
    bh_host h = new_host(0);
    bh_module m = must_open(h, "std", iso);
    CHECK(atomic_load(&l->opened) >= 1);
    EXPECT(bh_set_log_callback(BH_LOG_INFO, NULL, NULL), BH_OK);
    int seen = atomic_load(&l->records);
    free(l); /* safe: the callback is removed and never called again */
    bh_module m2 = must_open(h, "std", iso);
    EXPECT(bh_module_free(m), BH_OK);
    EXPECT(bh_module_free(m2), BH_OK);
    EXPECT(bh_host_free(h), BH_OK);
    CHECK(seen > 0);
}

/* ---- re-entrancy: a log callback runs on the calling thread inside the call; closing the
 * module or the host, or calling a serialized module again, from there would wait for itself.
 * Each is BH_E_INVALID_ARGUMENT and everything stays open. */

typedef struct {
    bh_host h;
    bh_module m;
    bh_method tid;
    atomic_int done;
    bh_status close_m, close_h, call;
} reenter_ctx;

static void on_log_reenter(void *user, uint32_t level, const char *target, size_t target_len,
                           const char *msg, size_t msg_len) {
    reenter_ctx *r = user;
    (void)level;
    (void)target;
    (void)target_len;
    if (msg_len < 11 || memmem(msg, msg_len, "reenter-now", 11) == NULL ||
        atomic_exchange(&r->done, 1))
        return;
    r->close_m = bh_module_close(r->m);
    r->close_h = bh_host_close(r->h);
    uint8_t *out = NULL;
    size_t n = 0;
    r->call = call_copy(r->tid, "", 0, &out, &n);
    free(out);
}

static void t_reentrant_close_is_refused(uint32_t iso) {
    reenter_ctx *r = calloc(1, sizeof *r);
    char path[4096];
    snprintf(path, sizeof path, "%s/libbridgehost_mod_serial.so", g_dist);
    r->h = new_host(0);
    r->m = must_open(r->h, path, iso);
    r->tid = resolve(r->m, "tid");
    bh_method logm = resolve(r->m, "log");
    EXPECT(bh_set_log_callback(BH_LOG_INFO, on_log_reenter, r), BH_OK);
    uint8_t *out = NULL;
    size_t n = 0;
    EXPECT(call_copy(logm, "reenter-now", 11, &out, &n), BH_OK);
    free(out);
    EXPECT(bh_set_log_callback(BH_LOG_INFO, NULL, NULL), BH_OK);
    CHECK(atomic_load(&r->done) == 1);
    CHECKF(r->close_m == BH_E_INVALID_ARGUMENT, "module close: %s", bh_status_name(r->close_m));
    CHECKF(r->close_h == BH_E_INVALID_ARGUMENT, "host close: %s", bh_status_name(r->close_h));
    CHECKF(r->call == BH_E_INVALID_ARGUMENT, "own call: %s", bh_status_name(r->call));
    /* Nothing was closed: the module still answers, and closes normally from outside. */
    out = NULL;
    EXPECT(call_copy(r->tid, "", 0, &out, &n), BH_OK);
    free(out);
    bh_method_free(logm);
    EXPECT(bh_method_free(r->tid), BH_OK);
    EXPECT(bh_module_free(r->m), BH_OK);
    EXPECT(bh_host_free(r->h), BH_OK);
    free(r);
}

/* ------------------------------------------------------------------ main */

static bh_status probe_isolation(char *why, size_t cap) {
    bh_host h = new_host(0);
    bh_module m = {0};
    bh_status s = open_module(h, "std", BH_ISOLATION_PROCESS, &m);
    snprintf(why, cap, "%s", s == BH_OK ? "" : last_error());
    if (s == BH_OK)
        bh_module_free(m);
    bh_host_free(h);
    return s;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s <module-dir> <test-module-dir>\n", argv[0]);
        return 2;
    }
    g_dist = argv[1];
    g_testmods = argv[2];
    const char *slow = getenv("BH_HARNESS_SLOW");
    if (slow != NULL && atof(slow) >= 1.0)
        g_slow = atof(slow);
    uint64_t live_at_start = bh_debug_live_handles();
    pthread_t wd;
    if (pthread_create(&wd, NULL, watchdog, NULL) != 0 || pthread_detach(wd) != 0) {
        fprintf(stderr, "cannot start the watchdog thread\n");
        return 2;
    }

    g_mode = "library";
    run_case("version_and_status_names", t_version_and_status_names, 0);
    run_case("last_error_api", t_last_error_api, 0);
    run_case("last_error_is_per_thread", t_last_error_is_per_thread, 0);
    run_case("add_module_dir", t_add_module_dir, 0);
    run_case("option_defaults", t_option_defaults, 0);

    struct {
        const char *name;
        uint32_t isolation;
    } modes[] = {{"in-process", BH_ISOLATION_IN_PROCESS}, {"process", BH_ISOLATION_PROCESS}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        uint32_t iso = modes[i].isolation;
        g_mode = modes[i].name;
        if (iso == BH_ISOLATION_PROCESS) {
            char why[1024];
            const char *skip = getenv("BH_SKIP_ISOLATION");
            bh_status s = BH_E_UNAVAILABLE;
            if (skip != NULL && skip[0] != 0)
                snprintf(why, sizeof why, "%s", skip);
            else
                s = probe_isolation(why, sizeof why);
            if (s == BH_E_UNAVAILABLE) {
                const char *req = getenv("BH_REQUIRE_ISOLATION");
                if (req != NULL && strcmp(req, "1") == 0) {
                    printf("FAIL [%s] isolation required but unavailable: %s\n", g_mode, why);
                    g_failed++;
                } else {
                    printf("SKIP [%s] every case: process isolation is unavailable: %s\n", g_mode,
                           why);
                    g_skipped++;
                }
                continue;
            }
            if (s != BH_OK) {
                printf("FAIL [%s] opening std isolated: %s: %s\n", g_mode, bh_status_name(s), why);
                g_failed++;
                continue;
            }
        }
        run_case("describe_modules", t_describe_modules, iso);
        run_case("echo_checksum", t_echo_checksum, iso);
        run_case("shared_buffer", t_shared_buffer, iso);
        run_case("zlib_round_trip", t_zlib_round_trip, iso);
        run_case("zlib_typed", t_zlib_typed, iso);
        run_case("call_into_two_call", t_call_into_two_call, iso);
        run_case("call_spill", t_call_spill, iso);
        run_case("call_typed", t_call_typed, iso);
        run_case("call_scalar", t_call_scalar, iso);
        run_case("hostile_input", t_hostile_input, iso);
        run_case("handles", t_handles, iso);
        run_case("module_errors", t_module_errors, iso);
        run_case("old_size_options", t_old_size_options, iso);
        run_case("struct_size_rule", t_struct_size_rule, iso);
        run_case("events", t_events, iso);
        run_case("unsubscribe_inside_callback", t_unsubscribe_inside_callback, iso);
        run_case("no_callback_after_unsubscribe", t_no_callback_after_unsubscribe, iso);
        run_case("close_during_inflight_submit", t_close_during_inflight_submit, iso);
        run_case("cancel_queued_submit", t_cancel_queued_submit, iso);
        run_case("serialized_module_never_overlaps", t_serialized_module_never_overlaps, iso);
        run_case("broken_fixtures", t_broken_fixtures, iso);
        if (iso == BH_ISOLATION_PROCESS) /* it runs workers whatever the mode */
            run_case("inspect", t_inspect, iso);
        run_case("log_callback", t_log_callback, iso);
        /* In-process only: an isolated module's logs reach the callback on another thread. */
        if (iso == BH_ISOLATION_IN_PROCESS)
            run_case("reentrant_close_is_refused", t_reentrant_close_is_refused, iso);
        if (iso == BH_ISOLATION_PROCESS)
            run_case("crash_is_contained", t_crash_is_contained, iso);
        run_case("supervision_options", t_supervision_options, iso);
        run_case("stateful_state_lost", t_stateful_state_lost, iso);
    }

    g_mode = "library";
    uint64_t live_at_end = bh_debug_live_handles();
    if (live_at_end == live_at_start) {
        g_passed++;
        printf("PASS [library] live_handles_back_to_start (%llu)\n",
               (unsigned long long)live_at_end);
    } else {
        g_failed++;
        printf("FAIL [library] live_handles_back_to_start: %llu at start, %llu at end\n",
               (unsigned long long)live_at_start, (unsigned long long)live_at_end);
    }
    if (g_skipped)
        printf("%d skipped\n", g_skipped);
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed == 0 ? 0 : 1;
}
