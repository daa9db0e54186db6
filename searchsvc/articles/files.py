"""Reading a source file's bytes safely: every way a file can be unusable becomes a report line.

A build over a user's corpus must not stop on one bad file, and must not lose one
silently either, so each check here ends in :meth:`IngestReport.skip` or ``repair``.
Formats read whole are capped in size; line-based formats stream and can be cut into
:class:`FilePart` pieces at line boundaries, so several workers share one big file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from searchsvc.articles.model import IngestReport
from searchsvc.articles.text import decode_text, looks_binary

SKIP_UNREADABLE = "unreadable file"
SKIP_TOO_LARGE = "file too large"
SKIP_EMPTY = "empty file"
SKIP_BINARY = "binary file"
SKIP_UNSUPPORTED = "unsupported file type"
REPAIR_UNDECODABLE = "undecodable bytes"


def check_size(path: Path, report: IngestReport, *, max_file_bytes: int) -> bool:
    """True when the file exists, is not empty and is within ``max_file_bytes``."""
    try:
        size = path.stat().st_size
    except OSError:
        report.skip(SKIP_UNREADABLE, str(path))
        return False
    if size > max_file_bytes:
        report.skip(SKIP_TOO_LARGE, str(path))
        return False
    if size == 0:
        report.skip(SKIP_EMPTY, str(path))
        return False
    return True


def file_size(path: Path) -> int:
    """The file's size in bytes; 0 when it cannot be read (its reader reports why)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def read_text_bytes(path: Path, report: IngestReport, *, max_file_bytes: int) -> bytes | None:
    """The whole file's bytes when they look like text, or None after reporting why not.

    For formats that decode their own bytes (a web page names its charset inside).
    """
    if not check_size(path, report, max_file_bytes=max_file_bytes):
        return None
    try:
        data = path.read_bytes()
    except OSError:
        report.skip(SKIP_UNREADABLE, str(path))
        return None
    if len(data) > max_file_bytes:  # it grew after the size check
        report.skip(SKIP_TOO_LARGE, str(path))
        return None
    if looks_binary(data):
        report.skip(SKIP_BINARY, str(path))
        return None
    return data


def read_text_file(path: Path, report: IngestReport, *, max_file_bytes: int) -> str | None:
    """The whole file as text, or None after reporting why it cannot be used."""
    data = read_text_bytes(path, report, max_file_bytes=max_file_bytes)
    if data is None:
        return None
    text, repaired = decode_text(data)
    if repaired:
        report.repair(REPAIR_UNDECODABLE, str(path))
    if not text.strip():
        report.skip(SKIP_EMPTY, str(path))
        return None
    return text


_SCAN_BLOCK = 1 << 20


@dataclass(frozen=True)
class FilePart:
    """Bytes ``start`` to ``end`` of a line-based file, cut at line starts.

    ``first_line`` is the line number at ``start``, so records read from a part keep
    the origin (``path:line``) they would have if the whole file were read at once.
    """

    start: int
    end: int
    first_line: int


@dataclass(frozen=True)
class WorkUnit:
    """What one build worker reads at a time: a whole file, or one part of a big one.

    ``order`` is its place in the order the sources are read in (files as listed, a
    file's parts from its start): units are handed out biggest first, and where an id
    repeats, the article read last in that order is the one kept.
    """

    path: str
    size: int
    part: FilePart | None = None
    order: int = 0
    #: The file's name in its collection (see :func:`name_in_sources`); None: its own.
    name: str | None = None

    @property
    def key(self) -> str:
        return self.path if self.part is None else f"{self.path}@{self.part.start}"


def name_in_sources(path: Path, roots: Iterable[Path]) -> str:
    """The file's name in its collection: its path below the first of ``roots`` (source
    folders, in reading order) that holds it, without its extension and with ``/``
    between folders (``2024-03-01/001`` for ``archive/2024-03-01/001.txt`` read from
    ``archive``); a file at the top of that folder, held by none, or given itself, is its
    name without extension (``001``).

    Archives are often kept in dated folders that each number their files from one, so
    the file's name alone would make many stories one. Paths are compared as written,
    then made absolute (relative ones from the working directory), then with links
    resolved: a build and a watch may reach one folder by different names. For many
    files, :class:`SourceNames` gives the same names for less."""
    return SourceNames(roots).name(path)


class SourceNames:
    """:func:`name_in_sources` for the files of one listing: each root's and each
    folder's absolute and resolved paths are worked out once, where resolving the links
    asks the system about every folder on the way (a watch's first poll of 100,000
    stories spent 3.7 CPU s naming them, as many as the folders are few)."""

    def __init__(self, roots: Iterable[Path]) -> None:
        self._roots = [_path_forms(str(root)) for root in roots]
        self._below: dict[str, str | None] = {}

    def name(self, path: Path) -> str:
        """The file's name in the collection (see :func:`name_in_sources`)."""
        folder = str(path.parent)
        if folder in self._below:
            folders = self._below[folder]
        else:
            folders = self._below[folder] = self._folders_below(folder)
        if folders:
            return f"{folders}/{path.stem}"
        return path.stem

    def _folders_below(self, folder: str) -> str | None:
        """The folders between the first root holding ``folder`` and it ("" when that is
        the root itself), None when no root holds it. Compared as strings: a build asks
        this for every file it lists."""
        forms = _path_forms(folder)
        for root in self._roots:
            for written, top in zip(forms, root, strict=True):
                if written == top:
                    return ""
                top = top.rstrip(os.sep) + os.sep
                if written.startswith(top):
                    return written[len(top) :].replace(os.sep, "/")
        return None


def _path_forms(path: str) -> tuple[str, str, str]:
    """``path`` as written, made absolute, and with links resolved (which never raises)."""
    return path, os.path.abspath(path), os.path.realpath(path)


def split_at_lines(path: Path, piece_bytes: int) -> list[FilePart] | None:
    """The file cut into parts of about ``piece_bytes``, each starting at a line start.

    None when the file is not worth cutting (small, unreadable, or only blank lines:
    the one reader of the whole file reports those). One pass over the file counts
    the lines before each cut; reading it again in the workers hits the page cache.
    """
    try:
        size = path.stat().st_size
        if size <= piece_bytes:
            return None
        with path.open("rb") as stream:
            return _cut(stream, size, piece_bytes)
    except OSError:
        return None


def _cut(stream: BinaryIO, size: int, piece_bytes: int) -> list[FilePart] | None:
    parts: list[FilePart] = []
    start, line, has_text = 0, 1, False
    while start < size:
        end = _line_start_after(stream, start + piece_bytes, size)
        newlines, text = _count_lines(stream, start, end)
        parts.append(FilePart(start, end, line))
        line += newlines
        has_text = has_text or text
        start = end
    return parts if has_text and len(parts) > 1 else None


def _line_start_after(stream: BinaryIO, offset: int, size: int) -> int:
    """The first line start at or after ``offset`` (``size`` if none)."""
    if offset >= size:
        return size
    stream.seek(offset - 1)
    position = offset - 1
    while block := stream.read(_SCAN_BLOCK):
        newline = block.find(b"\n")
        if newline >= 0:
            return min(size, position + newline + 1)
        position += len(block)
    return size


def _count_lines(stream: BinaryIO, start: int, end: int) -> tuple[int, bool]:
    """Newlines in bytes ``start`` to ``end``, and whether any of them is not blank."""
    stream.seek(start)
    newlines, has_text, left = 0, False, end - start
    while left > 0 and (block := stream.read(min(_SCAN_BLOCK, left))):
        newlines += block.count(b"\n")
        has_text = has_text or not block.isspace()
        left -= len(block)
    return newlines, has_text


class ReadMark(NamedTuple):
    """How far a line-based file was read: its first ``end`` bytes, which end a line,
    hold ``lines`` lines and have the BLAKE2b ``digest``. While they stay the same, the
    file has only grown, and what follows them can be read alone."""

    end: int
    lines: int
    digest: str

    @classmethod
    def from_json(cls, value: object) -> ReadMark | None:
        """The mark a state file kept (a list), None for anything else."""
        if not isinstance(value, list) or len(value) != 3:
            return None
        end, lines, digest = value
        if not (isinstance(end, int) and isinstance(lines, int) and isinstance(digest, str)):
            return None
        return cls(end, lines, digest)


def _hasher() -> Any:
    return hashlib.blake2b(digest_size=16)


def growth_since(path: Path, mark: ReadMark | None) -> tuple[FilePart, ReadMark]:
    """What of the file ``path`` is still to be read, and its mark now (to read after next
    time): the bytes after ``mark`` when the file's first ``mark.end`` bytes are still
    those marked (it only grew: an export a content system appends to), else all of it.

    One pass over the file, hashing, no parsing. The part ends where the file ends now,
    so a last line without its newline is read; the mark stops before that line, which
    the next read takes again whole. Raises ``OSError`` when the file cannot be read.
    """
    with path.open("rb") as stream:
        hasher = _hasher()
        if mark is None or not _same_start(stream, hasher, mark):
            stream.seek(0)
            hasher, mark = _hasher(), ReadMark(0, 0, "")
        marked, end, lines, position = hasher.copy(), mark.end, mark.lines, mark.end
        while block := stream.read(_SCAN_BLOCK):
            last_newline = block.rfind(b"\n")
            if last_newline < 0:
                hasher.update(block)
            else:
                view = memoryview(block)
                hasher.update(view[: last_newline + 1])
                marked = hasher.copy()
                hasher.update(view[last_newline + 1 :])
                lines += block.count(b"\n")
                end = position + last_newline + 1
            position += len(block)
    return FilePart(mark.end, position, mark.lines + 1), ReadMark(end, lines, marked.hexdigest())


def _same_start(stream: BinaryIO, hasher: Any, mark: ReadMark) -> bool:
    """Whether the stream's first ``mark.end`` bytes have the mark's digest (read into
    ``hasher``, the stream left after them; a shorter file has another digest)."""
    left = mark.end
    while left > 0 and (block := stream.read(min(_SCAN_BLOCK, left))):
        hasher.update(block)
        left -= len(block)
    return hasher.hexdigest() == mark.digest
