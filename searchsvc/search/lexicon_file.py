"""The spelling lexicon of a commit, stored beside its segments when a build writes them.

Reading the words and counts of a million articles' term tables and building the tables
that find close words takes about a second of CPU (``lexicon.py``). Every process that
opens the index paid it: a ``searchsvc search`` with a misspelling, each server worker
after a rebuild was switched to, a first pass over a freshly opened index. A build now
stores the finished arrays in one file, and a reader of the same commit loads them back
in a few tens of milliseconds.

The file is a column cache file (``column_cache.py``): a CRC-32 of all its bytes,
compared at each load, and a header naming the commit's segments (``versions.commit_key``)
and the arrays held. Whoosh's term tables count deleted articles until a merge, so a
commit that only deletes has the same words and counts and reads the same file. A file
that is damaged, cut short or written for other segments or fields is logged and never
used, and so is a missing one (an update's commit, or a generation built by older code):
the words are then read from the term tables, as before. The manifest lists it like the
other files, so opening samples it and full verification compares it whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from whoosh.reading import IndexReader

from searchsvc.index.versions import commit_key, stored_lexicon_name
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
        leaves = [leaf for leaf, _ in reader.leaf_readers()]
        folder = segment_folder(leaves[0]) if leaves else None
        segments = ((leaf.segment().segment_id(), leaf.doc_count_all()) for leaf in leaves)
        self.key = commit_key(segments)
        self.documents = reader.doc_count_all()
        self.path = folder / stored_lexicon_name(self.key) if folder else None


def read_stored_lexicon(reader: IndexReader, names: Sequence[str]) -> dict[str, np.ndarray] | None:
    """The arrays ``names`` of the lexicon stored for the reader's commit, if a file of
    them is there and intact."""
    commit = _Commit(reader)
    if commit.path is None:
        return None
    stored = read_cache(commit.path, commit.key, commit.documents, names, LEXICON_FILE)
    return stored.arrays if stored is not None else None


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
    """Delete the stored lexicons of other commits' segments than the reader's (an update
    that added or merged segments: a process still serving the commit before it then reads
    that commit's words from the term tables)."""
    keep = _Commit(reader).path
    for path in folder.glob(LEXICON_FILES):
        if path != keep:
            path.unlink(missing_ok=True)
