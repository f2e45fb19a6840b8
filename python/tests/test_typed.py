"""Typed calls without a codegen step: ``Module.typed()`` and ``bridgehost.typed``.

The conversion Python <-> the interface crate's values runs in the extension, checks in the
interface crate; these tests prove the Python mapping of docs/TYPED.md end to end: the golden
vectors through a real module (both isolation modes), every type at its edges, typed errors
naming the parameter, ``result<T, E>`` raised as ``TypedModuleError``, hostile module output,
std's typed methods, and the asyncio form.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import math
import re
import struct
import sys
import threading
import typing

import pytest

import bridgehost
from bridgehost.typed import Err, Interface, Ok, Some, Variant

import typed_fixture as fx
from conftest import faulty_available

ISOLATIONS = ["in-process", "process"]

needs_cc = pytest.mark.skipif(not fx.can_build(), reason="no C compiler or header (source checkout)")


# --- std ---------------------------------------------------------------------------------


@pytest.fixture(params=ISOLATIONS)
def std_view(request, host):
    return host.open("std", isolation=request.param).typed()


def test_std_add_crc_echo_in_both_modes(std_view):
    assert std_view.add(2, 3) == 5
    assert std_view.add(4_000_000_000, 300_000_000) == 5032704  # the module adds modulo 2**32
    assert std_view.add(0xFFFFFFFF, 0) == 0xFFFFFFFF
    assert std_view.crc32c(b"123456789") == 0xE3069283
    assert std_view.crc32c(bytearray(b"123456789")) == 0xE3069283
    assert std_view.crc32c(memoryview(b"123456789")) == 0xE3069283
    assert std_view.echo(b"") == b""
    big = bytes(range(256)) * 4096  # 1 MiB
    assert std_view.echo(big) == big
    assert std_view.echo([1, 2, 255]) == b"\x01\x02\xff"
    assert std_view.sleep(0) is None


def test_std_stats_record_and_option(std_view):
    s = std_view.stats([1.5, -2, 7])
    assert dataclasses.is_dataclass(s)
    assert type(s) is std_view.types.Summary
    assert (s.count, s.min, s.max) == (3, -2.0, 7.0)
    assert s.mean == pytest.approx(6.5 / 3)
    assert s == std_view.types.Summary(count=3, min=-2.0, max=7.0, mean=s.mean)
    assert std_view.stats([]) is None
    nan = std_view.stats([float("nan")])
    assert nan.count == 1 and math.isnan(nan.mean)
    # A NaN makes min and max NaN too (they read inf and -inf for [nan], 1.0 for [1.0, nan]).
    assert math.isnan(nan.min) and math.isnan(nan.max)
    mixed = std_view.stats([1.0, float("nan"), 3.0])
    assert mixed.count == 3 and all(math.isnan(x) for x in (mixed.min, mixed.max, mixed.mean))
    assert std_view.stats((-0.0,)).min == 0.0 and math.copysign(1, std_view.stats([-0.0]).min) == -1


def test_std_tick_events_with_option_string(host):
    std = host.open("std")
    view = std.typed()
    got = []
    done = threading.Event()

    def on(topic, data):
        got.append((topic, struct.unpack("<Q", data)[0]))
        if len(got) == 2:
            done.set()

    with std.subscribe("typed-tick", on):
        assert view.tick(2, interval_ms=1, topic="typed-tick") is None  # interval-ms
        assert done.wait(30)
    assert got == [("typed-tick", 0), ("typed-tick", 1)]
    # A record decodes through the module's interface without a call.
    assert view.interface.decode("summary", struct.pack("<Iddd", 1, 1.0, 1.0, 1.0)).count == 1


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_typed_view_subscribe_decodes_payloads(host, isolation):
    std = host.open("std", isolation=isolation)
    view = std.typed()
    assert view.events == ["tick"]
    got = []
    done = threading.Event()

    def on(topic, value):
        got.append((topic, value))
        if len(got) == 3:
            done.set()

    # std's ticker emits from its own thread after tick() returned: wait for the third.
    with view.subscribe("tick", on):
        view.tick(3, interval_ms=1, topic=None)
        assert done.wait(30)
    assert got == [("tick", 0), ("tick", 1), ("tick", 2)]
    with pytest.raises(bridgehost.NotFoundError, match=r'event "tock" in interface std \(it declares: tick\)'):
        view.subscribe("tock", print)
    with pytest.raises(TypeError, match="callable"):
        view.subscribe("tick", 5)
    # A payload that does not decode (3 bytes for a u64, sent through std's bytes "emit") is
    # AbiMismatchError in the delivery: sys.unraisablehook, callback_errors, no callback.
    seen, raised = [], []
    old = sys.unraisablehook
    sys.unraisablehook = lambda u: raised.append(u.exc_value)
    try:
        before = std.counters()["callback_errors"]
        with view.subscribe("tick", lambda topic, value: seen.append(value)):
            std.method("emit").call(b"tick\x00abc")
            std.method("emit").call(b"tick\x00" + struct.pack("<Q", 9))
            std.flush(30)
    finally:
        sys.unraisablehook = old
    assert seen == [9]
    assert len(raised) == 1 and isinstance(raised[0], bridgehost.AbiMismatchError), raised
    assert "event tick does not match its interface" in str(raised[0])
    assert std.counters()["callback_errors"] == before + 1
    std.close()


def test_std_argument_errors_name_the_parameter(std_view):
    with pytest.raises(TypeError, match=r"add takes 2 argument\(s\) \(a: u32, b: u32\), got 1"):
        std_view.add(1)
    with pytest.raises(TypeError, match="got 3"):
        std_view.add(1, 2, 3)
    with pytest.raises(bridgehost.InvalidArgumentError, match=r"parameter b: -1 \(int\) is out of range for u32"):
        std_view.add(1, -1)
    with pytest.raises(ValueError, match="parameter a: 4294967296 .* out of range for u32"):
        std_view.add(2**32, 1)
    with pytest.raises(ValueError, match="out of range for u32"):
        std_view.add(2**200, 1)
    with pytest.raises(TypeError, match=r"parameter b: expected u32, got '2' \(str\)"):
        std_view.add(1, "2")
    with pytest.raises(TypeError, match="parameter a: expected u32, got True"):
        std_view.add(True, 1)
    with pytest.raises(TypeError, match="parameter a: expected u32, got 1.0"):
        std_view.add(1.0, 1)
    with pytest.raises(TypeError, match="parameter values: element 1: expected f64"):
        std_view.stats([1.0, "x"])
    with pytest.raises(TypeError, match="parameter values: expected list<f64>"):
        std_view.stats(1.0)
    # An int no f64 holds is a value error of the argument (was a bare OverflowError).
    with pytest.raises(
        bridgehost.InvalidArgumentError,
        match=r"parameter values: element 0: 1000+\.\.\. \(int\) is out of range for f64: int too large",
    ):
        std_view.stats([10**400])
    # A buffer whose bytes cannot be taken names the parameter too.
    with pytest.raises(
        bridgehost.InvalidArgumentError, match="parameter data: .*must be a C-contiguous buffer"
    ):
        std_view.crc32c(memoryview(b"abcdef")[::2])
    with pytest.raises(TypeError, match="parameter data: expected list<u8>"):
        std_view.echo("text")
    with pytest.raises(ValueError, match="parameter data: element 1: 256 .* out of range for u8"):
        std_view.echo([1, 256])
    with pytest.raises(bridgehost.InvalidArgumentError, match="parameter topic: .* not valid Unicode"):
        std_view.tick(0, 0, "bad \ud800 surrogate")
    # By name, with Python's rules; values given by name are checked and named the same way.
    assert std_view.add(2, b=3) == 5 and std_view.add(b=3, a=2) == 5
    assert std_view.add.submit(a=20, b=22).result(timeout=30) == 42
    with pytest.raises(TypeError, match='add got multiple values for argument "a"'):
        std_view.add(1, a=2)
    with pytest.raises(TypeError, match='add got an unexpected keyword argument "c"'):
        std_view.add(1, c=2)
    with pytest.raises(TypeError, match=r'add missing argument "a" \(a: u32, b: u32\)'):
        std_view.add(b=2)
    with pytest.raises(bridgehost.InvalidArgumentError, match="parameter b: -1"):
        std_view.add(a=1, b=-1)
    with pytest.raises(AttributeError, match='has no function "nope"'):
        std_view.nope
    with pytest.raises(bridgehost.NotFoundError):
        std_view.function("nope")
    # A refused call never reached the module: the counters saw only the good ones.
    assert std_view.add(1, 1) == 2


def test_std_view_surface(host):
    std = host.open("std")
    view = std.typed()
    assert view.functions == [
        "echo", "add", "crc32c", "sleep", "tick", "stats", "echo-string", "echo-points",
    ]
    assert {"add", "stats", "tick", "echo_string", "echo_points"} <= set(dir(view))
    assert view.echo_string("𝄞 astral") == "𝄞 astral"
    pts = [view.types.Point(x=1.5, y=-0.0, label="😀"), view.types.Point(x=0.0, y=2.0, label="")]
    assert view.echo_points(pts) == pts and view.echo_points([]) == []
    assert view.add.signature == "add: func(a: u32, b: u32) -> u32"
    assert view.add.name == "add"
    assert view.function("add").method.name == "add"
    assert view.module is std or view.module.name == "std"
    assert view.interface.package == "bridgehost:std@0.1.0"
    assert len(view.interface.hash) == 64
    assert "add" in repr(view.add)
    std.close()
    with pytest.raises(bridgehost.ClosedError):
        view.add(1, 2)


@dataclasses.dataclass(frozen=True)
class MyPoint:
    x: float
    y: float
    label: str


class TuplePoint(typing.NamedTuple):
    x: float
    y: float
    label: str


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_records_bound_to_caller_classes(host, isolation):
    std = host.open("std", isolation=isolation)
    view = std.typed(records={"point": MyPoint, "summary": TuplePointSummary})
    pts = [MyPoint(1.5, -0.0, "😀"), MyPoint(0.0, 2.0, "")]
    back = view.echo_points(pts)
    assert back == pts and all(type(p) is MyPoint for p in back)
    # view.types files each record under its class name, whichever class is bound to it.
    assert view.types.Point is MyPoint and view.types.Summary is TuplePointSummary
    assert sorted(vars(view.types)) == ["Point", "Summary"]
    # Arguments: instances of the bound class, dicts and any object with the fields, as before.
    assert view.echo_points([{"x": 1.0, "y": 2.0, "label": "d"}]) == [MyPoint(1.0, 2.0, "d")]
    # A bound class derived from tuple (a NamedTuple) is read by attribute, not as a sequence.
    s = view.stats([1.0, 3.0])
    assert type(s) is TuplePointSummary and s == TuplePointSummary(2, 1.0, 3.0, 2.0)
    tview = std.typed(records={"point": TuplePoint})
    tp = [TuplePoint(1.0, 2.0, "t")]
    assert tview.echo_points(tp) == tp and type(tview.echo_points(tp)[0]) is TuplePoint
    # Still checked field by field, with the view's messages.
    with pytest.raises(TypeError, match=r"parameter points: element 0: point.label: expected string"):
        view.echo_points([MyPoint(1.0, 2.0, 3)])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"parameter points: element 1: expected point, got 7"):
        view.echo_points([pts[0], 7])
    # Another view of the same module is unaffected.
    plain = std.typed()
    assert type(plain.echo_points(pts)[0]) is plain.types.Point


class TuplePointSummary(typing.NamedTuple):
    count: int
    min: float
    max: float
    mean: float


def test_bound_records_refuse_what_is_not_a_record_class(host):
    std = host.open("std")
    with pytest.raises(bridgehost.InvalidArgumentError,
                       match=r'records: "pointe" is not a record of interface std \(its records: summary, point\)'):
        std.typed(records={"pointe": MyPoint})
    with pytest.raises(TypeError, match=r"records\[\"point\"\] must be a class, got 3"):
        std.typed(records={"point": 3})
    with pytest.raises(bridgehost.InvalidArgumentError, match=r"is not a record of interface std"):
        std.typed(records={"po\ud800int": MyPoint})
    with pytest.raises(TypeError, match=r"records: a key must be a WIT record name \(str\), got 1"):
        std.typed(records={1: MyPoint})
    with pytest.raises(TypeError, match=r"records must be a mapping of WIT record name to class, got list"):
        std.typed(records=[("point", MyPoint)])
    assert type(std.typed(records={}).echo_points([MyPoint(0.0, 0.0, "")])[0]).__name__ == "Point"
    assert type(std.typed(records=None).echo_points([MyPoint(0.0, 0.0, "")])[0]).__name__ == "Point"

    class Refuses:
        def __init__(self, *fields):
            raise ValueError(f"no thanks: {fields!r}")

    # A class that cannot be built from the fields: its own exception, from the call that
    # returned the record; the module and the view keep working.
    view = std.typed(records={"point": Refuses})
    with pytest.raises(ValueError, match=r"no thanks: \(1.0, 2.0, 'x'\)"):
        view.echo_points([{"x": 1.0, "y": 2.0, "label": "x"}])
    assert view.add(1, 2) == 3 and view.echo_points([]) == []

    class TooFew:
        def __init__(self, x):
            self.x = x

    with pytest.raises(TypeError):
        std.typed(records={"point": TooFew}).echo_points([MyPoint(0.0, 0.0, "")])

    # Results are built positionally: a dataclass or NamedTuple that declares other fields, or
    # the same ones in another order, is refused when bound (a value would land in the wrong field).
    @dataclasses.dataclass
    class Reordered:
        label: str
        x: float
        y: float

    @dataclasses.dataclass
    class Extra:
        x: float
        y: float
        label: str
        z: int = 0

    class Renamed(typing.NamedTuple):
        x: float
        y: float
        name: str

    for cls, declared in ((Reordered, "label, x, y"), (Extra, "x, y, label, z"), (Renamed, "x, y, name")):
        with pytest.raises(bridgehost.InvalidArgumentError,
                           match=rf"records: .*{cls.__name__} declares the fields \({declared}\), "
                                 r"record point has \(x, y, label\)"):
            std.typed(records={"point": cls})

    # Binding object or dict keeps dict arguments working (read as mappings; the call runs),
    # and the result is the class's to build (object() takes no fields).
    with pytest.raises(TypeError, match=r"takes no arguments"):
        std.typed(records={"point": object}).echo_points([{"x": 1.0, "y": 2.0, "label": "a"}])
    with pytest.raises(TypeError, match=r"dict expected at most 1 argument"):
        std.typed(records={"point": dict}).echo_points([{"x": 1.0, "y": 2.0, "label": "a"}])


CLASH_WIT = """package t:clash;
interface clash {
    subscribe: func(v: u32) -> u32;
    functions: func(v: u32) -> u32;
    module: func(v: u32) -> u32;
    ping: func(v: u32) -> u32;
}
"""


@needs_cc
def test_view_members_win_over_same_named_functions(host, tmp_path):
    # The view's functions are instance attributes (a dictionary hit, not a failed
    # class lookup and ``__getattr__``), except where the view itself defines the
    # name: there the view's member wins, and ``function(name)`` reaches the WIT one.
    so = fx.build(tmp_path, CLASH_WIT, ["subscribe", "functions", "module", "ping"], name="clash")
    view = host.open(str(so)).typed()
    assert isinstance(view.ping, bridgehost.typed.TypedFunction)
    assert view.ping(7) == 7
    assert view.functions == ["subscribe", "functions", "module", "ping"]
    assert view.module.name == "clash"
    assert not isinstance(view.subscribe, bridgehost.typed.TypedFunction)
    assert view.function("subscribe")(5) == 5 and view.function("module")(6) == 6
    assert view.ping is view.ping  # one function object per view
    with pytest.raises(AttributeError, match='has no function "nope"'):
        view.nope


def test_std_submit_and_asyncio(std_view):
    fut = std_view.add.submit(20, 22)
    assert isinstance(fut, concurrent.futures.Future)
    assert fut.result(timeout=30) == 42
    assert std_view.stats.submit([1.0]).result(timeout=30).count == 1
    with pytest.raises(TypeError, match="parameter b"):
        std_view.add.submit(1, "x")  # checked before anything is submitted

    async def main():
        a, b, s = await asyncio.gather(
            std_view.add.submit_async(2, 3),
            std_view.crc32c.submit_async(b"123456789"),
            std_view.stats.submit_async([]),
        )
        return a, b, s

    assert asyncio.run(main()) == (5, 0xE3069283, None)


@pytest.mark.skipif(not faulty_available(), reason="the test-only faulty module is not on BRIDGEHOST_MODULE_PATH")
def test_a_module_without_interface_has_no_typed_view(host):
    # The test-only faulty module is bytes-only (std and zlib, the bundled ones, are typed).
    for isolation in ISOLATIONS:
        m = host.open("faulty", isolation=isolation)
        with pytest.raises(bridgehost.InvalidArgumentError, match='module "faulty" has no typed interface'):
            m.typed()


# --- bridgehost.typed.Interface and the golden vectors ---------------------------------------


@pytest.fixture(scope="module")
def golden():
    doc, text = fx.golden()
    return doc, Interface(text)


def test_golden_valid_vectors_both_ways(golden):
    doc, iface = golden
    for i, v in enumerate(doc["valid"]):
        name = f"valid-{i}"
        data = bytes.fromhex(v["hex"])
        got = iface.decode(name, data)
        assert fx.same(fx.to_json(v["type"], got), v["json"]), (v, got)
        assert iface.encode(name, got).hex() == v["hex"], v
        assert iface.encode(name, fx.to_py(v["type"], v["json"])).hex() == v["hex"], v


def test_golden_decode_only_and_invalid_bytes(golden):
    doc, iface = golden
    for i, v in enumerate(doc["decode_only"]):
        got = iface.decode(f"decode-only-{i}", bytes.fromhex(v["hex"]))
        assert math.isnan(got)
        assert iface.encode(f"decode-only-{i}", got).hex() == v["canonical_hex"]
    for i, v in enumerate(doc["invalid_bytes"]):
        with pytest.raises(bridgehost.InvalidArgumentError) as e:
            iface.decode(f"invalid-bytes-{i}", bytes.fromhex(v["hex"]))
        # The whole message: the vector's error (worded alike by the Rust codec, Java and C#)
        # under Python's rendering of the kind.
        assert str(e.value) == "invalid argument: " + v["error"], (i, v)


def test_decode_errors_count_in_the_singular_and_the_plural():
    """A count of one is singular, as in Java and C# (golden.wit has no such type)."""
    iface = Interface(
        "package a:b; interface i { enum one { a } variant v { a } flags f { a } "
        "type e = one; type w = v; type g = f; type s = string; }"
    )
    for ty, data, want in [
        ("e", "01", "at byte 0: enum one has 1 case, got discriminant 1"),
        ("w", "02", "at byte 0: variant v has 1 case, got discriminant 2"),
        ("g", "02", "at byte 0: flags f has 1 flag, got bits 0x2"),
        ("s", "0200000061", "at byte 0: string length 2 needs at least 2 bytes, 1 left"),
        ("g", "000000", "at byte 1: 2 trailing bytes"),
    ]:
        with pytest.raises(bridgehost.InvalidArgumentError) as e:
            iface.decode(ty, bytes.fromhex(data))
        assert str(e.value) == "invalid argument: malformed typed payload " + want


def test_golden_invalid_values_are_refused(golden):
    doc, iface = golden
    for i, v in enumerate(doc["invalid_json"]):
        if v["why"] == "both sides":
            continue  # not expressible in Python: Ok and Err are distinct objects
        value = fx.to_py(v["type"], v["json"]) if v["type"] not in ("u32",) else v["json"]
        with pytest.raises((TypeError, bridgehost.InvalidArgumentError)):
            iface.encode(f"invalid-json-{i}", value)


def test_interface_parse_errors_and_lookup():
    with pytest.raises(bridgehost.InvalidArgumentError, match="WIT parse error"):
        Interface("package a:b; interface x { f: func(a: nosuch); }")
    with pytest.raises(bridgehost.InvalidArgumentError, match="unsupported WIT"):
        Interface("package a:b; interface x { f: func() -> future<u32>; }")
    iface = Interface("package a:b; interface x { record r { a: u8 } f: func(); }")
    with pytest.raises(bridgehost.NotFoundError, match="type \"nope\""):
        iface.encode("nope", 1)
    assert iface.record_class("r")(a=1) == iface.decode("r", b"\x01")
    with pytest.raises(bridgehost.InvalidArgumentError, match="malformed typed payload at byte 1"):
        iface.decode("r", b"\x01\x02")


# --- edges through a real module, in both isolation modes -------------------------------------

EDGE_WIT = """package test:edges@1.0.0;

interface edges {
    record kw { class: u32, to-end: option<string> }
    record point { x: f64, y: f64, label: string }
    variant shape { circle(f64), rect(tuple<u32, u32>), none }
    enum color { red, green, blue }
    flags perms { read, write, exec }

    u8-echo: func(v: u8) -> u8;
    s8-echo: func(v: s8) -> s8;
    u16-echo: func(v: u16) -> u16;
    s16-echo: func(v: s16) -> s16;
    u32-echo: func(v: u32) -> u32;
    s32-echo: func(v: s32) -> s32;
    u64-echo: func(v: u64) -> u64;
    s64-echo: func(v: s64) -> s64;
    f32-echo: func(v: f32) -> f32;
    f64-echo: func(v: f64) -> f64;
    bool-echo: func(v: bool) -> bool;
    char-echo: func(v: char) -> char;
    string-echo: func(v: string) -> string;
    bytes-echo: func(v: list<u8>) -> list<u8>;
    points: func(v: list<point>) -> list<point>;
    nested: func(v: option<option<option<u8>>>) -> option<option<option<u8>>>;
    deep: func(v: list<list<option<string>>>) -> list<list<option<string>>>;
    pair: func(v: tuple<u8, string, bool>) -> tuple<u8, string, bool>;
    kw-echo: func(v: kw) -> kw;
    shape-echo: func(v: shape) -> shape;
    color-echo: func(v: color) -> color;
    perms-echo: func(v: perms) -> perms;
    two: func(a: u8, b: string) -> tuple<u8, string>;
    checked: func(r: result<u32, string>) -> result<u32, string>;
    unit: func(r: result<_, color>) -> result<_, color>;
    inner: func(r: list<result<u8, string>>) -> list<result<u8, string>>;
    raw-u32: func(data: list<u8>) -> u32;
    raw-string: func(data: list<u8>) -> string;
    raw-bytes: func(data: list<u8>) -> list<u8>;
    raw-list: func(data: list<u8>) -> list<point>;
    raw-nothing: func(data: list<u8>);
}
"""


@pytest.fixture(scope="module")
def edges_so(tmp_path_factory):
    if not fx.can_build():
        pytest.skip("no C compiler or header (source checkout)")
    methods = [line.split(":")[0].strip() for line in EDGE_WIT.splitlines() if ": func(" in line]
    return fx.build(tmp_path_factory.mktemp("edges"), EDGE_WIT, methods, name="edges")


@pytest.fixture(params=ISOLATIONS)
def edges(request, host, edges_so):
    return host.open(str(edges_so), isolation=request.param).typed()


def test_integer_edges_round_trip_and_refuse(edges):
    for bits in (8, 16, 32, 64):
        u = getattr(edges, f"u{bits}_echo")
        s = getattr(edges, f"s{bits}_echo")
        umax, smin, smax = 2**bits - 1, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        assert u(umax) == umax and u(0) == 0
        assert s(smin) == smin and s(smax) == smax
        for bad in (umax + 1, -1):
            with pytest.raises(bridgehost.InvalidArgumentError, match=f"out of range for u{bits}"):
                u(bad)
        for bad in (smin - 1, smax + 1):
            with pytest.raises(bridgehost.InvalidArgumentError, match=f"out of range for s{bits}"):
                s(bad)
    assert edges.u64_echo(18446744073709551615) == 2**64 - 1
    assert edges.s64_echo(-9223372036854775808) == -(2**63)


def test_float_edges(edges):
    for f in (edges.f32_echo, edges.f64_echo):
        assert math.isnan(f(float("nan")))
        z = f(-0.0)
        assert z == 0.0 and math.copysign(1.0, z) == -1.0
        assert f(float("inf")) == float("inf") and f(float("-inf")) == float("-inf")
        assert f(3) == 3.0 and isinstance(f(3), float)
    assert edges.f64_echo(0.1) == 0.1
    assert edges.f32_echo(0.1) == struct.unpack("<f", struct.pack("<f", 0.1))[0]
    assert edges.f32_echo(3.4028234663852886e38) == 3.4028234663852886e38
    with pytest.raises(bridgehost.InvalidArgumentError, match="out of range for f32"):
        edges.f32_echo(1e300)
    with pytest.raises(TypeError, match="expected f64"):
        edges.f64_echo("1.0")


def test_text_edges(edges):
    assert edges.string_echo("") == ""
    for s in ("héllo", "😀 astral \U0010ffff", "nul \x00 inside", "x" * 100_000):
        assert edges.string_echo(s) == s
    assert edges.char_echo("😀") == "😀"
    assert edges.char_echo("\U0010ffff") == "\U0010ffff"
    for bad in ("\ud800", "a\udfffb", "\udbff"):
        with pytest.raises(bridgehost.InvalidArgumentError, match="parameter v: .*not valid Unicode"):
            edges.string_echo(bad)
    with pytest.raises(bridgehost.InvalidArgumentError, match="not valid Unicode"):
        edges.char_echo("\ud83d")  # half of a surrogate pair
    for bad in ("", "ab"):
        with pytest.raises(bridgehost.InvalidArgumentError, match="exactly one character"):
            edges.char_echo(bad)
    assert edges.bool_echo(True) is True and edges.bool_echo(False) is False
    with pytest.raises(TypeError, match="expected bool"):
        edges.bool_echo(1)


def test_lists_empty_and_large(edges):
    assert edges.bytes_echo(b"") == b""
    big = bytes(range(256)) * 8192  # 2 MiB
    assert edges.bytes_echo(big) == big
    assert edges.points([]) == []
    pts = [{"x": float(i), "y": -float(i), "label": str(i)} for i in range(10_000)]
    back = edges.points(pts)
    assert len(back) == 10_000
    assert (back[9999].x, back[9999].y, back[9999].label) == (9999.0, -9999.0, "9999")
    Point = edges.types.Point
    assert edges.points(back) == back
    assert edges.points([Point(1.0, 2.0, "p")]) == [Point(x=1.0, y=2.0, label="p")]
    assert edges.deep([]) == []
    deep = [[None, "a"], [], ["😀", None]]
    assert edges.deep(deep) == deep
    with pytest.raises(TypeError, match=r"parameter v: element 1: element 0: expected option<string>|expected string"):
        edges.deep([[], [1]])


def test_nested_options(edges):
    for v in (None, Some(None), Some(Some(None)), Some(Some(0)), Some(Some(255))):
        assert edges.nested(v) == v
    with pytest.raises(TypeError, match=r"needs None or Some\(...\)"):
        edges.nested(5)
    with pytest.raises(TypeError, match=r"needs None or Some\(...\)"):
        edges.nested(Some(5))


def test_records_variants_enums_flags(edges):
    Kw = edges.types.Kw
    assert [f.name for f in dataclasses.fields(Kw)] == ["class_", "to_end"]
    assert edges.kw_echo({"class_": 1, "to_end": None}) == Kw(1, None)
    assert edges.kw_echo(Kw(class_=2, to_end="x")) == Kw(2, "x")
    with pytest.raises(bridgehost.InvalidArgumentError, match='record kw needs field "to-end"'):
        edges.kw_echo({"class_": 1})
    with pytest.raises(bridgehost.InvalidArgumentError, match='record kw has no field "extra"'):
        edges.kw_echo({"class_": 1, "to_end": None, "extra": 0})
    with pytest.raises(TypeError, match="kw.class: expected u32"):
        edges.kw_echo({"class_": "1", "to_end": None})
    with pytest.raises(dataclasses.FrozenInstanceError):
        Kw(1, None).class_ = 2  # type: ignore[misc]

    assert edges.shape_echo(Variant("circle", 2.5)) == Variant("circle", 2.5)
    assert edges.shape_echo(Variant("rect", (3, 4))) == Variant("rect", (3, 4))
    assert edges.shape_echo("none") == Variant("none")
    with pytest.raises(bridgehost.InvalidArgumentError, match='variant shape has no case "square"'):
        edges.shape_echo("square")
    with pytest.raises(TypeError, match="shape.circle: expected f64"):
        edges.shape_echo("circle")

    assert edges.color_echo("blue") == "blue"
    with pytest.raises(bridgehost.InvalidArgumentError, match='enum color has no case "purple"'):
        edges.color_echo("purple")

    assert edges.perms_echo({"exec", "read"}) == frozenset({"read", "exec"})
    assert edges.perms_echo([]) == frozenset()
    assert edges.perms_echo(("write",)) == {"write"}
    with pytest.raises(bridgehost.InvalidArgumentError, match='flags perms has no flag "fly"'):
        edges.perms_echo({"fly"})
    with pytest.raises(TypeError, match="expected perms"):
        edges.perms_echo("read")

    assert edges.pair((1, "a", True)) == (1, "a", True)
    assert edges.pair([1, "a", False]) == (1, "a", False)
    with pytest.raises(bridgehost.InvalidArgumentError, match="has 3 elements, got 2"):
        edges.pair((1, "a"))
    assert edges.two(7, "x") == (7, "x")


def test_result_errors_are_typed_module_errors(edges):
    assert edges.checked(Ok(5)) == 5
    with pytest.raises(bridgehost.TypedModuleError) as e:
        edges.checked(Err("disk full"))
    assert e.value.value == "disk full"
    assert e.value.function == "checked"
    assert isinstance(e.value, bridgehost.ModuleError) and e.value.code == 0
    assert "checked returned an error: 'disk full'" in str(e.value)
    assert edges.unit(Ok(None)) is None
    with pytest.raises(bridgehost.TypedModuleError) as e2:
        edges.unit(Err("green"))
    assert e2.value.value == "green"
    with pytest.raises(bridgehost.InvalidArgumentError, match="ok side of result<_, color> has no payload"):
        edges.unit(Ok(1))
    with pytest.raises(TypeError, match=r"needs Ok\(...\) or Err\(...\)"):
        edges.checked(5)
    # Below the top level a result stays a value.
    assert edges.inner([Ok(1), Err("x")]) == [Ok(1), Err("x")]

    async def main():
        with pytest.raises(bridgehost.TypedModuleError) as e3:
            await edges.checked.submit_async(Err("async"))
        assert e3.value.value == "async"
        return await edges.checked.submit_async(Ok(7))

    assert asyncio.run(main()) == 7
    with pytest.raises(bridgehost.TypedModuleError):
        edges.checked.submit(Err("pool")).result(timeout=30)


def test_hostile_module_output_is_a_typed_error(edges):
    assert edges.raw_u32(b"\x01\x00\x00\x00") == 1
    cases = [
        (edges.raw_u32, b"\x01\x00\x00", "truncated"),
        (edges.raw_u32, b"\x01\x00\x00\x00\x00", "trailing"),
        (edges.raw_string, b"\x02\x00\x00\x00\xc3\x28", "not valid UTF-8"),
        (edges.raw_string, b"\xff\xff\xff\xff", "length"),
        (edges.raw_string, b"\x01\x00\x00\x00ab", "trailing"),
        (edges.raw_bytes, b"\x03\x00\x00\x00ab", "length 3 needs at least 3 bytes"),
        (edges.raw_bytes, b"\x01\x00\x00\x00ab", "trailing"),
        (edges.raw_bytes, b"\x01\x00", "truncated"),
        (edges.raw_list, b"\xff\xff\xff\x7f" + b"\x00" * 16, "needs at least"),
        (edges.raw_nothing, b"\x00", "trailing"),
    ]
    for f, out, why in cases:
        with pytest.raises(bridgehost.AbiMismatchError, match=f"output of {f.name} does not match its interface: .*{why}"):
            f(out)
        with pytest.raises(bridgehost.AbiMismatchError, match=why):
            f.submit(out).result(timeout=30)
    assert edges.raw_nothing(b"") is None
    assert edges.raw_bytes(b"\x02\x00\x00\x00ab") == b"ab"
    assert edges.raw_string(b"\x02\x00\x00\x00ab") == "ab"


def test_a_bytes_result_is_decoded_alike_whatever_the_previous_result(edges):
    """A ``list<u8>`` result as long as the function's previous one is written by the module
    straight into the ``bytes`` returned (in-process); any other output takes the ordinary
    decode. Either way the value, or the error, is the same."""
    prime = b"\x03\x00\x00\x00abc"
    cases = [
        (b"\x03\x00\x00\x00abcd", "trailing"),  # the expected length, then one byte more
        (b"\x03\x00\x00\x00ab", "length 3 needs at least 3 bytes"),  # one byte short
        (b"\x02\x00\x00\x00abc", "trailing"),  # the expected size, another length
        (b"\x04\x00\x00\x00abc", "length 4 needs at least 4 bytes"),
        (b"\x03\x00\x00", "truncated"),
    ]
    for out, why in cases:
        assert edges.raw_bytes(prime) == b"abc"
        with pytest.raises(bridgehost.AbiMismatchError, match=f"output of raw-bytes does not match its interface: .*{why}"):
            edges.raw_bytes(out)
        assert edges.raw_bytes(prime) == b"abc"
    blob = bytes(range(256)) * 300
    for n in (3, 5, 5, 0, 0, 3, 70_000, 70_000, 69_999, 70_000, 1, 1):
        got = edges.raw_bytes(struct.pack("<I", n) + blob[:n])
        assert type(got) is bytes and got == blob[:n], n

    # Threads calling it with results of their own lengths (the expected length is the
    # function's, so they keep changing it for each other).
    def worker(n, bad):
        for _ in range(200):
            if edges.raw_bytes(struct.pack("<I", n) + blob[:n]) != blob[:n]:
                bad.append(n)

    bad: list = []
    threads = [threading.Thread(target=worker, args=(n, bad)) for n in (7, 4096, 70_000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bad == []


def test_golden_vectors_through_a_module(host, tmp_path):
    """Every valid vector is sent to and returned by a real module, in both modes; every
    invalid_bytes vector is returned by the module and refused by the host."""
    if not fx.can_build():
        pytest.skip("no C compiler or header (source checkout)")
    doc, text = fx.golden()
    funcs = []
    # wit-parser refuses a function returning a borrow: that vector is covered by Interface.
    sent = [i for i, v in enumerate(doc["valid"]) if "borrow<" not in v["type"]]
    for i in sent:
        funcs.append(f"    e-{i}: func(v: valid-{i}) -> valid-{i};\n")
    for i, _ in enumerate(doc["decode_only"]):
        funcs.append(f"    raw-d-{i}: func(data: list<u8>) -> decode-only-{i};\n")
    for i, _ in enumerate(doc["invalid_bytes"]):
        funcs.append(f"    raw-{i}: func(data: list<u8>) -> invalid-bytes-{i};\n")
    end = text.rindex("}")
    text = text[:end] + "".join(funcs) + text[end:]
    methods = [f.split(":")[0].strip() for f in funcs] + ["[constructor]blob", "[resource-drop]blob"]
    so = fx.build(tmp_path, text, methods, name="golden")
    for isolation in ISOLATIONS:
        view = host.open(str(so), isolation=isolation).typed()
        for i in sent:
            v = doc["valid"][i]
            f = getattr(view, f"e_{i}")
            if v["type"].startswith("result"):
                # A function's top-level result is unwrapped: T returned, E raised.
                try:
                    got = Ok(f(fx.to_py(v["type"], v["json"])))
                except bridgehost.TypedModuleError as e:
                    got = Err(e.value)
            else:
                got = f(fx.to_py(v["type"], v["json"]))
            assert fx.same(fx.to_json(v["type"], got), v["json"]), (isolation, v, got)
        for i, v in enumerate(doc["decode_only"]):
            assert math.isnan(getattr(view, f"raw_d_{i}")(bytes.fromhex(v["hex"])))
        for i, v in enumerate(doc["invalid_bytes"]):
            with pytest.raises(bridgehost.AbiMismatchError) as e:
                getattr(view, f"raw_{i}")(bytes.fromhex(v["hex"]))
            # The vector's error, under the core's AbiMismatch rendering (module path, function).
            want = f"output of raw-{i} does not match its interface: {v['error']}"
            assert str(e.value) == f"ABI mismatch in {so}: {want}", (isolation, i)


# --- the scalar fast path (docs/TYPED.md, "Direct calls") ------------------------------------
#
# A direct-eligible function called with positional arguments takes the scalar fast path
# (``Method.call_scalar`` in the core) when every argument is exactly what it converts without
# doubt; it declines anything else and the general path (the interface crate's lowering) decides.
# Given by keyword, or through ``submit``, the same arguments always take the general path: the
# three must agree on every input, value and exception alike.


class _Int(int):
    pass


class _Float(float):
    pass


class _Str(str):
    pass


def _outcome(call):
    """``("ok", type, bits)`` of a value (floats by their bits: NaN and -0.0 compare), or
    ``("raised", type, message)``."""
    try:
        v = call()
    except Exception as e:  # noqa: BLE001 - the exception itself is compared
        return ("raised", type(e), str(e))
    if isinstance(v, float):
        return ("ok", float, struct.pack("<d", v))
    return ("ok", type(v), v)


_INT_CASES = [0, 1, -1, 127, -128, 128, -129, 255, 256, 32767, -32768, 65535, 65536,
              2**31 - 1, -(2**31), 2**32 - 1, 2**32, 2**63 - 1, -(2**63), 2**63, -(2**63) - 1,
              2**64 - 1, 2**64, -(2**64), 2**200, -(2**200), True, False, 1.0, "1", None, b"\x01",
              _Int(7), _Int(-7), _Int(2**64)]
_FLOAT_CASES = [0.0, -0.0, 1.5, -2.25, 0.1, float("nan"), float("inf"), float("-inf"), 1e300,
                -1e300, 1e-50, -1e-50, 5e-324, 3.4028234663852886e38, 3.4028235677973366e38,
                3.402823669209385e38, 3, -3, 0, 2**53 + 1, 2**1024, -(2**1024), 10**400, True,
                "1.0", None, _Float(2.5), _Int(3)]
_CHAR_CASES = ["a", "\x00", "\u00e9", "\u4e2d", "\U0001F600", "\U0010FFFF", "\ud800", "\udfff",
               "", "ab", "\U0001F600x", 65, b"a", None, _Str("x"), ["a"]]
_BOOL_CASES = [True, False, 0, 1, 2, None, "True", 1.0, _Int(1)]
_SCALAR_CASES = {
    **{f"{k}{b}_echo": _INT_CASES for k in ("u", "s") for b in (8, 16, 32, 64)},
    "f32_echo": _FLOAT_CASES,
    "f64_echo": _FLOAT_CASES,
    "char_echo": _CHAR_CASES,
    "bool_echo": _BOOL_CASES,
}


def test_scalar_fast_path_equals_the_general_path(edges):
    """Every scalar kind, good and bad arguments: the positional call (the fast path where it
    applies) returns or raises exactly as the same argument given by name or submitted."""
    for name, cases in _SCALAR_CASES.items():
        f = getattr(edges, name)
        for x in cases:
            fast = _outcome(lambda: f(x))
            by_name = _outcome(lambda: f(v=x))
            submitted = _outcome(lambda: f.submit(x).result(timeout=30))
            assert fast == by_name == submitted, (name, x, fast, by_name, submitted)
        # A wrong count or a keyword is the general path's refusal, whatever the values.
        for args, kwargs in [((), {}), ((1, 2), {}), ((1,), {"v": 1}), ((), {"w": 1})]:
            got = _outcome(lambda: f(*args, **kwargs))
            assert got[:2] == ("raised", TypeError), (name, args, kwargs, got)
            assert got == _outcome(lambda: f.submit(*args, **kwargs)), (name, args, kwargs)


def test_scalar_fast_path_values_at_the_edges(edges):
    assert edges.u32_echo(2**32 - 1) == 2**32 - 1 and type(edges.u32_echo(5)) is int
    assert edges.s8_echo(-128) == -128 and edges.s64_echo(-(2**63)) == -(2**63)
    assert edges.u64_echo(2**64 - 1) == 2**64 - 1
    assert edges.bool_echo(True) is True and edges.bool_echo(False) is False
    assert edges.char_echo("\U0001F600") == "\U0001F600"
    z = edges.f64_echo(-0.0)
    assert z == 0.0 and math.copysign(1.0, z) == -1.0
    assert math.isnan(edges.f32_echo(float("nan"))) and math.isnan(edges.f64_echo(float("nan")))
    assert edges.f32_echo(0.1) == struct.unpack("<f", struct.pack("<f", 0.1))[0]
    assert edges.f32_echo(1e-50) == 0.0  # underflows to zero, as the general path
    assert edges.f64_echo(3) == 3.0 and type(edges.f64_echo(3)) is float


def test_std_add_typed_equals_untyped(std_view):
    """std's add (a direct entry in-process, the bytes entry in a worker) returns what the
    untyped byte call of the same method returns, at the edges of u32."""
    raw = std_view.add.method
    pairs = [(0, 0), (2, 3), (2**32 - 1, 0), (2**32 - 1, 1), (2**32 - 1, 2**32 - 1),
             (4_000_000_000, 300_000_000), (2**31, 2**31)]
    for a, b in pairs:
        (untyped,) = struct.unpack("<I", raw(struct.pack("<II", a, b)))
        assert std_view.add(a, b) == untyped == std_view.add(a=a, b=b) == (a + b) % 2**32
    for args in [(1, -1), (2**32, 1), (2**200, 1), (-(2**200), 1), (True, 1), (1.0, 1),
                 ("1", 1), (None, 1), (1,), (1, 2, 3)]:
        fast = _outcome(lambda: std_view.add(*args))
        assert fast[0] == "raised", (args, fast)
        assert fast == _outcome(lambda: std_view.add.submit(*args)), args
    assert std_view.sleep(0) is None


def test_a_typed_function_called_any_way_agrees(std_view, edges):
    """A typed function object is called through vectorcall (``f(...)``, ``partial``) or
    through ``tp_call`` (``f.__call__(...)``, which builds a tuple and a dict), or as
    ``f.call(...)``: the same values and the same exceptions, whatever the arguments."""
    import functools

    cases = [
        (std_view.add, (2, 3), {}), (std_view.add, (), {"a": 2, "b": 3}), (std_view.add, (2,), {"b": 3}),
        (std_view.add, (2**32, 1), {}), (std_view.add, (True, 1), {}), (std_view.add, (1,), {}),
        (std_view.add, (1, 2, 3), {}), (std_view.add, (1, 2), {"a": 1}), (std_view.add, (), {"c": 1}),
        (std_view.add, (), {}), (std_view.add, (_Int(2), 3), {}),
        (std_view.echo, (b"abc",), {}), (std_view.echo, (), {"data": b"abc"}),
        (std_view.echo, ([1, 2, 300],), {}), (std_view.echo, (bytearray(b"x"),), {}),
        (std_view.echo_string, ("\u00e9\ud800",), {}), (std_view.stats, ([1.0, 2.0],), {}),
        (edges.two, (1, "x"), {}), (edges.two, (1,), {"b": "x"}), (edges.checked, (Err("no"),), {}),
        (edges.f64_echo, (float("nan"),), {}), (edges.char_echo, ("ab",), {}),
    ]
    for f, args, kwargs in cases:
        expected = _outcome(lambda: f.call(*args, **kwargs))
        assert _outcome(lambda: f(*args, **kwargs)) == expected, (f, args, kwargs)
        assert _outcome(lambda: f.__call__(*args, **kwargs)) == expected, (f, args, kwargs)
        assert _outcome(lambda: functools.partial(f, *args)(**kwargs)) == expected, (f, args, kwargs)
    assert isinstance(std_view.add, bridgehost.typed.TypedFunction)
    assert type(std_view.add).__name__ == "TypedFunction" and type(std_view.add).__module__ == "bridgehost.typed"
    assert type(std_view.add).__doc__ == bridgehost.typed.TypedFunction.__doc__
    for cls in (bridgehost.typed.TypedFunction, type(std_view.add)):
        with pytest.raises(TypeError, match="No constructor defined for TypedFunction"):
            cls()


def test_method_call_scalar_takes_slots(host):
    """Method.call_scalar / scalar_signature: the slot-level call under the typed view, as
    Java's Method.callScalar, C#'s Method.CallScalar and C's bh_call_scalar."""
    for isolation in ISOLATIONS:
        m = host.open("std", isolation=isolation)
        add, sleep, echo = m.method("add"), m.method("sleep"), m.method("echo")
        assert add.scalar_signature() == "(u32, u32) -> u32"
        assert sleep.scalar_signature() == "(u32)"
        assert echo.scalar_signature() is None
        assert add.call_scalar(2, 40) == 42
        assert add.call_scalar(2**32 - 1, 1) == 0
        assert sleep.call_scalar(0) == 0
        for slots, err, text in [
            ((1, 2**32), bridgehost.InvalidArgumentError, "parameter b: 4294967296 is out of range for u32"),
            ((-1, 1), bridgehost.InvalidArgumentError, "parameter a: -1 is out of range for u32"),
            ((1,), bridgehost.InvalidArgumentError, "add takes 2 argument(s), got 1"),
            ((1, 2**64), bridgehost.InvalidArgumentError, "invalid argument: slot 1 does not fit in 64 bits"),
            ((1, -(2**63) - 1), bridgehost.InvalidArgumentError, "slot 1 does not fit in 64 bits"),
            ((1, "2"), TypeError, "slot 1 must be an int, not str"),
        ]:
            with pytest.raises(err, match=re.escape(text)):
                add.call_scalar(*slots)
        with pytest.raises(bridgehost.InvalidArgumentError, match="has no scalar signature"):
            echo.call_scalar(1)
        with pytest.raises(bridgehost.ModuleError, match="60001 ms exceeds 60000 ms"):
            sleep.call_scalar(60_001)
        assert add.call_scalar(True, 1) == 2, "a bool is an int"
        m.close()
        with pytest.raises(bridgehost.ClosedError):
            add.call_scalar(1, 2)
        assert add.scalar_signature() == "(u32, u32) -> u32", "an immutable value, as the name"


def test_std_scalar_module_errors_and_closing(host):
    for isolation in ISOLATIONS:
        m = host.open("std", isolation=isolation)
        view = m.typed()
        # The module's own error (sleep refuses more than 60 s) maps the same way either path.
        fast = _outcome(lambda: view.sleep(60_001))
        assert fast[:2] == ("raised", bridgehost.ModuleError), fast
        assert "60001 ms exceeds 60000 ms" in fast[2], fast
        assert fast == _outcome(lambda: view.sleep(ms=60_001)), isolation
        # A closed method handle, then a closed module: ClosedError either path.
        other = m.typed()
        other.add.method.close()
        closed = _outcome(lambda: other.add(1, 2))
        assert closed[:2] == ("raised", bridgehost.ClosedError), closed
        assert closed == _outcome(lambda: other.add(a=1, b=2))
        assert view.add(1, 2) == 3
        m.close()
        closed = _outcome(lambda: view.add(1, 2))
        assert closed[:2] == ("raised", bridgehost.ClosedError), closed
        assert closed == _outcome(lambda: view.add(a=1, b=2))
        # Argument errors still come first, as before.
        assert _outcome(lambda: view.add(1, -1))[1] is bridgehost.InvalidArgumentError


SHORT_WIT = """package test:short@1.0.0;

interface short {
    widen: func(v: u8) -> u32;
    to-bool: func(v: u8) -> bool;
    to-char: func(v: u32) -> char;
}
"""


@needs_cc
def test_scalar_fast_path_hostile_results(host, tmp_path):
    """A scalar result the module gets wrong (here: the echo of a narrower or invalid value) is
    AbiMismatchError naming the function, either path, in both modes."""
    so = fx.build(tmp_path, SHORT_WIT, ["widen", "to-bool", "to-char"], name="short")
    for isolation in ISOLATIONS:
        view = host.open(str(so), isolation=isolation).typed()
        for f, arg in [(view.widen, 1), (view.to_bool, 2), (view.to_char, 0xD800)]:
            fast = _outcome(lambda: f(arg))
            general = _outcome(lambda: f(v=arg))
            prefix = f"output of {f.name} does not match its interface: "
            for got in (fast, general):
                assert got[:2] == ("raised", bridgehost.AbiMismatchError), (f.name, got)
                assert prefix in got[2], (f.name, got)
            # The core decodes a scalar result with the wire codec: the same words either path.
            assert fast == general, (f.name, fast, general)
        assert view.to_bool(1) is True and view.to_char(0x1F600) == "\U0001F600"


# --- no leaks through the conversion ----------------------------------------------------------


def test_typed_calls_do_not_leak(host, edges_so):
    from test_leaks import _measure

    view = host.open(str(edges_so)).typed()
    values = [{"x": 1.0, "y": 2.0, "label": "p"}] * 3
    args = (Some(Some(7)), [Ok(1), Err("e")], Variant("rect", (1, 2)), {"read"}, "😀")
    refs = [sys.getrefcount(a) for a in args] + [sys.getrefcount(values)]

    def call():
        view.points(values)
        view.nested(args[0])
        view.inner(args[1])
        view.shape_echo(args[2])
        view.perms_echo(args[3])
        view.string_echo(args[4])
        try:
            view.checked(Err("no"))
        except bridgehost.TypedModuleError:
            pass
        try:
            view.u8_echo(256)
        except bridgehost.InvalidArgumentError:
            pass
        try:
            view.raw_u32(b"\x01")
        except bridgehost.AbiMismatchError:
            pass

    grown, objs, rss = _measure(call, n=20_000)
    assert [sys.getrefcount(a) for a in args] + [sys.getrefcount(values)] == refs
    # 180,000 typed calls: a per-call leak would leave >= 20,000 objects; a few hundred are
    # interpreter caches still warming up (they shrink on a second measurement).
    assert grown < 64 * 1024 and objs < 1000 and rss < 8 << 20, (grown, objs, rss)
