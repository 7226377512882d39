"""In-process caches that make repeated coverage queries fast.

* population grids, per (database, layer id, layer creation time): a layer is
  never modified in place (re-importing creates a new row), so the key changes
  whenever the cells could have;
* nearest-facility distances, per (grid key, facility fingerprint): the
  fingerprint is a digest of the facility positions read from PostGIS on every
  query, so any insert, move or delete of a facility gives a new key and the
  distances are recomputed — derived data cannot go stale.

Both are small LRU maps guarded by a lock (the dev server is threaded).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LruCache(Generic[V]):
    """A tiny thread-safe LRU map.

    >>> c = LruCache[int](2)
    >>> c.get_or_create("a", lambda: 1), c.get_or_create("a", lambda: 2)
    (1, 1)
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            self.misses += 1
            return None

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def get_or_create(self, key: Hashable, factory: Callable[[], V]) -> V:
        value = self.get(key)
        if value is None:
            value = factory()
            self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._data)


GRIDS: LruCache = LruCache(4)
"""Population grids (a 1,000,000-cell grid with its KD-tree takes about 100 MB)."""

NEAREST: LruCache = LruCache(8)
"""Nearest-facility distance arrays (16 MB per entry for a 1,000,000-cell grid)."""


def clear_all() -> None:
    """Empty every cache (tests and benchmarks)."""
    GRIDS.clear()
    NEAREST.clear()
