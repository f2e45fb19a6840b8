"""A C test module built from a WIT text, for the typed-view tests.

Every method echoes its input, except the ``raw-*`` methods, which return their input
without its first four bytes: their parameter is ``list<u8>``, so what they return is
exactly the bytes passed (the module decides what the host must decode: hostile output),
and the ``[resource-drop]*`` methods, which return nothing, as a drop must (with
``lying_drops=True`` they echo the handle too: 8 bytes of output a drop does not have).
The interface text, hash included, comes from :class:`bridgehost.typed.Interface`.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
from typing import Any, Dict, List, Tuple

import bridgehost
from bridgehost.typed import Err, Ok, Some, Variant

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "interface" / "golden"
HEADER_DIR = ROOT / "plugins" / "include"


def golden() -> Tuple[Dict[str, Any], str]:
    """vectors.json, and golden.wit with one ``type <section>-<i> = <type>;`` per vector."""
    doc = json.loads((GOLDEN / "vectors.json").read_text(encoding="utf-8"))
    wit = (GOLDEN / "golden.wit").read_text(encoding="utf-8")
    aliases = []
    for section, items in doc.items():
        if not isinstance(items, list):
            continue
        for i, v in enumerate(items):
            aliases.append(f"    type {section.replace('_', '-')}-{i} = {v['type']};\n")
    end = wit.rindex("}")
    return doc, wit[:end] + "".join(aliases) + wit[end:]


def c_string(text: str) -> str:
    out = []
    for ch in text:
        if ch == "\n":
            out.append("\\n")
        elif ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.append("".join(f"\\x{b:02x}" for b in ch.encode()))
    return '"' + "".join(out) + '"'


def can_build() -> bool:
    return shutil.which(os.environ.get("CC", "cc")) is not None and (HEADER_DIR / "bridgehost_module.h").is_file()


def _output(method: str, lying_drops: bool) -> str:
    """What ``method`` returns: 0 its input, 1 its input without the first four bytes, 2 nothing."""
    if method.startswith("raw-"):
        return "1"
    if method.startswith("[resource-drop]") and not lying_drops:
        return "2"
    return "0"


def build(directory: pathlib.Path, text: str, methods: List[str], name: str = "typedecho",
          lying_drops: bool = False) -> pathlib.Path:
    """Compile the module: ``methods`` (every function of ``text``, plus resource methods)."""
    iface = bridgehost.typed.Interface(text)
    hash_init = "{" + ",".join(f"0x{iface.hash[i:i + 2]}" for i in range(0, 64, 2)) + "}"
    table = ",\n    ".join(f'{{"{m}", 0, 0}}' for m in methods)
    output = ",".join(_output(m, lying_drops) for m in methods)
    # An interface with resources needs a stateful module (docs/TYPED.md, "Resources (handles)").
    flags = "BH_MODULE_STATEFUL" if any(m.startswith("[resource-drop]") for m in methods) else "0"
    src = f"""
#include "bridgehost_module.h"
#include <stdint.h>
#include <string.h>
#define EXPORT __attribute__((visibility("default")))
static const bh_host_api *g_api;
static const unsigned char output[] = {{{output}}};
static int32_t m_init(const bh_host_api *api, const uint8_t *config, size_t config_len,
                      void **instance_out, bh_call_ctx *err)
{{
    (void)config; (void)config_len; (void)err;
    g_api = api;
    *instance_out = (void *)1;
    return 0;
}}
static int32_t m_call(void *instance, uint32_t method_index, const uint8_t *input,
                      size_t input_len, bh_call_ctx *call)
{{
    (void)instance;
    if (output[method_index] == 2) return 0;
    size_t skip = output[method_index] == 1 ? 4 : 0;
    if (input_len < skip) return 22;
    return g_api->write(call, input + skip, input_len - skip) == BH_API_OK ? 0 : 1;
}}
static void m_destroy(void *instance) {{ (void)instance; }}
static const bh_method_desc methods[] = {{
    {table}
}};
static const bh_module_desc desc = {{
    BH_MODULE_MAGIC, BH_MODULE_ABI_VERSION, sizeof(bh_module_desc), BH_THREAD_SAFE,
    sizeof(methods) / sizeof(methods[0]), "{name}", "1.0", methods, m_init, m_call, m_destroy,
    {flags}, 0,
}};
EXPORT const bh_module_desc *bridgehost_module_v1(void) {{ return &desc; }}
static const char text[] = {c_string(text)};
static const bh_module_interface iface = {{
    sizeof(bh_module_interface), BH_INTERFACE_FORMAT_WIT, text, sizeof(text) - 1, {hash_init},
}};
EXPORT const bh_module_interface *bridgehost_module_interface(void) {{ return &iface; }}
"""
    c = directory / f"{name}.c"
    c.write_text(src, encoding="utf-8")
    so = directory / f"lib{name}.so"
    subprocess.run(
        [os.environ.get("CC", "cc"), "-std=c11", "-Wall", "-Werror", "-fPIC", "-shared",
         "-fvisibility=hidden", f"-I{HEADER_DIR}", str(c), "-o", str(so)],
        check=True,
    )
    return so


# --- the golden vectors' JSON form <-> the Python mapping, by type expression ---------------

_FLOATS = {"NaN": float("nan"), "inf": float("inf"), "-inf": float("-inf")}
_RECORDS = {"point": ("x", "y", "label")}
_VARIANTS = {"shape": {"circle": "f64", "rect": "tuple<u32, u32>", "none": None}}
_FLAGS = {"perms": ("read", "write", "exec"), "wide": tuple(f"f{i}" for i in range(9))}


def _split(args: str) -> List[str]:
    """Top-level comma-separated type expressions."""
    out, depth, cur = [], 0, ""
    for ch in args:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _inner(ty: str, head: str) -> str:
    return ty[len(head) + 1:-1]


def _result_sides(ty: str) -> Tuple[Any, Any]:
    if ty == "result":
        return None, None
    parts = _split(_inner(ty, "result"))
    ok = None if parts[0] == "_" else parts[0]
    err = parts[1] if len(parts) > 1 else None
    return ok, err


def to_py(ty: str, j: Any) -> Any:
    """The Python value the docs' mapping gives to JSON ``j`` of type ``ty`` (input form)."""
    if j is None and not ty.startswith("option<"):
        return None  # an invalid vector's missing payload
    if ty in ("f32", "f64"):
        return _FLOATS[j] if isinstance(j, str) else float(j)
    if ty == "list<u8>":
        return bytes(j)
    if ty.startswith("list<"):
        return [to_py(_inner(ty, "list"), x) for x in j]
    if ty.startswith("option<"):
        inner = _inner(ty, "option")
        if j is None:
            return None
        if inner.startswith("option<"):
            # an invalid vector's bare value stays bare (refused: it needs Some)
            return Some(to_py(inner, j["some"])) if isinstance(j, dict) else j
        return to_py(inner, j)
    if ty.startswith("result"):
        ok, err = _result_sides(ty)
        ((key, v),) = j.items()
        side = ok if key == "ok" else err
        payload = None if side is None else to_py(side, v)
        return Ok(payload) if key == "ok" else Err(payload)
    if ty.startswith("tuple<"):
        return tuple(to_py(t, x) for t, x in zip(_split(_inner(ty, "tuple")), j))
    if ty in _RECORDS:
        return dict(j)
    if ty in _VARIANTS:
        if isinstance(j, str):
            return j
        ((case, v),) = j.items()
        case_ty = _VARIANTS[ty][case]
        return Variant(case, v if case_ty is None else to_py(case_ty, v))
    if ty in _FLAGS:
        return set(j)
    return j


def to_json(ty: str, v: Any) -> Any:
    """The JSON form of a Python value the typed path returned, checking its Python type."""
    if ty in ("f32", "f64"):
        assert isinstance(v, float), (ty, v)
        if v != v:
            return "NaN"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        return v
    if ty == "list<u8>":
        assert isinstance(v, bytes), (ty, v)
        return list(v)
    if ty.startswith("list<"):
        assert isinstance(v, list), (ty, v)
        return [to_json(_inner(ty, "list"), x) for x in v]
    if ty.startswith("option<"):
        inner = _inner(ty, "option")
        if v is None:
            return None
        if inner.startswith("option<"):
            assert isinstance(v, Some), (ty, v)
            return {"some": to_json(inner, v.value)}
        return to_json(inner, v)
    if ty.startswith("result"):
        ok, err = _result_sides(ty)
        assert isinstance(v, (Ok, Err)), (ty, v)
        side = ok if isinstance(v, Ok) else err
        payload = None if side is None else to_json(side, v.value)
        if side is None:
            assert v.value is None
        return {"ok" if isinstance(v, Ok) else "err": payload}
    if ty.startswith("tuple<"):
        assert isinstance(v, tuple), (ty, v)
        return [to_json(t, x) for t, x in zip(_split(_inner(ty, "tuple")), v)]
    if ty in _RECORDS:
        assert type(v).__name__ == ty.capitalize(), (ty, v)
        return {f: getattr(v, f) for f in _RECORDS[ty]}
    if ty in _VARIANTS:
        assert isinstance(v, Variant), (ty, v)
        case_ty = _VARIANTS[ty][v.case]
        if case_ty is None:
            assert v.value is None
            return v.case
        return {v.case: to_json(case_ty, v.value)}
    if ty in _FLAGS:
        assert isinstance(v, frozenset), (ty, v)
        return [f for f in _FLAGS[ty] if f in v]
    if ty == "color":
        assert isinstance(v, str) and v in ("red", "green", "blue"), (ty, v)
        return v
    if ty in ("bool",):
        assert isinstance(v, bool), (ty, v)
        return v
    if ty in ("char", "string"):
        assert isinstance(v, str), (ty, v)
        return v
    assert isinstance(v, int) and not isinstance(v, bool), (ty, v)
    return v


def same(a: Any, b: Any) -> bool:
    """JSON equality that also tells -0.0 from 0.0."""
    return bool(a == b and json.dumps(a) == json.dumps(b))


def py_name(wit: str) -> str:
    return re.sub("-", "_", wit)
