#!/usr/bin/env python3
"""Checks wafer's Q4_K or Q6_K arithmetic on a real layer: dumps an ffn_down's input and output from llama.cpp
(dump_tensors.py) for a token sequence, then runs the type's check program (q4k_repack_check.c or
q6k_check.c, built as their headers say) with --layer on them and the layer's weight.

    ~/.cache/wafer/llama-venv/bin/python scripts/reference/kquant_layer_check.py --model qwen-coder \
        --tokens ids.json --layer 2 [--check /tmp/q4k_check]

(ids.json: a JSON list of token ids, e.g. the first 512 of Tests/EngineTests/Fixtures/corpus/prose.txt. In
Qwen2.5-Coder, ffn_down is Q4_K in layers 2, 4, 5, ... and Q6_K in layers 0, 1, 3, ...)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from gguf import GGUFReader

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_fixtures import MODELS, MODELS_DIR  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, choices=list(MODELS))
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--layer", type=int, required=True)
    parser.add_argument("--check", help="the check program (default /tmp/q4k_check or /tmp/q6k_check)")
    args = parser.parse_args()
    model = Path(MODELS_DIR) / MODELS[args.model]
    weight = next((t for t in GGUFReader(str(model)).tensors if t.name == f"blk.{args.layer}.ffn_down.weight"), None)
    if weight is None or weight.tensor_type.name not in ("Q4_K", "Q6_K"):
        print(f"blk.{args.layer}.ffn_down.weight is not a Q4_K or Q6_K tensor of {model.name}", file=sys.stderr)
        return 2
    check = args.check or ("/tmp/q4k_check" if weight.tensor_type.name == "Q4_K" else "/tmp/q6k_check")
    n, rows = int(weight.shape[0]), int(weight.shape[1])
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "dump.npz"
        subprocess.run([sys.executable, str(HERE / "dump_tensors.py"), "--model", args.model, "--tokens", args.tokens,
                        "--out", str(dump), "--names", f"^(ffn_swiglu|ffn_geglu|ffn_out)-{args.layer}$"], check=True)
        tensors = np.load(dump)
        inputs = [k for k in tensors.files if k.startswith("ffn_swiglu") or k.startswith("ffn_geglu")]
        if not inputs:
            print(f"no ffn input of layer {args.layer} in the dump: {tensors.files}", file=sys.stderr)
            return 2
        x = tensors[inputs[0]].astype(np.float32).reshape(-1, n)
        y = tensors[f"ffn_out-{args.layer}"].astype(np.float32).reshape(-1, rows)
        files = [Path(tmp) / name for name in ("x.bin", "w.bin", "y.bin")]
        x.tofile(files[0])
        files[1].write_bytes(np.asarray(weight.data).tobytes())
        y.tofile(files[2])
        return subprocess.run([check, "--layer", *map(str, files), str(n), str(rows), str(x.shape[0])]).returncode


if __name__ == "__main__":
    sys.exit(main())
