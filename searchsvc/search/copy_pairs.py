"""The candidate pairs of copies of one story, worked out when a commit is written.

Grouping a million signatures from scratch takes about two seconds of CPU, which the
first search of every serving process would pay. So a build, and each incremental
update, stores its commit's candidate pairs (``versions.candidate_pairs``) with how many
signature bytes each pair agrees on, in a file beside the segments; a search then only
drops the pairs with a deleted document, keeps those whose similarity reaches its
threshold and links them (``versions.linked_groups``).

The groups are exactly those grouping from scratch gives, because whether two documents
are a candidate pair depends on those two alone while no band's run is longer than
``versions.RUN_ROWS`` (a commit where one is gets no file), and deleting documents only
shortens runs. The file belongs to the commit's segments (``versions.commit_key``): a
commit that only deletes reads the same file, and one that adds or merges segments
writes its own, keeping the pairs between documents of the segments it kept and
looking only for pairs with a document of a new segment.

The file is a column cache file (``column_cache.py``): a CRC-32 of all its bytes,
compared at each load, and a header naming the segments it was written for. A file
that is damaged, cut short or written for other segments is logged and never used (the
groups are then worked out as before), and so is a missing one (a generation built by
older code). The manifest lists it like the other files, so opening and full
verification compare it too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from whoosh.searching import Searcher

from searchsvc.index.versions import (
    agreeing_bytes,
    candidate_pairs,
    commit_key,
    copy_pairs_name,
    every_band_key,
    key_buckets,
)
from searchsvc.search.collapse import (
    PAIRS,
    PAIRS_FILE,
    SIGNATURE_COLUMN,
    commit_segments,
    copy_pairs_path,
    signature_matrix,
)
from searchsvc.search.column_cache import SegmentArrays, read_cache, write_cache
from searchsvc.search.columns import live_mask, read_var_bytes

#: Pairs files are named ``copies.<digest>.pairs`` (``versions.copy_pairs_name``).
PAIRS_FILES = "copies.*.pairs"
#: Up to this many new articles, the rows sharing a band with them are found by comparing
#: all rows' band keys with each one's (0.06 s an article at a million, after 0.13 s for
#: the keys); more are looked up band by band in a table of buckets (1.2-1.5 s for any
#: number there), which costs about as much as twenty comparisons.
FEW_SEEDS = 16


def write_copy_pairs(searcher: Searcher, previous: str | None = None) -> str | None:
    """Store the candidate pairs of the searcher's commit beside its segments, reusing
    those of the commit whose key is ``previous``; the commit's key, or None when no file
    was written (a band's run over the bound, or a folder that cannot be written)."""
    path = copy_pairs_path(searcher)
    if path is None:
        return None
    segments = commit_segments(searcher)
    key, size = commit_key(segments), searcher.doc_count_all()
    if read_cache(path, key, size, PAIRS, PAIRS_FILE) is not None:
        return key  # a commit that only deleted documents: its segments' file holds
    pairs = commit_pairs(searcher, segments, _stored(path.parent, previous))
    if pairs is None or not write_cache(path, key, size, pairs, PAIRS_FILE):
        return None
    return key


def remove_stale_pairs(folder: Path, key: str | None) -> None:
    """Delete the pairs files of other commits' segments (a process still serving one of
    those commits then works its groups out from scratch)."""
    keep = copy_pairs_name(key) if key else None
    for path in folder.glob(PAIRS_FILES):
        if path.name != keep:
            path.unlink(missing_ok=True)


def commit_pairs(
    searcher: Searcher, segments: list[tuple[str, int]], previous: _Previous | None
) -> SegmentArrays | None:
    """The commit's candidate pairs and their agreement, or None when a run is too long
    for them to be every pair sharing a band. With ``previous``, the pairs between its
    segments that the commit kept are carried over and only the documents of other
    segments, with the documents sharing a band with them, are paired anew."""
    signatures, present = signature_matrix(read_var_bytes(searcher, SIGNATURE_COLUMN))
    readers = [leaf.reader() for leaf, _ in searcher.leaf_searchers()]
    present &= live_mask(readers, len(present))
    kept = previous.carried(segments) if previous else None
    if kept is None:
        rows = np.flatnonzero(present)
        kept_first = kept_second = kept_agreeing = np.zeros(0, dtype=np.int64)
    else:
        kept_first, kept_second, kept_agreeing, new = kept
        rows = np.flatnonzero(present & (new | sharing_a_band(signatures, new & present)))
    found = candidate_pairs(signatures, rows)
    if not found.complete:
        return None
    agreeing = agreeing_bytes(signatures, found.first, found.second)
    size = len(signatures)
    codes = np.concatenate([kept_first * size + kept_second, found.first * size + found.second])
    codes, first_seen = np.unique(codes, return_index=True)
    agreement = np.concatenate([kept_agreeing, agreeing])[first_seen]
    return SegmentArrays(
        {
            "first": (codes // size).astype(np.uint32),
            "second": (codes % size).astype(np.uint32),
            "agreeing": agreement.astype(np.uint8),
        },
        {},
    )


def sharing_a_band(signatures: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """The ``seeds`` rows and every row that shares a band with one of them, and perhaps
    a few others: the rows an update must pair anew. Every row's band keys are worked
    out in one pass first (a band at a time read every row's bytes once for each of the
    band's bytes: a second at a million articles)."""
    keys = every_band_key(signatures)
    seed_rows = np.flatnonzero(seeds)
    if len(seed_rows) <= FEW_SEEDS:
        return _sharing_with_few(keys, seed_rows, seeds)
    return _sharing_a_bucket(keys, seeds)


def _sharing_with_few(keys: np.ndarray, seed_rows: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Exactly the rows that share a band with one of a few seeds: every row's band keys
    are compared with each seed's at once."""
    found = seeds.copy()
    for row in seed_rows:
        found |= (keys == keys[row]).any(axis=1)
    return found


def _sharing_a_bucket(keys: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """The rows whose key of some band falls in the bucket of a ``seeds`` row's key: every
    row that shares a band with a seed, and a few others (``versions.key_buckets``)."""
    buckets = key_buckets(len(keys))
    mask = np.uint32(buckets - 1)
    found = seeds.copy()
    for band in range(keys.shape[1]):
        bucketed = keys[:, band] & mask
        taken = np.zeros(buckets, dtype=bool)
        taken[bucketed[seeds]] = True
        found |= taken[bucketed]
    return found


class _Previous:
    """The pairs stored for an earlier commit's segments."""

    def __init__(self, segments: list[tuple[str, int]], pairs: SegmentArrays) -> None:
        self.segments = segments
        self.pairs = pairs

    def carried(
        self, segments: list[tuple[str, int]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(first, second, agreeing) of the pairs both of whose rows are in segments that
        ``segments`` kept, renumbered to them, and the mask of the rows of the others."""
        starts = dict(_starts(segments))
        remap = np.full(sum(count for _, count in self.segments), -1, dtype=np.int64)
        new = np.ones(sum(count for _, count in segments), dtype=bool)
        for (segment, count), old_start in zip(self.segments, _offsets(self.segments), strict=True):
            if (segment, count) in starts:
                start = starts[(segment, count)]
                remap[old_start : old_start + count] = np.arange(start, start + count)
                new[start : start + count] = False
        first = remap[self.pairs.arrays["first"]]
        second = remap[self.pairs.arrays["second"]]
        both = (first >= 0) & (second >= 0)
        agreeing = self.pairs.arrays["agreeing"].astype(np.int64)
        return first[both], second[both], agreeing[both], new


def _starts(segments: list[tuple[str, int]]) -> list[tuple[tuple[str, int], int]]:
    return list(zip(segments, _offsets(segments), strict=True))


def _offsets(segments: list[tuple[str, int]]) -> list[int]:
    """Each segment's first docnum."""
    counts = [count for _, count in segments]
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int).tolist() if counts else []


def _stored(folder: Path, key: str | None) -> _Previous | None:
    """The pairs stored for the segments ``key`` names, if their file is intact."""
    if not key:
        return None
    segments = [_segment(part) for part in key.split(",")]
    size = sum(count for _, count in segments)
    pairs = read_cache(folder / copy_pairs_name(key), key, size, PAIRS, PAIRS_FILE)
    return _Previous(segments, pairs) if pairs is not None else None


def _segment(part: str) -> tuple[str, int]:
    segment_id, count = part.rsplit(":", 1)
    return segment_id, int(count)
