"""Events from native threads: delivery, exceptions, unsubscribe guarantees."""

from __future__ import annotations

import threading
import time

import pytest

import bridgehost
from conftest import count


def _wait(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.005)
    return pred()


def test_ticker_events_arrive_in_order_on_another_thread(std):
    got = []
    threads = set()
    main = threading.get_ident()

    def cb(topic, data):
        threads.add(threading.get_ident())
        got.append((topic, data))

    with std.subscribe("tick", cb):
        std.method("ticker")(count(500))
        assert _wait(lambda: len(got) == 500)
    assert all(t == "tick" and isinstance(d, bytes) for t, d in got)
    assert len({d for _, d in got}) == 500, "every event distinct"
    assert main not in threads


def test_wildcard_topic(std):
    got = []
    with std.subscribe("*", lambda t, d: got.append(t)):
        std.method("ticker")(count(10))
        assert _wait(lambda: len(got) == 10)
    assert set(got) == {"tick"}


def test_callback_exception_goes_to_unraisablehook(std, unraisable):
    n = 0

    def cb(topic, data):
        nonlocal n
        n += 1
        raise RuntimeError("callback failed")

    with std.subscribe("tick", cb):
        std.method("ticker")(count(5))
        assert _wait(lambda: n == 5)
    assert _wait(lambda: len(unraisable) == 5)
    assert all(isinstance(u.exc_value, RuntimeError) for u in unraisable)
    assert unraisable[0].object is cb
    assert std.counters()["callback_errors"] == 5


def test_no_callback_after_unsubscribe_returns(std):
    calls = 0
    after = []
    unsubscribed = False

    def cb(topic, data):
        nonlocal calls
        calls += 1
        if unsubscribed:
            after.append(data)
        time.sleep(0.0005)

    sub = std.subscribe("tick", cb)
    std.method("ticker")(count(20000))
    assert _wait(lambda: calls > 50)
    sub.unsubscribe()
    unsubscribed = True
    at_unsubscribe = calls
    std.flush(60)  # every event emitted so far has been dispatched: none reached cb
    assert calls == at_unsubscribe
    assert after == []
    assert not sub.active


def test_unsubscribe_from_inside_the_callback(std):
    seen = []
    holder = {}

    def cb(topic, data):
        seen.append(data)
        holder["sub"].unsubscribe()

    holder["sub"] = std.subscribe("tick", cb)
    witnessed = []
    with std.subscribe("tick", lambda topic, data: witnessed.append(data)):
        std.method("ticker")(count(100))
        # No sleep decides it: all 100 events reached the witness and flush() returned, so every
        # delivery of them is over.
        assert _wait(lambda: len(witnessed) == 100)
        std.flush(60)
    assert len(seen) == 1
    assert not holder["sub"].active


def test_subscription_survives_dropping_its_handle(std):
    got = []
    std.subscribe("tick", lambda t, d: got.append(d))  # handle dropped at once
    std.method("ticker")(count(10))
    assert _wait(lambda: len(got) == 10)


def test_module_close_stops_deliveries(host):
    std = host.open("std")
    got = []
    sub = std.subscribe("tick", lambda t, d: got.append(d))
    std.close()
    assert not sub.active
    sub.unsubscribe()


def test_bad_subscriptions(std):
    with pytest.raises(TypeError):
        std.subscribe("tick", 42)
    with pytest.raises(bridgehost.InvalidArgumentError):
        std.subscribe("", lambda t, d: None)
    with pytest.raises(bridgehost.InvalidArgumentError):
        std.subscribe("x" * 200, lambda t, d: None)


def test_close_host_from_inside_a_callback():
    h = bridgehost.Host()
    std = h.open("std")
    done = threading.Event()

    def cb(topic, data):
        h.close()
        done.set()

    std.subscribe("tick", cb)
    std.method("ticker")(count(1000))
    assert done.wait(5)
    assert h.closed
