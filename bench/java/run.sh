#!/usr/bin/env bash
# The Java benchmarks: JMH (bench/java/pom.xml) against the jar and natives under test, in one
# run beside their raw baselines. JSON lines on stdout (bench/README.md), everything else on stderr.
#
#   bench/java/run.sh JAR DIST      (scripts/java.sh bench builds both, release natives)
#
# BENCH_SMOKE=1: no fork, one short warm-up and two short measurement iterations per benchmark
# (well under a minute; the numbers mean nothing). Exits non-zero if a benchmark fails (a call
# throws, a check in a setup fails) or a figure is missing.
# Environment: JAVA17_HOME overrides the JDK; MVN_ARGS adds Maven options; JMH_ARGS adds JMH options.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
ROOT="$(repo_root)"
HERE="$ROOT/bench/java"
JAR="${1:?usage: bench/java/run.sh JAR DIST}"
DIST="${2:?usage: bench/java/run.sh JAR DIST}"
[ -f "$JAR" ] || die "no jar at $JAR"
[ -f "$DIST/libbridgehost_jni.so" ] || die "no libbridgehost_jni.so in $DIST"
JAR="$(cd "$(dirname "$JAR")" && pwd)/$(basename "$JAR")"
DIST="$(cd "$DIST" && pwd)"
JAVA_HOME="${JAVA17_HOME:-$(java_home_17)}" || die "no JDK 17"
export JAVA_HOME
read -r -a MVN_EXTRA <<< "${MVN_ARGS:-}"
read -r -a JMH_EXTRA <<< "${JMH_ARGS:-}"

OUT="$HERE/target"
# The typed benchmarks call std through the class bindgen generates from the module's WIT (the
# pom adds this directory to the sources).
log "bench/java: bridgehost bindgen --lang java std -> $OUT/generated-sources/bridgehost"
rm -rf "$OUT/generated-sources/bridgehost"
"$DIST/bridgehost" bindgen --lang java --package io.bridgehost.jmh.gen \
    "$DIST/libbridgehost_mod_std.so" -o "$OUT/generated-sources/bridgehost" >&2 \
    || die "bench/java: bindgen failed"
log "bench/java: compile the JMH benchmarks against $JAR"
(cd "$HERE" && mvn -B -q "${MVN_EXTRA[@]}" -Dbridgehost.jar="$JAR" package \
    dependency:build-classpath -Dmdep.outputFile="$OUT/classpath.txt") >&2 \
    || die "bench/java: maven build failed"
CP="$OUT/classes:$(cat "$OUT/classpath.txt")"

if [ -n "${BENCH_SMOKE:-}" ]; then
    # No fork (-f 0): the benchmarks run in this JVM, which saves a JVM start per benchmark.
    JMH=(-f 0 -wi 1 -i 2 -w 100ms -r 200ms)
else
    JMH=(-f 2 -wi 5 -i 5 -w 1s -r 1s)
fi
# Natives from DIST (the jar's own copies are the same build; java.library.path wins).
export BRIDGEHOST_MODULE_PATH="$DIST"
log "bench/java: JMH ${JMH[*]} (load: $(cut -d' ' -f1-3 /proc/loadavg))"
rm -f "$OUT/jmh.json"
JVM_ARGS=(-Djava.library.path="$DIST" -Xss1m)
"$JAVA_HOME/bin/java" "${JVM_ARGS[@]}" -cp "$CP" org.openjdk.jmh.Main "${JMH[@]}" -foe true \
    -jvmArgsAppend "${JVM_ARGS[*]}" \
    -rf json -rff "$OUT/jmh.json" "${JMH_EXTRA[@]}" 'io\.bridgehost\.jmh\..*' >&2 \
    || die "bench/java: JMH failed"
python3 "$HERE/jmh2lines.py" "$OUT/jmh.json"
# The echo ratios once more, interleaved and on the thread's CPU clock (robust to a busy machine).
log "bench/java: interleaved echo on the thread CPU clock"
"$JAVA_HOME/bin/java" "${JVM_ARGS[@]}" -cp "$CP" io.bridgehost.jmh.InterleavedEcho \
    || die "bench/java: interleaved echo failed"
log "bench/java: done (load: $(cut -d' ' -f1-3 /proc/loadavg))"
