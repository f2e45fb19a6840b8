"""Typed calls without a codegen step: a run-time view of a module's WIT interface.

::

    view = module.typed()                 # the module's embedded interface (docs/TYPED.md)
    view.add(2, 3)                        # 5: arguments checked and encoded, result decoded
    view.add(2, b=3)                      # parameters by position or by (Python) name
    view.add.submit(2, 3).result()        # concurrent.futures.Future
    await view.add.submit_async(2, 3)     # asyncio

Python values follow docs/TYPED.md ("Type mapping per runtime", Python column):
``bool``; ``int`` for every integer type (range-checked: out of range is
``InvalidArgumentError``, never wrapped); ``float`` for ``f32``/``f64``; ``str`` for
``string`` and ``char``; ``bytes`` for ``list<u8>``; ``list`` for ``list<T>``; ``None``
or the value for ``option<T>`` (:class:`Some` when ``T`` is itself an option);
:class:`Ok` / :class:`Err` for a ``result`` (a function whose result is ``result<T, E>``
returns ``T`` and raises :class:`~bridgehost.errors.TypedModuleError` carrying ``E``);
``tuple``; a record is a frozen dataclass (``view.types.<Name>``; a ``dict`` with the
same keys is accepted); a variant is :class:`Variant` (a bare case name is accepted for a
case without payload); an enum is its case name; flags are a ``frozenset`` of flag names
(any collection of names is accepted); a resource handle is an ``int``.

The conversion and every check run in the extension, through the interface crate
(``bridgehost-interface``): there is no second codec here.
"""

from __future__ import annotations

import dataclasses
import keyword
from typing import Any, Generic, List, Sequence, Type, TypeVar

from ._native import Interface, TypedFunction, TypedView

__all__ = ["Interface", "TypedView", "TypedFunction", "Some", "Ok", "Err", "Variant"]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Some(Generic[T]):
    """A present ``option<T>`` whose ``T`` is itself an option.

    ``option<option<u8>>``: ``None`` (absent), ``Some(None)`` (present, inner absent),
    ``Some(5)``. A plain ``option<T>`` is just ``None`` or the value.
    """

    value: T


@dataclasses.dataclass(frozen=True)
class Ok(Generic[T]):
    """The ok side of a ``result`` value (``Ok(None)`` when it has no payload)."""

    value: T


@dataclasses.dataclass(frozen=True)
class Err(Generic[T]):
    """The error side of a ``result`` value (``Err(None)`` when it has no payload)."""

    value: T


@dataclasses.dataclass(frozen=True)
class Variant:
    """A case of a WIT ``variant``: its name as in the WIT, and its payload (None if none)."""

    case: str
    value: Any = None


def _ident(wit_name: str) -> str:
    """The Python name of a WIT name: ``interval-ms`` -> ``interval_ms``, ``from`` -> ``from_``."""
    name = wit_name.replace("-", "_")
    return name + "_" if keyword.iskeyword(name) else name


def _class_name(wit_name: str) -> str:
    """The class name of a WIT record: ``my-point`` -> ``MyPoint``."""
    return "".join(part[:1].upper() + part[1:] for part in wit_name.split("-"))


def _record_class(wit_name: str, fields: Sequence[str]) -> Type[Any]:
    """A frozen dataclass for a WIT record (called by the extension)."""
    cls = dataclasses.make_dataclass(
        _class_name(wit_name), [_ident(f) for f in fields], frozen=True
    )
    cls.__module__ = __name__
    cls.__doc__ = f"WIT record {wit_name}"
    setattr(cls, "__wit_name__", wit_name)
    return cls


def _names(wit_names: Sequence[str]) -> List[str]:
    """Python names of WIT names (called by the extension)."""
    return [_ident(n) for n in wit_names]
