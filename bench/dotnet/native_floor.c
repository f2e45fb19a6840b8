/*
 * Native floors for the .NET benchmarks: the same work driven from C through the C ABI, with no
 * managed runtime involved. What the .NET figures add on top of these is the .NET layer's cost.
 *
 *   bare_native_checksum   std.checksum over a large input (bulk throughput)
 *   bare_native_echo       std.echo of 16 bytes, through bh_call_into or through
 *                          bh_call + bh_buffer_data + copy + bh_buffer_free (per-call floor)
 */
#include "bridgehost.h"

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
    if (method != 0)
        bh_method_free(method);
    if (module != 0)
        bh_module_free(module);
    if (host != 0)
        bh_host_free(host);
}

/*
 * Checksum `len` bytes at `data` `reps` times with std.checksum; *ns = total elapsed nanoseconds,
 * *crc = the last result (big-endian CRC-32C). Returns BH_OK or the failing status.
 */
int32_t bare_native_checksum(const uint8_t *data, size_t len, uint32_t reps, uint64_t *ns, uint32_t *crc)
{
    bh_host host = 0;
    bh_module module = 0;
    bh_method method = 0;
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
 * Echo 16 bytes `reps` times with std.echo: into a caller buffer (`via_buffer` 0), or through a
 * bh_buffer that is read, copied and freed each time (`via_buffer` 1). *ns = total nanoseconds.
 * Returns BH_OK, the failing status, or BH_E_INTERNAL if an echo came back wrong.
 */
int32_t bare_native_echo(uint32_t reps, int32_t via_buffer, uint64_t *ns)
{
    bh_host host = 0;
    bh_module module = 0;
    bh_method method = 0;
    bh_status st = open_std("echo", &host, &module, &method);
    static const uint8_t in[16] = "0123456789abcdef";
    uint8_t out[64];
    size_t n = 0;
    if (st == BH_OK) {
        uint64_t t0 = now_ns();
        for (uint32_t i = 0; i < reps && st == BH_OK; i++) {
            if (!via_buffer) {
                st = bh_call_into(method, in, sizeof in, out, sizeof out, &n);
            } else {
                bh_buffer b = 0;
                const uint8_t *d = NULL;
                st = bh_call(method, in, sizeof in, &b);
                if (st == BH_OK)
                    st = bh_buffer_data(b, &d, &n);
                if (st == BH_OK && n <= sizeof out)
                    memcpy(out, d, n);
                if (b != 0)
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
