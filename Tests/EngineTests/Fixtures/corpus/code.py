"""A small in-memory key-value store with expiry, snapshots and a line protocol."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, Optional, Tuple


class StoreError(Exception):
    """Raised when a command is malformed or refers to a missing key."""


@dataclass
class Entry:
    value: Any
    expires_at: Optional[float] = None
    hits: int = 0

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


@dataclass
class Stats:
    gets: int = 0
    sets: int = 0
    misses: int = 0
    evictions: int = 0
    history: list = field(default_factory=list)

    def hit_rate(self) -> float:
        if self.gets == 0:
            return 0.0
        return (self.gets - self.misses) / self.gets


class Store:
    """A thread-safe LRU store. Keys expire after `ttl` seconds when one is given."""

    def __init__(self, capacity: int = 1024, clock: Callable[[], float] = time.monotonic) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._clock = clock
        self._data: "OrderedDict[str, Entry]" = OrderedDict()
        self._lock = threading.RLock()
        self.stats = Stats()

    def __len__(self) -> int:
        with self._lock:
            self._purge()
            return len(self._data)

    def __contains__(self, key: str) -> bool:
        return self.get(key, default=None) is not None

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            self._purge()
            return iter(list(self._data.keys()))

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            self.stats.gets += 1
            entry = self._data.get(key)
            if entry is None or entry.expired(self._clock()):
                if entry is not None:
                    del self._data[key]
                self.stats.misses += 1
                return default
            entry.hits += 1
            self._data.move_to_end(key)
            return entry.value

    def set(self, key: str, value: Any, ttl: Optional[float] = None) -> None:
        if not key or any(ch.isspace() for ch in key):
            raise StoreError(f"invalid key: {key!r}")
        with self._lock:
            expires = self._clock() + ttl if ttl is not None else None
            self._data[key] = Entry(value, expires)
            self._data.move_to_end(key)
            self.stats.sets += 1
            while len(self._data) > self.capacity:
                evicted, _ = self._data.popitem(last=False)
                self.stats.evictions += 1
                self.stats.history.append(("evict", evicted))

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._data.pop(key, None) is not None

    def incr(self, key: str, amount: int = 1) -> int:
        with self._lock:
            current = self.get(key, default=0)
            if not isinstance(current, int):
                raise StoreError(f"value of {key!r} is not an integer")
            self.set(key, current + amount)
            return current + amount

    def _purge(self) -> None:
        now = self._clock()
        for key in [k for k, e in self._data.items() if e.expired(now)]:
            del self._data[key]

    def snapshot(self) -> str:
        with self._lock:
            self._purge()
            now = self._clock()
            items = {
                key: {"value": e.value, "ttl": None if e.expires_at is None else round(e.expires_at - now, 3)}
                for key, e in self._data.items()
            }
        return json.dumps(items, sort_keys=True)

    @classmethod
    def restore(cls, text: str, capacity: int = 1024) -> "Store":
        store = cls(capacity)
        for key, item in json.loads(text).items():
            store.set(key, item["value"], item.get("ttl"))
        return store


def parse_command(line: str) -> Tuple[str, list]:
    parts = line.strip().split()
    if not parts:
        raise StoreError("empty command")
    name, args = parts[0].upper(), parts[1:]
    arity: Dict[str, Tuple[int, int]] = {"GET": (1, 1), "SET": (2, 3), "DEL": (1, 1), "INCR": (1, 2), "SNAP": (0, 0)}
    if name not in arity:
        raise StoreError(f"unknown command {name}")
    low, high = arity[name]
    if not low <= len(args) <= high:
        raise StoreError(f"{name} takes {low}..{high} arguments, got {len(args)}")
    return name, args


def execute(store: Store, line: str) -> str:
    try:
        name, args = parse_command(line)
        if name == "GET":
            value = store.get(args[0])
            return "(nil)" if value is None else str(value)
        if name == "SET":
            ttl = float(args[2]) if len(args) == 3 else None
            store.set(args[0], args[1], ttl)
            return "OK"
        if name == "DEL":
            return "1" if store.delete(args[0]) else "0"
        if name == "INCR":
            return str(store.incr(args[0], int(args[1]) if len(args) == 2 else 1))
        return store.snapshot()
    except (StoreError, ValueError) as error:
        return f"ERR {error}"


if __name__ == "__main__":
    s = Store(capacity=2)
    for command in ["SET a 1", "SET b 2 0.5", "GET a", "INCR counter 5", "GET b", "SNAP", "BOGUS"]:
        print(f"> {command}\n{execute(s, command)}")
    print(f"hit rate: {s.stats.hit_rate():.2%}, evictions: {s.stats.evictions}")
