#!/usr/bin/env python3
"""Count word frequencies in text files and print the most common ones."""

from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path
from typing import Iterable, Iterator

WORD = re.compile(r"[A-Za-z']+")


def words(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        for match in WORD.finditer(line):
            yield match.group(0).lower()


class Counter:
    def __init__(self, minimum: int = 1) -> None:
        self._counts: dict[str, int] = collections.defaultdict(int)
        self.minimum = minimum

    def add(self, word: str) -> None:
        self._counts[word] += 1

    def top(self, n: int = 10) -> list[tuple[str, int]]:
        items = [(w, c) for w, c in self._counts.items() if c >= self.minimum]
        items.sort(key=lambda item: (-item[1], item[0]))
        return items[:n]

    def __len__(self) -> int:
        return len(self._counts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("-n", "--top", type=int, default=10)
    parser.add_argument("--min", dest="minimum", type=int, default=2)
    args = parser.parse_args(argv)

    counter = Counter(args.minimum)
    for path in args.paths:
        try:
            with path.open(encoding="utf-8") as handle:
                for word in words(handle):
                    counter.add(word)
        except OSError as error:
            print(f"error: {path}: {error.strerror}", file=sys.stderr)
            return 1

    width = max((len(w) for w, _ in counter.top(args.top)), default=0)
    for word, count in counter.top(args.top):
        print(f"{word:<{width}}  {count:>6}")
    print(f"# {len(counter)} distinct words, 0x{len(counter):04x} in hex, {3.14159:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
