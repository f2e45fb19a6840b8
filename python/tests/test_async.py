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
            std = h.open("std")
            sleep = std.method("sleep_ms")
            # The first call holds the only submit thread in std's gate until the test opens
            # it (it was a 300 ms sleep, which a loaded machine could outlast before the
            # 50 ms wait_for fired): the second is still queued when its wait_for times out.
            first = std.method("gate_wait").submit_async(gate(b"first", 60_000))
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(sleep.submit_async(ms(10)), timeout=0.05)
            assert await_inside(std, b"first", 1) == 1
            std.method("gate_open")(b"first")
            assert await first == b"\x01"
            assert h.counters()["cancelled"] == 1

    asyncio.run(main())


# -- Rejections: a submit the host refuses is a failed future, never raised --------------------
# (as Java's failed CompletableFuture and .NET's faulted Task; docs/PYTHON.md "Futures and
# cancellation"). Only an unusable argument raises, and submit_async without a running loop.


def _fill_queue(std):
    """One call running on the only submit thread, two queued: the queue (capacity 2) is full."""
    running = std.method("gate_wait").submit(gate(b"full", 30_000))
    assert await_inside(std, b"full", 1) == 1, "running on the only submit thread"
    sleep = std.method("sleep_ms")
    return running, [sleep.submit(ms(1)) for _ in range(2)]


def _drain(std, running, queued):
    assert struct.unpack("<I", std.method("gate_open")(b"full"))[0] == 1
    assert running.result(timeout=30) == b"\x01", "released by gate_open"
    for f in queued:
        assert f.result(timeout=30) == b""


def test_a_full_submit_queue_fails_the_future():
    with bridgehost.Host(submit_threads=1, submit_queue_capacity=2) as h:
        std = h.open("std")
        running, queued = _fill_queue(std)
        fut = std.method("echo").submit(b"x")  # the 4th: no exception raised here
        assert isinstance(fut, concurrent.futures.Future)
        assert fut.done() and not fut.cancelled()
        assert isinstance(fut.exception(timeout=0), bridgehost.OverloadedError)
        with pytest.raises(bridgehost.OverloadedError):
            fut.result(timeout=0)
        assert fut.cancel() is False, "a failed future stays failed"
        assert h.counters()["submits"] == 3, "the refused submit is not counted as accepted"
        _drain(std, running, queued)


def test_a_full_submit_queue_fails_the_asyncio_future():
    async def main():
        with bridgehost.Host(submit_threads=1, submit_queue_capacity=2) as h:
            std = h.open("std")
            running, queued = _fill_queue(std)
            fut = std.method("echo").submit_async(b"x")  # no exception raised here
            assert isinstance(fut, asyncio.Future) and fut.done()
            assert isinstance(fut.exception(), bridgehost.OverloadedError)
            with pytest.raises(bridgehost.OverloadedError):
                await fut
            # TypedFunction.submit goes the same way
            tfut = std.typed().add.submit(1, 2)
            assert isinstance(tfut.exception(timeout=0), bridgehost.OverloadedError)
            _drain(std, running, queued)

    asyncio.run(main())


def test_every_refusal_is_a_failed_future_and_argument_errors_raise(host):
    std = host.open("std", max_input=4)
    echo = std.method("echo")
    typed_add = std.typed().add
    # too large: refused by the call on the pool thread
    exc = echo.submit(b"12345").exception(timeout=30)
    assert isinstance(exc, bridgehost.ResourceLimitError)
    # argument errors are the caller's: raised at once, nothing submitted
    before = host.counters()["submits"]
    with pytest.raises(TypeError):
        echo.submit(12345)
    with pytest.raises(TypeError):
        echo.submit("text is not bytes")
    with pytest.raises(TypeError, match="parameter b"):
        typed_add.submit(1, "x")
    assert host.counters()["submits"] == before
    # closed method: its future fails with ClosedError
    echo.close()
    exc = echo.submit(b"x").exception(timeout=0)
    assert isinstance(exc, bridgehost.ClosedError) and "method is closed" in str(exc)
    with pytest.raises(TypeError):
        echo.submit(12345)  # the argument is still checked first
    # closed module: the same for every submit path
    echo2 = std.method("echo")
    std.close()
    assert isinstance(echo2.submit(b"x").exception(timeout=0), bridgehost.ClosedError)
    assert isinstance(typed_add.submit(1, 2).exception(timeout=0), bridgehost.ClosedError)

    async def main():
        fut = echo2.submit_async(b"x")
        assert fut.done() and isinstance(fut.exception(), bridgehost.ClosedError)
        tfut = typed_add.submit_async(1, 2)
        assert tfut.done() and isinstance(tfut.exception(), bridgehost.ClosedError)
        with pytest.raises(TypeError):
            echo2.submit_async(12345)

    asyncio.run(main())


def test_a_closed_host_fails_the_future():
    h = bridgehost.Host()
    echo = h.open("std").method("echo")
    h.close()
    assert isinstance(echo.submit(b"x").exception(timeout=0), bridgehost.ClosedError)


def test_cancelling_submit_async_ends_a_running_isolated_call(host):
    async def main():
        m = host.open("std", isolation="process")
        fut = m.method("sleep_ms").submit_async(ms(60_000))
        while m.counters()["calls"] < 1:
            await asyncio.sleep(0.005)  # the worker runs it
        t0 = asyncio.get_running_loop().time()
        fut.cancel()
        with pytest.raises(asyncio.CancelledError):
            await fut
        # the core ends the worker call: counted, and the worker is replaced
        while m.counters()["cancelled"] < 1:
            assert asyncio.get_running_loop().time() - t0 < 10, "the running call was not ended"
            await asyncio.sleep(0.005)
        assert await m.method("echo").submit_async(b"alive") == b"alive"

    asyncio.run(main())
