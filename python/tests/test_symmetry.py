"""The Python column of docs/SYMMETRY.md matches the installed ``bridgehost`` package.

docs/SYMMETRY.md is the one table of names across Java, Python, C# and C; this test fails when
the Python API drifts from it (a listed class, method, keyword option or error is missing, or an
error class is not the right kind), and, the other way, when the package has a public name or
member that neither that table nor its table of members one runtime has for its own idiom lists
(so Python cannot grow API the other runtimes lack without anyone noticing).
"""

from __future__ import annotations

import builtins
import fnmatch
import importlib.util
import inspect
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

import bridgehost
from bridgehost import _futures

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "SYMMETRY.md"


def _checker() -> Any:
    # One parser of the table: the C check's (scripts/check_symmetry_c.py).
    spec = importlib.util.spec_from_file_location("check_symmetry_c", ROOT / "scripts" / "check_symmetry_c.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CHECK = _checker()
ROWS: List[dict] = [r for r in CHECK.rows(DOC) if r["python"] is not None]


def _public(name: str) -> Any:
    # Public names live in ``bridgehost`` (the submit future's class too, defined in ``bridgehost._futures``)
    # (what ``Method.submit`` returns).
    for ns in (bridgehost, _futures):
        if hasattr(ns, name):
            return getattr(ns, name)
    raise AssertionError(f"bridgehost has no {name!r}")


def _params(fn: Any) -> Iterator[str]:
    return iter(inspect.signature(fn).parameters)


def _check(row: dict) -> None:
    kind, item, name = row["kind"], row["item"], row["python"]
    where = f"{kind} {item}: Python name {name!r}"
    if kind == "noun":
        assert inspect.isclass(_public(name)), f"{where} is not a class"
    elif kind == "operation":
        owner, _, member = name.partition(".")
        cls = _public(owner)
        if member:
            assert inspect.isclass(cls), f"{where}: {owner} is not a class"
            assert callable(getattr(cls, member, None)), f"{where} is not a method of {owner}"
        else:  # a class (its constructor) or a function of the package
            assert callable(cls), f"{where} is not a class or function"
    elif kind == "property":
        # An attribute: of a class (a property, a class attribute, or an exception's instance
        # attribute), or of the package.
        owner, _, member = name.partition(".")
        if member:
            cls = _public(owner)
            assert inspect.isclass(cls), f"{where}: {owner} is not a class"
            assert hasattr(cls, member) or member in _instance_attributes(cls), f"{where} is not an attribute of {owner}"
        else:
            assert hasattr(bridgehost, name), f"{where} is not an attribute of bridgehost"
    elif kind in ("host_option", "module_option"):
        callee, _, param = name.partition("(")
        param = param.rstrip(")")
        owner, _, member = callee.partition(".")
        fn = getattr(_public(owner), member) if member else _public(owner)
        assert param in set(_params(fn)), f"{where}: {callee} takes no keyword {param!r}"
    elif kind == "error":
        cls = _public(name)
        assert inspect.isclass(cls) and issubclass(cls, bridgehost.BridgeHostError), (
            f"{where} is not a BridgeHostError"
        )
        if item == "invalid_argument":  # the runtime's own bad-argument type too (table note)
            assert issubclass(cls, ValueError), f"{where} is not a ValueError"
        assert cls.kind == item, f"{where} has kind {cls.kind!r}"
        assert cls.kind_code == CHECK.kind_codes()[item], f"{where} has kind_code {cls.kind_code}"
    elif kind == "wait":
        # The operation, its keyword for the duration, and the core's rule behind it: a negative
        # duration is refused with the core's message, whose subject is the item in words.
        callee, _, param = name.partition("(")
        param = param.rstrip(")")
        owner, _, member = callee.partition(".")
        fn = getattr(_public(owner), member)
        assert param in set(_params(fn)), f"{where}: {callee} takes no keyword {param!r}"
        provoke = WAITS.get(item)
        assert provoke is not None, f"{where}: this test cannot pass a negative {item}"
        with pytest.raises(bridgehost.InvalidArgumentError) as e:
            provoke(param)
        subject = item.replace("_", " ")
        assert str(e.value).startswith(f"invalid argument: {subject} must be "), f"{where}: {e.value}"
    elif kind == "idiom":
        cls = getattr(builtins, name, None)
        assert inspect.isclass(cls) and issubclass(cls, Exception), f"{where} is not a builtin exception"
        provoke = IDIOMS.get(item)
        assert provoke is not None, f"{where}: this test cannot make the {item!r} mistake"
        for mistake in provoke():
            with pytest.raises(cls):
                mistake()
    else:
        raise AssertionError(f"unknown row kind {kind!r}")


def _out_of_range() -> List[Callable[[], object]]:
    buf = bridgehost.SharedBuffer(16)

    def write() -> None:
        buf[16] = 1

    return [lambda: buf[16], lambda: buf[-17], write]


# The mistake behind each ``idiom`` row, made through the public API.
IDIOMS: Dict[str, Callable[[], List[Callable[[], object]]]] = {"out_of_range": _out_of_range}


def _negative_flush_timeout(param: str) -> None:
    with bridgehost.Host() as host:
        with host.open("std") as m:
            m.flush(**{param: -1})


def _negative_inspect_deadline(param: str) -> None:
    with bridgehost.Host() as host:
        host.inspect("std", **{param: -1})


# Each ``wait`` row's argument passed negative (by the row's keyword) through the public API.
WAITS: Dict[str, Callable[[str], None]] = {
    "flush_timeout": _negative_flush_timeout,
    "inspect_deadline": _negative_inspect_deadline,
}


def test_table_is_not_empty() -> None:
    assert len(ROWS) > 40


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['kind']}-{r['item']}" for r in ROWS])
def test_python_matches_symmetry_table(row: dict) -> None:
    _check(row)


def _bridgehost_classes(cls: type) -> List[type]:
    # The classes of ``cls``'s MRO that bridgehost defines (builtin and stdlib bases left out).
    return [b for b in cls.__mro__ if (b.__module__ or "").split(".")[0] == "bridgehost"]


def _instance_attributes(cls: type) -> set:
    # Attributes an exception sets in ``__init__`` (``ModuleError.code``, ...): seen on an instance
    # made with the defaults (every bridgehost error takes no required argument).
    if not issubclass(cls, BaseException):
        return set()
    return {k for k in vars(cls()) if not k.startswith("_")}


def python_surface() -> List[str]:
    """The public surface of ``bridgehost``, spelled as docs/SYMMETRY.md spells it: each name of
    ``bridgehost.__all__``, and for a class ``Class.member`` for each public attribute (methods,
    properties, class attributes, an exception's instance attributes), dunders left out. A member
    a public bridgehost base class has is counted once, on the base-most such class."""
    public = {n: getattr(bridgehost, n) for n in bridgehost.__all__}
    surface = set(public)
    for name, cls in public.items():
        if not inspect.isclass(cls):
            continue
        members = {k for b in _bridgehost_classes(cls) for k in vars(b) if not k.startswith("_")}
        members |= _instance_attributes(cls)
        for member in members:
            owner = name
            for base in reversed(_bridgehost_classes(cls)):  # base-most first
                if base is cls or public.get(base.__name__) is not base:
                    continue
                if member in vars(base) or member in _instance_attributes(base):
                    owner = base.__name__
                    break
            surface.add(f"{owner}.{member}")
    return sorted(surface)


def test_every_public_member_is_listed() -> None:
    surface = python_surface()
    assert "Module.path" in surface and "Method.nonblocking" in surface and "ModuleError.code" in surface
    missing = CHECK.unlisted(surface, DOC, "python")
    assert not missing, (
        "public members of bridgehost listed in neither table of docs/SYMMETRY.md (a row's Python "
        "column, or the idiom table with runtime Python): " + ", ".join(missing)
    )


def test_every_idiom_entry_names_a_member() -> None:
    # An idiom entry that matches nothing is stale (the member was removed or renamed).
    surface = python_surface()
    stale = [n for r in CHECK.idioms(DOC) if r["runtime"] == "python" for n in r["names"]
             if not any(fnmatch.fnmatchcase(m, n) for m in surface)]
    assert not stale, "idiom table entries for Python that name no public member: " + ", ".join(stale)


def test_every_core_error_kind_has_a_row() -> None:
    kinds = {r["item"] for r in CHECK.rows(DOC) if r["kind"] == "error"}
    assert kinds == set(CHECK.kind_codes()), "docs/SYMMETRY.md must list every core ErrorKind"
