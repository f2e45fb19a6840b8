"""Python benchmarks for bridgehost: JSON lines on stdout (see bench/README.md).

Run by ``scripts/python.sh bench`` (which builds the baselines into the
project venv), or directly::

    python bench/python/bench.py --cecho target/python-bench/libbh_bench_cecho.so

Figures (median of repeats, after warm-up):

* ``python.echo_16B``            Method.call on std.echo (non-blocking: keeps the GIL)
* ``python.echo_16B_released``   the same call forcing the GIL release
* ``python.bare_pyo3_echo_16B[_released]``  a bare PyO3 function (bench/python/bare)
* ``python.ctypes_echo_16B`` / ``python.cffi_echo_16B``  a C echo through ctypes / cffi
* ``python.checksum_64MiB`` vs ``python.native_checksum_64MiB`` (core called from Rust)
* ``python.events`` vs ``python.attach_per_event_events``
* ``python.gil_4x_sleep_200ms`` and ``python.checksum_2_threads_speedup``

``BENCH_SMOKE=1`` runs a few iterations only (numbers not meaningful). Exits
non-zero if any measured call fails.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import sys
import threading
import time
import timeit

import bridgehost

SMOKE = os.environ.get("BENCH_SMOKE") == "1"
REPEATS = 2 if SMOKE else 7
DATA16 = b"0123456789abcdef"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def emit(name, unit, values, baseline=None, goal=None):
    rec = {
        "name": name,
        "unit": unit,
        "value": statistics.median(values),
        "min": min(values),
        "median": statistics.median(values),
        "max": max(values),
        "repeats": len(values),
    }
    if baseline:
        rec["baseline"] = baseline
    if goal:
        rec["goal"] = goal
    print(json.dumps(rec), flush=True)
    return rec["value"]


def per_call_ns(fn, arg, number):
    fn(arg)
    return [
        t / number * 1e9
        for t in timeit.repeat("f(x)", globals={"f": fn, "x": arg}, number=number, repeat=REPEATS)
    ]


def bench_echo(std, bare, cecho):
    n = 20_000 if SMOKE else 1_000_000
    echo = std.method("echo")
    if echo(DATA16) != DATA16:
        raise SystemExit("echo returned wrong bytes")
    log(f"echo: nonblocking={echo.nonblocking} keeps_gil={echo.keeps_gil}")
    emit("python.bare_pyo3_echo_16B", "ns/call", per_call_ns(bare.echo, DATA16, n))
    emit("python.bare_pyo3_echo_16B_released", "ns/call", per_call_ns(bare.echo_released, DATA16, n))
    emit(
        "python.echo_16B",
        "ns/call",
        per_call_ns(echo.call, DATA16, n),
        "python.bare_pyo3_echo_16B_released",
        "<= 1.5x baseline",
    )
    emit(
        "python.echo_16B_released",
        "ns/call",
        per_call_ns(echo.call_released, DATA16, n),
        "python.bare_pyo3_echo_16B_released",
        "<= 1.5x baseline",
    )
    emit("python.echo_16B_bytearray", "ns/call", per_call_ns(echo.call, bytearray(DATA16), n),
         "python.bare_pyo3_echo_16B_released")
    if cecho:
        import ctypes

        lib = ctypes.CDLL(cecho)
        f = lib.bh_bench_echo
        f.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t]
        f.restype = ctypes.c_size_t
        out = ctypes.create_string_buffer(64)

        def ct(d, f=f, out=out):
            k = f(d, len(d), out, 64)
            return out.raw[:k]

        if ct(DATA16) != DATA16:
            raise SystemExit("ctypes echo returned wrong bytes")
        ct_ns = emit("python.ctypes_echo_16B", "ns/call", per_call_ns(ct, DATA16, n // 4))
        try:
            import cffi
        except ImportError:
            log("cffi not installed: skipping the cffi baseline")
        else:
            ffi = cffi.FFI()
            ffi.cdef("size_t bh_bench_echo(const uint8_t *in, size_t len, uint8_t *out, size_t cap);")
            cl = ffi.dlopen(cecho)
            cout = ffi.new("uint8_t[64]")

            def cf(d, f=cl.bh_bench_echo, out=cout, buf=ffi.buffer):
                k = f(d, len(d), out, 64)
                return buf(out, k)[:]

            if cf(DATA16) != DATA16:
                raise SystemExit("cffi echo returned wrong bytes")
            emit("python.cffi_echo_16B", "ns/call", per_call_ns(cf, DATA16, n // 4))
        ours = per_call_ns(echo.call, DATA16, n)
        emit("python.ctypes_over_echo_16B", "x", [ct_ns / v for v in ours], goal=">= 6 x")


def bench_bulk(std, bare):
    size = (4 << 20) if SMOKE else (64 << 20)
    blob = os.urandom(size)
    checksum = std.method("checksum")
    checksum(blob)
    reps = 2 if SMOKE else 5
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        for _ in range(reps):
            checksum(blob)
        times.append((time.perf_counter() - t0) / reps)
    mbs = [size / t / 1e6 for t in times]
    native = bare.native_call_seconds(std.path, "checksum", size, reps, REPEATS)
    emit("python.native_checksum_64MiB", "MB/s", [size / t / 1e6 for t in native])
    emit("python.checksum_64MiB", "MB/s", mbs, "python.native_checksum_64MiB", ">= 0.9x baseline")


def bench_events(std, bare):
    n = 20_000 if SMOKE else 1_000_000
    rates = []
    for _ in range(max(2, REPEATS // 2)):
        got = 0
        done = threading.Event()

        def cb(topic, data):
            nonlocal got
            got += 1
            if got == n:
                done.set()

        with std.subscribe("tick", cb):
            t0 = time.perf_counter()
            std.method("ticker")(struct.pack("<I", n))
            if not done.wait(120):
                raise SystemExit(f"only {got} of {n} events arrived")
            rates.append(n / (time.perf_counter() - t0))
    dropped = std.counters()["events_dropped"]
    if dropped:
        log(f"events: {dropped} dropped by the bounded queue (drop-newest policy)")
    m = max(2_000, n // 10)

    def cb2(topic, data):
        pass

    base = [m / bare.attach_per_event(cb2, m) for _ in range(max(2, REPEATS // 2))]
    emit("python.attach_per_event_events", "events/s", base)
    emit("python.events", "events/s", rates, "python.attach_per_event_events", ">= 500000 events/s")


def bench_gil(std):
    sleep = std.method("sleep_ms")
    arg = b"200"  # std.sleep_ms takes decimal ASCII milliseconds
    vals = []
    for _ in range(2 if SMOKE else 3):
        ts = [threading.Thread(target=sleep, args=(arg,)) for _ in range(4)]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        vals.append((time.perf_counter() - t0) * 1e3)
    emit("python.gil_4x_sleep_200ms", "ms", vals, goal="<= 250 ms")

    checksum = std.method("checksum")
    blob = os.urandom(8 << 20)
    k = 2 if SMOKE else 16

    def work(reps):
        for _ in range(reps):
            checksum(blob)

    def timed(nthreads, reps):
        ts = [threading.Thread(target=work, args=(reps,)) for _ in range(nthreads)]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return time.perf_counter() - t0

    speed = [timed(1, 2 * k) / timed(2, k) for _ in range(2 if SMOKE else 3)]
    emit("python.checksum_2_threads_speedup", "x", speed, goal=">= 1.8 x")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cecho", help="the C echo library for the ctypes/cffi baselines")
    args = ap.parse_args()
    import bridgehost_bench_bare as bare

    with bridgehost.Host() as host:
        std = host.open("std")
        log(f"python {sys.version.split()[0]}, std from {std.path}")
        bench_echo(std, bare, args.cecho)
        bench_bulk(std, bare)
        bench_events(std, bare)
        bench_gil(std)


if __name__ == "__main__":
    main()
