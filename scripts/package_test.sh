#!/usr/bin/env bash
# The `package` suite (scripts/test.sh package): install each artifact of scripts/package.sh into
# a clean place and run a small consumer (scripts/package/); every consumer opens the bundled
# std, zlib and sqlite modules by name (sqlite: a database opened through its typed interface):
#
#   C/CLI archive  unpacked in a temp dir; consumer.c built with pkg-config against it; the CLI
#                  run from bin/ (modules found beside the library, no environment help); the
#                  shipped docs; `bridgehost new --lang c|rust` run from a copy of the archive:
#                  the projects name nothing under the checkout and build, tests passing, from the
#                  archive's include/ and share/bridgehost/sdk-rust/ alone
#   wheel          a fresh venv, pip install of the wheel only, consumer.py; python -m bridgehost;
#                  a third-party module's wheel (bridgehost.modules entry point) opened by name
#   jar            a fresh Maven project depending on io.bridgehost:bridgehost, resolved from the
#                  file:// repository package.sh filled (docs/JAVA.md's <repositories> and
#                  <dependencies> snippet as written, but for the path); Consumer.java (the jar
#                  has no demo and no bench classes, its bridge no bench baselines); a
#                  third-party module's jar of classpath resources on the classpath, opened by name
#   SDK crates     cargo package of bridgehost-module-abi and bridgehost-module-sdk
#   nupkg          an app laid out from the unpacked package, EchoConsumer.cs on Mono and CoreCLR,
#                  then bench/dotnet's Bench.exe (BENCH_ONLY=echo) from that layout; plus a
#                  third-party module made by the archive's `bridgehost new --lang c`, tested with
#                  its `make test` through the archive's CLI, shipped in its own nupkg
#                  (runtimes/linux-x64/native) and opened by name from the same app
#
# Fails if any shipped ELF file carries debug info, or if a 16-byte echo through a package is
# more than 2x the bench figure of the same build, measured in this run from the unstripped
# release natives (target/dist-release) the benchmarks use: the C archive's consumer.c against
# the same program linked to target/dist-release (the C ABI path; bench/native's
# native.core_echo_16B is logged beside it); python.echo_16B as bench/python/bench.py measures it, in the project venv
# set up as scripts/python.sh bench does; java.cpu.echo_16B (bench/java InterleavedEcho, smoke)
# for the jar; dotnet.<rt>.echo_16B (bench/dotnet, BENCH_ONLY=echo, smoke: the same short run
# from the build tree and from the package layout, both with DOTNET_TieredCompilation=0 so
# CoreCLR runs optimised code from the first call) for the nupkg.
#
# BH_PACKAGE_SKIP_BUILD=1 uses the artifacts already in target/packages.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="$(repo_root)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n1)"
OUT="$ROOT/target/packages"
HERE="$ROOT/scripts/package"
# Nothing may point the consumers at the build tree (scripts/test.sh exports a module path): the
# bench setups below name their directories explicitly.
unset BRIDGEHOST_MODULE_PATH BRIDGEHOST_WORKER LD_LIBRARY_PATH
WORK="$(mktemp -d "${TMPDIR:-/tmp}/bh-package-test.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

[ -n "${BH_PACKAGE_SKIP_BUILD:-}" ] || bash "$ROOT/scripts/package.sh"

failed=0
fail() { log "FAIL: $*"; failed=$((failed + 1)); }
figure() { sed -n 's/^echo16_ns=\([0-9.]*\)$/\1/p' "$1" | tail -n1; }
# within LABEL GOT BENCH: GOT <= 2 x BENCH
within() {
    local label="$1" got="$2" bench="$3"
    [ -n "$got" ] && [ -n "$bench" ] || { fail "$label: missing figure (package '$got', bench '$bench')"; return; }
    if awk -v g="$got" -v b="$bench" 'BEGIN { exit !(g <= 2 * b) }'; then
        log "$label: 16-byte echo through the package $got ns <= 2 x bench $bench ns"
    else
        fail "$label: 16-byte echo through the package $got ns > 2 x bench $bench ns"
    fi
}
# least A B...: the smallest of the non-empty figures.
least() { printf '%s\n' "$@" | sed '/^$/d' | sort -g | head -n1; }
# judge LABEL GOT BENCH PKG_FN BENCH_FN: `within`, after measuring both sides again, back to back,
# at most twice more while GOT is over the bound, each side's least disturbed run counting.
# The first figures are taken minutes apart on a shared 2-core VM whose speed drifts by 2x from
# one window to the next (ci9, ci11, ci14: a Python or Mono echo at 340-380 ns against 174-186
# ns measured earlier, and the same pair within 10 % when measured back to back). Noise only
# ever adds time, to either side; a package that is really slower (debug natives, an
# unoptimised assembly) is over the bound in every window.
judge() {
    local label="$1" got="$2" bench="$3" pkg_fn="$4" bench_fn="$5" again
    for again in 2 3; do
        [ -n "$got" ] && [ -n "$bench" ] && ! awk -v g="$got" -v b="$bench" 'BEGIN { exit !(g > 2 * b) }' && break
        log "$label: $got ns > 2 x $bench ns; measuring both again, back to back ($again of 3)"
        bench="$(least "$bench" "$("$bench_fn")")"
        got="$(least "$got" "$("$pkg_fn")")"
    done
    within "$label" "$got" "$bench"
}
# doc_block PATTERN [DOC]: the first fenced block of DOC (default docs/MODULES.md) that contains
# PATTERN, unindented (the guides' shipping samples are run here as written).
doc_block() {
    python3 - "$ROOT/${2:-docs/MODULES.md}" "$1" <<'PY'
import re, sys, textwrap
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
i = 0
while i < len(lines):
    if re.match(r"^\s*```", lines[i]):
        j = i + 1
        while not re.match(r"^\s*```\s*$", lines[j]):
            j += 1
        block = "\n".join(lines[i + 1:j])
        if sys.argv[2] in block:
            print(textwrap.dedent(block))
            sys.exit(0)
        i = j
    i += 1
sys.exit(f"{sys.argv[1]}: no fenced block contains {sys.argv[2]!r}")
PY
}
no_debug() {   # no_debug DIR LABEL
    local f d n=0
    while IFS= read -r -d '' f; do
        d="$(file -b -L "$f")"
        case "$d" in ELF*) n=$((n + 1)) ;; *) continue ;; esac
        [[ "$d" != *"with debug_info"* ]] || fail "$2: ${f#"$1"/} carries debug info"
    done < <(find "$1" -type f -print0)
    [ "$n" -gt 0 ] || fail "$2: no ELF file"
}

# ---------------------------------------------------------------- bench figures (same build)
log "bench figure: bench/native (BENCH_ONLY=echo, release build)"
cargo build -q --release -p bridgehost-bench-native
BRIDGEHOST_MODULE_PATH="$ROOT/target/dist-release" BENCH_ONLY=echo \
    "$ROOT/target/release/bench-native" >"$WORK/bench-native.jsonl"
bench_native="$(sed -n 's/.*"name": "native.core_echo_16B", "unit": "ns\/call", "value": \([0-9.]*\).*/\1/p' "$WORK/bench-native.jsonl")"
log "native.core_echo_16B = $bench_native ns"
log "bench figure: bench/dotnet (BENCH_ONLY=echo BENCH_SMOKE=1, release natives)"
DOTNET_TieredCompilation=0 BENCH_ONLY=echo BENCH_SMOKE=1 BH_DIST="$ROOT/target/dist-release" bash "$ROOT/scripts/dotnet.sh" bench \
    >"$WORK/bench-dotnet.jsonl" 2>"$WORK/bench-dotnet.err" || { cat "$WORK/bench-dotnet.err"; fail "bench/dotnet"; }
log "bench figure: python.echo_16B (bench/python/bench.py's measurement; scripts/python.sh bench setup)"
bash "$ROOT/scripts/python.sh" build "$ROOT/target/dist-release" >"$WORK/bench-py.err" 2>&1 ||
    { cat "$WORK/bench-py.err"; fail "python bench setup"; }
measure_bench_py() {
    (cd "$ROOT/bench/python" && "$ROOT/.venv/bin/python" -c '
import statistics, bench, bridgehost
with bridgehost.Host() as h:
    print(statistics.median(bench.per_call_ns(h.open("std").method("echo").call, bench.DATA16, 100_000)))
')
}
bench_py="$(measure_bench_py)" || fail "python bench figure"
log "python.echo_16B = $bench_py ns"
log "bench figure: java.cpu.echo_16B (bench/java InterleavedEcho, smoke; scripts/java.sh bench setup)"
if BH_PROFILE=release bash "$ROOT/scripts/java.sh" build >"$WORK/bench-java.err" 2>&1 &&
   (cd "$ROOT/bench/java" && JAVA_HOME="$(java_home_17)" mvn -B -q \
        -Dbridgehost.jar="$ROOT/java/target/bridgehost-$VERSION.jar" package dependency:build-classpath \
        -Dmdep.outputFile="$WORK/bench-cp.txt") >>"$WORK/bench-java.err" 2>&1; then
    measure_bench_java() {
        BENCH_SMOKE=1 BRIDGEHOST_MODULE_PATH="$ROOT/target/dist-release" "$(java_home_17)/bin/java" \
            -Djava.library.path="$ROOT/target/dist-release" -Xss1m \
            -cp "$ROOT/bench/java/target/classes:$(cat "$WORK/bench-cp.txt")" io.bridgehost.jmh.InterleavedEcho |
            sed -n 's/.*"name": "java.cpu.echo_16B", "unit": "ns\/call", "value": \([0-9.]*\).*/\1/p'
    }
    bench_java="$(measure_bench_java)"
    log "java.cpu.echo_16B = $bench_java ns"
else
    cat "$WORK/bench-java.err"; fail "java bench setup"
fi
# The "min" of a bench record: its least disturbed repeat (the short smoke runs of both sides on a
# shared 2-core machine; a median of 2 repeats is one unlucky slice away from a false failure).
dn_min() {   # dn_min RUNTIME FILE
    sed -n "s/.*\"name\": \"dotnet.$1.echo_16B\", \"unit\": \"ns\/call\", \"value\": [0-9.]*, \"min\": \([0-9.]*\).*/\1/p" "$2" | head -n1
}
bench_dn() { dn_min "$1" "$WORK/bench-dotnet.jsonl"; }

# ---------------------------------------------------------------- C/CLI archive
log "C archive: unpack, pkg-config build, run"
tar -C "$WORK" -xzf "$OUT/bridgehost-$VERSION-linux-x86_64.tar.gz"
C="$WORK/bridgehost-$VERSION-linux-x86_64"
no_debug "$C" "C archive"
export PKG_CONFIG_PATH="$C/lib/pkgconfig"
# shellcheck disable=SC2046
cc -O2 -Wall -Wextra -Werror -o "$WORK/c-consumer" "$HERE/consumer.c" $(pkg-config --cflags --libs bridgehost)
unset PKG_CONFIG_PATH
# The C figure's baseline is the same C ABI path in the same run: consumer.c built against the
# unstripped release build the benchmarks use (target/dist-release), not the core's Rust-only
# native.core_echo_16B, which skips the C ABI's handle lookup and status mapping (on some CPUs
# that path alone is over 2x the bare core call, so the old comparison measured the CPU, not
# the package).
cc -O2 -Wall -Wextra -Werror -o "$WORK/c-consumer-built" "$HERE/consumer.c" \
    -I"$ROOT/dotnet-bridge/include" -L"$ROOT/target/dist-release" -lbridgehost \
    -Wl,-rpath,"$ROOT/target/dist-release"
bench_c=""
if (cd "$WORK" && env -u LD_LIBRARY_PATH BRIDGEHOST_MODULE_PATH="$ROOT/target/dist-release" \
        ./c-consumer-built) >"$WORK/c-built.out" 2>&1; then
    bench_c="$(figure "$WORK/c-built.out")"
    log "bench figure: C ABI echo (consumer.c against target/dist-release) = $bench_c ns" \
        "(native.core_echo_16B $bench_native ns)"
else
    cat "$WORK/c-built.out"; fail "C consumer against the release build tree"
fi
if (cd "$WORK" && env -u BRIDGEHOST_MODULE_PATH -u LD_LIBRARY_PATH ./c-consumer) >"$WORK/c.out" 2>&1; then
    cat "$WORK/c.out"
    got="$(figure "$WORK/c.out")"
    # As for the nupkg below: while over the bound, both sides again, back to back (at most
    # twice more), and the package's least disturbed run against the build tree's.
    for again in 2 3; do
        [ -n "$got" ] && [ -n "$bench_c" ] && ! awk -v g="$got" -v b="$bench_c" 'BEGIN { exit !(g > 2 * b) }' && break
        log "C archive: $got ns > 2 x $bench_c ns; measuring both again ($again of 3)"
        c1="$(cd "$WORK" && env -u LD_LIBRARY_PATH BRIDGEHOST_MODULE_PATH="$ROOT/target/dist-release" ./c-consumer-built | sed -n 's/^echo16_ns=//p')"
        c2="$(cd "$WORK" && env -u BRIDGEHOST_MODULE_PATH -u LD_LIBRARY_PATH ./c-consumer | sed -n 's/^echo16_ns=//p')"
        bench_c="$(printf '%s\n%s\n' "$bench_c" "$c1" | sed '/^$/d' | sort -g | head -n1)"
        got="$(printf '%s\n%s\n' "$got" "$c2" | sed '/^$/d' | sort -g | head -n1)"
    done
    within "C archive" "$got" "$bench_c"
else
    cat "$WORK/c.out"; fail "C consumer"
fi
crc="$(printf 123456789 | env -u BRIDGEHOST_MODULE_PATH "$C/bin/bridgehost" call std checksum | od -An -tx1 | tr -d ' \n')"
[ "$crc" = e3069283 ] && log "C archive: bin/bridgehost call std checksum ok" || fail "C archive CLI: checksum '$crc'"
echo hi | env -u BRIDGEHOST_MODULE_PATH "$C/bin/bridgehost" call --isolated std echo | grep hi >/dev/null ||
    fail "C archive CLI: isolated echo (worker from lib/)"

# The archive on its own: docs shipped, and `bridgehost new` run from a copy of the unpacked
# archive (so nothing can be found through the place it was built or unpacked first) takes the
# header and the Rust SDK from that copy: the generated projects name no path under the checkout,
# and both build and pass their own tests.
# Every document of the checkout (the shipped ones link to each other).
for d in README.md $(cd "$ROOT" && ls docs/*.md); do
    [ -f "$C/share/doc/bridgehost/$d" ] || fail "C archive: no share/doc/bridgehost/$d"
done
grep -q 'share/doc/bridgehost/docs/MODULES.md' "$C/lib/pkgconfig/bridgehost-module.pc" ||
    fail "C archive: bridgehost-module.pc does not point at the shipped guide"
AC="$WORK/archive-copy"
cp -a "$C" "$AC"
NP="$WORK/new-from-archive"
mkdir -p "$NP"
if (cd "$NP" && env -u BRIDGEHOST_MODULE_PATH "$AC/bin/bridgehost" new --lang c arc_c >/dev/null &&
    env -u BRIDGEHOST_MODULE_PATH "$AC/bin/bridgehost" new --lang rust arc_rust >/dev/null); then
    if grep -rn -F "$ROOT" "$NP/arc_c" "$NP/arc_rust"; then
        fail "bridgehost new (archive): the generated projects name paths under the checkout $ROOT"
    fi
    grep -q "^BH_INCLUDE ?= $AC/include\$" "$NP/arc_c/Makefile" ||
        fail "bridgehost new --lang c (archive): BH_INCLUDE is not the archive's include/: $(grep BH_INCLUDE "$NP/arc_c/Makefile" | head -n1)"
    grep -q "path = \"$AC/share/bridgehost/sdk-rust/bridgehost-module-sdk\"" "$NP/arc_rust/Cargo.toml" ||
        fail "bridgehost new --lang rust (archive): the SDK is not the archive's: $(grep sdk "$NP/arc_rust/Cargo.toml")"
    grep -q "$AC/share/doc/bridgehost/docs/MODULES.md" "$NP/arc_c/README.md" ||
        fail "bridgehost new (archive): the project README does not point at the archive's guide"
    (cd "$NP/arc_c" && env -u BRIDGEHOST_MODULE_PATH make -s test) ||
        fail "bridgehost new --lang c (archive): make test"
    if (cd "$NP/arc_rust" && env -u BRIDGEHOST_MODULE_PATH -u RUSTFLAGS CARGO_TARGET_DIR="$WORK/arc-rust-target" \
            cargo test --offline) >"$WORK/arc-rust.out" 2>&1 &&
       grep -q "through_the_sdk_test_host ... ok" "$WORK/arc-rust.out" &&
       grep -q "call_in_process_and_isolated ... ok" "$WORK/arc-rust.out"; then
        log "bridgehost new (archive copy): C and Rust projects built from the archive alone, tests pass"
    else
        cat "$WORK/arc-rust.out"; fail "bridgehost new --lang rust (archive): cargo test"
    fi
else
    fail "bridgehost new from the archive copy"
fi

# ---------------------------------------------------------------- third-party module
# A third-party module, created with the archive's own CLI (`bridgehost new --lang c`) and header,
# tested through that CLI (make test); each runtime section below ships it in that ecosystem's
# package (a wheel with a `bridgehost.modules` entry point, a jar of classpath resources, a nupkg
# with runtimes/linux-x64/native), installs it and opens it by name.
T="$WORK/thirdparty"
if "$C/bin/bridgehost" new --lang c acme_greeter --dir "$T/src" --sdk "$C/include" >/dev/null &&
   make -s -C "$T/src" CFLAGS=-O2 >/dev/null && make -s -C "$T/src" test BRIDGEHOST_CLI="$C/bin/bridgehost"; then
    TP="$T/src/libbridgehost_mod_acme_greeter.so"
else
    fail "third-party module from bridgehost new (C archive CLI)"; TP=""
fi

# ---------------------------------------------------------------- wheel
log "wheel: fresh venv, pip install the wheel, consumer"
whl="$(ls "$OUT"/bridgehost-"$VERSION"-*.whl)"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q --disable-pip-version-check --no-index "$whl"
no_debug "$("$WORK/venv/bin/python" -c 'import bridgehost, os; print(os.path.dirname(bridgehost.__file__))')" wheel
if (cd "$WORK" && env -u BRIDGEHOST_MODULE_PATH "$WORK/venv/bin/python" "$HERE/consumer.py") >"$WORK/py.out" 2>&1; then
    cat "$WORK/py.out"
    measure_pkg_py() {
        (cd "$WORK" && env -u BRIDGEHOST_MODULE_PATH "$WORK/venv/bin/python" "$HERE/consumer.py") |
            sed -n 's/^echo16_ns=\([0-9.]*\)$/\1/p' | tail -n1
    }
    judge wheel "$(figure "$WORK/py.out")" "$bench_py" measure_pkg_py measure_bench_py
else
    cat "$WORK/py.out"; fail "Python consumer"
fi
crc="$(cd "$WORK" && printf 123456789 | env -u BRIDGEHOST_MODULE_PATH "$WORK/venv/bin/python" -m bridgehost call std checksum | od -An -tx1 | tr -d ' \n')"
[ "$crc" = e3069283 ] && log "wheel: python -m bridgehost call std checksum ok" || fail "python -m bridgehost call: '$crc'"
(cd "$WORK" && "$WORK/venv/bin/python" -m bridgehost inspect zlib >"$WORK/inspect.out") &&
    grep -q '^  compress' "$WORK/inspect.out" ||
    fail "python -m bridgehost inspect zlib"

# The third-party module as a wheel of its own: package acme_greeter holding the .so, declared in
# the `bridgehost.modules` entry-point group; pip-installed into the same fresh venv, opened by name
# from a clean directory (no module path).
if [ -n "$TP" ]; then
    W="$T/wheel"
    mkdir -p "$W/acme_greeter-1.0/acme_greeter" "$W/acme_greeter-1.0/acme_greeter-1.0.dist-info"
    : >"$W/acme_greeter-1.0/acme_greeter/__init__.py"
    cp "$TP" "$W/acme_greeter-1.0/acme_greeter/"
    printf 'Metadata-Version: 2.1\nName: acme-greeter\nVersion: 1.0\nRequires-Dist: bridgehost\n' \
        >"$W/acme_greeter-1.0/acme_greeter-1.0.dist-info/METADATA"
    printf 'Wheel-Version: 1.0\nGenerator: package_test\nRoot-Is-Purelib: false\nTag: py3-none-linux_x86_64\n' \
        >"$W/acme_greeter-1.0/acme_greeter-1.0.dist-info/WHEEL"
    printf '[bridgehost.modules]\nacme_greeter = acme_greeter\n' \
        >"$W/acme_greeter-1.0/acme_greeter-1.0.dist-info/entry_points.txt"
    "$ROOT/.venv/bin/python" -m wheel pack -d "$W" "$W/acme_greeter-1.0" >/dev/null
    if "$WORK/venv/bin/python" -m pip install -q --disable-pip-version-check --no-index "$W"/acme_greeter-1.0-*.whl &&
       (cd "$WORK" && env -u BRIDGEHOST_MODULE_PATH "$WORK/venv/bin/python" -c '
import bridgehost
with bridgehost.Host() as h, h.open("acme_greeter") as m:
    assert m.method("greet").call(b"world") == b"hello, world"
print("ok   third-party module acme_greeter opened by name from its wheel (bridgehost.modules entry point)")
'); then :; else fail "wheel: third-party module by entry point"; fi
    # The same module built as docs/MODULES.md says: its setuptools pyproject.toml as written, the
    # retag it gives, installed into another fresh venv and opened by name.
    S="$T/setuptools"
    mkdir -p "$S/acme_greeter"
    doc_block 'tool.setuptools.package-data' >"$S/pyproject.toml"
    : >"$S/acme_greeter/__init__.py"
    cp "$TP" "$S/acme_greeter/"
    sw="$S/dist/acme_greeter-1.0-py3-none-linux_x86_64.whl"
    if (cd "$S" && "$WORK/venv/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps -w dist .) \
            >"$WORK/setuptools.out" 2>&1 &&
       "$ROOT/.venv/bin/python" -m wheel tags --remove --platform-tag linux_x86_64 \
            "$S/dist/acme_greeter-1.0-py3-none-any.whl" >>"$WORK/setuptools.out" 2>&1 &&
       unzip -l "$sw" | grep ' acme_greeter/libbridgehost_mod_acme_greeter.so$' >/dev/null &&
       unzip -p "$sw" acme_greeter-1.0.dist-info/entry_points.txt | grep -x 'acme_greeter = acme_greeter' >/dev/null &&
       python3 -m venv "$WORK/venv-setuptools" &&
       "$WORK/venv-setuptools/bin/python" -m pip install -q --disable-pip-version-check --no-index "$whl" "$sw" &&
       (cd "$WORK" && env -u BRIDGEHOST_MODULE_PATH "$WORK/venv-setuptools/bin/python" -c '
import bridgehost
with bridgehost.Host() as h, h.open("acme_greeter") as m:
    assert m.method("greet").call(b"world") == b"hello, world"
print("ok   third-party module acme_greeter from the setuptools wheel docs/MODULES.md describes")
'); then :; else
        cat "$WORK/setuptools.out"; fail "wheel: the setuptools pyproject.toml of docs/MODULES.md"
    fi
fi

# ---------------------------------------------------------------- jar
log "jar: fresh Maven project resolving io.bridgehost:bridgehost:$VERSION from file://$OUT/maven/repo"
J="$WORK/java"
mkdir -p "$J/src/main/java/consumer"
cp "$HERE/Consumer.java" "$J/src/main/java/consumer/"
# The <repositories> and <dependencies> are docs/JAVA.md's Maven snippet ("Using it") as written,
# but for its <url>: its placeholder path must end in target/packages/maven/repo (where
# scripts/package.sh puts the repository) and becomes this checkout's. Its version must be this
# one: a stale version in the guide fails here, not in a reader's build.
java_md_pom="$(doc_block '<repositories>' docs/JAVA.md)" || fail "docs/JAVA.md: no Maven snippet"
grep -q "<version>$VERSION</version>" <<<"$java_md_pom" ||
    fail "docs/JAVA.md: the Maven snippet does not name version $VERSION"
java_md_pom="$(python3 - "$OUT/maven/repo" "$java_md_pom" <<'PY'
import re, sys
repo, block = sys.argv[1], sys.argv[2]
url = re.compile(r"<url>file:///[^<]*/target/packages/maven/repo/?</url>")
if len(url.findall(block)) != 1:
    sys.exit("docs/JAVA.md: the Maven snippet's <url> is not one file:///.../target/packages/maven/repo")
print(url.sub(lambda _: f"<url>file://{repo}</url>", block))
PY
)" || fail "docs/JAVA.md: the Maven snippet's repository"
cat >"$J/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>consumer</groupId>
  <artifactId>consumer</artifactId>
  <version>1</version>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
$java_md_pom
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-compiler-plugin</artifactId><version>3.13.0</version>
  </plugin></plugins></build>
</project>
EOF
# A private local repository seeded with the build plugins only: bridgehost itself must come from
# the file:// repository (a stale copy in ~/.m2 cannot stand in for it).
M2="$WORK/m2"
mkdir -p "$M2"
cp -r "$HOME/.m2/repository/." "$M2/"
rm -rf "$M2/io/bridgehost"
JH="$(java_home_17)"
# The production jar: no demo, no bench classes, and a bridge built without the jni-bridge
# `bench` feature (no BareEcho registration: the consumer below proves it loads without the class).
pj="$OUT/maven/bridgehost-$VERSION.jar"
if unzip -l "$pj" | grep -E 'io/bridgehost/(demo|bench)/'; then fail "jar: carries demo or bench classes"; fi
unzip -p "$pj" "natives/linux-x86_64/libbridgehost_jni.so" >"$WORK/jni.so"
[ -s "$WORK/jni.so" ] || fail "jar: no natives/linux-x86_64/libbridgehost_jni.so"
if grep -a -q -E 'io/bridgehost/bench/BareEcho|bh-bench-attach' "$WORK/jni.so"; then
    fail "jar: libbridgehost_jni.so carries the bench baselines"
fi
if (cd "$J" && JAVA_HOME="$JH" mvn -B -q -Dmaven.repo.local="$M2" compile) >"$WORK/mvn.out" 2>&1; then
    jar="$M2/io/bridgehost/bridgehost/$VERSION/bridgehost-$VERSION.jar"
    cmp -s "$jar" "$OUT/maven/bridgehost-$VERSION.jar" || fail "jar: Maven resolved a jar that is not the packaged one"
    # The third-party module as a jar of classpath resources in the documented layout.
    cp_third=() third_arg=()
    if [ -n "$TP" ]; then
        mkdir -p "$T/jar/META-INF/bridgehost/modules/linux-x86_64"
        cp "$TP" "$T/jar/META-INF/bridgehost/modules/linux-x86_64/"
        "$JH/bin/jar" --create --file "$T/acme-greeter.jar" -C "$T/jar" META-INF
        # docs/MODULES.md's Maven resources fragment, as written, puts the file at the same place.
        MJ="$T/maven-module"
        mkdir -p "$MJ/native"
        cp "$TP" "$MJ/native/"
        { printf '<project xmlns="http://maven.apache.org/POM/4.0.0">\n  <modelVersion>4.0.0</modelVersion>\n'
          printf '  <groupId>com.acme</groupId><artifactId>acme-greeter</artifactId><version>1.0</version>\n'
          doc_block '<targetPath>META-INF/bridgehost/modules/linux-x86_64</targetPath>'
          printf '</project>\n'; } >"$MJ/pom.xml"
        if (cd "$MJ" && JAVA_HOME="$JH" mvn -B -q -Dmaven.repo.local="$M2" package) >"$WORK/mvn-module.out" 2>&1 &&
           unzip -l "$MJ/target/acme-greeter-1.0.jar" |
               grep -q ' META-INF/bridgehost/modules/linux-x86_64/libbridgehost_mod_acme_greeter.so$'; then
            cmp -s "$MJ/target/classes/META-INF/bridgehost/modules/linux-x86_64/libbridgehost_mod_acme_greeter.so" "$TP" ||
                fail "jar: the Maven fragment of docs/MODULES.md changed the module file"
        else
            cat "$WORK/mvn-module.out"; fail "jar: the Maven resources fragment of docs/MODULES.md"
        fi
        cp_third=(":$T/acme-greeter.jar") third_arg=(acme_greeter)
    fi
    if (cd "$WORK" && env -u BRIDGEHOST_MODULE_PATH "$JH/bin/java" -cp "$J/target/classes:$jar${cp_third[*]}" \
            consumer.Consumer "${third_arg[@]}") >"$WORK/java.out" 2>&1; then
        cat "$WORK/java.out"
        measure_pkg_java() {
            (cd "$WORK" && env -u BRIDGEHOST_MODULE_PATH "$JH/bin/java" -cp "$J/target/classes:$jar${cp_third[*]}" \
                consumer.Consumer "${third_arg[@]}") | sed -n 's/^echo16_ns=\([0-9.]*\)$/\1/p' | tail -n1
        }
        if declare -F measure_bench_java >/dev/null; then
            judge jar "$(figure "$WORK/java.out")" "${bench_java:-}" measure_pkg_java measure_bench_java
        else
            within jar "$(figure "$WORK/java.out")" "${bench_java:-}"
        fi
        grep -q "^ok   third-party module 'acme_greeter'" "$WORK/java.out" || [ -z "$TP" ] ||
            fail "jar: third-party module from its jar on the classpath"
    else
        cat "$WORK/java.out"; fail "Java consumer"
    fi
else
    cat "$WORK/mvn.out"; fail "Maven consumer build"
fi

# ---------------------------------------------------------------- nupkg
log "nupkg: unpack, lay out an app, EchoConsumer on CoreCLR and Mono"
P="$WORK/nupkg"; A="$WORK/app"
mkdir -p "$P" "$A"
(cd "$P" && unzip -q "$OUT/BridgeHost.$VERSION.nupkg")
no_debug "$P" nupkg
grep -q '<license type="expression">Apache-2.0</license>' "$P/BridgeHost.nuspec" || fail "nuspec: no license expression"
cp "$P/lib/netstandard2.0/BridgeHost.dll" "$A/"
cp "$P/runtimes/linux-x64/native/"* "$A/"
chmod +x "$A/bridgehost-worker"   # zip keeps no mode bits
# The third-party module in a nupkg of its own under runtimes/linux-x64/native, installed into
# the same app: EchoConsumer opens it by name.
if [ -n "$TP" ]; then
    mkdir -p "$T/stage/runtimes/linux-x64/native"
    cp "$TP" "$T/stage/runtimes/linux-x64/native/"
    cp "$T/src/README.md" "$T/stage/"
    # The nuspec of docs/MODULES.md, as written (with this build's BridgeHost version).
    doc_block '<id>Acme.Greeter</id>' |
        sed "s|<dependency id=\"BridgeHost\" version=\"[^\"]*\" />|<dependency id=\"BridgeHost\" version=\"$VERSION\" />|" \
        >"$T/stage/Acme.Greeter.nuspec"
    grep -q "<dependency id=\"BridgeHost\" version=\"$VERSION\" />" "$T/stage/Acme.Greeter.nuspec" ||
        fail "nupkg: the nuspec of docs/MODULES.md names no BridgeHost dependency"
    python3 "$ROOT/scripts/nupkg.py" "$T/stage/Acme.Greeter.nuspec" "$T/stage" "$T/Acme.Greeter.1.0.0.nupkg"
    mkdir -p "$T/pkg" && (cd "$T/pkg" && unzip -q "$T/Acme.Greeter.1.0.0.nupkg")
    cp "$T/pkg/runtimes/linux-x64/native/"* "$A/"
    third=(acme_greeter)
else
    third=()
fi
mcs -langversion:7.2 -warnaserror+ -optimize+ -target:exe -r:"$A/BridgeHost.dll" -out:"$A/EchoConsumer.exe" "$HERE/EchoConsumer.cs"
cat >"$A/EchoConsumer.runtimeconfig.json" <<'EOF'
{ "runtimeOptions": { "tfm": "net8.0", "framework": { "name": "Microsoft.NETCore.App", "version": "8.0.0" } } }
EOF
# The echo figure through the package: bench/dotnet's own Bench.exe (BENCH_ONLY=echo) run from
# the package's app layout, against the same Bench.exe run on the build tree above. (Its C floor,
# libbare_native.so, links -lbridgehost: LD_LIBRARY_PATH points it at the package's copy.)
cp "$ROOT/target/dotnet/bench/Bench.exe" "$ROOT/target/dotnet/bench/Bench.runtimeconfig.json" \
    "$ROOT/target/dotnet/bench/libbare_echo.so" "$ROOT/target/dotnet/bench/libbare_native.so" "$A/"
DN="$(dotnet_host)"
for rt in coreclr mono; do
    if [ "$rt" = coreclr ]; then run=("$DN" exec --runtimeconfig); rc1=(EchoConsumer.runtimeconfig.json); rc2=(Bench.runtimeconfig.json)
    else run=(mono); rc1=(); rc2=(); fi
    if (cd "$A" && env -u LD_LIBRARY_PATH -u BRIDGEHOST_MODULE_PATH "${run[@]}" "${rc1[@]}" EchoConsumer.exe "${third[@]}") >"$WORK/dn-$rt.out" 2>&1 &&
       (cd "$A" && env -u BRIDGEHOST_MODULE_PATH LD_LIBRARY_PATH="$A" DOTNET_TieredCompilation=0 BENCH_ONLY=echo BENCH_SMOKE=1 \
            "${run[@]}" "${rc2[@]}" Bench.exe "$rt" "$A/libbare_echo.so") >"$WORK/dn-bench-$rt.jsonl" 2>"$WORK/dn-bench-$rt.err"; then
        cat "$WORK/dn-$rt.out"
        got="$(dn_min "$rt" "$WORK/dn-bench-$rt.jsonl")"
        # A smoke run is two short repeats, measured minutes after the build tree's: while over
        # the bound, both are measured again back to back (`judge`).
        measure_pkg_dn() {
            (cd "$A" && env -u BRIDGEHOST_MODULE_PATH LD_LIBRARY_PATH="$A" DOTNET_TieredCompilation=0 BENCH_ONLY=echo \
                BENCH_SMOKE=1 "${run[@]}" "${rc2[@]}" Bench.exe "$rt" "$A/libbare_echo.so") >"$WORK/dn-again.jsonl" \
                2>"$WORK/dn-again.err" && dn_min "$rt" "$WORK/dn-again.jsonl"
        }
        measure_bench_dn() {
            DOTNET_TieredCompilation=0 BENCH_ONLY=echo BENCH_SMOKE=1 BH_DIST="$ROOT/target/dist-release" \
                bash "$ROOT/scripts/dotnet.sh" bench >"$WORK/dn-bench-again.jsonl" 2>"$WORK/dn-bench-again.err" &&
                dn_min "$rt" "$WORK/dn-bench-again.jsonl"
        }
        judge "nupkg on $rt" "$got" "$(bench_dn "$rt")" measure_pkg_dn measure_bench_dn
    else
        cat "$WORK/dn-$rt.out" "$WORK/dn-bench-$rt.err" 2>/dev/null; fail "nupkg consumer on $rt"
    fi
done

# ---------------------------------------------------------------- module SDK crates
# They build outside this repository: `cargo package` (with its verify build of the unpacked
# .crate, the ABI crate through cargo's temporary local registry) must succeed.
log "cargo package: bridgehost-module-abi, bridgehost-interface, bridgehost-module-sdk"
cargo package -q --offline --allow-dirty -p bridgehost-module-abi -p bridgehost-interface \
    -p bridgehost-module-sdk ||
    fail "cargo package of the module SDK crates"

echo "package: $failed failure(s)"
[ "$failed" -eq 0 ]
