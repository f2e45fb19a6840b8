#!/usr/bin/env python3
"""Turn the harnesses' JSON lines into latest.json, docs/PERFORMANCE.md and a chart.

Each record may name a `baseline` (another record's name) and a `goal`
("<= Kx baseline", ">= Kx baseline", ">= N unit"). The ratio printed is always
value / baseline for time units and baseline / value for rates, so that a
ratio above 1 always means "slower than the baseline".
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
from datetime import datetime, timezone

RATE_UNITS = {"MB/s", "events/s", "calls/s", "ops/s"}


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip() \
            or subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stderr.strip()
    except Exception as e:  # the machine description must never break the report
        return f"unknown ({e})"


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
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "rustc": sh("rustc --version"),
        "python": platform.python_version(),
        "java": sh("java -version 2>&1 | head -1"),
        "mono": sh("mono --version | head -1"),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def slowdown(rec, base):
    """value relative to the baseline, > 1 = worse than the baseline."""
    if base is None or not base.get("value"):
        return None
    if rec["unit"] in RATE_UNITS:
        return base["value"] / rec["value"] if rec["value"] else None
    return rec["value"] / base["value"]


def goal_met(rec, base):
    g = rec.get("goal")
    if not g:
        return None
    m = re.match(r"\s*(<=|>=)\s*([0-9.]+)x\s+baseline", g)
    if m and base is not None:
        k = float(m.group(2))
        ratio = rec["value"] / base["value"]  # raw ratio in the record's own unit
        return ratio <= k if m.group(1) == "<=" else ratio >= k
    m = re.match(r"\s*(<=|>=)\s*([0-9.e+]+)\s*(\S+)?", g)
    if m:
        k = float(m.group(2))
        return rec["value"] <= k if m.group(1) == "<=" else rec["value"] >= k
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--doc", default=os.path.join(os.path.dirname(__file__), "..", "docs", "PERFORMANCE.md"))
    a = ap.parse_args()
    recs = []
    with open(a.raw) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            for k in ("name", "unit", "value"):
                if k not in r:
                    sys.exit(f"{a.raw}:{n}: record lacks {k!r}: {line}")
            recs.append(r)
    if not recs:
        sys.exit("no benchmark records")
    by_name = {r["name"]: r for r in recs}
    for r in recs:
        b = by_name.get(r.get("baseline")) if isinstance(r.get("baseline"), str) else None
        r["slowdown_vs_baseline"] = slowdown(r, b)
        r["goal_met"] = goal_met(r, b)
    doc = {"machine": machine(), "smoke": a.smoke, "records": recs}
    with open(os.path.join(a.out, "latest.json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)

    rows = ["| figure | value | min … max | baseline | vs baseline | goal | met |",
            "|---|---:|---|---|---:|---|---|"]
    for r in recs:
        ratio = r["slowdown_vs_baseline"]
        met = {True: "yes", False: "**no**", None: ""}[r["goal_met"]]
        rows.append("| {} | {:.4g} {} | {} | {} | {} | {} | {} |".format(
            r["name"], r["value"], r["unit"],
            f"{r.get('min', r['value']):.4g} … {r.get('max', r['value']):.4g}",
            r.get("baseline", ""), f"{ratio:.2f}×" if ratio else "", r.get("goal", ""), met))
    table = "\n".join(rows)
    if not a.smoke:
        m = doc["machine"]
        text = open(a.doc).read() if os.path.exists(a.doc) else "# Performance\n"
        begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
        block = (f"{begin}\nMeasured {m['date']} on {m['cpu']} ({m['cores']} cores), kernel {m['kernel']}; "
                 f"{m['rustc']}; Python {m['python']}; {m['java']}; {m['mono']}. "
                 f"Command: `bench/run.sh`. 'vs baseline' > 1 means slower than the baseline.\n\n{table}\n\n"
                 f"![chart](../bench/results/chart.png)\n{end}")
        if begin in text:
            text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        with open(a.doc, "w") as f:
            f.write(text)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        pts = [r for r in recs if r["slowdown_vs_baseline"]]
        if pts:
            fig, ax = plt.subplots(figsize=(9, 0.45 * len(pts) + 1.5))
            names = [r["name"] for r in pts]
            vals = [r["slowdown_vs_baseline"] for r in pts]
            colors = ["#c0392b" if r["goal_met"] is False else "#2e86c1" for r in pts]
            ax.barh(names, vals, color=colors)
            ax.axvline(1.0, color="black", linewidth=0.8)
            ax.set_xscale("log")
            ax.set_xlabel("cost relative to the raw baseline (log scale; 1 = baseline, red = goal missed)")
            ax.invert_yaxis()
            fig.tight_layout()
            fig.savefig(os.path.join(a.out, "chart.png"), dpi=110)
    except ImportError:
        print("matplotlib missing: no chart", file=sys.stderr)
    print(table)


if __name__ == "__main__":
    main()
