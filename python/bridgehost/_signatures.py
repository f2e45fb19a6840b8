"""Constructor signatures of the native classes, for ``inspect.signature`` on CPython 3.9.

PyO3 writes a class's constructor signature into its docstring (``Host(*, module_dirs=None, ...)``
then ``--``), where CPython's ``type.__text_signature__`` finds it. Before 3.10,
``PyType_FromSpec`` strips that line from the doc of a heap type, and under the stable ABI
(the wheel is abi3-py39) PyO3 cannot put it back: on 3.9 the classes have no
``__text_signature__``, so ``inspect.signature(bridgehost.Host)`` (and ``help``'s heading) fails
with ``ValueError: no signature found for builtin type``. There :func:`install` gives each class
listed here a ``__signature__`` that reads the same. On 3.10 and later nothing is installed: the
native text signature is used, and the tests compare it with :data:`SIGNATURES`, which keeps the two
in step.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, Dict, Optional

from ._native import Host, Interface, SharedBuffer, TypedFunction

_KW = inspect.Parameter.KEYWORD_ONLY
_POS = inspect.Parameter.POSITIONAL_OR_KEYWORD

#: The signature of each native class's constructor, as its ``#[new]`` declares it in py-bridge/src.
SIGNATURES: Dict[type, inspect.Signature] = {
    Host: inspect.Signature([
        inspect.Parameter(name, _KW, default=None)
        for name in ("module_dirs", "submit_threads", "submit_queue_capacity", "event_queue_capacity",
                     "thread_name", "event_queue_bytes")
    ]),
    SharedBuffer: inspect.Signature([inspect.Parameter("length", _POS)]),
    Interface: inspect.Signature([inspect.Parameter("text", _POS)]),
    TypedFunction: inspect.Signature([]),
}


class _ClassSignature:
    """A ``__signature__`` for the class itself only: instances (a ``TypedFunction`` is callable and
    has its own calling convention) and subclasses do not see it, as they do not see the class's
    ``__text_signature__`` on 3.10 and later."""

    def __init__(self, owner: type, signature: inspect.Signature) -> None:
        self._owner = owner
        self._signature = signature

    def __get__(self, obj: Any, owner: Optional[type] = None) -> inspect.Signature:
        if obj is None and owner is self._owner:
            return self._signature
        raise AttributeError("__signature__")


def install() -> None:
    """On CPython before 3.10, give the classes of :data:`SIGNATURES` their ``__signature__``."""
    if sys.version_info >= (3, 10):
        return
    for cls, signature in SIGNATURES.items():
        if getattr(cls, "__text_signature__", None) is None:
            setattr(cls, "__signature__", _ClassSignature(cls, signature))
