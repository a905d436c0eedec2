#!/usr/bin/env bash
# Host decode speed, wafer backend vs CPU backend (see bench-wafer.py): alternating runs, medians, ratio.
#   scripts/bench-wafer.sh [--pairs N] [--tokens N] [-- wafer bench args...]
exec python3 "$(dirname "$0")/bench-wafer.py" "$@"
