"""Sets of documents as bit masks: set arithmetic at memory speed at any collection size.

A query's whole result set is needed for its total and its facets, so matching is set
arithmetic over every document a term occurs in. A :class:`DocSet` is a NumPy boolean
mask with one entry per docnum of a commit: intersecting, uniting or subtracting two
sets costs a pass over one byte per document (about 50 µs for a million articles), and
the matching docnums come out sorted, once, when something needs them (counting facets,
ranking). Every set of one commit has the same length, the commit's ``size``.

Most words of a big archive are in few of its articles, and a set of a few thousand
docnums would pay a million-byte mask for each step: a set made from docnums that are
fewer than :data:`SPARSE_SHARE` of its commit works on them (a lookup per member in the
other set, a merge of two sorted arrays) and builds its mask only when one is asked for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

import numpy as np

#: Sets made from fewer docnums than this share of their commit's documents work on
#: those docnums rather than on a mask.
SPARSE_SHARE = 1 / 16
#: A set with at least this share of its commit's documents is hashed by its mask packed
#: into an eighth of a byte per document, fewer bytes than its docnums at eight each.
DIGEST_MASK_SHARE = 1 / 64


class DocSet:
    """An immutable set of docnums; behaves like a ``frozenset`` for ``&``, ``|``, ``-``,
    ``len``, ``in``, truth and iteration."""

    __slots__ = ("_count", "_ids", "_mask", "_outside", "size")

    def __init__(
        self,
        mask: np.ndarray | None,
        *,
        ids: np.ndarray | None = None,
        count: int | None = None,
        size: int | None = None,
    ) -> None:
        """A set of the true entries of ``mask``, or (``mask`` None) of the sorted,
        distinct ``ids`` below ``size``."""
        self._mask = mask
        self._ids = ids
        self._count = count
        self._outside: np.ndarray | None = None
        self.size: int = len(mask) if mask is not None else size

    @classmethod
    def empty(cls, size: int) -> DocSet:
        return cls.from_ids(np.empty(0, dtype=np.int64), size)

    @classmethod
    def from_ids(cls, ids: np.ndarray, size: int) -> DocSet:
        """The set of ``ids`` (sorted, distinct docnums below ``size``)."""
        return cls(None, ids=ids, count=len(ids), size=size)

    @classmethod
    def union(cls, size: int, sets: Iterable[DocSet]) -> DocSet:
        sets = list(sets)
        if len(sets) == 1:
            return sets[0]
        if not sets:
            return cls.empty(size)
        if all(docs._is_sparse() for docs in sets) and sum(map(len, sets)) < size * SPARSE_SHARE:
            return cls.from_ids(merged(docs._ids for docs in sets), size)
        found = np.zeros(size, dtype=bool)
        for docs in sets:
            docs.mark_in(found)
        return cls(found)

    @property
    def mask(self) -> np.ndarray:
        """One boolean per docnum of the commit."""
        if self._mask is None:
            mask = np.zeros(self.size, dtype=bool)
            mask[self._ids] = True
            self._mask = mask  # one assignment: safe between threads
        return self._mask

    def mark_in(self, found: np.ndarray) -> None:
        """Set ``found`` (a mask of the commit's documents) true at each member: a union
        scatters a set held as docnums straight into its result rather than into a mask
        of its own first, one pass over a million bytes less per set."""
        if self._mask is None:
            found[self._ids] = True
        else:
            found |= self._mask

    def digest(self) -> bytes:
        """16 bytes that name the members, however the set holds them (for cache keys).

        A set of many members is hashed as its mask packed eight documents to a byte:
        125 kB at a million articles, where its docnums would be up to 8 MB to hash.
        """
        if len(self) < self.size * DIGEST_MASK_SHARE:
            named = b"ids" + self.ids.astype(np.int64, copy=False).tobytes()
        else:
            named = b"mask" + np.packbits(self.mask).tobytes()
        return hashlib.blake2b(named, digest_size=16).digest()

    @property
    def nbytes(self) -> int:
        """Memory held, for cache budgets."""
        held = [self._mask, self._ids, self._outside]
        return sum(array.nbytes for array in held if array is not None)

    @property
    def ids(self) -> np.ndarray:
        """The members as sorted docnums."""
        if self._ids is None:
            self._ids = np.flatnonzero(self._mask)
        return self._ids

    @property
    def outside(self) -> np.ndarray:
        """The commit's docnums not in the set, sorted (deleted ones included), listed
        once: each facet counts a set of most documents through them."""
        if self._outside is None:
            self._outside = np.flatnonzero(~self.mask)
        return self._outside

    def _is_sparse(self) -> bool:
        return self._ids is not None and len(self._ids) < self.size * SPARSE_SHARE

    def _holds(self, docnums: np.ndarray) -> np.ndarray:
        """Whether each of ``docnums`` is a member."""
        if self._mask is not None or not self._is_sparse():
            return self.mask[docnums]
        if not len(self._ids):
            return np.zeros(len(docnums), dtype=bool)
        return located(self._ids, docnums)[1]

    def __len__(self) -> int:
        if self._count is None:
            self._count = int(np.count_nonzero(self._mask))
        return self._count

    def __bool__(self) -> bool:
        return len(self) > 0

    def __contains__(self, docnum: object) -> bool:
        if not isinstance(docnum, int) or not 0 <= docnum < self.size:
            return False
        return bool(self._holds(np.array([docnum]))[0])

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids.tolist())

    def __and__(self, other: DocSet) -> DocSet:
        if other._is_sparse() and (not self._is_sparse() or len(other) < len(self)):
            self, other = other, self  # look the fewer members up in the other set
        if self._is_sparse():
            return DocSet.from_ids(gathered(self._ids, other._holds(self._ids)), self.size)
        return DocSet(self.mask & other.mask)

    def __or__(self, other: DocSet) -> DocSet:
        return DocSet.union(self.size, [self, other])

    def __sub__(self, other: DocSet) -> DocSet:
        if self._is_sparse():
            return DocSet.from_ids(gathered(self._ids, ~other._holds(self._ids)), self.size)
        return DocSet(self.mask & ~other.mask)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DocSet):
            return np.array_equal(self.ids, other.ids)
        if isinstance(other, (set, frozenset)):
            return set(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def without(self, docnum: int) -> DocSet:
        if self._is_sparse():
            return DocSet.from_ids(self._ids[self._ids != docnum], self.size)
        mask = self.mask.copy()
        mask[docnum] = False
        return DocSet(mask)

    def __repr__(self) -> str:
        shown = self.ids[:8].tolist()
        more = ", …" if len(self) > len(shown) else ""
        return f"DocSet({len(self)} of {self.size}: {shown}{more})"


def located(sorted_ids: np.ndarray, needles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``needles`` is or would be in ``sorted_ids`` (sorted, distinct, not
    empty), and whether it is there. The needles are searched in the ids' own type (NumPy
    would otherwise widen the whole array), and one past the end is compared with the last
    id: never equal, with no selection of the needles inside."""
    at = sorted_ids.searchsorted(needles.astype(sorted_ids.dtype, copy=False))
    np.minimum(at, len(sorted_ids) - 1, out=at)
    return at, sorted_ids[at] == needles


def gathered(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``values[keep]`` for a boolean ``keep``, with its true places listed first and
    gathered: a boolean index of scattered members pays a mispredicted branch per entry,
    several times the listing and the gather (8x for half of 500,000 entries)."""
    return values[np.flatnonzero(keep)]


def merged(runs: Iterable[np.ndarray]) -> np.ndarray:
    """The distinct docnums of sorted arrays, sorted: a stable sort merges the runs it
    finds (``np.unique`` would hash them first)."""
    return distinct_sorted(np.sort(np.concatenate(list(runs)), kind="stable"))


def distinct_sorted(ordered: np.ndarray) -> np.ndarray:
    """``ordered`` (sorted) with each value once: ``np.unique`` without its sort, which
    for integers first hashes them (ten times as long for a million values)."""
    first = np.empty(len(ordered), dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]
