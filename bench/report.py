#!/usr/bin/env python3
"""Turn the harnesses' JSON lines into latest.json, docs/PERFORMANCE.md and a chart.

Each record may name a `baseline` (another record's name, from the same run) and a
`goal` ("<= Kx baseline", ">= Kx baseline", "<= N unit", ">= N unit"). Two ratios are
kept per record that has a baseline:

* `ratio_to_baseline` = value / baseline value, in the record's own unit: the number
  the goal is written against (for a time, lower is better; for a rate, higher is
  better). This is what the table prints.
* `slowdown_vs_baseline` = the same comparison oriented so that > 1 always means
  "worse than the baseline" (value/baseline for times, baseline/value for rates).
  This is what the chart plots, so every bar reads the same way.

The report refuses a run it cannot compare honestly: a record naming a baseline that
is not in the run, a goal it cannot parse, a baseline in a different unit, or a
non-finite value all make it exit non-zero (in smoke mode too, so CI catches a
renamed figure).
"""
import argparse
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone

RATE_UNITS = {"MB/s", "GB/s", "events/s", "calls/s", "ops/s"}
TIME_UNITS = {"ns/call", "us/call", "ms", "s", "ns", "us"}
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
GOAL_RELATIVE = re.compile(r"^\s*(<=|>=)\s*([0-9.]+)\s*x\s+baseline\s*$")
GOAL_ABSOLUTE = re.compile(r"^\s*(<=|>=)\s*([0-9.e+]+)\s*(\S+)?\s*$")


def sh(cmd):
    """First line a command prints (stdout, else stderr); never raises."""
    try:
        p = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30)
        out = (p.stdout.strip() or p.stderr.strip()).splitlines()
        return out[0].strip() if out else "not found"
    except Exception as e:  # the machine description must never break the report
        return f"unknown ({e})"


def jdk(major):
    """`java -version` of the JDK the scripts use for this major version."""
    lib = os.path.join(ROOT, "scripts", "lib.sh")
    return sh(f'. "{lib}"; h="$(java_home_{major})" && "$h/bin/java" -version 2>&1 | head -1')


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    dotnet = "not found"
    path_file = os.path.join(ROOT, ".venv", "dotnet-path")
    if os.path.exists(path_file):
        host = open(path_file).read().strip()
        dotnet = "CoreCLR " + sh(f'"{host}" --list-runtimes | grep Microsoft.NETCore.App')
    try:
        load = " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        load = "unknown"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "os": sh(". /etc/os-release && echo \"$PRETTY_NAME\""),
        "rustc": sh("rustc --version"),
        "python": f"CPython {platform.python_version()}",
        "java17": jdk(17),
        "java25": jdk(25),
        "mono": sh("mono --version") if shutil.which("mono") else "not found",
        "dotnet": dotnet,
        "commit": sh(f"git -C '{ROOT}' rev-parse --short HEAD"),
        "loadavg_at_report": load,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def parse_goal(goal):
    """-> ("rel"|"abs", op, k) or raises ValueError."""
    m = GOAL_RELATIVE.match(goal)
    if m:
        return "rel", m.group(1), float(m.group(2))
    m = GOAL_ABSOLUTE.match(goal)
    if m:
        return "abs", m.group(1), float(m.group(2))
    raise ValueError(f"unparseable goal {goal!r}")


def check(recs):
    """Every problem that would make the comparison dishonest, as messages."""
    problems, seen = [], {}
    for r in recs:
        if r["name"] in seen:
            problems.append(f"{r['name']}: reported twice")
        seen[r["name"]] = r
    for r in recs:
        for k in ("value", "min", "median", "max"):
            v = r.get(k, r["value"])
            if not isinstance(v, (int, float)) or not math.isfinite(v):
                problems.append(f"{r['name']}: {k} is not a finite number ({v!r})")
        b = r.get("baseline")
        if b is not None:
            if b not in seen:
                problems.append(f"{r['name']}: baseline {b!r} is not in this run")
            elif seen[b]["unit"] != r["unit"]:
                problems.append(f"{r['name']}: unit {r['unit']} but baseline {b} is in {seen[b]['unit']}")
        if r.get("goal"):
            try:
                kind, _, _ = parse_goal(r["goal"])
                if kind == "rel" and b is None:
                    problems.append(f"{r['name']}: relative goal without a baseline")
            except ValueError as e:
                problems.append(f"{r['name']}: {e}")
    return problems


def ratio(rec, base):
    if base is None or not base["value"]:
        return None
    return rec["value"] / base["value"]


def slowdown(rec, base):
    """value relative to the baseline, > 1 = worse than the baseline."""
    q = ratio(rec, base)
    if q is None:
        return None
    if rec["unit"] in RATE_UNITS:
        return 1.0 / q if q else None
    return q


def goal_met(rec, base):
    g = rec.get("goal")
    if not g:
        return None
    kind, op, k = parse_goal(g)
    x = ratio(rec, base) if kind == "rel" else rec["value"]
    if x is None:
        return None
    return x <= k if op == "<=" else x >= k


def fmt(v):
    """Four significant digits; millions as "3.52 M" rather than "3.52e+06"."""
    if abs(v) >= 1e6:
        return f"{v / 1e6:.3g} M"
    if abs(v) >= 1e4:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def table(recs, by_name):
    rows = ["| figure | value | min … max | baseline | baseline value | ratio | goal | met |",
            "|---|---:|---|---|---:|---:|---|---|"]
    for r in recs:
        b = by_name.get(r.get("baseline"))
        q = r["ratio_to_baseline"]
        met = {True: "yes", False: "**no**", None: ""}[r["goal_met"]]
        rows.append("| {} | {} {} | {} … {} | {} | {} | {} | {} | {} |".format(
            r["name"], fmt(r["value"]), r["unit"], fmt(r.get("min", r["value"])),
            fmt(r.get("max", r["value"])), r.get("baseline", ""),
            f"{fmt(b['value'])} {b['unit']}" if b else "", f"{q:.2f}×" if q is not None else "",
            r.get("goal", ""), met))
    return "\n".join(rows)


def chart(recs, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no chart", file=sys.stderr)
        return
    pts = [r for r in recs if r["slowdown_vs_baseline"]]
    if not pts:
        return
    fig, ax = plt.subplots(figsize=(13, 0.36 * len(pts) + 1.6))
    names = [f"{r['name']}  (vs {r['baseline']})" for r in pts]
    vals = [r["slowdown_vs_baseline"] for r in pts]
    colors = ["#c0392b" if r["goal_met"] is False else "#27ae60" if r["goal_met"] else "#7f8c8d" for r in pts]
    ax.barh(names, vals, color=colors)
    for i, (v, r) in enumerate(zip(vals, pts)):
        ax.text(v * 1.03, i, f"{v:.2f}×  ({fmt(r['value'])} {r['unit']})", va="center", fontsize=7)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlim(min(0.5, min(vals) / 2), max(vals) * 12)
    ax.set_xlabel("cost relative to the baseline measured in the same run (log; 1 = baseline; "
                  "> 1 = slower / less throughput)\ngreen: goal met, red: goal missed, grey: no goal")
    ax.tick_params(axis="y", labelsize=7)
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "PERFORMANCE.md"))
    a = ap.parse_args()
    recs = []
    with open(a.raw) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{a.raw}:{n}: not JSON ({e}): {line}")
            for k in ("name", "unit", "value"):
                if k not in r:
                    sys.exit(f"{a.raw}:{n}: record lacks {k!r}: {line}")
            recs.append(r)
    if not recs:
        sys.exit("no benchmark records")
    problems = check(recs)
    if problems:
        sys.exit("benchmark records cannot be compared:\n  " + "\n  ".join(problems))
    by_name = {r["name"]: r for r in recs}
    for r in recs:
        b = by_name.get(r.get("baseline"))
        r["ratio_to_baseline"] = ratio(r, b)
        r["slowdown_vs_baseline"] = slowdown(r, b)
        r["goal_met"] = goal_met(r, b)
    doc = {"machine": machine(), "smoke": a.smoke, "records": recs}
    with open(os.path.join(a.out, "latest.json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    text_table = table(recs, by_name)
    goals = [r for r in recs if r["goal_met"] is not None]
    summary = f"{sum(r['goal_met'] for r in goals)} of {len(goals)} goals met"
    if not a.smoke:
        m = doc["machine"]
        text = open(a.doc).read() if os.path.exists(a.doc) else "# Performance\n"
        begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
        block = (
            f"{begin}\nMeasured {m['date']} (commit {m['commit']}) with `bench/run.sh` on {m['cpu']} "
            f"({m['cores']} cores), {m['os']}, kernel {m['kernel']}; load average when the report "
            f"was written {m['loadavg_at_report']}. Runtimes: {m['rustc']}; {m['python']}; "
            f"{m['java17']}; {m['java25']}; {m['mono']}; {m['dotnet']}.\n\n"
            f"**{summary}.** *ratio* = value ÷ baseline value, in the figure's own unit (for times "
            f"lower is better, for rates higher is better); goals are written against it. Values "
            f"are medians of the repeats; min … max shows the spread.\n\n{text_table}\n\n"
            f"![chart: every figure against its baseline](../bench/results/chart.png)\n{end}")
        if begin in text and end in text:
            text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        with open(a.doc, "w") as f:
            f.write(text)
    chart(recs, os.path.join(a.out, "chart.png"))
    print(text_table)
    print(summary)


if __name__ == "__main__":
    main()
