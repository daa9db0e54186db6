"""A Whoosh segment writer tuned for bulk builds of news articles.

Whoosh's own ``SegmentWriter`` turns every posting into a tuple, sorts millions of
them (spilling runs to disk past its memory limit), then, while writing, looks up
each posting's field length through the on-disk length column. For a full build
that is most of the time. This writer produces the same segment format but:

* keeps postings grouped by term in compact arrays, so flushing sorts only the
  distinct terms and never spills (memory is bounded by closing the segment after
  ``max_postings`` postings — the caller starts a new one);
* remembers field lengths in memory for the block statistics;
* encodes the positions of a term once per distinct position list (most terms
  occur once per article, at one of a few thousand positions), and
* hands whole blocks of postings to the codec's postings writer.

It is only for building; incremental updates use Whoosh's ordinary writer.
"""

from __future__ import annotations

import pickle
from array import array
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np
from whoosh.codec.whoosh3 import W3Codec, W3TermInfo
from whoosh.formats import Positions
from whoosh.system import pack_ushort
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

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
        """The postings reordered so that each term's are adjacent, in docnum order."""
        numbers = np.frombuffer(self.term_numbers, dtype=np.uint32)
        order = np.argsort(numbers, kind="stable")
        ends = np.cumsum(np.bincount(numbers, minlength=len(self.term_ids)))
        starts = np.concatenate(([0], ends[:-1])).tolist()
        ends = ends.tolist()
        terms = [
            (
                term.encode("utf-8") if isinstance(term, str) else term,
                number,
                starts[number],
                ends[number],
            )
            for term, number in sorted(self.term_ids.items())
        ]
        docs = np.frombuffer(self.docs, dtype=np.uint32)[order]
        weights = np.frombuffer(self.weights, dtype=np.float32)[order]
        values = list(map(self.values.__getitem__, order.tolist()))
        return GroupedPostings(terms, starts, docs, weights, values)


class GroupedPostings(NamedTuple):
    """A field's postings grouped by term, ready to write."""

    #: ``(UTF-8 bytes, term number, start, end)`` in byte order of the terms (str keys
    #: sort in code point order, which is UTF-8 order); ``start:end`` is the term's range.
    terms: list[tuple[bytes, int, int, int]]
    #: Where each term's range starts, by term number (so in increasing order).
    starts: list[int]
    docs: np.ndarray
    weights: np.ndarray
    values: list[bytes]


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
    """Whoosh's ``Positions`` value bytes by position tuple, for a whole document at once.

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
        super().__init__(ix, _lk=False, compound=False, codec=W3Codec(compression=compression))
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
        if type(field.format) is not Positions:
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
    stats = _LengthStats(grouped.docs, lengths, grouped.starts)
    doc_list, weight_list, values = grouped.docs.tolist(), grouped.weights.tolist(), grouped.values
    # Terms with positions may be inlined; Whoosh's merge code expects bytes
    # values from every posting, which inlined value-less postings lack.
    inline = INLINE_LIMIT if field.format.fixed_value_size() != 0 else 0
    postwriter = fieldwriter._postwriter
    add_term = fieldwriter._tindex.add
    prefix = pack_ushort(fieldwriter._fieldid)
    for btext, number, start, end in grouped.terms:
        if end - start < inline:
            shortest, longest = stats.of_term(number)
            record = _inline_record(doc_list, weight_list, values, start, end, shortest, longest)
            add_term(prefix + btext, record)
        else:
            fieldwriter.start_term(btext)
            postwriter._compression = compression if end - start >= COMPRESS_FROM else 0
            _write_blocks(postwriter, doc_list, weight_list, values, start, end, stats)
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


def _inline_record(
    docs: list[int],
    weights: list[float],
    values: list[bytes],
    start: int,
    end: int,
    shortest: int | None,
    longest: int,
) -> bytes:
    """A rare term's record with its few postings inside (what ``W3TermInfo.to_bytes``
    writes for an inlined term), instead of a postings block.

    Whoosh reads such terms through its ``ListMatcher``; this skips the pickled,
    compressed block (and its bookkeeping) that would otherwise be written for them.
    """
    term_weights = weights[start:end]
    header = W3TermInfo._struct.pack(
        True,
        sum(term_weights),
        end - start,
        length_to_byte(shortest) if shortest is not None else 0,
        length_to_byte(longest),
        max(term_weights),
        docs[start],
        docs[end - 1],
    )
    postings = (tuple(docs[start:end]), tuple(term_weights), tuple(values[start:end]))
    return header + pickle.dumps(postings, 2)


def _write_blocks(
    writer: Any,
    docs: list[int],
    weights: list[float],
    values: list[bytes],
    start: int,
    end: int,
    stats: _LengthStats,
) -> None:
    """Hand one term's postings to a W3 postings writer a whole block at a time.

    The writer's own pickling and block header are kept, so the bytes are Whoosh's;
    blocks of a few postings are left uncompressed: zlib costs more time there than
    it saves bytes (the block header says which blocks are compressed).
    """
    limit = writer._blocklimit
    for block_start in range(start, end, limit):
        block_end = min(block_start + limit, end)
        writer._ids = array("I", docs[block_start:block_end])
        block_weights = weights[block_start:block_end]
        writer._weights = array("f", block_weights)
        writer._maxweight = max(block_weights)
        writer._values = list(filter(None, values[block_start:block_end]))
        writer._minlength, writer._maxlength = stats.of(block_start, block_end)
        if block_end < end:
            writer._write_block()  # also starts a new block
