"""searchsvc's Whoosh codec: Whoosh 3's files with compact postings.

Whoosh 3 (``W3Codec``) pickles every postings block (a tuple of id deltas, a float
weight per posting and the values) and every inlined postings list (a term with few
postings, stored inside its term record). For news text that is most of the index:
each posting carries a 4-byte float that is only its frequency times the field boost,
and pickle spends several bytes on each small integer. :class:`CompactCodec` keeps
Whoosh 3's files, term table and block statistics, and writes postings as arrays:

* ids: the first id, then the gaps as the narrowest of 8, 16 or 32-bit integers;
* weights: none when all equal the block's maximum weight, otherwise the integer
  multiples of ``maximum weight / largest multiple`` (the field boost, for text), two
  a byte when none is above 15 (the usual case: a frequency times the boost), otherwise
  32-bit floats;
* values: their lengths as narrow integers, then the bytes of all values;

and compresses stored records against a preset dictionary (:mod:`searchsvc.index.stored`).

A block's head (its gaps and weights) is stored plain and only the rest, the values (word
positions, most of a block's bytes), is zlib-compressed when that pays (block layout
:data:`VALUES_COMPRESSED`). Blocks written before that are compressed whole
(:data:`WHOLE_COMPRESSED`) and still read; a merge copies blocks as they are, so a term's
blocks can mix both layouts.

Whoosh's searcher reads them through the ordinary matcher API (a block at a time);
``searchsvc.search.postings`` reads whole lists into NumPy arrays with
:meth:`CompactTermsReader.decode_postings`: one read of the term's bytes, the block
headers gathered by NumPy and the heads of all blocks parsed together where they lie in
those bytes, with no zlib call (at a million articles a frequent word has thousands of
blocks per segment, and a zlib call and a few Python calls per block were most of a first
search's time). A block's values are inflated when a document's positions are first asked
for.

Whoosh pickles the codec object into each segment's entry of the index's table of
contents, so a segment is read by the codec that wrote it: indexes written with
``W3Codec`` keep opening, and segments of both kinds can sit in one index. The class
path ``searchsvc.index.codec.CompactCodec`` is therefore part of the on-disk format:
moving or renaming the class makes existing indexes unreadable.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from functools import cached_property
from itertools import accumulate, pairwise
from typing import Any, NamedTuple

import numpy as np
from whoosh.codec.whoosh3 import (
    W3Codec,
    W3FieldCursor,
    W3LeafMatcher,
    W3PostingsWriter,
    W3TermInfo,
    W3TermsReader,
)
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length, length_to_byte

from searchsvc.index.stored import DictionaryPerDocReader, DictionaryPerDocWriter

#: The first four bytes of a term's postings in the ``.pst`` file (Whoosh 3 writes "W3Bl").
BLOCK_MAGIC = b"SvB1"
#: A term record's flag byte: postings inlined in this codec's encoding (Whoosh uses 0 and 1).
COMPACT_INLINE = 2
#: Block header after the signed length: count, first id, last id, maximum weight,
#: layout (see below), minimum and maximum field length (as Whoosh's length bytes).
_BLOCK_HEADER = struct.Struct("<HIIfBBB")
#: The same header as a NumPy record, to read the headers of all a term's blocks at once.
_BLOCK_RECORD = np.dtype(
    [
        ("count", "<u2"),
        ("first_id", "<u4"),
        ("last_id", "<u4"),
        ("max_weight", "<f4"),
        ("layout", "u1"),
        ("min_length", "u1"),
        ("max_length", "u1"),
    ]
)
#: A block's layout byte: its data plain; zlib-compressed whole (written before
#: :data:`VALUES_COMPRESSED`, still read); its head (gaps and weights) plain and the rest
#: (value lengths and values) compressed.
PLAIN, WHOLE_COMPRESSED, VALUES_COMPRESSED = 0, 1, 2
_LENGTH = struct.Struct("!i")
_FLOAT32 = struct.Struct("<f")
#: Values (with their lengths) shorter than this are not worth a zlib call.
COMPRESS_FROM_BYTES = 64

#: Tried divisors of the smallest weight when looking for the weights' unit.
MAX_SMALLEST_MULTIPLE = 4
#: Larger multiples (a frequency above 65,535) are stored as floats.
MAX_MULTIPLE = 0xFFFF

#: Multiples up to this are stored as half-bytes (most words occur a few times per article).
MAX_NIBBLE = 0xF

_EQUAL, _MULTIPLES, _FLOATS, _NIBBLES = 0, 1, 2, 3
_BIG_ENDIAN = sys.byteorder == "big"


def float32(value: float) -> float:
    """``value`` rounded as the 32-bit float it is stored as."""
    return _FLOAT32.unpack(_FLOAT32.pack(value))[0]


def pack_uints(values: Sequence[int]) -> bytes:
    """Non-negative integers as a type byte and the narrowest little-endian array."""
    top = max(values, default=0)
    code = "B" if top <= 0xFF else "H" if top <= 0xFFFF else "I"
    items = array(code, values)
    if _BIG_ENDIAN:
        items.byteswap()
    return code.encode("ascii") + items.tobytes()


def unpack_uints(data: bytes, position: int, count: int) -> tuple[array, int]:
    """The ``count`` integers :func:`pack_uints` wrote at ``position``, and the end."""
    items = array(chr(data[position]))
    start = position + 1
    end = start + count * items.itemsize
    items.frombytes(data[start:end])
    if _BIG_ENDIAN:
        items.byteswap()
    return items, end


class RawPostings(NamedTuple):
    """One block (or inlined list) split into its arrays, before ids and weights are rebuilt."""

    first_id: int
    max_weight: float
    gaps: array
    weight_mode: int
    weight_items: array | None
    value_lengths: array | None
    value_bytes: bytes

    def ids(self) -> array:
        return array("I", accumulate(self.gaps, initial=self.first_id))

    def weights(self, count: int) -> array:
        if self.weight_mode == _EQUAL:
            return array("f", [self.max_weight]) * count
        if self.weight_mode in (_MULTIPLES, _NIBBLES):
            unit = self.unit()
            return array("f", [multiple * unit for multiple in self.weight_items])
        return self.weight_items

    def unit(self) -> float:
        """The weight of multiple 1 (the field boost, for text)."""
        return self.max_weight / max(self.weight_items)

    def values(self, count: int, fixed_size: int | None) -> tuple:
        data = self.value_bytes
        if self.value_lengths is not None:
            offsets = accumulate(self.value_lengths, initial=0)
            return tuple(data[start:end] for start, end in pairwise(offsets))
        if fixed_size:
            return tuple(data[at : at + fixed_size] for at in range(0, len(data), fixed_size))
        return (None,) * count


def encode_postings(
    ids: Sequence[int],
    weights: Sequence[float],
    values: Sequence[bytes],
    fixed_size: int | None,
    max_weight: float,
) -> bytes:
    """Gaps, weights and values of one block; the first id and ``max_weight`` go elsewhere."""
    parts = [pack_uints([later - earlier for earlier, later in pairwise(ids)])]
    parts.append(_encode_weights(weights, max_weight))
    if fixed_size is None or fixed_size < 0:
        if len(values) != len(ids):
            raise ValueError(f"{len(ids)} postings but {len(values)} values")
        parts.append(pack_uints([len(value) for value in values]))
        parts.extend(values)
    elif fixed_size > 0:
        parts.extend(values)
    return b"".join(parts)


class JoinedValues(Sequence):
    """Postings' values as spans of one buffer: what a segment writer hands the encoder.

    A field's values arrive one small ``bytes`` per posting, in document order, and are
    written grouped by term. Reordering and slicing the spans' starts and lengths as
    arrays, and gathering the bytes of a run of chunks at once, costs no Python step
    per posting, where a list of the values in term order cost one.
    """

    __slots__ = ("data", "lengths", "starts")

    def __init__(self, data: bytes, starts: np.ndarray, lengths: np.ndarray) -> None:
        self.data = data
        self.starts = starts
        self.lengths = lengths

    @classmethod
    def of(cls, values: Sequence[bytes]) -> JoinedValues:
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        return cls(b"".join(values), np.cumsum(lengths) - lengths, lengths)

    def take(self, order: np.ndarray) -> JoinedValues:
        """The values in the order of the indexes ``order``."""
        return JoinedValues(self.data, self.starts[order], self.lengths[order])

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return JoinedValues(self.data, self.starts[index], self.lengths[index])
        start = int(self.starts[index])
        return self.data[start : start + int(self.lengths[index])]

    def __iter__(self) -> Iterator[bytes]:
        data = self.data
        for start, length in zip(self.starts.tolist(), self.lengths.tolist(), strict=True):
            yield data[start : start + length]

    def joined(self, selected: np.ndarray) -> np.ndarray:
        """The bytes of the ``selected`` values (a mask), end to end."""
        starts, lengths = self.starts[selected], self.lengths[selected]
        ends = np.cumsum(lengths)
        spread = np.repeat(starts - (ends - lengths), lengths)
        return np.frombuffer(self.data, dtype=np.uint8)[spread + np.arange(len(spread))]


class PostingChunks(NamedTuple):
    """Consecutive chunks of postings: each a block, or a rare term's inlined list."""

    ids: np.ndarray
    weights: np.ndarray
    values: JoinedValues
    #: Where each chunk begins (the chunks tile ``ids``).
    starts: np.ndarray
    #: Per chunk, whether its values carry their lengths (inlined lists always do).
    with_lengths: np.ndarray


def encode_postings_chunks(chunks: PostingChunks, fixed_size: int | None) -> list[bytes]:
    """:func:`encode_postings` of many consecutive chunks of postings at once, byte for byte.

    A build writes a chunk (a block, or a rare term's inlined list) for every few postings,
    and encoding each with a dozen small Python calls was most of a segment's writing.
    Here NumPy lays out every chunk's arrays in one buffer; values without lengths are
    written as ``fixed_size`` says (see :func:`encode_postings`). The few chunks whose
    weights need the general search (no common unit at the first try, or floats) are
    encoded by :func:`encode_postings`.
    """
    layout = _ChunkLayout(chunks, fixed_size)
    data = layout.fill().tobytes()
    ends = (layout.offsets + layout.sizes).tolist()
    encoded = [data[start:end] for start, end in zip(layout.offsets.tolist(), ends, strict=True)]
    bounds = np.append(layout.starts, len(chunks.ids))
    for chunk in np.flatnonzero(~layout.regular).tolist():
        start, end = int(bounds[chunk]), int(bounds[chunk + 1])
        chunk_weights = chunks.weights[start:end].tolist()
        encoded[chunk] = encode_postings(
            chunks.ids[start:end].tolist(),
            chunk_weights,
            chunks.values[start:end],
            None if chunks.with_lengths[chunk] else fixed_size,
            float32(max(chunk_weights)),
        )
    return encoded


#: The type byte :func:`pack_uints` writes for each item width.
_TYPE_BYTES = np.array([0, ord("B"), ord("H"), 0, ord("I")], dtype=np.uint8)


def _item_widths(tops: np.ndarray) -> np.ndarray:
    """The width :func:`pack_uints` picks for integers up to each of ``tops``."""
    return np.where(tops <= 0xFF, 1, np.where(tops <= 0xFFFF, 2, 4))


def _put_uints(buffer: np.ndarray, at: np.ndarray, items: np.ndarray, widths: np.ndarray) -> None:
    """Little-endian integers of ``widths`` bytes each, written at ``at``."""
    for byte in range(4):
        wide = widths > byte
        if not wide.any():
            return
        buffer[at[wide] + byte] = (items[wide] >> (8 * byte)) & 0xFF


class _ChunkLayout:
    """Where each part of each chunk goes in :func:`encode_postings_chunks`' buffer."""

    def __init__(self, chunks: PostingChunks, fixed_size: int | None) -> None:
        ids, weights, values, starts, with_lengths = chunks
        self.starts = starts = np.asarray(starts, dtype=np.int64)
        counts = np.diff(np.append(starts, len(ids)))
        self.chunk = chunk = np.repeat(np.arange(len(starts)), counts)
        self.within = np.arange(len(ids)) - starts[chunk]
        ids = ids.astype(np.int64)
        self.gaps = np.zeros(len(ids), dtype=np.int64)
        self.gaps[1:] = ids[1:] - ids[:-1]
        self.gaps[starts] = 0
        self.gap_width = _item_widths(np.maximum.reduceat(self.gaps, starts))
        self._weights(weights.astype(np.float32), starts)
        self.value_lengths = values.lengths
        self.values = values
        self.with_lengths = np.asarray(with_lengths, dtype=bool) | (
            fixed_size is None or fixed_size < 0
        )
        self.length_width = _item_widths(np.maximum.reduceat(self.value_lengths, starts))
        raw_values = fixed_size is not None and fixed_size > 0
        self.with_values = self.with_lengths | raw_values
        gap_size = 1 + (counts - 1) * self.gap_width
        item_size = np.where(self.nibbles, (counts + 1) // 2, 1 + counts * self.multiple_width)
        weight_size = 1 + np.where(self.equal, 0, item_size)
        length_size = np.where(self.with_lengths, 1 + counts * self.length_width, 0)
        value_size = np.where(self.with_values, np.add.reduceat(self.value_lengths, starts), 0)
        self.sizes = np.where(self.regular, gap_size + weight_size + length_size + value_size, 0)
        self.offsets = np.cumsum(self.sizes) - self.sizes
        self.mode_at = self.offsets + gap_size
        self.lengths_at = self.mode_at + weight_size
        self.values_at = self.lengths_at + length_size

    def _weights(self, weights: np.ndarray, starts: np.ndarray) -> None:
        """Equal weights, or whole multiples of ``maximum / largest multiple`` found with
        the smallest weight as the unit (``_multiples``' first divisor); others irregular."""
        chunk = self.chunk
        top = np.maximum.reduceat(weights, starts)
        self.equal = np.logical_and.reduceat(weights == top[chunk], starts)
        wide = weights.astype(np.float64)
        smallest = np.minimum.reduceat(wide, starts)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            multiples = np.rint(wide / smallest[chunk])
            largest = np.maximum.reduceat(multiples, starts)
            unit = top.astype(np.float64) / largest
            exact = (multiples * unit[chunk]).astype(np.float32) == weights
        exact = np.logical_and.reduceat(exact, starts)
        usable = (smallest > 0) & (largest <= MAX_MULTIPLE) & exact
        self.regular = self.equal | usable
        self.multiples = np.where(usable[chunk], multiples, 0).astype(np.int64)
        self.multiple_width = _item_widths(np.where(usable, largest, 0))
        self.nibbles = usable & ~self.equal & (largest <= MAX_NIBBLE)

    def fill(self) -> np.ndarray:
        buffer = np.zeros(int(self.sizes.sum()), dtype=np.uint8)
        regular = self.regular
        chunk, within = self.chunk, self.within
        buffer[self.offsets[regular]] = _TYPE_BYTES[self.gap_width[regular]]
        later = regular[chunk] & (within > 0)
        at = self.offsets[chunk] + 1 + (within - 1) * self.gap_width[chunk]
        _put_uints(buffer, at[later], self.gaps[later], self.gap_width[chunk][later])
        nibbles = self.nibbles
        multiple = regular & ~self.equal & ~nibbles
        modes = np.where(self.equal, _EQUAL, np.where(nibbles, _NIBBLES, _MULTIPLES))
        buffer[self.mode_at[regular]] = modes[regular]
        buffer[self.mode_at[multiple] + 1] = _TYPE_BYTES[self.multiple_width[multiple]]
        posted = multiple[chunk]
        at = self.mode_at[chunk] + 2 + within * self.multiple_width[chunk]
        _put_uints(buffer, at[posted], self.multiples[posted], self.multiple_width[chunk][posted])
        self._fill_nibbles(buffer, nibbles[chunk])
        lengths = regular & self.with_lengths
        buffer[self.lengths_at[lengths]] = _TYPE_BYTES[self.length_width[lengths]]
        posted = lengths[chunk]
        at = self.lengths_at[chunk] + 1 + within * self.length_width[chunk]
        _put_uints(buffer, at[posted], self.value_lengths[posted], self.length_width[chunk][posted])
        self._fill_values(buffer, regular & self.with_values)
        return buffer

    def _fill_nibbles(self, buffer: np.ndarray, posted: np.ndarray) -> None:
        """The multiples of chunks of :data:`_NIBBLES`, two a byte, the first in the low half."""
        within = self.within[posted]
        at = self.mode_at[self.chunk[posted]] + 1 + within // 2
        items = self.multiples[posted]
        low = within % 2 == 0
        buffer[at[low]] = items[low]
        buffer[at[~low]] |= (items[~low] << 4).astype(np.uint8)

    def _fill_values(self, buffer: np.ndarray, written: np.ndarray) -> None:
        """Each chunk's values, joined, after its arrays."""
        posted = written[self.chunk]
        if not posted.any():
            return
        lengths = self.value_lengths[posted]
        joined = self.values.joined(posted)
        # A value's place: its chunk's values start, plus the values before it in the chunk.
        value_starts = np.cumsum(self.value_lengths) - self.value_lengths
        chunk = self.chunk[posted]
        at = self.values_at[chunk] + value_starts[posted] - value_starts[self.starts[chunk]]
        before = np.cumsum(lengths) - lengths
        buffer[np.repeat(at - before, lengths) + np.arange(len(joined))] = joined


def _encode_weights(weights: Sequence[float], max_weight: float) -> bytes:
    if array("f", weights).count(max_weight) == len(weights):
        return bytes((_EQUAL,))
    multiples = _multiples(weights, max_weight)
    if multiples is not None and max(multiples) <= MAX_NIBBLE:
        pairs = zip(multiples[0::2], [*multiples[1::2], 0], strict=False)
        return bytes((_NIBBLES,)) + bytes(low | high << 4 for low, high in pairs)
    if multiples is not None:
        return bytes((_MULTIPLES,)) + pack_uints(multiples)
    floats = array("f", weights)
    if _BIG_ENDIAN:
        floats.byteswap()
    return bytes((_FLOATS,)) + floats.tobytes()


def _multiples(weights: Sequence[float], max_weight: float) -> list[int] | None:
    """Weights as whole multiples of one unit that the reader recomputes exactly, if they are.

    Text weights are frequency times boost, so the unit is the smallest weight divided by the
    smallest frequency in the block (almost always 1).
    """
    smallest = min(weights)
    if smallest <= 0:
        return None
    stored = array("f", weights)
    for divisor in range(1, MAX_SMALLEST_MULTIPLE + 1):
        multiples = [round(weight * divisor / smallest) for weight in weights]
        largest = max(multiples)
        if largest > MAX_MULTIPLE:
            return None  # larger divisors only give larger multiples
        unit = max_weight / largest
        if array("f", [multiple * unit for multiple in multiples]) == stored:
            return multiples
    return None


def decode_postings(
    data: bytes, count: int, first_id: int, max_weight: float, fixed_size: int | None
) -> RawPostings:
    """The arrays :func:`encode_postings` wrote for ``count`` postings."""
    gaps, position = unpack_uints(data, 0, count - 1)
    mode = data[position]
    position += 1
    items = None
    if mode == _MULTIPLES:
        items, position = unpack_uints(data, position, count)
    elif mode == _NIBBLES:
        halves = data[position : position + (count + 1) // 2]
        items = array("B", [half for byte in halves for half in (byte & 0xF, byte >> 4)][:count])
        position += len(halves)
    elif mode == _FLOATS:
        items = array("f")
        items.frombytes(data[position : position + 4 * count])
        if _BIG_ENDIAN:
            items.byteswap()
        position += 4 * count
    lengths = None
    if fixed_size is None or fixed_size < 0:
        lengths, position = unpack_uints(data, position, count)
    return RawPostings(first_id, max_weight, gaps, mode, items, lengths, data[position:])


class EncodedPostings(NamedTuple):
    """Postings as :func:`encode_postings` wrote them (with values of any length), with
    what its caller keeps beside them: how many, the first id and the maximum weight."""

    data: bytes
    count: int
    first_id: int
    max_weight: float


def join_postings(
    pieces: Sequence[EncodedPostings], fixed_size: int | None, max_weight: float
) -> bytes:
    """:func:`encode_postings` of the postings of ``pieces`` laid end to end (their ids
    ascending from piece to piece), without rebuilding each posting's id and value.

    A merge joins the inlined postings of one term from several segments: each piece's
    gaps and value bytes are kept, one gap joins a piece to the next, and only the weights
    are recomputed, unless all of them are the maximum.
    """
    raws = [
        decode_postings(piece.data, piece.count, piece.first_id, piece.max_weight, None)
        for piece in pieces
    ]
    parts = [pack_uints(_joined_gaps(raws)), _joined_weights(raws, max_weight)]
    if fixed_size is None or fixed_size < 0:
        parts.append(pack_uints([length for raw in raws for length in raw.value_lengths]))
    if fixed_size != 0:
        parts.extend(raw.value_bytes for raw in raws)
    return b"".join(parts)


def _joined_gaps(raws: Sequence[RawPostings]) -> list[int]:
    gaps: list[int] = []
    last = None
    for raw in raws:
        if last is not None:
            gaps.append(raw.first_id - last)
        gaps.extend(raw.gaps)
        last = raw.first_id + sum(raw.gaps)
    return gaps


def _joined_weights(raws: Sequence[RawPostings], max_weight: float) -> bytes:
    """The weights of ``raws`` encoded together: their unit (and so their multiples) can
    differ from each piece's own, so only weights all equal to the maximum are kept as
    they are."""
    if all(raw.weight_mode == _EQUAL and raw.max_weight == max_weight for raw in raws):
        return bytes((_EQUAL,))
    weights = array("f")
    for raw in raws:
        weights.extend(raw.weights(len(raw.gaps) + 1))
    return _encode_weights(weights, max_weight)


def head_size(data: bytes, count: int) -> int:
    """The length of the head (gaps, weight mode and weights) at the start of the data
    :func:`encode_postings` wrote for ``count`` postings: the part stored plain."""
    mode_at = 1 + (count - 1) * _WIDTH_OF[data[0]]
    mode = data[mode_at]
    if mode == _MULTIPLES:
        return mode_at + 2 + count * _WIDTH_OF[data[mode_at + 1]]
    if mode == _NIBBLES:
        return mode_at + 1 + (count + 1) // 2
    if mode == _FLOATS:
        return mode_at + 1 + 4 * count
    return mode_at + 1


def compress_values(data: bytes, count: int, level: int) -> tuple[bytes, int]:
    """A block's data as stored, and its layout byte: the values (after the head of
    :func:`head_size`) zlib-compressed at ``level`` when it is set and that pays.

    The head stays plain so that readers parse the ids and weights of all blocks of a
    term together, without a zlib call per block.
    """
    if not level:
        return data, PLAIN
    head = head_size(data, count)
    values = memoryview(data)[head:]
    if len(values) < COMPRESS_FROM_BYTES:
        return data, PLAIN
    packed = zlib.compress(values, level)
    if len(packed) >= len(values):
        return data, PLAIN
    return data[:head] + packed, VALUES_COMPRESSED


def block_data(data: bytes, count: int, layout: int) -> bytes:
    """A stored block's data (of ``count`` postings, in ``layout``) as
    :func:`encode_postings` wrote it."""
    if layout == PLAIN:
        return data
    if layout == WHOLE_COMPRESSED:
        return zlib.decompress(data)
    return data[: head_size(data, count)] + block_values(data, count, layout)


def block_values(data: bytes, count: int, layout: int) -> bytes:
    """What follows the head of a stored block's data (the value lengths and the values),
    inflated: all that reading a value needs, without parsing the ids and weights again."""
    if layout == WHOLE_COMPRESSED:
        data = zlib.decompress(data)
        return data[head_size(data, count) :]
    head = head_size(data, count)
    if layout == PLAIN:
        return data[head:]
    if layout == VALUES_COMPRESSED:
        return zlib.decompress(memoryview(data)[head:])
    raise ValueError(f"postings block of unknown layout {layout}")


#: Bytes per item of the narrow integer arrays :func:`pack_uints` writes, by type byte
#: (0: not a type byte, which only damaged or foreign data holds).
_WIDTHS = np.zeros(256, dtype=np.int64)
_WIDTHS[[ord("B"), ord("H"), ord("I")]] = (1, 2, 4)
#: The same widths for Python's own indexing, once per block.
_WIDTH_OF = _WIDTHS.tolist()


class BlockRun(NamedTuple):
    """Blocks of one term: their header fields, where each block's head (ids and weights)
    lies and where each block's data lies in the term's bytes."""

    counts: np.ndarray
    first_ids: np.ndarray
    last_ids: np.ndarray
    max_weights: np.ndarray
    #: The term's bytes, then the inflated heads of its blocks compressed whole, if any.
    heads: bytes
    #: Where each block's head starts in ``heads``, and the most it may run to.
    head_starts: np.ndarray
    head_ends: np.ndarray
    extent: bytes
    #: Start, end and layout byte of each block's data in ``extent``.
    data_starts: np.ndarray
    data_ends: np.ndarray
    layouts: np.ndarray


class DecodedPostings(NamedTuple):
    """A run of blocks as arrays: docnums, weights (32-bit floats widened, as Whoosh's
    matcher returns them) and the values, split only when a posting's value is asked for."""

    ids: np.ndarray
    weights: np.ndarray
    values: RunValues


def block_spans(extent: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Where each block's header starts and where its data ends, for one term's postings.

    Each block's length says where the next one starts, so this is the one step taken
    block by block.
    """
    starts, end = block_starts(extent)
    header_starts = np.array(starts, dtype=np.int64)
    return header_starts, np.append(header_starts[1:] - _LENGTH.size, end)


def block_starts(extent: bytes) -> tuple[list[int], int]:
    """Where each block's header starts in one term's postings, and where the last block
    ends: :func:`block_spans` without NumPy, for a merge that visits a term's few blocks
    one by one. Each block's length is checked against its header's size on the way."""
    if extent[:4] != BLOCK_MAGIC:
        raise ValueError(f"postings start with {extent[:4]!r}, not {BLOCK_MAGIC!r}")
    starts: list[int] = []
    add_start = starts.append
    unpack_length = _LENGTH.unpack_from
    step, shortest = _LENGTH.size, _BLOCK_HEADER.size
    position, size = len(BLOCK_MAGIC), len(extent)
    while position < size:
        (length,) = unpack_length(extent, position)
        position += step
        add_start(position)
        if -shortest < length < shortest:
            raise ValueError("postings block shorter than its header")
        if length < 0:
            if position - length > size:
                raise ValueError("postings block runs past the term's postings")
            return starts, position - length
        position += length
    raise ValueError("postings end without their last block")


def read_run(extent: bytes) -> BlockRun:
    """Every block of one term's postings (``extent``: its bytes from the magic on).

    The headers are read by NumPy, and the heads stay where they are in ``extent``; only
    blocks compressed whole (written before their heads were stored plain) have their
    heads inflated, one zlib call each. The values (word positions) are inflated by
    :class:`RunValues` when one of a block's values is asked for.
    """
    header_starts, ends = block_spans(extent)
    buffer = np.frombuffer(extent, dtype=np.uint8)
    at = header_starts[:, np.newaxis] + np.arange(_BLOCK_RECORD.itemsize)
    headers = buffer[at].view(_BLOCK_RECORD)[:, 0]
    counts = headers["count"].astype(np.int64)
    if not counts.all():
        raise ValueError("postings block of no postings")
    layouts = headers["layout"].astype(np.int64)
    if (layouts > VALUES_COMPRESSED).any():
        raise ValueError("postings block of unknown layout")
    data_starts = header_starts + _BLOCK_HEADER.size
    first_ids = headers["first_id"].astype(np.int64)
    last_ids = headers["last_id"].astype(np.int64)
    head_starts, head_ends = data_starts.copy(), ends.copy()
    heads = extent
    whole = np.flatnonzero(layouts == WHOLE_COMPRESSED)
    if whole.size:
        spans = (data_starts, ends, counts, last_ids - first_ids)
        inflated = [
            inflate_head(extent[start:end], count, id_span)
            for start, end, count, id_span in zip(
                *(part[whole].tolist() for part in spans), strict=True
            )
        ]
        sizes = np.fromiter(map(len, inflated), dtype=np.int64, count=len(inflated))
        head_ends[whole] = len(extent) + np.cumsum(sizes)
        head_starts[whole] = head_ends[whole] - sizes
        heads = b"".join([extent, *inflated])
    return BlockRun(
        counts,
        first_ids,
        last_ids,
        headers["max_weight"].astype(np.float64),
        heads,
        head_starts,
        head_ends,
        extent,
        data_starts,
        ends,
        layouts,
    )


def inflate_head(block: bytes, count: int, id_span: int) -> bytes:
    """The start of a compressed block of ``count`` postings, through its weights.

    The first guess comes from the header: no gap is wider than ``id_span`` less the
    other gaps (one each at least), and one byte per weight is the usual case; the head
    is inflated further when its type and mode bytes say it is longer.
    """
    largest_gap = id_span - count + 2
    gap_width = 1 if largest_gap <= 0xFF else 2 if largest_gap <= 0xFFFF else 4
    inflater = zlib.decompressobj()
    head = inflater.decompress(block, 3 + (count - 1) * gap_width + count)
    if not head:
        return head  # nothing to parse: the layout reports the block as too short
    mode_at = 1 + (count - 1) * _WIDTH_OF[head[0]]
    head = _inflate_to(inflater, head, mode_at + 2)
    mode = head[mode_at] if mode_at < len(head) else _EQUAL
    if mode == _MULTIPLES and mode_at + 1 < len(head):
        end = mode_at + 2 + count * _WIDTH_OF[head[mode_at + 1]]
    elif mode == _FLOATS:
        end = mode_at + 1 + 4 * count
    else:
        return head
    return _inflate_to(inflater, head, end)


def _inflate_to(inflater: Any, head: bytes, length: int) -> bytes:
    """``head`` inflated on to ``length`` bytes (fewer if the block ends first)."""
    if len(head) >= length or inflater.eof:
        return head
    return head + inflater.decompress(inflater.unconsumed_tail, length - len(head))


def decode_run(run: BlockRun, fixed_size: int | None) -> DecodedPostings:
    """The arrays of all blocks of ``run`` at once, equal to :func:`decode_postings`' per block."""
    layout = RunLayout(run)
    return DecodedPostings(layout.ids(), layout.weights(), RunValues(run, fixed_size))


def sub_run(run: BlockRun, blocks: np.ndarray) -> BlockRun:
    """The blocks ``blocks`` (ascending indexes) of ``run``, over the same bytes: decoded by
    the same code as a whole run, into the postings of those blocks alone (each block's
    first id is in its header, so a block decodes whatever blocks come before it)."""
    return BlockRun(*(part[blocks] if isinstance(part, np.ndarray) else part for part in run))


def joined_runs(runs: Sequence[BlockRun]) -> BlockRun:
    """Several runs (of several terms) as one run of all their blocks, for one
    :class:`RunLayout` to decode together: its postings are each run's in turn.

    Each block's first id is in its header, so a block's ids decode whatever block came
    before it, of its own term or another. What decoding a run costs is mostly a fixed
    number of NumPy steps, whatever its length, so a few dozen short runs decode in
    about the time of one (feedback's expansion words, read for every new query)."""
    if len(runs) == 1:
        return runs[0]
    # A run's extent begins its heads, so one shift moves both its heads and its data.
    shifts = np.cumsum([0] + [len(run.heads) for run in runs[:-1]])

    def shifted(part: str) -> np.ndarray:
        return np.concatenate(
            [getattr(run, part) + shift for run, shift in zip(runs, shifts.tolist(), strict=True)]
        )

    def joined(part: str) -> np.ndarray:
        return np.concatenate([getattr(run, part) for run in runs])

    heads = b"".join(run.heads for run in runs)
    return BlockRun(
        joined("counts"),
        joined("first_ids"),
        joined("last_ids"),
        joined("max_weights"),
        heads,
        shifted("head_starts"),
        shifted("head_ends"),
        heads,
        shifted("data_starts"),
        shifted("data_ends"),
        joined("layouts"),
    )


def blocks_holding(run: BlockRun, docnums: np.ndarray) -> np.ndarray:
    """The blocks of ``run`` (ascending indexes) whose id range, from the first id to the
    last in their headers, holds one of ``docnums`` (sorted, numbered as the run's ids):
    the only blocks a reader of those documents' postings needs decoded. The header ids
    are searched in the docnums' own type (NumPy would otherwise widen the docnums, often
    a query's hundreds of thousands of matches, for each word read near them)."""
    first_ids, last_ids = run.first_ids, run.last_ids
    if len(last_ids) and last_ids[-1] <= np.iinfo(docnums.dtype).max:  # ids ascend
        first_ids, last_ids = first_ids.astype(docnums.dtype), last_ids.astype(docnums.dtype)
    from_first = docnums.searchsorted(first_ids)
    past_last = docnums.searchsorted(last_ids, side="right")
    return np.flatnonzero(past_last > from_first)


class RunValues(Sequence):
    """The per-posting values of a run of blocks, each block inflated and split the first
    time one of its values is asked for.

    Until then a run holds the term's bytes as read and a few numbers per block; a block
    once split stays split (its values' bytes and their offsets), as the whole run was
    before, for the next page or search that reranks the same articles.
    """

    def __init__(self, run: BlockRun, fixed_size: int | None) -> None:
        self.extent = run.extent
        self._fixed_size = fixed_size
        counts = run.counts
        self._count = int(counts.sum())
        # Flat arrays, not a tuple per block: a common word has thousands of blocks, and
        # the query cache measures what it holds object by object.
        #: (start, end, layout) of each block's data in ``extent``, three by three.
        spans = np.column_stack((run.data_starts, run.data_ends, run.layouts))
        self._spans = array("q", spans.astype(np.int64).tobytes())
        #: The index of each block's first posting among all postings of the run.
        self._first_slots = array("q", (np.cumsum(counts) - counts).tolist())
        self._counts = array("q", counts.tolist())
        self._split: dict[int, tuple[bytes, array | None]] = {}

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> bytes | None:  # type: ignore[override]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError("postings value index out of range")  # ends iterations
        number = bisect_right(self._first_slots, index) - 1
        data, offsets = self._split_of(number)
        if offsets is None:
            return None  # the format records no values
        at = index - self._first_slots[number]
        return data[offsets[at] : offsets[at + 1]]

    def value_spans(self, indexes: np.ndarray) -> tuple[bytes, np.ndarray, np.ndarray]:
        """The values at ``indexes`` (in any order) as one buffer and where each starts and
        ends in it (an empty span where the format records none).

        A phrase asks for the values of thousands of postings: the blocks holding them are
        split once each (and kept, as by indexing) and joined, and the spans found by
        NumPy, rather than one Python lookup and one ``bytes`` per value.
        """
        if len(indexes) and (indexes.min() < 0 or indexes.max() >= self._count):
            raise IndexError("postings value index out of range")
        first_slots = np.frombuffer(self._first_slots, dtype=np.int64)
        numbers = first_slots.searchsorted(indexes, side="right") - 1
        blocks, which = np.unique(numbers, return_inverse=True)
        datas, offsets = [], []
        for number in blocks.tolist():
            data, ends = self._split_of(number)
            datas.append(data)
            offsets.append(
                np.zeros(self._counts[number] + 1, dtype=np.uint32)
                if ends is None
                else np.frombuffer(ends, dtype=np.uint32)
            )
        data_bases = _starts_of(np.fromiter(map(len, datas), dtype=np.int64, count=len(datas)))
        offset_bases = _starts_of(np.fromiter(map(len, offsets), dtype=np.int64, count=len(datas)))
        every = np.concatenate(offsets or [np.zeros(0, dtype=np.uint32)]).astype(np.int64)
        at = offset_bases[which] + indexes - first_slots[numbers]
        base = data_bases[which]
        return b"".join(datas), base + every[at], base + every[at + 1]

    def _split_of(self, number: int) -> tuple[bytes, array | None]:
        """Block ``number`` split (see :meth:`_split_block`), once."""
        split = self._split.get(number)
        if split is None:
            split = self._split[number] = self._split_block(number)
        return split

    def _split_block(self, number: int) -> tuple[bytes, array | None]:
        """A block's values' bytes and where each value starts (and the last one ends)."""
        start, end, layout = self._spans[3 * number : 3 * number + 3]
        count = self._counts[number]
        values = block_values(self.extent[start:end], count, layout)
        if self._fixed_size is None or self._fixed_size < 0:
            lengths, position = unpack_uints(values, 0, count)
            return values[position:], array("I", accumulate(lengths, initial=0))
        if self._fixed_size:
            step = self._fixed_size
            return values, array("I", range(0, (count + 1) * step, step))
        return values, None

    @property
    def nbytes(self) -> int:
        split = list(self._split.values())
        held = sum(len(data) + 4 * len(offsets or ()) + 100 for data, offsets in split)
        numbers = (self._spans, self._first_slots, self._counts)
        return len(self.extent) + sum(part.itemsize * len(part) for part in numbers) + held


class RunLayout:
    """Where each block's ids and weights start in the run's heads, found for all blocks
    at once.

    A block is ``pack_uints(gaps)``, a weight mode byte, the weights (none, narrow
    multiples or 32-bit floats), then its values, which are not read here. Each part's
    place is checked against the block's end before it is read.
    """

    def __init__(self, run: BlockRun) -> None:
        self.run = run
        self.buffer = np.frombuffer(run.heads, dtype=np.uint8)
        self.starts, ends = run.head_starts, run.head_ends
        counts = run.counts
        #: The index of each block's first posting among all postings of the run.
        self.first_slots = np.cumsum(counts) - counts
        _check_within(self.starts, ends)
        self.gap_width = self._width(self.starts)
        mode_at = self.starts + 1 + (counts - 1) * self.gap_width
        _check_within(mode_at, ends)
        self.mode = self.buffer[mode_at]
        multiples = self.mode == _MULTIPLES
        floats = self.mode == _FLOATS
        nibbles = self.mode == _NIBBLES
        if not (multiples | floats | nibbles | (self.mode == _EQUAL)).all():
            raise ValueError("postings block with an unknown weight mode")
        _check_within(mode_at[multiples] + 1, ends[multiples])
        self.weight_width = np.where(floats, 4, 0)
        self.weight_width[multiples] = self._width(mode_at[multiples] + 1)
        self.weight_start = mode_at + 1 + multiples
        weight_size = np.where(nibbles, (counts + 1) // 2, counts * self.weight_width)
        if (self.weight_start + weight_size > ends).any():
            raise ValueError("postings block shorter than its arrays")

    @cached_property
    def blocks(self) -> np.ndarray:
        """Each posting's block (listed when first needed: ids of one width read without)."""
        return np.repeat(np.arange(len(self.run.counts)), self.run.counts)

    @cached_property
    def within(self) -> np.ndarray:
        """Each posting's place in its block."""
        return np.arange(len(self.blocks)) - self.first_slots[self.blocks]

    def _width(self, type_at: np.ndarray) -> np.ndarray:
        widths = _WIDTHS[self.buffer[type_at]]
        if not widths.all():
            raise ValueError("postings block with an unknown integer type")
        return widths

    def _uints(self, starts: np.ndarray, widths: np.ndarray) -> np.ndarray:
        """Per posting, the little-endian integer of its block's ``widths`` bytes, a block's
        items one after another from its ``starts``, with no block number or place within
        a block listed per posting: a posting's item lies at its place in the run times its
        block's width, from a start per block (a word's blocks mostly share one width)."""
        counts = self.run.counts
        if not len(counts):
            return np.zeros(0, dtype=np.int64)
        at = np.repeat(starts - widths * self.first_slots, counts)
        uniform = bool((widths == widths[0]).all())
        if uniform:
            at += np.arange(len(at)) * int(widths[0])
        else:
            at += np.arange(len(at)) * np.repeat(widths, counts)
        # A block without weights reads one byte at its weights' start, which may be the
        # end of the buffer; its items are not used.
        values = self.buffer[np.minimum(at, len(self.buffer) - 1)].astype(np.int64)
        for byte in range(1, int(widths.max())):
            if uniform:
                values += self.buffer[at + byte].astype(np.int64) << (8 * byte)
            else:  # mixed widths: usually a few wide blocks
                wide = np.flatnonzero(np.repeat(widths > byte, counts))
                values[wide] += self.buffer[at[wide] + byte].astype(np.int64) << (8 * byte)
        return values

    def ids(self) -> np.ndarray:
        """Gaps summed by one ``cumsum``, each block's first step going from the previous
        block's last id (in its header) to its first one; the last ids are checked."""
        first_ids, last_ids = self.run.first_ids, self.run.last_ids
        steps = self._gaps()
        steps[self.first_slots] = first_ids - np.concatenate(([0], last_ids[:-1]))
        ids = np.cumsum(steps)
        if not np.array_equal(ids[self.first_slots + self.run.counts - 1], last_ids):
            raise ValueError("postings block whose ids do not end where its header says")
        return ids

    def _gaps(self) -> np.ndarray:
        """Per posting, its gap; each block's first posting reads the bytes before its
        block's gaps (to be overwritten), so that every posting has an item."""
        return self._uints(self.starts + 1 - self.gap_width, self.gap_width)

    def _items(self) -> np.ndarray:
        """Per posting, its block's stored weight item (a multiple, or a float's bits)."""
        nibbles = self.mode == _NIBBLES
        if nibbles.all():  # the usual case: no byte-wide items to read, no mask to apply
            return self._nibbles(self.blocks, self.within).astype(np.int64)
        items = self._uints(self.weight_start, self.weight_width)
        posted = np.repeat(nibbles, self.run.counts)
        if posted.any():
            items[posted] = self._nibbles(self.blocks[posted], self.within[posted])
        return items

    def _nibbles(self, blocks: np.ndarray, within: np.ndarray) -> np.ndarray:
        """The half-byte multiples of the postings at ``within`` of ``blocks``, two a byte
        from each block's weights' start, the first in the low half."""
        halves = self.buffer[self.weight_start[blocks] + within // 2]
        return (halves >> (4 * (within % 2))) & 0xF

    def weights(self) -> np.ndarray:
        counts = self.run.counts
        if (self.mode == _EQUAL).all():
            return np.repeat(self.run.max_weights, counts)
        if (self.weight_width <= 1).all():
            return self._byte_weights()
        weights = np.repeat(self.run.max_weights, counts)
        items = self._items()
        multiples = np.repeat((self.mode == _MULTIPLES) | (self.mode == _NIBBLES), counts)
        if multiples.any():
            # RawPostings.unit(): the block's maximum weight over its largest multiple.
            largest = np.maximum.reduceat(items, self.first_slots)
            unit = np.repeat(self.run.max_weights / np.maximum(largest, 1), counts)
            scaled = (items[multiples] * unit[multiples]).astype(np.float32)
            weights[multiples] = scaled
        floats = np.repeat(self.mode == _FLOATS, counts)
        if floats.any():
            weights[floats] = items[floats].astype(np.uint32).view(np.float32)
        return weights

    def _byte_weights(self) -> np.ndarray:
        """:meth:`weights` where each block's weights are byte or half-byte multiples, or
        all its maximum (the usual case: a frequency times the boost): every posting's
        multiple read by one gather in bytes and scaled by its block's unit, with no mask
        of the postings of each mode."""
        items = self._byte_items(self.blocks, self.within)
        largest = np.maximum.reduceat(items, self.first_slots)
        unit = np.repeat(self._units(largest), self.run.counts)
        return (items * unit).astype(np.float32).astype(np.float64)

    def weights_at(self, slots: np.ndarray) -> np.ndarray:
        """``weights()[slots]`` (``slots``: indexes of postings of the run, ascending),
        reading only the weights of those postings where the run's weights are byte or
        half-byte multiples: an expansion word scores the query's matches alone, often a
        small part of its postings. A block's unit needs its largest multiple, which is
        read from the block's weight bytes (half-bytes two at a time) without unpacking
        each posting's."""
        if not (self.weight_width <= 1).all():  # wider multiples or floats: rare in text
            return self.weights()[slots]
        blocks = self.blocks[slots]
        holding = np.zeros(len(self.mode), dtype=bool)
        holding[blocks] = True
        unit = self._units(self._largest_items(np.flatnonzero(holding)))
        if not (self.mode == _MULTIPLES).any():  # the usual case: half-bytes, equal blocks
            return self._half_byte_weights(slots, blocks, unit)
        items = self._byte_items(blocks, slots - self.first_slots[blocks])
        return (items * unit[blocks]).astype(np.float32).astype(np.float64)

    def _half_byte_weights(
        self, slots: np.ndarray, blocks: np.ndarray, unit: np.ndarray
    ) -> np.ndarray:
        """:meth:`weights_at` where each block's weights are half-byte multiples or all
        its maximum (a text field's blocks mostly), in a few passes over the postings:
        each posting's half-byte is counted from a start per block (an equal block's lies
        in its gaps, read and not used), and its weight looked up in its block's row of
        the weights of multiples 0 to 15 (an equal block's row all its maximum, the
        multiple 1 of its unit), each worked out as :meth:`weights` does."""
        nibbles = self.mode == _NIBBLES
        half_starts = 2 * np.where(nibbles, self.weight_start, self.starts) - self.first_slots
        halves = slots + half_starts[blocks]
        raw = self.buffer[halves >> 1]
        multiples = (raw >> ((halves & 1) << 2).astype(np.uint8)) & 0xF
        rows = unit[:, np.newaxis] * np.where(nibbles[:, np.newaxis], np.arange(16), 1)
        table = rows.astype(np.float32).astype(np.float64).ravel()
        return table.take((blocks << 4) + multiples)

    def _byte_items(self, blocks: np.ndarray, within: np.ndarray) -> np.ndarray:
        """The stored multiple of each posting at ``within`` of ``blocks`` (byte or
        half-byte modes). A block of equal weights reads its first byte (every posting
        stays on it: counts are below 2**16) and takes the multiple 1 of the unit
        ``maximum weight / 1``."""
        equal = self.mode == _EQUAL
        nibbles = self.mode == _NIBBLES
        base = np.where(equal, self.starts, self.weight_start)
        halving = np.where(equal, 16, nibbles.astype(np.int64))
        raw = self.buffer[base[blocks] + (within >> halving[blocks])]
        # Half-bytes: the first posting of each byte takes its low half, the second its high.
        high_half = np.where(nibbles, 4, 0).astype(np.uint8)
        shifts = ((within & 1) << 2).astype(np.uint8) & high_half[blocks]
        masks = np.select([nibbles, equal], [0xF, 0], 0xFF).astype(np.uint8)
        items = (raw >> shifts) & masks[blocks]
        if equal.any():
            items |= equal.astype(np.uint8)[blocks]
        return items

    def _largest_items(self, wanted: np.ndarray) -> np.ndarray:
        """Per block, its largest stored multiple (byte or half-byte modes), worked out
        for the blocks ``wanted`` (ascending) only, 1 for the others: the largest byte of
        each block's weights, and for half-bytes its largest low half too, each taken by
        one ``reduceat`` over the bytes from the first block's weights to the last one's
        (a pass over the bytes between costs less than gathering the weights' own)."""
        largest = np.ones(len(self.mode), dtype=np.uint8)
        stored = wanted[self.mode[wanted] != _EQUAL]
        if not len(stored):
            return largest
        nibbles = self.mode[stored] == _NIBBLES
        counts = self.run.counts[stored]
        starts = self.weight_start[stored]
        ends = starts + np.where(nibbles, (counts + 1) // 2, counts)
        if (starts[1:] < ends[:-1]).any():  # heads inflated from blocks compressed whole
            return np.maximum.reduceat(self._byte_items(self.blocks, self.within), self.first_slots)
        first = int(starts[0])
        span = self.buffer[first : int(ends[-1])]
        # Each block's weights, then the bytes up to the next block's: every other result.
        # The last block's weights run to the end of the span.
        bounds = np.column_stack((starts, ends)).ravel()[:-1] - first
        top = np.maximum.reduceat(span, bounds)[::2]
        if nibbles.any():
            low = np.maximum.reduceat(span & 0xF, bounds)[::2]
            top = np.where(nibbles, np.maximum(top >> 4, low), top)
        largest[stored] = top
        return largest

    def _units(self, largest: np.ndarray) -> np.ndarray:
        """Each block's weight of multiple 1: ``RawPostings.unit()``, its maximum weight
        over its largest multiple."""
        return self.run.max_weights / np.maximum(largest, 1)


def _starts_of(sizes: np.ndarray) -> np.ndarray:
    """Where each of consecutive parts of ``sizes`` starts."""
    return np.cumsum(sizes) - sizes


def _check_within(positions: np.ndarray, ends: np.ndarray) -> None:
    if (positions >= ends).any():
        raise ValueError("postings block shorter than its arrays")


class CompactPostingsWriter(W3PostingsWriter):
    """Whoosh 3's postings writer (block statistics, term info) with compact blocks."""

    def _write_block(self, last: bool = False) -> None:
        postfile = self._postfile
        if not self._blockcount:
            postfile.write(BLOCK_MAGIC)
        self._terminfo.add_block(self)
        header, data = encode_block(
            self._ids,
            self._weights,
            self._values,
            self._format.fixed_value_size(),
            (length_to_byte(self._minlength), length_to_byte(self._maxlength)),
            self._compression,
        )
        write_block(postfile, header, data, last=last)
        self._blockcount += 1
        self._new_block()


def encode_block(
    ids: Sequence[int],
    weights: Sequence[float],
    values: Sequence[bytes],
    fixed_size: int | None,
    length_bytes: tuple[int, int],
    compression: int,
) -> tuple[bytes, bytes]:
    """A postings block's header and data (its values zlib-compressed when ``compression``
    is set and that pays: :func:`compress_values`).

    ``length_bytes``: the shortest and longest field length of its documents, as
    Whoosh's length bytes.
    """
    max_weight = float32(max(weights))
    data = encode_postings(ids, weights, values, fixed_size, max_weight)
    data, layout = compress_values(data, len(ids), compression)
    header = _BLOCK_HEADER.pack(len(ids), ids[0], ids[-1], max_weight, layout, *length_bytes)
    return header, data


def shifted_blocks(extent: bytes, offset: int) -> Iterator[tuple[bytes, bytes]]:
    """(header, data) of each block of one term's postings, ``offset`` added to its docnums.

    Ids inside a block are gaps from the first id, which is in the header with the
    last one: only the header changes, the data is copied as it is (in either layout).
    """
    starts, ends = block_spans(extent)
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        count, first, last, *rest = _BLOCK_HEADER.unpack_from(extent, start)
        header = _BLOCK_HEADER.pack(count, first + offset, last + offset, *rest)
        yield header, extent[start + _BLOCK_HEADER.size : end]


def write_block(postfile: Any, header: bytes, data: bytes, *, last: bool) -> None:
    """One block as a postings file holds it: its signed length (negative: the term's last)."""
    length = len(header) + len(data)
    postfile.write(_LENGTH.pack(-length if last else length))
    postfile.write(header)
    postfile.write(data)


class CompactLeafMatcher(W3LeafMatcher):
    """Reads :class:`CompactPostingsWriter` blocks behind Whoosh 3's matcher interface."""

    def _read_header(self) -> None:
        postfile = self._postfile
        postfile.seek(self._startoffset)
        magic = postfile.read(4)
        if magic != BLOCK_MAGIC:
            raise ValueError(f"postings at {self._startoffset} start with {magic!r}")
        self._baseoffset = postfile.tell()

    def _goto(self, position: int) -> None:
        self._data = self._ids = self._weights = self._values = None
        self._i = 0
        head = self._postfile.get(position, _LENGTH.size + _BLOCK_HEADER.size)
        (length,) = _LENGTH.unpack_from(head)
        self._lastblock = length < 0
        self._nextoffset = position + _LENGTH.size + abs(length)
        self._dataoffset = position + len(head)
        (
            self._blocklength,
            self._minid,
            self._maxid,
            self._maxweight,
            self._layout,
            min_length,
            max_length,
        ) = _BLOCK_HEADER.unpack_from(head, _LENGTH.size)
        self._minlength = byte_to_length(min_length)
        self._maxlength = byte_to_length(max_length)

    def _read_data(self) -> None:
        data = self._postfile.get(self._dataoffset, self._nextoffset - self._dataoffset)
        data = block_data(data, self._blocklength, self._layout)
        self._data = decode_postings(
            data, self._blocklength, self._minid, self._maxweight, self._fixedsize
        )

    def _read_ids(self) -> None:
        if self._data is None:
            self._read_data()
        self._ids = self._data.ids()

    def _read_weights(self) -> None:
        if self._data is None:
            self._read_data()
        self._weights = self._data.weights(self._blocklength)

    def _read_values(self) -> None:
        if self._data is None:
            self._read_data()
        self._values = self._data.values(self._blocklength, self._fixedsize)

    def block_min_id(self) -> int:
        return self._minid

    def decode_all(self) -> DecodedPostings:
        """All the term's postings as arrays, for whole-list readers: one read of its bytes
        (checked like any other read) and the blocks parsed together."""
        return decode_extent(self._postfile, self._startoffset, self._length, self._fixedsize)


def decode_extent(
    postfile: Any, offset: int, length: int | tuple[int], fixed_size: int | None
) -> DecodedPostings:
    """A term's postings blocks (``length`` bytes at ``offset``) as arrays: one read of
    their bytes (checked like any other read) and the blocks parsed together."""
    return decode_run(read_extent(postfile, offset, length), fixed_size)


def read_extent(postfile: Any, offset: int, length: int | tuple[int]) -> BlockRun:
    """:func:`read_run` of a term's postings blocks (``length`` bytes at ``offset``): one
    read of their bytes, checked like any other read."""
    if isinstance(length, tuple):  # how Whoosh 3's term record reads it back
        (length,) = length
    return read_run(postfile.get(offset, length))


class CompactTermInfo(W3TermInfo):
    """Whoosh 3's term record; inlined postings in :func:`encode_postings`'s arrays."""

    def to_bytes(self) -> bytes:
        if not self.is_inlined():
            return super().to_bytes()
        ids, weights, values = self._inlined
        max_weight = float32(self._maxweight)
        header = self._struct.pack(
            COMPACT_INLINE,
            self._weight,
            self._df,
            length_to_byte(self._minlength),
            length_to_byte(self._maxlength),
            max_weight,
            ids[0],
            ids[-1],
        )
        return header + encode_postings(ids, weights, values, None, max_weight)

    @classmethod
    def from_bytes(cls, s: bytes) -> CompactTermInfo:
        if s[0] != COMPACT_INLINE:
            return super().from_bytes(s)
        size = cls._struct.size
        fields = cls._struct.unpack(s[:size])
        _flags, weight, df, min_length, max_length, max_weight, min_id, max_id = fields
        info = cls()
        info._weight, info._df, info._maxweight = weight, df, max_weight
        info._minlength = byte_to_length(min_length)
        info._maxlength = byte_to_length(max_length)
        info._minid, info._maxid = min_id, max_id
        raw = decode_postings(s[size:], df, min_id, max_weight, None)
        info._inlined = (tuple(raw.ids()), tuple(raw.weights(df)), raw.values(df, None))
        return info


class CompactFieldCursor(W3FieldCursor):
    def term_info(self) -> CompactTermInfo | None:
        if self._pos is None:
            return None
        return CompactTermInfo.from_bytes(self._tindex.dbfile.get(self._datapos, self._datalen))


class CompactTermsReader(W3TermsReader):
    """Whoosh 3's term table, its records decoded as :class:`CompactTermInfo`."""

    def cursor(self, fieldname: str, fieldobj: Any) -> CompactFieldCursor:
        return CompactFieldCursor(
            self._tindex, fieldname, self._keycoder, self._keydecoder, fieldobj
        )

    def items(self) -> Iterator[tuple]:
        decode_key = self._keydecoder
        for key, value in self._tindex.items():
            yield decode_key(key), CompactTermInfo.from_bytes(value)

    def items_from(self, fieldname: str, prefix: bytes) -> Iterator[tuple]:
        decode_key = self._keydecoder
        for key, value in self._tindex.items_from(self._keycoder(fieldname, prefix)):
            yield decode_key(key), CompactTermInfo.from_bytes(value)

    def term_info(self, fieldname: str, tbytes: bytes) -> CompactTermInfo:
        try:
            return CompactTermInfo.from_bytes(self._tindex[self._keycoder(fieldname, tbytes)])
        except KeyError:
            raise TermNotFound(f"No term {fieldname}:{tbytes!r}") from None

    def decode_postings(self, info: CompactTermInfo, format_: Any) -> DecodedPostings:
        """The postings of a term of this table (``info``, not inlined) as arrays, read
        without a matcher: a whole-list reader needs neither its first block nor its magic
        read again apart."""
        return decode_run(self.read_run(info), format_.fixed_value_size())

    def read_run(self, info: CompactTermInfo) -> BlockRun:
        """The blocks of a term of this table (``info``, not inlined), not yet decoded: a
        reader decodes those it needs (:func:`sub_run`), and of them only what it needs
        (:class:`RunLayout`)."""
        return read_extent(self._postfile, *info.extent())


class CompactCodec(W3Codec):
    """Whoosh 3's segment files with compact postings blocks and inlined postings.

    Stored records are compressed against a preset dictionary per segment
    (:mod:`searchsvc.index.stored`). Term vectors (not used by searchsvc's schema) keep
    Whoosh 3's own blocks.
    """

    def per_document_writer(self, storage: Any, segment: Any) -> DictionaryPerDocWriter:
        return DictionaryPerDocWriter(self, storage, segment)

    def per_document_reader(self, storage: Any, segment: Any) -> DictionaryPerDocReader:
        return DictionaryPerDocReader(storage, segment)

    def postings_writer(self, dbfile: Any, byteids: bool = False) -> W3PostingsWriter:
        if byteids:
            return super().postings_writer(dbfile, byteids=True)
        return CompactPostingsWriter(
            dbfile,
            blocklimit=self._blocklimit,
            compression=self._compression,
            inlinelimit=self._inlinelimit,
        )

    def postings_reader(
        self, dbfile: Any, terminfo: Any, format_: Any, term: Any = None, scorer: Any = None
    ) -> Any:
        if terminfo.is_inlined():
            return super().postings_reader(dbfile, terminfo, format_, term=term, scorer=scorer)
        offset, length = terminfo.extent()
        return CompactLeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)

    def terms_reader(self, storage: Any, segment: Any) -> CompactTermsReader:
        name = segment.make_filename(self.TERMS_EXT)
        postfile = segment.open_file(storage, self.POSTS_EXT)
        return CompactTermsReader(
            self, storage.open_file(name), storage.file_length(name), postfile
        )
