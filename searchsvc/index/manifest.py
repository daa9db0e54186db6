"""Sizes and checksums of a generation's files, so damage is found before it serves.

Every file's CRC-32 is taken when a build has written it, and every file is read again
and compared right before the generation becomes current (:func:`find_damage` with
``full=True``; ``searchsvc index-info --verify`` does the same on demand). Opening, which
must not take longer as the archive grows, checks what is cheap:

* every file of the opened commit is there, with the size that was written (a cut-short
  or missing file is the common damage: a full disk, a copy that stopped, a lost write);
* small files are compared whole: the tables of contents and segment list, and every
  file of a small segment;
* the big files of each segment are sampled: term dictionaries (``.trm``), postings
  (``.pst``), stored articles (``_stored.col``), the other per-document columns (``.col``)
  and the segment's column cache (``.colcache``). Each has a checksum per 64 KiB chunk;
  opening compares the first and last chunks, which hold the headers, hash tables and
  offset tables Whoosh reads first, and two fixed chunks between. The search reads its
  per-document values from the column cache, which holds a checksum of its own that
  every load compares whole (``search/column_cache.py``); it reads the columns
  themselves only to derive a cache again.

Every other chunk of those files is compared the first time a reader touches it
(``checked.py``), so damage that opening did not see fails the query that would have
read it (Whoosh keeps no checksum of its own for term records or inlined postings, so
without this such damage changes answers silently); the search then verifies the
generation in full, marks it damaged and serves the previous one (``search/serving.py``).

The candidate pairs of copies (``search/copy_pairs.py``) and the stored spelling lexicon
(``search/lexicon_file.py``) belong to a commit's segments and are checked with them,
sampled like the big files; so is the lexicon of a run of them (the build's segment, in
an update's commit), which that commit's readers extend.

Whoosh never rewrites a file once written (a commit adds segment files and a new table of
contents), so a manifest in ``meta.json`` stays true for every file it lists; files
written by a commit newer than the manifest are simply not checked.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import Any

from searchsvc.index.generations import META_FILE
from searchsvc.index.versions import (
    commit_key,
    copy_pairs_name,
    segment_runs,
    stored_lexicon_name,
)

_READ_BYTES = 1 << 20
#: The big files are checked in chunks of this size: a few at open, each one again the
#: first time a reader touches it.
CHUNK_BYTES = 1 << 16
#: Chunks compared at open between the first and the last one.
INTERIOR_SAMPLES = 2
#: Files up to this size are always compared whole: a sample would read most of them.
WHOLE_FILE_BYTES = 4 * CHUNK_BYTES
#: Files that are only sampled at open: together nearly all of an index's bytes. (The
#: pairs file and the lexicon are also compared whole, against a checksum of their own,
#: when they are read.)
_SAMPLED_SUFFIXES = (".trm", ".pst", ".col", ".colcache", ".pairs", ".words")


def file_entry(path: Path, chunks: list[int] | None = None) -> list[int]:
    """``[size, crc32]`` of one file; with ``chunks``, the CRC-32 of each of its
    ``CHUNK_BYTES`` chunks is appended to that list in the same read."""
    crc = 0
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_READ_BYTES if chunks is None else CHUNK_BYTES):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
            if chunks is not None:
                chunks.append(zlib.crc32(chunk))
    return [size, crc]


def is_sampled(name: str, size: int) -> bool:
    """Whether opening compares only samples of this file rather than all of it."""
    return size > WHOLE_FILE_BYTES and name.endswith(_SAMPLED_SUFFIXES)


def chunk_checksums(path: Path) -> list[int]:
    """The CRC-32 of each ``CHUNK_BYTES`` chunk of one file (the last may be shorter)."""
    with open(path, "rb") as handle:
        return [zlib.crc32(chunk) for chunk in iter(lambda: handle.read(CHUNK_BYTES), b"")]


def sample_offsets(size: int) -> list[int]:
    """Where the chunks compared at open start: the first, the last and evenly spaced
    ones between (a function of the size alone, which is checked before them)."""
    last = max(0, size - 1) // CHUNK_BYTES
    chunks = {0, last, *(last * step // (INTERIOR_SAMPLES + 1) for step in (1, 2))}
    return [chunk * CHUNK_BYTES for chunk in sorted(chunks)]


def chunk_differs(fd: int, index: int, expected: int) -> bool:
    """Whether chunk ``index`` of the open file ``fd`` no longer has checksum ``expected``."""
    return zlib.crc32(os.pread(fd, CHUNK_BYTES, index * CHUNK_BYTES)) != expected


def build_manifest(
    gen_dir: Path,
    previous: dict[str, list[int]] | None = None,
    chunks: dict[str, list[int]] | None = None,
) -> dict[str, Any]:
    """The manifest of the files now in ``gen_dir``; entries in ``previous`` are reused
    (files never change), so after an update only the new files are read.

    ``chunks``, when given, receives the chunk checksums of each sampled file read, taken
    in the same pass (:func:`build_chunks` then reads only files written since)."""
    previous = previous or {}
    files = {}
    for path in sorted(Path(gen_dir).iterdir()):
        if not path.is_file() or path.name == META_FILE or path.name.startswith("."):
            continue
        entry = previous.get(path.name)
        if entry is None:
            sampled = chunks is not None and is_sampled(path.name, path.stat().st_size)
            checksums: list[int] | None = [] if sampled else None
            entry = file_entry(path, checksums)
            if checksums is not None and chunks is not None:
                chunks[path.name] = checksums
        files[path.name] = entry
    return files


def build_chunks(
    gen_dir: Path, files: dict[str, list[int]], previous: dict[str, list[int]] | None = None
) -> dict[str, list[int]]:
    """Chunk checksums of each sampled file in ``files``."""
    previous = previous or {}
    return {
        name: previous.get(name) or chunk_checksums(Path(gen_dir) / name)
        for name, (size, _crc) in files.items()
        if is_sampled(name, size)
    }


def find_damage(
    gen_dir: Path,
    ix: Any,
    manifest: dict[str, list[int]] | None,
    chunks: dict[str, list[int]] | None = None,
    *,
    full: bool = False,
) -> str | None:
    """What is wrong with the files the opened commit of ``ix`` reads, or ``None``.

    ``full`` compares every byte; otherwise files with recorded chunk checksums are
    compared by a few chunks (a manifest without them, from an older build, whole).
    """
    if not manifest:
        return None
    toc_name = f"_{ix.indexname}_{ix.latest_generation()}.toc"
    newest_listed = max(
        (toc_commit(name) for name in manifest if name.endswith(".toc")), default=-1
    )
    if ix.latest_generation() < newest_listed:
        return f"the table of contents of commit {newest_listed} is missing"
    try:
        segments = ix._segments()
    except FileNotFoundError:  # since it was listed (a newer commit removed it, say)
        return f"{toc_name} is missing"
    prefixes = tuple(f"{ix.indexname}_{segment.segid}." for segment in segments)
    pairs = [(segment.segment_id(), segment.doc_count_all()) for segment in segments]
    key = commit_key(pairs)
    # The lexicon of a run of the segments is read too, by the readers of an update's commit.
    lexicons = [stored_lexicon_name(run.key) for run in segment_runs(pairs)]
    commit_files = (toc_name, copy_pairs_name(key), stored_lexicon_name(key), *lexicons)
    checked = {
        name: entry
        for name, entry in manifest.items()
        if name in commit_files or name.startswith(prefixes)
    }
    for name, (size, _crc) in checked.items():
        problem = _size_problem(Path(gen_dir) / name, size)
        if problem:
            return f"{name} {problem}"
    for name, (size, crc) in checked.items():
        try:
            differs = _content_differs(Path(gen_dir) / name, size, crc, None if full else chunks)
        except FileNotFoundError:  # since its size was checked (a commit removed it, say)
            return f"{name} is missing"
        if differs:
            return f"{name} does not hold the bytes that were written (checksum differs)"
    return None


def _size_problem(path: Path, size: int) -> str | None:
    try:
        actual = path.stat().st_size
    except FileNotFoundError:
        return "is missing"
    return None if actual == size else f"has {actual} bytes, {size} were written"


def _content_differs(path: Path, size: int, crc: int, chunks: dict[str, list[int]] | None) -> bool:
    expected = chunks.get(path.name) if chunks is not None else None
    if expected is None or not is_sampled(path.name, size):
        return file_entry(path)[1] != crc
    fd = os.open(path, os.O_RDONLY)
    try:
        return any(
            chunk_differs(fd, offset // CHUNK_BYTES, expected[offset // CHUNK_BYTES])
            for offset in sample_offsets(size)
        )
    finally:
        os.close(fd)


def latest_commit(gen_dir: Path) -> int:
    """The number of the newest commit in ``gen_dir`` (its table of contents), -1 if none:
    what a reader opening the index now would read."""
    try:
        names = os.listdir(gen_dir)
    except OSError:
        return -1
    return max((toc_commit(name) for name in names if name.endswith(".toc")), default=-1)


def toc_commit(name: str) -> int:
    """The commit number in a table of contents' file name (``_MAIN_12.toc``: 12)."""
    try:
        return int(name.rsplit("_", 1)[1].split(".")[0])
    except (IndexError, ValueError):
        return -1
