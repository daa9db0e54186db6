"""searchsvc's Whoosh codec: Whoosh 3's files with compact postings.

Whoosh 3 (``W3Codec``) pickles every postings block (a tuple of id deltas, a float
weight per posting and the values) and every inlined postings list (a term with few
postings, stored inside its term record). For news text that is most of the index:
each posting carries a 4-byte float that is only its frequency times the field boost,
and pickle spends several bytes on each small integer. :class:`CompactCodec` keeps
Whoosh 3's files, term table and block statistics, and writes postings as arrays:

* ids: the first id, then the gaps as the narrowest of 8, 16 or 32-bit integers;
* weights: none when all equal the block's maximum weight, otherwise the integer
  multiples of ``maximum weight / largest multiple`` (the field boost, for text),
  otherwise 32-bit floats;
* values: their lengths as narrow integers, then the bytes of all values;

and compresses stored records against a preset dictionary (:mod:`searchsvc.index.stored`).

Whoosh's searcher reads them through the ordinary matcher API (a block at a time);
``searchsvc.search.postings`` reads whole lists into NumPy arrays from
:meth:`CompactLeafMatcher.raw_blocks`.

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
from collections.abc import Iterator, Sequence
from itertools import accumulate, pairwise
from typing import Any, NamedTuple

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
#: compressed (0/1), minimum and maximum field length (as Whoosh's length bytes).
_BLOCK_HEADER = struct.Struct("<HIIfBBB")
_LENGTH = struct.Struct("!i")
_FLOAT32 = struct.Struct("<f")
#: Encoded blocks shorter than this are not worth a zlib call.
COMPRESS_FROM_BYTES = 64

#: Tried divisors of the smallest weight when looking for the weights' unit.
MAX_SMALLEST_MULTIPLE = 4
#: Larger multiples (a frequency above 65,535) are stored as floats.
MAX_MULTIPLE = 0xFFFF

_EQUAL, _MULTIPLES, _FLOATS = 0, 1, 2
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
        if self.weight_mode == _MULTIPLES:
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


def _encode_weights(weights: Sequence[float], max_weight: float) -> bytes:
    if array("f", weights).count(max_weight) == len(weights):
        return bytes((_EQUAL,))
    multiples = _multiples(weights, max_weight)
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
    """A postings block's header and data (zlib-compressed when ``compression`` and worth it).

    ``length_bytes``: the shortest and longest field length of its documents, as
    Whoosh's length bytes.
    """
    max_weight = float32(max(weights))
    data = encode_postings(ids, weights, values, fixed_size, max_weight)
    compressed = 0
    if compression and len(data) >= COMPRESS_FROM_BYTES:
        packed = zlib.compress(data, compression)
        if len(packed) < len(data):
            data, compressed = packed, 1
    header = _BLOCK_HEADER.pack(len(ids), ids[0], ids[-1], max_weight, compressed, *length_bytes)
    return header, data


def shifted_blocks(extent: bytes, offset: int) -> Iterator[tuple[bytes, bytes]]:
    """(header, data) of each block of one term's postings, ``offset`` added to its docnums.

    Ids inside a block are gaps from the first id, which is in the header with the
    last one: only the header changes, the data is copied as it is.
    """
    if extent[:4] != BLOCK_MAGIC:
        raise ValueError(f"postings start with {extent[:4]!r}, not {BLOCK_MAGIC!r}")
    position = len(BLOCK_MAGIC)
    while position < len(extent):
        (length,) = _LENGTH.unpack_from(extent, position)
        start = position + _LENGTH.size
        end = start + abs(length)
        count, first, last, *rest = _BLOCK_HEADER.unpack_from(extent, start)
        header = _BLOCK_HEADER.pack(count, first + offset, last + offset, *rest)
        yield header, extent[start + _BLOCK_HEADER.size : end]
        if length < 0:
            return
        position = end


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
            self._compression,
            min_length,
            max_length,
        ) = _BLOCK_HEADER.unpack_from(head, _LENGTH.size)
        self._minlength = byte_to_length(min_length)
        self._maxlength = byte_to_length(max_length)

    def _read_data(self) -> None:
        data = self._postfile.get(self._dataoffset, self._nextoffset - self._dataoffset)
        if self._compression:
            data = zlib.decompress(data)
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

    def raw_blocks(self) -> Iterator[tuple[int, RawPostings]]:
        """(count, arrays) of each block from the current one on, for whole-list readers."""
        while self.is_active():
            self._read_data()
            yield self._blocklength, self._data
            if self._lastblock:
                return
            self._goto(self._nextoffset)


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
