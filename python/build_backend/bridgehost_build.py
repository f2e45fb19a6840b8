"""PEP 517 backend for the bridgehost wheel: maturin, plus the natives it must carry.

The extension ``bridgehost._native`` finds bundled modules and the worker
executable in *its own directory* (the core asks the dynamic linker where the
library it is linked into lives). So the wheel must carry, next to
``_native.abi3.so``::

    libbridgehost_mod_std.so    the Rust std module   (cargo, crate bridgehost-mod-std)
    libbridgehost_mod_zlib.so   the C zlib module     (make -C plugins)
    libbridgehost_mod_sqlite.so the C sqlite module   (make -C plugins)
    bridgehost-worker           the isolation worker  (cargo, crate bridgehost-worker)

Before delegating to maturin, this backend builds them from the repository
this ``python/`` directory belongs to and copies them into ``bridgehost/``,
where ``[tool.maturin] include`` picks them up. (maturin itself only builds
the one crate named by ``manifest-path``; a cargo build script cannot build
sibling workspace crates without deadlocking on cargo's lock.)

Environment:

``BRIDGEHOST_NATIVE_DIR``
    Take the natives from this directory (e.g. ``target/dist`` staged by
    ``scripts/build.sh``; a relative path is taken from the repository root)
    instead of building them.
``BRIDGEHOST_NATIVE_PROFILE``
    ``release`` (default) or ``debug``: the cargo profile for the natives.

Test-only modules (``faulty``) are never packed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import maturin as _maturin

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent  # python/
PACKAGE = PROJECT / "bridgehost"
REPO = PROJECT.parent

MODULES = ("std", "zlib", "sqlite")
WORKER = "bridgehost-worker"
CRATES = {"bridgehost-mod-std": "libbridgehost_mod_std.so", "bridgehost-worker": WORKER}


def _log(msg: str) -> None:
    print(f"[bridgehost build] {msg}", file=sys.stderr, flush=True)


def _run(cmd: list[str], **kw) -> None:
    _log("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, **kw)


def _workspace_packages(cargo: str) -> set[str]:
    out = subprocess.run(
        [cargo, "metadata", "--no-deps", "--format-version", "1"],
        cwd=REPO,
        check=True,
        stdout=subprocess.PIPE,
    ).stdout
    return {p["name"] for p in json.loads(out)["packages"]}


def _copy(src: Path, dst_dir: Path, strip: bool = False) -> None:
    # Copy to a temporary name, then rename: a process that has the old file
    # mapped keeps it intact.
    tmp = dst_dir / f".{src.name}.tmp"
    shutil.copy2(src, tmp)
    if strip and shutil.which("strip"):
        # The wheel ships without debug info (the release profile keeps it).
        subprocess.run(["strip", "--strip-debug", str(tmp)], check=True)
    os.replace(tmp, dst_dir / src.name)
    _log(f"staged {src} -> {dst_dir / src.name}")


def _clean_staged() -> None:
    for p in PACKAGE.glob("libbridgehost_mod_*.so"):
        p.unlink()
    w = PACKAGE / WORKER
    if w.exists():
        w.unlink()


def _build_natives() -> Path:
    """Build the natives from the repository; return the directory holding them."""
    if not (REPO / "Cargo.toml").is_file():
        raise RuntimeError(
            f"{REPO} is not the bridgehost repository (no Cargo.toml): the wheel is built "
            "from a checkout; or set BRIDGEHOST_NATIVE_DIR to prebuilt natives"
        )
    profile = os.environ.get("BRIDGEHOST_NATIVE_PROFILE", "release")
    if profile not in ("release", "debug"):
        raise RuntimeError("BRIDGEHOST_NATIVE_PROFILE must be 'release' or 'debug'")
    cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    out = target / "python-natives"
    out.mkdir(parents=True, exist_ok=True)

    present = _workspace_packages(cargo)
    if "bridgehost-mod-std" not in present:
        raise RuntimeError("crate bridgehost-mod-std is not in the workspace")
    crates = [c for c in CRATES if c in present]
    if "bridgehost-worker" not in present:
        _log("crate bridgehost-worker not in the workspace yet: the wheel has no worker "
             "(isolation='process' will raise NotFoundError/UnavailableError)")
    cmd = [cargo, "build"]
    if profile == "release":
        cmd.append("--release")
    for c in crates:
        cmd += ["-p", c]
    _run(cmd, cwd=REPO)
    for c in crates:
        _copy(target / profile / CRATES[c], out)
    _run(["make", "-s", "-C", str(REPO / "plugins"), f"OUT={out}"], cwd=REPO)
    return out


def _worker_crate_exists() -> bool:
    if not (REPO / "Cargo.toml").is_file():
        return False
    cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
    return "bridgehost-worker" in _workspace_packages(cargo)


def _stage() -> None:
    src = os.environ.get("BRIDGEHOST_NATIVE_DIR")
    if src:
        src_dir = Path(src)
        if not src_dir.is_absolute():
            # pip runs the backend in python/: a relative path is taken from
            # the repository root (e.g. BRIDGEHOST_NATIVE_DIR=target/dist).
            src_dir = REPO / src_dir
        src_dir = src_dir.resolve()
    else:
        src_dir = _build_natives()
    _clean_staged()
    missing = []
    for name in MODULES:
        f = src_dir / f"libbridgehost_mod_{name}.so"
        if f.is_file():
            _copy(f, PACKAGE, strip=True)
        else:
            missing.append(str(f))
    if missing:
        raise RuntimeError("bundled modules missing: " + ", ".join(missing))
    worker = src_dir / WORKER
    if worker.is_file():
        _copy(worker, PACKAGE, strip=True)
        os.chmod(PACKAGE / WORKER, 0o755)
    elif _worker_crate_exists():
        raise RuntimeError(
            f"{worker} missing although the workspace has the bridgehost-worker crate: "
            "a wheel without it could not run isolated modules"
        )


# ---- PEP 517 hooks: stage, then let maturin do the rest ---------------------------------


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _stage()
    return _maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    _stage()
    return _maturin.build_editable(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory, config_settings=None):
    return _maturin.build_sdist(sdist_directory, config_settings)


get_requires_for_build_wheel = _maturin.get_requires_for_build_wheel
get_requires_for_build_editable = _maturin.get_requires_for_build_editable
get_requires_for_build_sdist = _maturin.get_requires_for_build_sdist
prepare_metadata_for_build_wheel = _maturin.prepare_metadata_for_build_wheel
prepare_metadata_for_build_editable = _maturin.prepare_metadata_for_build_editable
