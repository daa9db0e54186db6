"""Merging the segments of a freshly built generation into one.

A build writes many segments (each worker closes one every few million postings), and
every term a query meets for the first time is then looked up and decoded in each of
them. Whoosh's own merge (``commit(optimize=True)``) re-adds every posting and every
stored document through Python calls, which takes longer than the build itself at a
million articles.

Here the segments are laid end to end instead: the merged segment's documents are the
first segment's, then the second's, and so on, so a term's postings are each segment's
postings with the segment's first docnum added. Postings blocks are copied whole (a
block's first and last id are in its header and the rest are gaps, so only the header
changes), rare terms stored inside their term records are concatenated, and columns
(stored fields, field lengths, sort columns) are appended document by document: stored
records keep their compressed bytes, and the segments' preset dictionaries are joined
into one table (``searchsvc.index.stored``). Nothing is analysed again and no field
format is interpreted, so any field of searchsvc's codec (``CompactCodec``) merges.

Fields are merged in worker processes, each writing its postings and term records to
its own part files; the final pass appends the parts into the segment's ``.pst`` and
``.trm`` files, shifting the postings offsets in the term records. Deleted documents
stay deleted: their docnums move with their segment into the merged one's deletion set.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from heapq import merge as merge_sorted
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import (
    LENGTHS_COLUMN,
    STORED_COLUMN,
    W3Codec,
    W3PerDocWriter,
    W3Segment,
    W3TermInfo,
)
from whoosh.columns import CompressedBytesColumn, NumericColumn, VarBytesColumn, WrappedColumn
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, clean_files
from whoosh.system import pack_ushort

from searchsvc.index.codec import (
    BLOCK_MAGIC,
    COMPACT_INLINE,
    CompactCodec,
    CompactTermInfo,
    EncodedPostings,
    block_starts,
    decode_postings,
    encode_block,
    encode_postings,
    float32,
    join_postings,
    shifted_blocks,
    write_block,
)
from searchsvc.index.doccolumns import BulkColumnWriter, buffered_column
from searchsvc.index.segments import COMPRESS_FROM, INLINE_LIMIT
from searchsvc.index.stored import DICTIONARY_EXT, join_dictionary_tables
from searchsvc.index.termtable import TermTable
from searchsvc.index.workers import exit_when_orphaned

#: The column of stored fields, whatever the schema.
STORED = "_stored"
#: Postings per block, as Whoosh's W3 codec writes them.
BLOCK_LIMIT = 128
_RECORD_HEADER = struct.Struct("!HI")
#: A term record's statistics (``W3TermInfo``): inlined?, weight, doc frequency, min and
#: max length bytes, max weight, first and last docnum; then the inlined postings
#: pickled, or the postings' offset and length in the ``.pst`` file.
_TERM_INFO = W3TermInfo._struct
_EXTENT = struct.Struct("!qi")
#: The term's first and last docnum, the record statistics' last two fields.
_RECORD_IDS = struct.Struct("!II")
_RECORD_IDS_AT = _TERM_INFO.size - _RECORD_IDS.size
#: A postings block: its signed length (negative for the term's last block), then its
#: header (the codec's ``<HIIfBBB``), whose first and last docnum follow the count.
_BLOCK_LENGTH = struct.Struct("!i")
_BLOCK_IDS = struct.Struct("<II")
_BLOCK_IDS_AT = struct.calcsize("<H")
#: A record's key and value lengths in Whoosh's hash files.
_KEY_LENGTHS = struct.Struct("!ii")
#: Whole-number type codes of ``struct``, whose numeric columns are read in one piece.
_WHOLE_NUMBERS = frozenset("bBhHiIlLqQ")
#: Bytes of a term table read at a time, and term records gathered for one write.
READ_BYTES = 1 << 20
RECORDS_PER_WRITE = 4096


class MergeNotSupported(ValueError):
    """The segments use something this merge does not copy (term vectors, another codec)."""


@dataclass(frozen=True)
class MergeResult:
    """What a merge did: how many segments went in and how many documents came out."""

    segments_before: int
    doc_count: int
    deleted: int


def merge_index(
    storage: FileStorage, indexname: str, *, procs: int = 1, compression: int = 3
) -> MergeResult:
    """Replace the segments of ``indexname`` in ``storage`` by one, in a new TOC generation.

    ``procs`` worker processes merge fields side by side (1: all in this process).
    ``compression``: zlib level of blocks made from inlined postings that outgrow their
    term record. The old segments' files are removed once the new TOC is written.
    """
    ix = storage.open_index(indexname)
    schema = ix.schema
    segments = ix._segments()
    _check_mergeable(schema, segments)
    doc_count = sum(segment.doc_count_all() for segment in segments)
    if len(segments) < 2:
        return MergeResult(len(segments), doc_count, sum(s.deleted_count() for s in segments))
    merged = W3Segment(
        CompactCodec(compression=compression),
        indexname,
        doccount=doc_count,
        deleted=_deleted(segments),
    )
    merged._fieldlengths = _field_lengths(segments)
    fields = _indexed_fields(storage, segments)
    work_dir = Path(tempfile.mkdtemp(prefix=f"{indexname}.merge.", dir=storage.folder))
    try:
        with _job_runner(procs) as submit:
            columns = submit(_merge_columns, storage.folder, indexname, merged.segid)
            parts = [
                submit(_merge_field, storage.folder, indexname, name, str(work_dir), compression)
                for name in fields
            ]
            # Each field's part is appended as soon as it and those before it are done,
            # while the pool still merges the others.
            _assemble_terms(storage, merged, fields, work_dir, parts)
            columns.result()
        _join_dictionaries(storage, segments, merged)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    generation = ix.latest_generation() + 1
    TOC(schema, [merged], generation).write(storage, indexname)
    clean_files(storage, indexname, generation, [merged])
    return MergeResult(len(segments), doc_count, merged.deleted_count())


def _check_mergeable(schema: Any, segments: list) -> None:
    vectored = sorted(name for name, field in schema.items() if field.vector)
    if vectored:
        raise MergeNotSupported(f"fields with term vectors cannot be merged: {vectored}")
    foreign = {type(segment).__name__ for segment in segments} - {"W3Segment"}
    if foreign or any(segment.is_compound() for segment in segments):
        raise MergeNotSupported("only separate-file W3 segments can be merged")
    if any(type(segment.codec()) is not CompactCodec for segment in segments):
        raise MergeNotSupported("only segments written by searchsvc's CompactCodec can be merged")


def _deleted(segments: list) -> set[int] | None:
    deleted: set[int] = set()
    for offset, segment in zip(_offsets(segments), segments, strict=True):
        deleted.update(offset + docnum for docnum in segment.deleted_docs())
    return deleted or None


def _offsets(segments: list) -> list[int]:
    """Each segment's first docnum in the merged segment."""
    offsets, total = [], 0
    for segment in segments:
        offsets.append(total)
        total += segment.doc_count_all()
    return offsets


def _field_lengths(segments: list) -> dict[str, int]:
    totals: dict[str, int] = {}
    for segment in segments:
        for name, length in segment._fieldlengths.items():
            totals[name] = totals.get(name, 0) + length
    return totals


def _indexed_fields(storage: FileStorage, segments: list) -> list[str]:
    """Fields with terms in any segment, in the order the merged segment numbers them."""
    codec = W3Codec()
    names: set[str] = set()
    for segment in segments:
        reader = codec.terms_reader(storage, segment)
        names.update(reader.indexed_field_names())
        reader.close()
    return sorted(names)


@contextlib.contextmanager
def _job_runner(procs: int) -> Iterator[Callable[..., Future]]:
    """A ``submit(function, *args)`` running jobs in a pool of ``procs`` processes
    (forking only an unthreaded process; each ends once this process has), or here, one
    by one, for one process."""
    if procs <= 1:
        yield _run_here
        return
    method = "fork" if threading.active_count() == 1 else "spawn"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(
        max_workers=procs,
        mp_context=context,
        initializer=exit_when_orphaned,
        initargs=(os.getpid(),),
    ) as pool:
        try:
            yield pool.submit
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


def _run_here(function: Callable[..., Any], *args: Any) -> Future:
    done: Future = Future()
    done.set_result(function(*args))
    return done


def _open_segments(folder: str, indexname: str) -> tuple[FileStorage, Any, list]:
    storage = FileStorage(folder)
    ix = storage.open_index(indexname)
    return storage, ix.schema, ix._segments()


# Columns: stored fields, field lengths and sort columns, appended document by document.


def _merge_columns(folder: str, indexname: str, segid: str) -> None:
    storage, schema, segments = _open_segments(folder, indexname)
    codec = W3Codec()
    merged = W3Segment(codec, indexname, segid=segid)
    writer = W3PerDocWriter(codec, storage, merged)
    readers = [codec.per_document_reader(storage, segment) for segment in segments]
    offsets = _offsets(segments)
    try:
        for name in _column_names(storage, segments):
            raw = _raw_column(_column_type(schema, name))
            if name == STORED:  # the writer starts with this column: keep its file only
                stored_file = writer._colwriters[STORED]._child._dbfile
                target = writer._colwriters[STORED] = BulkColumnWriter(raw, stored_file)
            else:
                target = buffered_column(writer, name, raw)
            for reader, offset in zip(readers, offsets, strict=True):
                if reader.has_column(name):
                    values = _column_values(reader.column_reader(name, raw), raw)
                    target.add_many(range(offset, offset + len(values)), values)
        writer._doccount = sum(segment.doc_count_all() for segment in segments)
        writer._indoc = None  # nothing to finish: no document was started
        writer.close()
    finally:
        for reader in readers:
            reader.close()


def _column_names(storage: FileStorage, segments: list) -> list[str]:
    """The columns any of the segments has (``NAME`` of each ``SEGMENT.NAME.col`` file)."""
    names = set()
    for segment in segments:
        prefix = segment.segment_id() + "."
        for filename in segment.list_files(storage):
            if filename.endswith(W3Codec.COLUMN_EXT):
                names.add(filename[len(prefix) : -len(W3Codec.COLUMN_EXT)])
    return sorted(names)


def _column_type(schema: Any, name: str) -> Any:
    """How the W3 codec writes the column ``name`` of ``schema``."""
    if name == STORED:
        return STORED_COLUMN
    if name.startswith("_") and name.endswith("_len"):
        return LENGTHS_COLUMN
    if name in schema and schema[name].column_type is not None:
        return schema[name].column_type
    raise MergeNotSupported(f"unknown column {name!r} (term vectors?) cannot be merged")


def _raw_column(column: Any) -> Any:
    """The column type that reads and writes ``column``'s bytes as they lie on disk.

    Pickled and compressed columns are copied as their stored bytes: unpickling and
    compressing again would give the same bytes back, slowly.
    """
    while isinstance(column, WrappedColumn):
        column = column._child
    if isinstance(column, CompressedBytesColumn):
        return VarBytesColumn()
    return column


def _column_values(reader: Any, column: Any) -> list:
    """Every document's value in one segment's ``column``, read in one piece where its
    layout is plain: variable bytes end to end, or whole numbers big-endian (with the
    trailing documents that hold the default left off)."""
    if type(column) is VarBytesColumn:
        lengths = np.asarray(reader._lengths, dtype=np.int64)
        data = reader._dbfile.get(reader._basepos, int(lengths.sum()))
        ends = np.cumsum(lengths)
        return [
            data[start:end]
            for start, end in zip((ends - lengths).tolist(), ends.tolist(), strict=True)
        ]
    if type(column) is NumericColumn and column._typecode in _WHOLE_NUMBERS:
        code = column._typecode
        dtype = np.dtype(f">{'u' if code.isupper() else 'i'}{struct.calcsize('!' + code)}")
        numbers = np.full(reader._doccount, column._default, dtype=dtype)
        stored = reader._dbfile.get(reader._basepos, reader._count * dtype.itemsize)
        numbers[: reader._count] = np.frombuffer(stored, dtype=dtype)
        return numbers.tolist()
    return list(reader)


# Terms and postings, one field per job.


def _merge_field(folder: str, indexname: str, fieldname: str, work_dir: str, level: int) -> None:
    """Write ``fieldname``'s merged postings and term records to part files in ``work_dir``."""
    storage, schema, segments = _open_segments(folder, indexname)
    readers = [segment.codec().terms_reader(storage, segment) for segment in segments]
    fmt = schema[fieldname].format
    merger = _TermMerger(fmt.fixed_value_size(), level)
    base = Path(work_dir) / fieldname
    try:
        with open(f"{base}.pst", "wb") as postings, open(f"{base}.terms", "wb") as records:
            merger.postings = postings
            sources = [
                _field_items(reader, fieldname, offset, number)
                for number, (reader, offset) in enumerate(
                    zip(readers, _offsets(segments), strict=True)
                )
            ]
            pending: list[bytes] = []
            for btext, pieces in groupby(merge_sorted(*sources), key=itemgetter(0)):
                parts = [(readers[n]._postfile, offset, value) for _, n, offset, value in pieces]
                record = merger.merge_term(parts)
                pending += (_RECORD_HEADER.pack(len(btext), len(record)), btext, record)
                if len(pending) >= RECORDS_PER_WRITE:
                    records.write(b"".join(pending))
                    pending.clear()
            records.write(b"".join(pending))
    finally:
        for reader in readers:
            reader.close()


def _field_items(
    reader: Any, fieldname: str, offset: int, number: int
) -> Iterator[tuple[bytes, int, int, bytes]]:
    """One segment's ``(term, segment number, docnum offset, term record)`` of a field, in order."""
    fieldid = reader._fieldmap.get(fieldname)
    if fieldid is None:
        return
    prefix = pack_ushort(fieldid)
    start = reader._tindex.closest_key_pos(prefix)
    if start is None:
        return
    for key, value in _table_records(reader._tindex, start):
        if not key.startswith(prefix):
            return
        yield key[2:], number, offset, value


def _table_records(table: Any, start: int) -> Iterator[tuple[bytes, bytes]]:
    """The ``(key, value)`` records of an ordered hash file from the one at ``start`` on:
    they lie one after another up to its hash tables. Read a large piece at a time,
    where the reader's ``items_from`` makes three file reads per record."""
    return _packed_records(table.dbfile.get, start, table.endofdata, _KEY_LENGTHS)


def _packed_records(
    read_at: Callable[[int, int], bytes], start: int, end: int, header: struct.Struct
) -> Iterator[tuple[bytes, bytes]]:
    """Records of a key length and a value length (``header``), the key, then the value,
    from ``start`` to ``end`` of a file that ``read_at(position, size)`` reads."""
    data, at, position = b"", 0, start
    while position < end:
        if at + header.size > len(data):
            data, at = read_at(position, min(READ_BYTES, end - position)), 0
        key_length, value_length = header.unpack_from(data, at)
        size = header.size + key_length + value_length
        if at + size > len(data):
            data, at = read_at(position, min(max(READ_BYTES, size), end - position)), 0
        key_end = at + header.size + key_length
        yield data[at + header.size : key_end], data[key_end : at + size]
        at += size
        position += size


class _TermMerger:
    """Merges one term's records from several segments into one record (and postings).

    Term records are read and written as their packed bytes (``W3TermInfo``'s layout):
    most terms occur in one segment only, and objects per record would cost more than
    the rest of the merge.
    """

    def __init__(self, fixed_value_size: int | None, level: int) -> None:
        self.fixed_value_size = fixed_value_size
        # As the bulk writer does: value-less postings are never inlined.
        self.inline_limit = INLINE_LIMIT if fixed_value_size != 0 else 0
        self.level = level
        self.postings: Any = None

    def merge_term(self, parts: list[tuple[Any, int, bytes]]) -> bytes:
        if len(parts) == 1 and parts[0][2][0] in (0, COMPACT_INLINE):
            return self._moved(*parts[0])
        heads = [_TERM_INFO.unpack_from(record) for _, _, record in parts]
        flags, weights, counts, shortest, longest, top_weights, _, _ = zip(*heads, strict=True)
        df = sum(counts)
        stats = (
            sum(weights),
            df,
            min(shortest),
            max(longest),
            max(top_weights),
            parts[0][1] + heads[0][6],
            parts[-1][1] + heads[-1][7],
        )
        if not any(flags):
            runs = [(_extent(postfile, record), offset) for postfile, offset, record in parts]
            return _TERM_INFO.pack(False, *stats) + self._write_runs(runs)
        if df < self.inline_limit and flags.count(COMPACT_INLINE) == len(flags):
            return _TERM_INFO.pack(COMPACT_INLINE, *stats) + _joined_inlined(parts, heads, stats[4])
        if df < self.inline_limit and all(flags):
            pending = _PendingBlock()
            for (_, offset, record), head in zip(parts, heads, strict=True):
                pending.add(record, head, offset)
            postings = encode_postings(
                pending.ids, pending.weights, pending.values, None, float32(stats[4])
            )
            return _TERM_INFO.pack(COMPACT_INLINE, *stats) + postings
        start = self.postings.tell()
        self.postings.write(BLOCK_MAGIC)
        blocks = _BlockQueue(self.postings)
        pending = _PendingBlock()
        for (postfile, offset, record), head in zip(parts, heads, strict=True):
            if head[0]:
                pending.add(record, head, offset)
                if len(pending.ids) >= BLOCK_LIMIT:
                    blocks.put(*pending.encode(self.fixed_value_size, self.level))
                    pending = _PendingBlock()
                continue
            if pending.ids:
                blocks.put(*pending.encode(self.fixed_value_size, self.level))
                pending = _PendingBlock()
            for info_bytes, data in _shifted_blocks(postfile, record, offset):
                blocks.put(info_bytes, data)
        if pending.ids:
            blocks.put(*pending.encode(self.fixed_value_size, self.level))
        blocks.close()
        extent = _EXTENT.pack(start, self.postings.tell() - start)
        return _TERM_INFO.pack(False, *stats) + extent

    def _moved(self, postfile: Any, offset: int, record: bytes) -> bytes:
        """The record of a term found in one segment, its docnums moved by ``offset``.

        Nothing changes but the first and last docnum, in the record and in each block
        header: inlined postings hold gaps and weights relative to the term's maximum.
        """
        if offset:
            first, last = _RECORD_IDS.unpack_from(record, _RECORD_IDS_AT)
            moved = _RECORD_IDS.pack(first + offset, last + offset)
            record = record[:_RECORD_IDS_AT] + moved + record[_TERM_INFO.size :]
        if record[0]:
            return record
        extent = self._write_runs([(_extent(postfile, record), offset)])
        return record[: _TERM_INFO.size] + extent

    def _write_runs(self, runs: list[tuple[bytes, int]]) -> bytes:
        """Segments' postings of one term (each ``(postings, docnum offset)``) written end
        to end as the merged term's; its extent in the merged postings."""
        start = self.postings.tell()
        self.postings.write(BLOCK_MAGIC)
        for number, (postings, offset) in enumerate(runs):
            self.postings.write(_moved_blocks(postings, offset, last=number == len(runs) - 1))
        return _EXTENT.pack(start, self.postings.tell() - start)


def _joined_inlined(
    parts: list[tuple[Any, int, bytes]], heads: list[tuple], max_weight: float
) -> bytes:
    """One term's postings inlined in each segment's record (this codec's encoding), joined
    into the merged record's: gaps and values kept as they are, docnums moved by each
    segment's offset."""
    pieces = [
        EncodedPostings(record[_TERM_INFO.size :], head[2], offset + head[6], head[5])
        for (_, offset, record), head in zip(parts, heads, strict=True)
    ]
    return join_postings(pieces, None, float32(max_weight))


def _extent(postfile: Any, record: bytes) -> bytes:
    """The postings a term record points to."""
    return postfile.get(*_EXTENT.unpack_from(record, _TERM_INFO.size))


def _moved_blocks(postings: bytes, offset: int, *, last: bool) -> bytes | bytearray:
    """One segment's postings blocks of a term, as they lie in the merged run: ``offset``
    added to the first and last docnum of each header (the rest of a block is gaps from
    the first), and, unless they are the run's ``last``, no longer ending the term.

    Blocks that stay as they are (the first segment's, ending the run) are not walked:
    their start is checked, as a reader checks it."""
    if not offset and last:
        if postings[: len(BLOCK_MAGIC)] != BLOCK_MAGIC:
            raise ValueError(f"postings start with {postings[:4]!r}, not {BLOCK_MAGIC!r}")
        return postings[len(BLOCK_MAGIC) :]
    starts, _ = block_starts(postings)
    blocks = bytearray(postings)
    if offset:
        for start in starts:
            first, final = _BLOCK_IDS.unpack_from(blocks, start + _BLOCK_IDS_AT)
            _BLOCK_IDS.pack_into(blocks, start + _BLOCK_IDS_AT, first + offset, final + offset)
    if not last:
        at = starts[-1] - _BLOCK_LENGTH.size
        (length,) = _BLOCK_LENGTH.unpack_from(blocks, at)
        _BLOCK_LENGTH.pack_into(blocks, at, -length)
    return blocks[len(BLOCK_MAGIC) :]


class _PendingBlock:
    """Inlined postings of several segments gathered into one list or postings block."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.weights: list[float] = []
        self.values: list[bytes] = []
        self.minlength = 255
        self.maxlength = 0

    def add(self, record: bytes, head: tuple, offset: int) -> None:
        if record[0] == COMPACT_INLINE:  # the arrays as they lie, without a term info
            df = head[2]
            raw = decode_postings(record[_TERM_INFO.size :], df, head[6], head[5], None)
            ids, weights, values = raw.ids(), raw.weights(df), raw.values(df, None)
        else:  # Whoosh's own inlined postings
            ids, weights, values = CompactTermInfo.from_bytes(record).inlined_postings()
        self.ids.extend([offset + docnum for docnum in ids] if offset else ids)
        self.weights.extend(weights)
        self.values.extend(values)
        # Term-wide length bounds (as length bytes): never tighter than the block's own,
        # so still safe for skipping by score.
        self.minlength = min(self.minlength, head[3])
        self.maxlength = max(self.maxlength, head[4])

    def encode(self, fixed_value_size: int | None, level: int) -> tuple[bytes, bytes]:
        """The block's header and data, as the codec's postings writer writes them."""
        comp = level if len(self.ids) >= COMPRESS_FROM else 0
        lengths = (self.minlength, self.maxlength)
        return encode_block(self.ids, self.weights, self.values, fixed_value_size, lengths, comp)


def _shifted_blocks(postfile: Any, record: bytes, offset: int) -> Iterator[tuple[bytes, bytes]]:
    """A segment's postings blocks of one term, with ``offset`` added to their docnums."""
    start, length = _EXTENT.unpack_from(record, _TERM_INFO.size)
    return shifted_blocks(postfile.get(start, length), offset)


class _BlockQueue:
    """Writes blocks one behind, so that the term's last block gets its negative length."""

    def __init__(self, postings: Any) -> None:
        self.postings = postings
        self.held: tuple[bytes, bytes] | None = None

    def put(self, info_bytes: bytes, data: bytes) -> None:
        if self.held is not None:
            self._write(*self.held, last=False)
        self.held = (info_bytes, data)

    def close(self) -> None:
        if self.held is not None:
            self._write(*self.held, last=True)
            self.held = None

    def _write(self, info_bytes: bytes, data: bytes, *, last: bool) -> None:
        write_block(self.postings, info_bytes, data, last=last)


# The final pass: the fields' parts appended into the merged segment's term files.


def _assemble_terms(
    storage: FileStorage, merged: W3Segment, fields: list[str], work_dir: Path, parts: list
) -> None:
    """The fields' part files appended in order into the merged ``.trm`` and ``.pst``,
    each once its job (``parts``, futures in the order of ``fields``) is done."""
    terms = TermTable(merged.create_file(storage, W3Codec.TERMS_EXT))
    terms.extras["fieldmap"] = {}
    postings = merged.create_file(storage, W3Codec.POSTS_EXT)
    try:
        for fieldname, part in zip(fields, parts, strict=True):
            part.result()
            _append_field(terms, postings, work_dir, fieldname)
    except BaseException:
        terms.dbfile.close()  # not terms.close(): no hash tables for a failed merge
        raise
    finally:
        postings.close()
    terms.close()


def _append_field(terms: TermTable, postings: Any, work_dir: Path, fieldname: str) -> None:
    """One field's part files appended, its postings offsets shifted by where they land."""
    records = _read_records(work_dir / f"{fieldname}.terms")
    first = next(records, None)
    if first is None:
        return
    fieldmap = terms.extras["fieldmap"]
    prefix = pack_ushort(fieldmap.setdefault(fieldname, len(fieldmap)))
    shift = postings.tell()
    with open(work_dir / f"{fieldname}.pst", "rb") as part_postings:
        shutil.copyfileobj(part_postings, postings, 1 << 20)
    keys: list[bytes] = []
    shifted: list[bytes] = []
    for btext, record in _chain_first(first, records):
        keys.append(prefix + btext)
        shifted.append(_shift_record(record, shift))
        if len(keys) >= RECORDS_PER_WRITE:
            terms.add_many(keys, shifted)
            keys, shifted = [], []
    terms.add_many(keys, shifted)


def _read_records(path: Path) -> Iterator[tuple[bytes, bytes]]:
    with open(path, "rb") as records:
        fd = records.fileno()

        def read_at(position: int, size: int) -> bytes:
            return os.pread(fd, size, position)

        yield from _packed_records(read_at, 0, os.fstat(fd).st_size, _RECORD_HEADER)


def _chain_first(first: tuple, rest: Iterator[tuple]) -> Iterator[tuple]:
    yield first
    yield from rest


def _shift_record(record: bytes, shift: int) -> bytes:
    """A term record whose postings start ``shift`` bytes later in the merged file."""
    if record[0] or not shift:  # inlined postings: no offset
        return record
    start, length = _EXTENT.unpack_from(record, _TERM_INFO.size)
    return record[: _TERM_INFO.size] + _EXTENT.pack(start + shift, length)


def _join_dictionaries(storage: FileStorage, segments: list, merged: W3Segment) -> None:
    """The merged segment's table of stored-record dictionaries, if any segment has one."""
    if not any(getattr(segment, "stored_dictionary", False) for segment in segments):
        return
    parts = []
    for segment, offset in zip(segments, _offsets(segments), strict=True):
        table = None
        if getattr(segment, "stored_dictionary", False):
            with segment.open_file(storage, DICTIONARY_EXT) as dictionary_file:
                table = dictionary_file.read()
        parts.append((offset, table))
    with merged.create_file(storage, DICTIONARY_EXT) as dictionary_file:
        dictionary_file.write(join_dictionary_tables(parts))
    merged.stored_dictionary = True
