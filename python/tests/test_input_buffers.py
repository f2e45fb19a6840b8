"""Soundness of input buffers (issue 17 item 1).

A call must not read a buffer another thread can write meanwhile through a
Rust reference: mutable inputs (bytearray, writable memoryview, numpy) are
copied first (volatile loads: a writer that does not hold the GIL, such as
numpy's own copy loops, can still write during the copy), and call_into's
output is copied in the same way; immutable inputs (bytes, memoryview of
bytes) are still read in place.
"""

from __future__ import annotations

import threading

import pytest

import bridgehost
from bridgehost import _native

SIZE = 1 << 20  # echo copies 1 MiB without the GIL: a wide window for a torn read
A = b"A" * SIZE
B = b"B" * SIZE


def _same(buf):
    return buf


def _race(method, make_input, calls=500, size=SIZE):
    """Run `calls` calls on `make_input(buf)` while another thread rewrites the
    buffer between two fillings; return the outputs that were neither."""
    a, b = b"A" * size, b"B" * size
    buf = bytearray(a)
    arg = make_input(buf)
    stop = threading.Event()
    started = threading.Event()

    def writer():
        started.set()
        while not stop.is_set():
            buf[:] = b  # same size: allowed while the buffer is exported
            buf[:] = a

    t = threading.Thread(target=writer)
    t.start()
    started.wait()
    torn = []
    try:
        for _ in range(calls):
            out = method(arg)
            if out != a and out != b:
                torn.append(out)
    finally:
        stop.set()
        t.join()
    return torn


@pytest.mark.parametrize(
    "make_input",
    [_same, memoryview, lambda b: memoryview(b).toreadonly()],
    ids=["bytearray", "memoryview", "readonly-memoryview-of-bytearray"],
)
def test_writable_input_is_copied_before_the_gil_is_released(std, make_input):
    # Without the copy (checked by making buffer.rs borrow every exporter)
    # this sees torn outputs: echo reads while the writer thread memcpys.
    echo = std.method("echo")
    assert _race(echo, make_input) == []
    assert _race(echo.call_released, make_input, calls=200) == []


def test_writable_input_of_call_into_is_copied(std):
    echo = std.method("echo")
    out = bytearray(SIZE)
    torn = _race(lambda arg: bytes(out[: echo.call_into(arg, out)]), _same, calls=300)
    assert torn == []


def test_writable_input_of_submit_is_copied(std):
    # Over 1 MiB: an immutable input this large is copied without the GIL.
    echo = std.method("echo")
    submit = lambda arg: echo.submit(arg).result()  # noqa: E731
    assert _race(submit, _same, calls=200, size=4 * SIZE) == []


def test_numpy_input_is_copied(std):
    np = pytest.importorskip("numpy")
    echo = std.method("echo")
    arr = np.frombuffer(bytearray(A), dtype=np.uint8)
    assert not _native._input_is_borrowed(arr)
    assert echo(arr) == A


def test_only_immutable_inputs_are_borrowed():
    assert _native._input_is_borrowed(b"x")
    assert _native._input_is_borrowed(memoryview(b"abc"))
    assert _native._input_is_borrowed(memoryview(b"abcdef")[1:4])
    # read-only flag, but the memory is still written through the bytearray
    assert not _native._input_is_borrowed(memoryview(bytearray(b"x")).toreadonly())
    assert not _native._input_is_borrowed(bytearray(b"x"))
    assert not _native._input_is_borrowed(memoryview(bytearray(b"x")))


def test_read_only_buffers_still_work(std):
    echo = std.method("echo")
    data = bytes(range(256)) * 64
    view = memoryview(data)
    assert echo(view) == data
    assert echo.call_released(view[16:4096]) == data[16:4096]
    assert echo.submit(view).result() == data
    out = bytearray(len(data))
    assert echo.call_into(view, out) == len(data) and out == data


def test_call_into_too_small_after_released_call(std):
    # The released path writes into a scratch buffer: the size error keeps
    # reporting the required size and leaves `out` untouched.
    sleep_echo = std.method("echo")
    out = bytearray(b"z" * 8)
    with pytest.raises(bridgehost.BufferTooSmallError) as e:
        sleep_echo.call_into(bytearray(4096), out)
    assert e.value.required == 4096
    assert out == b"z" * 8


def test_a_writer_without_the_gil_never_breaks_a_call(std):
    # numpy copies large arrays with the GIL released, so holding the GIL does not keep it out:
    # the input array and call_into's output array are rewritten by np.copyto during calls of
    # every form (GIL kept or released). The copies may see a mix of the two fillings (the
    # caller wrote during the call), but every byte is one of them and nothing crashes.
    np = pytest.importorskip("numpy")
    echo = std.method("echo")
    size = 1 << 20
    fa, fb = np.full(size, 0xAA, np.uint8), np.full(size, 0x55, np.uint8)
    arr, out = fa.copy(), fb.copy()
    sa, sb = fa[:2048], fb[:2048]
    small = sa.copy()  # within KEEP_GIL_MAX_INPUT: the call keeps the GIL
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            np.copyto(arr, fa)
            np.copyto(out, fb)
            np.copyto(small, sa)
            np.copyto(arr, fb)
            np.copyto(out, fa)
            np.copyto(small, sb)

    def valid(b: bytes) -> bool:
        return not bytes(b).translate(None, b"\xaa\x55")

    t = threading.Thread(target=writer)
    t.start()
    try:
        for _ in range(100):
            assert valid(echo(arr))
            assert valid(echo.call_released(arr))
            assert valid(echo(small))
            assert valid(echo.submit(arr).result())
            n = echo.call_into(small, out)
            assert n == 2048
    finally:
        stop.set()
        t.join()
    assert valid(out[:2048].tobytes())
