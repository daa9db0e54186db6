"""Copies of one story, grouped once per commit, collapsed per search with NumPy.

Every article carries a MinHash signature written at build time (``index/versions.py``).
When a commit is first searched, articles whose signatures agree on a whole band are
candidate pairs, the pairs whose estimated similarity reaches the threshold are kept, and
the connected components of those pairs are the groups: the rule of
``versions.group_signatures``, which the cluster engine shares. The candidate pairs are stored
when a commit is written (``copy_pairs.py``), so a search only links the live ones that
are similar enough; a commit without them (an older build) is grouped from scratch.

A search then counts stories as distinct group labels among its documents, and a page
keeps the first copy of each group in the list's own order: the best-ranked copy under
relevance, the newest (or oldest) under date sorting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from whoosh.searching import Searcher

from searchsvc.index.versions import (
    SIGNATURE_BYTES,
    commit_key,
    copy_pairs_name,
    estimated_similarity,
    group_signatures,
    linked_groups,
    signature_rows,
)
from searchsvc.search.column_cache import FileKind, SegmentArrays, read_cache, segment_folder
from searchsvc.search.columns import VarBytes, read_var_bytes
from searchsvc.search.docsets import DocSet
from searchsvc.search.snapshot import Reading

#: The schema's column of signatures.
SIGNATURE_COLUMN = "versions"
#: The arrays of a pairs file: each candidate pair's rows (first < second) and how many
#: signature bytes they agree on.
PAIRS = ("agreeing", "first", "second")
#: How the log speaks of a pairs file it cannot use or write.
PAIRS_FILE = FileKind(
    "the stored copy pairs",
    "grouping copies from scratch",
    "each serving process groups copies from scratch",
)


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
    """The groups of the reading's commit at ``threshold`` (worked out once, then kept):
    from the pairs its build or update stored when there are, else from scratch."""

    def make() -> VersionGroups:
        live = reading.columns.live.mask
        labels = stored_labels(reading.searcher, live, threshold)
        if labels is None:
            labels = computed_labels(reading.searcher, live, threshold)
        sizes = np.bincount(labels[live], minlength=int(labels.max(initial=-1)) + 1)
        return VersionGroups(labels, sizes)

    return reading.kept(("versions", threshold), make)


def computed_labels(searcher: Searcher, live: np.ndarray, threshold: float) -> np.ndarray:
    """The groups worked out from every live document's signature."""
    signatures, present = signature_matrix(read_var_bytes(searcher, SIGNATURE_COLUMN))
    return group_signatures(signatures, present & live, threshold)


def stored_labels(searcher: Searcher, live: np.ndarray, threshold: float) -> np.ndarray | None:
    """The groups from the candidate pairs stored for the commit's segments
    (``copy_pairs.py``), or None when there are none to trust."""
    pairs = stored_pairs(searcher)
    if pairs is None:
        return None
    first, second = pairs.arrays["first"], pairs.arrays["second"]
    similar = np.flatnonzero(similar_enough(threshold)[pairs.arrays["agreeing"]])
    first, second = first[similar], second[similar]
    kept = live[first] & live[second]
    return linked_groups(len(live), first[kept], second[kept])


def similar_enough(threshold: float) -> np.ndarray:
    """Whether a pair is a copy, by how many of its signature bytes agree (0 to all).

    A table of the few possible counts, looked up per pair: the estimate worked out per
    pair in floating point was most of the groups' first computation at a million
    articles (1.5 million pairs)."""
    return estimated_similarity(np.arange(SIGNATURE_BYTES + 1)) >= threshold


def stored_pairs(searcher: Searcher) -> SegmentArrays | None:
    """The pairs file of the commit's segments, if one is there and intact."""
    path = copy_pairs_path(searcher)
    if path is None:
        return None
    key, size = commit_key(commit_segments(searcher)), searcher.doc_count_all()
    return read_cache(path, key, size, PAIRS, PAIRS_FILE)


def copy_pairs_path(searcher: Searcher) -> Path | None:
    """Where the commit's pairs file is (None for an index without a folder or segments)."""
    leaves = searcher.leaf_searchers()
    folder = segment_folder(leaves[0][0].reader()) if leaves else None
    return folder / copy_pairs_name(commit_key(commit_segments(searcher))) if folder else None


def commit_segments(searcher: Searcher) -> list[tuple[str, int]]:
    """(id, document count) of each of the commit's segments, in docnum order."""
    readers = [leaf.reader() for leaf, _ in searcher.leaf_searchers()]
    return [(reader.segment().segment_id(), reader.doc_count_all()) for reader in readers]


def signature_matrix(raw: VarBytes | Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """(one row per document, which rows hold a signature) from the column's values.

    Each row is copied whole from a view of the column's bytes as overlapping windows of
    a signature's width: indexing the bytes one by one would first build an index array
    eight times the size of the matrix (seconds at a million articles). Values already
    in hand as separate ``bytes`` go to ``versions.signature_rows``, which the cluster
    engine uses too.
    """
    if not isinstance(raw, VarBytes):
        return signature_rows(raw)
    values = raw
    present = values.lengths == SIGNATURE_BYTES
    if _back_to_back(values, present):  # the column's bytes are the matrix already
        matrix = np.frombuffer(values.blob, dtype=np.uint8, count=len(values) * SIGNATURE_BYTES)
        return matrix.reshape(len(values), SIGNATURE_BYTES), present
    matrix = np.zeros((len(values), SIGNATURE_BYTES), dtype=np.uint8)
    if present.any():
        blob = np.frombuffer(values.blob, dtype=np.uint8)
        windows = sliding_window_view(blob, SIGNATURE_BYTES)
        matrix[present] = windows[values.offsets[present]]
    return matrix, present


def _back_to_back(values: VarBytes, present: np.ndarray) -> bool:
    """Whether every document has a signature and each follows the one before, as when
    every article of the commit has words: the matrix is then a view of the bytes read,
    not a copy (a quarter of a second at a million articles, at each update)."""
    return bool(present.all()) and np.array_equal(
        values.offsets, np.arange(len(values), dtype=np.int64) * SIGNATURE_BYTES
    )
