"""100,000 calls leave Python allocations, reference counts and RSS flat."""

from __future__ import annotations

import gc
import sys
import tracemalloc

import pytest

import bridgehost

N = 100_000


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def _measure(fn, n=N):
    for _ in range(1000):  # warm up caches and free lists
        fn()
    gc.collect()
    tracemalloc.start()
    snap0 = tracemalloc.take_snapshot()
    objs0 = len(gc.get_objects())
    rss0 = _rss()
    for _ in range(n):
        fn()
    gc.collect()
    snap1 = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in snap1.compare_to(snap0, "filename") if s.size_diff > 0)
    return grown, len(gc.get_objects()) - objs0, _rss() - rss0


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "numpy"])
def test_calls_do_not_leak(std, kind):
    import numpy as np

    echo = std.method("echo")
    data = {
        "bytes": b"0123456789abcdef",
        "bytearray": bytearray(b"0123456789abcdef"),
        "numpy": np.arange(16, dtype=np.uint8),
    }[kind]
    refs = (sys.getrefcount(data), sys.getrefcount(echo))
    grown, objs, rss = _measure(lambda: echo(data))
    assert (sys.getrefcount(data), sys.getrefcount(echo)) == refs
    assert grown < 64 * 1024, f"Python allocations grew by {grown} bytes"
    assert objs < 100, f"{objs} more live objects"
    assert rss < 8 << 20, f"RSS grew by {rss} bytes"
    if kind == "bytearray":
        data.append(0)  # no export left behind


def test_errors_do_not_leak(std):
    fail = std.method("fail")

    def call():
        try:
            fail(b"")
        except bridgehost.ModuleError:
            pass

    grown, objs, rss = _measure(call)
    assert grown < 64 * 1024 and objs < 100 and rss < 8 << 20, (grown, objs, rss)


def test_submits_do_not_leak():
    # Two pool threads, both started by the warm-up: the default pool (64 threads, started on
    # demand) grows on a loaded machine during the measurement, and each new thread's first
    # completion adds a few Python objects (its thread state): 216 objects after 20,000 submits
    # in a CI run, bounded by the thread count, not a leak. The measurement is per call.
    with bridgehost.Host(submit_threads=2) as h:
        echo = h.open("std").method("echo")
        grown, objs, rss = _measure(lambda: echo.submit(b"x").result(), n=20_000)
    assert grown < 64 * 1024 and objs < 100 and rss < 8 << 20, (grown, objs, rss)


def test_callbacks_are_released_on_unsubscribe(std):
    import weakref

    class Cb:
        def __call__(self, topic, data):
            pass

    cb = Cb()
    ref = weakref.ref(cb)
    sub = std.subscribe("tick", cb)
    del cb
    assert ref() is not None, "the subscription keeps its callback alive"
    sub.unsubscribe()
    gc.collect()
    assert ref() is None, "unsubscribe released the callback"
