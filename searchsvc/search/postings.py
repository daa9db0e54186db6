"""Reading a term's postings out of the index into NumPy arrays, once per commit.

Whoosh's matchers decode postings one document at a time through several layers of
Python calls (about 1.5 µs per posting: 25 ms for a word like "said"), and a search that
needs the whole result set for facets pays that on every query. Here a term's postings
are decoded a block at a time into NumPy arrays and kept by the caller's cache, so a
repeated term costs a dictionary lookup and the set arithmetic and scoring after it run
over arrays.

Most searches need only the documents and term frequencies of a word, not where in each
document it stands, so the first sight of a word must not pay for its positions. A
Whoosh 2.7 block is one (zlib-compressed) pickle of ``(ids, weights, values)`` whose
values, one pickled position list per posting, make up most of its bytes and almost all
of its unpickling (a Python string and a codec call each). The ids and weights come
first, so only the start of a block is inflated and parsed (``_BlockHead``); the block's
bytes are kept as read and unpickled whole only when a phrase, proximity or highlight
asks for the positions of a document in it.

Blocks of searchsvc's own codec (``searchsvc.index.codec``) hold ids, weights and
values as arrays: a term's record is looked up once, its blocks in a segment are read
with one call and their ids and weights, stored plain, decoded together by NumPy
(``CompactTermsReader.decode_postings``); a block's values are inflated and sliced out
only when one of them is asked for. A word that only rescores a query's matches (an
expansion word of feedback) is read by :func:`read_frequencies`: its docnums, and its
frequencies read from the blocks as they lie for the postings asked for
(``RunLayout.weights_at``), or only its blocks near some documents (``sub_run``).

Indexes written before it are read through the Whoosh 2.7 ``W3LeafMatcher`` block
layout (pinned by ``whoosh-reloaded==2.7.5``); a block of another shape is unpickled
whole, and any other matcher goes through the public matcher API: the same result, only
slower.
"""

from __future__ import annotations

import io
import itertools
import pickle
import re
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3LeafMatcher
from whoosh.matching import ListMatcher, WrappingMatcher
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher

from searchsvc.index.codec import (
    BlockRun,
    CompactLeafMatcher,
    CompactTermInfo,
    CompactTermsReader,
    DecodedPostings,
    RunLayout,
    RunValues,
    blocks_holding,
    joined_runs,
    sub_run,
)
from searchsvc.search.docsets import located

_NO_IDS = np.zeros(0, dtype=np.int32)
#: Runs of at most this many postings are decoded together (see :func:`_decoded_together`).
JOINED_POSTINGS = 4096
_NO_WEIGHTS = np.zeros(0, dtype=np.uint8)
#: The types weights are kept in, narrowest first (see :func:`narrowest`).
_WEIGHT_TYPES = (np.uint8, np.uint16, np.float32)


class StoredBlock:
    """The bytes of one postings block as read from disk, unpickled only when asked."""

    __slots__ = ("compressed", "data")

    def __init__(self, data: bytes, compressed: bool) -> None:
        self.data = data
        self.compressed = compressed

    def values(self) -> Sequence[Any]:
        data = zlib.decompress(self.data) if self.compressed else self.data
        return pickle.loads(data)[2]

    def __len__(self) -> int:
        return len(self.data)


class CompactValues(StoredBlock):
    """The values of a segment's blocks of searchsvc's codec, sliced out when asked for."""

    __slots__ = ("run",)

    def __init__(self, run: RunValues) -> None:
        super().__init__(run.extent, False)
        self.run = run

    def values(self) -> Sequence[Any]:
        return self.run

    def __len__(self) -> int:
        return self.run.nbytes


#: One block's per-posting values: kept as read, or already a sequence (inlined postings,
#: the public-API fallback).
BlockValues = StoredBlock | Sequence[Any]


class TermPostings:
    """The live documents containing one term in one field, in docnum order.

    ``ids`` are docnums and ``weights`` the index's weights (term frequency times the
    field's ``boost``) in the narrowest type that gives them back exactly
    (:func:`narrowest`): a common word's postings are kept by the query cache, and its
    frequencies fit a byte where a float64 takes eight. ``tfs`` divides the boost out on
    use, in float64 as the index's reader does, so every score is the same. Positions stay
    in their blocks (``_blocks``, the postings of block ``b`` being
    ``_block_starts[b]:_block_starts[b + 1]`` before deleted documents were dropped;
    ``_slots`` maps each live posting to that numbering when some were) and a block is
    unpickled when a document in it is asked for.
    """

    __slots__ = (
        "_block_starts",
        "_blocks",
        "_last",
        "_slots",
        "boost",
        "decode",
        "decode_spans",
        "ids",
        "weights",
    )

    def __init__(
        self,
        ids: np.ndarray,
        weights: np.ndarray,
        boost: float = 1.0,
        blocks: list[BlockValues] | None = None,
        block_starts: np.ndarray | None = None,
        slots: np.ndarray | None = None,
        decode: Any = None,
        decode_spans: Any = None,
    ) -> None:
        self.ids = ids
        self.weights = weights
        self.boost = boost
        self.decode = decode
        #: The format's decoder of many values at once, if it has one (see position_lists).
        self.decode_spans = decode_spans
        self._blocks = blocks or []
        self._block_starts = block_starts
        self._slots = slots
        #: The block decoded last (number, values): a phrase walks documents in order.
        self._last: tuple[int, Sequence[Any]] = (-1, ())

    @property
    def tfs(self) -> np.ndarray:
        """Term frequencies (float64), one per posting."""
        return self.tfs_at(slice(None))

    def tfs_at(self, selection: np.ndarray | slice) -> np.ndarray:
        """The term frequencies of the postings ``selection`` picks (a boolean mask or
        indexes), widened only for those: an expansion word scores only a query's matches."""
        wide = self.weights[selection].astype(np.float64, copy=False)
        return wide if self.boost == 1.0 else wide / self.boost

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        """Memory held, for the cache's budget."""
        arrays = [self.ids, self.weights, self._block_starts, self._slots]
        held = sum(array.nbytes for array in arrays if array is not None)
        stored = sum(
            len(block) if isinstance(block, StoredBlock) else 60 * len(block)
            for block in self._blocks
        )
        return held + stored + 100 * len(self._blocks) + 200

    def positions(self, docnum: int) -> list[int]:
        """Word positions of the term in ``docnum`` (empty if absent or not recorded)."""
        if self.decode is None or self._block_starts is None:
            return []
        # The array's own method: ``np.searchsorted`` adds a dispatch layer that costs
        # more than the search, and a reranked page asks several times per document. The
        # docnum in the ids' own type: a Python int has NumPy widen the whole array first.
        at = int(self.ids.searchsorted(self.ids.dtype.type(docnum)))
        if at == len(self.ids) or self.ids[at] != docnum:
            return []
        slot = at if self._slots is None else int(self._slots[at])
        number = int(self._block_starts.searchsorted(slot, side="right")) - 1
        return self._positions_at(number, slot - int(self._block_starts[number]))

    def position_lists(self, docnums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`positions` of each of ``docnums`` as arrays: how many positions each
        has, and all of them one document after the other.

        A phrase asks for every article that has all its words (hundreds of thousands at
        a million articles): the documents are looked up together, and where the format
        decodes many values at once (``decode_spans``) the values of a segment are read
        as spans of its blocks' bytes and decoded by NumPy, with no Python step per
        document.
        """
        if self.decode is None or self._block_starts is None or not len(self.ids):
            return np.zeros(len(docnums), dtype=np.int64), np.zeros(0, dtype=np.int64)
        at, present = located(self.ids, docnums)
        slots = at if self._slots is None else self._slots[at]
        numbers = self._block_starts.searchsorted(slots, side="right") - 1
        within = slots - self._block_starts[numbers]
        holding = np.unique(numbers[present]).tolist()
        if self.decode_spans is None or not all(
            isinstance(self._blocks[number], CompactValues) for number in holding
        ):
            return self._listed_positions(present, numbers, within)
        starts = np.zeros(len(docnums), dtype=np.int64)
        ends = np.zeros(len(docnums), dtype=np.int64)
        buffers: list[bytes] = []
        base = 0
        for number in holding:
            chosen = np.flatnonzero(present & (numbers == number))
            data, first, last = self._blocks[number].run.value_spans(within[chosen])
            starts[chosen], ends[chosen] = first + base, last + base
            buffers.append(data)
            base += len(data)
        return self.decode_spans(np.frombuffer(b"".join(buffers), dtype=np.uint8), starts, ends)

    def _listed_positions(
        self, present: np.ndarray, numbers: np.ndarray, within: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`position_lists` one value at a time, for formats and blocks that only
        give values one by one."""
        lists = [
            self._positions_at(number, index) if found else []
            for found, number, index in zip(
                present.tolist(), numbers.tolist(), within.tolist(), strict=True
            )
        ]
        lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        return lengths, np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64)

    def _positions_at(self, number: int, index: int) -> list[int]:
        """Positions of the ``index``-th posting of block ``number``."""
        value = self._block_values(number)[index]
        return self.decode(value) if value else []

    def _block_values(self, number: int) -> Sequence[Any]:
        last_number, values = self._last
        if last_number != number:
            block = self._blocks[number]
            values = block.values() if isinstance(block, StoredBlock) else block
            self._last = (number, values)  # one assignment: safe between threads
        return values


EMPTY_POSTINGS = TermPostings(_NO_IDS, _NO_WEIGHTS)


class _SegmentWeights(NamedTuple):
    """Where one segment's part of a :class:`TermFrequencies` finds its weights."""

    #: The segment's postings, decoded when asked for (the term's from ``start`` on, in
    #: blocks decoded with other terms'), or their weights.
    source: RunLayout | np.ndarray
    #: Each live posting's place among the segment's postings (None: none deleted).
    slots: np.ndarray | None
    start: int = 0

    def places(self, indexes: np.ndarray) -> np.ndarray:
        """Where the weights of the live postings at ``indexes`` lie in ``source``."""
        slots = indexes if self.slots is None else self.slots[indexes]
        return slots + self.start if self.start else slots


class TermFrequencies:
    """The live documents containing one term in one field, in docnum order, with the
    term's frequency in each decoded only for the documents asked for (:meth:`tfs_at`).

    An expansion word scores the query's matches alone (often a small part of its
    postings), and its IDF needs only its documents: its weights are read from the
    blocks as they lie, for those postings only, where decoding them all cost more than
    the ids. Not for keeping: it holds the term's bytes as read.
    """

    __slots__ = ("_parts", "_starts", "boost", "ids")

    def __init__(
        self, ids: np.ndarray, parts: list[_SegmentWeights], counts: list[int], boost: float
    ):
        self.ids = ids
        self.boost = boost
        self._parts = parts
        #: Where each segment's postings start in ``ids``, and where the last one ends.
        self._starts = np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))

    def tfs_at(self, indexes: np.ndarray) -> np.ndarray:
        """The term frequencies (float64) of the postings at ``indexes`` (ascending), as
        :meth:`TermPostings.tfs_at` gives them."""
        return tfs_together([self], [indexes])[0]

    def _wanted(self, indexes: np.ndarray) -> Iterator[tuple[_SegmentWeights, np.ndarray]]:
        """Each segment's part with the places of its weights among ``indexes``."""
        bounds = indexes.searchsorted(self._starts).tolist()
        for part, start, first, end in zip(
            self._parts, self._starts.tolist(), bounds, bounds[1:], strict=False
        ):
            if end > first:
                yield part, part.places(indexes[first:end] - start)

    def __len__(self) -> int:
        return len(self.ids)


def tfs_together(
    frequencies: Sequence[TermFrequencies], indexes: Sequence[np.ndarray]
) -> list[np.ndarray]:
    """Each of ``frequencies``' :meth:`~TermFrequencies.tfs_at` its ``indexes``.

    Terms read together (:func:`read_frequencies_together`) share a layout in each
    segment, whose weights are read by one call for all of them: a call costs a few
    steps per block of the layout, of every term's blocks."""
    wanted = [list(found._wanted(at)) for found, at in zip(frequencies, indexes, strict=True)]
    by_layout: dict[int, tuple[RunLayout, list[np.ndarray]]] = {}
    for part, places in itertools.chain.from_iterable(wanted):
        if isinstance(part.source, RunLayout):
            by_layout.setdefault(id(part.source), (part.source, []))[1].append(places)
    read: dict[int, Iterator[np.ndarray]] = {}
    for key, (layout, places) in by_layout.items():
        weights = layout.weights_at(np.concatenate(places))
        sizes = np.cumsum([len(found) for found in places[:-1]], dtype=np.int64)
        read[key] = iter(np.split(weights, sizes))
    tfs = []
    for found, parts in zip(frequencies, wanted, strict=True):
        pieces = [
            next(read[id(part.source)]) if isinstance(part.source, RunLayout) else part.source[at]
            for part, at in parts
        ]
        wide = np.concatenate(pieces) if pieces else np.zeros(0)
        tfs.append(wide if found.boost == 1.0 else wide / found.boost)
    return tfs


def read_frequencies(
    searcher: Searcher, field: str, text: str, near: np.ndarray | None = None
) -> TermFrequencies:
    """The live postings of ``text`` in ``field`` across the searcher's segments, their
    frequencies left in the blocks until asked for (:class:`TermFrequencies`).

    ``near`` (sorted docnums): only the blocks whose ids may hold one of them are read,
    so the documents are those of the term's postings near them, all of ``near``'s
    among them; without it, all of the term's.
    """
    return read_frequencies_together(searcher, field, [text], [near])[0]


def read_frequencies_together(
    searcher: Searcher,
    field: str,
    texts: Sequence[str],
    nears: Sequence[np.ndarray | None],
) -> list[TermFrequencies]:
    """:func:`read_frequencies` of each of ``texts``, near the docnums of the ``nears``
    beside it (None: all of its postings), their blocks in a segment decoded together
    (:func:`~searchsvc.index.codec.joined_runs`).

    Decoding a term's blocks costs mostly a fixed number of NumPy steps, whatever their
    length, and feedback reads ten words in each text field for every new query: read
    together, they cost about what one did. Their frequencies are best read together
    too (:func:`tfs_together`): they share the blocks' bytes.
    """
    id_parts: list[list[np.ndarray]] = [[] for _ in texts]
    parts: list[list[_SegmentWeights]] = [[] for _ in texts]
    for reader, offset in _segment_readers(searcher):
        count = reader.doc_count_all()
        local = [None if near is None else _segment_docnums(near, offset, count) for near in nears]
        found = _leaf_frequencies(reader, field, texts, local)
        deleted = deleted_docnums(reader) if reader.has_deletions() else None
        for number, (ids, weights) in found.items():
            if deleted is not None:
                slots = np.flatnonzero(~np.isin(ids, deleted))
                ids, weights = ids[slots], weights._replace(slots=slots)
            id_parts[number].append(ids + offset if offset else ids)
            parts[number].append(weights)
    boost = searcher.schema[field].format.field_boost or 1.0
    return [
        TermFrequencies(_joined_ids(ids), weights, list(map(len, ids)), boost)
        for ids, weights in zip(id_parts, parts, strict=True)
    ]


def _joined_ids(parts: list[np.ndarray]) -> np.ndarray:
    ids = _NO_IDS if not parts else parts[0] if len(parts) == 1 else np.concatenate(parts)
    return ids.astype(np.int32)


def _segment_readers(searcher: Searcher) -> Iterator[tuple[Any, int]]:
    """(reader, first docnum) of each of the searcher's segments."""
    for leaf, offset in searcher.leaf_searchers():
        yield leaf.reader(), offset


def _segment_docnums(docnums: np.ndarray, offset: int, count: int) -> np.ndarray:
    """Those of ``docnums`` (sorted) in the segment of ``count`` documents from
    ``offset``, numbered within it (in their own type: the first segment's are a view)."""
    first, end = docnums.searchsorted([offset, offset + count]).tolist()
    inside = docnums[first:end]
    return inside - inside.dtype.type(offset) if offset else inside


def _leaf_frequencies(
    reader: Any, field: str, texts: Sequence[str], nears: Sequence[np.ndarray | None]
) -> dict[int, tuple[np.ndarray, _SegmentWeights]]:
    """One segment's docnums of those of ``texts`` it has, by their place in ``texts``,
    and where their weights are: the blocks of searchsvc's codec as read (those that may
    hold the documents of the ``nears`` beside them, where given), all of them decoded by
    one layout, else the weights of :func:`_leaf_postings`."""
    found: dict[int, tuple[np.ndarray, _SegmentWeights]] = {}
    runs: list[tuple[int, BlockRun]] = []
    for number, (text, near) in enumerate(zip(texts, nears, strict=True)):
        try:
            record = _term_record(reader, field, text)
        except TermNotFound:
            continue
        if record is None or record.info.is_inlined():
            postings = _leaf_postings(reader, field, text, False, record)
            found[number] = (postings.ids, _SegmentWeights(postings.weights, None))
            continue
        run = record.terms.read_run(record.info)
        if near is not None:
            run = sub_run(run, blocks_holding(run, near))
        if len(run.counts):
            runs.append((number, run))
        else:
            found[number] = (np.zeros(0, dtype=np.int64), _SegmentWeights(np.zeros(0), None))
    for group in _decoded_together(runs):
        layout = RunLayout(joined_runs([run for _, run, _ in group]))
        ids = layout.ids()
        start = 0
        for number, _, size in group:
            found[number] = (ids[start : start + size], _SegmentWeights(layout, None, start))
            start += size
    return found


def _decoded_together(
    runs: list[tuple[int, BlockRun]],
) -> list[list[tuple[int, BlockRun, int]]]:
    """``runs`` (numbered) in the groups that are decoded together, each run with its
    number of postings: the short ones in one group, each long one alone. A long run's
    decoding costs what its postings do, which joining cannot save, and one long run
    among many would make them all pay its slower steps (mixed widths of gaps)."""
    sized = [(number, run, int(run.counts.sum())) for number, run in runs]
    short = [item for item in sized if item[2] <= JOINED_POSTINGS]
    return ([short] if short else []) + [[item] for item in sized if item[2] > JOINED_POSTINGS]


@dataclass
class _SegmentPostings:
    """One segment's postings, deletions not yet removed."""

    ids: np.ndarray
    weights: np.ndarray
    blocks: list[BlockValues]
    block_sizes: list[int]


def read_postings(searcher: Searcher, field: str, text: str) -> TermPostings:
    """All live postings of ``text`` in ``field`` across the searcher's segments."""
    fmt = searcher.schema[field].format
    boost = fmt.field_boost or 1.0
    with_positions = fmt.supports("positions")
    id_parts: list[np.ndarray] = []
    weight_parts: list[np.ndarray] = []
    slot_parts: list[np.ndarray] = []
    blocks: list[BlockValues] = []
    block_sizes: list[int] = []
    deleted_any = False
    for reader, offset in _segment_readers(searcher):
        try:
            found = _leaf_postings(reader, field, text, with_positions)
        except TermNotFound:
            continue
        slots = np.arange(len(found.ids), dtype=np.int64) + sum(block_sizes)
        ids, weights = found.ids, found.weights
        if reader.has_deletions():
            keep = ~np.isin(ids, deleted_docnums(reader))
            ids, weights, slots = ids[keep], weights[keep], slots[keep]
            deleted_any = True
        id_parts.append(ids + offset)
        weight_parts.append(weights)
        slot_parts.append(slots)
        blocks.extend(found.blocks)
        block_sizes.extend(found.block_sizes)
    if not id_parts or not sum(map(len, id_parts)):
        return EMPTY_POSTINGS
    ids = np.concatenate(id_parts).astype(np.int32)
    weights = narrowest(np.concatenate(weight_parts).astype(np.float64, copy=False))
    if not with_positions:
        return TermPostings(ids, weights, boost)
    return TermPostings(
        ids,
        weights,
        boost,
        blocks,
        np.concatenate(([0], np.cumsum(block_sizes))).astype(np.int64),
        np.concatenate(slot_parts) if deleted_any else None,
        fmt.decode_positions,
        getattr(fmt, "decode_spans", None),
    )


def narrowest(weights: np.ndarray) -> np.ndarray:
    """``weights`` (float64) in the narrowest of :data:`_WEIGHT_TYPES` that holds each of
    them exactly, else as they are. Text weights are whole multiples of the field boost
    (1 or 2), as 32-bit floats in the index: a byte each for most terms."""
    for weight_type in _WEIGHT_TYPES:
        with np.errstate(over="ignore", invalid="ignore"):  # checked just below
            narrow = weights.astype(weight_type)
        if np.array_equal(narrow, weights):
            return narrow
    return weights


def deleted_docnums(segment_reader: Any) -> np.ndarray:
    """The deleted docnums of one segment (numbered within it)."""
    deleted = segment_reader.deleted_docs_set  # a cached property
    return np.fromiter(deleted, dtype=np.int64, count=len(deleted))


class _TermRecord(NamedTuple):
    """A term's record in a segment of searchsvc's codec, and the table it is in."""

    terms: CompactTermsReader
    info: CompactTermInfo


def _term_record(reader: Any, field: str, text: str) -> _TermRecord | None:
    """The record of ``text`` in ``field`` (TermNotFound if the segment has none) where
    the segment is of searchsvc's codec and open; else None (read through a matcher)."""
    terms = getattr(reader, "_terms", None)
    if not isinstance(terms, CompactTermsReader) or reader.is_closed or field not in reader.schema:
        return None
    return _TermRecord(terms, terms.term_info(field, reader._text_to_bytes(field, text)))


def _leaf_postings(
    reader: Any,
    field: str,
    text: str,
    with_positions: bool,
    record: _TermRecord | None = None,
) -> _SegmentPostings:
    """One segment's postings of ``text`` (TermNotFound if it has none). A segment of
    searchsvc's codec is read from the term's record (``record``, where the caller has
    looked it up), without a matcher; others through their matcher."""
    record = record or _term_record(reader, field, text)
    if record is None:
        return _segment_postings(reader.postings(field, text), with_positions)
    if record.info.is_inlined():
        return _listed_postings(*record.info.inlined_postings(), with_positions)
    decoded = record.terms.decode_postings(record.info, reader.schema[field].format)
    return _decoded_postings(decoded, with_positions)


def _segment_postings(matcher: Any, with_positions: bool) -> _SegmentPostings:
    while isinstance(matcher, WrappingMatcher):
        matcher = matcher.child  # deletions are filtered by the caller
    if isinstance(matcher, CompactLeafMatcher):
        return _decoded_postings(matcher.decode_all(), with_positions)
    if isinstance(matcher, W3LeafMatcher) and _has_block_layout(matcher):
        try:
            return _decode_blocks(matcher, with_positions)
        except _UnknownBlocks:
            pass  # read them the slow way below, which also reports real damage
    if isinstance(matcher, ListMatcher) and _has_list_layout(matcher):
        return _inlined_postings(matcher, with_positions)
    ids, weights, values = [], [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        if with_positions:
            values.append(matcher.value())
        matcher.next()
    return _SegmentPostings(
        np.array(ids, dtype=np.int64),
        np.array(weights, dtype=np.float64),
        [values] if with_positions else [],
        [len(ids)] if with_positions else [],
    )


def _decoded_postings(decoded: DecodedPostings, with_positions: bool) -> _SegmentPostings:
    """The codec's blocks, decoded together; their values stay in the term's bytes until
    a document's positions are asked for (one "block" per segment here)."""
    if not with_positions:
        return _SegmentPostings(decoded.ids, decoded.weights, [], [])
    return _SegmentPostings(
        decoded.ids, decoded.weights, [CompactValues(decoded.values)], [len(decoded.ids)]
    )


def _has_list_layout(matcher: ListMatcher) -> bool:
    return all(hasattr(matcher, name) for name in ("_ids", "_weights", "_values", "_i"))


def _inlined_postings(matcher: ListMatcher, with_positions: bool) -> _SegmentPostings:
    """Postings Whoosh inlined into the term's record: already Python tuples."""
    start = matcher._i
    values = matcher._values
    return _listed_postings(
        matcher._ids[start:],
        None if matcher._weights is None else matcher._weights[start:],
        None if values is None else values[start:],
        with_positions,
    )


def _listed_postings(
    ids: Sequence[int],
    weights: Sequence[float] | None,
    values: Sequence[Any] | None,
    with_positions: bool,
) -> _SegmentPostings:
    ids = np.asarray(ids, dtype=np.int64)
    weights = np.ones(len(ids)) if weights is None else np.asarray(weights, dtype=np.float64)
    values = (None,) * len(ids) if values is None else values
    return _SegmentPostings(
        ids,
        weights,
        [values] if with_positions else [],
        [len(ids)] if with_positions else [],
    )


def _has_block_layout(matcher: W3LeafMatcher) -> bool:
    names = ("_postfile", "_startoffset", "_length", "_byteids", "_fixedsize")
    if not all(hasattr(matcher, name) for name in names) or matcher._byteids:
        return False
    fixed = matcher._fixedsize
    return fixed is None or fixed <= 0  # fixed-size values would need slicing


class _UnknownBlocks(Exception):
    """Postings in a shape the block reader does not know."""


def _decode_blocks(matcher: W3LeafMatcher, with_positions: bool) -> _SegmentPostings:
    """A term's blocks in one segment, read with one call and parsed in one pass.

    The ids of every block are delta-encoded from 0, so they are gathered into one list
    and turned into docnums by one ``cumsum`` less each block's starting sum; the
    weights arrive as 9-byte pickled floats and are read by one ``frombuffer``.
    """
    extent = matcher._postfile.get(matcher._startoffset, _extent_length(matcher))
    deltas: list[int] = []
    weight_records: list[bytes] = []
    blocks: list[BlockValues] = []
    block_sizes: list[int] = []
    for count, compression, raw in _blocks_of(extent):
        head = _BlockHead.parse(raw, count, compression)
        if head is None:
            try:
                head = _BlockHead.unpickle(raw, count, compression)
            except (pickle.UnpicklingError, zlib.error, ValueError, TypeError, EOFError) as error:
                raise _UnknownBlocks from error
        deltas.extend(head.deltas)
        weight_records.append(head.weight_records)
        blocks.append(head.values)
        block_sizes.append(count)
    ids = _docnums(deltas, block_sizes)
    weights = _floats(b"".join(weight_records))
    if weights is None or len(weights) != len(ids):
        raise _UnknownBlocks
    if not with_positions:
        blocks, block_sizes = [], []
    return _SegmentPostings(ids, weights, blocks, block_sizes)


_BLOCK_LENGTH = struct.Struct("!i")


def _extent_length(matcher: W3LeafMatcher) -> int:
    """The byte length of the term's postings.

    Whoosh 2.7.5 reads it back from the term record as a one-item tuple (its own
    matcher walks the blocks and never uses it), and writes it as a plain int.
    """
    length = matcher._length
    if isinstance(length, tuple) and len(length) == 1:
        length = length[0]
    if not isinstance(length, int) or length <= 0:
        raise _UnknownBlocks
    return length


def _blocks_of(extent: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(postings, compression, data) of each block of a term's postings, in order.

    Each block is its byte length (negative for the last one), a pickled info tuple
    (postings, last id, highest weight, compression, shortest and longest length) and
    the block's data.
    """
    if not extent.startswith(WHOOSH3_HEADER_MAGIC):
        raise _UnknownBlocks
    stream = io.BytesIO(extent)
    position = len(WHOOSH3_HEADER_MAGIC)
    while position < len(extent):
        (length,) = _BLOCK_LENGTH.unpack_from(extent, position)
        stream.seek(position + _BLOCK_LENGTH.size)
        try:
            info = pickle.load(stream)
        except (pickle.UnpicklingError, EOFError, ValueError) as error:
            raise _UnknownBlocks from error
        end = position + _BLOCK_LENGTH.size + abs(length)
        yield info[0], info[3], extent[stream.tell() : end]
        if length < 0:
            return
        position = end


def _docnums(deltas: list[int], block_sizes: list[int]) -> np.ndarray:
    sums = np.cumsum(np.array(deltas, dtype=np.int64))
    sizes = np.array(block_sizes, dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    before = np.where(starts > 0, sums[np.maximum(starts - 1, 0)], 0)
    return sums - np.repeat(before, sizes)


def _floats(records: bytes) -> np.ndarray | None:
    """Pickled floats (``G`` and 8 big-endian bytes each) as an array; None if not that."""
    if len(records) % 9:
        return None
    table = np.frombuffer(records, dtype=np.uint8).reshape(-1, 9)
    if not (table[:, 0] == ord("G")).all():
        return None
    return table[:, 1:].copy().view(">f8").ravel().astype(np.float64)


#: The ids of a block: a run of pickled small ints (1, 2 or 4 bytes after the opcode).
_INT_RUN = re.compile(rb"(?:K.|M..|J....)*", re.DOTALL)
_PICKLE_START = b"\x80\x02("  # protocol 2, then the mark of the ids tuple
_FLOAT = struct.Struct(">d")
#: Enough inflated bytes for the head of a block of ``count`` postings: each id at most
#: 5 bytes, each weight 9, and the few opcodes between them.
_HEAD_SLACK = 32


@dataclass(frozen=True)
class _BlockHead:
    """The ids and weights at the start of a Whoosh 2.7 postings block.

    The block pickles ``(delta-encoded ids, weights, values)`` with protocol 2: the ids
    as ``MARK``, ``count`` ints and ``TUPLE``, then the tuple's memo entry, then the
    weights as ``None`` (all 1), one float (all the same) or ``MARK``, ``count`` floats
    and ``TUPLE``. Blocks of three postings or fewer pickle their tuples without a mark
    and are unpickled whole (:meth:`unpickle`), as is anything else unexpected.
    """

    deltas: list[int]
    #: The weights as pickled floats, checked by the caller for all blocks at once.
    weight_records: bytes
    values: BlockValues

    @classmethod
    def parse(cls, raw: bytes, count: int, compression: int) -> _BlockHead | None:
        if count <= 3:
            return None
        if compression:
            try:
                data = zlib.decompressobj().decompress(raw, 3 + 14 * count + _HEAD_SLACK)
            except zlib.error:
                return None
        else:
            data = raw
        if not data.startswith(_PICKLE_START):
            return None
        end = _INT_RUN.match(data, 3).end()
        deltas = pickle.loads(data[:end] + b"l.")  # the same ints, as a list
        if len(deltas) != count or data[end : end + 1] != b"t":
            return None
        weights = _weight_records(data, _after_memo(data, end + 1), count)
        if weights is None:
            return None
        return cls(deltas, weights, StoredBlock(raw, bool(compression)))

    @classmethod
    def unpickle(cls, raw: bytes, count: int, compression: int) -> _BlockHead:
        data = zlib.decompress(raw) if compression else raw
        deltas, weights, values = pickle.loads(data)[:3]
        if weights is None or isinstance(weights, float):
            weights = (1.0 if weights is None else weights,) * count
        records = b"".join(b"G" + _FLOAT.pack(weight) for weight in weights)
        return cls(list(deltas), records, values if values is not None else (None,) * count)


def _after_memo(data: bytes, at: int) -> int:
    """Past the memo opcode the pickler writes after a tuple (``BINPUT``/``LONG_BINPUT``)."""
    opcode = data[at : at + 1]
    if opcode == b"q":
        return at + 2
    if opcode == b"r":
        return at + 5
    return at


def _weight_records(data: bytes, at: int, count: int) -> bytes | None:
    opcode = data[at : at + 1]
    if opcode == b"N":
        return (b"G" + _FLOAT.pack(1.0)) * count
    if opcode == b"G" and len(data) >= at + 9:
        return data[at : at + 9] * count
    end = at + 1 + 9 * count
    if opcode != b"(" or data[end : end + 1] != b"t":
        return None
    return data[at + 1 : end]
