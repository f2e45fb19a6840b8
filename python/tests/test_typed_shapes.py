"""Enum, flags and variant classes bound to the typed view (``Module.typed(enums=..., flags=...,
variants=...)``, docs/TYPED.md "Python: the typed view"): results are built as them in the
extension, in one pass, nested in records, lists, options, results and tuples; unbound types keep
the view's values; what cannot be bound is refused when the view is built. Generated bindings
(``bridgehost bindgen --lang python``) bind theirs, so their decoding converts nothing in Python.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

import pytest

import bridgehost
from bridgehost.typed import Err, Ok, Some, Variant

SHAPES_WIT = """package test:shapes@1.0.0;

interface shapes {
    enum algo { crc32, adler32 }
    flags perms { read, write, exec }
    record chunk { name: string, algo: algo, perms: perms }
    record start { name: string, attributes: list<tuple<string, string>> }
    variant event { start-element(start), end-element(string), blank }
    variant shape { circle(f64), poly(list<chunk>), tagged(tuple<u8, option<algo>>), none }
    record bundle { inner: chunk, shapes: list<shape>, nested: option<option<algo>> }

    chunk-echo: func(v: chunk) -> chunk;
    event-list: func(v: list<event>) -> list<event>;
    shape-echo: func(v: shape) -> shape;
    bundle-echo: func(v: bundle) -> bundle;
    algo-echo: func(v: algo) -> algo;
    perms-echo: func(v: perms) -> perms;
    mixed: func(v: tuple<list<result<algo, shape>>, option<perms>>) -> tuple<list<result<algo, shape>>, option<perms>>;
    failing: func(r: result<u32, algo>) -> result<u32, algo>;
}
"""


class Algo(enum.Enum):
    CRC32 = "crc32"
    ADLER32 = "adler32"


class Perms(enum.Flag):
    READ = 1
    WRITE = 2
    EXEC = 4


@dataclasses.dataclass(frozen=True)
class Circle:
    value: float


@dataclasses.dataclass(frozen=True)
class Poly:
    value: Any


@dataclasses.dataclass(frozen=True)
class Tagged:
    value: Any


@dataclasses.dataclass(frozen=True)
class NoShape:
    pass


SHAPE = {"circle": Circle, "poly": Poly, "tagged": Tagged, "none": NoShape}


@pytest.fixture(scope="module")
def so(tmp_path_factory: pytest.TempPathFactory) -> str:
    import typed_fixture as fx

    if not fx.can_build():
        pytest.skip("no C compiler or header (source checkout)")
    d = tmp_path_factory.mktemp("shapes")
    methods = [line.split(":")[0].strip() for line in SHAPES_WIT.splitlines() if ": func(" in line]
    return str(fx.build(d, SHAPES_WIT, methods, name="shapes"))


def test_bound_enums_flags_and_variants_are_built_by_the_view(host, so):
    view = host.open(so).typed(enums={"algo": Algo}, flags={"perms": Perms}, variants={"shape": SHAPE})
    # Enum members are the objects made when bound: the same object every time.
    assert view.algo_echo("adler32") is Algo.ADLER32
    assert view.perms_echo(["read", "exec"]) == Perms.READ | Perms.EXEC
    assert type(view.perms_echo(["read", "exec"])) is Perms
    assert view.perms_echo([]) is Perms(0) and view.perms_echo({"write"}) is Perms.WRITE
    chunk = {"name": "a", "algo": "crc32", "perms": ["read", "write"]}
    got = view.chunk_echo(chunk)
    # The record is not bound: the view's dataclass, its fields the bound classes.
    assert type(got).__name__ == "Chunk" and got.algo is Algo.CRC32
    assert got.perms == Perms.READ | Perms.WRITE
    assert view.shape_echo(Variant("circle", 1.5)) == Circle(1.5)
    assert view.shape_echo("none") == NoShape() and type(view.shape_echo("none")) is NoShape
    assert view.shape_echo(Variant("tagged", (7, "adler32"))) == Tagged((7, Algo.ADLER32))
    assert view.shape_echo(Variant("tagged", (8, None))) == Tagged((8, None))
    poly = view.shape_echo(Variant("poly", [chunk]))
    assert type(poly) is Poly and poly.value[0].algo is Algo.CRC32
    b = view.bundle_echo({"inner": chunk, "shapes": [Variant("none"), Variant("circle", 2.0)],
                          "nested": Some("adler32")})
    assert b.shapes == [NoShape(), Circle(2.0)] and b.nested == Some(Algo.ADLER32)
    assert view.bundle_echo({"inner": chunk, "shapes": [], "nested": Some(None)}).nested == Some(None)
    # Nested in lists, results, options and tuples.
    v = ([Ok("crc32"), Err(Variant("circle", 0.5)), Err("none")], ["exec"])
    assert view.mixed(v) == ([Ok(Algo.CRC32), Err(Circle(0.5)), Err(NoShape())], Perms.EXEC)
    assert view.mixed(([], None)) == ([], None)
    # A variant not bound keeps the view's Variant.
    ev = view.event_list([Variant("start-element", {"name": "x", "attributes": [("k", "v")]}),
                      Variant("blank")])
    assert type(ev[0]) is Variant and ev[0].case == "start-element" and ev[1] == Variant("blank")
    assert ev[0].value.attributes == [("k", "v")]
    # The error of a function whose result is result<T, E> is built likewise.
    with pytest.raises(bridgehost.TypedModuleError) as e:
        view.failing(Err("crc32"))
    assert e.value.value is Algo.CRC32
    assert str(e.value) == "failing returned an error: <Algo.CRC32: 'crc32'>"
    assert view.failing(Ok(5)) == 5


def test_unbound_views_keep_the_views_values(host, so):
    m = host.open(so)
    for view in (m.typed(), m.typed(enums={}, flags={}, variants={}),
                 m.typed(enums=None, flags=None, variants=None)):
        assert view.algo_echo("adler32") == "adler32"
        assert view.perms_echo(["read"]) == frozenset({"read"})
        assert view.shape_echo(Variant("circle", 1.5)) == Variant("circle", 1.5)
        assert view.shape_echo("none") == Variant("none")


def test_bound_variant_cases_together_with_records(host, so):
    @dataclasses.dataclass(frozen=True)
    class Start:
        name: str
        attributes: Any

    @dataclasses.dataclass(frozen=True)
    class Begin:
        value: Start

    @dataclasses.dataclass(frozen=True)
    class End:
        value: str

    class Blank:
        def __init__(self) -> None:
            pass

    view = host.open(so).typed(records={"start": Start},
                               variants={"event": {"start-element": Begin, "end-element": End,
                                                   "blank": Blank}})
    evs = [Variant("start-element", {"name": "a", "attributes": [("x", "1"), ("y", "2")]}),
           Variant("end-element", "a"), Variant("blank")]
    out = view.event_list(evs * 3)
    assert out[0] == Begin(Start("a", [("x", "1"), ("y", "2")])) and out[1] == End("a")
    assert type(out[2]) is Blank and len(out) == 9


def test_what_cannot_be_bound_is_refused(host, so):
    m = host.open(so)
    with pytest.raises(bridgehost.InvalidArgumentError,
                       match=r'enums: "algoo" is not an enum of interface shapes \(its enums: algo\)'):
        m.typed(enums={"algoo": Algo})
    with pytest.raises(bridgehost.InvalidArgumentError,
                       match=r'enums: "perms" is not an enum of interface shapes'):
        m.typed(enums={"perms": Perms})
    with pytest.raises(bridgehost.InvalidArgumentError,
                       match=r'flags: "algo" is not a flags of interface shapes \(its flags: perms\)'):
        m.typed(flags={"algo": Algo})
    with pytest.raises(bridgehost.InvalidArgumentError,
                       match=r'variants: "chunk" is not a variant of interface shapes '
                             r'\(its variants: event, shape\)'):
        m.typed(variants={"chunk": SHAPE})
    with pytest.raises(bridgehost.InvalidArgumentError, match=r"its enums: none"):
        host.open("std").typed(enums={"algo": Algo})
    with pytest.raises(TypeError, match=r'enums\["algo"\] must be a class, got 3'):
        m.typed(enums={"algo": 3})
    with pytest.raises(TypeError, match=r"enums: a key must be a WIT enum name \(str\), got 1"):
        m.typed(enums={1: Algo})
    with pytest.raises(TypeError, match=r"flags must be a mapping of WIT flags name to class, got list"):
        m.typed(flags=[("perms", Perms)])
    with pytest.raises(TypeError, match=r"variants must be a mapping of WIT variant name to a "
                                        r"mapping of case name to class, got list"):
        m.typed(variants=[])
    with pytest.raises(TypeError, match=r'variants\["shape"\] must be a mapping of case name to '
                                        r"class, got type"):
        m.typed(variants={"shape": Circle})
    with pytest.raises(bridgehost.InvalidArgumentError,
                       match=r'variants\["shape"\] has no class for case "tagged" \(every case needs '
                             r"one: circle, poly, tagged, none\)"):
        m.typed(variants={"shape": {"circle": Circle, "poly": Poly, "none": NoShape}})
    with pytest.raises(bridgehost.InvalidArgumentError,
                       match=r'variants\["shape"\]: "square" is not a case of variant shape'):
        m.typed(variants={"shape": {**SHAPE, "square": Circle}})
    with pytest.raises(TypeError, match=r'variants\["shape"\]\["none"\] must be a class, got None'):
        m.typed(variants={"shape": {**SHAPE, "none": None}})
    with pytest.raises(TypeError, match=r'variants\["shape"\]: a key must be a case name \(str\)'):
        m.typed(variants={"shape": {**SHAPE, 0: Circle}})

    class Partial(enum.Enum):
        CRC32 = "crc32"

    # A class that refuses a case or a single flag: refused when bound, naming the call.
    with pytest.raises(bridgehost.InvalidArgumentError,
                       match=r"enums\[\"algo\"\]: .*Partial\('adler32'\) raised 'adler32' is not a "
                             r"valid .*Partial"):
        m.typed(enums={"algo": Partial})

    class TwoFlags(enum.Flag):
        READ = 1
        WRITE = 2

    with pytest.raises(bridgehost.InvalidArgumentError, match=r'flags\["perms"\]: .*TwoFlags\(4\) raised'):
        m.typed(flags={"perms": TwoFlags})

    class Refuses:
        def __init__(self, value: Any) -> None:
            raise ValueError(f"no thanks: {value!r}")

    # A case class that refuses its payload raises from the call that returned it; the view
    # keeps working.
    view = m.typed(variants={"shape": {**SHAPE, "circle": Refuses}})
    with pytest.raises(ValueError, match=r"no thanks: 1.5"):
        view.shape_echo(Variant("circle", 1.5))
    assert view.shape_echo("none") == NoShape()


def test_arguments_still_take_the_views_values(host, so):
    view = host.open(so).typed(enums={"algo": Algo}, variants={"shape": SHAPE})
    # Binding shapes results only: an argument is still a case name, a Variant.
    with pytest.raises(TypeError, match=r"parameter v: expected algo"):
        view.algo_echo(Algo.CRC32)
    assert view.algo_echo("crc32") is Algo.CRC32
