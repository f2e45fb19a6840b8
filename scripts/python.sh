#!/usr/bin/env bash
# Build, test, demo and benchmark the Python front end (py-bridge/ + python/).
#
#   scripts/python.sh build    pip install ./python into the project venv (.venv, created if missing)
#   scripts/python.sh test     build a FRESH venv (target/py-test-venv), pip install ./python[test]
#                              into it, run pytest under PYTHONDEVMODE=1 -X faulthandler, then run
#                              every ```python block of README.md and docs/*.md (doc_examples.py),
#                              each run and all of them checked with mypy --strict
#   scripts/python.sh demo     build, then run python/examples/demo.py
#   scripts/python.sh bench    build with release natives, build the baselines (bare PyO3 echo, C echo), run
#                              bench/python/bench.py (JSON lines on stdout; BENCH_SMOKE=1 for a smoke run)
#
# The wheel is built by pip through maturin (PEP 517) with a thin backend wrapper that stages the
# bundled modules and the worker into the package (python/build_backend/). If scripts/build.sh
# already staged target/dist, those natives are used (BRIDGEHOST_NATIVE_DIR); otherwise the
# backend builds them. The test-only faulty module is never packed: the tests find it through
# BRIDGEHOST_MODULE_PATH pointing at a directory that holds only it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="$(repo_root)"
export PATH="$HOME/.cargo/bin:$PATH"
VENV="$ROOT/.venv"
TEST_VENV="$ROOT/target/py-test-venv"
DIST="$ROOT/target/dist"
PY="${PYTHON:-python3}"

native_env() {   # native_env [DIST]
    # An explicit BRIDGEHOST_NATIVE_DIR wins; then the natives scripts/build.sh staged in DIST
    # (default target/dist, the debug build); else the wheel backend builds them (release).
    local dist="${1:-$DIST}"
    if [ -n "${BRIDGEHOST_NATIVE_DIR:-}" ]; then
        log "natives from BRIDGEHOST_NATIVE_DIR=$BRIDGEHOST_NATIVE_DIR"
    elif [ -f "$dist/libbridgehost_mod_std.so" ] && [ -f "$dist/libbridgehost_mod_zlib.so" ] &&
         [ -f "$dist/libbridgehost_mod_sqlite.so" ] &&
         { [ -f "$dist/bridgehost-worker" ] || ! [ -f "$ROOT/worker/Cargo.toml" ]; }; then
        export BRIDGEHOST_NATIVE_DIR="$dist"
        log "natives from $dist"
    else
        unset BRIDGEHOST_NATIVE_DIR
        log "natives: built by the wheel backend (target/dist not staged)"
    fi
}

ensure_venv() {   # ensure_venv DIR [fresh]
    local dir="$1" fresh="${2:-}"
    if [ -n "$fresh" ] || ! [ -x "$dir/bin/python" ]; then
        need_cmd "$PY"
        log "creating venv $dir ($($PY --version 2>&1))"
        "$PY" -m venv --clear "$dir"
    fi
}

pip_install_package() {   # pip_install_package VENV [DIST]
    local venv="$1"
    native_env "${2:-}"
    log "pip install ./python into $venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall "$ROOT/python"
}

cmd_build() {   # cmd_build [DIST]
    ensure_venv "$VENV"
    pip_install_package "$VENV" "${1:-}"
    "$VENV/bin/python" -c 'import bridgehost, sys; print("bridgehost", bridgehost.__version__, "on", sys.version.split()[0])'
}

faulty_dir() {
    # A directory with only the test-only modules, so std/zlib still resolve from the wheel.
    local d="$ROOT/target/py-test-modules"
    mkdir -p "$d"
    rm -f "$d"/*.so
    local m
    for m in faulty stateful counter; do
        if [ -f "$DIST/libbridgehost_mod_$m.so" ]; then
            ln -sf "$DIST/libbridgehost_mod_$m.so" "$d/libbridgehost_mod_$m.so"
        fi
    done
    # Modules whose loading is hostile (test_isolation.py), in a subdirectory: never resolved by name.
    [ -d "$DIST/hostile" ] && ln -sfn "$DIST/hostile" "$d/hostile"
    # Lying descriptors (inspect refuses them), likewise never resolved by name.
    [ -d "$DIST/broken" ] && ln -sfn "$DIST/broken" "$d/broken"
    printf '%s\n' "$d"
}

cmd_test() {
    ensure_venv "$TEST_VENV" fresh
    native_env
    log "pip install ./python[test] into the fresh venv $TEST_VENV"
    "$TEST_VENV/bin/python" -m pip install -q --disable-pip-version-check "$ROOT/python[test]"
    local mods
    mods="$(faulty_dir)"
    cd "$ROOT/python/tests"
    # Run from the tests directory with the venv's pytest (not `python -m`, which would put the
    # source tree first on sys.path): the tests import the INSTALLED package.
    local rc=0
    BRIDGEHOST_MODULE_PATH="$mods" PYTHONDEVMODE=1 \
        "$TEST_VENV/bin/python" -X faulthandler -m pytest -p no:cacheprovider -q \
        --rootdir="$ROOT/python" -c "$ROOT/python/pyproject.toml" "$ROOT/python/tests" "$@" || rc=$?
    doc_examples || rc=1
    return "$rc"
}

doc_examples() {
    # Every ```python block of README.md and docs/*.md is a complete program: extract each one and
    # run it with the test venv's python in dev mode (warnings shown), from an empty directory.
    local dir="$ROOT/target/py-doc-examples" passed=0 failed=0 f
    rm -rf "$dir"
    mkdir -p "$dir/run"
    log "doc examples: python3 scripts/doc_examples.py python $dir"
    python3 "$ROOT/scripts/doc_examples.py" python "$dir" >"$dir/list.txt"
    while IFS= read -r f; do
        [ -n "$f" ] || continue
        if (cd "$dir/run" && PYTHONDEVMODE=1 timeout 120 "$TEST_VENV/bin/python" -X faulthandler "$f") \
            >"$f.out" 2>&1; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            printf 'FAILED doc example %s:\n' "$(basename "$f")"
            sed 's/^/    /' "$f.out"
        fi
    done <"$dir/list.txt"
    printf 'doc examples (python): %d passed, %d failed\n' "$passed" "$failed"
    # The docs promise type-checked code: every example passes mypy --strict against the
    # installed package's stubs, unchanged.
    local typed=0
    log "doc examples: mypy --strict"
    # shellcheck disable=SC2046
    (cd "$dir/run" && "$TEST_VENV/bin/python" -m mypy --strict --no-incremental \
        --cache-dir=/dev/null $(cat "$dir/list.txt")) || typed=1
    # And the package's own Python code (its sources, beside the stub of the native part), under
    # the same rule.
    log "package: mypy --strict -p bridgehost"
    (cd "$ROOT/python" && "$TEST_VENV/bin/python" -m mypy --strict --no-incremental \
        --cache-dir=/dev/null -p bridgehost) || typed=1
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] && [ "$typed" -eq 0 ]
}

cmd_demo() {
    cmd_build
    BRIDGEHOST_MODULE_PATH="$(faulty_dir)" "$VENV/bin/python" -X faulthandler "$ROOT/python/examples/demo.py"
}

cmd_bench() {
    # Release natives only: the ones bench/run.sh staged (BH_PROFILE=release scripts/build.sh),
    # else built by the wheel backend (release) — never target/dist, the debug build.
    cmd_build "$ROOT/target/dist-release"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check maturin cffi
    local out="$ROOT/target/python-bench"
    mkdir -p "$out"
    log "building the bare PyO3 baseline into $VENV"
    (cd "$ROOT/bench/python/bare" && VIRTUAL_ENV="$VENV" "$VENV/bin/maturin" develop --release -q) >&2
    log "building the C echo for the ctypes/cffi baselines"
    cc -O2 -shared -fPIC -o "$out/libbh_bench_cecho.so" "$ROOT/bench/python/cecho/cecho.c"
    log "generating the std binding for the typed figures"
    "$ROOT/target/dist-release/bridgehost" bindgen --lang python --package bh_bench_std \
        "$ROOT/target/dist-release/libbridgehost_mod_std.so" -o "$out/gen" >&2
    "$VENV/bin/python" "$ROOT/bench/python/bench.py" --cecho "$out/libbh_bench_cecho.so" --gen "$out/gen"
}

case "${1:-test}" in
    build) shift; cmd_build "$@" ;;
    test)  shift; cmd_test "$@" ;;
    demo)  shift; cmd_demo "$@" ;;
    bench) shift; cmd_bench "$@" ;;
    *) die "usage: scripts/python.sh build|test|demo|bench" ;;
esac
