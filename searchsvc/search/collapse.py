"""Copies of one story, grouped once per commit, collapsed per search with NumPy.

Every article carries a MinHash signature written at build time (``index/versions.py``).
When a commit is first searched, articles whose signatures agree on a whole band are
candidate pairs, the pairs whose estimated similarity reaches the threshold are kept, and
the connected components of those pairs are the groups: the rule of
``versions.group_signatures``, which the cluster engine shares. Grouping the live documents of
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

from searchsvc.index.versions import SIGNATURE_BYTES, group_signatures
from searchsvc.search.columns import VarBytes, read_var_bytes
from searchsvc.search.docsets import DocSet
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
