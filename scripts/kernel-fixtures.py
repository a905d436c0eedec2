#!/usr/bin/env python3
"""Writes Tests/KernelsTests/Fixtures: encoded blocks and their dequantization by gguf-py (an independent
numpy implementation of ggml's formats), for the Kernels reference tests.

Usage: python scripts/kernel-fixtures.py   (needs `pip install numpy gguf` in a venv outside the repo)

For each fixture NAME there are three files:
  NAME.bin   the encoded bytes: whole blocks, as they lie in a GGUF file
  NAME.f32   the expected floats (little-endian float32), gguf.quants.dequantize of NAME.bin
  and one line in manifest.tsv: NAME <tab> ggml type name <tab> element count <tab> where it came from

Sources: a few rows of real tensors from the model files (types the models use), blocks quantized by
gguf's own quantizers (Q4_0, Q5_1, BF16, F16, which no model here uses), and random bytes with sane
scale fields for every type (exercises all bit patterns, including Q5_K which gguf cannot quantize).
"""
import os
import sys
import numpy as np
from gguf import GGUFReader, GGMLQuantizationType as T, GGML_QUANT_SIZES
from gguf.quants import dequantize, quantize

MODELS = os.path.expanduser(os.environ.get("WAFER_MODELS", "~/.cache/wafer/models"))
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "KernelsTests", "Fixtures")

fixtures = []


def emit(name, qtype, raw, source):
    raw = np.ascontiguousarray(raw).view(np.uint8).reshape(-1)
    block, size = GGML_QUANT_SIZES[qtype]
    assert raw.size % size == 0, name
    count = raw.size // size * block
    values = dequantize(raw.reshape(-1, size) if block > 1 else raw.view(np.uint8), qtype)
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    assert values.size == count, (name, values.size, count)
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        f.write(raw.tobytes())
    with open(os.path.join(OUT, name + ".f32"), "wb") as f:
        f.write(values.astype("<f4").tobytes())
    fixtures.append((name, qtype.name, count, source))


def from_model(model, tensor_name, blocks, name):
    reader = GGUFReader(os.path.join(MODELS, model))
    tensor = next(t for t in reader.tensors if t.name == tensor_name)
    block, size = GGML_QUANT_SIZES[tensor.tensor_type]
    raw = np.asarray(tensor.data).view(np.uint8).reshape(-1)[: blocks * size]
    emit(name, tensor.tensor_type, raw, f"{model}:{tensor_name}:first {blocks} blocks")


def half_bytes(values):
    return np.asarray(values, dtype=np.float16).view(np.uint8).reshape(-1, 2)


def random_blocks(qtype, n, rng):
    """Random encoded blocks; scale fields replaced by small positive halves so values are finite."""
    block, size = GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n, size), dtype=np.uint8)
    if qtype == T.F16:
        return half_bytes(rng.standard_normal(n)).reshape(n, size)
    if qtype == T.BF16:
        return (rng.standard_normal(n).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).view(np.uint8).reshape(n, size)
    if qtype == T.F32:
        return rng.standard_normal(n).astype(np.float32).view(np.uint8).reshape(n, size)
    d = half_bytes(rng.uniform(0.001, 0.05, n))
    if qtype in (T.Q4_0, T.Q5_0, T.Q8_0):
        raw[:, 0:2] = d
    elif qtype in (T.Q4_1, T.Q5_1):
        raw[:, 0:2] = d
        raw[:, 2:4] = half_bytes(rng.uniform(-0.5, 0.5, n))
    elif qtype in (T.Q4_K, T.Q5_K):
        raw[:, 0:2] = d
        raw[:, 2:4] = half_bytes(rng.uniform(0.001, 0.05, n))
    elif qtype == T.Q6_K:
        raw[:, 208:210] = d
    return raw


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240607)

    # Real tensors.
    from_model("SmolLM2-135M-Instruct.Q4_1.gguf", "blk.0.ffn_down.weight", 48, "smollm2-q4_1")
    from_model("SmolLM2-135M-Instruct.Q4_1.gguf", "token_embd.weight", 36, "smollm2-q8_0")
    from_model("SmolLM2-135M-Instruct.Q4_1.gguf", "blk.0.attn_norm.weight", 576, "smollm2-f32")
    from_model("gemma-3-270m-q4_k_m.gguf", "blk.0.attn_k.weight", 40, "gemma3-q5_0")
    from_model("gemma-3-270m-q4_k_m.gguf", "blk.0.attn_output.weight", 8, "gemma3-q4_k")
    from_model("gemma-3-270m-q4_k_m.gguf", "blk.0.ffn_down.weight", 8, "gemma3-q6_k")
    from_model("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "blk.11.ffn_down.weight", 8, "qwen2-q4_k")

    # Types no model here uses: quantize real-looking values with gguf's quantizers.
    values = rng.standard_normal((4, 256)).astype(np.float32) * 0.1
    for qtype, name in [(T.Q4_0, "quantized-q4_0"), (T.Q5_1, "quantized-q5_1"), (T.F16, "quantized-f16"), (T.BF16, "quantized-bf16")]:
        emit(name, qtype, quantize(values, qtype), "gguf.quants.quantize of seeded normal values")

    # Random bit patterns for every type.
    for qtype in [T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q4_K, T.Q5_K, T.Q6_K]:
        block, _ = GGML_QUANT_SIZES[qtype]
        n = 512 // block if block > 1 else 64
        if block == 256:
            n = 4
        emit("random-" + qtype.name.lower(), qtype, random_blocks(qtype, n, rng), "random bytes, sane scales")

    with open(os.path.join(OUT, "manifest.tsv"), "w") as f:
        for row in fixtures:
            f.write("\t".join(str(v) for v in row) + "\n")
    print(f"wrote {len(fixtures)} fixtures to {os.path.normpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
