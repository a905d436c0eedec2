#!/usr/bin/env python3
"""Reference fixtures from llama.cpp (through llama-cpp-python) for wafer's engine tests.

Run with the virtual environment that has llama-cpp-python, numpy and jinja2 (kept outside the repo):

    ~/.cache/wafer/llama-venv/bin/python scripts/reference/make_fixtures.py [--models smollm2,gemma3] \
        [--only tokens,perplexity,greedy,variants] [--ctx 512]

For each model found in ${XDG_CACHE_HOME:-~/.cache}/wafer/models it writes to Tests/EngineTests/Fixtures/<model>/:

- meta.json       llama.cpp's view of the vocabulary: size, bos/eos/eot, add_bos default, end-of-generation ids,
                  and the bytes of a sample of tokens (llama_token_to_piece with special=true).
- tokens.json     [{name, text, add_bos, parse_special, ids}] for every corpus file, short tricky strings and
                  chat-formatted strings. `add_bos` is whether a BOS was added (llama_tokenize's add_special was
                  true and the model adds BOS), so `encode(text, addBOS: add_bos, parseSpecial: parse_special)`
                  must give `ids`.
- perplexity.json [{file, ctx, ppl, chunks, scored}] by the design's method: tokenize without BOS, split into
                  non-overlapping chunks of ctx tokens, evaluate each chunk fresh, score tokens ctx/2 ... ctx-1
                  (each predicted from the tokens before it in its chunk), ppl = exp(mean NLL).
- greedy.json     [{name, prompt, add_bos, parse_special, prompt_ids, ids, margins}]: 32 greedy tokens by argmax
                  of the raw logits, evaluated one token at a time; margins[i] is top-1 minus top-2 logit at step i.
                  The 32 steps run on past an end-of-generation token if the model picks one.

and Tests/EngineTests/Fixtures/pre-<name>/tokens.json: token fixtures for pre-tokenizers that no fetched model uses
(llama3, gpt2, default, qwen2), on SmolLM2's vocabulary with tokenizer.ggml.pre replaced.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import llama_cpp
from llama_cpp import Llama
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "EngineTests" / "Fixtures"
CORPUS = FIXTURES / "corpus"
MODELS_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wafer" / "models"

MODELS = {
    "smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3": "gemma-3-270m-q4_k_m.gguf",
    "qwen-coder": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
}

THREADS = 2
GREEDY_STEPS = 32

# Short strings that exercise the pre-tokenizers' edge cases: (name, text).
TRICKY = [
    ("empty", ""),
    ("space", " "),
    ("two-spaces", "  "),
    ("newline", "\n"),
    ("two-newlines", "\n\n"),
    ("tab", "\t"),
    ("word", "Hello"),
    ("space-word", " Hello"),
    ("two-words", "Hello world"),
    ("double-space-words", "hello  world"),
    ("upper", "HELLO WORLD"),
    ("contraction", "I'm"),
    ("contraction-upper", "I'M YOU'RE WE'LL"),
    ("contractions-mixed", "don't we'll've they'Re it's'"),
    ("digits", "123"),
    ("long-number", "1234567"),
    ("decimal", "3.14"),
    ("money", "$100"),
    ("alnum", "a1b2c3"),
    ("assign", "x = 1\n"),
    ("python-def", "def f():\n    return 1\n"),
    ("leading-spaces", "   leading"),
    ("trailing-spaces", "trailing   "),
    ("space-newline-space", " \n \n"),
    ("tabs-then-word", "  \t  x"),
    ("crlf", "\r\n"),
    ("crlf-between", "a\r\nb"),
    ("precomposed", "\u00e9"),
    ("combining", "e\u0301"),
    ("many-combining", "x\u0300\u0301\u0302 a\u0308"),
    ("cjk", "\u4f60\u597d"),
    ("japanese", "\u65e5\u672c\u8a9e\u3067\u3059"),
    ("emoji", "\U0001F600"),
    ("emoji-zwj", "\U0001F468\u200d\U0001F469\u200d\U0001F467"),
    ("flag", "\U0001F1EF\U0001F1F5"),
    ("emoji-in-word", "a\U0001F600b"),
    ("nbsp", "a\u00a0b"),
    ("ideographic-space", "\u3000x"),
    ("zero-width", "a\u200bb"),
    ("fullwidth", "\uff21\uff22\uff23\uff11\uff12"),
    ("roman-numeral", "\u216b"),
    ("arabic-digits", "\u0661\u0662\u0663"),
    ("titlecase", "\u01c5"),
    ("sentencepiece-escape", "\u2581hello \u2581"),
    ("byte-token-text", "<0x41>"),
    ("punctuation", "...!!!???--==>>"),
    ("backticks", "`code` ``x``"),
    ("url", "http://example.com/a?b=c&d=e#f"),
    ("identifiers", "CamelCaseIdentifier snake_case_name __dunder__"),
    ("greek", "\u03b1\u03b2\u03b3 \u0391\u0392\u0393"),
    ("newlines-words", "can't\n\nwon't"),
    ("supplementary", "\U0001D400\U0001D401 \U00020000"),
    ("new-in-unicode16", "\U0001FAE9 \u1C89"),
]

def random_strings(count: int = 60, seed: int = 20240521) -> list[tuple[str, str]]:
    """Seeded random mixtures of the character classes the pre-tokenizers distinguish."""
    import random
    rng = random.Random(seed)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", " ", "  ", "   ", "\t", "\n", "\r\n",
        "\r", "'", "'s", "'T", "'re", "'LL", "'ve", "'d", "'M", ".,;:!?-_()[]{}<>=+*/\\|&^%$#@~`\"",
        "\u00e9\u00fc\u00f1\u00df\u00c5", "\u0301\u0308\u0323", "\u4f60\u597d\u4e16\u754c\u5b57",
        "\u3053\u3093\u306b\u3061\u306f\u30ab\u30bf", "\uc548\ub155\ud558\uc138\uc694", "\u0645\u0631\u062d\u0628\u0627",
        "\u0928\u092e\u0938\u094d\u0924\u0947", "\U0001F600\U0001F680\U0001F44D\U0001F3FD\u2764\uFE0F",
        "\u200d", "\u00a0", "\u3000", "\u2003", "\u0661\u0662\u0967\u2167\u00bd\u2460", "\u2211\u221a\u20ac\u00a9\u2122",
        "\u2581", "<|", "|>", "<0x0A>", "\U0001D400\U00020000", "\x0b\x0c\x85",
    ]
    out = []
    for i in range(count):
        parts = []
        for _ in range(rng.randint(3, 24)):
            pool = rng.choice(pools)
            if len(pool) <= 3 or rng.random() < 0.3:
                parts.append(pool)
            else:
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 6))))
        out.append((f"random-{i}", "".join(parts)))
    return out


# Strings with special-token text; tokenized with parse_special both true and false.
SPECIAL_TEXT = {
    "smollm2": ["<|im_start|>user\nHi<|im_end|>\n", "<|endoftext|>text<|im_end|>", "a<|im_start|>b"],
    "qwen-coder": ["<|im_start|>user\nHi<|im_end|>\n", "<|endoftext|>x<|fim_prefix|>def f(<|fim_suffix|>)<|fim_middle|>"],
    "gemma3": ["<start_of_turn>user\nHi<end_of_turn>\n", "<bos>text<eos>", "a<start_of_turn>b <pad>"],
}

CONVERSATION = [
    {"role": "system", "content": "You are a concise assistant."},
    {"role": "user", "content": "Write a Python function that reverses a string."},
    {"role": "assistant", "content": "def reverse(s):\n    return s[::-1]"},
    {"role": "user", "content": "Now in Swift, please. \u00bfY en espa\u00f1ol? \U0001F600"},
]


def render_chat(llm: Llama, messages: list[dict]) -> str:
    template = llm.metadata.get("tokenizer.chat_template")
    vocab = llm._model.vocab
    if template is None:
        if llama_cpp.llama_vocab_eot(vocab) >= 0 and \
                llama_cpp.llama_vocab_get_text(vocab, llama_cpp.llama_vocab_eot(vocab)) == b"<end_of_turn>":
            return gemma_chat(messages)
        raise RuntimeError("model has no chat template")
    def text_of(token: int) -> str:
        return llama_cpp.llama_vocab_get_text(vocab, token).decode("utf-8")
    bos = text_of(llama_cpp.llama_vocab_bos(vocab))
    eos = text_of(llama_cpp.llama_vocab_eos(vocab))
    formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos, add_generation_prompt=True)
    return formatter(messages=messages).prompt


def gemma_chat(messages: list[dict]) -> str:
    """Gemma 3's instruction format (the base model's file carries no template): the system text opens the
    first user turn, the assistant is called "model"."""
    out = "<bos>"
    system = ""
    for m in messages:
        if m["role"] == "system":
            system = m["content"] + "\n\n"
            continue
        role = "model" if m["role"] == "assistant" else "user"
        content = (system + m["content"]) if role == "user" else m["content"]
        system = ""
        out += f"<start_of_turn>{role}\n{content.strip()}<end_of_turn>\n"
    return out + "<start_of_turn>model\n"


def tokenize(llm: Llama, text: str, add_special: bool, parse_special: bool) -> list[int]:
    return llm.tokenize(text.encode("utf-8"), add_bos=add_special, special=parse_special)


def meta(llm: Llama) -> dict:
    vocab = llm._model.vocab
    n = llama_cpp.llama_vocab_n_tokens(vocab)
    none = lambda t: None if t < 0 else int(t)
    eog = [t for t in range(n) if llama_cpp.llama_vocab_is_eog(vocab, t)]
    sample = sorted(set(list(range(0, min(n, 300))) + list(range(300, n, max(1, n // 700))) + eog))
    pieces = []
    buf = (ctypes.c_char * 256)()
    for t in sample:
        k = llama_cpp.llama_token_to_piece(vocab, t, buf, 256, 0, True)
        pieces.append([t, bytes(buf[:k]).hex()])
    return {
        "n_vocab": n,
        "bos": none(llama_cpp.llama_vocab_bos(vocab)),
        "eos": none(llama_cpp.llama_vocab_eos(vocab)),
        "eot": none(llama_cpp.llama_vocab_eot(vocab)),
        "add_bos": bool(llama_cpp.llama_vocab_get_add_bos(vocab)),
        "eog": eog,
        "pieces": pieces,
    }


def token_fixtures(name: str, llm: Llama, add_bos_default: bool) -> list[dict]:
    entries = []

    def add(entry_name: str, text: str, add_special: bool, parse_special: bool) -> None:
        ids = tokenize(llm, text, add_special, parse_special)
        entries.append({
            "name": entry_name,
            "text": text,
            "add_bos": bool(add_special and add_bos_default),
            "parse_special": parse_special,
            "ids": ids,
        })

    for path in sorted(CORPUS.iterdir()):
        text = path.read_bytes().decode("utf-8")
        add(f"corpus/{path.name}", text, True, False)
    for entry_name, text in TRICKY + random_strings():
        add(entry_name, text, False, False)
    add("tricky-with-bos", "Hello world", True, False)
    for i, text in enumerate(SPECIAL_TEXT.get(name, [])):
        add(f"special-{i}-parsed", text, False, True)
        add(f"special-{i}-plain", text, False, False)
    try:
        chat = render_chat(llm, CONVERSATION)
        add("chat-template-parsed", chat, False, True)
        add("chat-template-plain", chat, False, False)
        add("chat-template-parsed-bos", chat, True, True)
    except Exception as error:  # a model without a usable template still gets the other fixtures
        print(f"{name}: no chat fixtures: {error}", file=sys.stderr)
    return entries


def log_softmax_at(logits: np.ndarray, index: int) -> float:
    row = logits.astype(np.float64)
    m = row.max()
    return float(row[index] - m - math.log(np.exp(row - m).sum()))


def perplexity(path: Path, ctx: int) -> dict:
    llm = Llama(model_path=str(path), n_ctx=ctx, n_batch=ctx, n_ubatch=ctx, logits_all=True,
                n_threads=THREADS, n_threads_batch=THREADS, verbose=False)
    results = []
    for file in ["corpus/prose.txt", "corpus/code.py"]:
        text = (FIXTURES / file).read_bytes().decode("utf-8")
        tokens = tokenize(llm, text, False, False)
        chunks = len(tokens) // ctx
        nll = 0.0
        count = 0
        for c in range(chunks):
            chunk = tokens[c * ctx:(c + 1) * ctx]
            llm.reset()
            llm.eval(chunk)
            for j in range(ctx // 2, ctx):
                nll -= log_softmax_at(llm.scores[j - 1], chunk[j])
                count += 1
        results.append({"file": file, "ctx": ctx, "tokens": len(tokens), "chunks": chunks, "scored": count,
                        "ppl": math.exp(nll / count)})
        print(f"  perplexity {file}: {results[-1]['ppl']:.4f} ({chunks} chunks of {ctx})", file=sys.stderr)
    del llm
    return results


def greedy_prompts(name: str, llm: Llama) -> list[dict]:
    prompts = [
        {"name": "python-def", "prompt": "def fibonacci(n):\n", "chat": False},
        {"name": "swift-func", "prompt": "// Reverse the words of a sentence.\nfunc reverseWords(_ s: String) -> String {\n", "chat": False},
        {"name": "capital", "prompt": "The capital of France is", "chat": False},
        {"name": "story", "prompt": "Once upon a time, in a small village by the sea,", "chat": False},
        {"name": "counting", "prompt": "1, 2, 3, 4, 5,", "chat": False},
        {"name": "diff", "prompt": "--- a/hello.py\n+++ b/hello.py\n@@ -1,2 +1,2 @@\n-print('hello')\n+", "chat": False},
        {"name": "chat-reverse", "chat": True, "messages": [
            {"role": "user", "content": "Write a Python function that reverses a string."}]},
        {"name": "chat-math", "chat": True, "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is 17 * 23? Answer briefly."}]},
        {"name": "chat-translate", "chat": True, "messages": [
            {"role": "user", "content": "Translate to French: The weather is nice today."}]},
    ]
    out = []
    for p in prompts:
        if p["chat"]:
            try:
                p["prompt"] = render_chat(llm, p["messages"])
            except Exception as error:
                print(f"{name}: skipping {p['name']}: {error}", file=sys.stderr)
                continue
            # The template writes BOS itself where the model wants one.
            p["add_special"] = False
            p["parse_special"] = True
        else:
            p["add_special"] = True
            p["parse_special"] = False
        out.append(p)
    return out


def greedy(name: str, path: Path, add_bos_default: bool) -> list[dict]:
    llm = Llama(model_path=str(path), n_ctx=512, n_batch=512, n_ubatch=512, logits_all=False,
                n_threads=THREADS, n_threads_batch=THREADS, verbose=False)
    n_vocab = llm.n_vocab()
    results = []
    for p in greedy_prompts(name, llm):
        prompt_ids = tokenize(llm, p["prompt"], p["add_special"], p["parse_special"])
        llm.reset()
        llm.eval(prompt_ids)
        ids, margins = [], []
        for _ in range(GREEDY_STEPS):
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(n_vocab,)).copy()
            top2 = np.argpartition(-logits, 2)[:2]
            top2 = top2[np.argsort(-logits[top2], kind="stable")]
            best = int(top2[0])
            # argmax ties go to the lowest id, as in a plain scan
            best = int(np.flatnonzero(logits == logits[best])[0])
            ids.append(best)
            margins.append(round(float(logits[top2[0]] - logits[top2[1]]), 5))
            llm.eval([best])
        results.append({
            "name": p["name"],
            "prompt": p["prompt"],
            "add_bos": bool(p["add_special"] and add_bos_default),
            "parse_special": p["parse_special"],
            "prompt_ids": prompt_ids,
            "ids": ids,
            "margins": margins,
        })
        text = llm.detokenize(ids).decode("utf-8", errors="replace")
        print(f"  greedy {p['name']}: {text!r} (min margin {min(margins):.3f})", file=sys.stderr)
    del llm
    return results


# Pre-tokenizers that no fetched model uses, tested on SmolLM2's vocabulary and merges with tokenizer.ggml.pre
# replaced: fixture directory -> tokenizer.ggml.pre.
PRE_VARIANTS = {"pre-llama3": "llama-bpe", "pre-gpt2": "gpt-2", "pre-default": "default", "pre-qwen2": "qwen2"}


def vocab_only_copy(source: Path, target: Path, pre: str) -> None:
    """A GGUF holding `source`'s metadata (no tensors) with tokenizer.ggml.pre set to `pre`."""
    import gguf
    reader = gguf.GGUFReader(str(source))
    writer = gguf.GGUFWriter(str(target), arch=reader.fields["general.architecture"].contents())
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        value = pre if key == "tokenizer.ggml.pre" else field.contents()
        sub_type = field.types[1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, value, field.types[0], sub_type=sub_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def pre_variant_fixtures() -> None:
    import tempfile
    source = MODELS_DIR / MODELS["smollm2"]
    if not source.exists():
        print(f"pre-tokenizer variants: {source} not found, skipped", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as tmp:
        for directory, pre in PRE_VARIANTS.items():
            path = Path(tmp) / f"{directory}.gguf"
            vocab_only_copy(source, path, pre)
            llm = Llama(model_path=str(path), n_ctx=64, vocab_only=True, verbose=False)
            add_bos = bool(llama_cpp.llama_vocab_get_add_bos(llm._model.vocab))
            entries = token_fixtures(directory, llm, add_bos)
            write_json(FIXTURES / directory / "tokens.json", entries)
            print(f"{directory} (pre {pre}): {len(entries)} token fixtures", file=sys.stderr)
            del llm


def write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    """One line per list element (or per key of an object), so that the files stay small and diff well."""
    if isinstance(value, list):
        text = "[\n" + ",\n".join(json.dumps(v, ensure_ascii=False) for v in value) + "\n]"
    else:
        text = "{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in value.items()) + "\n}"
    path.write_text(text + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--only", default="tokens,perplexity,greedy,variants")
    parser.add_argument("--ctx", type=int, default=512, help="perplexity context (all models)")
    args = parser.parse_args()
    parts = set(args.only.split(","))

    if "variants" in parts:
        pre_variant_fixtures()
    for name in filter(None, args.models.split(",")):
        path = MODELS_DIR / MODELS[name]
        if not path.exists():
            print(f"{name}: {path} not found (make models), skipped", file=sys.stderr)
            continue
        print(f"{name}: {path.name}", file=sys.stderr)
        out = FIXTURES / name
        llm = Llama(model_path=str(path), n_ctx=64, vocab_only=True, verbose=False)
        info = meta(llm)
        info["model"] = path.name
        info["llama_cpp_python"] = llama_cpp.__version__
        write_json(out / "meta.json", info)
        if "tokens" in parts:
            entries = token_fixtures(name, llm, info["add_bos"])
            write_json(out / "tokens.json", entries)
            print(f"  {len(entries)} token fixtures", file=sys.stderr)
        del llm
        if "perplexity" in parts:
            write_json(out / "perplexity.json", perplexity(path, args.ctx))
        if "greedy" in parts:
            write_json(out / "greedy.json", greedy(name, path, info["add_bos"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
