#!/usr/bin/env python3
"""Runs llama.cpp and wafer on one prompt and prints, layer by layer, how many values of each intermediate
tensor agree bit for bit: where the share drops first is the op whose arithmetic differs. A diagnostic.

    ~/.cache/wafer/llama-venv/bin/python scripts/reference/compare_tensors.py --model qwen-coder \\
        --prompt-file prompt.txt [--wafer .build/release/wafer] [--layers 4]

The prompt is fed as-is (special tokens parsed) as one batch; llama.cpp's tensors come from dump_tensors.py,
wafer's from its WAFER_DUMP_TENSORS hook (Sources/Engine/TensorDump.swift).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_fixtures import MODELS, MODELS_DIR  # noqa: E402

NAMES = ["attn_norm", "kqv_out", "ffn_inp", "ffn_norm", "ffn_swiglu", "ffn_geglu", "ffn_out", "l_out"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, choices=list(MODELS))
    parser.add_argument("--prompt-file", required=True)
    parser.add_argument("--wafer", default=str(HERE.parent.parent / ".build/release/wafer"))
    parser.add_argument("--layers", type=int, default=1000, help="how many layers to print")
    args = parser.parse_args()
    model = str(Path(MODELS_DIR) / MODELS[args.model])
    prompt = Path(args.prompt_file).read_text()
    with tempfile.TemporaryDirectory() as tmp:
        ids = json.loads(subprocess.run([args.wafer, "tokenize", "--model", model, "--special", "--bos", "--file", args.prompt_file],
                                        check=True, capture_output=True, text=True).stdout)
        (Path(tmp) / "ids.json").write_text(json.dumps(ids))
        subprocess.run([sys.executable, str(HERE / "dump_tensors.py"), "--model", args.model, "--tokens",
                        str(Path(tmp) / "ids.json"), "--out", str(Path(tmp) / "llama.npz"),
                        "--names", "^(" + "|".join(NAMES) + r")-\d+$"], check=True, stdout=subprocess.DEVNULL)
        ours = Path(tmp) / "wafer"
        ours.mkdir()
        subprocess.run([args.wafer, "--backend", "cpu", "--model", model, "--raw", "-p=" + prompt, "-n", "1", "--temp", "0"],
                       check=True, capture_output=True, env=dict(os.environ, WAFER_DUMP_TENSORS=str(ours)))
        ref = np.load(Path(tmp) / "llama.npz")
        tokens = len(ids)
        layer = 0
        while layer < args.layers and (ours / f"l_out-{layer}.bin").exists():
            cells = []
            for name in NAMES:
                key, path = f"{name}-{layer}", ours / f"{name}-{layer}.bin"
                if key not in ref.files or not path.exists():
                    continue
                expected = ref[key].astype(np.float32).reshape(tokens, -1)
                got = np.fromfile(path, dtype=np.float32)[:expected.size].reshape(expected.shape)
                same = np.mean(expected.view(np.uint32) == got.view(np.uint32)) * 100
                worst = float(np.abs(expected.astype(np.float64) - got).max())
                cells.append(f"{name} {same:5.1f}% {worst:.1e}")
            print(f"layer {layer:2d}: " + " | ".join(cells))
            layer += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
