"""Close, use after close, double close, close with calls in flight."""

from __future__ import annotations

import gc
import threading
import time

import pytest

import bridgehost
from conftest import await_inside, gate, ms


def test_use_after_close(host):
    std = host.open("std")
    echo = std.method("echo")
    std.close()
    assert std.closed
    with pytest.raises(bridgehost.ClosedError):
        echo(b"x")
    with pytest.raises(bridgehost.ClosedError):
        std.method("echo")
    with pytest.raises(bridgehost.ClosedError):
        std.subscribe("tick", lambda t, d: None)
    # a refused submit is the future's exception, not raised (test_async.py)
    assert isinstance(echo.submit(b"x").exception(timeout=0), bridgehost.ClosedError)
    host.close()
    with pytest.raises(bridgehost.ClosedError):
        host.open("std")


def test_host_close_closes_modules(host):
    std = host.open("std")
    echo = std.method("echo")
    host.close()
    assert host.closed and std.closed
    with pytest.raises(bridgehost.ClosedError):
        echo(b"x")


def test_double_close_is_idempotent():
    h = bridgehost.Host()
    m = h.open("std")
    s = m.subscribe("tick", lambda t, d: None)
    for _ in range(2):
        s.unsubscribe()
        s.close()
        m.close()
        h.close()
    assert not s.active and m.closed and h.closed


def test_context_managers():
    with bridgehost.Host() as h:
        with h.open("std") as m:
            with m.subscribe("tick", lambda t, d: None) as s:
                assert s.active and s.topic == "tick"
            assert not s.active
        assert m.closed
    assert h.closed


def test_close_waits_for_a_call_in_flight(host):
    std = host.open("std")
    wait = std.method("gate_wait")
    out = []
    t = threading.Thread(target=lambda: out.append(wait(gate(b"close", 1000))))
    t.start()
    assert await_inside(std, b"close", 1) == 1
    t0 = time.perf_counter()
    std.close()
    waited = time.perf_counter() - t0
    t.join()
    assert out == [b"\x00"], "the call in flight runs to its own 1 s timeout"
    # It was inside before close() started, with 1 s to run: a close that did not wait for it
    # would return long before.
    assert waited > 0.15, "close returned while a call was still running"


def test_close_during_in_flight_submits():
    h = bridgehost.Host(submit_threads=1)
    std = h.open("std")
    sleep = std.method("sleep_ms")
    running = std.method("gate_wait").submit(gate(b"inflight", 200))
    assert await_inside(std, b"inflight", 1) == 1, "running on the only submit thread"
    queued = [sleep.submit(ms(10)) for _ in range(5)]
    h.close()
    assert running.result(timeout=5) == b"\x00"
    for f in queued:
        with pytest.raises(bridgehost.ClosedError):
            f.result(timeout=5)


def test_unclosed_host_warns_and_closes():
    h = bridgehost.Host()
    m = h.open("std")
    del m
    with pytest.warns(ResourceWarning, match="unclosed bridgehost.Host"):
        del h
        gc.collect()


def test_a_temporary_host_freed_while_an_error_propagates_keeps_the_error():
    # The temporary Host is freed (and warns) while NotFoundError is pending; the
    # warning used to swallow it: "SystemError: error return without exception set".
    with pytest.warns(ResourceWarning, match="unclosed bridgehost.Host"):
        with pytest.raises(bridgehost.NotFoundError):
            bridgehost.Host().open("no_such_module_here")
        gc.collect()


def test_module_keeps_its_host_alive():
    h = bridgehost.Host()
    m = h.open("std")
    del h
    gc.collect()
    assert m.method("echo")(b"ok") == b"ok"
    host = m.host
    del m
    host.close()



def test_method_is_a_context_manager(host):
    # Issue 17 item 3: a Method closes like Java's (AutoCloseable) and C#'s (IDisposable).
    std = host.open("std")
    with std.method("echo") as echo:
        assert echo(b"hi") == b"hi"
        assert not echo.closed
    assert echo.closed
    with pytest.raises(bridgehost.ClosedError):
        echo(b"hi")
    assert std.method("echo")(b"ok") == b"ok"  # the module stays open
