#!/usr/bin/env python3
"""Time to first token in the interactive assistant, as a user sees it: from Enter to the first token.

Starts `wafer` in a private tmux server with `--trace`, answers one short message to warm the process, then
sends a chat message of about 100 tokens several times, in three ways:

  sent at once   pasted and sent in the same instant: the whole message is prefilled after Enter;
  after a pause  pasted, then Enter 1 s later: the time a user takes to read over what they wrote;
  typed          typed word by word (--wpm), then Enter at once after the last word.

While the input line changes and the model is idle, the assistant computes the part of the message that more
typing cannot change (`ChatBackend.warm(draft:)`), so after a pause or while typing only the last tokens
remain for Enter. Each answer is interrupted after its first token. Prints per way the median, min and max
of the trace's `ttft_ms`, and the prefill and reused tokens of the turn (the trace's `turn_start`).

Also prints the time from launching the process to its first frame (the trace's `ready`, measured on the
same monotonic clock; it includes starting tmux's shell, a few ms) and the resident memory at the end against
the model file plus the whole KV cache (`wafer info --json`).

Usage: scripts/bench-ttft.py [--wafer .build/release/wafer] [--model smollm2] [--backend cpu] [--repeat 5]
                             [--wpm 300] [--ways at-once,pause,typed]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MESSAGE = (
    "I have a Python function that reads a CSV file of orders, groups them by customer id, and returns the "
    "total amount per customer as a dictionary. It works on small files but becomes slow and uses a lot of "
    "memory on a file with ten million rows. Explain briefly why that happens and show how to rewrite it so "
    "that it streams the rows with the csv module, keeps only the running totals, and still handles rows "
    "with a missing or malformed amount without crashing."
)


class Tmux:
    def __init__(self, socket):
        self.socket = socket

    def __call__(self, *args, check=True):
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], check=check,
                              capture_output=True, text=True)


class Trace:
    """Reads the JSON-lines trace as it grows."""

    def __init__(self, path):
        self.path = path
        self.seen = 0

    def events(self):
        try:
            with open(self.path) as f:
                return [json.loads(line) for line in f if line.strip().endswith("}")]
        except FileNotFoundError:
            return []

    def wait(self, name, timeout=120):
        """The first event named `name` after the ones already taken."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            events = self.events()
            for i in range(self.seen, len(events)):
                if events[i].get("event") == name:
                    self.seen = i + 1
                    return events[i]
            time.sleep(0.005)
        sys.exit(f"timed out waiting for '{name}' in {self.path}")


def resident_bytes(trace_path):
    """VmRSS of the wafer process writing `trace_path`."""
    pids = subprocess.run(["pgrep", "-f", "--", f"--trace {trace_path}"], capture_output=True, text=True).stdout.split()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline") as f:
                if "wafer" not in f.read().split("\0")[0]:
                    continue
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            continue
    sys.exit("could not find the wafer process")


def turn(tmux, trace, text, way, wpm):
    if way == "typed":
        words = text.split(" ")
        for i, word in enumerate(words):
            tmux("send-keys", "-t", "bench", "-l", word + (" " if i < len(words) - 1 else ""))
            time.sleep(60.0 / wpm)
    else:
        tmux("set-buffer", "-b", "m", text)
        tmux("paste-buffer", "-p", "-b", "m", "-t", "bench")
        if way == "pause":
            time.sleep(1.0)
    tmux("send-keys", "-t", "bench", "Enter")
    start = trace.wait("turn_start")
    first = trace.wait("first_token")
    tmux("send-keys", "-t", "bench", "Escape")
    trace.wait("halted")
    return first["ttft_ms"], start.get("prefill_tokens"), start.get("reused_tokens")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wafer", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "wafer"))
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--backend", default="cpu")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--wpm", type=float, default=300, help="typing speed of the typed way, words per minute")
    parser.add_argument("--ways", default="at-once,pause,typed")
    args = parser.parse_args()
    if not shutil.which("tmux"):
        sys.exit("bench-ttft needs tmux")
    wafer = os.path.abspath(args.wafer)
    work = tempfile.mkdtemp(prefix="wafer-ttft-")
    trace_path = os.path.join(work, "trace.jsonl")
    tmux = Tmux(f"wafer-ttft-{os.getpid()}")
    # Sessions go to the workspace (a fresh directory); the config file is left out.
    env = f"env XDG_CONFIG_HOME={work}/config"
    command = f"cd {work} && {env} {wafer} --model {args.model} --backend {args.backend} --temp 0 --trace {trace_path}"
    info = json.loads(subprocess.run([wafer, "info", "--model", args.model, "--json"], check=True,
                                     capture_output=True, text=True).stdout)
    launched = time.monotonic()
    tmux("new-session", "-d", "-s", "bench", "-x", "120", "-y", "40", command)
    try:
        trace = Trace(trace_path)
        ready_ms = (trace.wait("ready")["t"] - launched) * 1000
        turn(tmux, trace, "Hello.", "at-once", args.wpm)  # the process is warm from here on
        results = {}
        ways = args.ways.split(",")
        for r in range(args.repeat):
            for way in ways:
                text = f"Question {r + 1} ({way}). {MESSAGE}"
                results.setdefault(way, []).append(turn(tmux, trace, text, way, args.wpm))
        rss = resident_bytes(trace_path)
        context = min(4096, info.get("context_length") or 4096)
        kv = info["kv_bytes_per_token"] * context
        mib = 1 << 20
        print(f"start to first frame: {ready_ms:.0f} ms")
        print(f"resident memory: {rss / mib:.1f} MiB; model file {info['file_size'] / mib:.1f} MiB + KV cache "
              f"{kv / mib:.1f} MiB ({context} positions) + 64 MiB = {(info['file_size'] + kv) / mib + 64:.1f} MiB")
        print(f"model {args.model}, backend {args.backend}, {args.repeat} messages each, time to first token (ms)")
        print(f"{'way':<10} {'median':>8} {'min':>8} {'max':>8}   prefill tokens   reused tokens")
        for way in ways:
            ttfts = [t for t, _, _ in results[way]]
            prefill = sorted({p for _, p, _ in results[way]})
            reused = sorted({u for _, _, u in results[way]})
            print(f"{way:<10} {statistics.median(ttfts):8.1f} {min(ttfts):8.1f} {max(ttfts):8.1f}   "
                  f"{prefill[0]}-{prefill[-1]:<12} {reused[0]}-{reused[-1]}")
        if os.environ.get("BENCH_TTFT_KEEP"):
            print("trace:", trace_path)
            return
    finally:
        if os.environ.get("BENCH_TTFT_KEEP"):
            return
        tmux("kill-server", check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
