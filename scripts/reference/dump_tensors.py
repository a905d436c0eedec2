#!/usr/bin/env python3
"""Dumps llama.cpp's intermediate tensors (through llama-cpp-python's eval callback) for a token sequence, to
find where wafer's forward pass and llama.cpp's part. A diagnostic, not part of the fixtures.

    ~/.cache/wafer/llama-venv/bin/python scripts/reference/dump_tensors.py --model smollm2 \
        --tokens ids.json --out /tmp/ref.npz [--decode N] [--names 'l_out|result_output']

The tokens (a JSON list of ids) are evaluated as one batch with every position's logits, as the perplexity
fixtures do; with --decode N the first len-N are one batch and the last N are evaluated one token at a time,
as the greedy fixtures do (then tensors are keyed "<name>@<step>", step 0 being the batch).
Tensors are stored under their graph names ("attn_norm-0", "Qcur-0", "kq_soft_max-0", "l_out-29",
"result_output", ...) as float32 arrays in ggml's order of dimensions reversed (rows last index fastest);
a name that occurs more than once in a graph keeps the last occurrence, and the earlier ones get "#1", "#2"...
"""

from __future__ import annotations

import argparse
import ctypes
import json
import re
import sys
from pathlib import Path

import numpy as np
import llama_cpp
from llama_cpp import Llama

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import MODELS, MODELS_DIR  # noqa: E402

GGML = ctypes.CDLL(str(Path(llama_cpp.__file__).parent / "lib" / "libggml-base.so"))
GGML.ggml_get_name.restype = ctypes.c_char_p
GGML.ggml_get_name.argtypes = [ctypes.c_void_p]
GGML.ggml_get_data.restype = ctypes.c_void_p
GGML.ggml_get_data.argtypes = [ctypes.c_void_p]

GGML_F32, GGML_F16 = 0, 1


class Dumper:
    def __init__(self, pattern: str):
        self.pattern = re.compile(pattern)
        self.step = 0
        self.seen: dict[str, int] = {}
        self.tensors: dict[str, np.ndarray] = {}
        self.callback = llama_cpp.ggml_backend_sched_eval_callback(self.on_tensor)

    def on_tensor(self, tensor, ask, _user):
        name = GGML.ggml_get_name(tensor).decode()
        if ask:
            return bool(self.pattern.search(name))
        base = ctypes.cast(tensor, ctypes.POINTER(ctypes.c_int64))
        kind = ctypes.cast(tensor, ctypes.POINTER(ctypes.c_int32))[0]
        ne = [base[2 + i] for i in range(4)]
        nb = [base[6 + i] for i in range(4)]
        if kind not in (GGML_F32, GGML_F16):
            return True
        dtype, size = (np.float32, 4) if kind == GGML_F32 else (np.float16, 2)
        span = sum((n - 1) * s for n, s in zip(ne, nb)) + size
        raw = (ctypes.c_char * span).from_address(GGML.ggml_get_data(tensor))
        flat = np.frombuffer(bytes(raw), dtype=np.uint8)
        array = np.lib.stride_tricks.as_strided(flat.view(dtype) if span % size == 0 else flat[:span - span % size].view(dtype),
                                                shape=ne[::-1], strides=nb[::-1]).astype(np.float32)
        key = name if self.step == 0 else f"{name}@{self.step}"
        if key in self.tensors:  # keep the last occurrence under the plain name
            self.seen[key] = self.seen.get(key, 0) + 1
            self.tensors[f"{key}#{self.seen[key]}"] = self.tensors[key]
        self.tensors[key] = array.copy()
        return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, choices=list(MODELS))
    parser.add_argument("--tokens", required=True, help="JSON list of token ids")
    parser.add_argument("--out", required=True)
    parser.add_argument("--decode", type=int, default=0, help="evaluate the last N tokens one at a time")
    parser.add_argument("--names", default=".", help="regular expression of tensor names to keep")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    tokens = json.loads(Path(args.tokens).read_text())
    n_ctx = max(512, len(tokens))
    llm = Llama(model_path=str(MODELS_DIR / MODELS[args.model]), n_ctx=64, vocab_only=False, verbose=False,
                n_threads=args.threads, n_threads_batch=args.threads)
    dumper = Dumper(args.names)
    params = llama_cpp.llama_context_default_params()
    params.n_ctx = n_ctx
    params.n_batch = n_ctx
    params.n_ubatch = n_ctx
    params.n_threads = args.threads
    params.n_threads_batch = args.threads
    params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
    params.cb_eval = dumper.callback
    ctx = llama_cpp.llama_init_from_model(llm._model.model, params)
    n_vocab = llm.n_vocab()

    prompt = tokens[:len(tokens) - args.decode]
    batch = llama_cpp.llama_batch_init(len(prompt), 0, 1)
    all_logits = []
    try:
        batch.n_tokens = len(prompt)
        for i, t in enumerate(prompt):
            batch.token[i] = t
            batch.pos[i] = i
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = args.decode == 0 or i == len(prompt) - 1
        if llama_cpp.llama_decode(ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")
        rows = len(prompt) if args.decode == 0 else 1
        for r in range(rows):
            index = r if args.decode == 0 else len(prompt) - 1
            all_logits.append(np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, index), shape=(n_vocab,)).copy())
        for step in range(1, args.decode + 1):
            dumper.step = step
            position = len(prompt) + step - 1
            batch.n_tokens = 1
            batch.token[0] = tokens[position]
            batch.pos[0] = position
            batch.logits[0] = True
            if llama_cpp.llama_decode(ctx, batch) != 0:
                raise RuntimeError("llama_decode failed")
            all_logits.append(np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, 0), shape=(n_vocab,)).copy())
    finally:
        llama_cpp.llama_batch_free(batch)
        llama_cpp.llama_free(ctx)
    dumper.tensors["logits"] = np.stack(all_logits)
    np.savez(args.out, **dumper.tensors)
    print(f"{len(dumper.tensors)} tensors to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
