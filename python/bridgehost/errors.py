"""The bridgehost exception hierarchy.

Every error the core reports has a *kind*; each kind is one class here, all
deriving from :class:`BridgeHostError`. Where Python has a matching builtin the
class derives from it too, so ordinary ``except`` clauses work::

    try:
        method(b"...")
    except bridgehost.ModuleError as e:      # the module reported e.code
        ...
    except ValueError:                       # InvalidArgumentError is a ValueError
        ...

The numeric kind codes are the core's stable codes (``ErrorKind`` in the Rust
core, ``BH_E_*`` in the C ABI): the same error has the same kind in Java,
Python and .NET.
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
from typing import Any, ClassVar, Dict, Generic, Type, TypeVar

__all__ = [
    "BridgeHostError",
    "InvalidArgumentError",
    "NotFoundError",
    "AbiMismatchError",
    "ModuleError",
    "WorkerCrashedError",
    "TimeoutError",
    "ResourceLimitError",
    "ClosedError",
    "CancelledError",
    "OverloadedError",
    "InternalError",
    "WorkerExitedError",
    "ProtocolError",
    "UnavailableError",
    "BufferTooSmallError",
    "StateLostError",
    "TypedModuleError",
]


class BridgeHostError(Exception):
    """Base class of every bridgehost error."""

    #: Stable snake_case name of the error kind (``"module"``, ``"timeout"``, ...).
    kind: ClassVar[str] = "unknown"
    #: The core's stable numeric code of the kind (1..16).
    kind_code: ClassVar[int] = 0

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(message, *args)

    @property
    def message(self) -> str:
        """The error message."""
        return str(self.args[0]) if self.args else ""


class InvalidArgumentError(BridgeHostError, ValueError):
    """An argument was out of range or malformed (also a ``ValueError``)."""

    kind = "invalid_argument"
    kind_code = 1


class NotFoundError(BridgeHostError, LookupError):
    """A module, method, worker executable or topic does not exist (also a ``LookupError``)."""

    kind = "not_found"
    kind_code = 2


class AbiMismatchError(BridgeHostError):
    """A file is not a valid bridgehost module (symbol, magic, version, layout, table)."""

    kind = "abi_mismatch"
    kind_code = 3


class ModuleError(BridgeHostError):
    """The module reported an error; ``code`` is the module's own (non-zero) code."""

    kind = "module"
    kind_code = 4

    def __init__(self, message: str = "", code: int = 0) -> None:
        super().__init__(message)
        self.code = code


_E = TypeVar("_E")


class TypedModuleError(ModuleError, Generic[_E]):
    """A typed function whose result is ``result<T, E>`` returned its error side.

    ``value`` is the ``E`` as a Python value (None when the error side has no payload),
    ``function`` the function's name. The call itself succeeded (``code`` is 0): the module
    returned an error value, which the typed view raises (``bridgehost.typed``).

    Generic in ``E`` for type checkers: ``except TypedModuleError as e`` makes ``e.value``
    ``Any`` (its type depends on the function that raised), so a generated error class's fields
    can be read without a cast; ``TypedModuleError[ParseError]`` names one.
    """

    def __init__(self, message: str = "", value: _E = None, function: str = "") -> None:  # type: ignore[assignment]
        super().__init__(message, 0)
        self.value: _E = value
        self.function = function


def _typed_error(function: str, value: object) -> TypedModuleError[Any]:
    """Build the exception for a typed error result (called by the extension)."""
    return TypedModuleError(f"{function} returned an error: {value!r}", value, function)


class WorkerCrashedError(BridgeHostError):
    """An isolated worker died from signal ``signal`` while serving the request."""

    kind = "worker_crashed"
    kind_code = 5

    def __init__(self, message: str = "", signal: int = 0) -> None:
        super().__init__(message)
        self.signal = signal


class TimeoutError(BridgeHostError, builtins.TimeoutError):
    """The call missed its deadline (also the builtin ``TimeoutError``)."""

    kind = "timeout"
    kind_code = 6


class ResourceLimitError(BridgeHostError):
    """A size or memory limit was exceeded (``max_input``, ``max_output``, ``memory_limit``)."""

    kind = "resource_limit"
    kind_code = 7


class ClosedError(BridgeHostError):
    """The host, module or subscription was closed."""

    kind = "closed"
    kind_code = 8


class CancelledError(
    BridgeHostError, concurrent.futures.CancelledError, asyncio.CancelledError
):
    """The operation was cancelled.

    Also a :class:`concurrent.futures.CancelledError` and an
    :class:`asyncio.CancelledError`, so the handlers Python code already has
    for a cancelled operation catch it, and a task whose awaited call was
    cancelled by the core ends *cancelled*, as with any cancelled future.
    It stays an :class:`Exception` too (through :class:`BridgeHostError`),
    so ``except Exception`` and ``except BridgeHostError`` catch it as well.
    """

    kind = "cancelled"
    kind_code = 9


class OverloadedError(BridgeHostError):
    """A bounded queue (submits, events) is full."""

    kind = "overloaded"
    kind_code = 10


class InternalError(BridgeHostError):
    """A bug caught at a boundary (a Rust panic, a broken invariant)."""

    kind = "internal"
    kind_code = 11


class WorkerExitedError(BridgeHostError):
    """An isolated worker exited on its own (``status``) while serving the request."""

    kind = "worker_exited"
    kind_code = 12

    def __init__(self, message: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class ProtocolError(BridgeHostError):
    """An isolated worker broke the transport protocol (it was killed)."""

    kind = "protocol"
    kind_code = 13


class UnavailableError(BridgeHostError):
    """Temporarily unavailable (circuit breaker open) or not built (process isolation)."""

    kind = "unavailable"
    kind_code = 14


class BufferTooSmallError(BridgeHostError):
    """``Method.call_into``: the output needs ``required`` bytes."""

    kind = "buffer_too_small"
    kind_code = 15

    def __init__(self, message: str = "", required: int = 0) -> None:
        super().__init__(message)
        self.required = required


class StateLostError(BridgeHostError):
    """A stateful module's isolated worker was restarted (crash, timeout, cancel,
    recycle) since the previous call, so the module's state is gone.

    Raised once, to the next call, which did not run; later calls run against
    the fresh instance (rebuild whatever state you need, then carry on). Never
    raised for an in-process module.
    """

    kind = "state_lost"
    kind_code = 16


_BY_CODE: Dict[int, Type[BridgeHostError]] = {
    cls.kind_code: cls
    for cls in (
        InvalidArgumentError,
        NotFoundError,
        AbiMismatchError,
        ModuleError,
        WorkerCrashedError,
        TimeoutError,
        ResourceLimitError,
        ClosedError,
        CancelledError,
        OverloadedError,
        InternalError,
        WorkerExitedError,
        ProtocolError,
        UnavailableError,
        BufferTooSmallError,
        StateLostError,
    )
}

_DETAIL_ATTR = {
    ModuleError: "code",
    WorkerCrashedError: "signal",
    WorkerExitedError: "status",
    BufferTooSmallError: "required",
}


def _from_native(code: int, message: str, detail: int) -> BridgeHostError:
    """Build the exception for a core error (called by the extension)."""
    cls = _BY_CODE.get(code)
    if cls is None:  # a newer core with a kind this package does not know
        return InternalError(f"unknown error kind {code}: {message}")
    attr = _DETAIL_ATTR.get(cls)
    if attr is None:
        return cls(message)
    return cls(message, **{attr: detail})
