#!/usr/bin/env python3
"""Host decode speed of the wafer backend against the CPU backend.

Runs `wafer bench` on both backends in alternating pairs (cpu, wafer, cpu, wafer, ...) so that load from
other processes hits both alike, and reports two measures:
  - wall clock: the median decode tokens/s `wafer bench` reports for each backend, and their ratio;
  - CPU time: the processor time (user + sys) one decoded token costs the process, from a run of N
    tokens minus a run of 1 (model loading and placement cancel out). On a loaded machine this moves
    far less than wall clock, since waiting for a core is not counted.

usage: scripts/bench-wafer.py [--pairs 7] [--tokens 64] [--wafer .build/release/wafer] [bench args...]
e.g.   scripts/bench-wafer.py --pairs 5 -- --model smollm2 --threads 1
"""
import argparse, json, os, resource, statistics, subprocess, sys, time

parser = argparse.ArgumentParser()
parser.add_argument("--pairs", type=int, default=7)
parser.add_argument("--tokens", type=int, default=64)
parser.add_argument("--wafer", default=os.environ.get("WAFER", ".build/release/wafer"))
parser.add_argument("rest", nargs="*", help="extra `wafer bench` arguments (after --)")
args = parser.parse_args()
os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
if not os.access(args.wafer, os.X_OK):
    sys.exit(f"bench-wafer: no {args.wafer} (swift build -c release --product wafer)")
extra = args.rest or ["--model", "smollm2"]


def run(backend, tokens):
    """One `wafer bench` run: (decode tokens/s it reports, CPU seconds the child used)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([args.wafer, "bench", "--json", "--backend", backend, "-p", "0", "-n", str(tokens), "-r", "1"] + extra,
                         check=True, capture_output=True, text=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(out)["tg_tok_s"], cpu


wall = {"cpu": [], "wafer": []}
per_token = {"cpu": [], "wafer": []}
for i in range(args.pairs):
    for backend in ("cpu", "wafer"):
        tps, cpu_full = run(backend, args.tokens)
        _, cpu_base = run(backend, 1)
        wall[backend].append(tps)
        per_token[backend].append((cpu_full - cpu_base) / (args.tokens - 1) * 1e3)
    print(f"pair {i + 1}: cpu {wall['cpu'][-1]:.1f} tok/s {per_token['cpu'][-1]:.2f} ms CPU/token; "
          f"wafer {wall['wafer'][-1]:.1f} tok/s {per_token['wafer'][-1]:.2f} ms CPU/token", file=sys.stderr)

m = {b: statistics.median(wall[b]) for b in wall}
c = {b: statistics.median(per_token[b]) for b in per_token}
print(f"wafer bench -p 0 -n {args.tokens} -r 1 {' '.join(extra)}: {args.pairs} alternating pairs")
print(f"wall clock  cpu {m['cpu']:.1f} tok/s, wafer {m['wafer']:.1f} tok/s (medians); wafer/cpu {m['wafer'] / m['cpu']:.3f}")
print(f"CPU time    cpu {c['cpu']:.2f} ms/token, wafer {c['wafer']:.2f} ms/token (medians); "
      f"wafer speed / cpu speed {c['cpu'] / c['wafer']:.3f}")
