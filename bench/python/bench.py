"""Python benchmarks for bridgehost: JSON lines on stdout (see bench/README.md).

Run by ``scripts/python.sh bench`` (which builds the baselines into the
project venv), or directly::

    python bench/python/bench.py --cecho target/python-bench/libbh_bench_cecho.so

Figures (median of repeats, after warm-up), each with its baseline and goal
where one applies (bench/README.md):

* ``python.bare_pyo3_echo_16B[_released]``  a bare PyO3 function (bench/python/bare),
  without / with the GIL release: the baselines of the echo figures
* ``python.echo_16B``            Method.call on std.echo: the module's non-blocking hint
  path (the GIL is kept); goal <= 1.5x the bare echo *with* release
* ``python.echo_16B_released``   the same call forcing the GIL release (the default
  path of every method without the hint); same baseline and goal
* ``python.ctypes_echo_16B`` / ``python.cffi_echo_16B``  a C echo through ctypes / cffi;
  ``python.echo_16B[_released]_vs_ctypes|_vs_cffi`` re-measure both paths of ours right
  after, against them: goal >= 6x faster, i.e. <= 0.1667x the baseline
* ``python.checksum_64MiB`` vs ``python.native_checksum_64MiB`` (core called from Rust)
* ``python.events`` vs ``python.attach_per_event_events``; goal >= 500k events/s
* GIL scaling, 1/2/4 Python threads: ``python.gil_sleep_200ms_{1,2,4}_threads``
  (wall time of N concurrent blocking calls), ``python.checksum_8MiB_{1,2,4}_threads``
  (aggregate MB/s of a CPU-bound call, GIL released), ``python.echo_16B_{1,2,4}_threads``
  and ``python.echo_16B_released_{1,2,4}_threads`` (aggregate calls/s of both echo paths;
  tiny calls are GIL-bound either way, so these carry no goal)
* Typed calls (docs/TYPED.md), std's WIT interface through the run-time view
  (``python.typed_*``, ``module.typed()``) and through the class ``bridgehost bindgen
  --lang python`` generated (``python.gen_*``, ``--gen DIR``):
  ``add: func(a: u32, b: u32) -> u32`` vs the bare PyO3 ``add`` (goal <= 1.5x; it takes the
  scalar fast path, ``python.typed_add_general_path`` the general one, with int-subclass
  arguments, for comparison);
  ``echo-string`` on 1 KiB vs the bare PyO3 string echo (no goal);
  ``echo`` (``list<u8>``) on 64 KiB vs the same bytes through the untyped ``Method.call``
  of the same method (goal <= 1.2x); ``echo-points`` on 10,000 records
  ``{x: f64, y: f64, label: string}`` vs a hand-written ``struct`` conversion of the same
  wire format around the untyped call of the same method (goal <= 2x)

``BENCH_SMOKE=1`` runs a few iterations only (numbers not meaningful). Exits
non-zero if any measured call fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
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
SIX_TIMES_FASTER = "<= 0.1667x baseline"
THREADS = (1, 2, 4)


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
        emit("python.ctypes_echo_16B", "ns/call", per_call_ns(ct, DATA16, n // 4))
        try:
            import cffi
        except ImportError:
            have_cffi = False
            log("cffi not installed: skipping the cffi baseline")
        else:
            have_cffi = True
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
        vs_baselines = ["python.ctypes_echo_16B"]
        if have_cffi:
            vs_baselines.append("python.cffi_echo_16B")
        for base in vs_baselines:
            suffix = base.split(".")[1].split("_")[0]  # ctypes | cffi
            # >= 6x faster than the baseline: at most 1/6 of its time per call.
            emit(f"python.echo_16B_vs_{suffix}", "ns/call", per_call_ns(echo.call, DATA16, n),
                 base, SIX_TIMES_FASTER)
            emit(f"python.echo_16B_released_vs_{suffix}", "ns/call",
                 per_call_ns(echo.call_released, DATA16, n), base, SIX_TIMES_FASTER)


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


def run_threads(nthreads, target, args=()):
    """Wall time (s) of ``nthreads`` threads running ``target(*args)``, started together."""
    barrier = threading.Barrier(nthreads + 1)
    errors = []

    def body():
        barrier.wait()
        try:
            target(*args)
        except BaseException as e:  # a failed call fails the bench
            errors.append(e)

    ts = [threading.Thread(target=body) for _ in range(nthreads)]
    for t in ts:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in ts:
        t.join()
    dt = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"a call failed in a thread: {errors[0]!r}")
    return dt


def bench_gil(std):
    """GIL scaling: the same work from 1, 2 and 4 Python threads."""
    rounds = 2 if SMOKE else 3

    # Blocking calls (GIL released while native code sleeps): N threads take
    # as long as one.
    sleep = std.method("sleep_ms")
    arg = b"200"  # std.sleep_ms takes decimal ASCII milliseconds
    for n in THREADS:
        vals = [run_threads(n, sleep, (arg,)) * 1e3 for _ in range(rounds)]
        if n == 1:
            emit("python.gil_sleep_200ms_1_thread", "ms", vals, goal="<= 250 ms")
        else:
            emit(f"python.gil_sleep_200ms_{n}_threads", "ms", vals,
                 "python.gil_sleep_200ms_1_thread", "<= 1.25x baseline")

    # CPU-bound calls (GIL released): aggregate throughput grows with the
    # cores (this machine has os.cpu_count() of them).
    checksum = std.method("checksum")
    size = 8 << 20
    blob = os.urandom(size)
    reps = 2 if SMOKE else 8
    cores = os.cpu_count() or 1

    def work(k, f=checksum):
        for _ in range(k):
            f(blob)

    checksum(blob)
    for n in THREADS:
        vals = [n * reps * size / run_threads(n, work, (reps,)) / 1e6 for _ in range(rounds)]
        name = f"python.checksum_8MiB_{n}_thread{'s' if n > 1 else ''}"
        if n == 1:
            emit(name, "MB/s", vals)
        else:
            want = 0.9 * min(n, cores)  # ideal speed-up min(n, cores), 10% slack
            emit(name, "MB/s", vals, "python.checksum_8MiB_1_thread", f">= {want:.2g}x baseline")

    # Tiny calls on both paths: the GIL-kept (non-blocking hint) path and the
    # released path. Both are bound by the GIL; reported without a goal so
    # the cost of contention on each path is visible.
    echo = std.method("echo")
    calls = 20_000 if SMOKE else 400_000
    for label, fn in (("echo_16B", echo.call), ("echo_16B_released", echo.call_released)):

        def loop(k, f=fn, d=DATA16):
            for _ in range(k):
                f(d)

        for n in THREADS:
            per = calls // n
            vals = [n * per / run_threads(n, loop, (per,)) for _ in range(rounds)]
            name = f"python.{label}_{n}_thread{'s' if n > 1 else ''}"
            base = None if n == 1 else f"python.{label}_1_thread"
            emit(name, "calls/s", vals, base)


@dataclasses.dataclass(frozen=True)
class HandPoint:
    x: float
    y: float
    label: str


def hand_encode_points(points):
    """``list<point>`` in the wire format of docs/TYPED.md, written by hand."""
    pack = struct.Struct("<ddI").pack
    parts = [struct.pack("<I", len(points))]
    for p in points:
        lb = p.label.encode()
        parts.append(pack(p.x, p.y, len(lb)))
        parts.append(lb)
    return b"".join(parts)


def hand_decode_points(b):
    (n,) = struct.unpack_from("<I", b, 0)
    off, out, unpack = 4, [], struct.Struct("<ddI").unpack_from
    for _ in range(n):
        x, y, k = unpack(b, off)
        off += 20
        out.append(HandPoint(x, y, b[off:off + k].decode()))
        off += k
    if off != len(b):
        raise SystemExit("hand decode: trailing bytes")
    return out


def per_call(fn, args, number, scale):
    """Times per call of ``fn(*args)`` (``scale`` = units per second)."""
    fn(*args)
    return [
        t / number * scale
        for t in timeit.repeat("f(*a)", globals={"f": fn, "a": args}, number=number, repeat=REPEATS)
    ]


class IntArg(int):
    """An int subclass: a typed call given one takes the general path (docs/TYPED.md, "Direct
    calls": the scalar fast path takes exact ints only)."""


def bench_typed(std, bare, gen_dir):
    view = std.typed()
    gen = gen_mod = None
    if gen_dir:
        sys.path.insert(0, gen_dir)
        gen_mod = importlib.import_module("bh_bench_std")
        gen = gen_mod.Std(std)
    n = 20_000 if SMOKE else 500_000

    # A primitive call: add(u32, u32) -> u32.
    if view.add(4_000_000_000, 300_000_000) != 5_032_704 or bare.add(2, 3) != 5:
        raise SystemExit("typed add returned a wrong sum")
    emit("python.bare_pyo3_add", "ns/call", per_call(bare.add, (2, 3), n, 1e9))
    emit("python.typed_add", "ns/call", per_call(view.add, (2, 3), n, 1e9),
         "python.bare_pyo3_add", "<= 1.5x baseline")
    # The same call through the general path (encode, byte call, decode): int-subclass arguments,
    # which the scalar fast path declines; what typed_add cost before the fast path.
    emit("python.typed_add_general_path", "ns/call",
         per_call(view.add, (IntArg(2), IntArg(3)), n, 1e9), "python.bare_pyo3_add")
    if gen:
        emit("python.gen_add", "ns/call", per_call(gen.add, (2, 3), n, 1e9),
             "python.bare_pyo3_add", "<= 1.5x baseline")

    # A 1 KiB string echo.
    text = ("bridgehost \u00e9\u4e2d\U0001F600 " * 64)[:1024]
    if view.echo_string(text) != text:
        raise SystemExit("typed echo-string returned a different string")
    emit("python.bare_pyo3_echo_string_1KiB", "ns/call",
         per_call(bare.echo_string_released, (text,), n, 1e9))
    emit("python.typed_echo_string_1KiB", "ns/call", per_call(view.echo_string, (text,), n, 1e9),
         "python.bare_pyo3_echo_string_1KiB")
    if gen:
        emit("python.gen_echo_string_1KiB", "ns/call", per_call(gen.echo_string, (text,), n, 1e9),
             "python.bare_pyo3_echo_string_1KiB")

    # 64 KiB of list<u8> vs the same bytes through the untyped call of the same method.
    blob = os.urandom(64 << 10)
    framed = struct.pack("<I", len(blob)) + blob
    echo = std.method("echo")
    if view.echo(blob) != blob or echo(framed) != framed:
        raise SystemExit("echo returned different bytes")
    m = 2_000 if SMOKE else 50_000
    emit("python.echo_64KiB", "us/call", per_call(echo.call, (framed,), m, 1e6))
    emit("python.typed_echo_64KiB", "us/call", per_call(view.echo, (blob,), m, 1e6),
         "python.echo_64KiB", "<= 1.2x baseline")
    if gen:
        emit("python.gen_echo_64KiB", "us/call", per_call(gen.echo, (blob,), m, 1e6),
             "python.echo_64KiB", "<= 1.2x baseline")

    # 10,000 records {f64, f64, string}: the typed call vs a hand-written conversion of the same
    # wire format around the untyped call of the same method.
    count = 10_000
    raw = [(i * 0.5, -i * 0.25, f"point-{i}") for i in range(count)]
    hand_pts = [HandPoint(*r) for r in raw]
    view_pts = [view.types.Point(*r) for r in raw]
    points_bytes = std.method("echo-points")

    def hand(pts, f=points_bytes.call):
        return hand_decode_points(f(hand_encode_points(pts)))

    if hand(hand_pts) != hand_pts or view.echo_points(view_pts) != view_pts:
        raise SystemExit("echo-points returned different records")
    k = 5 if SMOKE else 100
    emit("python.hand_echo_points_10k", "ms/call", per_call(hand, (hand_pts,), k, 1e3))
    emit("python.typed_echo_points_10k", "ms/call", per_call(view.echo_points, (view_pts,), k, 1e3),
         "python.hand_echo_points_10k", "<= 2x baseline")
    if gen:
        gen_pts = [gen_mod.Point(*r) for r in raw]
        if gen.echo_points(gen_pts) != gen_pts:
            raise SystemExit("generated echo-points returned different records")
        emit("python.gen_echo_points_10k", "ms/call", per_call(gen.echo_points, (gen_pts,), k, 1e3),
             "python.hand_echo_points_10k", "<= 2x baseline")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cecho", help="the C echo library for the ctypes/cffi baselines")
    ap.add_argument("--gen", help="a directory holding bh_bench_std.py, the std binding "
                    "`bridgehost bindgen --lang python --package bh_bench_std std` generated")
    args = ap.parse_args()
    import bridgehost_bench_bare as bare

    with bridgehost.Host() as host:
        std = host.open("std")
        log(f"python {sys.version.split()[0]}, std from {std.path}")
        bench_echo(std, bare, args.cecho)
        bench_bulk(std, bare)
        bench_events(std, bare)
        bench_gil(std)
        bench_typed(std, bare, args.gen)


if __name__ == "__main__":
    main()
