#!/usr/bin/env bash
# Model-check the core's lock-free protocol with loom (docs/CONCURRENCY.md):
# the hazard records, the module gate and the handle table, with the
# membarrier fence pair in its loom form (a SeqCst fence on each side).
#
#   scripts/loom.sh            every loom model (test names containing "loom")
#   scripts/loom.sh gate       only the models whose names contain "gate"
#
# Builds under RUSTFLAGS="--cfg loom" into target/loom, so the normal build
# cache is untouched. The last line is "loom: N passed, N failed".
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

FILTER="loom${1:+_$1}"
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
start=$(date +%s)
# The dev profile: the models run in seconds unoptimised (9 s against 1 s), while an optimised
# build of the core and its dependencies under --cfg loom took 160 s of a CI run's 2 cores.
RUSTFLAGS="--cfg loom" cargo test -p bridgehost --lib \
    --target-dir "$ROOT/target/loom" -- "$FILTER" --test-threads=1 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
secs=$(( $(date +%s) - start ))
passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$LOG" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '^test result: .* ([0-9]+) failed' "$LOG" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
    echo "loom: no model ran (filter '$FILTER')" >&2
    failed=1
fi
echo "loom models took ${secs}s (build included)"
echo "loom: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
