#!/usr/bin/env bash
# Build and test the .NET front end (csharp/) with Mono's mcs, and run it on Mono and CoreCLR.
#
#   scripts/dotnet.sh build   compile the library, tests, runner, demo and bench (target/dotnet/)
#   scripts/dotnet.sh test    build, then the tests on Mono (NUnit) and CoreCLR (self-checking
#                             runner), both with a thread forcing compacting GCs; then the NuGet
#                             package test (pack, unpack, consumer on both runtimes); then every
#                             ```csharp block of README.md and docs/*.md (scripts/doc_examples.py),
#                             compiled as an exe against BridgeHost.dll and run on both runtimes
#   scripts/dotnet.sh test-docs  only the doc examples (after a build)
#   scripts/dotnet.sh demo    build, then csharp/examples/Demo.cs on CoreCLR and on Mono
#   scripts/dotnet.sh bench   build, then bench/dotnet on CoreCLR and Mono: JSON lines on stdout
#                             (BENCH_SMOKE=1: a few iterations)
#   scripts/dotnet.sh pack    build, then target/dotnet/pack/BridgeHost.<version>.nupkg (scripts/nupkg.py)
#
# Expects a built tree: the native pieces staged in target/dist (scripts/build.sh), or
# BH_DIST=<dir> holding libbridgehost.so, libbridgehost_mod_*.so and (if built) bridgehost-worker.
# bench prefers target/dist-release (BH_PROFILE=release scripts/build.sh) when it exists.
# Needs mono/mcs/nunit-console (apt) and the CoreCLR host written by scripts/setup.sh to
# .venv/dotnet-path (or DOTNET=<path to dotnet>).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="$(repo_root)"
CS="$ROOT/csharp"
OUT="$ROOT/target/dotnet"
NUNIT_FW=/usr/lib/cli/nunit.framework-2.6.3/nunit.framework.dll
MCS=(mcs -langversion:7.2 -warnaserror+ -debug+)
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n1)"

dist_dir() {   # dist_dir [release]
    if [ -n "${BH_DIST:-}" ]; then printf '%s\n' "$BH_DIST"; return; fi
    if [ "${1:-}" = release ] && [ -e "$ROOT/target/dist-release/libbridgehost.so" ]; then
        printf '%s\n' "$ROOT/target/dist-release"; return
    fi
    printf '%s\n' "$ROOT/target/dist"
}

check_dist() {   # check_dist DIR
    local f
    for f in libbridgehost.so libbridgehost_mod_std.so libbridgehost_mod_zlib.so libbridgehost_mod_sqlite.so; do
        [ -e "$1/$f" ] || die "$1/$f missing: run scripts/build.sh (or set BH_DIST)"
    done
}

dotnet_exe() {
    if [ -n "${DOTNET:-}" ]; then printf '%s\n' "$DOTNET"; else dotnet_host; fi
}

runtimeconfig() {   # runtimeconfig EXE -> writes EXE's .runtimeconfig.json (CoreCLR 8)
    cat >"${1%.exe}.runtimeconfig.json" <<'EOF'
{
  "runtimeOptions": {
    "tfm": "net8.0",
    "framework": { "name": "Microsoft.NETCore.App", "version": "8.0.0" }
  }
}
EOF
}

# ------------------------------------------------------------------ build
copy_lib() {   # copy_lib DIR: the library and its debug symbols
    cp "$OUT/lib/BridgeHost.dll" "$1/"
    [ ! -e "$OUT/lib/BridgeHost.dll.mdb" ] || cp "$OUT/lib/BridgeHost.dll.mdb" "$1/"
}

build() {
    need_cmd mcs gcc
    mkdir -p "$OUT/lib" "$OUT/tests" "$OUT/demo" "$OUT/bench"
    log "mcs: BridgeHost.dll"
    # Optimised (the library users get in the package); -debug+ still writes the .mdb beside it.
    "${MCS[@]}" -optimize+ -unsafe -target:library -doc:"$OUT/lib/BridgeHost.xml" -out:"$OUT/lib/BridgeHost.dll" \
        "$CS"/src/BridgeHost/*.cs "$CS"/src/BridgeHost/Properties/*.cs

    copy_lib "$OUT/tests"
    log "mcs: tests (shared cases, NUnit adapter, CoreCLR runner)"
    # tests/gen/*.cs: `bridgehost bindgen --lang csharp` output, committed and kept equal to the
    # generator's by interface/tests/bindgen_csharp.rs (the C# typed tests compile and call it).
    "${MCS[@]}" -unsafe -target:library -r:"$OUT/tests/BridgeHost.dll" \
        -out:"$OUT/tests/BridgeHost.Tests.dll" "$CS"/tests/*.cs "$CS"/tests/gen/*.cs
    "${MCS[@]}" -target:library -r:"$OUT/tests/BridgeHost.Tests.dll" -r:"$NUNIT_FW" \
        -out:"$OUT/tests/BridgeHost.Tests.NUnit.dll" "$CS"/tests/nunit/*.cs
    cp "$NUNIT_FW" "$OUT/tests/"
    "${MCS[@]}" -target:exe -r:"$OUT/tests/BridgeHost.Tests.dll" -r:"$OUT/tests/BridgeHost.dll" \
        -out:"$OUT/tests/TestRunner.exe" "$CS"/tests/runner/*.cs
    runtimeconfig "$OUT/tests/TestRunner.exe"
    # Run by ExitTests in a child process (Mono or CoreCLR, like the test run itself).
    "${MCS[@]}" -target:exe -r:"$OUT/tests/BridgeHost.dll" -out:"$OUT/tests/ExitProbe.exe" "$CS"/tests/probe/*.cs
    runtimeconfig "$OUT/tests/ExitProbe.exe"

    log "mcs: demo"
    copy_lib "$OUT/demo"
    # Typed calls as a user makes them: classes generated from std's and zlib's WIT interfaces.
    local gen_dist
    gen_dist="$(dist_dir)"
    rm -rf "$OUT/demo/gen"
    for m in std zlib; do
        "$gen_dist/bridgehost" bindgen --lang csharp --package DemoGen "$gen_dist/libbridgehost_mod_$m.so" -o "$OUT/demo/gen" >/dev/null \
            || die "bindgen --lang csharp $m failed (is $gen_dist/bridgehost built?)"
    done
    "${MCS[@]}" -target:exe -r:"$OUT/demo/BridgeHost.dll" -out:"$OUT/demo/Demo.exe" "$CS"/examples/Demo.cs "$OUT/demo/gen/Std.cs" "$OUT/demo/gen/Zlib.cs"
    runtimeconfig "$OUT/demo/Demo.exe"
}

build_bench() {   # build_bench DIST: the baselines link against DIST/libbridgehost.so
    local dir="$1"
    log "gcc + mcs: bench"
    gcc -O2 -shared -fPIC -Wall -Wextra -Werror -o "$OUT/bench/libbare_echo.so" "$ROOT/bench/dotnet/bare_echo.c" -lpthread
    gcc -O2 -shared -fPIC -Wall -Wextra -Werror -I"$ROOT/dotnet-bridge/include" \
        -o "$OUT/bench/libbare_native.so" "$ROOT/bench/dotnet/native_floor.c" -L"$dir" -lbridgehost
    copy_lib "$OUT/bench"
    # The typed figures call std through the class bindgen generates from the module's WIT.
    rm -rf "$OUT/bench/gen"
    "$dir/bridgehost" bindgen --lang csharp --package BenchGen "$dir/libbridgehost_mod_std.so" -o "$OUT/bench/gen" >/dev/null \
        || die "bindgen --lang csharp std failed (is $dir/bridgehost built?)"
    "${MCS[@]}" -unsafe -optimize+ -target:exe -r:"$OUT/bench/BridgeHost.dll" -out:"$OUT/bench/Bench.exe" "$ROOT"/bench/dotnet/*.cs "$OUT/bench/gen/Std.cs"
    runtimeconfig "$OUT/bench/Bench.exe"
}

# Environment under which the native library and the modules are found from a dist directory.
with_dist() {   # with_dist DIR CMD...
    local dir="$1"; shift
    LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" BRIDGEHOST_MODULE_PATH="$dir" "$@"
}

# ------------------------------------------------------------------ test
test_mono() {   # NUnit 2.6 on Mono
    local dir="$1" log="$OUT/tests/nunit.log" rc=0
    log "tests on Mono (NUnit $(basename "$(dirname "$NUNIT_FW")"))"
    # NUnit's own timeout cannot stop a thread blocked in native code: bound the whole run. On
    # expiry SIGQUIT makes Mono print every thread's stack into the log, then it is killed.
    (cd "$OUT/tests" && MONO_ENV_OPTIONS=--debug with_dist "$dir" timeout -s QUIT -k 15 "${BH_DOTNET_TIMEOUT:-1800}" \
        nunit-console BridgeHost.Tests.NUnit.dll -nologo -noresult -labels) >"$log" 2>&1 || rc=$?
    if [ "$rc" -ge 124 ]; then
        log "nunit-console timed out or was killed (exit $rc); thread dump in $log"
        awk '/Full thread dump/,0' "$log" | head -200 >&2
    fi
    # NUnit's summary and failures, then the adapter's lines (the full log, with a label per
    # case, stays in $log).
    sed -n '/^Tests run:/,$p' "$log" | grep -v '^$' | head -60 || true
    grep -E '^gc-pressure|^[0-9]+ skipped$|^[0-9]+ passed, [0-9]+ failed$' "$log" || true
    if ! grep -qE '^Tests run:' "$log"; then
        cat "$log"
        log "nunit-console produced no summary (exit $rc)"
        return 1
    fi
    grep -qE '^[0-9]+ passed, 0 failed$' "$log" || rc=1
    return "$rc"
}

test_coreclr() {   # test_coreclr DIST [FILTER...]
    local dir="$1" dn
    shift
    dn="$(dotnet_exe)"
    log "tests on CoreCLR ($("$dn" --list-runtimes | grep -m1 NETCore.App))"
    (cd "$OUT/tests" && with_dist "$dir" timeout -k 15 "${BH_DOTNET_TIMEOUT:-1800}" \
        "$dn" exec --runtimeconfig TestRunner.runtimeconfig.json TestRunner.exe "$@")
}

# ------------------------------------------------------------------ doc examples
# Docs are code: each ```csharp block of README.md and docs/*.md is a complete program. Compile it
# with the same mcs flags as the library (warnings are errors) and run it on CoreCLR and on Mono;
# an example that does not compile, throws or exits non-zero fails the suite.
test_docs() {   # test_docs DIST
    local dir="$1" dn work="$OUT/doc-examples" passed=0 failed=0 src exe name
    dn="$(dotnet_exe)"
    rm -rf "$work"; mkdir -p "$work/src"
    python3 "$ROOT/scripts/doc_examples.py" csharp "$work/src" >/dev/null
    copy_lib "$work"
    # The typed example (DOTNET.md, "Typed bindings") uses the std module's generated bindings,
    # generated here as the doc says (the CLI reads the interface from the module, in a worker).
    [ -x "$dir/bridgehost" ] || die "$dir/bridgehost missing: the doc examples need the CLI (scripts/build.sh)"
    with_dist "$dir" "$dir/bridgehost" bindgen --lang csharp --package MyApp.Typed std -o "$work/gen" >/dev/null \
        || die "doc examples: bridgehost bindgen --lang csharp failed"
    for src in "$work"/src/*.cs; do
        [ -e "$src" ] || continue
        name="$(basename "${src%.cs}")"; exe="$work/$name.exe"
        if ! "${MCS[@]}" -target:exe -r:"$work/BridgeHost.dll" -out:"$exe" "$src" "$work/gen/Std.cs" >"$work/$name.mcs.log" 2>&1; then
            cat "$work/$name.mcs.log" >&2
            log "doc example $name: FAILED to compile"; failed=$((failed + 1)); continue
        fi
        runtimeconfig "$exe"
        if (cd "$work" && with_dist "$dir" timeout -k 15 300 "$dn" exec \
                --runtimeconfig "$name.runtimeconfig.json" "$name.exe") >"$work/$name.coreclr.log" 2>&1; then
            passed=$((passed + 1))
        else
            cat "$work/$name.coreclr.log" >&2
            log "doc example $name on CoreCLR: FAILED"; failed=$((failed + 1))
        fi
        if (cd "$work" && with_dist "$dir" timeout -k 15 300 mono --debug "$name.exe") >"$work/$name.mono.log" 2>&1; then
            passed=$((passed + 1))
        else
            cat "$work/$name.mono.log" >&2
            log "doc example $name on Mono: FAILED"; failed=$((failed + 1))
        fi
    done
    echo "doc examples (csharp, CoreCLR + Mono): $passed passed, $failed failed"
    [ "$passed" -gt 0 ] && [ "$failed" -eq 0 ]
}

# ------------------------------------------------------------------ pack
pack() {   # pack DIST -> $OUT/pack/BridgeHost.$VERSION.nupkg
    local dir="$1" stage="$OUT/pack/stage"
    rm -rf "$stage"
    mkdir -p "$stage/lib/netstandard2.0" "$stage/runtimes/linux-x64/native"
    cp "$OUT/lib/BridgeHost.dll" "$OUT/lib/BridgeHost.xml" "$stage/lib/netstandard2.0/"
    cp "$dir/libbridgehost.so" "$stage/runtimes/linux-x64/native/"
    if [ -e "$dir/bridgehost-worker" ]; then
        cp "$dir/bridgehost-worker" "$stage/runtimes/linux-x64/native/"
    else
        log "pack: no bridgehost-worker in $dir (process isolation not built): packing without it"
    fi
    # The bundled modules users get; faulty, serial and single are test fixtures, never shipped.
    local m
    for m in ${BH_PACK_MODULES:-std zlib sqlite}; do
        [ -e "$dir/libbridgehost_mod_$m.so" ] || die "pack: $dir/libbridgehost_mod_$m.so missing"
        cp "$dir/libbridgehost_mod_$m.so" "$stage/runtimes/linux-x64/native/"
    done
    sed "s/@VERSION@/$VERSION/" "$CS/pack/BridgeHost.nuspec" >"$stage/BridgeHost.nuspec"
    cp "$ROOT/docs/DOTNET.md" "$stage/README.md"
    log "pack BridgeHost $VERSION (scripts/nupkg.py)"
    mkdir -p "$OUT/pack"
    python3 "$ROOT/scripts/nupkg.py" "$stage/BridgeHost.nuspec" "$stage" "$OUT/pack/BridgeHost.$VERSION.nupkg"
    printf '%s\n' "$OUT/pack/BridgeHost.$VERSION.nupkg"
}

# Unpack the package into a fresh directory, lay it out as a RID-specific app does
# (lib/netstandard2.0/*.dll and runtimes/linux-x64/native/* side by side), build a consumer against
# the packaged DLL only, and run it on both runtimes with no LD_LIBRARY_PATH/module path help.
test_pack() {
    local nupkg="$1" dn work app
    dn="$(dotnet_exe)"
    work="$(mktemp -d "${TMPDIR:-/tmp}/bh-nupkg.XXXXXX")"
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" RETURN
    log "package test: unzip $(basename "$nupkg")"
    (cd "$work" && unzip -q "$nupkg" -d pkg)
    local f
    for f in lib/netstandard2.0/BridgeHost.dll runtimes/linux-x64/native/libbridgehost.so \
             runtimes/linux-x64/native/libbridgehost_mod_std.so runtimes/linux-x64/native/libbridgehost_mod_zlib.so \
             runtimes/linux-x64/native/libbridgehost_mod_sqlite.so; do
        [ -e "$work/pkg/$f" ] || die "package lacks $f"
    done
    for f in faulty serial single stateful; do
        [ ! -e "$work/pkg/runtimes/linux-x64/native/libbridgehost_mod_$f.so" ] || die "package ships the test-only module $f"
    done
    app="$work/app"
    mkdir -p "$app"
    cp "$work/pkg/lib/netstandard2.0/BridgeHost.dll" "$app/"
    cp -p "$work/pkg/runtimes/linux-x64/native/"* "$app/"
    [ ! -e "$app/bridgehost-worker" ] || chmod +x "$app/bridgehost-worker"   # zip keeps no mode bits
    "${MCS[@]}" -target:exe -r:"$app/BridgeHost.dll" -out:"$app/Consumer.exe" "$CS/pack/Consumer.cs"
    runtimeconfig "$app/Consumer.exe"
    local rc=0
    log "package consumer on CoreCLR"
    (cd "$app" && env -u LD_LIBRARY_PATH -u BRIDGEHOST_MODULE_PATH "$dn" exec --runtimeconfig Consumer.runtimeconfig.json Consumer.exe) || rc=1
    log "package consumer on Mono"
    (cd "$app" && env -u LD_LIBRARY_PATH -u BRIDGEHOST_MODULE_PATH mono --debug Consumer.exe) || rc=1
    return "$rc"
}

# ------------------------------------------------------------------ main
cmd="${1:-test}"
[ $# -gt 0 ] && shift
case "$cmd" in
build)
    build
    dir="$(dist_dir)"
    if [ -e "$dir/libbridgehost.so" ]; then build_bench "$dir"; fi
    ;;
test)
    dir="$(dist_dir)"; check_dist "$dir"
    build
    failed=0
    test_mono "$dir" || failed=$((failed + 1))
    test_coreclr "$dir" || failed=$((failed + 1))
    nupkg="$(pack "$dir")"
    test_pack "$nupkg" || failed=$((failed + 1))
    test_docs "$dir" || failed=$((failed + 1))
    echo "dotnet suites: $((4 - failed)) passed, $failed failed"
    [ "$failed" -eq 0 ]
    ;;
test-coreclr)
    dir="$(dist_dir)"; check_dist "$dir"; build; test_coreclr "$dir" "$@"
    ;;
test-mono)
    dir="$(dist_dir)"; check_dist "$dir"; build; test_mono "$dir"
    ;;
test-docs)
    dir="$(dist_dir)"; check_dist "$dir"; build; test_docs "$dir"
    ;;
test-pack)
    dir="$(dist_dir)"; check_dist "$dir"; build; test_pack "$(pack "$dir")"
    ;;
demo)
    dir="$(dist_dir)"; check_dist "$dir"
    build >&2
    dn="$(dotnet_exe)"
    printf '\n---- Demo on CoreCLR ----\n'
    (cd "$OUT/demo" && with_dist "$dir" "$dn" exec --runtimeconfig Demo.runtimeconfig.json Demo.exe)
    printf '\n---- Demo on Mono ----\n'
    (cd "$OUT/demo" && with_dist "$dir" mono --debug Demo.exe)
    ;;
bench)
    dir="$(dist_dir release)"; check_dist "$dir"
    build >&2
    build_bench "$dir" >&2
    dn="$(dotnet_exe)"
    log "bench with natives from $dir"
    (cd "$OUT/bench" && with_dist "$dir" "$dn" exec --runtimeconfig Bench.runtimeconfig.json Bench.exe coreclr "$OUT/bench/libbare_echo.so")
    (cd "$OUT/bench" && with_dist "$dir" mono Bench.exe mono "$OUT/bench/libbare_echo.so")
    ;;
pack)
    dir="$(dist_dir)"; check_dist "$dir"
    build >&2
    pack "$dir"
    ;;
*)
    die "usage: scripts/dotnet.sh [build|test|test-coreclr [FILTER...]|test-mono|test-pack|test-docs|demo|bench|pack]"
    ;;
esac
