"""Reading a term's postings out of the index into plain Python lists, once per commit.

Whoosh's matchers decode postings one document at a time through several layers of
Python calls (about 1.5 µs per posting: 25 ms for a word like "said"), and a search that
needs the whole result set for facets pays that on every query. Here a term's postings
are decoded a block at a time (the block's ids are delta-decoded with
``itertools.accumulate``) and kept by the caller's cache, so a repeated term costs a
dictionary lookup and set arithmetic runs at C speed.

The block-level fast path reads the Whoosh 2.7 ``W3LeafMatcher`` block layout (pinned
by ``whoosh-reloaded==2.7.5``); any other matcher goes through the public matcher API,
which gives the same result, only slower.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import WrappingMatcher
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher


class TermPostings:
    """The live documents containing one term in one field, in docnum order.

    ``tfs`` are term frequencies (the index's field boost divided out); ``values`` are the
    encoded positions per document, decoded only when a phrase or proximity asks.
    """

    __slots__ = ("_docs", "decode", "ids", "tfs", "values")

    def __init__(
        self, ids: list[int], tfs: list[float], values: list[bytes] | None, decode: Any
    ) -> None:
        self.ids = ids
        self.tfs = tfs
        self.values = values
        self.decode = decode
        self._docs: frozenset[int] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def docs(self) -> frozenset[int]:
        if self._docs is None:
            self._docs = frozenset(self.ids)
        return self._docs

    def positions(self, docnum: int) -> list[int]:
        """Word positions of the term in ``docnum`` (empty if absent or not recorded)."""
        if self.values is None:
            return []
        at = bisect_left(self.ids, docnum)
        if at == len(self.ids) or self.ids[at] != docnum:
            return []
        return self.decode(self.values[at])


EMPTY_POSTINGS = TermPostings([], [], None, None)


def read_postings(searcher: Searcher, field: str, text: str) -> TermPostings:
    """All live postings of ``text`` in ``field`` across the searcher's segments."""
    field_type = searcher.schema[field]
    fmt = field_type.format
    boost = fmt.field_boost or 1.0
    with_positions = fmt.supports("positions")
    ids: list[int] = []
    weights: list[float] = []
    values: list[bytes] | None = [] if with_positions else None
    for leaf, offset in searcher.leaf_searchers():
        reader = leaf.reader()
        try:
            matcher = reader.postings(field, text)
        except TermNotFound:
            continue
        deleted = reader.is_deleted if reader.has_deletions() else None
        for docnum, weight, value in _postings_of(matcher):
            if deleted is not None and deleted(docnum):
                continue
            ids.append(docnum + offset)
            weights.append(weight)
            if values is not None:
                values.append(value)
    if not ids:
        return EMPTY_POSTINGS
    tfs = weights if boost == 1.0 else [weight / boost for weight in weights]
    decode = fmt.decode_positions if with_positions else None
    return TermPostings(ids, tfs, values, decode)


def _postings_of(matcher: Any) -> Iterator[tuple[int, float, Any]]:
    """(docnum, weight, value) per posting, deletions not yet removed."""
    while isinstance(matcher, WrappingMatcher):
        matcher = matcher.child  # deletions are filtered by the caller
    if isinstance(matcher, W3LeafMatcher) and _has_block_layout(matcher):
        yield from _decode_blocks(matcher)
        return
    while matcher.is_active():
        yield matcher.id(), matcher.weight(), matcher.value()
        matcher.next()


def _has_block_layout(matcher: W3LeafMatcher) -> bool:
    names = ("_read_data", "_goto", "_lastblock", "_nextoffset", "_blocklength", "_byteids")
    if not all(hasattr(matcher, name) for name in names):
        return False
    fixed = getattr(matcher, "_fixedsize", None)
    return fixed is None or fixed <= 0  # fixed-size values would need slicing


def _decode_blocks(matcher: W3LeafMatcher) -> Iterator[tuple[int, float, Any]]:
    while matcher.is_active():
        matcher._read_data()
        raw_ids, raw_weights, raw_values = matcher._data[:3]
        count = matcher._blocklength
        ids = raw_ids if matcher._byteids else accumulate(raw_ids)
        if raw_weights is None:
            weights: Any = (1.0,) * count
        elif isinstance(raw_weights, float):
            weights = (raw_weights,) * count
        else:
            weights = raw_weights
        variable = matcher._fixedsize is None or matcher._fixedsize < 0
        block_values = raw_values if variable and raw_values is not None else (None,) * count
        yield from zip(ids, weights, block_values, strict=True)
        if matcher._lastblock:
            return
        matcher._goto(matcher._nextoffset)
