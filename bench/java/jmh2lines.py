#!/usr/bin/env python3
"""Turn JMH's JSON result (-rf json) into bench/README.md JSON lines on stdout.

Each measurement iteration of each fork is one repeat; value = median. Rates (MB/s, events/s)
are derived from the per-iteration times, so min/max swap. Exits non-zero when a benchmark
this harness expects is missing (it failed or was not run).
"""
import json
import statistics
import sys

MB_64MIB = (64 << 20) / 1e6

# JMH benchmark -> records: (name, unit, convert(score in the benchmark's unit), baseline, goal)
ECHO = "io.bridgehost.jmh.EchoBench."
SUM = "io.bridgehost.jmh.ChecksumBench."
EV = "io.bridgehost.jmh.EventsBench."
TYPED = "io.bridgehost.jmh.TypedBench."
ns = lambda x: x
mb_s = lambda ms: MB_64MIB / (ms / 1e3)
per_s = lambda ns_per_event: 1e9 / ns_per_event
us = lambda x: x / 1e3
ms = lambda x: x / 1e6
RECORDS = {
    ECHO + "rawEcho": [("java.raw_echo_16B", "ns/call", ns, None, None)],
    ECHO + "crateEcho": [("java.crate_echo_16B", "ns/call", ns, "java.raw_echo_16B", None)],
    ECHO + "methodCall": [
        ("java.echo_16B", "ns/call", ns, "java.raw_echo_16B", "<= 2x baseline"),
        ("java.echo_16B_vs_crate", "ns/call", ns, "java.crate_echo_16B", None),
    ],
    SUM + "checksumArray": [("java.checksum_64MiB_array", "MB/s", mb_s, "native.crc32c_64MiB", None)],
    SUM + "checksumDirect": [
        ("java.checksum_64MiB_direct", "MB/s", mb_s, "native.crc32c_64MiB", ">= 0.9x baseline")
    ],
    EV + "attachPerEvent": [("java.attach_per_event", "events/s", per_s, None, None)],
    EV + "attachedOnce": [("java.attached_once_events", "events/s", per_s, None, None)],
    EV + "bridgeEvents": [
        ("java.events", "events/s", per_s, "java.attach_per_event", ">= 3000000 events/s"),
        ("java.events_vs_floor", "events/s", per_s, "java.attached_once_events", None),
    ],
    TYPED + "rawAdd": [("java.raw_add", "ns/call", ns, None, None)],
    TYPED + "typedAdd": [("java.typed_add", "ns/call", ns, "java.raw_add", "<= 2x baseline")],
    TYPED + "rawEchoString": [("java.raw_echo_string_1KiB", "ns/call", ns, None, None)],
    TYPED + "typedEchoString": [
        ("java.typed_echo_string_1KiB", "ns/call", ns, "java.raw_echo_string_1KiB", None)
    ],
    TYPED + "echo64KiB": [("java.echo_64KiB", "us/call", us, None, None)],
    TYPED + "typedEcho64KiB": [
        ("java.typed_echo_64KiB", "us/call", us, "java.echo_64KiB", "<= 1.2x baseline")
    ],
    TYPED + "handPoints10k": [("java.hand_echo_points_10k", "ms/call", ms, None, None)],
    TYPED + "typedPoints10k": [
        ("java.typed_echo_points_10k", "ms/call", ms, "java.hand_echo_points_10k", "<= 2x baseline")
    ],
}
EXPECTED_UNIT = {ECHO: "ns/op", SUM: "ms/op", EV: "ns/op", TYPED: "ns/op"}


def main(path):
    with open(path) as f:
        results = json.load(f)
    by_bench = {r["benchmark"]: r for r in results}
    missing = [b for b in RECORDS if b not in by_bench]
    for bench, recs in RECORDS.items():
        r = by_bench.get(bench)
        if r is None:
            continue
        m = r["primaryMetric"]
        unit = next(u for p, u in EXPECTED_UNIT.items() if bench.startswith(p))
        if m["scoreUnit"] != unit:
            sys.exit(f"jmh2lines: {bench}: unit {m['scoreUnit']}, expected {unit}")
        raw = [x for fork in m["rawData"] for x in fork]
        if not raw or min(raw) <= 0:
            sys.exit(f"jmh2lines: {bench}: no usable measurements")
        for name, out_unit, conv, baseline, goal in recs:
            vals = sorted(conv(x) for x in raw)
            rec = {"name": name, "unit": out_unit, "value": round(statistics.median(vals), 3),
                   "min": round(vals[0], 3), "median": round(statistics.median(vals), 3),
                   "max": round(vals[-1], 3), "repeats": len(vals)}
            if baseline:
                rec["baseline"] = baseline
            if goal:
                rec["goal"] = goal
            print(json.dumps(rec))
    if missing:
        sys.exit("jmh2lines: missing results for: " + ", ".join(missing))


if __name__ == "__main__":
    main(sys.argv[1])
