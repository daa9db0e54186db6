"""Reading a term's postings out of the index into NumPy arrays, once per commit.

Whoosh's matchers decode postings one document at a time through several layers of
Python calls (about 1.5 µs per posting: 25 ms for a word like "said"), and a search that
needs the whole result set for facets pays that on every query. Here a term's postings
are decoded a block at a time into NumPy arrays (the block's ids are delta-decoded with
``cumsum``) and kept by the caller's cache, so a repeated term costs a dictionary
lookup and the set arithmetic and scoring after it run over arrays.

The block-level fast paths read the blocks of searchsvc's own codec
(``searchsvc.index.codec``) and the Whoosh 2.7 ``W3LeafMatcher`` block layout (pinned by
``whoosh-reloaded==2.7.5``) of indexes written before it; any other matcher goes through
the public matcher API, which gives the same result, only slower.
"""

from __future__ import annotations

from itertools import compress
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import WrappingMatcher
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher

from searchsvc.index.codec import CompactLeafMatcher, RawPostings

_NO_IDS = np.zeros(0, dtype=np.int32)
_NO_TFS = np.zeros(0, dtype=np.float64)


class TermPostings:
    """The live documents containing one term in one field, in docnum order.

    ``ids`` are docnums and ``tfs`` term frequencies (the index's field boost divided
    out), both NumPy arrays; the encoded positions of all documents are kept as one
    byte string with offsets (a few bytes a posting, not a Python object each) and
    decoded per document only when a phrase or proximity asks.
    """

    __slots__ = ("_offsets", "_positions", "decode", "ids", "tfs")

    def __init__(
        self,
        ids: np.ndarray,
        tfs: np.ndarray,
        values: list[bytes] | None = None,
        decode: Any = None,
    ) -> None:
        self.ids = ids
        self.tfs = tfs
        self.decode = decode
        if values is None:
            self._positions, self._offsets = b"", None
        else:
            values = [value or b"" for value in values]
            self._positions = b"".join(values)
            lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
            self._offsets = np.concatenate(([0], np.cumsum(lengths)))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        """Memory held, for the cache's budget."""
        offsets = 0 if self._offsets is None else self._offsets.nbytes
        return self.ids.nbytes + self.tfs.nbytes + len(self._positions) + offsets + 200

    def positions(self, docnum: int) -> list[int]:
        """Word positions of the term in ``docnum`` (empty if absent or not recorded)."""
        if self._offsets is None:
            return []
        # The array's own method: ``np.searchsorted`` adds a dispatch layer that costs
        # more than the search, and a reranked page asks several times per document.
        at = int(self.ids.searchsorted(docnum))
        if at == len(self.ids) or self.ids[at] != docnum:
            return []
        start, end = self._offsets[at : at + 2].tolist()
        return self.decode(self._positions[start:end]) if end > start else []


EMPTY_POSTINGS = TermPostings(_NO_IDS, _NO_TFS)


def read_postings(searcher: Searcher, field: str, text: str) -> TermPostings:
    """All live postings of ``text`` in ``field`` across the searcher's segments."""
    field_type = searcher.schema[field]
    fmt = field_type.format
    boost = fmt.field_boost or 1.0
    with_positions = fmt.supports("positions")
    id_parts: list[np.ndarray] = []
    weight_parts: list[np.ndarray] = []
    values: list[bytes] | None = [] if with_positions else None
    for leaf, offset in searcher.leaf_searchers():
        reader = leaf.reader()
        try:
            matcher = reader.postings(field, text)
        except TermNotFound:
            continue
        ids, weights, block_values = _segment_postings(matcher)
        if reader.has_deletions():
            keep = ~np.isin(ids, deleted_docnums(reader))
            ids, weights = ids[keep], weights[keep]
            block_values = list(compress(block_values, keep.tolist()))
        id_parts.append(ids + offset)
        weight_parts.append(weights)
        if values is not None:
            values.extend(block_values)
    if not id_parts or not sum(map(len, id_parts)):
        return EMPTY_POSTINGS
    ids = np.concatenate(id_parts).astype(np.int32)
    weights = np.concatenate(weight_parts).astype(np.float64)
    tfs = weights if boost == 1.0 else weights / boost
    decode = fmt.decode_positions if with_positions else None
    return TermPostings(ids, tfs, values, decode)


def deleted_docnums(segment_reader: Any) -> np.ndarray:
    """The deleted docnums of one segment (numbered within it)."""
    deleted = segment_reader.deleted_docs_set  # a cached property
    return np.fromiter(deleted, dtype=np.int64, count=len(deleted))


def _segment_postings(matcher: Any) -> tuple[np.ndarray, np.ndarray, list]:
    """(docnums, weights, values) of one segment's postings, deletions not yet removed."""
    while isinstance(matcher, WrappingMatcher):
        matcher = matcher.child  # deletions are filtered by the caller
    if isinstance(matcher, CompactLeafMatcher):
        return _decode_compact_blocks(matcher)
    if isinstance(matcher, W3LeafMatcher) and _has_block_layout(matcher):
        return _decode_blocks(matcher)
    ids, weights, values = [], [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        values.append(matcher.value())
        matcher.next()
    return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64), values


def _has_block_layout(matcher: W3LeafMatcher) -> bool:
    names = ("_read_data", "_goto", "_lastblock", "_nextoffset", "_blocklength", "_byteids")
    if not all(hasattr(matcher, name) for name in names):
        return False
    fixed = getattr(matcher, "_fixedsize", None)
    return fixed is None or fixed <= 0  # fixed-size values would need slicing


def _decode_blocks(matcher: W3LeafMatcher) -> tuple[np.ndarray, np.ndarray, list]:
    id_blocks: list[np.ndarray] = []
    weight_blocks: list[Any] = []
    values: list = []
    variable = matcher._fixedsize is None or matcher._fixedsize < 0
    while matcher.is_active():
        matcher._read_data()
        raw_ids, raw_weights, raw_values = matcher._data[:3]
        count = matcher._blocklength
        if matcher._byteids:
            id_blocks.append(np.frombuffer(bytes(raw_ids), dtype=np.uint8).astype(np.int64))
        else:
            id_blocks.append(np.cumsum(np.asarray(raw_ids, dtype=np.int64)))
        if raw_weights is None:
            weight_blocks.append(np.ones(count))
        elif isinstance(raw_weights, float):
            weight_blocks.append(np.full(count, raw_weights))
        else:
            weight_blocks.append(np.asarray(raw_weights, dtype=np.float64))
        if variable and raw_values is not None:
            values.extend(raw_values)
        else:
            values.extend((None,) * count)
        if matcher._lastblock:
            break
        matcher._goto(matcher._nextoffset)
    if not id_blocks:
        return _NO_IDS.astype(np.int64), _NO_TFS, values
    return np.concatenate(id_blocks), np.concatenate(weight_blocks), values


def _decode_compact_blocks(matcher: CompactLeafMatcher) -> tuple[np.ndarray, np.ndarray, list]:
    """The codec's blocks as arrays: ids by ``cumsum`` of the gaps, weights by multiplication."""
    id_blocks: list[np.ndarray] = []
    weight_blocks: list[np.ndarray] = []
    values: list = []
    fixed = matcher._fixedsize
    for count, raw in matcher.raw_blocks():
        gaps = np.frombuffer(raw.gaps, dtype=raw.gaps.typecode).astype(np.int64)
        id_blocks.append(np.cumsum(np.concatenate(([raw.first_id], gaps))))
        weight_blocks.append(_block_weights(count, raw))
        values.extend(raw.values(count, fixed))
    if not id_blocks:
        return _NO_IDS.astype(np.int64), _NO_TFS, values
    return np.concatenate(id_blocks), np.concatenate(weight_blocks), values


def _block_weights(count: int, raw: RawPostings) -> np.ndarray:
    """Weights rounded to 32-bit floats, as Whoosh's matcher returns them."""
    if raw.weight_items is None:
        return np.full(count, raw.max_weight)
    items = np.frombuffer(raw.weight_items, dtype=raw.weight_items.typecode)
    if raw.weight_items.typecode == "f":
        return items.astype(np.float64)
    return (items * raw.unit()).astype(np.float32).astype(np.float64)
