"""A least-recently-used cache bounded by the bytes what it holds really takes.

Decoded postings, term scores and phrase matches differ in size by orders of magnitude
("said" has 15,000 postings, "khojaly" two), so the budget counts bytes, not entries.
Those bytes are measured, not estimated: a value is walked once when it is cached
(:func:`size_in_bytes`: arrays by their buffers, Python objects by ``sys.getsizeof``),
because estimates had a cache that counted 221 MiB hold 255 (100,000 articles). Some values
grow after they are cached (postings work out where each document's positions are the
first time a phrase asks, a set of documents lists its members when first iterated), so a
value that reports its own ``nbytes`` is asked again at each read and what it grew by is
counted too.

Safe to share between threads: every method holds the lock for a few dictionary steps.
"""

from __future__ import annotations

import gc
import mmap
import sys
import threading
import types
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

V = TypeVar("V")

#: What a cached value refers to without holding it: code, and the shared objects
#: (schemas, formats, analyzers) that bound methods lead to.
_NOT_HELD = (
    types.FunctionType,
    types.MethodType,
    types.BuiltinFunctionType,
    types.ModuleType,
    type,
)
#: The fixed part of an array object (its buffer is counted apart).
_ARRAY_HEADER = sys.getsizeof(np.empty(0))
#: Objects of these modules are walked into; others (Whoosh's) count only themselves.
_WALKED_MODULES = ("searchsvc.", "collections")


@dataclass
class _Entry(Generic[V]):
    value: V
    #: Bytes counted for the value: measured when cached, plus its growth since.
    size: int
    #: The value's own ``nbytes`` when it was measured (None: it reports none).
    reported: int | None


class SizedCache(Generic[V]):
    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._items: OrderedDict[Hashable, _Entry[V]] = OrderedDict()
        self.used = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            self._items.move_to_end(key)
            if entry.reported is not None:
                self._regrow(entry)
            return entry.value

    def put(self, key: Hashable, value: V) -> V:
        size = max(1, size_in_bytes(value))
        if size > self.budget:
            return value  # too big to keep; the caller still gets it
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.used -= old.size
            self._items[key] = _Entry(value, size, _reported(value))
            self.used += size
            self._evict()
        return value

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        """The cached value, or ``make()`` cached (two threads may both make it once)."""
        value = self.get(key)
        if value is None:
            value = self.put(key, make())
        return value

    def __len__(self) -> int:
        return len(self._items)

    def _regrow(self, entry: _Entry[V]) -> None:
        """Count what ``entry`` grew by since it was measured (under the lock)."""
        now = _reported(entry.value)
        if now is None or entry.reported is None or now <= entry.reported:
            return
        entry.size += now - entry.reported
        self.used += now - entry.reported
        entry.reported = now
        self._evict()

    def _evict(self) -> None:
        while self.used > self.budget and self._items:
            _, dropped = self._items.popitem(last=False)
            self.used -= dropped.size


def _reported(value: object) -> int | None:
    nbytes = getattr(value, "nbytes", None)
    return nbytes if isinstance(nbytes, int) else None


def size_in_bytes(value: object) -> int:
    """The bytes ``value`` holds: every object it reaches once, arrays with their buffers.

    Walks containers, arrays (to the object their buffer belongs to) and the objects of
    this package; stops at code, classes and other libraries' objects (a schema or an
    analyzer a value refers to is shared, not held). Memory-mapped file pages count nothing: they
    are the page cache's, shared by every process.
    """
    total = 0
    seen: set[int] = set()
    stack = [value]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _NOT_HELD):
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            if obj.base is None:
                total += _ARRAY_HEADER + obj.nbytes
            else:
                total += _ARRAY_HEADER
                stack.append(obj.base)
        elif isinstance(obj, mmap.mmap):
            continue
        else:
            total += sys.getsizeof(obj)
            stack.extend(_parts(obj))
    return total


def _parts(obj: object) -> list[Any]:
    """The objects ``obj`` holds, for :func:`size_in_bytes`."""
    if isinstance(obj, (str, bytes, bytearray, int, float, complex, bool)) or obj is None:
        return []
    if isinstance(obj, dict):
        return [*obj.keys(), *obj.values()]
    if isinstance(obj, (list, tuple, set, frozenset)):
        return list(obj)
    if isinstance(obj, memoryview):
        return [obj.obj]
    if type(obj).__module__.startswith(_WALKED_MODULES):
        return gc.get_referents(obj)
    return []
