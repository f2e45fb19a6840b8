"""The installed package: bundled natives, typing files, stubs matching the runtime."""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
from pathlib import Path

import bridgehost
from bridgehost import _native

PKG = Path(bridgehost.__file__).parent


def test_wheel_carries_bundled_modules_and_typing_files():
    for f in ("libbridgehost_mod_std.so", "libbridgehost_mod_zlib.so", "libbridgehost_mod_sqlite.so",
              "py.typed", "_native.pyi"):
        assert (PKG / f).is_file(), f"{f} missing from {PKG}"
    assert not (PKG / "libbridgehost_mod_faulty.so").exists(), "test-only module must not ship"


def test_bundled_modules_are_found_beside_the_extension():
    # Without BRIDGEHOST_MODULE_PATH the core must find them next to _native.
    env = {k: v for k, v in os.environ.items() if k != "BRIDGEHOST_MODULE_PATH"}
    code = (
        "import bridgehost, os\n"
        "with bridgehost.Host() as h:\n"
        "    for n in ('std', 'zlib', 'sqlite'):\n"
        "        print(os.path.dirname(os.path.realpath(h.open(n).path)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(PKG.resolve())] * 3


def test_worker_ships_when_built():
    w = PKG / "bridgehost-worker"
    if w.exists():
        assert os.access(w, os.X_OK)


def _stub_classes():
    tree = ast.parse((PKG / "_native.pyi").read_text())
    classes = {}
    funcs = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            classes[node.name] = {
                n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            }
        elif isinstance(node, ast.FunctionDef):
            funcs.add(node.name)
    return classes, funcs


def test_stubs_match_the_runtime():
    classes, funcs = _stub_classes()
    runtime_classes = {n for n, v in vars(_native).items() if inspect.isclass(v)}
    assert set(classes) == runtime_classes
    for name, members in classes.items():
        cls = getattr(_native, name)
        runtime = {
            n for n, v in vars(cls).items() if not n.startswith("__") or n in ("__call__", "__enter__", "__exit__", "__aenter__", "__aexit__")
        }
        runtime.discard("__module__")
        if "__getattribute__" in vars(cls):  # PyO3 exposes __getattr__ as the tp_getattro slot
            runtime.add("__getattr__")
        # Protocol methods the stub declares (``__len__``, ``__getitem__``, ...) must exist at
        # run time; everything else must match exactly.
        protocol = {m for m in members if m.startswith("__") and m not in runtime and m != "__init__"}
        assert all(m in vars(cls) for m in protocol), (name, protocol - set(vars(cls)))
        stub = {m for m in members if m != "__init__"} - protocol
        assert stub == runtime - {"__doc__", "__new__"}, name
    runtime_funcs = {n for n, v in vars(_native).items() if callable(v) and not inspect.isclass(v)}
    assert funcs == runtime_funcs


def test_constructor_signatures_on_every_version():
    # inspect.signature (and help's heading) of the native classes. CPython before 3.10 drops the
    # signature line PyO3 writes into a heap type's doc, so there the package installs the
    # signatures of bridgehost._signatures; from 3.10 the native text signature is used, and this
    # compares it with that table (which keeps the 3.9 copy in step with py-bridge/src).
    from bridgehost import _signatures

    assert set(_signatures.SIGNATURES) == {
        bridgehost.Host, bridgehost.SharedBuffer, bridgehost.typed.Interface, bridgehost.typed.TypedFunction
    }
    for cls, expected in _signatures.SIGNATURES.items():
        assert inspect.signature(cls) == expected, cls
        if sys.version_info >= (3, 10):
            assert "__signature__" not in vars(cls), cls
    # The class's signature only: not its instances' (a TypedFunction is a callable of its own).
    with bridgehost.Host() as host:
        add = host.open("std").typed().add
        assert not hasattr(add, "__signature__")
        assert not hasattr(host, "__signature__")
    assert not hasattr(bridgehost.SharedBuffer(4), "__signature__")


def test_public_api():
    for name in bridgehost.__all__:
        assert hasattr(bridgehost, name), name
    assert bridgehost.Host.__module__ == "bridgehost"
    assert bridgehost.Host.__doc__ and bridgehost.Method.call.__doc__
    assert isinstance(bridgehost.__version__, str)
