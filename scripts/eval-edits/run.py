#!/usr/bin/env python3
"""Edit evaluation: ten scenarios (Python and Swift) driven through the real `wafer` binary.

For each scenario: a fresh directory holding the file; `wafer -p REQUEST --file PATH --apply --json --temp 0`
(the model's answer, its edits applied all or nothing); then the scenario's check runs the edited file.
A scenario passes when an edit applied and the check succeeds. Reports N/10 and writes every answer,
diff and check output under --out.

Usage: scripts/eval-edits/run.py --wafer .build/release/wafer [--model qwen-coder] [--only NAME]
                                 [--self-check] [--out DIR] [-- extra wafer flags]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenarios import SCENARIOS  # noqa: E402

PYTHON_CHECK = """import importlib.util, sys
spec = importlib.util.spec_from_file_location("m", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
exec(compile(sys.argv[2], "check", "exec"))
print("ok")
"""


def run_check(scenario, directory, timeout=300):
    """Runs the scenario's check against the file in `directory`; returns (passed, output)."""
    path = os.path.join(directory, scenario["path"])
    try:
        if scenario["path"].endswith(".py"):
            p = subprocess.run([sys.executable, "-c", PYTHON_CHECK, path, scenario["check"]],
                               capture_output=True, text=True, timeout=timeout, cwd=directory)
            return p.returncode == 0, (p.stdout + p.stderr).strip()
        with tempfile.TemporaryDirectory(prefix="wafer-eval-build-") as build:
            main = os.path.join(build, "main.swift")
            with open(main, "w") as f:
                f.write(scenario["check"])
            exe = os.path.join(build, "check")
            p = subprocess.run(["swiftc", "-Onone", "-o", exe, main, path],
                               capture_output=True, text=True, timeout=timeout)
            if p.returncode != 0:
                return False, "does not compile:\n" + (p.stdout + p.stderr).strip()
            p = subprocess.run([exe], capture_output=True, text=True, timeout=timeout)
            return p.returncode == 0, (p.stdout + p.stderr).strip()
    except subprocess.TimeoutExpired:
        return False, "check timed out"


def first_line(text):
    """The first non-empty line of a check's output (a Swift crash's backtrace follows its message)."""
    return next((l.strip() for l in text.splitlines() if l.strip()), "")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wafer", default=".build/release/wafer", help="the wafer binary")
    parser.add_argument("--model", default="qwen-coder", help="model name or GGUF path (default qwen-coder)")
    parser.add_argument("--only", action="append", default=[], help="run only the named scenario(s)")
    parser.add_argument("--self-check", action="store_true",
                        help="verify that every check fails on the original file, and exit")
    parser.add_argument("--out", default=".build/eval-edits", help="where answers and diffs are written")
    parser.add_argument("--max-tokens", type=int, default=1024)
    parser.add_argument("extra", nargs="*", help="extra wafer flags (after --)")
    args = parser.parse_args()

    scenarios = [s for s in SCENARIOS if not args.only or s["name"] in args.only]
    if not scenarios:
        sys.exit(f"eval-edits: no scenario named {args.only}")

    if args.self_check:
        bad = 0
        for s in scenarios:
            with tempfile.TemporaryDirectory(prefix="wafer-eval-") as d:
                with open(os.path.join(d, s["path"]), "w") as f:
                    f.write(s["content"])
                passed, out = run_check(s, d)
                print(f"{s['name']:28} {'PASSES UNCHANGED (bad scenario)' if passed else 'fails unchanged (good)'}")
                bad += passed
        sys.exit(1 if bad else 0)

    wafer = os.path.abspath(args.wafer)
    if not os.access(wafer, os.X_OK):
        sys.exit(f"eval-edits: no wafer binary at {wafer} (run make build)")
    out_dir = os.path.abspath(args.out)
    os.makedirs(out_dir, exist_ok=True)
    results = []
    print(f"eval-edits: {len(scenarios)} scenarios, model {args.model}, temperature 0")
    for s in scenarios:
        # The coding prompt names the project directory: a fixed name keeps runs comparable.
        with tempfile.TemporaryDirectory(prefix="wafer-eval-") as parent:
            d = os.path.join(parent, "project")
            os.mkdir(d)
            with open(os.path.join(d, s["path"]), "w") as f:
                f.write(s["content"])
            cmd = [wafer, "-p", s["request"], "--file", s["path"], "--apply", "--json", "--temp", "0",
                   "--model", args.model, "-n", str(args.max_tokens)] + args.extra
            started = time.time()
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=d)
                stdout, stderr, status = p.stdout, p.stderr, p.returncode
            except subprocess.TimeoutExpired:
                stdout, stderr, status = "", "wafer timed out", -1
            seconds = time.time() - started
            answer = {}
            for line in reversed(stdout.splitlines()):
                if line.startswith("{"):
                    try:
                        answer = json.loads(line)
                    except json.JSONDecodeError:
                        pass
                    break
            applied = bool(answer.get("applied"))
            passed, check_out = run_check(s, d) if applied else (False, "")
            with open(os.path.join(d, s["path"])) as f:
                edited = f.read()
        result = dict(name=s["name"], applied=applied, passed=applied and passed, seconds=round(seconds, 1),
                      generated_tokens=len(answer.get("tokens", [])), decode_tok_s=answer.get("decode_tok_s"),
                      formats=[e.get("format") + ":" + e.get("kind", "") for e in answer.get("edits", [])],
                      apply_error=answer.get("apply_error") or (stderr.strip() if not answer else None),
                      check=check_out)
        results.append(result)
        with open(os.path.join(out_dir, s["name"] + ".md"), "w") as f:
            f.write(f"# {s['name']}\n\nrequest: {s['request']}\n\nexit {status}; applied {applied}; "
                    f"passed {result['passed']}\n\n## answer\n\n{answer.get('text', stdout)}\n\n## edited file\n\n"
                    f"{edited}\n\n## check\n\n{check_out}\n\n## stderr\n\n{stderr}\n")
        verdict = "PASS" if result["passed"] else ("applied, check failed" if applied else "no edit applied")
        speed = f"{result['decode_tok_s']:.1f} tok/s" if result["decode_tok_s"] else "-"
        print(f"  {s['name']:28} {verdict:22} {result['generated_tokens']:4} tokens  {speed:>11}  {seconds:6.1f} s"
              + (f"  ({result['apply_error']})" if not applied and result["apply_error"] else "")
              + (f"  ({first_line(check_out)})" if applied and not passed else ""))
    score = sum(r["passed"] for r in results)
    applied = sum(r["applied"] for r in results)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(dict(model=args.model, score=score, total=len(results), applied=applied, results=results), f, indent=2)
    print(f"eval-edits: {score}/{len(results)} applied and passed ({applied} applied); answers in {out_dir}")


if __name__ == "__main__":
    main()
