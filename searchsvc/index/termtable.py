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
from functools import partial
from itertools import chain, pairwise
from operator import lt, methodcaller
from typing import Any

import numpy as np
from whoosh.filedb.filetables import OrderedHashWriter

_KEY_LENGTHS = struct.Struct("!ii")
#: A hash table's slot: the key's hash and its record's position (``!Iq``), 0 and 0 empty.
_SLOT = np.dtype([("hash", ">u4"), ("position", ">i8")])
_BUCKETS = 256
_MD5 = 0
_MD5_OF = partial(hashlib.md5, usedforsecurity=False)
_DIGEST = methodcaller("digest")


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
        table's last key.

        Every step is a C-level pass over the run (lengths, offsets and the length pairs by
        NumPy, the digests by ``map``): a segment has tens of thousands of terms."""
        if not keys:
            return
        if not all(map(lt, [self.lastkey, *keys[:-1]], keys)):
            earlier, later = next(
                pair for pair in pairwise([self.lastkey, *keys]) if pair[1] <= pair[0]
            )
            raise ValueError(f"Keys must increase: {earlier!r}..{later!r}")
        key_lengths = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
        record_lengths = np.fromiter(map(len, records), dtype=np.int64, count=len(records))
        sizes = _KEY_LENGTHS.size + key_lengths + record_lengths
        starts = self.dbfile.tell() + np.cumsum(sizes) - sizes
        pairs = np.empty((len(keys), 2), dtype=">i4")
        pairs[:, 0], pairs[:, 1] = key_lengths, record_lengths
        packed, size = pairs.tobytes(), _KEY_LENGTHS.size
        heads = [packed[at : at + size] for at in range(0, len(packed), size)]
        self.dbfile.write(b"".join(chain.from_iterable(zip(heads, keys, records, strict=True))))
        if self.hashtype == _MD5:
            self.hashes.frombytes(_md5_low32s(keys))
        else:
            self.hashes.extend(map(self.hashfn, keys))
        self.positions.frombytes(starts.tobytes())
        index = self.index
        if int(starts[-1]) > _largest(index.array.typecode):
            index._retype(int(starts[-1]))  # Whoosh widens the key index as it grows
        index.array.extend(starts.tolist())
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


def _md5_low32s(keys: Sequence[bytes]) -> bytes:
    """Whoosh's ``md5_hash`` of each key (the digest's last 32 bits) as native ``uint32``
    bytes, read from the digests' bytes by NumPy: Whoosh's goes through the hexadecimal
    string and a 128-bit integer for every key."""
    digests = b"".join(map(_DIGEST, map(_MD5_OF, keys)))
    low = np.frombuffer(digests, dtype=">u4").reshape(len(keys), 4)[:, 3]
    return low.astype(np.uint32).tobytes()


def _largest(typecode: str) -> int:
    return 2 ** (8 * array(typecode).itemsize - (typecode.islower())) - 1
