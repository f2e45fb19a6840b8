"""Calls, inputs, outputs and the error hierarchy."""

from __future__ import annotations

import array
import inspect
import os
import random

import numpy as np
import pytest

import bridgehost
from bridgehost import errors
from conftest import crc32c, faulty_available

DATA = b"0123456789abcdef"


def test_bundled_modules_open_by_name(host):
    std = host.open("std")
    assert std.name == "std"
    assert {"echo", "checksum", "sleep_ms", "ticker", "fail"} <= set(std.methods)
    assert std.thread_model in ("thread-safe", "serialized", "single-thread")
    assert std.isolation == "in-process"
    assert not std.closed
    assert std.host is host
    zlib = host.open("zlib")
    assert {"compress", "decompress"} <= set(zlib.methods)
    assert "std" in repr(std) and "in-process" in repr(std)


@pytest.mark.parametrize("isolation", ["in-process", "process"])
def test_interface_text_is_the_embedded_wit_and_answers_after_close(host, isolation):
    """``Module.interface_text``: C#'s ``Module.InterfaceText``, Java's ``interfaceText()``: the
    WIT text as embedded (what the typed view reads), ``None`` for a bytes-only module."""
    try:
        std = host.open("std", isolation=isolation)
    except (bridgehost.UnavailableError, bridgehost.NotFoundError) as e:
        pytest.skip(f"process isolation unavailable: {e}")
    text = std.interface_text
    assert isinstance(text, str) and text == std.typed().interface.text
    assert "interface" in text
    zlib = host.open("zlib", isolation=isolation)
    assert zlib.interface_text == zlib.typed().interface.text != text
    std.close()
    assert std.interface_text == text, "read at open: still answers after close, as name does"
    if faulty_available():  # the test-only faulty module is bytes-only
        faulty = host.open("faulty", isolation=isolation)
        assert faulty.interface_text is None
        faulty.close()
        assert faulty.interface_text is None


@pytest.mark.parametrize(
    "make",
    [
        bytes,
        bytearray,
        memoryview,
        lambda b: memoryview(b"xx" + b + b"yy")[2:-2],
        lambda b: np.frombuffer(b, dtype=np.uint8).copy(),
        lambda b: np.frombuffer(b, dtype=np.uint8).reshape(4, 4).copy(),
        lambda b: array.array("B", b),
    ],
    ids=["bytes", "bytearray", "memoryview", "memoryview-slice", "numpy", "numpy-2d", "array"],
)
def test_echo_accepts_any_contiguous_buffer(std, make):
    echo = std.method("echo")
    out = echo(make(DATA))
    assert type(out) is bytes
    assert out == DATA
    assert echo.call(make(DATA)) == DATA
    assert echo.call_released(make(DATA)) == DATA


def test_empty_input(std):
    assert std.method("echo")(b"") == b""
    assert std.method("echo")(bytearray()) == b""
    assert std.method("echo")(np.zeros(0, dtype=np.uint8)) == b""


def test_call_methods_keep_their_signature_and_argument_errors(std):
    """``call`` and ``call_released`` are METH_O methods (py-bridge/src/vectorcall.rs): the
    same name, docstring, text signature and errors as the PyO3 methods they replace."""
    Method = bridgehost.Method
    for name in ("call", "call_released"):
        f = getattr(Method, name)
        assert f.__name__ == name
        assert f.__text_signature__ == "($self, data, /)"
    assert Method.call.__doc__ == "Call on this thread and return the output as ``bytes``."
    assert Method.call_released.__doc__.startswith("Like ``call`` but always releases the GIL")
    echo = std.method("echo")
    for call in (echo.call, echo.call_released):
        with pytest.raises(TypeError, match="exactly one argument"):
            call()
        with pytest.raises(TypeError, match="exactly one argument"):
            call(DATA, DATA)
        with pytest.raises(TypeError, match="keyword"):
            call(data=DATA)
        with pytest.raises(TypeError, match="bytes-like"):
            call(5)
        # Unbound, through the class: the descriptor refuses another type's instance.
        with pytest.raises(TypeError, match="Method"):
            getattr(Method, call.__name__)(object(), DATA)
        assert getattr(Method, call.__name__)(echo, DATA) == DATA
    # method(data): a vectorcall entry (the object is an instance of a subclass of Method made
    # for it), the same checks.
    assert isinstance(echo, Method) and type(echo).__name__ == "Method"
    assert echo(DATA) == DATA
    assert echo(*[DATA]) == DATA
    with pytest.raises(TypeError, match=r"exactly one argument \(0 given\)"):
        echo()
    with pytest.raises(TypeError, match=r"exactly one argument \(2 given\)"):
        echo(DATA, DATA)
    with pytest.raises(TypeError, match="keyword"):
        echo(data=DATA)
    with pytest.raises(TypeError, match="bytes-like"):
        echo(5)
    with pytest.raises(TypeError, match="No constructor defined for Method"):
        Method()
    with pytest.raises(TypeError, match="No constructor defined for Method"):
        type(echo)()
    with pytest.raises(TypeError, match="No constructor defined for Method"):
        Method(DATA, key=1)
    assert str(inspect.signature(echo)) == "(data, /)"
    assert repr(echo) == "<bridgehost.Method std.echo>"
    echo.close()
    assert repr(echo) == "<bridgehost.Method std.echo closed>"
    for call in (echo, echo.call, echo.call_released):
        with pytest.raises(bridgehost.ClosedError):
            call(DATA)


def test_any_itemsize_is_read_as_raw_bytes(std):
    a = np.arange(1000, dtype=np.float64)
    assert std.method("checksum")(a) == crc32c(a.tobytes())


@pytest.mark.parametrize(
    "make",
    [
        lambda: memoryview(bytes(range(64)))[::2],
        lambda: np.arange(64, dtype=np.uint8)[::3],
        lambda: np.asfortranarray(np.arange(64, dtype=np.uint8).reshape(8, 8)),
        lambda: np.arange(64, dtype=np.uint8).reshape(8, 8)[:, 1:3],
    ],
    ids=["memoryview-step", "numpy-step", "numpy-fortran", "numpy-columns"],
)
def test_non_contiguous_input_is_a_clear_error(std, make):
    with pytest.raises(bridgehost.InvalidArgumentError, match="C-contiguous"):
        std.method("echo")(make())


@pytest.mark.parametrize("bad", ["text", 12, None, 1.5, [1, 2]])
def test_non_buffer_input_is_a_type_error(std, bad):
    with pytest.raises(TypeError, match="bytes-like"):
        std.method("echo")(bad)


def test_checksum_known_vector(std):
    assert std.method("checksum")(b"123456789").hex() == "e3069283"
    blob = os.urandom(100_000)
    assert std.method("checksum")(blob) == crc32c(blob)


def test_zlib_round_trip(zlib):
    rnd = random.Random(7)
    data = bytes(rnd.choice(b"abcdefgh ") for _ in range(200_000))
    packed = zlib.method("compress")(data)
    assert len(packed) < len(data) // 2
    assert zlib.method("decompress")(packed) == data


def test_large_output_round_trip(std):
    blob = os.urandom(5 << 20)  # > the 1 MiB threshold for GIL-released copies
    assert std.method("echo")(blob) == blob


def test_module_error_carries_code(std):
    with pytest.raises(bridgehost.ModuleError) as ei:
        std.method("fail")(b"")
    assert ei.value.code == 42
    assert isinstance(ei.value, bridgehost.BridgeHostError)
    assert ei.value.kind == "module"


def test_module_panic_is_a_typed_error_not_a_crash(std):
    with pytest.raises(bridgehost.BridgeHostError):
        std.method("panic")(b"boom")
    assert std.method("echo")(b"still alive") == b"still alive"


def test_not_found(host, std):
    with pytest.raises(bridgehost.NotFoundError) as ei:
        std.method("no_such_method")
    assert isinstance(ei.value, LookupError)
    with pytest.raises(bridgehost.NotFoundError):
        host.open("no_such_module_xyz")


def test_not_a_module_is_an_abi_mismatch(host):
    # The extension itself is a shared library without the module entry symbol.
    with pytest.raises(bridgehost.AbiMismatchError):
        host.open(bridgehost._native.__file__)


def test_rust_panic_is_internal_error_not_panic_exception():
    with pytest.raises(bridgehost.InternalError, match="boom") as ei:
        bridgehost._native._debug_panic("boom")
    assert isinstance(ei.value, Exception)


def test_hierarchy():
    kinds = {}
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, bridgehost.BridgeHostError)
        assert getattr(bridgehost, name) is cls
        if cls is not bridgehost.BridgeHostError:
            kinds[cls.kind_code] = cls
    assert sorted(kinds) == list(range(1, 17)), "one class per core error kind"
    assert issubclass(bridgehost.InvalidArgumentError, ValueError)
    assert issubclass(bridgehost.NotFoundError, LookupError)
    import builtins

    assert issubclass(bridgehost.TimeoutError, builtins.TimeoutError)
    e = errors._from_native(5, "worker crashed", 11)
    assert isinstance(e, bridgehost.WorkerCrashedError) and e.signal == 11
    e = errors._from_native(12, "exited", 3)
    assert isinstance(e, bridgehost.WorkerExitedError) and e.status == 3
    e = errors._from_native(99, "future kind", 0)
    assert isinstance(e, bridgehost.InternalError)


def test_call_into(std):
    echo = std.method("echo")
    out = bytearray(64)
    n = echo.call_into(DATA, out)
    assert n == len(DATA) and out[:n] == DATA
    small = bytearray(4)
    with pytest.raises(bridgehost.BufferTooSmallError) as ei:
        echo.call_into(DATA, small)
    assert ei.value.required == len(DATA)
    exact = np.zeros(len(DATA), dtype=np.uint8)
    assert echo.call_into(DATA, exact) == len(DATA)
    assert exact.tobytes() == DATA


def test_call_into_refuses_read_only_and_overlapping_outputs(std):
    echo = std.method("echo")
    with pytest.raises(BufferError):
        echo.call_into(DATA, b"\0" * 64)
    buf = bytearray(64)
    with pytest.raises(bridgehost.InvalidArgumentError, match="overlap"):
        echo.call_into(memoryview(buf)[:16], memoryview(buf)[8:])
    # Disjoint halves of one buffer are fine.
    buf[:16] = DATA
    assert echo.call_into(memoryview(buf)[:16], memoryview(buf)[32:]) == 16
    assert buf[32:48] == DATA


def test_method_reprs_and_properties(std):
    echo = std.method("echo")
    assert echo.name == "echo"
    assert echo.module.name == "std"
    assert "std.echo" in repr(echo)
    assert isinstance(echo.nonblocking, bool)
    # The GIL is kept only for methods the module declares non-blocking.
    assert echo.keeps_gil == (echo.nonblocking and std.thread_model == "thread-safe")
    assert not std.method("sleep_ms").keeps_gil


def test_counters(std, host):
    std.method("echo")(b"x")
    with pytest.raises(bridgehost.ModuleError):
        std.method("fail")(b"")
    c = std.counters()
    assert c["calls"] >= 2 and c["errors"] >= 1
    assert host.counters()["calls"] >= 2
    assert set(c) >= {"calls", "errors", "events_dropped", "callback_errors", "submits"}


def test_zlib_errors_and_crc32(zlib):
    with pytest.raises(bridgehost.ModuleError) as ei:
        zlib.method("decompress")(b"definitely not a zlib stream")
    assert ei.value.code != 0
    packed = zlib.method("compress")(b"x" * 1000)
    with pytest.raises(bridgehost.ModuleError):
        zlib.method("decompress")(packed[:-6])  # truncated
    assert zlib.method("crc32")(b"123456789").hex() == "cbf43926"


def test_decompression_bomb_is_bounded_by_max_output(host):
    zlib = host.open("zlib", max_output=1 << 20)
    bomb = zlib.method("compress")(bytes(64 << 20))
    with pytest.raises(bridgehost.ResourceLimitError):
        zlib.method("decompress")(bomb)


def test_names_utf8_cannot_hold_are_typed_errors(host, std):
    # A str with an unpaired surrogate is a valid Python str that UTF-8 cannot hold: as
    # an argument it is InvalidArgumentError naming it (was a bare UnicodeEncodeError),
    # and as a name looked up it is simply not found.
    bad = "std\ud800"
    with pytest.raises(bridgehost.InvalidArgumentError, match="spec is not valid Unicode"):
        host.open(bad)
    with pytest.raises(bridgehost.InvalidArgumentError, match="name is not valid Unicode"):
        std.method("echo\ud800")
    with pytest.raises(bridgehost.InvalidArgumentError, match="topic is not valid Unicode"):
        std.subscribe("tick\ud800", lambda t, d: None)
    with pytest.raises(bridgehost.InvalidArgumentError, match="thread_name is not valid Unicode"):
        bridgehost.Host(thread_name="w\ud800")
    view = std.typed()
    assert not hasattr(view, "add\ud800")
    with pytest.raises(bridgehost.NotFoundError):
        view.function("add\ud800")
    with pytest.raises(bridgehost.NotFoundError):
        view.subscribe("tick\ud800", lambda t, v: None)
    assert std.method("echo")(b"ok") == b"ok"


def test_submit_returns_the_public_submit_future(std):
    """``bridgehost.SubmitFuture`` (docs/SYMMETRY.md, noun ``task``) is what ``submit`` returns: a
    ``concurrent.futures.Future`` callers can name in ``isinstance`` checks and annotations."""
    import concurrent.futures

    f = std.method("echo").submit(b"x")
    assert isinstance(f, bridgehost.SubmitFuture) and isinstance(f, concurrent.futures.Future)
    assert f.result(timeout=30) == b"x"
    assert "SubmitFuture" in bridgehost.__all__
