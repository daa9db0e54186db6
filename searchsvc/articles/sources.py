"""From paths to articles: walk directories, pick a reader by file type, stream the results.

The one entry point every later stage uses (``read_articles``), and the pieces a
parallel build needs to split the work (``list_source_files``, ``work_units``,
``read_file``): whole files, and big files of a streaming format cut at record starts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from searchsvc.articles.feeds import (
    is_feed_file,
    keeps_first_entry,
    read_feed,
    split_feed_file,
)
from searchsvc.articles.files import (
    SKIP_UNREADABLE,
    SKIP_UNSUPPORTED,
    FilePart,
    SourceNames,
    WorkUnit,
    file_size,
    split_at_lines,
)
from searchsvc.articles.jsonl import JSONL_SUFFIXES, read_jsonl
from searchsvc.articles.model import Article, IngestReport, SourceFormat
from searchsvc.articles.pages import PAGE_SUFFIXES, read_page
from searchsvc.articles.reuters import REUTERS_SUFFIXES, read_reuters
from searchsvc.articles.wire import SIDECAR_SUFFIX, WIRE_SUFFIXES, is_sidecar, read_wire

Reader = Callable[..., Iterator[Article]]
READERS: dict[SourceFormat, Reader] = {
    "wire": read_wire,
    "jsonl": read_jsonl,
    "reuters": read_reuters,
    "html": read_page,
    "feed": read_feed,
}


#: Formats read a record at a time, whose big files are cut into parts for several
#: workers, and how each is cut.
_SPLITTERS: dict[SourceFormat, Callable[[Path, int], list[FilePart] | None]] = {
    "jsonl": split_at_lines,
    "feed": split_feed_file,
}
STREAMING_FORMATS: frozenset[SourceFormat] = frozenset(_SPLITTERS)
#: Whether a file of a streaming format keeps the first record of an id (a feed lists its
#: newest entry first): its parts are placed in the reading order last to first, since
#: a build keeps the article read last.
_KEEPS_FIRST_RECORD: dict[SourceFormat, Callable[[Path], bool]] = {"feed": keeps_first_entry}
#: Formats whose article, when it names no id of its own, is known by its file's name in
#: its collection (:func:`~searchsvc.articles.files.name_in_sources`).
NAMED_BY_FILE: frozenset[SourceFormat] = frozenset({"wire", "html"})


def source_format(path: Path) -> SourceFormat | None:
    """The reader a file's name calls for; None for files no reader takes."""
    if is_feed_file(path):
        return "feed"
    suffix = path.suffix.lower()
    if suffix in WIRE_SUFFIXES:
        return "wire"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in REUTERS_SUFFIXES:
        return "reuters"
    if suffix in PAGE_SUFFIXES:
        return "html"
    return None


def list_source_files(paths: Sequence[Path]) -> Iterator[Path]:
    """Every file under ``paths`` that may hold articles, in sorted order, each once.

    Directories are walked recursively; a symlinked directory is followed the first time
    its target is reached and never again, so links cannot loop. Hidden entries and
    metadata sidecars are left out. A directory that cannot be listed is yielded as is,
    so that :func:`read_file` reports it instead of it vanishing.
    """
    for path, _status in listed_with_status(paths):
        yield Path(path)


Listed = tuple[str, os.stat_result | None]


def listed_with_status(paths: Sequence[str | Path]) -> Iterator[Listed]:
    """:func:`list_source_files` as strings, each with the status it was listed with (None
    where there was none to have): a watch compares it with its last poll's without
    asking the system again, or making a ``Path``, once per file of a folder that may
    hold a million."""
    seen: set[tuple[int, int]] = set()
    for path in map(str, map(Path, paths)):  # as a Path would write it
        if os.path.isdir(path):
            yield from _walk(path, seen)
        elif not _is_sidecar(path):
            status = _status(path)
            if _first_visit(status, seen):
                yield path, status


def _walk(root: str, seen: set[tuple[int, int]]) -> Iterator[Listed]:
    status = _status(root)
    if not _first_visit(status, seen):
        return
    stack: list[Iterator[os.DirEntry[str]]] = []
    listing = _sorted_entries(root)
    if listing is None:
        yield root, status
        return
    stack.append(listing)
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        if entry.name.startswith("."):
            continue
        path = entry.path
        if _is_dir(entry):
            status = _status(path)
            if not _first_visit(status, seen):
                continue
            listing = _sorted_entries(path)
            if listing is None:
                yield path, status
            else:
                stack.append(listing)
        elif not _is_sidecar(path):
            status = _status(path)
            if _first_visit(status, seen):
                yield path, status


def _is_sidecar(path: str) -> bool:
    """:func:`~searchsvc.articles.wire.is_sidecar`, with a ``Path`` made only for names
    a sidecar may have."""
    return path.lower().endswith(SIDECAR_SUFFIX) and is_sidecar(Path(path))


def _sorted_entries(directory: str) -> Iterator[os.DirEntry[str]] | None:
    try:
        with os.scandir(directory) as entries:
            return iter(sorted(entries, key=lambda entry: entry.name))
    except OSError:
        return None


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:
        return False


def _status(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _first_visit(status: os.stat_result | None, seen: set[tuple[int, int]]) -> bool:
    """True the first time a file or directory (by device and inode) is reached, and for
    one whose status could not be had (its reader reports it)."""
    if status is None:
        return True
    identity = (status.st_dev, status.st_ino)
    if identity in seen:
        return False
    seen.add(identity)
    return True


def work_units(
    files: Iterable[Path], piece_bytes: int | None, roots: Sequence[Path] = ()
) -> list[WorkUnit]:
    """``files`` as units of work, biggest first (so that workers finish together), each
    numbered with its place in the reading order (:attr:`WorkUnit.order`) and named in
    the collection whose folders are ``roots`` (the build's sources; :func:`name_in_sources`).

    Files of a streaming format bigger than ``piece_bytes`` are cut into parts of about
    that size; ``None`` keeps every file whole (for readers that take no parts).
    """
    units: list[WorkUnit] = []
    names = SourceNames(roots)
    for path in files:
        name = names.name(path) if roots else None  # None: a reader of one's own
        reader_format = source_format(path)
        split = _SPLITTERS.get(reader_format) if piece_bytes is not None else None
        parts = split(path, piece_bytes) if split is not None else None
        if parts is None:
            units.append(WorkUnit(str(path), file_size(path), order=len(units), name=name))
            continue
        places = range(len(units), len(units) + len(parts))
        keeps_first = _KEEPS_FIRST_RECORD.get(reader_format)
        if keeps_first is not None and keeps_first(path):
            places = places[::-1]
        units.extend(
            WorkUnit(str(path), p.end - p.start, p, order=place, name=name)
            for place, p in zip(places, parts, strict=True)
        )
    return sorted(units, key=lambda unit: unit.size, reverse=True)


def read_file(
    path: Path,
    report: IngestReport,
    *,
    max_file_bytes: int,
    with_places: bool = True,
    part: FilePart | None = None,
    name: str | None = None,
) -> Iterator[Article]:
    """The articles of one file (or one ``part`` of a streaming one), counted in ``report``.

    Nothing for a metadata sidecar. A file read in parts counts as one file, in the
    report of its first part. ``with_places=False`` skips the gazetteer (for measuring
    the parsing alone). ``name`` is the file's name in its collection
    (:func:`name_in_sources`): a wire story or a saved page that names no id (nor URL) of
    its own is known by it.
    """
    if is_sidecar(path):
        return
    if part is None or part.start == 0:
        report.files += 1
    if path.is_dir():
        report.skip(SKIP_UNREADABLE, str(path))
        return
    reader_format = source_format(path)
    if reader_format is None:
        report.skip(SKIP_UNSUPPORTED, str(path))
        return
    reader = READERS[reader_format]
    options: dict[str, Any] = {} if part is None else {"part": part}  # streaming formats
    if reader_format in NAMED_BY_FILE and name is not None:
        options["name"] = name
    articles = reader(
        path, report, max_file_bytes=max_file_bytes, with_places=with_places, **options
    )
    for article in articles:
        report.count_article(article)
        yield article


def read_articles(
    paths: Sequence[Path],
    report: IngestReport,
    *,
    max_file_bytes: int,
    with_places: bool = True,
    roots: Sequence[Path] = (),
) -> Iterator[Article]:
    """Every article under ``paths``, one at a time; what could not be read is in ``report``.

    A file is named (:func:`name_in_sources`) within the first of ``roots``, then of
    ``paths``, that holds it: ``roots`` are the collection's folders where ``paths`` are a
    part of it being added."""
    names = SourceNames([*roots, *paths])
    for path in list_source_files(paths):
        name = names.name(path)
        yield from read_file(
            path, report, max_file_bytes=max_file_bytes, with_places=with_places, name=name
        )
