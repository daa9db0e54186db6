"""Each segment's derived columns in a file beside the segment, read back at open.

Whoosh never rewrites a segment's files, so what ``columns.py`` derives from them (ids
and their order, key codes, places, length bytes, days) stays true for the segment's
whole life. A build writes one cache file per segment before it takes its manifest (so
the manifest lists it and the verification before the switch reads it), and opening
reads the arrays back with ``np.frombuffer`` instead of deriving them. Segments that
incremental commits add get theirs the first time a searcher loads them.

A cache only saves time, so it never fails a search and never serves a wrong value:
every file carries a CRC-32 of all its bytes after the first 16, compared at each load,
and a header naming its format, its segment, its document count and its arrays. A file
cut short, damaged, of another format or written for another segment is logged, derived
again and rewritten, with the bytes a build writes (the encoding is deterministic, so a
manifest that lists the file stays true). Files are written whole under a temporary name
and renamed into place; a read-only directory or a full disk only means deriving the
columns at each open.

The name holds the segment's id (Whoosh deletes the file with its segment after a merge)
and a digest of the format version and the arrays held, so code that derives other
columns writes a file of another name rather than replacing one a manifest lists.

The stored pairs of copies (``copy_pairs.py``) are files of this format too; the log
names each file by what it holds and says what is done without it (:class:`FileKind`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import struct
import tempfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from whoosh.filedb.filestore import OverlayStorage

log = logging.getLogger(__name__)

#: Bumped whenever what a cache holds changes meaning (how a column is derived).
FORMAT_VERSION = 1
SUFFIX = ".colcache"
_MAGIC = b"svccols\n"
#: Magic, header length, CRC-32 of everything after these 16 bytes.
_PREFIX = struct.Struct("<8sII")
#: Arrays start at multiples of this, so ``np.frombuffer`` views are aligned.
_ALIGN = 8


@dataclass
class SegmentArrays:
    """One segment's derived columns: named arrays over its documents, and key lists."""

    arrays: dict[str, np.ndarray]
    keys: dict[str, list[str]]


class CacheUnusable(Exception):
    """A cache file that must not be used: why, in words for the log."""


@dataclass(frozen=True)
class FileKind:
    """How the log speaks of one kind of file in this format: what it holds, and what
    is done when it cannot be read or written."""

    holds: str
    unread: str
    unwritten: str


#: The column caches' own wording; other files of this format pass theirs.
COLUMN_CACHE = FileKind(
    "the column cache", "deriving the columns again", "it is derived at each open"
)


def cache_name(segment_id: str, names: Sequence[str]) -> str:
    """The file name of a segment's cache holding the arrays ``names``."""
    layout = json.dumps([FORMAT_VERSION, sorted(names)]).encode("utf-8")
    return f"{segment_id}.{zlib.crc32(layout):08x}{SUFFIX}"


def segment_folder(reader: Any) -> Path | None:
    """The folder a segment reader's files are in (a compound segment's too), if any."""
    storage = reader.storage()
    if isinstance(storage, OverlayStorage):
        storage = storage.b  # a compound segment: its index's folder is the second one
    folder = getattr(storage, "folder", None)
    return Path(folder) if folder else None


def load_or_derive(
    reader: Any, names: Sequence[str], derive: Callable[[Any], SegmentArrays]
) -> SegmentArrays:
    """A segment's arrays from its cache file, or ``derive(reader)`` (then cached)."""
    folder = segment_folder(reader)
    if folder is None:
        return derive(reader)
    segment_id = reader.segment().segment_id()
    count = reader.doc_count_all()
    path = folder / cache_name(segment_id, names)
    cached = read_cache(path, segment_id, count, names)
    if cached is not None:
        return cached
    derived = derive(reader)
    write_cache(path, segment_id, count, derived)
    return derived


def read_cache(
    path: Path,
    segment_id: str,
    count: int,
    names: Sequence[str],
    kind: FileKind = COLUMN_CACHE,
) -> SegmentArrays | None:
    """The arrays in ``path`` if it is an intact cache of this segment, else ``None``."""
    try:
        with open(path, "rb") as handle:
            # Not zero-filled first (as a bytearray is): a third of the time of a load.
            data = np.empty(os.fstat(handle.fileno()).st_size, dtype=np.uint8)
            data = data[: handle.readinto(data)]  # a file that shrank meanwhile: shorter
    except FileNotFoundError:
        return None
    except OSError as error:
        log.warning("cannot read %s %s (%s); %s", kind.holds, path, error, kind.unread)
        return None
    try:
        return decode(data, segment_id, count, names)
    except CacheUnusable as problem:
        log.warning("%s %s %s; %s", kind.holds, path, problem, kind.unread)
        return None


def write_cache(
    path: Path,
    segment_id: str,
    count: int,
    segment: SegmentArrays,
    kind: FileKind = COLUMN_CACHE,
) -> bool:
    """Write ``segment`` to ``path`` atomically; False (and logged) when it cannot be."""
    temp = None
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)
            for piece in encode(segment_id, count, segment):
                handle.write(piece)
        os.replace(temp, path)
        return True
    except OSError as error:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        log.info("cannot write %s %s (%s); %s", kind.holds, path, error, kind.unwritten)
        return False


def encode(segment_id: str, count: int, segment: SegmentArrays) -> Iterator[bytes]:
    """The file's bytes in pieces: prefix, header, then each array (little-endian, aligned)."""
    arrays = {
        name: np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        for name, array in sorted(segment.arrays.items())
    }
    layout, offset = {}, 0
    for name, array in arrays.items():
        layout[name] = [array.dtype.str, len(array), offset]
        offset += _padded(array.nbytes)
    header = json.dumps(
        {
            "format": FORMAT_VERSION,
            "segment": segment_id,
            "documents": count,
            "arrays": layout,
            "keys": segment.keys,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode("utf-8")
    pieces = [header, bytes(_padded(_PREFIX.size + len(header)) - _PREFIX.size - len(header))]
    for array in arrays.values():
        pieces += [array.tobytes(), bytes(_padded(array.nbytes) - array.nbytes)]
    crc = 0
    for piece in pieces:
        crc = zlib.crc32(piece, crc)
    yield _PREFIX.pack(_MAGIC, len(header), crc)
    yield from pieces


def decode(
    data: bytearray | np.ndarray, segment_id: str, count: int, names: Sequence[str]
) -> SegmentArrays:
    """The arrays of a cache file's bytes, as views of them; :class:`CacheUnusable` if the
    bytes are not intact or not this segment's cache of these arrays."""
    if len(data) < _PREFIX.size:
        raise CacheUnusable(f"is cut short ({len(data)} bytes)")
    magic, header_bytes, crc = _PREFIX.unpack_from(data)
    if magic != _MAGIC:
        raise CacheUnusable("is not a column cache")
    if zlib.crc32(memoryview(data)[_PREFIX.size :]) != crc:
        raise CacheUnusable("does not hold the bytes that were written (checksum differs)")
    try:
        header = json.loads(bytes(data[_PREFIX.size : _PREFIX.size + header_bytes]))
        _check_header(header, segment_id, count, names)
        base = _padded(_PREFIX.size + header_bytes)
        arrays = {
            name: np.frombuffer(data, dtype=np.dtype(dtype), count=length, offset=base + offset)
            for name, (dtype, length, offset) in header["arrays"].items()
        }
        keys = dict(header["keys"])
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise CacheUnusable(f"has a header this version cannot read ({error})") from error
    return SegmentArrays(arrays, keys)


def _check_header(header: dict, segment_id: str, count: int, names: Sequence[str]) -> None:
    if header.get("format") != FORMAT_VERSION:
        raise CacheUnusable(
            f"has format {header.get('format')}, this version reads {FORMAT_VERSION}"
        )
    if header.get("segment") != segment_id:
        raise CacheUnusable(f"was written for segment {header.get('segment')}, not {segment_id}")
    if header.get("documents") != count:
        raise CacheUnusable(f"holds {header.get('documents')} documents, the segment {count}")
    if sorted(header["arrays"]) != sorted(names):
        raise CacheUnusable(f"holds the arrays {sorted(header['arrays'])}, not {sorted(names)}")


def _padded(size: int) -> int:
    return -(-size // _ALIGN) * _ALIGN
