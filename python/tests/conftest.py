"""Shared fixtures.

The tests run against the *installed* package (``pip install ./python`` in a
fresh venv, see scripts/python.sh), whose wheel carries the std and zlib
modules beside the extension. The test-only ``faulty`` module is never
packed: it is found through ``BRIDGEHOST_MODULE_PATH`` (scripts/python.sh
points it at target/dist), and its tests skip when it is absent.
"""

from __future__ import annotations

import gc
import os
import struct
import sys
import threading

import pytest

import bridgehost


def ms(n: int) -> bytes:
    """Input of std.sleep_ms: the duration in milliseconds, decimal ASCII."""
    return str(n).encode()


def count(n: int) -> bytes:
    """Input of std.ticker: the number of events to emit, u32 little-endian."""
    return struct.pack("<I", n)


def gate(key: bytes, timeout_ms: int = 10_000) -> bytes:
    """Input of std.gate_wait: the timeout (u32 little-endian), then the key."""
    return struct.pack("<I", timeout_ms) + key


def await_inside(module, key: bytes, n: int, deadline_s: float = 30.0) -> int:
    """Poll std.gate_count(key) until ``n`` calls wait in std.gate_wait(key); the count seen."""
    import time

    counter = module.method("gate_count")
    end = time.monotonic() + deadline_s
    while True:
        inside = struct.unpack("<I", counter(key))[0]
        if inside >= n or time.monotonic() > end:
            return inside
        time.sleep(0.001)


def crc32c(data: bytes) -> bytes:
    """Reference CRC-32C (Castagnoli), big-endian, as std.checksum returns it."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return struct.pack(">I", crc ^ 0xFFFFFFFF)


@pytest.fixture
def host():
    with bridgehost.Host() as h:
        yield h


@pytest.fixture
def std(host):
    return host.open("std")


@pytest.fixture
def zlib(host):
    return host.open("zlib")


@pytest.fixture(autouse=True)
def _no_stray_threads_or_hosts():
    """Every test leaves no open host behind (they would leak threads)."""
    yield
    gc.collect()
    live, _dropped = bridgehost._native._debug_state()
    assert live == 0, f"{live} host(s) left open"


@pytest.fixture
def unraisable(monkeypatch):
    """Collect what reaches sys.unraisablehook."""
    seen = []
    lock = threading.Lock()

    def hook(u):
        with lock:
            seen.append(u)

    monkeypatch.setattr(sys, "unraisablehook", hook)
    return seen


def faulty_available() -> bool:
    for d in os.environ.get("BRIDGEHOST_MODULE_PATH", "").split(":"):
        if d and os.path.isfile(os.path.join(d, "libbridgehost_mod_faulty.so")):
            return True
    return False
