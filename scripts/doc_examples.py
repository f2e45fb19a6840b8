#!/usr/bin/env python3
"""Extract the code examples of README.md and docs/*.md so CI can compile and run them.

Docs are code: every fenced block whose info string names a language listed below is an example,
and every example must compile and run as written, with its imports and its data. A listing that
is not meant to run (a signature table, a shell transcript) uses another info string (`text`,
`sh`, `console`, ...). A file of a module crate rather than a program (`rust,module`) is not
written here: the test that builds that crate from the page names it (docs/MODULES.md's typed
Rust module: interface/tests/bindgen_rust.rs).

    python3 scripts/doc_examples.py LANG OUTDIR     # write LANG's examples into OUTDIR

Each example becomes one file; the file name says where it came from (doc and line), e.g.
`docs_PYTHON.md_L17.py`. Java and C# examples are complete compilation units: a Java example is
written as `<doc>_L<line>/<PublicClass>.java` (javac wants the file named after the public
class). The runner of each runtime's suite compiles and runs what this script writes; the script
prints one path per line and fails if a doc names a language it does not know of.
"""
import pathlib
import re
import sys

LANGS = {"python": "py", "java": "java", "csharp": "cs", "c": "c", "rust": "rs"}
FENCE = re.compile(r"^(```+|~~~+)\s*([A-Za-z0-9_+#-]*)(.*)$")


def docs(root: pathlib.Path):
    yield root / "README.md"
    yield from sorted((root / "docs").glob("*.md"))


def blocks(path: pathlib.Path):
    """Yield (line, lang, text) for each fenced block of the file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i].strip())
        if not m:
            i += 1
            continue
        fence, lang = m.group(1), m.group(2).lower()
        start = i + 1
        j = start
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        attrs = {a.strip() for a in m.group(3).split(",") if a.strip()}
        if "module" not in attrs:
            yield start, lang, "\n".join(lines[start:j]) + "\n"
        i = j + 1


def main(argv):
    if len(argv) != 3 or argv[1] not in LANGS:
        sys.exit(f"usage: {argv[0]} {{{'|'.join(LANGS)}}} OUTDIR")
    lang, out = argv[1], pathlib.Path(argv[2])
    root = pathlib.Path(__file__).resolve().parent.parent
    out.mkdir(parents=True, exist_ok=True)
    for doc in docs(root):
        if not doc.exists():
            continue
        rel = doc.relative_to(root).as_posix().replace("/", "_")
        for line, blang, text in blocks(doc):
            if blang in ("cs", "c#"):
                blang = "csharp"
            if blang != lang:
                continue
            name = f"{rel}_L{line}"
            if lang == "java":
                m = re.search(r"^public\s+(?:final\s+)?(?:class|record|interface)\s+(\w+)", text, re.M)
                if not m:
                    sys.exit(f"{doc}:{line}: a Java example must declare a public class")
                target = out / name / f"{m.group(1)}.java"
                target.parent.mkdir(parents=True, exist_ok=True)
            else:
                target = out / f"{name}.{LANGS[lang]}"
            target.write_text(text, encoding="utf-8")
            print(target)


if __name__ == "__main__":
    main(sys.argv)
