"""Reading a generation's big files with every chunk checked the first time it is read.

Opening compares only a few chunks of the term dictionaries, postings and stored
articles (``manifest.py``), so that it stays fast however big the archive. Damage
elsewhere in them must still never turn into a wrong answer: a flipped byte in a term's
record can hide the term or change its inlined postings without Whoosh noticing. So
readers get these files through :class:`CheckedStorage`, which compares each chunk
with its build-time checksum before handing out any of its bytes, once per chunk for
the life of the opened generation; a mismatch raises :class:`ChunkDamaged`, which the
search turns into a full verification and a refused generation (``search/serving.py``).
"""

from __future__ import annotations

import os
import threading
import zlib
from typing import Any

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile

from searchsvc.index.manifest import CHUNK_BYTES, chunk_differs


class ChunkDamaged(OSError):
    """A chunk of an index file does not hold the bytes that were written."""


class CheckedStorage(FileStorage):
    """A read-only file storage whose files with chunk checksums are checked as read."""

    def __init__(self, path: str, chunks: dict[str, list[int]]) -> None:
        super().__init__(path, readonly=True)
        self._chunks = chunks
        #: Per file, which chunks some reader has checked already (shared by all readers).
        self._checked: dict[str, bytearray] = {}
        self._lock = threading.Lock()

    def open_file(self, name: str, **kwargs: Any) -> StructFile:
        expected = self._chunks.get(name)
        if expected is None:
            return super().open_file(name, **kwargs)
        with self._lock:
            checked = self._checked.setdefault(name, bytearray(len(expected)))
        return _CheckedFile(open(self._fpath(name), "rb"), name, expected, checked)


class _CheckedFile(StructFile):
    """Every read goes through :meth:`read`, which checks the chunks it covers first."""

    def __init__(self, fileobj: Any, name: str, expected: list[int], checked: bytearray):
        super().__init__(fileobj, name=name)
        self.is_real = False  # no reads straight from the OS file (``read_array``)
        self._expected = expected
        self._checked = checked

    def read(self, size: int = -1) -> bytes:
        start = self.file.tell()
        return self._checked_bytes(start, self.file.read(size))

    def get(self, position: int, length: int) -> bytes:
        """What Whoosh's term lookups and stored-record reads call, several times per term
        and segment.

        One ``pread``: a seek would throw away the file's read buffer and the read after
        it fill a new one, 8 KiB for the few bytes of a hash slot. ``pread`` also leaves
        the file position alone, so lookups from several threads cannot interleave.

        When the bytes asked for begin or end in a chunk not checked yet, that one read
        reaches out to the chunk's bounds: the chunk is checked in the bytes read and the
        bytes asked for are cut from them, rather than read a second time with the chunk
        (a stored article is a few KiB inside a 64 KiB chunk nobody has read before).
        """
        fileno = self.file.fileno()
        reach = self._reach(position, length)
        if reach is None:  # nothing the build wrote: read as asked
            return self._checked_bytes(position, os.pread(fileno, length, position))
        first, last, start, end = reach
        if self._checked[first] and self._checked[last] and last <= first + 1:
            return os.pread(fileno, length, position)  # usually checked already
        data = os.pread(fileno, end - start, start)
        self._check(first, last, start, data, to_end=len(data) < end - start)
        if start == position and len(data) <= length:
            return data
        return data[position - start : position - start + length]

    def will_need(self, position: int, length: int) -> None:
        """Ask the system to start reading what ``get(position, length)`` will read, and
        return at once: hints for several such reads let the disk serve them together
        rather than one after the other (a page's articles from a cold page cache)."""
        reach = self._reach(position, length)
        if reach is not None:
            _, _, start, end = reach
            os.posix_fadvise(self.file.fileno(), start, end - start, os.POSIX_FADV_WILLNEED)

    def _reach(self, position: int, length: int) -> tuple[int, int, int, int] | None:
        """(first chunk, last chunk, start, end) of the bytes ``position`` to
        ``position + length``: the chunks they touch, and the bytes one read of them
        covers, out to the bounds of the first and the last chunk when not checked yet.
        None when no byte of them lies within what the build wrote."""
        checked = self._checked
        first = position // CHUNK_BYTES
        last = min((position + length - 1) // CHUNK_BYTES, len(checked) - 1)
        if length <= 0 or first > last:
            return None
        start = position if checked[first] else first * CHUNK_BYTES
        end = position + length if checked[last] else (last + 1) * CHUNK_BYTES
        return first, last, start, end

    def _checked_bytes(self, start: int, data: bytes) -> bytes:
        if data:
            first = start // CHUNK_BYTES
            last = (start + len(data) - 1) // CHUNK_BYTES
            if first != last or not self._checked[first]:  # usually checked already
                self._check(first, last, start, data)
        return data

    def _check(
        self, first: int, last: int, start: int, data: bytes, *, to_end: bool = False
    ) -> None:
        """Chunks ``first`` to ``last`` against the build, each one not yet checked.

        A chunk that ``data`` (read from ``start``) holds whole is checked in those very
        bytes: a term's postings span many chunks, and reading each again would double
        the first read of a long list. ``to_end``: ``data`` runs to the end of the file,
        so the file's last, shorter chunk is whole in it when it starts inside.
        """
        view = memoryview(data)
        for index in range(first, last + 1):
            if self._checked[index]:
                continue
            offset = index * CHUNK_BYTES - start
            if offset >= 0 and (offset + CHUNK_BYTES <= len(data) or to_end):
                differs = zlib.crc32(view[offset : offset + CHUNK_BYTES]) != self._expected[index]
            else:
                differs = chunk_differs(self.file.fileno(), index, self._expected[index])
            if differs:
                chunk_start = index * CHUNK_BYTES
                raise ChunkDamaged(
                    f"{self._name} does not hold the bytes that were written "
                    f"(checksum of bytes {chunk_start}-{chunk_start + CHUNK_BYTES - 1} differs)"
                )
            self._checked[index] = 1
