"""Futures for ``Method.submit`` / ``Method.submit_async`` (used by the extension)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Generator, Optional

from .errors import CancelledError as _BhCancelled


class SubmitFuture(concurrent.futures.Future[bytes]):
    """A ``concurrent.futures.Future`` whose ``cancel()`` reaches the core.

    ``cancel()`` returns True if the call had not started (it then never
    runs) or if it is a running isolated call (its worker is killed and
    replaced). A running in-process call cannot be interrupted (in-process
    code cannot be stopped safely), so ``cancel()`` returns False and the
    result arrives as usual. ``running()`` is always False: the state is not
    observed while the call runs.
    """

    def __init__(self) -> None:
        super().__init__()
        self._bh_handle: Any = None
        self._bh_lock = threading.Lock()

    def cancel(self) -> bool:
        with self._bh_lock:
            if self.done():
                return self.cancelled()
            handle = self._bh_handle
            if handle is None or not handle.cancel():
                return False
            # The core will never run it: finish the future as cancelled and
            # wake waiters (concurrent.futures.wait / as_completed).
            super().cancel()
            self.set_running_or_notify_cancel()
            return True


class OwningSubmitFuture(SubmitFuture):
    """The ``SubmitFuture`` of a typed function whose result holds owned handles
    (``own<R>``): until its result or exception is read, the future owns those handles, and
    if it is collected unread the handles are dropped (``[resource-drop]R`` submitted, as a
    ``Resource``'s finalizer does). docs/TYPED.md, "Resources (handles)"."""

    def __init__(self) -> None:
        super().__init__()
        #: The result's ``OwnedHandles`` (``_native``), None without handles.
        self._bh_owned: Any = None

    def _bh_claim(self) -> None:
        if self._bh_owned is not None:
            self._bh_owned.claim()

    def result(self, timeout: Optional[float] = None) -> bytes:
        try:
            return super().result(timeout)
        finally:
            if self.done():
                self._bh_claim()

    def exception(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        e = super().exception(timeout)
        if e is not None:
            self._bh_claim()
        return e


class OwnedFuture(asyncio.Future[Any]):
    """The ``asyncio.Future`` of a typed function whose result holds owned handles: the
    handles of a result nobody receives are dropped, never left to the module's close.

    * cancelled before the call completed (a running in-process call cannot be stopped): the
      completion finds the future done and drops the handles (``_settle``);
    * completed, but the awaiting task was cancelled before it resumed (the task then raises
      ``CancelledError`` instead of returning the result): ``__await__`` drops them;
    * never awaited and never read (``result()`` / ``exception()`` hand the handles over):
      dropped when the future is collected.
    """

    def __init__(self, *, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop=loop)
        self._bh_owned: Any = None

    def _bh_claim(self) -> None:
        if self._bh_owned is not None:
            self._bh_owned.claim()

    def _bh_release(self) -> None:
        owned, self._bh_owned = self._bh_owned, None
        if owned is not None:
            owned.release()

    def result(self) -> Any:
        try:
            return super().result()
        finally:
            if self.done():
                self._bh_claim()

    def exception(self) -> Optional[BaseException]:
        e = super().exception()
        if e is not None:
            self._bh_claim()
        return e

    def __await__(self) -> Generator[Any, None, Any]:
        if not self.done():
            self._asyncio_future_blocking = True
            try:
                yield self
            except BaseException:
                # The awaiting task was cancelled (or had another exception thrown in). If the
                # result is already here, nobody will receive it: drop its handles now. (The
                # task's wakeup may have called result() first; that was not a delivery.)
                if self.done() and not self.cancelled():
                    self._bh_release()
                raise
        if not self.done():
            raise RuntimeError("await wasn't used with future")
        return self.result()

    __iter__ = __await__


def _complete(
    fut: SubmitFuture,
    value: Optional[bytes],
    exc: Optional[BaseException],
    owned: Any = None,
) -> None:
    """Completion of ``submit`` (runs on a bridgehost pool thread with the GIL). ``owned``: the
    ``_OwnedHandles`` of a typed result holding owned handles (an ``OwningSubmitFuture``)."""
    if owned is not None:
        fut._bh_owned = owned  # type: ignore[attr-defined]
    if exc is None:
        # Typed views complete the same futures with their decoded results
        # (None for a function without one), not only bytes.
        fut.set_result(value)  # type: ignore[arg-type]
    elif isinstance(exc, _BhCancelled):
        # Only SubmitFuture.cancel() cancels in the core, and it finishes the
        # future itself.
        return
    else:
        fut.set_exception(exc)


def _settle(
    fut: "asyncio.Future[bytes]",
    value: Optional[bytes],
    exc: Optional[BaseException],
    owned: Any = None,
) -> None:
    if fut.done():  # cancelled by its awaiter meanwhile
        if owned is not None:
            # Nobody will receive this result: drop the handles it holds.
            owned.release()
        return
    if owned is not None:
        fut._bh_owned = owned  # type: ignore[attr-defined]
    if exc is None:
        fut.set_result(value)  # type: ignore[arg-type]
    elif isinstance(exc, _BhCancelled):
        fut.cancel()
    else:
        fut.set_exception(exc)


def _complete_async(
    loop: asyncio.AbstractEventLoop,
    fut: "asyncio.Future[bytes]",
    value: Optional[bytes],
    exc: Optional[BaseException],
    owned: Any = None,
) -> None:
    """Completion of ``submit_async``: hand the outcome to the loop's thread."""
    try:
        loop.call_soon_threadsafe(_settle, fut, value, exc, owned)
    except RuntimeError:
        # The loop is closed: nobody can await this future any more.
        if owned is not None:
            owned.release()


def _transfer(src: OwningSubmitFuture, dest: OwnedFuture) -> None:
    """On the loop's thread: move ``src``'s outcome and its owned handles to ``dest``."""
    if src.cancelled():
        if not dest.done():
            dest.cancel()
        return
    owned, src._bh_owned = src._bh_owned, None
    exc = concurrent.futures.Future.exception(src)
    value = None if exc is not None else concurrent.futures.Future.result(src)
    _settle(dest, value, exc, owned)


def wrap_owned(src: "concurrent.futures.Future[Any]") -> "asyncio.Future[Any]":
    """``asyncio.wrap_future(src)``, except that for an ``OwningSubmitFuture`` the handles of a
    result the awaiter never receives are dropped (``OwnedFuture``), as ``submit_async``'s are."""
    if not isinstance(src, OwningSubmitFuture):
        return asyncio.wrap_future(src)
    loop = asyncio.get_running_loop()
    dest = OwnedFuture(loop=loop)

    def dest_done(d: "asyncio.Future[Any]") -> None:
        if d.cancelled():
            src.cancel()

    def src_done(_: "concurrent.futures.Future[Any]") -> None:
        try:
            loop.call_soon_threadsafe(_transfer, src, dest)
        except RuntimeError:
            # The loop is closed: the handles stay with src, dropped when it is collected.
            pass

    dest.add_done_callback(dest_done)
    src.add_done_callback(src_done)
    return dest


async def _aclose(obj: Any) -> None:
    """``await obj.aclose()`` / ``async with``: run the blocking ``close()``
    (it waits for calls in flight) on the loop's default executor."""
    await asyncio.get_running_loop().run_in_executor(None, obj.close)


async def _aenter(obj: Any) -> Any:
    return obj
