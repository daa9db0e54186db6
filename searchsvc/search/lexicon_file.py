"""The spelling lexicon of a commit, stored beside its segments when a build writes them.

Reading the words and counts of a million articles' term tables and building the tables
that find close words takes about a second of CPU (``lexicon.py``). Every process that
opens the index paid it: a ``searchsvc search`` with a misspelling, each server worker
after a rebuild was switched to, a first pass over a freshly opened index. A build now
stores the finished arrays in one file, and a reader of the same commit loads them back
in a few tens of milliseconds.

An update adds segments and stores no lexicon of its own (the tables' rebuilding would
be most of a small update's cost at a million articles). It keeps the file of the
build's segment, which Whoosh keeps too (the merge of small segments moves it among the
others, never into them), and the readers of its commit start from that file and read
only the other segments' term tables (``lexicon._Words.extended``): 0.6-1.1 s at a
million articles where reading every table took 1.7-2.6 s, with the same result array
for array.

The file is a column cache file (``column_cache.py``): a CRC-32 of all its bytes,
compared at each load, and a header naming the commit's segments (``versions.commit_key``)
and the arrays held. Whoosh's term tables count deleted articles until a merge, so a
commit that only deletes has the same words and counts and reads the same file. A file
that is damaged, cut short or written for other segments or fields is logged and never
used, and so is a missing one (a generation built by older code, or one whose build
segment an update merged away): the words are then read from the term tables. The
manifest lists it like the other files, so opening samples it and full verification
compares it whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from whoosh.reading import IndexReader

from searchsvc.index.versions import SegmentRun, commit_key, segment_runs, stored_lexicon_name
from searchsvc.search.column_cache import (
    FileKind,
    SegmentArrays,
    read_cache,
    segment_folder,
    write_cache,
)

LEXICON_FILE = FileKind(
    "the stored spelling lexicon",
    "reading the words from the term tables",
    "each process reads the words from the term tables",
)
#: Stored lexicons are named ``lexicon.<digest>.words`` (``versions.stored_lexicon_name``).
LEXICON_FILES = "lexicon.*.words"


class _Commit:
    """Where the stored lexicon of a reader's commit is, and what its header must name."""

    def __init__(self, reader: IndexReader) -> None:
        self.leaves = [leaf for leaf, _ in reader.leaf_readers()]
        self.folder = segment_folder(self.leaves[0]) if self.leaves else None
        self.segments = [
            (leaf.segment().segment_id(), leaf.doc_count_all()) for leaf in self.leaves
        ]
        self.key = commit_key(self.segments)
        self.documents = reader.doc_count_all()
        self.path = self.folder / stored_lexicon_name(self.key) if self.folder else None

    def runs(self) -> list[SegmentRun]:
        """The runs of this commit's segments that an earlier commit may have held."""
        return segment_runs(self.segments) if self.folder else []


def read_stored_lexicon(reader: IndexReader, names: Sequence[str]) -> dict[str, np.ndarray] | None:
    """The arrays ``names`` of the lexicon stored for the reader's commit, if a file of
    them is there and intact."""
    commit = _Commit(reader)
    if commit.path is None:
        return None
    stored = read_cache(commit.path, commit.key, commit.documents, names, LEXICON_FILE)
    return stored.arrays if stored is not None else None


class EarlierLexicon(NamedTuple):
    """The lexicon stored for a run of a commit's segments, and the segments around it."""

    arrays: dict[str, np.ndarray]
    before: list[IndexReader]
    after: list[IndexReader]


def read_earlier_lexicon(reader: IndexReader, names: Sequence[str]) -> EarlierLexicon | None:
    """The arrays ``names`` of the lexicon stored for the longest run of the reader's
    segments that has one intact (the build's segment, which updates keep), and the
    segments before and after that run; None when there is none."""
    commit = _Commit(reader)
    for run in commit.runs():
        path = commit.folder / stored_lexicon_name(run.key)
        if path.exists():
            stored = read_cache(path, run.key, run.documents, names, LEXICON_FILE)
            if stored is not None:
                leaves = commit.leaves
                return EarlierLexicon(stored.arrays, leaves[: run.start], leaves[run.end :])
    return None


def write_stored_lexicon(reader: IndexReader, arrays: dict[str, np.ndarray]) -> bool:
    """Store ``arrays`` as the lexicon of the reader's commit; False when no file was
    written (an index without a folder, or one that cannot be written: logged)."""
    commit = _Commit(reader)
    if commit.path is None:
        return False
    return write_cache(
        commit.path, commit.key, commit.documents, SegmentArrays(arrays, {}), LEXICON_FILE
    )


def remove_stale_lexicons(folder: Path, reader: IndexReader) -> None:
    """Delete the stored lexicons of segments the reader's commit no longer has (an update
    merged them away). The lexicon of a run of its segments (the build's segment) is kept:
    its readers start from it and read only the other segments' terms."""
    commit = _Commit(reader)
    keep = {stored_lexicon_name(key) for key in [commit.key, *(run.key for run in commit.runs())]}
    for path in folder.glob(LEXICON_FILES):
        if path.name not in keep:
            path.unlink(missing_ok=True)
