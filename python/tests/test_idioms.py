"""Python idioms (issue 15 items 2-4): cancellation handlers, context-manager
results, the package logger's NullHandler, level names, async with/aclose,
weak references, Method.close, numpy dtype=object refused."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
import subprocess
import sys
import threading
import weakref

import pytest

import bridgehost
from bridgehost import errors


def _core_cancelled() -> bridgehost.BridgeHostError:
    # The exception the extension builds for the core's "cancelled" kind.
    return errors._from_native(9, "cancelled by the core", 0)


def test_cancelled_error_is_caught_by_standard_cancellation_handlers():
    exc = _core_cancelled()
    assert type(exc) is bridgehost.CancelledError
    for handler in (
        asyncio.CancelledError,
        concurrent.futures.CancelledError,
        bridgehost.BridgeHostError,
        Exception,
    ):
        with pytest.raises(handler):
            raise _core_cancelled()


def test_a_task_awaiting_a_core_cancelled_call_ends_cancelled():
    async def awaits_cancelled_call():
        raise _core_cancelled()

    async def main():
        task = asyncio.ensure_future(awaits_cancelled_call())
        with pytest.raises(asyncio.CancelledError):
            await task
        return task.cancelled()

    assert asyncio.run(main()) is True


def test_exit_returns_none_so_exceptions_propagate(host):
    std = host.open("std")
    sub = std.subscribe("tick", lambda topic, data: None)
    assert sub.__exit__(None, None, None) is None
    assert std.__exit__(None, None, None) is None
    with bridgehost.Host() as h:
        pass
    assert h.__exit__(None, None, None) is None
    with pytest.raises(KeyError):
        with bridgehost.Host():
            raise KeyError("passes through")


def test_package_logger_has_a_null_handler():
    handlers = logging.getLogger("bridgehost").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_warnings_do_not_reach_stderr_without_logging_config():
    # Without the NullHandler, logging's last-resort handler prints WARNING
    # records to stderr in an application that never configured logging
    # (checked by removing it: the subprocess then prints the warning).
    code = (
        "import logging, bridgehost\n"
        "logging.getLogger('bridgehost.test').warning('should not be printed')\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert "should not be printed" not in r.stderr


@pytest.mark.parametrize(
    "name, core", [("TRACE", 4), ("debug", 3), ("INFO", 2), ("Warning", 1), ("ERROR", 0)]
)
def test_set_log_level_accepts_level_names(name, core, monkeypatch):
    seen = []
    monkeypatch.setattr(bridgehost._native, "_set_core_log_level", seen.append)
    bridgehost.set_log_level(name)
    assert seen == [core]


def test_set_log_level_refuses_unknown_names_and_types():
    with pytest.raises(ValueError, match="unknown logging level name"):
        bridgehost.set_log_level("loud")
    with pytest.raises(TypeError):
        bridgehost.set_log_level(2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        bridgehost.set_log_level(True)


# ---- issue 15 item 4 -------------------------------------------------------


def test_async_with_and_aclose(host):
    async def main():
        async with bridgehost.Host() as h:
            async with h.open("std") as std:
                echo = std.method("echo")
                assert await echo.submit_async(b"x") == b"x"
                async with std.subscribe("tick", lambda t, d: None) as sub:
                    assert sub.active
                assert not sub.active
            assert std.closed
        assert h.closed
        m = host.open("std")
        await m.aclose()
        await m.aclose()  # idempotent
        assert m.closed

    asyncio.run(main())


def test_aclose_runs_close_off_the_event_loop_thread():
    from bridgehost import _futures

    threads = []

    class Probe:
        def close(self):
            threads.append(threading.get_ident())

    async def main():
        await _futures._aclose(Probe())
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert threads and threads[0] != loop_thread


def test_weak_references_to_module_method_subscription(host):
    std = host.open("std")
    method = std.method("echo")
    sub = std.subscribe("tick", lambda t, d: None)
    refs = [weakref.ref(o) for o in (std, method, sub)]
    assert [r() for r in refs] == [std, method, sub]
    sub.unsubscribe()
    del sub
    gc.collect()
    assert refs[2]() is None


def test_method_close(std):
    echo = std.method("echo")
    assert not echo.closed
    echo.close()
    echo.close()  # idempotent
    assert echo.closed
    for call in (echo, echo.call, echo.call_released):
        with pytest.raises(bridgehost.ClosedError, match="method is closed"):
            call(b"x")
    # a refused submit is the future's exception (docs/PYTHON.md "Futures and cancellation")
    with pytest.raises(bridgehost.ClosedError, match="method is closed"):
        echo.submit(b"x").result(timeout=0)
    with pytest.raises(bridgehost.ClosedError):
        echo.call_into(b"x", bytearray(4))
    assert std.method("echo")(b"y") == b"y"  # the module stays open
    other = std.method("echo")
    std.close()
    assert other.closed


def test_numpy_object_arrays_are_refused(std):
    np = pytest.importorskip("numpy")
    echo = std.method("echo")
    objs = np.array([object(), "x", 3], dtype=object)
    with pytest.raises(bridgehost.InvalidArgumentError, match="dtype=object"):
        echo(objs)
    with pytest.raises(bridgehost.InvalidArgumentError, match="dtype=object"):
        echo.submit(objs)
    with pytest.raises(bridgehost.InvalidArgumentError, match="dtype=object"):
        echo.call_into(b"x", objs)
    # ordinary dtypes still pass as raw bytes
    assert echo(np.arange(4, dtype=np.int32)) == np.arange(4, dtype=np.int32).tobytes()


def test_bridgehost_threads_have_their_names_in_threading(std):
    # Without naming the thread object on its first attach (py-bridge runtime.rs,
    # name_python_thread), threading shows `Dummy-N` here.
    seen = {}
    done = threading.Event()

    def on_tick(topic, payload):
        t = threading.current_thread()
        seen["name"] = t.name
        seen["listed"] = t in threading.enumerate()
        done.set()

    with std.subscribe("tick", on_tick):
        std.method("ticker")((1).to_bytes(4, "little"))
        assert done.wait(10)
    assert seen["name"].startswith("bridgehost"), seen
    assert seen["name"].endswith("-events"), seen
    assert seen["listed"]


def test_an_exited_pool_thread_leaves_threading():
    # Without py-bridge's runtime.rs forget_python_thread, a pool thread that ran Python stays in
    # threading.enumerate() (is_alive() true) after it exited: CPython never removes a dummy
    # thread's entry, so bursts of submits piled up stale entries.
    import time

    from conftest import await_inside, gate

    with bridgehost.Host(submit_threads=1) as host:
        std = host.open("std")
        key = b"pool-thread"
        seen = {}
        ran = threading.Event()

        def on_done(fut):
            seen["thread"] = threading.current_thread()
            ran.set()

        # The call waits at a gate, so the callback is added before it completes and runs on the
        # pool thread, not here.
        fut = std.method("gate_wait").submit(gate(key, 30_000))
        assert await_inside(std, key, 1) == 1
        fut.add_done_callback(on_done)
        std.method("gate_open")(key)
        assert ran.wait(30)
        t = seen["thread"]
        assert t.name.startswith("bridgehost-pool"), t.name
        # Idle pool threads exit after 2 s (docs/PYTHON.md, "Defaults").
        deadline = time.monotonic() + 30
        while t in threading.enumerate():
            assert time.monotonic() < deadline, "the exited pool thread is still listed"
            time.sleep(0.05)
