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
(any collection of names is accepted); ``Module.typed(records=..., enums=..., flags=...,
variants=...)`` builds results of those types as your classes instead (docs/TYPED.md, "Python: the
typed view"); a resource handle is an ``int`` (the view does not own
a handle it delivered; it drops those of an output nobody receives: malformed, or a cancelled or
unread async result, docs/PYTHON.md "Futures and cancellation"). Generated bindings (``bridgehost bindgen --lang python``) turn handles into objects of
:class:`Resource` subclasses that own them.

The conversion and every check run in the extension, through the interface crate
(``bridgehost-interface``): there is no second codec here.
"""

from __future__ import annotations

import dataclasses
import keyword
import threading
import weakref
from types import TracebackType
from typing import Any, Generic, List, Optional, Sequence, Tuple, Type, TypeVar

from ._futures import wrap_owned
from ._native import Interface, Method, Module, TypedFunction, TypedView
from .errors import ClosedError

__all__ = ["Interface", "TypedView", "TypedFunction", "Some", "Ok", "Err", "Variant", "Resource"]

T = TypeVar("T")
_R = TypeVar("_R", bound="Resource")


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


def _declared_fields(cls: Type[Any]) -> Optional[List[str]]:
    """The fields a class takes by position, in order, when it declares them: a dataclass's
    ``__init__`` fields (keyword-only ones excluded), a ``NamedTuple``'s ``_fields``; ``None`` for
    any other class (called by the extension, for ``Module.typed(records=...)``)."""
    if dataclasses.is_dataclass(cls):
        return [
            f.name for f in dataclasses.fields(cls) if f.init and not getattr(f, "kw_only", False)
        ]
    fields = getattr(cls, "_fields", None)
    if issubclass(cls, tuple) and isinstance(fields, tuple) and all(isinstance(f, str) for f in fields):
        return list(fields)
    return None


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


def _submit_drop(drop: Method, handle: bytes) -> None:
    """The cleanup of a :class:`Resource` that became unreachable unreleased (``weakref.finalize``):
    submit ``[resource-drop]R`` to the host's pool from whatever thread collects the object, never
    wait, ignore the outcome (the module or host may be closed by then). It holds the method and
    the handle, never the object."""
    try:
        # A refusal (module or host closed, queue full) is the returned future's exception, read
        # by nobody: the instance's close releases the object anyway.
        drop.submit(handle)
    except Exception:  # a finalizer never raises (nothing is expected here: the handle is bytes)
        pass


class Resource:
    """Base of the classes ``bridgehost bindgen --lang python`` generates for WIT resources
    (docs/TYPED.md, "Resources (handles)"): an object that owns one handle of a module instance.

    * ``close()`` (and ``with``) releases it: the first call marks it released, waits for the calls
      already under way that use it (as ``self`` or as a ``borrow`` argument) to return, then sends
      ``[resource-drop]R`` and waits for it; its error, if any, is raised once (a drop that returns
      output is :class:`~bridgehost.errors.AbiMismatchError` "... N bytes, expected none": a drop
      has none). Later calls do nothing, and so does a ``close()`` after the module was closed
      (closing the module released every object).
    * A call that uses a released object raises :class:`~bridgehost.errors.ClosedError` before
      anything is sent: no call using the object reaches the module once ``close()`` began.
    * An object that becomes unreachable unreleased is dropped by a ``weakref.finalize`` that holds
      only the drop method and the handle: the drop is submitted to the host's pool, never waited
      for, its outcome ignored. It does not run at interpreter exit (the host's own shutdown closes
      the modules, which releases their objects).

    Objects are made by the generated binding from the handles the module returns; ``handle`` is the
    handle's number, for the run-time view and diagnostics.
    """

    __slots__ = ("_module", "_drop", "_handle", "_cond", "_calls", "_released", "_finalizer",
                 "__weakref__")

    #: The resource's WIT name (set by the generated subclass).
    WIT_NAME = ""

    def __init__(self, module: Module, drop: Method, handle: int) -> None:
        if type(handle) is not int or not 0 <= handle < 1 << 64:
            raise TypeError(f"a handle is a u64 int, got {handle!r}")
        self._module = module
        self._drop = drop
        self._handle = handle
        self._cond = threading.Condition(threading.Lock())
        self._calls = 0
        self._released = False
        fin = weakref.finalize(self, _submit_drop, drop, handle.to_bytes(8, "little"))
        # weakref.finalize.atexit is a property; the typeshed of mypy 1.19 (the last mypy that runs
        # on 3.9) declares it a plain attribute of a class with empty __slots__ and calls this
        # assignment an error, a later typeshed does not (hence unused-ignore).
        fin.atexit = False  # type: ignore[misc, unused-ignore]
        self._finalizer = fin

    @property
    def handle(self) -> int:
        """The handle's number (still readable after release; then stale)."""
        return self._handle

    @property
    def closed(self) -> bool:
        """True once ``close()`` began, or once the module is closed (closing it released the
        object)."""
        return self._released or self._drop.closed

    @property
    def module(self) -> Module:
        """The module whose instance holds the object."""
        return self._module

    def close(self) -> None:
        """Release the object: see the class's documentation. Idempotent."""
        with self._cond:
            if self._released:
                return
            self._released = True
            while self._calls:
                # Interrupted here (KeyboardInterrupt), the finalizer still drops the handle when
                # the object is collected.
                self._cond.wait()
        self._finalizer.detach()
        if self._drop.closed:
            return
        try:
            # A drop that returns output is refused by the core (AbiMismatchError).
            self._drop.call(self._handle.to_bytes(8, "little"))
        except ClosedError:
            if self._drop.closed:  # the module closed meanwhile: the object went with it
                return
            raise

    def __enter__(self: _R) -> _R:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "live"
        return f"<{type(self).__name__} {self.WIT_NAME} handle=0x{self._handle:x} {state}>"

    def _enter(self) -> int:
        with self._cond:
            if self._released:
                raise ClosedError(f"this {self.WIT_NAME} object is closed")
            self._calls += 1
        return self._handle

    def _leave(self) -> None:
        with self._cond:
            self._calls -= 1
            if not self._calls:
                self._cond.notify_all()

    @staticmethod
    def _enter_all(args: Sequence[Any], borrowed: Sequence[int]) -> Tuple[List[Any], List[Resource]]:
        out = list(args)
        entered: List[Resource] = []
        try:
            for i in borrowed:
                obj: Resource = args[i]
                out[i] = obj._enter()
                entered.append(obj)
        except BaseException:
            for obj in entered:
                obj._leave()
            raise
        return out, entered

    @staticmethod
    def call_borrowing(f: TypedFunction, args: Sequence[Any], borrowed: Sequence[int]) -> Any:
        """``f.call(*args)`` where ``args[i]`` for ``i`` in ``borrowed`` is a :class:`Resource`
        (checked by the caller) passed as its handle: ``ClosedError`` if one is released, and none
        is released (its drop sent) while the call runs. Used by generated bindings."""
        out, entered = Resource._enter_all(args, borrowed)
        try:
            return f.call(*out)
        finally:
            for obj in entered:
                obj._leave()

    @staticmethod
    async def submit_borrowing(f: TypedFunction, args: Sequence[Any], borrowed: Sequence[int]) -> Any:
        """``await f.submit_async(*args)`` with :meth:`call_borrowing`'s rules; the objects are
        left when the call completes on the pool (a ``close()`` on the loop's thread waiting for it
        does not depend on the loop). As with ``submit_async``, the owned handles of a result the
        awaiting task never receives (cancelled) are dropped. Used by generated bindings."""
        out, entered = Resource._enter_all(args, borrowed)

        def leave(_: object) -> None:
            for obj in entered:
                obj._leave()

        try:
            fut = f.submit(*out)
        except BaseException:
            leave(None)
            raise
        fut.add_done_callback(leave)
        return await wrap_owned(fut)
