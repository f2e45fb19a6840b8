"""The bundled sqlite module (docs/SQLITE.md) from Python through ``module.typed()``, in both
isolation modes: handles are numbers (the view does not own them; they are dropped through
``[resource-drop]R``), values are ``Variant``s, every SQLite error is a ``TypedModuleError``
carrying the ``error`` variant, a dropped handle is a module error 22."""

from __future__ import annotations

import math
import struct

import pytest

import bridgehost
from bridgehost.typed import Variant


def _drop(module, resource: str, handle: int) -> None:
    module.method(f"[resource-drop]{resource}")(struct.pack("<Q", handle))


@pytest.mark.parametrize("isolation", ["in-process", "process"])
def test_sqlite_through_the_typed_view(host, isolation):
    module = host.open("sqlite", isolation=isolation)
    view = module.typed()
    f = view.function
    c = f("[static]connection.open")(":memory:", "create")
    assert isinstance(c, int) and c != 0
    execute, query = f("[method]connection.execute"), f("[method]connection.query")
    assert execute(c, "CREATE TABLE t(i, r, s, b, n)", []) == 0
    row = [
        Variant("integer", -(2**63)),
        Variant("real", math.pi),
        Variant("text", "żółw 🐢"),
        Variant("blob", bytes(range(256))),
        Variant("null", None),
    ]
    assert execute(c, "INSERT INTO t VALUES (?, ?, ?, ?, ?)", row) == 1
    assert f("[method]connection.last-insert-rowid")(c) == 1
    got = query(c, "SELECT * FROM t", [])
    assert got.columns == ["i", "r", "s", "b", "n"]
    assert got.rows == [row]

    # A statement is a cursor.
    two = [Variant("integer", 2), Variant("integer", 3)]
    assert execute(c, "INSERT INTO t(i) VALUES (?), (?)", two) == 2
    s = f("[method]connection.prepare")(c, "SELECT i FROM t WHERE i > ? ORDER BY i")
    f("[method]statement.bind")(s, [Variant("integer", 0)])
    assert f("[method]statement.step")(s) == [Variant("integer", 2)]
    assert f("[method]statement.fetch")(s, 10) == [[Variant("integer", 3)]]
    assert f("[method]statement.step")(s) is None

    # Errors are values of the error variant.
    errors = [
        ("SELEC 1", [], Variant("sqlite", None)),
        ("SELECT ?", [], Variant("misuse", "the statement takes 1 parameter(s), got 0")),
        ("SELECT CAST(x'ff' AS TEXT) AS t", [], Variant("invalid-text", "t")),
    ]
    for sql, params, want in errors:
        with pytest.raises(bridgehost.TypedModuleError) as e:
            query(c, sql, params)
        assert e.value.value.case == want.case
        if want.value is not None:
            assert e.value.value.value == want.value
    with pytest.raises(bridgehost.TypedModuleError) as e:
        execute(c, "SELEC 1", [])
    failure = e.value.value.value
    assert (failure.code, failure.message) == (1, 'near "SELEC": syntax error')

    # The connection goes first: its statement stays safe and says so.
    _drop(module, "connection", c)
    with pytest.raises(bridgehost.ModuleError, match="stale handle: no live connection") as e2:
        f("[method]connection.autocommit")(c)
    assert e2.value.code == 22
    with pytest.raises(bridgehost.TypedModuleError) as e:
        f("[method]statement.reset")(s)
    assert e.value.value == Variant("misuse", "the statement's connection was dropped")
    _drop(module, "statement", s)
    with pytest.raises(bridgehost.ModuleError, match="stale handle: no live statement"):
        f("[method]statement.step")(s)
    module.close()


def test_a_resource_function_asked_as_an_attribute_names_function(host):
    # sqlite has no plain functions: every function belongs to a resource, and the
    # AttributeError says how to reach the one asked for.
    view = host.open("sqlite").typed()
    with pytest.raises(AttributeError, match=r'its plain functions: none; .*view\.function\("\[static\]connection\.open"\)'):
        view.open
    with pytest.raises(AttributeError, match=r'view\.function\("\[constructor\]|its plain functions: none\)'):
        view.connection
    with pytest.raises(AttributeError, match=r'has no function "nope" \(its plain functions: none\)$'):
        view.nope
