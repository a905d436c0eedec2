#!/usr/bin/env python3
"""Prompt-lookup decoding: speed-up and acceptance on rewrites of a file in the prompt.

Runs `wafer -p REQUEST --file PATH --json --temp 0` with and without `--no-lookup` on each scenario (a
file and a request to change it), checks that both answers are the same tokens, and prints per scenario
and in median: decode tokens/s both ways and their ratio (with --repeat, the median of each plain/lookup pair's
ratio, and the range of those ratios), drafted and accepted tokens, and on the wafer
backend the modelled decode tokens/s both ways.

The accepted/drafted counts depend only on the prompt and the model; tokens/s are wall-clock, so compare
runs made under the same load (printed at the end). The prompt names the workspace, a fresh temporary
directory per scenario, so answers (and counts) can differ slightly from one invocation to the next.

Scenarios: the edit evaluation's (scripts/eval-edits/scenarios.py), or `--scenarios DIR`, a directory
with a scenarios.py that defines SCENARIOS, dicts with name, path, content and request.

Usage: scripts/bench-lookup.py [--wafer .build/release/wafer] [--model qwen-coder] [--backend cpu]
                               [--scenarios scripts/eval-edits] [--only NAME] [--repeat N] [-n 400]
"""

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile

DEFAULT_SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "eval-edits")


def load_scenarios(directory):
    path = os.path.join(directory, "scenarios.py")
    spec = importlib.util.spec_from_file_location("scenarios", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SCENARIOS


def run(wafer, scenario, flags, lookup, d):
    """One answer in directory `d` (the same for both modes: the prompt names the workspace)."""
    with open(os.path.join(d, scenario["path"]), "w") as f:
        f.write(scenario["content"])
    cmd = [wafer, "-p", scenario["request"], "--file", scenario["path"], "--json", "--temp", "0"] + flags
    if not lookup:
        cmd.append("--no-lookup")
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=d, timeout=1800)
    if p.returncode != 0:
        sys.exit(f"bench-lookup: {scenario['name']}: wafer exited {p.returncode}: {p.stderr.strip()[-400:]}")
    lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
    if not lines:
        sys.exit(f"bench-lookup: {scenario['name']}: no JSON output")
    return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wafer", default=".build/release/wafer")
    parser.add_argument("--model", default="qwen-coder")
    parser.add_argument("--backend", default="cpu", help="cpu or wafer")
    parser.add_argument("--scenarios", default=DEFAULT_SCENARIOS, help="a directory with scenarios.py (default scripts/eval-edits)")
    parser.add_argument("--only", action="append", help="run only this scenario (repeatable)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per scenario and mode, alternating (medians of tok/s and of each pair's ratio)")
    parser.add_argument("-n", type=int, default=400, help="the most tokens per answer")
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()

    wafer = os.path.abspath(args.wafer)
    if not os.access(wafer, os.X_OK):
        sys.exit(f"bench-lookup: no wafer binary at {wafer} (run make build)")
    scenarios = load_scenarios(args.scenarios)
    if args.only:
        scenarios = [s for s in scenarios if s["name"] in args.only]
        if not scenarios:
            sys.exit("bench-lookup: no scenario by that name")
    flags = ["--model", args.model, "--backend", args.backend, "-n", str(args.n)]
    if args.threads:
        flags += ["--threads", str(args.threads)]

    rows = []
    print(f"{'scenario':28} {'tokens':>6} {'plain tok/s':>11} {'lookup tok/s':>12} {'ratio':>6} {'pairs':>9} {'accepted/drafted':>17} {'wafer modelled plain -> lookup':>31}")
    for s in scenarios:
        plain_runs, lookup_runs = [], []
        with tempfile.TemporaryDirectory(prefix="wafer-lookup-") as d:
            for _ in range(args.repeat):
                plain_runs.append(run(wafer, s, flags, False, d))
                lookup_runs.append(run(wafer, s, flags, True, d))
        plain, drafted = plain_runs[0], lookup_runs[0]
        if plain["tokens"] != drafted["tokens"]:
            i = next((k for k, (a, b) in enumerate(zip(plain["tokens"], drafted["tokens"])) if a != b),
                     min(len(plain["tokens"]), len(drafted["tokens"])))
            print(f"{s['name']}: MISMATCH: the answers differ at token {i}", file=sys.stderr)
        p_rate = statistics.median(r.get("decode_tok_s") or 0 for r in plain_runs)
        l_rate = statistics.median(r.get("decode_tok_s") or 0 for r in lookup_runs)
        # The ratio of each pair of runs made one after the other, then their median: the machine's speed
        # drifts between runs, and a pair shares it more often than two medians taken minutes apart do.
        pair_ratios = [(l.get("decode_tok_s") or 0) / p["decode_tok_s"] for p, l in zip(plain_runs, lookup_runs)
                       if p.get("decode_tok_s")]
        ratio = statistics.median(pair_ratios) if pair_ratios else 0
        spread = f"{min(pair_ratios):.2f}-{max(pair_ratios):.2f}" if len(pair_ratios) > 1 else ""
        acc, prop = drafted.get("draft_accepted", 0), drafted.get("draft_proposed", 0)
        modelled = ""
        if "wafer" in plain and "wafer" in drafted:
            mp, ml = plain["wafer"]["modeled_decode_tok_s"], drafted["wafer"]["modeled_decode_tok_s"]
            modelled = f"{mp:,.0f} -> {ml:,.0f} ({ml / mp:.2f}x)"
        rows.append(dict(ratio=ratio, plain=p_rate, lookup=l_rate, accepted=acc, proposed=prop,
                         tokens=len(drafted["tokens"]), same=plain["tokens"] == drafted["tokens"]))
        print(f"{s['name']:28} {len(drafted['tokens']):6d} {p_rate:11.2f} {l_rate:12.2f} {ratio:6.2f} {spread:>9} "
              f"{acc:>8d}/{prop:<8d} {modelled:>31}", flush=True)

    accepted = sum(r["accepted"] for r in rows)
    proposed = sum(r["proposed"] for r in rows)
    tokens = sum(r["tokens"] for r in rows)
    same = sum(r["same"] for r in rows)
    print(f"median decode tok/s: plain {statistics.median(r['plain'] for r in rows):.2f}, "
          f"lookup {statistics.median(r['lookup'] for r in rows):.2f}; median ratio {statistics.median(r['ratio'] for r in rows):.2f}x")
    print(f"drafted {proposed}, accepted {accepted} ({accepted / proposed:.0%} of drafted, "
          f"{accepted / tokens:.0%} of the {tokens} answer tokens)" if proposed else "nothing was drafted")
    print(f"identical answers with and without lookup: {same} of {len(rows)}")
    # Wall-clock ratios depend on what else the machine runs: say how busy it was.
    print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    return 0 if same == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
