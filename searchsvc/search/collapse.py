"""Copies of one story, grouped once per commit, collapsed per search with NumPy.

Every article carries a MinHash signature written at build time (``index/versions.py``).
When a commit is first searched, articles whose signatures agree on a whole band are
candidate pairs (locality-sensitive hashing: no pair of the million-squared is looked
at otherwise), the pairs whose estimated similarity reaches the threshold are kept, and
the connected components of those pairs are the groups. Grouping the live documents of
each commit anew is what keeps groups right after incremental adds and deletes and
after a rebuild, with nothing to maintain in between.

A search then counts stories as distinct group labels among its documents, and a page
keeps the first copy of each group in the list's own order: the best-ranked copy under
relevance, the newest (or oldest) under date sorting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from searchsvc.index.versions import (
    BAND_BYTES,
    SIGNATURE_BYTES,
    estimated_similarity,
    linked_groups,
)
from searchsvc.search.columns import VarBytes, read_var_bytes
from searchsvc.search.docsets import DocSet, distinct_sorted
from searchsvc.search.snapshot import Reading

#: The schema's column of signatures.
SIGNATURE_COLUMN = "versions"


@dataclass(frozen=True)
class VersionGroups:
    """Each docnum's group label; a live document alone in its group has a label of its own."""

    labels: np.ndarray
    #: Live documents per label.
    sizes: np.ndarray

    @property
    def nbytes(self) -> int:
        return self.labels.nbytes + self.sizes.nbytes

    @property
    def has_copies(self) -> bool:
        return bool(len(self.sizes)) and int(self.sizes.max()) > 1

    def versions_of(self, docnum: int) -> int:
        """How many other live copies of the story ``docnum`` has."""
        return max(0, int(self.sizes[self.labels[docnum]]) - 1)

    def copies_of(self, docnum: int, live: DocSet) -> np.ndarray:
        """The live docnums in ``docnum``'s group, itself included."""
        return np.flatnonzero((self.labels == self.labels[docnum]) & live.mask)

    def stories(self, docs: DocSet) -> int:
        """How many distinct stories ``docs`` holds."""
        seen = np.zeros(len(self.sizes), dtype=bool)
        seen[self.labels[docs.ids]] = True
        return int(np.count_nonzero(seen))

    def first_of_each(self, ordered: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """``ordered`` without the copies whose story came earlier in it."""
        if not ordered:
            return ordered
        labels = self.labels[np.fromiter((doc for doc, _ in ordered), dtype=np.int64)]
        _, first = np.unique(labels, return_index=True)
        return [ordered[index] for index in np.sort(first).tolist()]


def version_groups(reading: Reading, threshold: float) -> VersionGroups:
    """The groups of the reading's commit at ``threshold`` (computed once, then kept)."""

    def make() -> VersionGroups:
        raw = read_var_bytes(reading.searcher, SIGNATURE_COLUMN)
        signatures, present = signature_matrix(raw)
        present &= reading.columns.live.mask
        labels = group_signatures(signatures, present, threshold)
        sizes = np.bincount(labels[present], minlength=int(labels.max(initial=-1)) + 1)
        return VersionGroups(labels, sizes)

    return reading.kept(("versions", threshold), make)


def signature_matrix(raw: VarBytes | Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """(one row per document, which rows hold a signature) from the column's values.

    Each row is copied whole from a view of the column's bytes as overlapping windows of
    a signature's width: indexing the bytes one by one would first build an index array
    eight times the size of the matrix (seconds at a million articles).
    """
    values = raw if isinstance(raw, VarBytes) else VarBytes.of(raw)
    present = values.lengths == SIGNATURE_BYTES
    matrix = np.zeros((len(values), SIGNATURE_BYTES), dtype=np.uint8)
    if present.any():
        blob = np.frombuffer(values.blob, dtype=np.uint8)
        windows = sliding_window_view(blob, SIGNATURE_BYTES)
        matrix[present] = windows[values.offsets[present]]
    return matrix, present


def group_signatures(signatures: np.ndarray, present: np.ndarray, threshold: float) -> np.ndarray:
    """A group label per row: rows linked by similar pairs share one.

    Rows not ``present`` (deleted, or without words) are alone. Within a band, rows are
    sorted by the band's bytes and each is paired with the next when they agree, so a
    run of equal bands costs one pair per row and the components still join the run.
    """
    size = len(signatures)
    first, second = candidate_pairs(signatures, np.flatnonzero(present))
    agreeing = np.count_nonzero(signatures[first] == signatures[second], axis=1)
    similar = estimated_similarity(agreeing) >= threshold
    return linked_groups(size, first[similar], second[similar])


def candidate_pairs(signatures: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (row, row) pairs that agree on at least one whole band.

    Most rows' band is shared by no other row, so each band first finds the rows whose
    key may repeat and sorts only those, by key and then by row: a run of equal keys is
    chained in row order, the same on every machine. The rows that may repeat are those
    whose key's low bits repeat (:func:`key_buckets`): every row whose key repeats, and a
    few others that the sort then leaves unpaired.
    """
    size = len(signatures)
    banded = signatures if len(rows) == size else signatures[rows]
    found = [np.zeros(0, dtype=np.int64)]
    buckets = key_buckets(len(banded))
    for start in range(0, SIGNATURE_BYTES, BAND_BYTES):
        keys = band_keys(banded, start)
        bucket = keys & np.uint32(buckets - 1)
        shared = np.flatnonzero(np.bincount(bucket, minlength=buckets)[bucket] > 1)
        order = shared[np.argsort(keys[shared], kind="stable")]
        equal = keys[order[1:]] == keys[order[:-1]]
        found.append(rows[order[:-1][equal]] * size + rows[order[1:][equal]])
    pairs = distinct_sorted(np.sort(np.concatenate(found)))
    return pairs // size, pairs % size


def key_buckets(rows: int) -> int:
    """How many buckets a band's keys are counted in for ``rows`` rows: a power of two, at
    least eight per row (so that few rows whose keys differ share a bucket) and at most
    the keys' own number (a band of three bytes has 16 million; counting in that many
    costs as much as the grouping of a small index).
    """
    return min(1 << (8 * BAND_BYTES), 1 << max(10, (8 * rows).bit_length()))


def band_keys(signatures: np.ndarray, start: int) -> np.ndarray:
    """Each row's band of bytes from ``start`` as one number."""
    keys = np.zeros(len(signatures), dtype=np.uint32)
    for column in range(start, start + BAND_BYTES):
        keys = (keys << 8) | signatures[:, column]
    return keys
