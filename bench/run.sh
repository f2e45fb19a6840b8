#!/usr/bin/env bash
# One command for every benchmark (README): builds in release mode, runs the native Rust floor,
# the isolation harness and each runtime's harness with its raw baselines, in one run, then
# writes bench/results/latest.json, the table in docs/PERFORMANCE.md and bench/results/chart.png.
#
#   bench/run.sh            full run (minutes; not part of the tests)
#   bench/run.sh --smoke    a few iterations of everything (CI: the harnesses keep working)
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
ROOT="$(repo_root)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

SMOKE=0
[ "${1:-}" = "--smoke" ] && SMOKE=1
if [ "$SMOKE" = 1 ]; then export BENCH_SMOKE=1; OUT_DIR="$ROOT/target/bench-smoke"; else unset BENCH_SMOKE; OUT_DIR="$ROOT/bench/results"; fi
mkdir -p "$OUT_DIR"
RAW="$OUT_DIR/raw.jsonl"; : >"$RAW"

BH_PROFILE=release "$ROOT/scripts/build.sh" >&2 || die "release build failed"
DIST="$ROOT/target/dist-release"
export BRIDGEHOST_MODULE_PATH="$DIST" BRIDGEHOST_WORKER="$DIST/bridgehost-worker"
cargo build --release -q -p bridgehost-bench-native -p bridgehost-bench-isolation >&2 || die "bench build failed"

failed=()
run() {  # run NAME CMD... : collect JSON lines, keep stderr visible
    local name="$1"; shift
    log "bench: $name"
    if ! "$@" > >(grep '^{' | tee -a "$RAW" >&2); then failed+=("$name"); log "bench $name FAILED"; fi
}
run native    "$ROOT/target/release/bench-native"
run isolation "$ROOT/target/release/bench-isolation"
run python    bash "$ROOT/scripts/python.sh" bench
run java      bash "$ROOT/scripts/java.sh" bench
run dotnet    bash "$ROOT/scripts/dotnet.sh" bench
sleep 1  # let the tee of the last harness flush

"$ROOT/.venv/bin/python" "$ROOT/bench/report.py" --raw "$RAW" --out "$OUT_DIR" \
    $([ "$SMOKE" = 1 ] && echo --smoke) || failed+=(report)
if [ "${#failed[@]}" -gt 0 ]; then
    echo "bench: ${#failed[@]} failed (${failed[*]})"
    exit 1
fi
echo "bench: $(grep -c '^{' "$RAW") figures written to $OUT_DIR"
