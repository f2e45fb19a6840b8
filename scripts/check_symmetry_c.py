#!/usr/bin/env python3
"""Check the C column of docs/SYMMETRY.md against the generated C header.

    python3 scripts/check_symmetry_c.py [path/to/bridgehost.h]

Fails (exit 1) when a name the table lists for C is missing from the header or is the wrong
kind of thing: a noun must be a typedef, an operation or property a declared function, an option a field
of the named struct, a wait argument a parameter of the named function, an error a BH_E_*
macro whose value is minus the core's kind code.

And the reverse: fails when the header declares a function (`bh_*`), a macro (`BH_*`) or a
typedef that neither a row of the table (its C column) nor the table of members one runtime has
for its own idiom (`<!-- idioms:begin -->`, runtime `C`) lists, so the C ABI cannot grow API the
other runtimes lack without anyone noticing.

The table parsers (`rows`, `idioms`, `listed`, `unlisted`) are shared: python/tests/test_symmetry.py
imports them.
"""

from __future__ import annotations

import fnmatch
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


# The idiom table's runtime names, as the main table's column keys.
RUNTIMES = {"Java": "java", "Python": "python", "C#": "csharp", "C": "c"}


def idioms(doc: Path):
    """The rows of the idiom table (between `<!-- idioms:begin -->` and `<!-- idioms:end -->`):
    dicts with `runtime` (a column key: java, python, csharp, c), `names` (the backticked names
    of the Member cell; a `*` in one is a wildcard) and `reason`."""
    text = doc.read_text()
    body = text.rsplit("<!-- idioms:begin -->", 1)[1].split("<!-- idioms:end -->", 1)[0]
    for line in body.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        runtime, member, reason = cells[0], cells[1], "|".join(cells[2:]).strip()
        if runtime not in RUNTIMES:
            raise ValueError(f"idiom table: unknown runtime {runtime!r} in {line!r}")
        names = re.findall(r"`([^`]+)`", member)
        if not names or not reason:
            raise ValueError(f"idiom table: a row needs a name and a reason: {line!r}")
        yield {"runtime": RUNTIMES[runtime], "names": names, "reason": reason}


def listed(doc: Path, column: str) -> tuple:
    """What the two tables list for one runtime (`column`: java, python, csharp, c): the set of
    member names the main table's rows give (a cell `A.b(param)` or `A(param)` lists `A.b` or
    `A`; a C field `s.f` lists `s.f`) and the idiom table's patterns (fnmatch, `*` a wildcard)."""
    names = set()
    for row in rows(doc):
        name = row[column]
        if name is not None:
            names.add(name.split("(", 1)[0])
    patterns = [n for r in idioms(doc) if r["runtime"] == column for n in r["names"]]
    return names, patterns


def unlisted(surface, doc: Path, column: str) -> list:
    """The members of a runtime's public surface (names as the tables spell them) that neither
    table lists for it, sorted."""
    names, patterns = listed(doc, column)
    return sorted(m for m in set(surface)
                  if m not in names and not any(fnmatch.fnmatchcase(m, p) for p in patterns))


def c_surface(header: str) -> set:
    """Every function (`bh_*`), macro (`BH_*`) and typedef the header declares. Comments are
    dropped first; a prototype may span lines (the name is followed by its `(`)."""
    code = re.sub(r"/\*.*?\*/", "", header, flags=re.S)
    code = re.sub(r"//[^\n]*", "", code)
    functions = set(re.findall(r"^[A-Za-z_][\w \*]*?\b(bh_\w+)\s*\(", code, re.M))
    macros = set(re.findall(r"^\s*#\s*define\s+(BH_\w+)", code, re.M))
    typedefs = set()
    bodies = re.sub(r"\b((?:struct|union|enum)(?:\s+\w+)?)\s*\{[^{}]*\}", r"\1 {}", code)  # not extern "C" {
    for m in re.finditer(r"\btypedef\b(.*?);", bodies, re.S):
        decl = m.group(1)
        fnptr = re.search(r"\(\s*\*\s*(\w+)\s*\)\s*\(", decl)  # typedef R (*name)(...)
        typedefs.add(fnptr.group(1) if fnptr else re.findall(r"\w+", decl)[-1])
    return functions | macros | typedefs


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
        elif kind in ("operation", "property"):
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
    surface = c_surface(header)
    for r in idioms(doc):
        for n in r["names"] if r["runtime"] == "c" else []:
            if not any(fnmatch.fnmatchcase(m, n) for m in surface):
                problems.append(f"idiom table: C entry `{n}` names nothing {header_path.name} declares")
    for name in unlisted(surface, doc, "c"):
        problems.append(f"{name} is declared in {header_path.name} but listed in neither table of "
                        f"{doc.name} (a row's C column, or the idiom table with runtime C)")
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
    declared = len(c_surface(header.read_text()))
    print(f"check_symmetry_c: {n} C names match docs/SYMMETRY.md; all {declared} declarations are listed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
