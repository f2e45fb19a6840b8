#!/usr/bin/env bash
# Compile and run every ```rust example of README.md and docs/*.md against the core crate
# (docs are code: scripts/doc_examples.py). Each example is a complete program with its own
# `fn main`; rustdoc compiles it against target/debug's rlib of `bridgehost` and runs it.
# Needs `cargo build -p bridgehost` (scripts/build.sh) and BRIDGEHOST_MODULE_PATH (test.sh sets it).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
ROOT="$(repo_root)"
cd "$ROOT"
OUT="$ROOT/target/doc-examples/rust"
rm -rf "$OUT"; mkdir -p "$OUT"
mapfile -t examples < <(python3 scripts/doc_examples.py rust "$OUT") || die "extracting examples failed"
DEPS="$ROOT/target/debug/deps"
# The core's rlib, asked of cargo (a file name alone is ambiguous: the C ABI cdylib is also
# named `bridgehost`).
RLIB="$(cargo build -q -p bridgehost --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "bridgehost" \
            and "lib" in m["target"]["kind"] and m["manifest_path"].endswith("core/Cargo.toml"):
        print(next(f for f in m["filenames"] if f.endswith(".rlib")))
')"
[ -f "$RLIB" ] || die "could not find the core rlib (cargo build -p bridgehost)"
# A Rust program finds the worker beside its executable or through BRIDGEHOST_WORKER (ISOLATION.md).
export BRIDGEHOST_WORKER="${BRIDGEHOST_WORKER:-$ROOT/target/dist/bridgehost-worker}"
passed=0; failed=0
for ex in "${examples[@]}"; do
    name="$(basename "$ex" .rs)"
    bin="$OUT/$name.bin"
    if rustc --edition 2021 --crate-type bin --crate-name doc_example -o "$bin" "$ex" \
            --extern bridgehost="$RLIB" -L "dependency=$DEPS" 2>"$OUT/$name.log" \
        && timeout 120 "$bin" >>"$OUT/$name.log" 2>&1; then
        passed=$((passed + 1)); log "doc example $name: ok"
    else
        failed=$((failed + 1)); log "doc example $name: FAILED"; sed 's/^/    /' "$OUT/$name.log" >&2
    fi
done
echo "rust doc examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
