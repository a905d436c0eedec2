#!/usr/bin/env python3
"""Renders conversations with each model's own Jinja chat template (as transformers does) and writes
Tests/EngineTests/Fixtures/templates.json, which pins wafer's native renderers byte for byte.

Usage: python3 scripts/reference/render_templates.py   (needs jinja2; reads the models from the wafer cache)
"""
import json, os, struct, sys
import jinja2

CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "wafer", "models")
MODELS = {
    "smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "qwen-coder": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
}
# Gemma 3's instruction-tuned template (the base model in the catalogue ships none), as published with
# gemma-3-270m-it, reduced to string contents (wafer messages are always strings).
GEMMA3_IT = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- endif -%}
    {{ '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\n'}}
{%- endif -%}
"""

def chat_template(path):
    """Reads tokenizer.chat_template from a GGUF file (metadata only)."""
    with open(path, "rb") as f:
        data = f.read(16 << 20)
    off = 24
    def u32():
        nonlocal off; v = struct.unpack_from("<I", data, off)[0]; off += 4; return v
    def u64():
        nonlocal off; v = struct.unpack_from("<Q", data, off)[0]; off += 8; return v
    def string():
        nonlocal off; n = u64(); v = data[off:off + n].decode("utf-8"); off += n; return v
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    def skip(t):
        nonlocal off
        if t in sizes: off += sizes[t]
        elif t == 8: string()
        elif t == 9:
            et = u32(); n = u64()
            for _ in range(n): skip(et)
    kv = struct.unpack_from("<Q", data, 16)[0]
    for _ in range(kv):
        key = string(); t = u32()
        if key == "tokenizer.chat_template": return string()
        skip(t)
    return None

CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Write hello world in C."}],
    [{"role": "user", "content": "  padded  \n"}, {"role": "assistant", "content": "Sure:\n```c\nint main(){}\n```"},
     {"role": "user", "content": "Now in Swift, with émoji 🚀 and 中文."}],
]

def render(template, messages, bos):
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)  # as transformers renders
    return env.from_string(template).render(messages=messages, add_generation_prompt=True, bos_token=bos, eos_token="")

def main():
    cases = []
    for name, file in MODELS.items():
        path = os.path.join(CACHE, file)
        if not os.path.exists(path):
            sys.exit(f"{path} missing: run make models")
        template = chat_template(path)
        for messages in CONVERSATIONS:
            cases.append({"model": name, "messages": messages, "text": render(template, messages, "")})
    for messages in CONVERSATIONS:
        cases.append({"model": "gemma3-it", "messages": messages, "text": render(GEMMA3_IT, messages, "<bos>")})
    out = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "EngineTests", "Fixtures", "templates.json")
    with open(out, "w") as f:
        json.dump({"gemma3_it_template": GEMMA3_IT, "cases": cases}, f, ensure_ascii=False, indent=1)
    print(f"wrote {len(cases)} cases to {os.path.normpath(out)}")

main()
