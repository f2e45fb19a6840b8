"""Modules shipped by other distributions: the ``bridgehost.modules`` entry-point group.

A distribution that ships a bridgehost module declares it in its ``pyproject.toml``::

    [project.entry-points."bridgehost.modules"]
    acme_greeter = "acme_greeter"             # the package directory holds the .so
    # or: acme_greeter = "acme_greeter:native/libbridgehost_mod_acme_greeter.so"

The entry's name is the module name (``Host.open("acme_greeter")``); its value is an importable
package whose directory holds ``libbridgehost_mod_NAME.so``, or ``package:relative/path.so`` naming
the file inside the package, or an absolute path to the file. ``Host.open(name)`` consults the
group (``importlib.metadata``) only when the name is not found in the host's module directories,
``BRIDGEHOST_MODULE_PATH`` or beside the bridge (docs/MODULES.md, "Shipping").
"""

from __future__ import annotations

import importlib.resources
import os
import sys
from importlib import metadata
from typing import List, Optional

from .errors import InvalidArgumentError, NotFoundError

GROUP = "bridgehost.modules"


def _entries(name: str) -> List[metadata.EntryPoint]:
    if sys.version_info >= (3, 10):
        eps = metadata.entry_points(group=GROUP)
    else:  # pragma: no cover - Python 3.9: a dict of groups
        eps = metadata.entry_points().get(GROUP, ())
    return [ep for ep in eps if ep.name == name]


def _resolve(name: str, ep: metadata.EntryPoint) -> str:
    value = ep.value.strip()
    if os.path.isabs(value):
        path = value
    else:
        package, _, resource = value.partition(":")
        package = package.strip()
        resource = resource.strip() or f"libbridgehost_mod_{name}.so"
        if not package or os.path.isabs(resource) or ".." in resource.split("/"):
            raise InvalidArgumentError(
                f"invalid argument: entry point {ep.name} = {ep.value!r} in group {GROUP!r}: expected "
                "'package', 'package:relative/path.so' or an absolute path"
            )
        try:
            root = importlib.resources.files(package)
        except (ImportError, TypeError) as e:
            raise NotFoundError(
                f"module {name!r}: entry point {ep.name} = {ep.value!r}: cannot import {package!r}: {e}"
            ) from e
        target = root
        for part in resource.split("/"):
            target = target.joinpath(part)
        if not isinstance(target, os.PathLike):
            raise NotFoundError(
                f"module {name!r}: entry point {ep.name} = {ep.value!r}: package {package!r} "
                "is not installed as files on disk (a zip import cannot load a module)"
            )
        path = os.fspath(target)
    if not os.path.isfile(path):
        raise NotFoundError(
            f"module {name!r}: entry point {ep.name} = {ep.value!r} in group {GROUP!r} "
            f"names {path}, which is not a file"
        )
    return path


def find(name: str) -> Optional[str]:
    """The file of module ``name`` declared in the ``bridgehost.modules`` group, or None.

    The first entry named ``name`` wins. ``NotFoundError`` if it names a file that does not
    exist, ``InvalidArgumentError`` if its value is malformed.
    """
    entries = _entries(name)
    if not entries:
        return None
    return _resolve(name, entries[0])
