"""The GIL is released around native calls and waits (catalog Q21)."""

from __future__ import annotations

import os
import threading
import time

import bridgehost
from conftest import ms


def _run_threads(n, target, *args):
    ts = [threading.Thread(target=target, args=args) for _ in range(n)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.perf_counter() - t0


def test_four_sleeps_overlap(std):
    sleep = std.method("sleep_ms")
    assert not sleep.keeps_gil
    elapsed = _run_threads(4, sleep, ms(200))
    # Serialized by the GIL this would take 800 ms.
    assert 0.19 <= elapsed < 0.45, f"4 x sleep_ms(200) took {elapsed * 1000:.0f} ms"


def test_python_runs_during_a_native_call(std):
    sleep = std.method("sleep_ms")
    ticks = 0
    done = threading.Event()

    def spin():
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        sleep(ms(200))
    finally:
        done.set()
        t.join()
    assert ticks > 1000, "a Python thread must run while the main thread is in native code"


def test_submit_wait_releases_the_gil(std):
    fut = std.method("sleep_ms").submit(ms(150))
    t0 = time.perf_counter()
    n = 0
    while not fut.done():
        n += 1
    assert fut.result() == b""
    assert time.perf_counter() - t0 > 0.05 and n > 1000


def test_cpu_bound_calls_run_concurrently(std):
    """Two threads' CPU-bound calls are in native code at the same time.

    No wall-clock speedup is judged (a loaded 2-CPU machine can lend us less than one CPU):
    while one thread's long checksum runs, another thread must complete whole checksum calls
    of its own. With the GIL (or any lock) held across a call, no other call can complete
    inside it: the other thread could only run in the first and last few milliseconds of the
    window (the interpreter's 5 ms switch interval), never in its middle half.
    """
    checksum = std.method("checksum")
    # checksum is flagged non-blocking, so inputs up to 2 KiB keep the GIL (the fast path);
    # both sizes here are far above that.
    small = bytes(64 << 10)
    # Calibrate: the long call should take at least 200 ms, whatever the build's speed.
    probe = bytes(8 << 20)
    t0 = time.perf_counter()
    checksum(probe)
    per_byte = max(time.perf_counter() - t0, 1e-4) / len(probe)
    big = bytes(min(int(0.2 / per_byte), 128 << 20))
    for _attempt in range(5):
        stop = threading.Event()
        done_at: list[float] = []

        def other():
            while not stop.is_set():
                checksum(small)
                done_at.append(time.perf_counter())

        t = threading.Thread(target=other)
        t.start()
        while not done_at:  # the other thread is calling before the long call starts
            time.sleep(0.001)
        t0 = time.perf_counter()
        checksum(big)
        t1 = time.perf_counter()
        stop.set()
        t.join()
        quarter = (t1 - t0) / 4
        inside = [x for x in done_at if t0 + quarter < x < t1 - quarter]
        if inside:
            break
    assert inside, (
        f"no call completed in the middle of a {(t1 - t0) * 1000:.0f} ms call on another "
        f"thread ({len(done_at)} completed in all)"
    )


def test_bytearray_cannot_be_resized_during_a_call(std):
    sleep = std.method("sleep_ms")
    arg = bytearray(ms(300))
    started = threading.Event()
    result = []

    def call():
        started.set()
        result.append(sleep(arg))

    t = threading.Thread(target=call)
    t.start()
    started.wait()
    time.sleep(0.1)  # the call is in native code now, holding the export
    try:
        import pytest

        with pytest.raises(BufferError):
            arg.extend(b"more")
        with pytest.raises(BufferError):
            del arg[:]
    finally:
        t.join()
    assert result == [b""]
    arg.extend(b"ok")  # released once the call returned
