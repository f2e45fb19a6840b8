"""submit (concurrent.futures) and submit_async (asyncio), with cancellation."""

from __future__ import annotations

import asyncio
import concurrent.futures
import struct
import threading

import pytest

import bridgehost
from conftest import await_inside, gate, ms


def test_submit_returns_a_concurrent_future(std):
    fut = std.method("echo").submit(b"abc")
    assert isinstance(fut, concurrent.futures.Future)
    assert fut.result(timeout=5) == b"abc"


def test_submit_copies_its_input(std):
    data = bytearray(b"before")
    fut = std.method("echo").submit(data)
    data[:] = b"resized after submit returned"  # allowed: nothing is pinned
    assert fut.result(timeout=5) == b"before"


def test_submit_error_is_the_future_exception(std):
    fut = std.method("fail").submit(b"")
    exc = fut.exception(timeout=5)
    assert isinstance(exc, bridgehost.ModuleError) and exc.code == 42


def test_completion_runs_on_a_bridgehost_thread(std):
    seen = []
    done = threading.Event()
    fut = std.method("echo").submit(b"x")
    fut.add_done_callback(lambda f: (seen.append(threading.get_ident()), done.set()))
    assert done.wait(5)
    # Either the pool thread ran it, or the future was already done and the
    # callback ran here; both are fine, but the result is there.
    assert fut.result() == b"x" and seen


def test_cancel_reaches_the_core():
    with bridgehost.Host(submit_threads=1) as h:
        std = h.open("std")
        sleep = std.method("sleep_ms")
        running = std.method("gate_wait").submit(gate(b"run", 300))
        assert await_inside(std, b"run", 1) == 1, "running on the only submit thread"
        queued = sleep.submit(ms(10))
        assert queued.cancel() is True
        assert queued.cancelled()
        assert queued.cancel() is True  # idempotent
        # waiters are woken (set_running_or_notify_cancel)
        done, _ = concurrent.futures.wait([queued], timeout=1)
        assert queued in done
        assert running.cancel() is False, "a call that started cannot be cancelled"
        assert running.result(timeout=5) == b"\x00", "ran to its own timeout"
        assert h.counters()["cancelled"] == 1
        with pytest.raises(concurrent.futures.CancelledError):
            queued.result()


def test_many_submits_complete(std):
    echo = std.method("echo")
    futs = [echo.submit(i.to_bytes(4, "little")) for i in range(2000)]
    for i, f in enumerate(futs):
        assert f.result(timeout=10) == i.to_bytes(4, "little")


def test_submit_async():
    async def main():
        with bridgehost.Host() as h:
            echo = h.open("std").method("echo")
            r = await echo.submit_async(b"hi")
            assert r == b"hi"
            rs = await asyncio.gather(*(echo.submit_async(bytes([i])) for i in range(200)))
            assert rs == [bytes([i]) for i in range(200)]
            with pytest.raises(bridgehost.ModuleError):
                await h.open("std").method("fail").submit_async(b"")

    asyncio.run(main())


def test_submit_async_completion_is_delivered_on_the_loop_thread():
    async def main():
        with bridgehost.Host() as h:
            fut = h.open("std").method("sleep_ms").submit_async(ms(20))
            loop_thread = threading.get_ident()
            seen = []
            fut.add_done_callback(lambda f: seen.append(threading.get_ident()))
            await fut
            await asyncio.sleep(0)
            assert seen == [loop_thread]

    asyncio.run(main())


def test_submit_async_cancellation_reaches_the_core():
    async def main():
        with bridgehost.Host(submit_threads=1) as h:
            std = h.open("std")
            sleep = std.method("sleep_ms")
            running = std.method("gate_wait").submit_async(gate(b"arun", 200))
            while struct.unpack("<I", std.method("gate_count")(b"arun"))[0] < 1:
                await asyncio.sleep(0.001)  # until it runs on the only submit thread
            queued = sleep.submit_async(ms(10))
            queued.cancel()
            with pytest.raises(asyncio.CancelledError):
                await queued
            assert await running == b"\x00"
            assert h.counters()["cancelled"] == 1

    asyncio.run(main())


def test_submit_async_needs_a_running_loop(std):
    with pytest.raises(RuntimeError):
        std.method("echo").submit_async(b"x")


def test_wait_for_timeout_cancels_a_queued_call():
    async def main():
        with bridgehost.Host(submit_threads=1) as h:
            sleep = h.open("std").method("sleep_ms")
            first = sleep.submit_async(ms(300))
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(sleep.submit_async(ms(10)), timeout=0.05)
            await first
            assert h.counters()["cancelled"] == 1

    asyncio.run(main())
