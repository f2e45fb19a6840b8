/* Tight C loops over the C ABI's two hot calls, for A/B comparisons of builds
 * (bench/c/ab.sh; docs/PERFORMANCE.md section 19):
 *   loops scalar N   N x bh_call_scalar(std.add, {i & 0xffff, 3})
 *   loops spill N    N x bh_call_spill(std.echo, 16 bytes)
 * Prints "<ns per call> ns/call". Module path: BRIDGEHOST_MODULE_PATH. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bridgehost.h"

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 3 || (strcmp(argv[1], "scalar") && strcmp(argv[1], "spill"))) {
        fprintf(stderr, "usage: loops scalar|spill N\n");
        return 2;
    }
    int scalar = !strcmp(argv[1], "scalar");
    long n = atol(argv[2]);
    bh_host h;
    bh_module m;
    bh_method f;
    if (bh_host_new(NULL, &h) || bh_module_open(h, "std", 3, NULL, &m) ||
        bh_method_resolve(m, scalar ? "add" : "echo", scalar ? 3 : 4, &f)) {
        fprintf(stderr, "set-up failed (is BRIDGEHOST_MODULE_PATH set?)\n");
        return 1;
    }
    uint64_t args[2] = {0, 3}, r = 0, sum = 0;
    uint8_t in[16] = {12, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, out[64];
    size_t len = 0;
    bh_buffer spill = {0};
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        int rc;
        if (scalar) {
            args[0] = (uint64_t)(i & 0xffff);
            rc = bh_call_scalar(f, args, 2, &r);
            sum += r;
        } else {
            in[5] = (uint8_t)i;
            rc = bh_call_spill(f, in, sizeof in, out, sizeof out, &len, &spill);
            sum += len;
        }
        if (rc) {
            fprintf(stderr, "call %ld failed: %d\n", i, rc);
            return 1;
        }
    }
    double t1 = now_ns();
    printf("%.2f ns/call (checksum %llu)\n", (t1 - t0) / n, (unsigned long long)sum);
    bh_host_free(h);
    return 0;
}
