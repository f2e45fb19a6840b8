/* Package test (scripts/package_test.sh): a C program built with
 *   cc consumer.c $(pkg-config --cflags --libs bridgehost)
 * against the unpacked C archive only. It opens the bundled std module by name (found beside
 * libbridgehost.so), checks an echo and a checksum, then prints the median time of a 16-byte
 * echo (bh_call_into into a reused buffer, thread CPU clock) as "echo16_ns=<ns>". */
#include <bridgehost.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(expr)                                                         \
    do {                                                                    \
        bh_status s_ = (expr);                                              \
        if (s_ != BH_OK) {                                                  \
            fprintf(stderr, "FAIL %s: status %d\n", #expr, (int)s_);        \
            return 1;                                                       \
        }                                                                   \
    } while (0)

/* The thread's CPU clock: time spent descheduled on a busy machine is not counted (the bench
 * figure it is compared with is wall-clock, so load can only loosen the comparison). */
static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void) {
    bh_host host;
    bh_module std_mod;
    bh_method echo, checksum;
    CHECK(bh_host_new(NULL, &host));
    CHECK(bh_module_open(host, "std", 3, NULL, &std_mod));
    CHECK(bh_method_resolve(std_mod, "echo", 4, &echo));
    CHECK(bh_method_resolve(std_mod, "checksum", 8, &checksum));

    uint8_t in[16], out[64];
    size_t len = 0;
    for (int i = 0; i < 16; i++) in[i] = (uint8_t)(i * 7 + 1);
    CHECK(bh_call_into(echo, in, sizeof in, out, sizeof out, &len));
    if (len != 16 || memcmp(in, out, 16) != 0) { fprintf(stderr, "FAIL echo mismatch\n"); return 1; }
    CHECK(bh_call_into(checksum, (const uint8_t *)"123456789", 9, out, sizeof out, &len));
    if (len != 4 || out[0] != 0xe3 || out[1] != 0x06 || out[2] != 0x92 || out[3] != 0x83) {
        fprintf(stderr, "FAIL checksum(123456789) is not CRC-32C e3069283\n");
        return 1;
    }
    printf("ok   std.echo and std.checksum through libbridgehost.so from the archive\n");

    /* The bundled sqlite module (typed, stateful; docs/SQLITE.md): connection.open(":memory:",
     * create) written by hand on the wire (docs/TYPED.md): a string is its u32 length and its
     * UTF-8, an enum one byte (open-mode create = 2); result<connection, error> comes back as 0
     * and the u64 handle. Closing the module releases the connection. */
    static const uint8_t open_args[] = {8, 0, 0, 0, ':', 'm', 'e', 'm', 'o', 'r', 'y', ':', 2};
    bh_module sq;
    bh_method sq_open;
    CHECK(bh_module_open(host, "sqlite", 6, NULL, &sq));
    CHECK(bh_method_resolve(sq, "[static]connection.open", 23, &sq_open));
    CHECK(bh_call_into(sq_open, open_args, sizeof open_args, out, sizeof out, &len));
    if (len != 9 || out[0] != 0) {
        fprintf(stderr, "FAIL sqlite connection.open: %zu bytes, tag %u\n", len, (unsigned)out[0]);
        return 1;
    }
    CHECK(bh_method_free(sq_open));
    CHECK(bh_module_close(sq));
    printf("ok   the bundled sqlite module opens a database through the archive\n");

    enum { ROUNDS = 7, N = 200000 };
    double per[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now_ns();
        for (int i = 0; i < N; i++) {
            if (bh_call_into(echo, in, sizeof in, out, sizeof out, &len) != BH_OK) { fprintf(stderr, "FAIL echo\n"); return 1; }
        }
        per[r] = (now_ns() - t0) / N;
    }
    qsort(per, ROUNDS, sizeof per[0], cmp);
    printf("echo16_ns=%.1f\n", per[ROUNDS / 2]);
    CHECK(bh_method_free(echo));
    CHECK(bh_method_free(checksum));
    CHECK(bh_module_close(std_mod));
    CHECK(bh_host_free(host));
    return 0;
}
