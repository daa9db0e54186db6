"""A segment's term table (Whoosh's ordered hash file) written a run of terms at a time.

Whoosh's ``OrderedHashWriter`` adds a key with three writes, a growable-array append and
a bucket append, and at its close places every key in one of 256 hash tables by linear
probing and writes each slot with a ``struct.pack`` and a write of its own: for a
segment's tens of thousands of terms, a large part of writing it. :class:`TermTable`
writes the same file: a run of records in one write, the keys' hashes and positions kept
in flat arrays, and at the close each hash table placed in a loop over the keys only and
written, with the slots left empty, as one NumPy array.
"""

from __future__ import annotations

import hashlib
import struct
from array import array
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from whoosh.filedb.filetables import OrderedHashWriter

_KEY_LENGTHS = struct.Struct("!ii")
#: A hash table's slot: the key's hash and its record's position (``!Iq``), 0 and 0 empty.
_SLOT = np.dtype([("hash", ">u4"), ("position", ">i8")])
_BUCKETS = 256
_MD5 = 0


class TermTable(OrderedHashWriter):
    """An ``OrderedHashWriter`` whose records are added in runs (:meth:`add_many`)."""

    def __init__(self, dbfile: Any) -> None:
        super().__init__(dbfile)
        self._start_runs()

    @classmethod
    def adopt(cls, table: OrderedHashWriter) -> TermTable:
        """``table`` (Whoosh's, empty: a field writer makes its own and has written its
        header) made a :class:`TermTable`, so that its records are added in runs."""
        if len(table.index):
            raise ValueError("a term table is adopted before any record is added")
        table.__class__ = cls
        table._start_runs()
        return table

    def _start_runs(self) -> None:
        self.hashes = array("I")
        self.positions = array("q")

    def add(self, key: bytes, value: bytes) -> None:
        self.add_many([key], [value])

    def add_many(self, keys: Sequence[bytes], records: Sequence[bytes]) -> None:
        """``add`` of each key and record, in one write. Keys must increase, after the
        table's last key."""
        if not keys:
            return
        for earlier, later in pairwise([self.lastkey, *keys]):
            if later <= earlier:
                raise ValueError(f"Keys must increase: {earlier!r}..{later!r}")
        position = self.dbfile.tell()
        starts = []
        parts: list[bytes] = []
        pack_lengths = _KEY_LENGTHS.pack
        for key, record in zip(keys, records, strict=True):
            starts.append(position)
            parts += (pack_lengths(len(key), len(record)), key, record)
            position += _KEY_LENGTHS.size + len(key) + len(record)
        self.dbfile.write(b"".join(parts))
        self.hashes.extend(map(_md5_low32 if self.hashtype == _MD5 else self.hashfn, keys))
        self.positions.extend(starts)
        index = self.index
        if starts[-1] > _largest(index.array.typecode):
            index._retype(starts[-1])  # Whoosh widens the key index as it grows
        index.array.extend(starts)
        self.lastkey = keys[-1]

    def _write_hashes(self) -> None:
        """The 256 hash tables, each twice as many slots as it has keys, every key in the
        first free slot from ``(hash >> 8) % slots`` on, in the order keys were added."""
        hashes = np.frombuffer(self.hashes, dtype=np.uint32)
        positions = np.frombuffer(self.positions, dtype=np.int64)
        buckets = hashes & (_BUCKETS - 1)
        order = np.argsort(buckets, kind="stable")
        sizes = 2 * np.bincount(buckets, minlength=_BUCKETS)
        firsts = np.cumsum(sizes) - sizes
        slots = np.zeros(int(sizes.sum()), dtype=_SLOT)
        placed = _linear_probing(
            ((hashes[order] >> 8) % sizes[buckets[order]]).tolist(),
            firsts[buckets[order]].tolist(),
            sizes[buckets[order]].tolist(),
            len(slots),
        )
        slots["hash"][placed] = hashes[order]
        slots["position"][placed] = positions[order]
        start = self.dbfile.tell()
        self.directory.extend(
            zip((start + firsts * _SLOT.itemsize).tolist(), sizes.tolist(), strict=True)
        )
        self.dbfile.write(slots.tobytes())


def _linear_probing(homes: list[int], firsts: list[int], sizes: list[int], total: int) -> list:
    """Each key's slot (in all tables laid end to end), keys placed one after another."""
    taken = bytearray(total)
    placed = []
    for home, first, size in zip(homes, firsts, sizes, strict=True):
        slot = home
        while taken[first + slot]:
            slot = (slot + 1) % size
        taken[first + slot] = 1
        placed.append(first + slot)
    return placed


def _md5_low32(key: bytes) -> int:
    """Whoosh's ``md5_hash``, the digest's last 32 bits, read from the digest's bytes:
    Whoosh's goes through the hexadecimal string and a 128-bit integer for every key."""
    return int.from_bytes(hashlib.md5(key, usedforsecurity=False).digest()[12:], "big")


def _largest(typecode: str) -> int:
    return 2 ** (8 * array(typecode).itemsize - (typecode.islower())) - 1
