"""A Whoosh segment writer tuned for bulk builds of news articles.

Whoosh's own ``SegmentWriter`` turns every posting into a tuple, sorts millions of
them (spilling runs to disk past its memory limit), then, while writing, looks up
each posting's field length through the on-disk length column. For a full build
that is most of the time. This writer produces the same segment format but:

* keeps each document's postings of a field as the analysis gave them (a few appends
  per document, no Python call per posting), numbered, laid out as arrays and grouped
  by term with one NumPy sort at the flush, never spilling (memory is bounded by
  closing the segment after a number of postings — the caller starts a new one);
* remembers field lengths and column values in memory, for the block and term
  statistics and for the column files, each written in one go at the close
  (``searchsvc.index.doccolumns``): no per-document writer call but the stored record's;
* keeps a text field's positions as numbers, each posting's frequency and positions
  appended to two flat arrays (laid out once for a stemmed field and its unstemmed
  companion), and weighs and encodes them all at the flush in one NumPy pass each
  (``CompactPositions.encode_spans``), and
* encodes a run of terms at a time: the inlined postings of rare terms and the
  blocks of frequent ones laid out together by the codec
  (``searchsvc.index.codec.encode_postings_chunks``), block headers and term
  statistics as NumPy records, then the blocks written to the postings file and the
  term records to the term table (``searchsvc.index.termtable``) in one write each.
  The bytes are those Whoosh's postings writer, column writers and term table would
  write, one call per term, block and value.

Builds and incremental updates both write their new segments with it; an update's
deletions, merges and commit are Whoosh's ordinary writer's (``searchsvc.index.updates``).
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, count
from typing import Any, NamedTuple

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.system import pack_ushort
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter

from searchsvc.index.codec import (
    BLOCK_MAGIC,
    COMPACT_INLINE,
    PLAIN,
    CompactCodec,
    JoinedValues,
    PostingChunks,
    compress_values,
    encode_postings_chunks,
)
from searchsvc.index.doccolumns import BulkColumnWriter, buffered_column
from searchsvc.index.schema import AnalyzedText, CompactPositions, NewsText
from searchsvc.index.stored import STORED_FIELD, STORED_RECORDS_COLUMN
from searchsvc.index.termtable import TermTable

#: Terms with fewer postings than this live inside their term record (most terms
#: of a news corpus occur in only a handful of articles).
INLINE_LIMIT = 16
#: Distinct facet/date values and short texts (dateline place names) whose postings are
#: remembered while writing a segment.
OTHER_CACHE_LIMIT = 50_000
#: Texts given as strings up to this long are remembered (longer ones rarely repeat).
REPEATED_TEXT_CHARS = 100
#: Postings lists shorter than this are written uncompressed.
COMPRESS_FROM = 24
#: Postings of a field turned into Python lists at a time while writing it.
RUN_POSTINGS = 100_000


class FieldPostings:
    """One field's postings in arrival order: each document's terms, weights and values as
    the analysis gave them, numbered and laid out as columns at the flush.

    Adding a document is a few appends, with no step per posting; the flush numbers all
    terms and converts all weights in one C-level pass each, then one stable sort of the
    term numbers groups the postings by term (documents arrive in order, so each term's
    postings stay in docnum order).
    """

    __slots__ = ("counts", "docnums", "terms", "values", "weights")

    def __init__(self) -> None:
        self.docnums = array("I")
        self.counts = array("I")
        self.terms: list[Sequence] = []
        self.weights: list[Sequence[float]] = []
        self.values: list[Sequence[bytes]] = []

    def __len__(self) -> int:
        return sum(self.counts)

    def add_document(
        self, docnum: int, terms: Sequence, weights: Sequence[float], values: Sequence[bytes]
    ) -> int:
        """One document's postings in this field; returns how many were added."""
        count = len(terms)
        self.docnums.append(docnum)
        self.counts.append(count)
        self.terms.append(terms)
        self.weights.append(weights)
        self.values.append(values)
        return count

    def grouped(self) -> GroupedPostings:
        """The postings reordered so that each term's are adjacent, in docnum order, and
        the terms in byte order (str keys sort in code point order, which is UTF-8 order)."""
        total = len(self)
        weights = np.fromiter(chain.from_iterable(self.weights), np.float32, total)
        values = JoinedValues.of(list(chain.from_iterable(self.values)))
        return _grouped(self.terms, self.docnums, self.counts, weights, values)


class PositionedPostings:
    """One text field's postings (format :class:`CompactPositions`) with their positions
    kept as numbers: each document's terms, and each term's frequency and positions
    appended to two flat arrays.

    A document may give one term more than once (two words with one stem, each with its
    own positions): the stemmed field takes the surface words' arrays as they are, and the
    flush merges such postings. The flush weighs every posting (its frequency times the
    field boost) and encodes every value in one NumPy pass each
    (:meth:`CompactPositions.encode_spans`): a value, a weight and a stem merge made per
    posting while adding documents cost a Python step each.
    """

    __slots__ = ("counts", "docnums", "fmt", "freqs", "positions", "terms")

    def __init__(self, fmt: CompactPositions) -> None:
        self.fmt = fmt
        self.docnums = array("I")
        self.counts = array("I")
        self.terms: list[Sequence[str]] = []
        self.freqs = array("I")
        self.positions = array("I")

    def add_document(self, docnum: int, postings: TextPostings) -> int:
        """One document's postings in this field; returns how many distinct terms it has."""
        self.docnums.append(docnum)
        self.counts.append(len(postings.terms))
        self.terms.append(postings.terms)
        self.freqs.extend(postings.freqs)
        self.positions.extend(postings.positions)
        return postings.distinct

    def grouped(self) -> GroupedPostings:
        """As :meth:`FieldPostings.grouped`, with the postings of a term given more than once
        by a document merged into one (their positions in order)."""
        in_order, ranks = _term_ranks(chain.from_iterable(self.terms), len(self.freqs))
        order = np.argsort(ranks, kind="stable")
        ranks = ranks[order]
        docs = _arrival_docs(self.docnums, self.counts)[order]
        freqs = np.frombuffer(self.freqs, dtype=np.uint32).astype(np.int64)
        positions = np.frombuffer(self.positions, dtype=np.uint32)
        firsts = np.ones(len(ranks), dtype=bool)
        firsts[1:] = (ranks[1:] != ranks[:-1]) | (docs[1:] != docs[:-1])
        if firsts.all():
            values = JoinedValues(*self.fmt.encode_spans(freqs, positions)).take(order)
            freqs = freqs[order]
        else:
            freqs, positions = _merged_runs(freqs, positions, order, firsts)
            ranks, docs = ranks[firsts], docs[firsts]
            values = JoinedValues(*self.fmt.encode_spans(freqs, positions))
        weights = (freqs * self.fmt.field_boost).astype(np.float32)
        return GroupedPostings(_term_bounds(in_order, ranks), docs, weights, values)


def _merged_runs(
    freqs: np.ndarray, positions: np.ndarray, order: np.ndarray, firsts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The frequencies and positions of postings taken in ``order`` (frequencies and
    positions given in arrival order), each run of them from a ``firsts`` entry on made
    one posting: frequencies added up, positions sorted (they never repeat in a run)."""
    taken = freqs[order]
    run = np.cumsum(firsts) - 1
    owner = np.repeat(np.arange(len(order)), taken)
    arrival_firsts = np.cumsum(freqs) - freqs
    taken_firsts = np.cumsum(taken) - taken
    gathered = positions[arrival_firsts[order][owner] + np.arange(len(owner)) - taken_firsts[owner]]
    # Runs in order, positions in order within each: timsort finds the sorted stretches.
    by_run = np.argsort((run[owner] << 32) | gathered, kind="stable")
    return np.add.reduceat(taken, np.flatnonzero(firsts)), gathered[by_run]


def _grouped(
    terms: list[Sequence],
    docnums: array,
    counts: array,
    weights: np.ndarray,
    values: JoinedValues,
) -> GroupedPostings:
    """Postings given document by document (``counts[i]`` of them for ``docnums[i]``, whose
    terms are ``terms[i]``; weights and values of all end to end) grouped by term."""
    in_order, ranks = _term_ranks(chain.from_iterable(terms), len(weights))
    order = np.argsort(ranks, kind="stable")
    docs = _arrival_docs(docnums, counts)[order]
    terms_bounds = _term_bounds(in_order, ranks[order])
    return GroupedPostings(terms_bounds, docs, weights[order], values.take(order))


def _arrival_docs(docnums: array, counts: array) -> np.ndarray:
    """Each posting's docnum, in arrival order."""
    return np.repeat(
        np.frombuffer(docnums, dtype=np.uint32), np.frombuffer(counts, dtype=np.uint32)
    )


def _term_bounds(in_order: list, ranks: np.ndarray) -> list[tuple[bytes, int, int]]:
    """Each term of ``in_order`` as UTF-8 bytes, with the range of its postings among
    postings grouped by term (``ranks``: each one's term, increasing)."""
    term_counts = np.bincount(ranks, minlength=len(in_order))
    ends = np.cumsum(term_counts)
    if in_order and isinstance(in_order[0], str):  # a field's terms are all of one type
        in_order = list(map(str.encode, in_order))
    return list(zip(in_order, (ends - term_counts).tolist(), ends.tolist(), strict=True))


def _term_ranks(terms: Iterable, total: int) -> tuple[list, np.ndarray]:
    """The distinct ``terms`` in order, and each of the ``total`` terms' rank among them.

    One C-level pass over the postings: each term is numbered by where it first occurs
    (``setdefault`` with a running count), and only the distinct terms are then sorted
    and their ranks spread to the postings through those numbers.
    """
    first_at: dict = {}
    firsts = np.fromiter(map(first_at.setdefault, terms, count()), np.uint32, total)
    in_order = sorted(first_at)
    rank_at = np.zeros(total, dtype=np.uint32)
    numbers = np.fromiter(map(first_at.__getitem__, in_order), np.int64, len(in_order))
    rank_at[numbers] = np.arange(len(in_order), dtype=np.uint32)
    return in_order, rank_at[firsts]


class GroupedPostings(NamedTuple):
    """A field's postings grouped by term, ready to write."""

    #: ``(UTF-8 bytes, start, end)`` of each term in byte order; ``start:end`` is the
    #: range of its postings in the arrays below.
    terms: list[tuple[bytes, int, int]]
    docs: np.ndarray
    weights: np.ndarray
    values: JoinedValues


class TermPool:
    """Postings of the segment being written, by field."""

    def __init__(self) -> None:
        self.fields: dict[str, FieldPostings | PositionedPostings] = {}
        self.count = 0

    @property
    def fieldnames(self) -> set[str]:
        return set(self.fields)

    def field(self, fieldname: str) -> FieldPostings:
        return self._postings(fieldname, FieldPostings)

    def add_document(
        self,
        fieldname: str,
        docnum: int,
        terms: Sequence,
        weights: Sequence[float],
        values: Sequence[bytes],
    ) -> None:
        """All of one document's postings in one field, in one call."""
        self.count += self.field(fieldname).add_document(docnum, terms, weights, values)

    def add_text(
        self, fieldname: str, docnum: int, postings: TextPostings, fmt: CompactPositions
    ) -> None:
        """All of one document's postings in a text field, with their positions."""
        field = self._postings(fieldname, PositionedPostings, fmt)
        self.count += field.add_document(docnum, postings)

    def _postings(self, fieldname: str, kind: type, *args: Any) -> Any:
        """The field's postings, of ``kind``: a field's terms are all ``str`` (analysed
        texts) or all ``bytes`` (Whoosh's postings), which sort together only so."""
        postings = self.fields.get(fieldname)
        if postings is None:
            postings = self.fields[fieldname] = kind(*args)
        elif type(postings) is not kind:
            raise TypeError(f"field {fieldname!r} takes analysed texts or postings, not both")
        return postings

    def add(self, item: tuple) -> None:
        """Whoosh's pool interface: one ``(field, btext, docnum, weight, vbytes)`` tuple."""
        fieldname, btext, docnum, weight, vbytes = item
        self.add_document(fieldname, docnum, (btext,), (weight,), (vbytes,))

    def cleanup(self) -> None:
        self.fields.clear()
        self.count = 0


class FieldItems(NamedTuple):
    """A value's postings as Whoosh's ``field.index`` yields them, as columns, and the
    field length they make (0: no postings)."""

    btexts: tuple[bytes, ...]
    weights: tuple[float, ...]
    values: tuple[bytes, ...]
    length: int

    @classmethod
    def of(cls, field: Any, value: Any) -> FieldItems:
        items = list(field.index(value))
        if not items:
            return cls((), (), (), 0)
        btexts, freqs, weights, values = zip(*items, strict=True)
        return cls(btexts, weights, values, sum(freqs))

    def add_to(self, pool: TermPool, fieldname: str, field: Any, docnum: int) -> None:
        pool.add_document(fieldname, docnum, self.btexts, self.weights, self.values)


class TextPostings(NamedTuple):
    """An analyzed text's postings in a field of :class:`NewsText`: its terms, each term's
    frequency, all their positions term after term, the field length they make (0: no
    postings), and how many of the terms are distinct (a stemmed field's terms repeat
    where two words share a stem; the segment merges them)."""

    terms: list[str]
    freqs: array
    positions: array
    length: int
    distinct: int

    @classmethod
    def of(cls, terms: list[str], lists: Iterable[list[int]], length: int) -> TextPostings:
        """``terms`` (distinct) with their position lists ``lists``."""
        lists = list(lists)
        freqs = array("I", map(len, lists))
        return cls(terms, freqs, array("I", chain.from_iterable(lists)), length, len(terms))

    def add_to(self, pool: TermPool, fieldname: str, field: Any, docnum: int) -> None:
        pool.add_text(fieldname, docnum, self, field.format)


class _FieldPlan(NamedTuple):
    """What adding a document does with one field's value, worked out once a segment."""

    field: Any
    #: Adds the value's postings and gives the field length (None: the field is not indexed).
    add: Callable[[str, Any, int, Any], int] | None
    stored: bool
    column: BulkColumnWriter | None


#: zlib level of the postings blocks of builds and updates: 1 is nearly as small as
#: Whoosh's 3 (the writer's default, as Whoosh's), and much faster.
BLOCK_COMPRESSION = 1


class BulkSegmentWriter(SegmentWriter):
    """Writes one new segment of an index (no index lock taken: a build's workers write
    theirs side by side, an update writes its own in a scratch index)."""

    def __init__(self, ix: Any, *, compression: int = 3) -> None:
        super().__init__(ix, _lk=False, compound=False, codec=CompactCodec(compression=compression))
        self.compression = compression
        self.pool = TermPool()
        self.field_lengths: dict[str, FieldLengths] = {}
        self._plans: dict[str, _FieldPlan] = {}
        buffered_column(self.perdocwriter, STORED_FIELD, STORED_RECORDS_COLUMN)
        TermTable.adopt(self.fieldwriter._tindex)
        self._other_items: dict[tuple[str, Any], FieldItems | TextPostings] = {}
        self._last_surface: tuple[AnalyzedText, TextPostings] | None = None

    @property
    def posting_count(self) -> int:
        return self.pool.count

    def add_document(self, **fields: Any) -> None:
        """One document: its postings to the pool, its lengths, column values and stored
        record kept in memory until the segment is written (no per-document writer call
        but the stored record's, which is compressed as it comes)."""
        docnum = self.docnum
        record = {}
        plans = self._plans
        for fieldname in sorted(name for name in fields if not name.startswith("_")):
            value = fields[fieldname]
            if value is None:
                continue
            plan = plans.get(fieldname) or self._plan(fieldname)
            if plan.add is not None:
                length = plan.add(fieldname, plan.field, docnum, value)
                if length:
                    self._lengths(fieldname).add(docnum, length)
            if plan.stored or plan.column is not None:
                stored = fields.get(f"_stored_{fieldname}", value)
                if plan.stored and stored is not None:
                    record[fieldname] = stored
                if plan.column is not None:
                    plan.column.add(docnum, plan.field.to_column_value(stored))
        if record:
            self.perdocwriter.store_record(docnum, record)
        self._added = True
        self.docnum += 1

    def _plan(self, fieldname: str) -> _FieldPlan:
        """What adding a value of ``fieldname`` does, worked out when a document first gives
        the field a value (its column is created then, as Whoosh's writer creates it)."""
        field = self.schema[fieldname]
        add = None
        if field.indexed:
            add = self._add_text if isinstance(field, NewsText) else self._add_other
        column = None
        if field.column_type is not None:
            column = buffered_column(self.perdocwriter, fieldname, field.column_type)
        plan = self._plans[fieldname] = _FieldPlan(field, add, field.stored, column)
        return plan

    def _add_text(self, fieldname: str, field: NewsText, docnum: int, value: Any) -> int:
        if type(field.format) is not CompactPositions:
            return self._add_items(fieldname, field, docnum, FieldItems.of(field, value))
        if isinstance(value, AnalyzedText):
            items = self._text_postings(field, value)
        else:

            def analyse() -> TextPostings:
                return self._text_postings(field, AnalyzedText.of(value, field.analyzer))

            short = len(value) <= REPEATED_TEXT_CHARS
            items = self._remembered(fieldname, value, analyse) if short else analyse()
        return self._add_items(fieldname, field, docnum, items)

    def _text_postings(self, field: NewsText, text: AnalyzedText) -> TextPostings:
        """``text``'s postings in ``field``: the surface words' postings, under their
        stems where the field stems (a stem shared by two words is given twice)."""
        surface = self._surface_postings(text)
        terms = field.surface_terms(text)
        if terms is None:
            return surface
        return surface._replace(terms=terms, distinct=len(set(terms)))

    def _surface_postings(self, text: AnalyzedText) -> TextPostings:
        """The postings of ``text``'s surface words, laid out once for the stemmed field and
        its unstemmed companion (added one after the other, so the last text is kept)."""
        last = self._last_surface
        if last is None or last[0] is not text:
            positions = text.positions
            last = self._last_surface = (
                text,
                TextPostings.of(list(positions), positions.values(), text.length),
            )
        return last[1]

    def _add_other(self, fieldname: str, field: Any, docnum: int, value: Any) -> int:
        """Facet and date fields: their few values repeat, so each value is analyzed once."""
        if field.unique:
            return self._add_items(fieldname, field, docnum, FieldItems.of(field, value))
        items = self._remembered(fieldname, value, lambda: FieldItems.of(field, value))
        return self._add_items(fieldname, field, docnum, items)

    def _remembered(
        self, fieldname: str, value: Any, analyse: Callable[[], FieldItems | TextPostings]
    ) -> FieldItems | TextPostings:
        """The postings of a value that repeats, analysed once while the segment is written."""
        key = (fieldname, value)
        items = self._other_items.get(key)
        if items is None:
            if len(self._other_items) >= OTHER_CACHE_LIMIT:
                self._other_items.clear()
            items = self._other_items[key] = analyse()
        return items

    def _add_items(
        self, fieldname: str, field: Any, docnum: int, items: FieldItems | TextPostings
    ) -> int:
        if items.length:
            items.add_to(self.pool, fieldname, field, docnum)
        return items.length

    def _lengths(self, fieldname: str) -> FieldLengths:
        lengths = self.field_lengths.get(fieldname)
        if lengths is None:
            lengths = self.field_lengths[fieldname] = FieldLengths()
        return lengths

    def _flush_segment(self) -> None:
        self._write_lengths()
        self.perdocwriter.close()
        fieldwriter = self.fieldwriter
        for fieldname in sorted(self.pool.fields):
            field = self.schema[fieldname]
            lengths = self.field_lengths.get(fieldname) if field.scorable else None
            fieldwriter.start_field(fieldname, field)
            _write_field(
                fieldwriter,
                field,
                self.pool.fields[fieldname],
                None if lengths is None else lengths.dense(self.docnum),
                self.compression,
            )
            fieldwriter.finish_field()
        fieldwriter.close()

    def _write_lengths(self) -> None:
        """Each field's length column and total, as Whoosh's ``add_field`` per document
        leaves them: a column for every field a document gave a length, totals keyed in
        the order fields first had one."""
        perdoc = self.perdocwriter
        perdoc._doccount = self.docnum
        first_seen = sorted(self.field_lengths.items(), key=lambda item: (item[1].first, item[0]))
        for fieldname, lengths in first_seen:
            column = buffered_column(perdoc, f"_{fieldname}_len", LENGTHS_COLUMN)
            column.add_many(lengths.docnums, _length_bytes(np.asarray(lengths.lengths)).tolist())
            perdoc._fieldlengths[fieldname] += sum(lengths.lengths)


class FieldLengths:
    """The documents of a segment that gave a field a length, and those lengths."""

    __slots__ = ("docnums", "lengths")

    def __init__(self) -> None:
        self.docnums = array("I")
        self.lengths = array("I")

    def add(self, docnum: int, length: int) -> None:
        self.docnums.append(docnum)
        self.lengths.append(length)

    @property
    def first(self) -> int:
        return self.docnums[0]

    def dense(self, doccount: int) -> np.ndarray:
        """Every document's length, 0 for those without one."""
        lengths = np.zeros(doccount, dtype=np.uint32)
        lengths[np.frombuffer(self.docnums, dtype=np.uint32)] = self.lengths
        return lengths


def _write_field(
    fieldwriter: Any,
    field: Any,
    postings: FieldPostings,
    lengths: np.ndarray | None,
    compression: int,
) -> None:
    """All terms of one field, in byte order, each inlined or in postings blocks.

    Terms are written a run at a time: every chunk of the run (a rare term's inlined
    list, or a block of a frequent one) encoded at once by the codec, then the blocks
    appended to the postings file and the term records to the term table in one write each.
    """
    grouped = postings.grouped()
    stats = _LengthStats(grouped.docs, lengths)
    # Terms with positions may be inlined; Whoosh's merge code expects bytes
    # values from every posting, which inlined value-less postings lack.
    inline = INLINE_LIMIT if field.format.fixed_value_size() != 0 else 0
    run = _FieldRun(fieldwriter, field.format.fixed_value_size(), inline, compression)
    bounds = np.array([start for _btext, start, _end in grouped.terms] + [len(grouped.docs)])
    for first, last in _term_runs(bounds, RUN_POSTINGS):
        run.write(grouped, stats, bounds[first : last + 1], grouped.terms[first:last])


def _term_runs(bounds: np.ndarray, size: int) -> Iterator[tuple[int, int]]:
    """Consecutive terms covering about ``size`` postings at a time (at least one term)."""
    first = 0
    terms = len(bounds) - 1
    while first < terms:
        last = int(np.searchsorted(bounds, bounds[first] + size, side="right")) - 1
        last = min(max(last, first + 1), terms)
        yield first, last
        first = last


#: A term record's statistics (``W3TermInfo._struct``, big-endian) as a NumPy record.
_TERM_HEADER = np.dtype(
    [
        ("flags", "u1"),
        ("weight", ">f4"),
        ("df", ">u4"),
        ("min_length", "u1"),
        ("max_length", "u1"),
        ("max_weight", ">f4"),
        ("min_id", ">u4"),
        ("max_id", ">u4"),
    ]
)
#: A block's signed length (``!i``) and header (``<HIIfBBB``), as ``write_block`` writes them.
_BLOCK_START = np.dtype(
    [
        ("length", ">i4"),
        ("count", "<u2"),
        ("min_id", "<u4"),
        ("max_id", "<u4"),
        ("max_weight", "<f4"),
        ("layout", "u1"),
        ("min_length", "u1"),
        ("max_length", "u1"),
    ]
)
#: Whoosh's length bytes: a length's byte is the first entry not below it.
_LENGTH_BYTES = np.array([byte_to_length(byte) for byte in range(256)], dtype=np.int64)


def _length_bytes(lengths: np.ndarray) -> np.ndarray:
    """``length_to_byte`` of each length (a length of 0 stands for none: byte 0)."""
    return np.minimum(np.searchsorted(_LENGTH_BYTES, lengths, side="left"), 255)


class _FieldRun:
    """Writes runs of one field's terms: postings blocks, then term records."""

    def __init__(self, fieldwriter: Any, fixed_size: int | None, inline: int, level: int) -> None:
        self.postfile = fieldwriter._postfile
        self.terms = fieldwriter._tindex
        self.prefix = pack_ushort(fieldwriter._fieldid)
        self.fixed_size = fixed_size
        self.inline = inline
        self.level = level
        self.block_limit = fieldwriter._postwriter._blocklimit

    def write(
        self,
        grouped: GroupedPostings,
        stats: _LengthStats,
        bounds: np.ndarray,
        terms: list[tuple[bytes, int, int]],
    ) -> None:
        low, high = int(bounds[0]), int(bounds[-1])
        term_starts = bounds[:-1] - low
        counts = np.diff(bounds)
        inlined = counts < self.inline
        blocks = np.where(inlined, 1, -(-counts // self.block_limit))
        chunk_term = np.repeat(np.arange(len(counts)), blocks)
        chunk_number = np.arange(len(chunk_term)) - np.repeat(np.cumsum(blocks) - blocks, blocks)
        chunk_starts = term_starts[chunk_term] + chunk_number * self.block_limit
        docs = grouped.docs[low:high]
        weights = grouped.weights[low:high]
        chunks = PostingChunks(
            docs, weights, grouped.values[low:high], chunk_starts, inlined[chunk_term]
        )
        bodies = encode_postings_chunks(chunks, self.fixed_size)
        shortest, longest = stats.spans(low, high, chunk_starts)
        in_blocks = ~inlined[chunk_term]
        extents = self._write_blocks(
            np.flatnonzero(in_blocks).tolist(),
            bodies,
            _block_starts(docs, weights, chunk_starts, shortest, longest),
            chunk_term,
            counts,
        )
        term_shortest, term_longest = stats.spans(low, high, term_starts)
        headers = _term_headers(docs, weights, term_starts, counts, inlined)
        headers["min_length"] = _length_bytes(term_shortest)
        headers["max_length"] = _length_bytes(term_longest)
        header_bytes = headers.tobytes()
        size = _TERM_HEADER.itemsize
        first_chunks = (np.cumsum(blocks) - blocks).tolist()
        records = [
            header_bytes[size * number : size * (number + 1)]
            + (bodies[chunk] if inline_term else extents[number])
            for number, (chunk, inline_term) in enumerate(
                zip(first_chunks, inlined.tolist(), strict=True)
            )
        ]
        self.terms.add_many([self.prefix + btext for btext, _s, _e in terms], records)

    def _write_blocks(
        self,
        chunks: list[int],
        bodies: list[bytes],
        starts: np.ndarray,
        chunk_term: np.ndarray,
        counts: np.ndarray,
    ) -> dict[int, bytes]:
        """The blocks of the run's terms that have postings blocks, in one write; each such
        term's extent (offset and length in the postings file) as its record ends."""
        if not chunks:
            return {}
        position = self.postfile.tell()
        parts: list[bytes] = []
        extents: dict[int, bytes] = {}
        term_of = chunk_term.tolist()
        compress_terms = (counts >= COMPRESS_FROM).tolist() if self.level else None
        chunk_counts = starts["count"].tolist()
        starts_bytes = starts.tobytes()
        size = _BLOCK_START.itemsize
        term_start = position
        for number, chunk in enumerate(chunks):
            term = term_of[chunk]
            data = bodies[chunk]
            if number == 0 or term_of[chunks[number - 1]] != term:
                term_start = position
                parts.append(BLOCK_MAGIC)
                position += len(BLOCK_MAGIC)
            layout = PLAIN
            if compress_terms and compress_terms[term]:
                data, layout = compress_values(data, chunk_counts[chunk], self.level)
            last = number + 1 == len(chunks) or term_of[chunks[number + 1]] != term
            start = _block_start(starts_bytes[size * chunk : size * (chunk + 1)], data, last)
            parts.append(start if layout == PLAIN else _with_layout(start, layout))
            parts.append(data)
            position += size + len(data)
            if last:
                extents[term] = _EXTENT.pack(term_start, position - term_start)
        self.postfile.write(b"".join(parts))
        return extents


def _block_starts(
    docs: np.ndarray,
    weights: np.ndarray,
    chunk_starts: np.ndarray,
    shortest: np.ndarray,
    longest: np.ndarray,
) -> np.ndarray:
    """Every chunk's block header, as if it were a block (its data length filled in later)."""
    ends = np.append(chunk_starts[1:], len(docs))
    starts = np.zeros(len(chunk_starts), dtype=_BLOCK_START)
    starts["count"] = ends - chunk_starts
    starts["min_id"] = docs[chunk_starts]
    starts["max_id"] = docs[ends - 1]
    starts["max_weight"] = np.maximum.reduceat(weights, chunk_starts)
    starts["min_length"] = _length_bytes(shortest)
    starts["max_length"] = _length_bytes(longest)
    return starts


_SIGNED_LENGTH = struct.Struct("!i")
_HEADER_SIZE = _BLOCK_START.itemsize - _SIGNED_LENGTH.size
_LAYOUT_AT = _BLOCK_START.fields["layout"][1]


def _block_start(start: bytes, data: bytes, last: bool) -> bytes:
    """A block's signed length (negative: the term's last block) and header."""
    length = _HEADER_SIZE + len(data)
    return _SIGNED_LENGTH.pack(-length if last else length) + start[_SIGNED_LENGTH.size :]


def _with_layout(start: bytes, layout: int) -> bytes:
    return start[:_LAYOUT_AT] + bytes((layout,)) + start[_LAYOUT_AT + 1 :]


#: Where a term's postings lie in the postings file, after its statistics in its record.
_EXTENT = struct.Struct("!qi")


def _term_headers(
    docs: np.ndarray,
    weights: np.ndarray,
    term_starts: np.ndarray,
    counts: np.ndarray,
    inlined: np.ndarray,
) -> np.ndarray:
    """Each term's record statistics (lengths filled in by the caller).

    The weight is the sum of the postings' weights: frequencies times the field boost,
    whole numbers or halves, which any order of summing adds exactly.
    """
    headers = np.zeros(len(term_starts), dtype=_TERM_HEADER)
    headers["flags"] = np.where(inlined, COMPACT_INLINE, 0)
    headers["weight"] = np.add.reduceat(weights.astype(np.float64), term_starts)
    headers["df"] = counts
    headers["max_weight"] = np.maximum.reduceat(weights, term_starts)
    headers["min_id"] = docs[term_starts]
    headers["max_id"] = docs[term_starts + counts - 1]
    return headers


class _LengthStats:
    """Shortest and longest field length (zero lengths left out) of chunks of postings.

    Whoosh keeps these per term and per block so a scorer can bound a block's score
    without reading it; they come from the in-memory lengths, not the length column.
    """

    NONE = 0xFFFFFFFF

    def __init__(self, docs: np.ndarray, lengths: np.ndarray | None) -> None:
        self.known = lengths is not None and len(docs) > 0
        if not self.known:
            return
        self.longest = lengths[docs]
        self.shortest = np.where(self.longest == 0, np.uint32(self.NONE), self.longest)

    def spans(self, low: int, high: int, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shortest and longest length of the chunks starting at ``starts`` (relative to
        ``low``; the last ends at ``high``); 0 and 0 for a chunk of no known length."""
        if not self.known:
            return np.zeros(len(starts), dtype=np.int64), np.zeros(len(starts), dtype=np.int64)
        shortest = np.minimum.reduceat(self.shortest[low:high], starts).astype(np.int64)
        longest = np.maximum.reduceat(self.longest[low:high], starts).astype(np.int64)
        none = shortest == self.NONE
        return np.where(none, 0, shortest), np.where(none, 0, longest)
