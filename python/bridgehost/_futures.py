"""Futures for ``Method.submit`` / ``Method.submit_async`` (used by the extension)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Optional

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


def _complete(fut: SubmitFuture, value: Optional[bytes], exc: Optional[BaseException]) -> None:
    """Completion of ``submit`` (runs on a bridgehost pool thread with the GIL)."""
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


def _settle(fut: "asyncio.Future[bytes]", value: Optional[bytes], exc: Optional[BaseException]) -> None:
    if fut.done():  # cancelled by its awaiter meanwhile
        return
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
) -> None:
    """Completion of ``submit_async``: hand the outcome to the loop's thread."""
    try:
        loop.call_soon_threadsafe(_settle, fut, value, exc)
    except RuntimeError:
        # The loop is closed: nobody can await this future any more.
        pass


async def _aclose(obj: Any) -> None:
    """``await obj.aclose()`` / ``async with``: run the blocking ``close()``
    (it waits for calls in flight) on the loop's default executor."""
    await asyncio.get_running_loop().run_in_executor(None, obj.close)


async def _aenter(obj: Any) -> Any:
    return obj
