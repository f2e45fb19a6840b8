#!/usr/bin/env python3
"""Check the C column of docs/SYMMETRY.md against the generated C header.

    python3 scripts/check_symmetry_c.py [path/to/bridgehost.h]

Fails (exit 1) when a name the table lists for C is missing from the header or is the wrong
kind of thing: a noun must be a typedef, an operation a declared function, an option a field
of the named struct, a wait argument a parameter of the named function, an error a BH_E_*
macro whose value is minus the core's kind code.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def kind_codes() -> dict:
    """The core's stable codes by kind name, read from core/src/error.rs (ErrorKind)."""
    src = (ROOT / "core/src/error.rs").read_text()
    codes = dict(re.findall(r"^\s+(\w+) = (\d+),", src, re.M))
    names = dict(re.findall(r'ErrorKind::(\w+) => "(\w+)"', src))
    return {names[v]: int(codes[v]) for v in codes if v in names}


COLUMNS = ["kind", "item", "java", "python", "csharp", "c", "notes"]


def rows(doc: Path):
    """The table rows of docs/SYMMETRY.md as dicts (column -> cell name or None for a gap)."""
    text = doc.read_text()
    body = text.rsplit("<!-- symmetry:begin -->", 1)[1].split("<!-- symmetry:end -->", 1)[0]
    for line in body.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        row = dict(zip(COLUMNS, cells))
        for col in ("java", "python", "csharp", "c"):
            m = re.fullmatch(r"`([^`]+)`", row[col])
            row[col] = m.group(1) if m else None
        yield row


def struct_fields(header: str, name: str) -> set:
    m = re.search(r"typedef struct %s \{(.*?)\} %s;" % (name, name), header, re.S)
    if not m:
        return set()
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    return set(re.findall(r"(\w+)\s*;", body))


def check(header_path: Path, doc: Path) -> list:
    header = header_path.read_text()
    typedefs = set(re.findall(r"typedef\s+(?:struct\s+\w+\s*\{.*?\}|[^;{]*?)\s*\(?\**\s*(\w+)\)?\s*(?:\(|;)", header, re.S))
    functions = set(re.findall(r"^[\w \*]+?\b(bh_\w+)\(", header, re.M))
    macros = {m: int(v) for m, v in re.findall(r"#define (BH_\w+) (-?\d+)", header)}
    problems = []
    codes = kind_codes()
    for row in rows(doc):
        name, kind, item = row["c"], row["kind"], row["item"]
        if name is None:
            continue
        where = f"{kind} {item}: C name `{name}`"
        if kind == "noun":
            if name not in typedefs:
                problems.append(f"{where} is not a typedef in {header_path.name}")
        elif kind == "operation":
            if name not in functions:
                problems.append(f"{where} is not a function declared in {header_path.name}")
        elif kind in ("host_option", "module_option"):
            struct, _, field = name.partition(".")
            if field not in struct_fields(header, struct):
                problems.append(f"{where} is not a field of struct {struct}")
        elif kind == "error":
            if name not in macros:
                problems.append(f"{where} is not a status macro")
            elif macros[name] != -codes[item]:
                problems.append(f"{where} is {macros[name]}, the core says {-codes[item]}")
        elif kind == "wait":
            # The function and the parameter the duration argument is given in.
            fn, _, param = name.partition("(")
            param = param.rstrip(")")
            proto = re.search(r"\b%s\(([^)]*)\)" % re.escape(fn), header)
            if fn not in functions or proto is None:
                problems.append(f"{where}: {fn} is not a function declared in {header_path.name}")
            elif param not in [p.split()[-1].lstrip("*") for p in proto.group(1).split(",") if p.split()]:
                problems.append(f"{where}: {fn} has no parameter {param}")
        elif kind == "idiom":
            problems.append(f"{where}: C has no exceptions; an idiom row's C cell is —")
        else:
            problems.append(f"unknown row kind {kind!r}")
    return problems


def main() -> int:
    header = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dotnet-bridge/include/bridgehost.h"
    problems = check(header, ROOT / "docs/SYMMETRY.md")
    for p in problems:
        print(f"check_symmetry_c: {p}", file=sys.stderr)
    n = sum(1 for r in rows(ROOT / "docs/SYMMETRY.md") if r["c"] is not None)
    if problems:
        print(f"check_symmetry_c: {header} drifted from docs/SYMMETRY.md")
        return 1
    print(f"check_symmetry_c: {n} C names match docs/SYMMETRY.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
