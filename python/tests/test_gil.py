"""The GIL is released around native calls and waits (catalog Q21)."""

from __future__ import annotations

import struct
import threading
import time

from conftest import await_inside, gate


def test_four_native_calls_are_inside_at_once(std):
    # No clock judges it: std's gate counts the calls waiting inside it. Four threads can all
    # be in there only if none of them holds the GIL while it waits (with the GIL held, this
    # thread could not even poll the count).
    wait = std.method("gate_wait")
    assert not wait.keeps_gil
    results: list[bytes] = []
    ts = [threading.Thread(target=lambda: results.append(wait(gate(b"four")))) for _ in range(4)]
    for t in ts:
        t.start()
    try:
        assert await_inside(std, b"four", 4) == 4
    finally:
        released = struct.unpack("<I", std.method("gate_open")(b"four"))[0]
        for t in ts:
            t.join()
    assert released == 4
    assert results == [b"\x01"] * 4, "released by gate_open, not by the timeout"


def test_python_runs_during_a_native_call(std):
    # The main thread waits in native code until a Python thread opens the gate: it can only
    # be let out if Python code ran while it was inside.
    def opener():
        if await_inside(std, b"py", 1) == 1:
            std.method("gate_open")(b"py")

    t = threading.Thread(target=opener)
    t.start()
    try:
        assert std.method("gate_wait")(gate(b"py")) == b"\x01", (
            "a Python thread must run while the main thread is in native code"
        )
    finally:
        t.join()


def test_submit_wait_releases_the_gil(std):
    fut = std.method("gate_wait").submit(gate(b"sub"))
    try:
        # This thread keeps running Python (and polling) while the submitted call waits.
        assert await_inside(std, b"sub", 1) == 1
        assert not fut.done()
    finally:
        std.method("gate_open")(b"sub")
    assert fut.result(timeout=30) == b"\x01"


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
    wait = std.method("gate_wait")
    arg = bytearray(gate(b"ba"))
    result = []
    t = threading.Thread(target=lambda: result.append(wait(arg)))
    t.start()
    try:
        # The call is in native code now, holding the buffer export.
        assert await_inside(std, b"ba", 1) == 1
        import pytest

        with pytest.raises(BufferError):
            arg.extend(b"more")
        with pytest.raises(BufferError):
            del arg[:]
    finally:
        std.method("gate_open")(b"ba")
        t.join()
    assert result == [b"\x01"]
    arg.extend(b"ok")  # released once the call returned
