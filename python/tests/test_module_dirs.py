"""Modules found by name beyond the bundled ones (issue 14 item 4): ``Host.add_module_dir`` on a
live host, and the ``bridgehost.modules`` entry-point group of installed distributions.

Each module here is a copy of the bundled std module under a name found nowhere else, so the
open before the mechanism is ``NotFoundError`` (checked to fail with the fallback removed from
``Host.open``: the entry-point test then gets ``NotFoundError``).
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path

import pytest

import bridgehost

STD = os.path.join(os.path.dirname(bridgehost.__file__), "libbridgehost_mod_std.so")


def test_add_module_dir_searches_a_live_host(host: bridgehost.Host, tmp_path: Path) -> None:
    shutil.copy(STD, tmp_path / "libbridgehost_mod_py_added_probe.so")
    with pytest.raises(bridgehost.NotFoundError):
        host.open("py_added_probe")
    with pytest.raises(bridgehost.NotFoundError):
        host.add_module_dir(tmp_path / "missing")
    with pytest.raises(bridgehost.InvalidArgumentError):
        host.add_module_dir(tmp_path / "libbridgehost_mod_py_added_probe.so")
    with pytest.raises(TypeError):
        host.add_module_dir(42)  # type: ignore[arg-type]
    host.add_module_dir(tmp_path)
    with host.open("py_added_probe") as m:
        assert m.method("echo").call(b"hi") == b"hi"


def _distribution(root: Path, name: str, value: str) -> None:
    """A minimal installed distribution on ``root`` declaring module ``name``."""
    info = root / f"acme_{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: acme-{name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[bridgehost.modules]\n{name} = {value}\n")


def test_entry_point_group_is_consulted(
    host: bridgehost.Host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(bridgehost.NotFoundError):
        host.open("py_ep_probe")
    pkg = tmp_path / "acme_py_ep_probe"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    shutil.copy(STD, pkg / "libbridgehost_mod_py_ep_probe.so")
    (pkg / "native").mkdir()
    shutil.copy(STD, pkg / "native" / "other.so")
    _distribution(tmp_path, "py_ep_probe", "acme_py_ep_probe")
    _distribution(tmp_path, "py_ep_res", "acme_py_ep_probe:native/other.so")
    _distribution(tmp_path, "py_ep_gone", "acme_py_ep_probe:native/gone.so")
    _distribution(tmp_path, "py_ep_bad", "acme_py_ep_probe:../escape.so")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    with host.open("py_ep_probe") as m:
        assert m.method("echo").call(b"ep") == b"ep"
    with host.open("py_ep_res") as m:
        assert m.method("echo").call(b"res") == b"res"
    with pytest.raises(bridgehost.NotFoundError, match="gone.so"):
        host.open("py_ep_gone")
    with pytest.raises(bridgehost.InvalidArgumentError):
        host.open("py_ep_bad")
    # Paths are never looked up in the group.
    with pytest.raises(bridgehost.NotFoundError):
        host.open("./py_ep_probe.so")


def test_every_module_directory_is_checked_by_the_cores_rule(
    host: bridgehost.Host, tmp_path: Path
) -> None:
    """Issue 17: an empty path is refused wherever a module directory is given (``Host`` used to
    accept ``module_dirs=[""]``), and a missing one is ``NotFoundError`` when the host is created,
    as ``add_module_dir`` already did."""
    with pytest.raises(bridgehost.InvalidArgumentError) as empty:
        bridgehost.Host(module_dirs=[tmp_path, ""])
    assert str(empty.value) == "invalid argument: module_dirs: entry 2 is empty"
    assert isinstance(empty.value, ValueError)
    with pytest.raises(bridgehost.NotFoundError) as missing:
        bridgehost.Host(module_dirs=[tmp_path / "missing"])
    assert f"module_dirs: entry 1 {tmp_path / 'missing'}: no such directory" in str(missing.value)
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(bridgehost.InvalidArgumentError, match="not a directory"):
        bridgehost.Host(module_dirs=[tmp_path / "file"])
    with pytest.raises(bridgehost.InvalidArgumentError, match="module directory is empty"):
        host.add_module_dir("")
