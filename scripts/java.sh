#!/usr/bin/env bash
# Build, test, package, demo and benchmark the Java front end (jni-bridge/ + java/).
#
#   scripts/java.sh build      cargo build the bridge, std module and worker; make the C modules;
#                              stage them in target/dist; mvn package (jar with natives, no tests)
#   scripts/java.sh test       build, then the JUnit suite under -Xcheck:jni on JDK 17 and on
#                              JDK 25 (--enable-native-access); the build fails on any
#                              'WARNING in native method' / 'FATAL ERROR in native method';
#                              then the jar runs standalone (java -cp bridgehost.jar, empty env);
#                              then every ```java block of README.md and docs/*.md is compiled
#                              and run against the jar (see doc_examples below)
#   scripts/java.sh docs       only the doc examples (against the jar already built)
#   scripts/java.sh gate       prove the -Xcheck:jni gate catches a real JNI misuse (C canary)
#   scripts/java.sh demo       build, then run io.bridgehost.demo.Demo from the jar
#   scripts/java.sh bench      release natives, then bench/java (JSON lines on stdout);
#                              BENCH_SMOKE=1 for a quick run
#
# Environment: BH_PROFILE=release builds release natives; JAVA17_HOME / JAVA25_HOME override
# the JDKs found under /usr/lib/jvm; MVN_ARGS adds Maven options (e.g. -o once resolved).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="$(repo_root)"
export PATH="$HOME/.cargo/bin:$PATH"
PROFILE="${BH_PROFILE:-debug}"
DIST="$ROOT/target/dist"
[ "$PROFILE" = release ] && DIST="$ROOT/target/dist-release"
JAVA_DIR="$ROOT/java"
JAR="$JAVA_DIR/target/bridgehost-0.1.0.jar"
read -r -a MVN_EXTRA <<< "${MVN_ARGS:-}"

need_cmd cargo make mvn

jdk17() { [ -n "${JAVA17_HOME:-}" ] && { printf '%s\n' "$JAVA17_HOME"; return; }; java_home_17 || die "no JDK 17 under /usr/lib/jvm"; }
jdk25() { [ -n "${JAVA25_HOME:-}" ] && { printf '%s\n' "$JAVA25_HOME"; return; }; java_home_25; }

# Copy a file into a directory by rename (a process that has the old file mapped keeps it intact).
stage() {
    local src="$1" dir="$2" name
    name="$(basename "$src")"
    cp "$src" "$dir/.$name.tmp.$$" && mv -f "$dir/.$name.tmp.$$" "$dir/$name"
}

build_natives() {
    local flag=() out="$ROOT/target/$PROFILE" pkgs=(-p bridgehost-jni -p bridgehost-mod-std)
    [ "$PROFILE" = release ] && flag=(--release)
    # The worker ships beside the bridge when the workspace has it (process isolation).
    if cargo metadata --no-deps --format-version 1 2>/dev/null | grep '"name":"bridgehost-worker"' >/dev/null; then
        pkgs+=(-p bridgehost-worker)
    fi
    # --features bridgehost-jni/bench: the BareEcho baselines (the development jar carries the
    # class; the release jar of scripts/package.sh has neither the class nor the natives).
    log "cargo build ${pkgs[*]} --features bridgehost-jni/bench ${flag[*]}"
    (cd "$ROOT" && cargo build "${pkgs[@]}" --features bridgehost-jni/bench "${flag[@]}")
    mkdir -p "$DIST"
    log "C modules -> $DIST"
    make -s -C "$ROOT/plugins" OUT="$DIST"
    stage "$out/libbridgehost_jni.so" "$DIST"
    stage "$out/libbridgehost_mod_std.so" "$DIST"
    if [ -x "$out/bridgehost-worker" ]; then
        stage "$out/bridgehost-worker" "$DIST"
    else
        log "no bridgehost-worker built: the jar will not support process isolation"
    fi
}

mvn_java() { # JAVA_HOME MVN-ARGS...
    local home="$1"; shift
    (cd "$JAVA_DIR" && JAVA_HOME="$home" mvn -B "${MVN_EXTRA[@]}" -Dbridgehost.dist="$DIST" "$@")
}

cmd_build() {
    build_natives
    log "mvn package (JDK 17)"
    mvn_java "$(jdk17)" -q package -DskipTests
    log "jar: $JAR"
}

# The JUnit suite on one JDK. Surefire forks that JDK's java; the check-jni-warnings execution
# fails the build on any -Xcheck:jni complaint in the JVM's own log or surefire's captures.
run_suite() { # LABEL JAVA_BIN EXTRA-PROPS...
    local label="$1" jvm="$2"; shift 2
    local require_iso=false
    [ -e "$DIST/bridgehost-worker" ] && require_iso=true
    log "JUnit suite on $label ($jvm)"
    mvn_java "$(jdk17)" verify -Djvm="$jvm" -Dbridgehost.requireIsolation="$require_iso" "$@" \
        2>&1 | tee "$JAVA_DIR/target/mvn-$label.log"
    local rc="${PIPESTATUS[0]}"
    # Belt and braces: the Maven console too (surefire may relay the fork's stderr there).
    if grep -E 'WARNING in native method|FATAL ERROR in native method' "$JAVA_DIR/target/mvn-$label.log"; then
        die "$label: -Xcheck:jni warnings in the Maven output"
    fi
    return "$rc"
}

# The jar alone: copied to an empty directory, run with an empty environment, no module path.
jar_standalone() {
    local tmp java
    java="$(jdk17)/bin/java"
    tmp="$(mktemp -d)"
    cp "$JAR" "$tmp/bridgehost.jar"
    log "standalone jar: env -i java -cp bridgehost.jar io.bridgehost.demo.Demo"
    (cd "$tmp" && env -i PATH=/usr/bin:/bin HOME="$tmp" "$java" -Xcheck:jni -cp bridgehost.jar \
        io.bridgehost.demo.Demo) > "$tmp/out.txt" 2>&1 || { cat "$tmp/out.txt"; die "standalone jar failed"; }
    cat "$tmp/out.txt"
    grep -q '^demo: OK' "$tmp/out.txt" || die "standalone jar: no 'demo: OK'"
    if grep -E 'in native method' "$tmp/out.txt"; then die "standalone jar: JNI warnings"; fi
    rm -rf "$tmp"
}

# Every ```java block of README.md and docs/*.md, extracted by scripts/doc_examples.py: each is a
# complete compilation unit (a public class with main). Compiled with JDK 17's javac (--release 17,
# -Xlint:all -Werror, the flags a user may build with: no lint is switched off) against the jar,
# then run from the jar alone, as a new user would (empty environment, an empty working directory)
# under -Xcheck:jni on JDK 17 and on JDK 25 (with --enable-native-access=ALL-UNNAMED, as JAVA.md
# says). An example passes when it compiles, exits 0 within 120 s on every JDK, and the JVM prints
# no JNI complaint and no native-access warning.
doc_examples() {
    local out="$JAVA_DIR/target/doc-examples" passed=0 failed=0 f name cls home j25 ok log
    local jdks=("$(jdk17)")
    if j25="$(jdk25)"; then jdks+=("$j25"); fi
    [ -f "$JAR" ] || { echo "java doc examples: no jar at $JAR"; return 1; }
    rm -rf "$out"
    mkdir -p "$out/src" "$out/run"
    python3 "$ROOT/scripts/doc_examples.py" java "$out/src" > "$out/files.txt" \
        || { echo "java doc examples: extraction failed"; return 1; }
    # The typed example (JAVA.md, "Typed bindings") uses the std module's generated bindings,
    # generated here as the doc says (the CLI reads the interface from the module, in a worker).
    "$DIST/bridgehost" bindgen --lang java --package example.std std -o "$out/gen" > /dev/null \
        || { echo "java doc examples: bridgehost bindgen failed"; return 1; }
    while read -r f; do
        name="$(basename "$(dirname "$f")")"
        cls="$(basename "$f" .java)"
        log="$out/$name.log"
        ok=1
        if ! "$(jdk17)/bin/javac" --release 17 -Xlint:all -Werror -cp "$JAR" \
                -d "$out/classes/$name" "$f" "$out/gen/example/std/Std.java" > "$log" 2>&1; then
            ok=0
        else
            for home in "${jdks[@]}"; do
                local flags=(-Xcheck:jni)
                [ "$home" != "$(jdk17)" ] && flags+=(--enable-native-access=ALL-UNNAMED)
                echo "--- $home/bin/java ${flags[*]} $cls" >> "$log"
                if ! (cd "$out/run" && env -i PATH=/usr/bin:/bin HOME="$out/run" timeout 120 \
                        "$home/bin/java" "${flags[@]}" -cp "$JAR:$out/classes/$name" "$cls") >> "$log" 2>&1; then
                    echo "--- exit status non-zero" >> "$log"
                    ok=0
                fi
            done
            if grep -E 'in native method|^WARNING: (A restricted method|Use --enable-native-access|Restricted methods)' "$log" > /dev/null; then
                ok=0
            fi
        fi
        if [ "$ok" = 1 ]; then
            passed=$((passed + 1))
            log "doc example $name ($cls): ok"
        else
            failed=$((failed + 1))
            log "doc example $name ($cls): FAILED"
            cat "$log"
        fi
    done < "$out/files.txt"
    echo "java doc examples: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

cmd_test() {
    build_natives
    mkdir -p "$JAVA_DIR/target"
    local failed=0 passed=0 j25
    if run_suite jdk17 "$(jdk17)/bin/java"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    if j25="$(jdk25)"; then
        if run_suite jdk25 "$j25/bin/java" -Dbridgehost.requireVirtualThreads=true; then
            passed=$((passed + 1)); else failed=$((failed + 1)); fi
    else
        log "no JDK 25 under /usr/lib/jvm: skipping the second JDK run"
    fi
    if [ -f "$JAR" ] && jar_standalone; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    if cmd_gate; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    if doc_examples; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    echo "java: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# Negative control for the -Xcheck:jni gate: a tiny C JNI library that calls a JNI function with
# an exception pending. The same grep as the build must find the JVM's complaint, in the JVM log
# file that surefire's forks write (-XX:LogFile) — so a silent gate cannot pass unnoticed.
cmd_gate() {
    local tmp java javac
    java="$(jdk17)/bin/java"; javac="$(jdk17)/bin/javac"
    tmp="$(mktemp -d)"
    mkdir -p "$tmp/canary"
    cat > "$tmp/canary/Canary.java" <<'EOF'
package canary;
public final class Canary {
    static native void misuse();
    public static void main(String[] a) {
        System.load(System.getProperty("canary.lib"));
        try { misuse(); } catch (RuntimeException expected) { }
        System.out.println("canary: ran");
    }
}
EOF
    cat > "$tmp/canary.c" <<'EOF'
#include <jni.h>
JNIEXPORT void JNICALL Java_canary_Canary_misuse(JNIEnv *env, jclass cls) {
    (*env)->ThrowNew(env, (*env)->FindClass(env, "java/lang/RuntimeException"), "pending");
    /* A JNI call with an exception pending: exactly what the bridge must never do. */
    (void)(*env)->GetStaticMethodID(env, cls, "main", "([Ljava/lang/String;)V");
}
EOF
    local inc
    inc="$(jdk17)/include"
    cc -shared -fPIC -I"$inc" -I"$inc/linux" -o "$tmp/libcanary.so" "$tmp/canary.c"
    "$javac" -d "$tmp" "$tmp/canary/Canary.java"
    "$java" -Xcheck:jni -XX:+UnlockDiagnosticVMOptions -XX:+LogVMOutput -XX:LogFile="$tmp/jvm.log" \
        -Dcanary.lib="$tmp/libcanary.so" -cp "$tmp" canary.Canary > "$tmp/out.txt" 2>&1 || true
    if grep -qE 'WARNING in native method|FATAL ERROR in native method' "$tmp/jvm.log"; then
        log "gate: -Xcheck:jni complaint found in the JVM log, as it must be: $(grep -m1 -E 'in native method' "$tmp/jvm.log")"
        rm -rf "$tmp"
        return 0
    fi
    cat "$tmp/out.txt"
    die "gate: the canary's JNI misuse was NOT found in the JVM log ($tmp/jvm.log): the -Xcheck:jni gate is blind"
}

cmd_demo() {
    cmd_build
    local env=()
    # The test-only faulty module (not shipped in the jar) shows crash containment.
    env=(BRIDGEHOST_MODULE_PATH="$DIST")
    log "java -cp $JAR io.bridgehost.demo.Demo"
    env "${env[@]}" "$(jdk17)/bin/java" -cp "$JAR" io.bridgehost.demo.Demo
    # Typed calls as a user makes them: generate the std module's class from its embedded WIT
    # interface, compile it with java/examples/TypedDemo.java against the jar, run it.
    local tmp
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' RETURN
    log "bridgehost bindgen --lang java --package example.std std; javac; java TypedDemo"
    BRIDGEHOST_MODULE_PATH="$DIST" "$DIST/bridgehost" bindgen --lang java --package example.std std -o "$tmp/gen"
    "$(jdk17)/bin/javac" -Xlint:all -Werror -d "$tmp/classes" -cp "$JAR" \
        "$tmp/gen/example/std/Std.java" "$JAVA_DIR/examples/TypedDemo.java"
    env "${env[@]}" "$(jdk17)/bin/java" -cp "$JAR:$tmp/classes" TypedDemo
}

cmd_bench() {
    BH_PROFILE=release
    PROFILE=release
    DIST="$ROOT/target/dist-release"
    # Builds talk on stderr: stdout carries only the harness's JSON lines.
    build_natives >&2
    # Classes from a jar built against the release natives.
    mvn_java "$(jdk17)" -q package -DskipTests >&2
    "$ROOT/bench/java/run.sh" "$JAR" "$DIST"
}

case "${1:-}" in
    build) cmd_build ;;
    test) cmd_test ;;
    gate) cmd_gate ;;
    docs) doc_examples ;;
    demo) cmd_demo ;;
    bench) cmd_bench ;;
    *) die "usage: scripts/java.sh build|test|gate|docs|demo|bench" ;;
esac
