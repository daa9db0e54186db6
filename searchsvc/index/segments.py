"""A Whoosh segment writer tuned for bulk builds of news articles.

Whoosh's own ``SegmentWriter`` turns every posting into a tuple, sorts millions of
them (spilling runs to disk past its memory limit), then, while writing, looks up
each posting's field length through the on-disk length column. For a full build
that is most of the time. This writer produces the same segment format but:

* keeps each field's postings in compact parallel arrays that grow by a few C-level
  calls per document (no Python call per posting), grouped by term with one NumPy
  sort at the flush, never spilling (memory is bounded by closing the segment after
  a number of postings — the caller starts a new one);
* remembers field lengths in memory for the block and term statistics;
* encodes positions once per distinct short position list (most terms occur once
  per article, at one of a few thousand positions), and
* hands whole blocks of postings to the codec's postings writer, and writes the
  term records of rare terms, postings inlined, as the codec encodes them
  (``searchsvc.index.codec``).

It is only for building; incremental updates use Whoosh's ordinary writer.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import numpy as np
from whoosh.formats import Positions
from whoosh.system import pack_ushort
from whoosh.writing import SegmentWriter

from searchsvc.index.codec import CompactCodec, CompactPostingsWriter, CompactTermInfo
from searchsvc.index.schema import NewsText

#: Terms with fewer postings than this live inside their term record (most terms
#: of a news corpus occur in only a handful of articles).
INLINE_LIMIT = 16
#: Distinct facet/date values whose postings are remembered while writing a segment.
OTHER_CACHE_LIMIT = 50_000
#: Postings lists shorter than this are written uncompressed.
COMPRESS_FROM = 24
#: Position lists up to this long keep their encoding for reuse, at most this many.
KEPT_POSITIONS = 2
ENCODED_CACHE_LIMIT = 200_000
#: Postings of a field turned into Python lists at a time while writing it.
RUN_POSTINGS = 100_000


class TermIds(dict):
    """Each term of a field mapped to a small number, given on first sight.

    ``map(term_ids.__getitem__, terms)`` numbers a whole document's terms without a
    Python call per term: only a new term reaches ``__missing__``.
    """

    def __missing__(self, term: bytes | str) -> int:
        number = self[term] = len(self)
        return number


class FieldPostings:
    """One field's postings in arrival order, as parallel columns (one row a posting).

    Adding costs a few C-level ``extend`` calls per document; grouping by term waits
    for the flush, where one stable sort of the term numbers does it for all terms
    (documents arrive in order, so each term's postings stay in docnum order).
    """

    __slots__ = ("docs", "term_ids", "term_numbers", "values", "weights")

    def __init__(self) -> None:
        self.term_ids = TermIds()
        self.term_numbers = array("I")
        self.docs = array("I")
        self.weights = array("f")
        self.values: list[bytes] = []

    def __len__(self) -> int:
        return len(self.docs)

    def add_document(
        self, docnum: int, terms: Iterable, weights: Iterable[float], values: Iterable[bytes]
    ) -> int:
        """One document's postings in this field; returns how many were added."""
        before = len(self.term_numbers)
        self.term_numbers.extend(map(self.term_ids.__getitem__, terms))
        count = len(self.term_numbers) - before
        self.docs.extend(array("I", (docnum,)) * count)
        self.weights.extend(weights)
        self.values.extend(values)
        return count

    def grouped(self) -> GroupedPostings:
        """The postings reordered so that each term's are adjacent, in docnum order, and
        the terms in byte order (str keys sort in code point order, which is UTF-8 order)."""
        in_order = sorted(self.term_ids.items())
        rank = np.empty(len(in_order), dtype=np.uint32)
        rank[[number for _term, number in in_order]] = np.arange(len(in_order), dtype=np.uint32)
        ranks = rank[np.frombuffer(self.term_numbers, dtype=np.uint32)]
        order = np.argsort(ranks, kind="stable")
        counts = np.bincount(ranks, minlength=len(in_order))
        ends = np.cumsum(counts)
        terms = [
            (term.encode("utf-8") if isinstance(term, str) else term, start, end)
            for (term, _number), start, end in zip(
                in_order, (ends - counts).tolist(), ends.tolist(), strict=True
            )
        ]
        docs = np.frombuffer(self.docs, dtype=np.uint32)[order]
        weights = np.frombuffer(self.weights, dtype=np.float32)[order]
        values = list(map(self.values.__getitem__, order.tolist()))
        return GroupedPostings(terms, docs, weights, values)


class GroupedPostings(NamedTuple):
    """A field's postings grouped by term, ready to write."""

    #: ``(UTF-8 bytes, start, end)`` of each term in byte order; ``start:end`` is the
    #: range of its postings in the arrays below.
    terms: list[tuple[bytes, int, int]]
    docs: np.ndarray
    weights: np.ndarray
    values: list[bytes]

    def runs(self, size: int) -> Iterator[tuple[int, list[tuple[int, bytes, int, int]]]]:
        """Consecutive terms covering about ``size`` postings at a time, each with its
        number: the writer turns one run at a time into Python lists."""
        run: list[tuple[int, bytes, int, int]] = []
        run_start = 0
        for number, (btext, start, end) in enumerate(self.terms):
            if run and end - run_start > size:
                yield run_start, run
                run, run_start = [], start
            run.append((number, btext, start, end))
        if run:
            yield run_start, run


class TermPool:
    """Postings of the segment being written, by field."""

    def __init__(self) -> None:
        self.fields: dict[str, FieldPostings] = {}
        self.count = 0

    @property
    def fieldnames(self) -> set[str]:
        return set(self.fields)

    def field(self, fieldname: str) -> FieldPostings:
        postings = self.fields.get(fieldname)
        if postings is None:
            postings = self.fields[fieldname] = FieldPostings()
        return postings

    def add_document(
        self,
        fieldname: str,
        docnum: int,
        terms: Iterable,
        weights: Iterable[float],
        values: Iterable[bytes],
    ) -> None:
        """All of one document's postings in one field, in one call."""
        self.count += self.field(fieldname).add_document(docnum, terms, weights, values)

    def add(self, item: tuple) -> None:
        """Whoosh's pool interface: one ``(field, btext, docnum, weight, vbytes)`` tuple."""
        fieldname, btext, docnum, weight, vbytes = item
        self.add_document(fieldname, docnum, (btext,), (weight,), (vbytes,))

    def cleanup(self) -> None:
        self.fields.clear()
        self.count = 0


class EncodedPositions(dict):
    """A ``Positions`` format's value bytes by position tuple, for a whole document at once.

    Any subclass of Whoosh's ``Positions`` qualifies (weight = count times field boost);
    fields in other formats are indexed through ``field.index`` as Whoosh's writer does.

    Most postings of news text are one or two positions among a few thousand, so
    their encodings repeat; longer lists rarely do and are encoded without being kept.
    """

    def __init__(self, fmt: Any) -> None:
        super().__init__()
        self.encode = fmt.encode
        self.boost = fmt.field_boost

    def __missing__(self, positions: tuple[int, ...]) -> bytes:
        value = self.encode(positions)
        if len(positions) <= KEPT_POSITIONS:
            if len(self) >= ENCODED_CACHE_LIMIT:
                self.clear()
            self[positions] = value
        return value

    def postings(self, term_positions: dict) -> tuple[Iterable[float], list[bytes], int]:
        """Weights, values and the field length of one document's terms, in their order."""
        lists = term_positions.values()
        freqs = list(map(len, lists))
        values = list(map(self.__getitem__, map(tuple, lists)))
        weights = freqs if self.boost == 1.0 else map(self.boost.__mul__, freqs)
        return weights, values, sum(freqs)


class BulkSegmentWriter(SegmentWriter):
    """Writes one new segment of a generation being built (no index lock taken)."""

    def __init__(self, ix: Any, *, compression: int = 3) -> None:
        super().__init__(ix, _lk=False, compound=False, codec=CompactCodec(compression=compression))
        self.compression = compression
        self.pool = TermPool()
        self.field_lengths: dict[str, array] = {}
        self._encoders: dict[str, EncodedPositions] = {}
        self._other_items: dict[tuple[str, Any], list[tuple]] = {}

    @property
    def posting_count(self) -> int:
        return self.pool.count

    def add_document(self, **fields: Any) -> None:
        schema = self.schema
        docnum = self.docnum
        perdoc = self.perdocwriter
        perdoc.start_doc(docnum)
        for fieldname in sorted(name for name in fields if not name.startswith("_")):
            value = fields[fieldname]
            if value is None:
                continue
            field = schema[fieldname]
            length = 0
            if field.indexed:
                if isinstance(field, NewsText):
                    length = self._add_text(fieldname, field, docnum, value)
                else:
                    length = self._add_other(fieldname, field, docnum, value)
                if field.scorable:
                    self._lengths(fieldname)[docnum] = length
            stored = fields.get(f"_stored_{fieldname}", value)
            perdoc.add_field(fieldname, field, stored if field.stored else None, length)
            if field.column_type is not None:
                perdoc.add_column_value(fieldname, field.column_type, field.to_column_value(stored))
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def _add_text(self, fieldname: str, field: NewsText, docnum: int, value: Any) -> int:
        if not isinstance(field.format, Positions):
            return self._add_items(fieldname, docnum, list(field.index(value)))
        encoded = self._encoders.get(fieldname)
        if encoded is None:
            encoded = self._encoders[fieldname] = EncodedPositions(field.format)
        term_positions = field.term_positions(value)
        weights, values, length = encoded.postings(term_positions)
        self.pool.add_document(fieldname, docnum, term_positions, weights, values)
        return length

    def _add_other(self, fieldname: str, field: Any, docnum: int, value: Any) -> int:
        """Facet and date fields: their few values repeat, so each value is analyzed once."""
        if field.unique:
            return self._add_items(fieldname, docnum, list(field.index(value)))
        key = (fieldname, value)
        items = self._other_items.get(key)
        if items is None:
            if len(self._other_items) >= OTHER_CACHE_LIMIT:
                self._other_items.clear()
            items = self._other_items[key] = list(field.index(value))
        return self._add_items(fieldname, docnum, items)

    def _add_items(self, fieldname: str, docnum: int, items: list[tuple]) -> int:
        """Postings as Whoosh's ``field.index`` yields them: ``(btext, freq, weight, value)``."""
        if not items:
            return 0
        btexts, freqs, weights, values = zip(*items, strict=True)
        self.pool.add_document(fieldname, docnum, btexts, weights, values)
        return sum(freqs)

    def _lengths(self, fieldname: str) -> array:
        lengths = self.field_lengths.get(fieldname)
        if lengths is None:
            lengths = self.field_lengths[fieldname] = array("I")
        missing = self.docnum + 1 - len(lengths)
        if missing > 0:
            lengths.extend([0] * missing)
        return lengths

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        fieldwriter = self.fieldwriter
        for fieldname in sorted(self.pool.fields):
            field = self.schema[fieldname]
            fieldwriter.start_field(fieldname, field)
            _write_field(
                fieldwriter,
                field,
                self.pool.fields[fieldname],
                self.field_lengths.get(fieldname),
                self.compression,
            )
            fieldwriter.finish_field()
        fieldwriter.close()


def _write_field(
    fieldwriter: Any,
    field: Any,
    postings: FieldPostings,
    lengths: array | None,
    compression: int,
) -> None:
    """All terms of one field, in byte order, each inlined or in postings blocks."""
    grouped = postings.grouped()
    stats = _LengthStats(grouped.docs, lengths, [start for _btext, start, _end in grouped.terms])
    # Terms with positions may be inlined; Whoosh's merge code expects bytes
    # values from every posting, which inlined value-less postings lack.
    inline = INLINE_LIMIT if field.format.fixed_value_size() != 0 else 0
    postwriter = fieldwriter._postwriter
    add_term = fieldwriter._tindex.add
    prefix = pack_ushort(fieldwriter._fieldid)
    for run_start, run in grouped.runs(RUN_POSTINGS):
        run_end = run[-1][3]
        window = _Window(grouped, run_start, run_end)
        for number, btext, start, end in run:
            if end - start < inline:
                shortest, longest = stats.of_term(number)
                add_term(prefix + btext, window.inline_record(start, end, shortest, longest))
            else:
                fieldwriter.start_term(btext)
                postwriter._compression = compression if end - start >= COMPRESS_FROM else 0
                window.write_blocks(postwriter, start, end, stats)
                fieldwriter.finish_term()


class _LengthStats:
    """Shortest and longest field length (zero lengths left out) of terms and blocks.

    Whoosh keeps these per term and per block so a scorer can bound a block's score
    without reading it; they come from the in-memory lengths, not the length column,
    and every term's at once (``reduceat`` over the term-grouped postings).
    """

    NONE = 0xFFFFFFFF

    def __init__(self, docs: np.ndarray, lengths: array | None, term_starts: list[int]) -> None:
        self.known = lengths is not None and len(docs) > 0
        if not self.known:
            return
        self.longest = np.frombuffer(lengths, dtype=np.uint32)[docs]
        self.shortest = np.where(self.longest == 0, np.uint32(self.NONE), self.longest)
        self.term_shortest = np.minimum.reduceat(self.shortest, term_starts).tolist()
        self.term_longest = np.maximum.reduceat(self.longest, term_starts).tolist()

    def of_term(self, number: int) -> tuple[int | None, int]:
        if not self.known or self.term_shortest[number] == self.NONE:
            return None, 0
        return self.term_shortest[number], self.term_longest[number]

    def of(self, start: int, end: int) -> tuple[int | None, int]:
        if not self.known:
            return None, 0
        shortest = int(self.shortest[start:end].min())
        if shortest == self.NONE:
            return None, 0
        return shortest, int(self.longest[start:end].max())


class _Window:
    """A run of a field's grouped postings as Python lists, which the codec's pickling
    wants; made a run at a time so that a big field is never all Python objects."""

    def __init__(self, grouped: GroupedPostings, start: int, end: int) -> None:
        self.offset = start
        self.docs = grouped.docs[start:end].tolist()
        self.weights = grouped.weights[start:end].tolist()
        self.values = grouped.values[start:end]

    def inline_record(self, start: int, end: int, shortest: int | None, longest: int) -> bytes:
        """A rare term's record with its few postings inside, instead of a postings block.

        Whoosh reads such terms through its ``ListMatcher``; this skips the block (and
        its bookkeeping) that would otherwise be written for them, and the codec's term
        record stores them as narrow arrays.
        """
        start, end = start - self.offset, end - self.offset
        docs, weights = self.docs[start:end], self.weights[start:end]
        info = CompactTermInfo()
        info._weight, info._df, info._maxweight = sum(weights), end - start, max(weights)
        info._minid, info._maxid = docs[0], docs[-1]
        info._minlength, info._maxlength = shortest, longest
        info.set_inlined(docs, weights, self.values[start:end])
        return info.to_bytes()

    def write_blocks(
        self, writer: CompactPostingsWriter, start: int, end: int, stats: _LengthStats
    ) -> None:
        """Hand one term's postings to the postings writer a whole block at a time.

        Blocks of a few postings are left uncompressed: zlib costs more time there than
        it saves bytes (the block header says which blocks are compressed).
        """
        limit = writer._blocklimit
        for block_start in range(start, end, limit):
            block_end = min(block_start + limit, end)
            writer._minlength, writer._maxlength = stats.of(block_start, block_end)
            low, high = block_start - self.offset, block_end - self.offset
            writer._ids = array("I", self.docs[low:high])
            block_weights = self.weights[low:high]
            writer._weights = array("f", block_weights)
            writer._maxweight = max(block_weights)
            writer._values = self.values[low:high]
            if block_end < end:
                writer._write_block()  # also starts a new block
