#!/usr/bin/env bash
# Run every test: the contract with a newcomer (README "Run every test").
#
#   scripts/test.sh               set up (idempotent), build, run every suite
#   scripts/test.sh rust c        run only the named suites (after setup and build)
#
# Suites: lint rust asan miri c header python java dotnet fuzz bench package
# Each suite prints its own runner's closing line; the last line here is
# "suites: N passed, N failed". Exit status is non-zero if any suite failed.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="$(repo_root)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

ALL_SUITES=(lint rust asan miri c header python java dotnet fuzz bench package)
if [ $# -gt 0 ]; then SUITES=("$@"); else SUITES=("${ALL_SUITES[@]}"); fi

"$ROOT/scripts/setup.sh" || die "setup failed"
"$ROOT/scripts/build.sh" || die "build failed"
export BRIDGEHOST_MODULE_PATH="$ROOT/target/dist"

suite_lint() {
    cargo fmt --all -- --check &&
    cargo clippy --workspace --all-targets -- -D warnings &&
    cargo clippy -p bridgehost-jni --features bench --all-targets -- -D warnings
}
suite_rust()   { cargo test --workspace && bash tests/docs/rust.sh; }
suite_asan()   {
    export BRIDGEHOST_WORKER="$ROOT/target/debug/bridgehost-worker"
    # Rust tests under AddressSanitizer (TOOLCHAIN.md): explicit --target keeps build scripts
    # uninstrumented; a separate target dir keeps the normal build cache intact.
    # RSS soaks (core/tests/soak.rs) cannot judge growth under ASan's quarantine; LSan judges
    # leaks there instead (BRIDGEHOST_SOAK_NO_RSS), and each soak runs 200 cycles per window
    # instead of the thousands its RSS bound needs.
    # CPU-share bounds (core/tests/isolation_flood.rs) are judged by the rust suite: ASan's
    # instrumentation multiplies the cost they were set for (BRIDGEHOST_NO_CPU_BOUNDS).
    # Doctests are built with the sanitizer too (RUSTDOCFLAGS), so they link its runtime and run
    # instrumented like the rest.
    BRIDGEHOST_SOAK_NO_RSS=1 BRIDGEHOST_NO_CPU_BOUNDS=1 \
    RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=address" RUSTDOCFLAGS="-Zsanitizer=address" \
    ASAN_OPTIONS=detect_leaks=1 \
        cargo test -p bridgehost -p bridgehost-c --target x86_64-unknown-linux-gnu --target-dir target/asan
}
# The core's unit tests under Miri (undefined behaviour, data races, leaks in the handle table,
# the wire protocol decoder, output buffers, errors). Tests that make system calls or load
# libraries Miri cannot model are skipped by path: isolation::sys and isolation::sandbox (memfd,
# seccomp, namespaces) and locate (getcwd; dladdr through ffi::self_path). Optional by design (TOOLCHAIN.md): where no nightly
# with miri exists the suite says so and passes. Miri checks the fence-mode build of the lock-free
# core; the loom models (scripts/loom.sh, docs/CONCURRENCY.md) check the protocol production runs
# (the membarrier handshake in its fence semantics) on stable Rust, so they always run.
suite_miri()   {
    bash scripts/loom.sh || return 1
    if ! cargo +nightly miri --version >/dev/null 2>&1; then
        log "miri: no nightly toolchain with miri here; Miri part skipped"
        return 0
    fi
    MIRIFLAGS="${MIRIFLAGS:-}" \
        cargo +nightly miri test -p bridgehost --lib -- \
        --skip isolation::sys --skip isolation::sandbox --skip locate::
}
suite_c()      { bash tests/c/run.sh; }
suite_header() { bash dotnet-bridge/check-header.sh && python3 scripts/check_symmetry_c.py && bash tests/c/compile_fail.sh; }
suite_python() { bash scripts/python.sh test; }
suite_java()   { bash scripts/java.sh test; }
suite_dotnet() { bash scripts/dotnet.sh test; }
suite_fuzz()   { bash fuzz/smoke.sh; }
suite_bench()  { bash bench/run.sh --smoke; }
suite_package() { bash scripts/package_test.sh; }

# BRIDGEHOST_PRUNE=1 (set by .ci/run): remove a suite's private build tree once the suite has
# finished; nothing later reads it. Local runs keep them (faster re-runs).
prune_after() {
    [ "${BRIDGEHOST_PRUNE:-0}" = 1 ] || return 0
    case "$1" in
        c) rm -rf "$ROOT/target/asan" ;;   # built by the asan suite, reused by the c suite
        miri) rm -rf "$ROOT/target/miri" "$ROOT/target/loom" ;;
        fuzz) rm -rf "$ROOT/fuzz/target" ;;
    esac
}

# Each suite's output is also kept in target/suite-logs/NAME.log, so that a failure's cause can be
# printed again at the very end, where a reader of a long CI log (or of only its tail) looks.
LOG_DIR="$ROOT/target/suite-logs"
mkdir -p "$LOG_DIR"
why_failed() {  # why_failed NAME: the lines of the suite's log that say what failed
    local f="$LOG_DIR/$1.log"
    log "why suite $1 failed (from $f):"
    grep -a -n -A2 -E "panicked at|^test .* FAILED|^failures:|^    [A-Za-z_:]+$|FAILED|Error:|error(\[E[0-9]+\])?:|ERROR|AddressSanitizer|LeakSanitizer|assert|Tests run:.*Fail|^not ok|Failed [A-Za-z]|die:|: FAILED" "$f" \
        | grep -a -v -E "^[0-9]+:test .* \.\.\. ok$" | tail -n 60
    log "last 20 lines of suite $1:"
    tail -n 20 "$f"
}

# Suites run one at a time, except one pair: `fuzz` runs beside `miri` when both are asked for.
# After their builds, each of the two keeps one core busy (libFuzzer's one process, Miri's one
# interpreter) for minutes, and neither judges time: the fuzz runs are bounded by wall time
# (fewer executions on a shared core) and Miri has no timing in it. Every suite that judges
# time (rust, python, java, dotnet, bench, package) runs alone.
BESIDE_miri=fuzz
requested() { local x; for x in "${SUITES[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }
for s in "${SUITES[@]}"; do
    declare -F "suite_$s" >/dev/null || die "unknown suite: $s (known: ${ALL_SUITES[*]})"
done

passed=0; failed=0; failed_names=(); started=()
finish_suite() {  # finish_suite NAME RC START [END]
    local secs=$(( ${4:-$(date +%s)} - $3 ))
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1)); log "suite $1: ok ($secs s)"
    else
        failed=$((failed + 1)); failed_names+=("$1"); log "suite $1: FAILED ($secs s)"
    fi
    prune_after "$1"
    log "disk: $(df -h --output=avail "$ROOT" | tail -1 | tr -d ' ') free after suite $1"
}
for s in "${SUITES[@]}"; do
    [[ " ${started[*]} " == *" $s "* ]] && continue
    started+=("$s")
    beside_var="BESIDE_$s"; beside="${!beside_var:-}"; beside_pid=""
    if [ -n "$beside" ] && requested "$beside" && [[ " ${started[*]} " != *" $beside "* ]]; then
        # Its output goes to its log only while it runs, and is printed whole when it ends.
        log "suite $beside (beside $s; its output follows when it ends)"
        beside_start=$(date +%s)
        ( "suite_$beside" > "$LOG_DIR/$beside.log" 2>&1; rc=$?
          echo "$(date +%s)" > "$LOG_DIR/$beside.end"; exit "$rc" ) &
        beside_pid=$!
        started+=("$beside")
    fi
    log "suite $s"
    start=$(date +%s)
    # In a subshell (the pipe): a suite's exports stay its own.
    "suite_$s" 2>&1 | tee "$LOG_DIR/$s.log"
    finish_suite "$s" "${PIPESTATUS[0]}" "$start"
    if [ -n "$beside_pid" ]; then
        wait "$beside_pid"; rc=$?
        log "output of suite $beside (ran beside $s):"
        cat "$LOG_DIR/$beside.log"
        finish_suite "$beside" "$rc" "$beside_start" "$(cat "$LOG_DIR/$beside.end" 2>/dev/null || date +%s)"
    fi
done
if [ "$failed" -ne 0 ]; then
    for s in "${failed_names[@]}"; do why_failed "$s"; done
    log "failed suites: ${failed_names[*]}"
fi
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
