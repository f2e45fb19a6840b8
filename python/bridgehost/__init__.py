"""bridgehost: call native modules from Python, in-process or in sandboxed worker processes.

::

    import bridgehost

    with bridgehost.Host() as host:
        zlib = host.open("zlib")                  # a bundled module, by name
        compress = zlib.method("compress")        # resolve once
        packed = compress(b"hello hello hello")   # GIL released during the call
        future = compress.submit(b"...")          # concurrent.futures.Future[bytes]
        with host.open("std").subscribe("tick", lambda topic, data: print(topic, data)):
            ...

Errors are subclasses of :class:`BridgeHostError` (see :mod:`bridgehost.errors`).
Core log records go to the standard :mod:`logging` logger ``"bridgehost"``.
"""

from __future__ import annotations

import atexit as _atexit
import logging as _logging
import os as _os
from typing import Dict as _Dict
from typing import TypedDict as _TypedDict
from typing import Optional as _Optional
from typing import Union as _Union

from . import errors
from ._native import CORE_VERSION as _CORE_VERSION
from ._native import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_EVENT_QUEUE_CAPACITY,
    DEFAULT_EVENT_QUEUE_BYTES,
    DEFAULT_MAX_EVENT,
    DEFAULT_MAX_INPUT,
    DEFAULT_MAX_OUTPUT,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_SUBMIT_QUEUE_CAPACITY,
    DEFAULT_SUBMIT_THREADS,
    DEFAULT_THREAD_NAME,
    DEFAULT_WORKERS,
)
from ._native import Host, Method, Module, ModuleInfo, SharedBuffer, Subscription
from ._native import flush_logs as _flush_logs
from ._futures import SubmitFuture
from .errors import (
    AbiMismatchError,
    BridgeHostError,
    BufferTooSmallError,
    StateLostError,
    CancelledError,
    ClosedError,
    InternalError,
    InvalidArgumentError,
    ModuleError,
    NotFoundError,
    OverloadedError,
    ProtocolError,
    ResourceLimitError,
    TimeoutError,
    TypedModuleError,
    UnavailableError,
    WorkerCrashedError,
    WorkerExitedError,
)
from . import _native
from . import _signatures
from . import typed

# CPython 3.9: the native classes' constructor signatures, which PyType_FromSpec drops there.
_signatures.install()

__version__ = _CORE_VERSION

__all__ = [
    "Host",
    "Module",
    "ModuleInfo",
    "Method",
    "Subscription",
    "SharedBuffer",
    "SubmitFuture",
    "errors",
    "defaults",
    "Defaults",
    "DEFAULT_SUBMIT_THREADS",
    "DEFAULT_SUBMIT_QUEUE_CAPACITY",
    "DEFAULT_EVENT_QUEUE_CAPACITY",
    "DEFAULT_EVENT_QUEUE_BYTES",
    "DEFAULT_THREAD_NAME",
    "DEFAULT_WORKERS",
    "DEFAULT_CALL_TIMEOUT",
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_MAX_INPUT",
    "DEFAULT_MAX_OUTPUT",
    "DEFAULT_MAX_EVENT",
    "set_log_level",
    "flush_logs",
    "TRACE",
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
    "typed",
]

class Defaults(_TypedDict):
    """What :func:`defaults` returns: one key per keyword option, typed as the option is."""

    submit_threads: int
    submit_queue_capacity: int
    event_queue_capacity: int
    event_queue_bytes: int
    thread_name: str
    workers: int
    call_timeout: _Optional[float]
    memory_limit: _Optional[int]
    max_input: int
    max_output: int
    max_event: int


def defaults() -> Defaults:
    """The value every keyword option of ``Host(...)`` and ``Host.open(...)`` takes when omitted,
    read from the native core (also available as the ``DEFAULT_*`` constants)::

        {"submit_threads": 64, "submit_queue_capacity": 4096, "event_queue_capacity": 65536,
         "event_queue_bytes": 67108864, "thread_name": "bridgehost", "workers": 1, "call_timeout": None, "memory_limit": None,
         "max_input": 268435456, "max_output": 268435456, "max_event": 1048576}

    ``submit_threads`` is the most pool threads at once: they start on demand and exit after 10 s
    idle (submitted calls are blocking native work, so the pool is sized by how many may wait at
    once, not by cores).
    """
    return {
        "submit_threads": DEFAULT_SUBMIT_THREADS,
        "submit_queue_capacity": DEFAULT_SUBMIT_QUEUE_CAPACITY,
        "event_queue_capacity": DEFAULT_EVENT_QUEUE_CAPACITY,
        "event_queue_bytes": DEFAULT_EVENT_QUEUE_BYTES,
        "thread_name": DEFAULT_THREAD_NAME,
        "workers": DEFAULT_WORKERS,
        "call_timeout": DEFAULT_CALL_TIMEOUT,
        "memory_limit": DEFAULT_MEMORY_LIMIT,
        "max_input": DEFAULT_MAX_INPUT,
        "max_output": DEFAULT_MAX_OUTPUT,
        "max_event": DEFAULT_MAX_EVENT,
    }


#: Level of the core's per-call trace records (below ``logging.DEBUG``).
TRACE = 5
_logging.addLevelName(TRACE, "TRACE")

# A library adds no output of its own: without this, records at WARNING and
# above (worker crashes, breaker trips) would reach stderr through logging's
# last-resort handler in applications that never configured logging.
_logging.getLogger("bridgehost").addHandler(_logging.NullHandler())

# core level number (0 error .. 4 trace) -> logging level
_LEVELS = (_logging.ERROR, _logging.WARNING, _logging.INFO, _logging.DEBUG, TRACE)
_loggers: _Dict[str, _logging.Logger] = {}


def _emit_log(
    level: int, target: str, message: str, fields: _Optional[_Dict[str, object]] = None
) -> None:
    """Deliver one core record (called on the ``bridgehost-log`` thread).

    The record's structured fields (``module``, ``pid``, ...) are not flattened into the
    message: each is a ``LogRecord`` attribute named ``bridgehost_<field>``, and
    ``record.bridgehost_fields`` is the dict of all of them (empty when there are none).
    """
    logger = _loggers.get(target)
    if logger is None:
        name = target.replace("::", ".")
        if name != "bridgehost" and not name.startswith("bridgehost."):
            name = "bridgehost." + name
        logger = _loggers.setdefault(target, _logging.getLogger(name))
    pylevel = _LEVELS[min(max(level, 0), 4)]
    if logger.isEnabledFor(pylevel):
        fields = dict(fields or {})
        extra: _Dict[str, object] = {"bridgehost_" + k: v for k, v in fields.items()}
        extra["bridgehost_fields"] = fields
        logger.log(pylevel, "%s", message, extra=extra)


def set_log_level(level: _Union[int, str]) -> None:
    """Most verbose core records forwarded to ``logging`` (default ``logging.DEBUG``).

    ``level`` is a :mod:`logging` level number or name (``"DEBUG"``,
    ``"warning"``, ``"TRACE"``, ...; case-insensitive); :data:`TRACE` adds a
    record per failed call. The ``bridgehost`` loggers' own levels filter
    further, as usual. An unknown name is a ``ValueError``, any other type a
    ``TypeError``.
    """
    if isinstance(level, str):
        number = _logging.getLevelName(level.strip().upper())
        if not isinstance(number, int):
            raise ValueError(f"unknown logging level name {level!r}")
        level = number
    if isinstance(level, bool) or not isinstance(level, int):
        raise TypeError("level must be a logging level (int) or level name (str)")
    if level <= TRACE:
        core = 4
    elif level <= _logging.DEBUG:
        core = 3
    elif level <= _logging.INFO:
        core = 2
    elif level <= _logging.WARNING:
        core = 1
    else:
        core = 0
    _native._set_core_log_level(core)


def flush_logs(timeout: float = 5.0) -> bool:
    """Wait until core records logged so far reached :mod:`logging`.

    Records are delivered asynchronously by one ``bridgehost-log`` thread (the
    core may log while holding its own locks, so it never waits for the GIL).
    Returns False on timeout.
    """
    return _flush_logs(timeout)


set_log_level(_logging.DEBUG)

# Close every host before the interpreter finalizes: atexit hooks run while
# threads may still take the GIL, so in-flight completions and event
# deliveries finish normally; afterwards bridgehost threads never enter Python.
_atexit.register(_native._shutdown)

# After fork() the child has none of the parent's bridgehost threads: objects
# created before the fork raise ClosedError there and are never closed or
# joined; hosts created in the child work normally. The forking thread holds
# the bridge's global locks across the fork, so the child never inherits one
# locked by a thread that does not exist there.
_os.register_at_fork(
    before=_native._before_fork,
    after_in_parent=_native._after_fork_parent,
    after_in_child=_native._after_fork_child,
)
