#!/usr/bin/env bash
# The C harness for the C ABI, built twice and run under two tools:
#   1. ASan + UBSan: clang -fsanitize=address,undefined against the Rust *staticlib* built with
#      -Zsanitizer=address (Rust and C both instrumented), LeakSanitizer on;
#   2. valgrind: a plain build against the cdylib (libbridgehost.so), memcheck with leak check
#      (in-process mode only: valgrind cannot spawn the isolation worker, see run_valgrind).
# Both must be clean (zero findings) and print "N passed, 0 failed".
#
# Prerequisites (from the repo root; scripts/build.sh does all of them):
#   cargo build -p bridgehost-mod-std
#   make -C plugins OUT=target/dist
#   cp target/debug/libbridgehost_mod_std.so target/dist/
# valgrind 3.19 cannot read DWARF 5: the valgrind build and the test modules use -gdwarf-4.
# Tools: clang 14 + libclang-rt-14-dev, valgrind, a Rust toolchain (scripts/setup.sh installs them).
#
#   3. docs: every ```c block of README.md and docs/*.md (scripts/doc_examples.py) is a complete
#      program: compiled with the harness's warnings as errors against the cdylib and run under
#      valgrind memcheck; it must exit 0 with no findings. The typed module of docs/MODULES.md
#      ("A typed C module") is generated, built and called by tests/c/typed_example.sh.
#
#   tests/c/run.sh            build + ASan run + valgrind run + doc examples
#   tests/c/run.sh asan       only the ASan+UBSan run
#   tests/c/run.sh valgrind   only the valgrind run
#   tests/c/run.sh docs       only the doc examples
# Env: BRIDGEHOST_DIST (default target/dist), BH_REQUIRE_ISOLATION=1 (fail instead of skipping
# the process-isolation mode when it is unavailable).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DIST="${BRIDGEHOST_DIST:-$ROOT/target/dist}"
OUT="$ROOT/target/c-harness"
TRIPLE=x86_64-unknown-linux-gnu
ASAN_TARGET_DIR="$ROOT/target/asan"
CC="${CC:-clang}"
export PATH="$HOME/.cargo/bin:$PATH"
# The std module's "panic" method panics on purpose (caught by its SDK): keep its report short.
export RUST_BACKTRACE=0

log() { printf '[c-harness] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(asan valgrind docs)

for f in libbridgehost_mod_std.so libbridgehost_mod_zlib.so libbridgehost_mod_faulty.so; do
    [ -f "$DIST/$f" ] || die "$DIST/$f missing: see the prerequisites at the top of $0"
done
[ -d "$DIST/broken" ] || die "$DIST/broken missing: make -C plugins OUT=$DIST"
command -v "$CC" >/dev/null || die "$CC not found (apt-get install clang libclang-rt-14-dev)"

# Process isolation needs the worker executable staged beside the modules (scripts/build.sh).
if [ -x "$DIST/bridgehost-worker" ]; then
    export BRIDGEHOST_WORKER="${BRIDGEHOST_WORKER:-$DIST/bridgehost-worker}"
else
    log "warning: $DIST/bridgehost-worker missing: the process-isolation mode will be skipped"
    export BH_SKIP_ISOLATION="bridgehost-worker is not staged in $DIST"
fi

mkdir -p "$OUT/modules"
INCLUDES=(-I "$ROOT/dotnet-bridge/include" -I "$ROOT/plugins/include")
WARN=(-std=c11 -Wall -Wextra -Werror -Wno-unused-parameter)

log "test modules (overlap probe: serialized + thread-safe control)"
for spec in "cserial BH_THREAD_SERIALIZED" "csafe BH_THREAD_SAFE"; do
    set -- $spec
    "$CC" "${WARN[@]}" -O1 -gdwarf-4 -fPIC -shared -fvisibility=hidden -pthread -I "$ROOT/plugins/include" \
        -DMODEL="$2" -DMODNAME="\"$1\"" -o "$OUT/modules/libbridgehost_mod_$1.so" \
        "$HERE/modules/overlap_probe.c"
done

# Native libraries a Rust staticlib needs (rustc --print native-static-libs on Linux/glibc).
RUST_NATIVE_LIBS=(-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc)

total_passed=0; total_failed=0
record() { # name status logfile
    local line passed=0 failed=1
    line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$3" | tail -1 || true)"
    if [ -n "$line" ]; then read -r passed _ failed _ <<<"$line"; fi
    if [ "$2" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # tool findings fail the run
    log "$1: exit $2, ${line:-no summary line}"
    total_passed=$((total_passed + passed)); total_failed=$((total_failed + failed))
}

run_asan() {
    log "Rust staticlib with -Zsanitizer=address ($ASAN_TARGET_DIR)"
    (cd "$ROOT" && RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=address" \
        cargo build -q -p bridgehost-c --target "$TRIPLE" --target-dir "$ASAN_TARGET_DIR")
    local lib="$ASAN_TARGET_DIR/$TRIPLE/debug/libbridgehost_c.a"
    [ -f "$lib" ] || die "$lib not built"
    log "harness with clang -fsanitize=address,undefined"
    "$CC" "${WARN[@]}" -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
        -fno-omit-frame-pointer -pthread "${INCLUDES[@]}" -o "$OUT/harness-asan" \
        "$HERE/harness.c" "$lib" "${RUST_NATIVE_LIBS[@]}"
    log "run (ASan + LSan + UBSan)"
    local rc=0
    ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
    LSAN_OPTIONS="report_objects=1" \
        "$OUT/harness-asan" "$DIST" "$OUT/modules" 2>&1 | tee "$OUT/asan.log" || rc=${PIPESTATUS[0]}
    if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$OUT/asan.log"; then
        log "sanitizer findings in $OUT/asan.log"; [ "$rc" -ne 0 ] || rc=1
    fi
    record "asan+ubsan" "$rc" "$OUT/asan.log"
}

# Build the C ABI's cdylib and stage it as the shipped name (libbridgehost.so) in $OUT/lib;
# prints that directory. Programs link with -lbridgehost, as users of the C archive do.
stage_cdylib() {
    log "cdylib (target/debug/libbridgehost_c.so, linked as the shipped libbridgehost.so)" >&2
    (cd "$ROOT" && cargo build -q -p bridgehost-c) >&2
    local libdir="$OUT/lib"
    [ -f "$ROOT/target/debug/libbridgehost_c.so" ] || die "$ROOT/target/debug/libbridgehost_c.so not built"
    mkdir -p "$libdir"
    cp "$ROOT/target/debug/libbridgehost_c.so" "$libdir/.libbridgehost.so.tmp" &&
        mv -f "$libdir/.libbridgehost.so.tmp" "$libdir/libbridgehost.so"
    echo "$libdir"
}

run_valgrind() {
    command -v valgrind >/dev/null || die "valgrind not found (apt-get install valgrind)"
    local libdir
    libdir="$(stage_cdylib)" || die "cannot build the cdylib"
    "$CC" "${WARN[@]}" -gdwarf-4 -O1 -pthread "${INCLUDES[@]}" -o "$OUT/harness" "$HERE/harness.c" \
        -L "$libdir" -lbridgehost -Wl,-rpath,"$libdir"
    log "run under valgrind (memcheck)"
    local rc=0
    # valgrind 3.19 does not emulate close_range, which the worker spawn uses
    # (posix_spawn_file_actions_addclosefrom_np): posix_spawn fails with ENOSYS under it, so the
    # valgrind run covers the in-process mode; the ASan run covers both modes.
    BH_SKIP_ISOLATION="${BH_SKIP_ISOLATION:-valgrind cannot spawn the worker (close_range is not emulated)}" \
    BH_HARNESS_SLOW=3 valgrind --error-exitcode=1 --suppressions="$HERE/valgrind.supp" \
        --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite -q "$OUT/harness" "$DIST" "$OUT/modules" 2>&1 \
        | tee "$OUT/valgrind.log" || rc=${PIPESTATUS[0]}
    record "valgrind" "$rc" "$OUT/valgrind.log"
}

run_docs() {
    command -v valgrind >/dev/null || die "valgrind not found (apt-get install valgrind)"
    log "doc examples"
    local libdir work="$OUT/doc-examples" src name passed=0 failed=0
    libdir="$(stage_cdylib)" || die "cannot build the cdylib"
    rm -rf "$work"; mkdir -p "$work"
    python3 "$ROOT/scripts/doc_examples.py" c "$work" >/dev/null
    for src in "$work"/*.c; do
        [ -e "$src" ] || continue
        name="$(basename "${src%.c}")"
        if ! "$CC" "${WARN[@]}" -gdwarf-4 -O1 -pthread "${INCLUDES[@]}" -o "$work/$name" "$src" \
                -L "$libdir" -lbridgehost -Wl,-rpath,"$libdir"; then
            log "doc example $name: FAILED to compile"; failed=$((failed + 1)); continue
        fi
        if BRIDGEHOST_MODULE_PATH="$DIST" valgrind --error-exitcode=1 --leak-check=full \
                --errors-for-leak-kinds=definite --show-leak-kinds=definite -q "$work/$name" \
                >"$work/$name.log" 2>&1; then
            passed=$((passed + 1))
        else
            cat "$work/$name.log" >&2
            log "doc example $name: FAILED"; failed=$((failed + 1))
        fi
    done
    [ $((passed + failed)) -gt 0 ] || { log "no c examples found in the docs"; failed=1; }
    # docs/MODULES.md "A typed C module": generated, built and called as the page says.
    if bash "$HERE/typed_example.sh" "$DIST" >&2; then
        passed=$((passed + 1))
    else
        log "doc example typed C module: FAILED"; failed=$((failed + 1))
    fi
    echo "$passed passed, $failed failed" >"$OUT/docs.log"
    record "doc examples" "$failed" "$OUT/docs.log"
}

for r in "${runs[@]}"; do
    case "$r" in
        asan) run_asan ;;
        valgrind) run_valgrind ;;
        docs) run_docs ;;
        *) die "unknown run: $r (asan, valgrind, docs)" ;;
    esac
done
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
