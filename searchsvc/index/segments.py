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

from array import array
from typing import Any

from whoosh.system import pack_ushort
from whoosh.writing import SegmentWriter

from searchsvc.index.codec import CompactCodec, CompactTermInfo
from searchsvc.index.schema import NewsText

#: Terms with fewer postings than this live inside their term record (most terms
#: of a news corpus occur in only a handful of articles).
INLINE_LIMIT = 16
#: Distinct facet/date values whose postings are remembered while writing a segment.
OTHER_CACHE_LIMIT = 50_000
#: Postings lists shorter than this are written uncompressed.
COMPRESS_FROM = 24


class TermPostings:
    """One term's postings in one field: docnums, weights and encoded positions."""

    __slots__ = ("docs", "values", "weights")

    def __init__(self) -> None:
        self.docs = array("I")
        self.weights = array("f")
        self.values: list[bytes] = []


class TermPool:
    """Postings of the segment being written, grouped by field and term."""

    def __init__(self) -> None:
        self.fields: dict[str, dict[bytes | str, TermPostings]] = {}
        self.count = 0

    @property
    def fieldnames(self) -> set[str]:
        return set(self.fields)

    def terms(self, fieldname: str) -> dict[bytes | str, TermPostings]:
        terms = self.fields.get(fieldname)
        if terms is None:
            terms = self.fields[fieldname] = {}
        return terms

    def add(self, item: tuple) -> None:
        """Whoosh's pool interface: one ``(field, btext, docnum, weight, vbytes)`` tuple."""
        fieldname, btext, docnum, weight, vbytes = item
        postings = self.terms(fieldname).get(btext)
        if postings is None:
            postings = self.terms(fieldname)[btext] = TermPostings()
        postings.docs.append(docnum)
        postings.weights.append(weight)
        postings.values.append(vbytes)
        self.count += 1

    def cleanup(self) -> None:
        self.fields.clear()
        self.count = 0


class PositionsEncoder:
    """Whoosh's ``Positions`` value encoding, memoized for single positions."""

    def __init__(self, fmt: Any) -> None:
        self.encode_many = fmt.encode
        self.single: dict[int, bytes] = {}

    def __call__(self, positions: list[int]) -> bytes:
        if len(positions) == 1:
            pos = positions[0]
            value = self.single.get(pos)
            if value is None:
                value = self.single[pos] = self.encode_many(positions)
            return value
        return self.encode_many(positions)


class BulkSegmentWriter(SegmentWriter):
    """Writes one new segment of a generation being built (no index lock taken)."""

    def __init__(self, ix: Any, *, compression: int = 3) -> None:
        super().__init__(ix, _lk=False, compound=False, codec=CompactCodec(compression=compression))
        self.compression = compression
        self.pool = TermPool()
        self.field_lengths: dict[str, array] = {}
        self._encoders: dict[str, PositionsEncoder] = {}
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
        encoder = self._encoders.get(fieldname)
        if encoder is None:
            encoder = self._encoders[fieldname] = PositionsEncoder(field.format)
        single = encoder.single
        boost = field.format.field_boost
        terms = self.pool.terms(fieldname)
        get_postings = terms.get
        term_positions = field.term_positions(value)
        length = 0
        for term, positions in term_positions.items():
            postings = get_postings(term)
            if postings is None:
                postings = terms[term] = TermPostings()
            postings.docs.append(docnum)
            if len(positions) == 1:
                length += 1
                postings.weights.append(boost)
                encoded = single.get(positions[0])
                postings.values.append(encoded if encoded is not None else encoder(positions))
            else:
                length += len(positions)
                postings.weights.append(len(positions) * boost)
                postings.values.append(encoder.encode_many(positions))
        self.pool.count += len(term_positions)
        return length

    def _add_other(self, fieldname: str, field: Any, docnum: int, value: Any) -> int:
        """Facet and date fields: their few values repeat, so each value is analyzed once."""
        if field.unique:
            items = list(field.index(value))
        else:
            key = (fieldname, value)
            items = self._other_items.get(key)
            if items is None:
                if len(self._other_items) >= OTHER_CACHE_LIMIT:
                    self._other_items.clear()
                items = self._other_items[key] = list(field.index(value))
        terms = self.pool.terms(fieldname)
        length = 0
        for btext, freq, weight, vbytes in items:
            postings = terms.get(btext)
            if postings is None:
                postings = terms[btext] = TermPostings()
            postings.docs.append(docnum)
            postings.weights.append(weight)
            postings.values.append(vbytes)
            length += freq
        self.pool.count += len(items)
        return length

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
            terms = self.pool.fields[fieldname]
            lengths = self.field_lengths.get(fieldname)
            # Terms with positions may be inlined; Whoosh's merge code expects bytes
            # values from every posting, which inlined value-less postings lack.
            inline = INLINE_LIMIT if field.format.fixed_value_size() != 0 else 0
            fieldwriter.start_field(fieldname, field)
            # str keys sort in code point order, which is UTF-8 byte order.
            for term in sorted(terms):
                btext = term.encode("utf-8") if isinstance(term, str) else term
                postings = terms[term]
                if len(postings.docs) < inline:
                    _write_inline(fieldwriter, btext, postings, lengths)
                else:
                    fieldwriter.start_term(btext)
                    _write_postings(fieldwriter._postwriter, postings, lengths, self.compression)
                    fieldwriter.finish_term()
            fieldwriter.finish_field()
        fieldwriter.close()


def _write_inline(
    fieldwriter: Any, btext: bytes, postings: TermPostings, lengths: array | None
) -> None:
    """Store a rare term's few postings in its term record instead of a postings block.

    Whoosh reads such terms through its ``ListMatcher``; this skips the postings
    block (and its bookkeeping) that would otherwise be written for them, and
    :class:`CompactTermInfo` stores them as narrow arrays, not pickled.
    """
    docs, weights = postings.docs, postings.weights
    info = CompactTermInfo()
    info._weight = sum(weights)
    info._df = len(docs)
    info._maxweight = max(weights)
    info._minid = docs[0]
    info._maxid = docs[-1]
    if lengths is not None:
        doc_lengths = [lengths[doc] for doc in docs if lengths[doc]]
        if doc_lengths:
            info._minlength = min(doc_lengths)
            info._maxlength = max(doc_lengths)
    info.set_inlined(docs, weights, postings.values)
    fieldwriter._tindex.add(pack_ushort(fieldwriter._fieldid) + btext, info.to_bytes())


def _write_postings(
    writer: Any, postings: TermPostings, lengths: array | None, compression: int
) -> None:
    """Feed one term's postings to the codec's postings writer a block at a time.

    Blocks of a few postings are left uncompressed: zlib costs more time there than
    it saves bytes (the block header says which blocks are compressed).
    """
    docs, weights, values = postings.docs, postings.weights, postings.values
    limit = writer._blocklimit
    total = len(docs)
    writer._compression = compression if total >= COMPRESS_FROM else 0
    for start in range(0, total, limit):
        end = min(start + limit, total)
        writer._ids.extend(docs[start:end])
        block_weights = weights[start:end]
        writer._weights.extend(block_weights)
        writer._maxweight = max(writer._maxweight, max(block_weights))
        writer._values.extend(value for value in values[start:end] if value)
        if lengths is not None:
            block_lengths = [lengths[doc] for doc in docs[start:end] if lengths[doc]]
            if block_lengths:
                low, high = min(block_lengths), max(block_lengths)
                if writer._minlength is None or low < writer._minlength:
                    writer._minlength = low
                writer._maxlength = max(writer._maxlength, high)
        if end - start == limit and end < total:
            writer._write_block()  # also starts a new block
