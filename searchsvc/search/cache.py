"""A least-recently-used cache bounded by the total size of what it holds.

Decoded postings, term scores and phrase matches differ in size by orders of magnitude
("said" has 15,000 postings, "khojaly" two), so the budget counts bytes, not entries.
Safe to share between threads: every method holds the lock for a few dictionary steps.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class SizedCache(Generic[V]):
    def __init__(self, budget: int, size_of: Callable[[V], int]) -> None:
        self.budget = budget
        self._size_of = size_of
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: V) -> V:
        size = max(1, self._size_of(value))
        if size > self.budget:
            return value  # too big to keep; the caller still gets it
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._used -= old[1]
            self._items[key] = (value, size)
            self._used += size
            while self._used > self.budget:
                _, (_, dropped) = self._items.popitem(last=False)
                self._used -= dropped
        return value

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        """The cached value, or ``make()`` cached (two threads may both make it once)."""
        value = self.get(key)
        if value is None:
            value = self.put(key, make())
        return value

    def __len__(self) -> int:
        return len(self._items)
