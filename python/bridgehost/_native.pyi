"""Type stubs for the extension module ``bridgehost._native`` (PyO3).

Everything public is re-exported by ``bridgehost``; import it from there (``CORE_VERSION``
is ``bridgehost.__version__``).
"""

import asyncio
import concurrent.futures
import os
import sys
from types import TracebackType
from typing import Any, Callable, Dict, List, Literal, Mapping, Optional, Sequence, Tuple, Type, Union, overload

from ._futures import SubmitFuture

if sys.version_info >= (3, 12):
    from collections.abc import Buffer
else:
    from typing_extensions import Buffer

_Path = Union[str, "os.PathLike[str]"]
_Isolation = Literal["in-process", "process"]

CORE_VERSION: str

# The core's defaults (what an omitted keyword option means); see bridgehost.defaults().
DEFAULT_SUBMIT_THREADS: int
DEFAULT_SUBMIT_QUEUE_CAPACITY: int
DEFAULT_EVENT_QUEUE_CAPACITY: int
DEFAULT_EVENT_QUEUE_BYTES: int
DEFAULT_THREAD_NAME: str
DEFAULT_WORKERS: int
DEFAULT_CALL_TIMEOUT: Optional[float]
DEFAULT_MEMORY_LIMIT: Optional[int]
DEFAULT_MAX_INPUT: int
DEFAULT_MAX_OUTPUT: int
DEFAULT_MAX_EVENT: int

class Host:
    """A bridgehost host: owns modules, the submit pool and the event dispatcher.

    Use it as a context manager, or call ``close()``. Closing is idempotent;
    queued submits complete with ``ClosedError``, calls in flight finish,
    every module opened from it is closed and no event callback runs after
    ``close()`` returns. A host garbage-collected while open emits a
    ``ResourceWarning`` and is closed.
    """

    def __init__(
        self,
        *,
        module_dirs: Optional[Sequence[_Path]] = None,
        submit_threads: Optional[int] = None,
        submit_queue_capacity: Optional[int] = None,
        event_queue_capacity: Optional[int] = None,
        thread_name: Optional[str] = None,
        event_queue_bytes: Optional[int] = None,
    ) -> None: ...
    def open(
        self,
        spec: _Path,
        /,
        *,
        isolation: Optional[_Isolation] = None,
        workers: Optional[int] = None,
        call_timeout: Optional[float] = None,
        memory_limit: Optional[int] = None,
        max_input: Optional[int] = None,
        max_output: Optional[int] = None,
        max_event: Optional[int] = None,
        config: Optional[_Input] = None,
        worker_path: Optional[_Path] = None,
        validate_in_worker: Optional[bool] = None,
        spare_workers: Optional[int] = None,
        breaker_failures: Optional[int] = None,
        breaker_window: Optional[float] = None,
        breaker_cooldown: Optional[float] = None,
        startup_timeout: Optional[float] = None,
        close_grace: Optional[float] = None,
        cpu_limit: Optional[float] = None,
        open_files: Optional[int] = None,
        sandbox: Optional[bool] = None,
    ) -> Module:
        """Open a module by name (``"std"``, ``"zlib"``) or path.

        A name is searched in the module directories, ``BRIDGEHOST_MODULE_PATH``, beside the
        bridge, then in the ``bridgehost.modules`` entry-point group of the installed
        distributions (docs/MODULES.md, "Shipping").

        The supervision settings of an isolated module's workers (docs/ISOLATION.md,
        "Supervision"; durations in seconds, int or float; omitted or ``None``: the default):
        ``spare_workers`` (1), ``breaker_failures`` (5), ``breaker_window`` (30),
        ``breaker_cooldown`` (1), ``startup_timeout`` (10), ``close_grace`` (5), ``cpu_limit``
        (3600; ``math.inf``: no limit, the worker keeps the hard limit it inherits),
        ``open_files`` (64), ``sandbox`` (True).
        Out of range is ``InvalidArgumentError`` with the core's message. In-process, a value
        other than the default is ``InvalidArgumentError`` ("... requires process isolation");
        ``startup_timeout`` and ``sandbox`` are accepted with ``validate_in_worker=True``.
        """
    def inspect(self, spec: _Path, /, *, timeout: Optional[float] = None) -> ModuleInfo:
        """Describe a module without opening it, from a worker process.

        Its constructors and entry function run in the worker (its init never runs), never in
        this process. A constructor that exits is ``WorkerExitedError``, one that crashes
        ``WorkerCrashedError``, silence past ``timeout`` seconds (default 10) ``TimeoutError``,
        a lying descriptor ``AbiMismatchError``. Found as ``open`` finds it. ``timeout`` must be
        positive and at most one year, else ``InvalidArgumentError`` with the core's message
        ("inspect deadline must be positive and at most one year, got 0 ns").
        """
    def inspect_in_process(self, spec: _Path, /) -> ModuleInfo:
        """``inspect`` in this process: the module's constructors run here. Prefer ``inspect``."""
    def add_module_dir(self, path: _Path, /) -> None:
        """Add a directory searched for modules by name (after ``module_dirs``).

        ``NotFoundError`` if it does not exist, ``InvalidArgumentError`` if it is not a directory.
        """
    def close(self) -> None:
        """Close the host (idempotent)."""
    @property
    def closed(self) -> bool:
        """True once closed."""
    def counters(self) -> Dict[str, int]:
        """Counters summed over every module this host opened."""
    def __enter__(self) -> "Host": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None: ...
    async def aclose(self) -> None:
        """``close()`` on a worker thread: never blocks the event loop."""
    async def __aenter__(self) -> "Host": ...
    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None: ...

class ModuleInfo:
    """What a module declares, as ``Host.inspect`` found it (validated, not opened)."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def abi_version(self) -> int: ...
    @property
    def thread_model(self) -> str:
        """``"thread-safe"``, ``"serialized"`` or ``"single-thread"``."""
    @property
    def stateful(self) -> bool: ...
    @property
    def typed(self) -> bool:
        """True when the module embeds a typed interface."""
    @property
    def methods(self) -> List[str]: ...
    @property
    def nonblocking(self) -> List[str]:
        """The methods the module promises never block."""

class Module:
    """An open module. Obtained from ``Host.open``."""

    def method(self, name: str) -> Method:
        """Resolve a method by name, once (``NotFoundError`` if it does not exist)."""
    def typed(
        self,
        *,
        records: Optional[Mapping[str, type]] = None,
        enums: Optional[Mapping[str, type]] = None,
        flags: Optional[Mapping[str, type]] = None,
        variants: Optional[Mapping[str, Mapping[str, type]]] = None,
    ) -> TypedView:
        """The typed view of the module's embedded interface (``bridgehost.typed``).

        ``InvalidArgumentError`` if the module has no interface (bytes-only).

        ``records`` binds your classes to record types, by WIT name: the view builds results of
        that record as ``cls(*fields)`` (fields in declaration order: a dataclass declaring them
        in that order fits) and reads an argument that is an instance of ``cls`` by attribute.
        Records not named get the view's frozen dataclasses (``view.types``). A name that is not
        a record of the interface is ``InvalidArgumentError``; a value that is not a class,
        ``TypeError``. Generated bindings pass their record classes here.

        ``enums``, ``flags`` and ``variants`` bind classes to those types, by WIT name, for
        results only (arguments still take the view's values: a case name, a collection of flag
        names, a ``Variant``): an enum's value of case ``c`` is the object ``cls("c")`` (made
        once, when the view is built: an ``enum.Enum`` whose values are the WIT case names fits);
        a flags value is ``cls(bits)``, bit ``k`` set for the ``k``-th flag present (an
        ``enum.Flag`` whose ``k``-th member is ``1 << k`` fits); a variant maps every case name
        to a class, and a value is ``cls(payload)``, or ``cls()`` for a case without payload.
        Refusals as for ``records`` (a variant missing a case is ``InvalidArgumentError``; so is
        a class that refuses an enum case or a single flag when the view is built). Generated
        bindings pass their enums, flags and variant case classes here.
        """
    def check_binding(self, binding: str) -> None:
        """Check that the module serves bindings generated from the WIT text ``binding``.

        ``AbiMismatchError`` naming the first difference if it cannot (docs/TYPED.md,
        "Versioning"); generated bindings call it when they open.
        """
    def subscribe(self, topic: str, callback: Callable[[str, bytes], object]) -> Subscription:
        """Deliver events on ``topic`` (``"*"``: every topic) to ``callback(topic, data)``.

        The callback runs on bridgehost's dispatcher thread with the GIL held
        for the call only; exceptions go to ``sys.unraisablehook``.
        """
    def close(self) -> None:
        """Close the module (idempotent); waits for calls in flight."""
    @property
    def closed(self) -> bool: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def thread_model(self) -> Literal["thread-safe", "serialized", "single-thread"]: ...
    @property
    def isolation(self) -> _Isolation: ...
    @property
    def methods(self) -> List[str]: ...
    @property
    def interface_text(self) -> Optional[str]:
        """The WIT text of the module's typed interface, as embedded (``typed().interface.text``);
        ``None`` for a bytes-only module. Read at open: still answers after ``close()``."""
    @property
    def host(self) -> Host: ...
    def counters(self) -> Dict[str, int]: ...
    def flush(self, timeout: Optional[float] = None) -> None:
        """Wait until every event emitted so far has been delivered.

        ``timeout`` in seconds: 0 (what was delivered already, without waiting) up to one year;
        ``None``: no limit. Any other value is ``InvalidArgumentError`` with the core's message
        ("flush timeout must be at most one year, got -1000000000 ns").
        """
    def __enter__(self) -> "Module": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None: ...
    async def aclose(self) -> None:
        """``close()`` on a worker thread: never blocks the event loop."""
    async def __aenter__(self) -> "Module": ...
    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None: ...

class Method:
    """A resolved method. ``method(data)`` is ``method.call(data)``.

    ``data`` is any C-contiguous bytes-like object: ``bytes`` is read in
    place, a mutable buffer is copied first (another thread may write it, with
    or without the GIL); its buffer stays exported (unresizable) for the whole call. A ``SharedBuffer`` is
    read in place, by an isolated worker too (``submit`` copies it).
    """

    def call(self, data: _Input, /) -> bytes:
        """Call on this thread; GIL released unless ``keeps_gil``."""
    def __call__(self, data: _Input, /) -> bytes: ...
    def call_released(self, data: _Input, /) -> bytes:
        """Like ``call`` but always releases the GIL."""
    def call_into(self, data: _Input, out: Buffer, /) -> int:
        """Write the output into the writable buffer ``out``; return its length.

        Raises ``BufferTooSmallError`` (with ``required``) if it does not fit.
        """
    def submit(self, data: _Input, /) -> SubmitFuture:
        """Run on bridgehost's pool; a ``concurrent.futures.Future[bytes]``.

        Only an unusable ``data`` raises (``TypeError``, ``InvalidArgumentError``);
        a refused submit (``ClosedError``, ``OverloadedError``, ``ResourceLimitError``)
        is the future's exception, like every failure of the call.
        """
    def submit_async(self, data: _Input, /) -> "asyncio.Future[bytes]":
        """Run on bridgehost's pool; an ``asyncio.Future`` of the running loop.

        Raises as ``submit`` does, and ``RuntimeError`` without a running loop.
        """
    def call_scalar(self, *slots: int) -> int:
        """Call a method that has a ``scalar_signature`` with one 64-bit slot per argument
        (an ``int`` from -2**63 to 2**64 - 1; a negative one is its two's complement); return
        the result's slot (0 without a result). docs/TYPED.md, "Direct calls", gives the slots;
        the typed view and generated bindings call it for such functions.
        """
    def scalar_signature(self) -> Optional[str]:
        """``"(u32, u32) -> u32"`` (``"(u32)"`` without a result) when the method's typed
        function takes at most 8 scalars and returns none or one; else ``None``."""
    @property
    def name(self) -> str: ...
    @property
    def nonblocking(self) -> bool: ...
    @property
    def keeps_gil(self) -> bool: ...
    @property
    def module(self) -> Module: ...
    def close(self) -> None:
        """Close this handle (idempotent); later calls raise ``ClosedError``."""
    @property
    def closed(self) -> bool:
        """True once this method, its module or its host was closed."""
    def __enter__(self) -> "Method": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None: ...

class Subscription:
    """An event subscription; see ``Module.subscribe``."""

    def unsubscribe(self) -> None:
        """Stop deliveries; when it returns the callback never runs again."""
    def close(self) -> None:
        """Same as ``unsubscribe()``."""
    @property
    def active(self) -> bool: ...
    @property
    def topic(self) -> str: ...
    def __enter__(self) -> "Subscription": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None: ...
    async def aclose(self) -> None:
        """``close()`` on a worker thread: never blocks the event loop."""
    async def __aenter__(self) -> "Subscription": ...
    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None: ...

class Interface:
    """A parsed WIT interface (``bridgehost.typed.Interface``).

    ``Interface(text)`` parses and validates WIT text as a module embeds it
    (``InvalidArgumentError`` naming the reason if it is refused).
    """

    def __init__(self, text: str) -> None: ...
    @property
    def package(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def hash(self) -> str:
        """SHA-256 of the canonical form, 64 hex digits."""
    @property
    def text(self) -> str: ...
    @property
    def type_names(self) -> List[str]: ...
    def record_class(self, name: str) -> Type[Any]:
        """The frozen dataclass of record ``name`` (its WIT name)."""
    def encode(self, type_name: str, value: object) -> bytes:
        """Encode ``value`` as the named type (wire format, docs/TYPED.md)."""
    def decode(self, type_name: str, data: Buffer) -> Any:
        """Decode hostile bytes as the named type (``InvalidArgumentError`` if they do not)."""

class TypedFunction:
    """A function of a module's interface. ``f(*args, **kwargs)`` is ``f.call(*args, **kwargs)``."""

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """Check and encode the arguments, call, decode the result.

        A parameter is given by position or by its Python name (``interval-ms`` is
        ``interval_ms``), once.

        A wrong number or type of arguments is ``TypeError``, a value out of range
        ``InvalidArgumentError``, both naming the parameter. A ``result<T, E>`` returns
        ``T`` or raises ``TypedModuleError`` carrying ``E``; output that does not decode
        is ``AbiMismatchError``.
        """
    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...
    def submit(self, *args: Any, **kwargs: Any) -> "concurrent.futures.Future[Any]":
        """Run on bridgehost's pool: a ``concurrent.futures.Future`` of the result.

        The arguments are checked and encoded first (raising as ``call``); a refused
        submit is the future's exception, as for ``Method.submit``.
        """
    def submit_async(self, *args: Any, **kwargs: Any) -> "asyncio.Future[Any]":
        """Run on bridgehost's pool: an ``asyncio.Future`` of the running loop."""
    @property
    def name(self) -> str: ...
    @property
    def signature(self) -> str:
        """The WIT signature, e.g. ``add: func(a: u32, b: u32) -> u32``."""
    @property
    def method(self) -> Method: ...

class TypedView:
    """``Module.typed()``: the interface's plain functions as attributes (Python names:
    ``-`` becomes ``_``, a keyword gets a trailing ``_``)."""

    def __getattr__(self, name: str) -> TypedFunction: ...
    def function(self, name: str) -> TypedFunction:
        """A function by its method name (also ``[method]R.name`` and the like)."""
    @property
    def functions(self) -> List[str]: ...
    @property
    def interface(self) -> Interface: ...
    @property
    def events(self) -> List[str]:
        """Every event topic the interface declares."""
    def subscribe(self, topic: str, callback: Callable[[str, Any], object]) -> Subscription:
        """``Module.subscribe`` with the payload decoded: ``callback(topic, value)``.

        A topic the interface does not declare is ``NotFoundError``; a payload that does
        not decode is ``AbiMismatchError`` raised in the delivery (``sys.unraisablehook``,
        ``callback_errors``), and the callback is not called for it.
        """
    @property
    def types(self) -> Any:
        """The record dataclasses by class name (``types.Summary``)."""
    @property
    def module(self) -> Module: ...

class TypedListener:
    """The callback ``TypedView.subscribe`` registers with ``Module.subscribe``: decodes one
    delivery and calls the user's callback with the value."""

    def __call__(self, topic: str, data: bytes) -> Any: ...

class SharedBuffer:
    """Memory you write and isolated workers read in place (docs/PYTHON.md).

    ``SharedBuffer(n)``: ``n`` (> 0) zero bytes. Pass it as a call's input and an
    isolated worker reads it without a copy (an input of at most 64 KiB is copied, as any). Write it with ``buf[i:j] = data``
    (exactly ``j - i`` bytes) or ``buf[i] = n``; ``BufferError`` while a call reads
    it. Read it with ``buf[i]`` (an int) or ``buf[i:j]`` / ``bytes(buf)`` (copies).
    A worker it was lent to can read everything written into it later, until it is closed.

    ``close()`` (or the end of ``with SharedBuffer(n) as buf:``) frees the memory; idempotent.
    It returns at once: a call reading the buffer then finishes with it, and the memory is freed
    when the last such call returns. Afterwards every use (read, write, a call given it) raises
    ``ClosedError``; ``len(buf)`` still answers.
    """

    def __init__(self, length: int) -> None: ...
    def close(self) -> None:
        """Free the memory (idempotent); calls reading it now finish first, with their bytes."""
    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
    def __enter__(self) -> "SharedBuffer": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None: ...
    def __len__(self) -> int:
        """Its length in bytes (fixed; still answers after ``close()``)."""
    @overload
    def __getitem__(self, key: int, /) -> int: ...
    @overload
    def __getitem__(self, key: slice, /) -> bytes: ...
    @overload
    def __setitem__(self, key: int, value: int, /) -> None: ...
    @overload
    def __setitem__(self, key: slice, value: Union[Buffer, SharedBuffer], /) -> None: ...
    def __bytes__(self) -> bytes: ...

_Input = Union[Buffer, SharedBuffer]
"""A call's input: any C-contiguous bytes-like object, or a ``SharedBuffer``."""

class SubmitHandle:
    def cancel(self) -> bool: ...
    def _on_future_done(self, fut: "asyncio.Future[bytes]") -> None: ...

def flush_logs(timeout: float = 5.0) -> bool: ...
def _shutdown() -> int: ...
def _before_fork() -> None: ...
def _after_fork_parent() -> None: ...
def _after_fork_child() -> None: ...
def _set_core_log_level(level: int) -> None: ...
def _debug_panic(message: str) -> None: ...
def _debug_state() -> Tuple[int, int]: ...
def _input_is_borrowed(obj: object) -> bool: ...
