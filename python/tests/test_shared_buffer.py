"""``bridgehost.SharedBuffer``: memory an isolated worker reads in place (docs/PYTHON.md).

The worker sees exactly the buffer's bytes; Python cannot write the buffer while a call reads
it (``BufferError``), so the call can run with the GIL released without a copy; a worker cannot
write it either (a module writing its input crashes its worker, the bytes stay). ``close()``
(Java's ``close()``, C#'s ``Dispose()``) returns at once, even during a call reading the buffer:
the call finishes with its bytes and the memory goes when it returns; every later use is
``ClosedError``.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time

import pytest

import bridgehost
from conftest import await_inside, crc32c, faulty_available, gate


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


# --- close ----------------------------------------------------------------------------------


def shared_mappings() -> int:
    """How many SharedBuffer mappings this process has (the core names their memfds
    ``bridgehost-shared``): a closed buffer's memory is gone when its mapping is."""
    with open("/proc/self/maps") as f:
        return sum("bridgehost-shared" in line for line in f)


def test_close_is_idempotent_and_frees_the_memory():
    gc.collect()
    before = shared_mappings()
    buf = bridgehost.SharedBuffer(4096)
    assert not buf.closed and shared_mappings() == before + 1
    buf[0:2] = b"hi"
    assert buf.close() is None
    assert buf.closed and shared_mappings() == before, "close() unmapped the memory"
    buf.close()  # idempotent
    assert buf.closed
    assert repr(buf) == "SharedBuffer(4096 bytes, closed)"
    assert len(buf) == 4096, "the length still answers, as Java's length() and C#'s Length"
    del buf
    gc.collect()  # a collected closed buffer frees nothing twice
    assert shared_mappings() == before


def test_with_closes_the_buffer_also_on_an_exception():
    with bridgehost.SharedBuffer(16) as buf:
        assert isinstance(buf, bridgehost.SharedBuffer) and not buf.closed
        buf[0:5] = b"hello"
        assert buf[0:5] == b"hello"
    assert buf.closed
    with pytest.raises(KeyError):  # __exit__ returns None: the exception propagates
        with bridgehost.SharedBuffer(16) as other:
            raise KeyError("x")
    assert other.closed
    with buf:  # a closed buffer's with-statement closes nothing more
        pass
    assert buf.closed


def test_every_use_after_close_raises_closed_error(iso_host):
    buf = bridgehost.SharedBuffer(100_000)  # above 64 KiB: lent in place to a worker
    buf[:] = pattern(len(buf), 3)
    inproc = iso_host.open("std")
    iso = iso_host.open("std", isolation="process")
    for m in (inproc, iso):
        assert m.method("echo")(buf) == pattern(len(buf), 3)  # lent once before the close
    buf.close()
    uses = {
        "buf[i]": lambda: buf[0],
        "buf[-1]": lambda: buf[-1],
        "buf[i:j]": lambda: buf[1:5],
        "bytes(buf)": lambda: bytes(buf),
        "buf[i] = n": lambda: buf.__setitem__(0, 1),
        "buf[i:j] = data": lambda: buf.__setitem__(slice(0, 2), b"ab"),
        "other[:] = buf": lambda: bridgehost.SharedBuffer(len(buf)).__setitem__(slice(None), buf),
    }
    for m in (inproc, iso):
        echo = m.method("echo")
        uses[f"{m.isolation} call"] = lambda echo=echo: echo(buf)
        uses[f"{m.isolation} call_released"] = lambda echo=echo: echo.call_released(buf)
        uses[f"{m.isolation} call_into"] = lambda echo=echo: echo.call_into(buf, bytearray(len(buf)))
        # A refused submit is the future's exception, as in Java (submit(SharedBuffer)).
        uses[f"{m.isolation} submit"] = lambda echo=echo: echo.submit(buf).result(timeout=30)

        async def submit_async(echo=echo):
            return await echo.submit_async(buf)

        uses[f"{m.isolation} submit_async"] = lambda f=submit_async: asyncio.run(f())
        # The typed view takes a SharedBuffer for a list<u8>: closed is closed there too.
        view = m.typed()
        uses[f"{m.isolation} typed echo"] = lambda view=view: view.echo(buf)
    for what, use in uses.items():
        with pytest.raises(bridgehost.ClosedError, match="^closed: shared buffer is closed$"):
            use()
            pytest.fail(f"{what} did not raise")
    assert len(buf) == 100_000
    # The modules are unharmed: the isolated worker let the buffer go.
    for m in (inproc, iso):
        assert m.method("echo")(b"still here") == b"still here"
        assert m.method("echo")(pattern(len(buf), 4)) == pattern(len(buf), 4)


def test_close_during_a_call_returns_at_once_and_the_call_finishes(std):
    """Java's close() and C#'s Dispose(): the close returns while the call still reads the
    buffer; the call ends normally; the memory goes when it returns. Between the two, the buffer
    is closed (ClosedError, not BufferError, for a write)."""
    gc.collect()
    before = shared_mappings()
    key = b"sbclose"
    data = gate(key, 30_000)
    buf = bridgehost.SharedBuffer(len(data))
    buf[:] = data
    out = []
    t = threading.Thread(target=lambda: out.append(std.method("gate_wait")(buf)))
    t.start()
    try:
        assert await_inside(std, key, 1) == 1
        buf.close()  # returns at once: the call still holds the memory
        assert buf.closed and t.is_alive()
        assert shared_mappings() == before + 1, "the memory was freed under a running call"
        with pytest.raises(bridgehost.ClosedError):
            buf[0:1] = b"x"
        with pytest.raises(bridgehost.ClosedError):
            buf[0]
        with pytest.raises(bridgehost.ClosedError):
            std.method("echo")(buf)
        buf.close()
    finally:
        std.method("gate_open")(key)
        t.join(30)
    assert out == [b"\x01"], "the call ran to its end, released by gate_open"
    assert shared_mappings() == before, "the memory went when the call returned"


def test_close_during_an_isolated_call_returns_at_once(iso_host):
    """The same under process isolation: the call holds the buffer until its worker answers."""
    gc.collect()
    before = shared_mappings()
    std = iso_host.open("std", isolation="process")
    started = threading.Event()
    key = b"sbiso"
    with std.subscribe("gate", lambda _t, k: started.set() if k == key else None):
        data = gate(key, 500)  # no gate_open: the worker's only slot is busy; the timeout ends it
        buf = bridgehost.SharedBuffer(len(data))
        buf[:] = data
        out = []
        t = threading.Thread(target=lambda: out.append(std.method("gate_wait")(buf)))
        t.start()
        try:
            assert started.wait(30)
            buf.close()
            assert buf.closed
            if t.is_alive():
                assert shared_mappings() == before + 1, "the memory was freed under a running call"
            with pytest.raises(bridgehost.ClosedError):
                buf[0] = 1
        finally:
            t.join(30)
    assert out == [b"\x00"], "the call ran to its timeout"
    assert shared_mappings() == before


@pytest.mark.parametrize("isolation", ["in-process", "process"])
def test_closing_while_threads_call_with_the_buffer_never_crashes(iso_host, isolation):
    """Threads call with a 4 MiB buffer (read in place, by the worker too) while the main thread
    closes it: each call either returns the whole buffer's checksum or raises ClosedError."""
    m = iso_host.open("std", isolation=isolation, workers=2) if isolation == "process" else iso_host.open("std")
    checksum = m.method("checksum")
    for round_ in range(3):
        data = pattern(4 << 20, round_)
        want = checksum(data)
        buf = bridgehost.SharedBuffer(len(data))
        buf[:] = data
        results: list = []
        go = threading.Event()

        def caller():
            go.wait()
            while True:
                try:
                    results.append(checksum(buf))
                except bridgehost.ClosedError:
                    return

        threads = [threading.Thread(target=caller) for _ in range(3)]
        for t in threads:
            t.start()
        go.set()
        while not results:
            time.sleep(0.001)
        closers = [threading.Thread(target=buf.close) for _ in range(2)]
        for t in closers:
            t.start()
        buf.close()
        for t in closers + threads:
            t.join(60)
        assert buf.closed and results and all(r == want for r in results)
    assert checksum(b"123456789") == crc32c(b"123456789")
