"""``bridgehost.SharedBuffer``: memory an isolated worker reads in place (docs/PYTHON.md).

The worker sees exactly the buffer's bytes; Python cannot write the buffer while a call reads
it (``BufferError``), so the call can run with the GIL released without a copy; a worker cannot
write it either (a module writing its input crashes its worker, the bytes stay).
"""

from __future__ import annotations

import threading

import pytest

import bridgehost
from conftest import faulty_available


@pytest.fixture
def iso_host():
    with bridgehost.Host() as h:
        try:
            h.open("std", isolation="process").close()
        except (bridgehost.UnavailableError, bridgehost.NotFoundError) as e:
            pytest.skip(f"process isolation unavailable: {e}")
        yield h


def pattern(n: int, seed: int) -> bytes:
    return bytes((i * 131 + seed) % 256 for i in range(n))


def test_calls_read_the_buffer_exactly_in_both_modes(iso_host):
    iso = iso_host.open("std", isolation="process")
    inproc = iso_host.open("std")
    buf = bridgehost.SharedBuffer((1 << 20) + 3)
    assert len(buf) == (1 << 20) + 3
    assert bytes(buf) == bytes(len(buf)), "a new buffer reads as zeroes"
    for seed in (1, 2):
        data = pattern(len(buf), seed)
        buf[:] = data
        assert bytes(buf) == data and buf[5] == data[5] and buf[-1] == data[-1]
        assert buf[10:20] == data[10:20]
        for m in (iso, inproc):
            assert m.method("echo")(buf) == data
            assert m.method("checksum")(buf) == inproc.method("checksum")(data)
            assert m.method("echo").call_released(buf) == data
            out = bytearray(len(buf))
            assert m.method("echo").call_into(buf, out) == len(buf) and out == data
            assert m.method("echo").submit(buf).result(timeout=30) == data
    buf[7] = 255
    assert buf[7] == 255
    buf[100:104] = b"abcd"
    assert buf[100:104] == b"abcd"


def test_bad_lengths_indices_and_values_are_typed_errors():
    with pytest.raises(bridgehost.InvalidArgumentError, match="0 bytes"):
        bridgehost.SharedBuffer(0)
    with pytest.raises(bridgehost.InvalidArgumentError, match="-5 bytes"):
        bridgehost.SharedBuffer(-5)
    for huge in (1 << 60, 1 << 64, 1 << 200):
        with pytest.raises(bridgehost.ResourceLimitError, match="this machine's memory"):
            bridgehost.SharedBuffer(huge)
    with pytest.raises(bridgehost.InvalidArgumentError, match="at least 1"):
        bridgehost.SharedBuffer(-(1 << 70))
    for not_int in (2.5, "10", None, b"1"):
        with pytest.raises(TypeError):
            bridgehost.SharedBuffer(not_int)  # type: ignore[arg-type]
    assert len(bridgehost.SharedBuffer(length=3)) == 3
    buf = bridgehost.SharedBuffer(10)
    with pytest.raises(IndexError):
        buf[10]
    with pytest.raises(IndexError):
        buf[-11] = 1
    with pytest.raises(IndexError):
        buf[::2]
    with pytest.raises(TypeError):
        buf["a"]
    with pytest.raises(IndexError):
        buf[1 << 70]
    with pytest.raises(bridgehost.InvalidArgumentError, match="0..=255"):
        buf[0] = 256
    for not_int in (2.0, None, "a", b"a"):
        with pytest.raises(TypeError):
            buf[0] = not_int
    with pytest.raises(bridgehost.InvalidArgumentError, match="length is fixed"):
        buf[0:3] = b"ab"
    with pytest.raises(TypeError):
        buf[0:1] = "x"
    assert buf[8:100] == b"\0\0", "slices clamp like bytes slices"
    with pytest.raises(BufferError, match="from itself"):
        buf[:] = buf  # no &mut over the bytes being read
    other = bridgehost.SharedBuffer(10)
    other[:] = b"0123456789"
    buf[:] = other  # another SharedBuffer is a value like any bytes-like object
    assert bytes(buf) == b"0123456789"
    buf[:] = bytes(buf)
    assert repr(buf) == "SharedBuffer(10 bytes)"


def test_python_cannot_write_the_buffer_while_a_call_reads_it(iso_host):
    """A thread writes the buffer while another calls with it (GIL released): every write
    during a call is refused with BufferError, every call sees one whole pattern."""
    m = iso_host.open("std", isolation="process")
    echo = m.method("echo")
    n = 4 << 20
    buf = bridgehost.SharedBuffer(n)
    patterns = [bytes([k]) * n for k in range(4)]
    buf[:] = patterns[0]
    stop = threading.Event()
    refused = [0]
    written = [0]

    def writer():
        k = 0
        while not stop.is_set():
            k = (k + 1) % 4
            try:
                buf[:] = patterns[k]
                written[0] += 1
            except BufferError:
                refused[0] += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        for _ in range(60):
            out = echo(buf)
            assert out in patterns, "a call saw a buffer changed under it"
    finally:
        stop.set()
        t.join()
    assert refused[0] > 0, "no write was ever attempted during a call"


@pytest.mark.skipif(not faulty_available(), reason="faulty test module not staged")
def test_a_worker_cannot_write_the_buffer(iso_host):
    m = iso_host.open("faulty", isolation="process")
    buf = bridgehost.SharedBuffer(1 << 20)
    data = pattern(len(buf), 9)
    buf[:] = data
    with pytest.raises(bridgehost.WorkerCrashedError):
        m.method("scribble_input")(buf)
    assert bytes(buf) == data
    # A copied input is the worker's own: it may write it, the caller's bytes stay.
    copy = bytearray(data)
    assert m.method("scribble_input")(copy) == b"scribbled"
    assert copy == data


def test_parent_and_child_share_the_bytes_after_fork():
    """docs/PYTHON.md: a SharedBuffer is shared memory, not copy-on-write across fork."""
    import os

    buf = bridgehost.SharedBuffer(4096)
    pid = os.fork()
    if pid == 0:  # the child: write, and leave without running any cleanup
        try:
            buf[0:3] = b"kid"
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    assert buf[0:3] == b"kid"


def test_submit_refuses_an_input_over_max_input_before_copying_it():
    """A 300 MiB buffer, untouched (its pages are not allocated), submitted to a method whose
    max_input is 16 MiB: the future fails with ResourceLimitError, and the input was neither
    copied nor read (reading would allocate its pages), so RSS stays flat."""

    def rss_kib() -> int:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    with bridgehost.Host() as host:
        m = host.open("std", max_input=16 << 20)
        big = bridgehost.SharedBuffer(300 << 20)
        before = rss_kib()
        fut = m.method("echo").submit(big)
        with pytest.raises(bridgehost.ResourceLimitError, match="max_input"):
            fut.result(timeout=30)
        grown = rss_kib() - before
        assert grown < 100 << 10, f"RSS grew {grown} KiB: the input was copied or read"
        small = bridgehost.SharedBuffer(1 << 20)
        assert m.method("echo").submit(small).result(timeout=30) == bytes(1 << 20)
