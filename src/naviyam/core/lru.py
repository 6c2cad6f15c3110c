"""A small bounded map for per-process caches of read-only results (distances, open shops, BM25 scores)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """Forgets the least recently used entry first; safe across request threads. Values should be read-only (a
    numpy array with ``flags.writeable = False``): every caller shares them."""

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V, maxsize: int | None = None) -> V:
        """Keep ``value`` (the newest) and forget the oldest beyond ``maxsize`` (default: the cache's own)."""
        limit = self.maxsize if maxsize is None else maxsize
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > limit:
                self._data.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._data)
