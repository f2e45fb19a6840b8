#!/usr/bin/env bash
# docs/MODULES.md, "A typed C module", as written: writes every block marked
# `<!-- typed-example: FILE -->` to FILE in an empty directory, then runs each `$ command` of the
# blocks marked `<!-- typed-example: transcript -->` there (bash, with the staged CLI first on
# PATH, BRIDGEHOST_MODULE_PATH=DIST for the bundled zlib, and BRIDGEHOST_INCLUDE set) and
# requires its output (stdout and stderr) to be exactly the lines that follow it.
#   tests/c/typed_example.sh [DIST]      (default target/dist)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DIST="$(cd "${1:-$ROOT/target/dist}" && pwd)"
WORK="$ROOT/target/c-harness/typed-example"
rm -rf "$WORK"
mkdir -p "$WORK"
[ -x "$DIST/bridgehost" ] || { echo "typed example: $DIST/bridgehost missing" >&2; exit 2; }
PATH="$DIST:$PATH" BRIDGEHOST_MODULE_PATH="$DIST" BRIDGEHOST_INCLUDE="$ROOT/plugins/include" python3 - "$ROOT/docs/MODULES.md" "$WORK" <<'PY'
import pathlib, re, subprocess, sys

doc, work = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
lines = doc.read_text(encoding="utf-8").splitlines()
files, transcripts = {}, []
i = 0
while i < len(lines):
    m = re.fullmatch(r"<!-- typed-example: (\S+) -->", lines[i].strip())
    if not m:
        i += 1
        continue
    assert lines[i + 1].startswith("```"), f"{doc}:{i + 2}: a fenced block must follow the marker"
    j = i + 2
    while not lines[j].startswith("```"):
        j += 1
    body = lines[i + 2 : j]
    if m.group(1) == "transcript":
        transcripts.append((i + 3, body))
    else:
        files[m.group(1)] = "\n".join(body) + "\n"
    i = j + 1
assert files and transcripts, "no typed example found"
for name, text in files.items():
    (work / name).write_text(text, encoding="utf-8")
failed = ran = 0
for first, body in transcripts:
    k = 0
    while k < len(body):
        assert body[k].startswith("$ "), f"{doc}:{first + k}: expected a `$ command` line"
        cmd, want = body[k][2:], []
        k += 1
        while k < len(body) and not body[k].startswith("$ "):
            want.append(body[k])
            k += 1
        p = subprocess.run(["bash", "-c", cmd], cwd=work, capture_output=True, text=True)
        got = (p.stdout + p.stderr).splitlines()
        ran += 1
        if got != want:
            failed += 1
            print(f"FAIL {doc}:{first + k - len(want) - 1}: $ {cmd}\n  want: {want}\n  got:  {got}")
print(f"typed example: {ran - failed} of {ran} commands as documented")
sys.exit(1 if failed else 0)
PY
