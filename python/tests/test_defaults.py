"""Issue 12: every default is readable (item 8); unsubscribe counts what it discards (item 4)."""

from __future__ import annotations

import threading

import bridgehost
from bridgehost import _native


def test_defaults_come_from_the_core_and_are_the_documented_ones():
    d = bridgehost.defaults()
    assert d == {
        "submit_threads": 64,
        "submit_queue_capacity": 4096,
        "event_queue_capacity": 65536,
        "event_queue_bytes": 64 << 20,
        "thread_name": "bridgehost",
        "workers": 1,
        "call_timeout": None,
        "memory_limit": None,
        "max_input": 256 << 20,
        "max_output": 256 << 20,
        "max_event": 1 << 20,
    }
    # The constants are the extension's (read from the core when it loaded), not copies.
    assert bridgehost.DEFAULT_MAX_INPUT is _native.DEFAULT_MAX_INPUT
    assert bridgehost.DEFAULT_SUBMIT_THREADS == _native.DEFAULT_SUBMIT_THREADS == 64
    # The defaults are valid options as they are.
    host_opts = {k: d[k] for k in ("submit_threads", "submit_queue_capacity", "event_queue_capacity", "event_queue_bytes", "thread_name")}
    mod_opts = {k: d[k] for k in ("workers", "max_input", "max_output", "max_event")}
    with bridgehost.Host(**host_opts) as h:
        assert h.open("std", **mod_opts).method("echo")(b"abc") == b"abc"


def test_unsubscribe_counts_the_queued_events_it_discards(host):
    m = host.open("std")
    emit = m.method("emit")
    entered = threading.Event()
    go = threading.Event()
    holder = {}

    def cb(topic, data):
        entered.set()
        go.wait(30)
        holder["sub"].unsubscribe()  # from inside its own callback

    holder["sub"] = m.subscribe("t", cb)
    emit(b"t\0first")
    assert entered.wait(30)
    for _ in range(10):
        emit(b"t\0queued")
    go.set()
    m.flush(30)
    c = m.counters()
    assert c["events_emitted"] == 11
    assert c["events_delivered"] == 1
    assert c["events_discarded"] == 10
    assert c["events_refused"] == 0
    assert host.counters()["events_discarded"] == 10
