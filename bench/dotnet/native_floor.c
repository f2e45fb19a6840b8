/*
 * Native floors for the .NET benchmarks: the same work driven from C through the C ABI, with no
 * managed runtime involved. What the .NET figures add on top of these is the .NET layer's cost.
 *
 *   bare_native_checksum   std.checksum over a large input (bulk throughput)
 *   bare_native_echo       std.echo of 16 bytes, through bh_call_into, through
 *                          bh_call + bh_buffer_data + copy + bh_buffer_free, or through
 *                          bh_call_spill (per-call floor)
 *   bare_native_events     std.ticker events to a C callback through bh_subscribe (the
 *                          event-delivery floor of the C ABI: dispatcher + queue + module thread)
 */
#include "bridgehost.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bh_status open_std(const char *method_name, bh_host *host, bh_module *module, bh_method *method)
{
    bh_status st = bh_host_new(NULL, host);
    if (st == BH_OK)
        st = bh_module_open(*host, "std", 3, NULL, module);
    if (st == BH_OK)
        st = bh_method_resolve(*module, method_name, strlen(method_name), method);
    return st;
}

static void close_std(bh_host host, bh_module module, bh_method method)
{
    if (method.id != 0)
        bh_method_free(method);
    if (module.id != 0)
        bh_module_free(module);
    if (host.id != 0)
        bh_host_free(host);
}

/*
 * Checksum `len` bytes at `data` `reps` times with std.checksum; *ns = total elapsed nanoseconds,
 * *crc = the last result (big-endian CRC-32C). Returns BH_OK or the failing status.
 */
int32_t bare_native_checksum(const uint8_t *data, size_t len, uint32_t reps, uint64_t *ns, uint32_t *crc)
{
    bh_host host = {0};
    bh_module module = {0};
    bh_method method = {0};
    bh_status st = open_std("checksum", &host, &module, &method);
    uint8_t out[4] = {0};
    size_t out_len = 0;
    if (st == BH_OK) {
        uint64_t t0 = now_ns();
        for (uint32_t i = 0; i < reps && st == BH_OK; i++)
            st = bh_call_into(method, data, len, out, sizeof out, &out_len);
        *ns = now_ns() - t0;
        *crc = (uint32_t)out[0] << 24 | (uint32_t)out[1] << 16 | (uint32_t)out[2] << 8 | out[3];
    }
    close_std(host, module, method);
    return st;
}

/*
 * Echo 16 bytes `reps` times with std.echo: into a caller buffer (`via_buffer` 0), through a
 * bh_buffer that is read, copied and freed each time (`via_buffer` 1), or with bh_call_spill into a
 * caller buffer (`via_buffer` 2; a spill would be read, copied and freed). *ns = total nanoseconds.
 * Returns BH_OK, the failing status, or BH_E_INTERNAL if an echo came back wrong.
 */
int32_t bare_native_echo(uint32_t reps, int32_t via_buffer, uint64_t *ns)
{
    bh_host host = {0};
    bh_module module = {0};
    bh_method method = {0};
    bh_status st = open_std("echo", &host, &module, &method);
    static const uint8_t in[16] = "0123456789abcdef";
    uint8_t out[64];
    size_t n = 0;
    if (st == BH_OK) {
        uint64_t t0 = now_ns();
        for (uint32_t i = 0; i < reps && st == BH_OK; i++) {
            if (via_buffer == 0) {
                st = bh_call_into(method, in, sizeof in, out, sizeof out, &n);
            } else if (via_buffer == 2) {
                bh_buffer spill = {0};
                st = bh_call_spill(method, in, sizeof in, out, sizeof out, &n, &spill);
                if (st == BH_OK && spill.id != 0) {
                    const uint8_t *d = NULL;
                    size_t len = 0;
                    st = bh_buffer_data(spill, &d, &len);
                    if (st == BH_OK && len <= sizeof out)
                        memcpy(out, d, len);
                    bh_buffer_free(spill);
                }
            } else {
                bh_buffer b = {0};
                const uint8_t *d = NULL;
                st = bh_call(method, in, sizeof in, &b);
                if (st == BH_OK)
                    st = bh_buffer_data(b, &d, &n);
                if (st == BH_OK && n <= sizeof out)
                    memcpy(out, d, n);
                if (b.id != 0)
                    bh_buffer_free(b);
            }
        }
        *ns = now_ns() - t0;
        if (st == BH_OK && (n != sizeof in || memcmp(in, out, n) != 0))
            st = BH_E_INTERNAL;
    }
    close_std(host, module, method);
    return st;
}

struct event_count {
    _Atomic uint64_t seen;
    uint64_t want;
};

static void count_event(void *user, const char *topic, size_t topic_len, const uint8_t *data, size_t len)
{
    (void)topic;
    (void)topic_len;
    (void)data;
    (void)len;
    struct event_count *c = user;
    atomic_fetch_add_explicit(&c->seen, 1, memory_order_release);
}

/*
 * Deliver `n` std.ticker events (payload 8 bytes) to a C callback that counts them; *ns = nanoseconds
 * from the ticker call to the last delivery. Returns BH_OK, the failing status, or BH_E_TIMEOUT when
 * not every event arrived within 120 s.
 */
int32_t bare_native_events(uint32_t n, uint64_t *ns)
{
    bh_host host = {0};
    bh_module module = {0};
    bh_method method = {0};
    bh_subscription sub = {0};
    struct event_count c = {0, n};
    bh_status st = open_std("ticker", &host, &module, &method);
    if (st == BH_OK)
        st = bh_subscribe(module, "tick", 4, count_event, &c, &sub);
    if (st == BH_OK) {
        uint8_t in[4];
        memcpy(in, &n, sizeof in); /* little-endian count */
        uint8_t out[1];
        size_t out_len = 0;
        uint64_t t0 = now_ns();
        st = bh_call_into(method, in, sizeof in, out, sizeof out, &out_len);
        while (st == BH_OK && atomic_load_explicit(&c.seen, memory_order_acquire) < c.want) {
            if (now_ns() - t0 > 120000000000ull) {
                st = BH_E_TIMEOUT;
                break;
            }
            struct timespec pause = {0, 20000};
            nanosleep(&pause, NULL);
        }
        *ns = now_ns() - t0;
    }
    if (sub.id != 0)
        bh_unsubscribe(sub);
    close_std(host, module, method);
    return st;
}
