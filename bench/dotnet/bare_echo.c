/*
 * Baselines for the .NET benchmarks (bench/dotnet/Bench.cs): the floor of a bare DllImport.
 *
 *   bare_echo               the same copies as bridgehost's 16-byte echo, with nothing else:
 *                           input read in place, output copied into the caller's buffer
 *   bare_events_one_thread  one native thread calling a managed callback n times (the
 *                           reverse-P/Invoke floor: the thread attaches to the runtime once)
 *   bare_attach_per_event   a new native thread per event (attach + detach every time)
 *   bare_thread_cpu_ns      the calling thread's CPU clock (for the interleaved echo figures)
 *   bare_add                a + b modulo 2^32: the floor of a typed add(u32, u32) -> u32
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define BARE_E_BUFFER_TOO_SMALL (-15)

int32_t bare_echo(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    *out_len = len;
    if (len > cap)
        return BARE_E_BUFFER_TOO_SMALL;
    if (len != 0)
        memcpy(out, in, len);
    return 0;
}

uint32_t bare_add(uint32_t a, uint32_t b)
{
    return a + b;
}

typedef void (*bare_event_fn)(void *user, const uint8_t *data, size_t len);

struct run {
    bare_event_fn cb;
    void *user;
    uint64_t first, count;
};

static void *run_events(void *arg)
{
    const struct run *r = arg;
    for (uint64_t i = r->first; i < r->first + r->count; i++) {
        uint8_t payload[8];
        memcpy(payload, &i, sizeof payload);
        r->cb(r->user, payload, sizeof payload);
    }
    return NULL;
}

/* 0 on success, the pthread error otherwise. */
int32_t bare_events_one_thread(bare_event_fn cb, void *user, uint64_t n)
{
    struct run r = {cb, user, 0, n};
    pthread_t t;
    int rc = pthread_create(&t, NULL, run_events, &r);
    if (rc != 0)
        return rc;
    return pthread_join(t, NULL);
}

int32_t bare_attach_per_event(bare_event_fn cb, void *user, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        struct run r = {cb, user, i, 1};
        pthread_t t;
        int rc = pthread_create(&t, NULL, run_events, &r);
        if (rc != 0)
            return rc;
        rc = pthread_join(t, NULL);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The calling thread's CPU time in nanoseconds (CLOCK_THREAD_CPUTIME_ID); 0 if unavailable. */
uint64_t bare_thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
