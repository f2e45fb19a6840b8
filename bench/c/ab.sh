#!/usr/bin/env bash
# A/B the C ABI's hot calls across builds: bench/c/ab.sh scalar|spill N RUNS DIST...
# Each DIST is a staged native directory (target/dist-release of a tree built with
# `BH_PROFILE=release bash scripts/build.sh`). The loop is built once per DIST, the runs
# alternate between them, and each DIST's times are printed sorted (compare minima: on a
# shared VM the medians move with the neighbours). docs/PERFORMANCE.md section 19.
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 scalar|spill N RUNS DIST..." >&2; exit 2; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
what=$1 n=$2 runs=$3
shift 3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
i=0
for d in "$@"; do
    d="$(cd "$d" && pwd)"
    cc -O2 -I"$ROOT/dotnet-bridge/include" -o "$work/loops$i" "$HERE/loops.c" \
        -L"$d" -lbridgehost -Wl,-rpath,"$d"
    echo "$d" > "$work/dir$i"
    i=$((i + 1))
done
for _ in $(seq "$runs"); do
    for j in $(seq 0 $((i - 1))); do
        d="$(cat "$work/dir$j")"
        BRIDGEHOST_MODULE_PATH="$d" "$work/loops$j" "$what" "$n" | awk '{print $1}' >> "$work/t$j"
    done
done
for j in $(seq 0 $((i - 1))); do
    echo "$(cat "$work/dir$j"): $(sort -n "$work/t$j" | tr '\n' ' ')"
done
