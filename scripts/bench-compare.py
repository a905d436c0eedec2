#!/usr/bin/env python3
"""wafer against llama.cpp on the same GGUF, machine and thread count (`make bench-compare`).

llama.cpp runs through llama-cpp-python in a virtual environment outside git (created on first use:
python3 -m venv + pip install llama-cpp-python, which compiles llama.cpp for about ten minutes).
Both engines measure the way llama-bench does:
  pp<P>: one batch of P random tokens into an empty context (after one untimed warm-up pass);
  tg<N>: N single-token decode steps into an empty context.
Each round runs llama.cpp, then `wafer bench`, each in a fresh process, so machine noise hits both alike;
the table gives per-engine medians, min-max over the rounds, and the ratio of the medians.
This is a benchmark, not a test: it never fails because the machine is slow.

Usage: scripts/bench-compare.py [--rounds 5] [--threads 2] [-p 512] [-n 128] [--models a.gguf,b.gguf]
Environment: LLAMA_VENV (default ~/.cache/wafer/llama-venv), WAFER_MODELS (default ~/.cache/wafer/models),
WAFER_BIN (default .build/release/wafer).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

LLAMA_CPP_PYTHON = "llama-cpp-python==0.3.36"
DEFAULT_MODELS = [
    "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma-3-270m-q4_k_m.gguf",
    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
]

# ---- llama.cpp side (runs inside the venv's python) -------------------------------------------------

def llama_worker(model, threads, p, n):
    """Prints one JSON line {pp_tok_s, tg_tok_s} measured like llama-bench."""
    import random
    import llama_cpp
    from llama_cpp import Llama

    llm = Llama(model_path=model, n_ctx=p + n + 16, n_batch=max(p, 1), n_ubatch=max(p, 1),
                n_threads=threads, n_threads_batch=threads, verbose=False)
    vocab = llm.n_vocab()
    rng = random.Random(42)
    out = {}

    def clear():
        llm.reset()
        llm._ctx.kv_cache_seq_rm(-1, 0, -1)

    clear()
    llm.eval([1])  # warm-up: touches the weights
    if p > 0:
        prompt = [rng.randrange(vocab) for _ in range(p)]
        clear()
        t0 = time.perf_counter()
        llm.eval(prompt)
        out["pp_tok_s"] = p / (time.perf_counter() - t0)
    if n > 0:
        clear()
        token = 1
        t0 = time.perf_counter()
        for _ in range(n):
            llm.eval([token])
            token = rng.randrange(vocab)
        out["tg_tok_s"] = n / (time.perf_counter() - t0)
    print(json.dumps(out), flush=True)


# ---- driver -----------------------------------------------------------------------------------------

def ensure_venv(venv):
    python = os.path.join(venv, "bin", "python")
    probe = [python, "-c", "import llama_cpp, sys; sys.exit(0 if llama_cpp.__version__ == '0.3.36' else 1)"]
    if os.path.exists(python) and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"creating {venv} with {LLAMA_CPP_PYTHON} (compiles llama.cpp natively, about 10 minutes)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    env = dict(os.environ, CMAKE_ARGS=os.environ.get("CMAKE_ARGS", "-DGGML_NATIVE=ON"))
    subprocess.run([python, "-m", "pip", "install", "--quiet", LLAMA_CPP_PYTHON], check=True, env=env)
    return python


def run_json(cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stderr[-2000:]}")
    lines = [l for l in result.stdout.splitlines() if l.startswith("{")]
    return json.loads(lines[-1])


def summary(values):
    return statistics.median(values), min(values), max(values)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("-p", type=int, default=512)
    ap.add_argument("-n", type=int, default=128)
    ap.add_argument("--models", help="comma-separated GGUF paths or names in WAFER_MODELS")
    ap.add_argument("--llama-worker", metavar="MODEL", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.llama_worker:
        llama_worker(args.llama_worker, args.threads, args.p, args.n)
        return

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    venv = os.path.expanduser(os.environ.get("LLAMA_VENV", "~/.cache/wafer/llama-venv"))
    model_dir = os.path.expanduser(os.environ.get("WAFER_MODELS", "~/.cache/wafer/models"))
    wafer = os.environ.get("WAFER_BIN", os.path.join(root, ".build", "release", "wafer"))
    names = args.models.split(",") if args.models else DEFAULT_MODELS
    models = [m if os.path.sep in m else os.path.join(model_dir, m) for m in names]
    models = [m for m in models if os.path.exists(m)]
    if not models:
        sys.exit(f"no models found (looked in {model_dir}); run `make models`")
    python = ensure_venv(venv)

    rows = []
    for model in models:
        name = os.path.basename(model)
        results = {"llama.cpp": {"pp_tok_s": [], "tg_tok_s": []}, "wafer": {"pp_tok_s": [], "tg_tok_s": []}}
        for r in range(args.rounds):
            llama = run_json([python, os.path.abspath(__file__), "--llama-worker", model,
                              "--threads", str(args.threads), "-p", str(args.p), "-n", str(args.n)])
            ours = run_json([wafer, "bench", "--model", model, "--backend", "cpu", "--threads", str(args.threads),
                             "-p", str(args.p), "-n", str(args.n), "-r", "1", "--json"])
            for engine, res in (("llama.cpp", llama), ("wafer", ours)):
                for key in ("pp_tok_s", "tg_tok_s"):
                    if key in res:
                        results[engine][key].append(res[key])
            print(f"{name} round {r + 1}/{args.rounds}: llama.cpp pp {llama.get('pp_tok_s', 0):.1f} tg {llama.get('tg_tok_s', 0):.1f}"
                  f" | wafer pp {ours.get('pp_tok_s', 0):.1f} tg {ours.get('tg_tok_s', 0):.1f}", file=sys.stderr, flush=True)
        for key, label in (("pp_tok_s", f"pp{args.p}"), ("tg_tok_s", f"tg{args.n}")):
            if not results["wafer"][key]:
                continue
            lm, llo, lhi = summary(results["llama.cpp"][key])
            wm, wlo, whi = summary(results["wafer"][key])
            rows.append((name, label, lm, llo, lhi, wm, wlo, whi, wm / lm))

    print(f"\n{args.threads} threads, {args.rounds} rounds, tokens/s: median (min-max)\n")
    header = f"{'model':<42} {'test':<6} {'llama.cpp':>24} {'wafer':>24} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for name, label, lm, llo, lhi, wm, wlo, whi, ratio in rows:
        print(f"{name:<42} {label:<6} {lm:>8.1f} ({llo:6.1f}-{lhi:6.1f}) {wm:>8.1f} ({wlo:6.1f}-{whi:6.1f}) {ratio:>6.2f}x")


if __name__ == "__main__":
    main()
