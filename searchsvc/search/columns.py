"""Per-document values of one index commit, loaded once into NumPy arrays.

Facet counts, date filters, date sorting and BM25 length normalization all need a value
for every matching document. Keys (places, sources) are held as small integer codes into
a list of distinct keys, so counting a facet over any result set is one ``bincount``;
dates are day ordinals; the places mentioned, several per article, are one flat array of
codes with per-document offsets.

Deriving these from Whoosh's column files costs Python work per document (about two
seconds for a million articles), so each segment's derived arrays are kept in a file
beside it (``column_cache.py``): a segment never changes once written, so opening reads
its arrays back and only joins the segments, and a commit that adds a small segment
derives only that one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from itertools import chain, repeat
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield, byte_to_length
from whoosh.columns import NumericColumn, VarBytesColumn
from whoosh.searching import Searcher

from searchsvc.search.column_cache import SegmentArrays, load_or_derive
from searchsvc.search.docsets import DocSet
from searchsvc.search.postings import deleted_docnums

#: Facets with one key per document: column name -> the field holding the key. Another
#: such facet is one more entry here and a :class:`KeyColumn` of its name below.
KEY_COLUMNS = {"place": "place", "source": "source", "language": "language"}
#: Facets with several keys per document: column name -> the bytes column joining them.
MULTI_KEY_COLUMNS = {"places": "places_column"}
#: Length normalization needs the word counts of these fields.
LENGTH_FIELDS = ("title", "body")
#: Sort keys put undated articles after dated ones whichever way dates run.
_UNDATED_KEY = dt.date.max.toordinal() + 1
#: A facet counts sets of more than this share of all documents as every document's
#: counts less those of the documents outside the set.
COMPLEMENT_COUNT_SHARE = 1 / 2
#: Whoosh stores field lengths as one byte each; this turns bytes back into lengths.
LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)


class _Keyed:
    """The distinct keys of a column, looked up by code or by key, and counted."""

    codes: np.ndarray
    keys: list[str]

    @cached_property
    def _codes_by_key(self) -> dict[str, int]:
        return {key: code for code, key in enumerate(self.keys)}

    def code_of(self, key: str) -> int | None:
        return self._codes_by_key.get(key)

    def count(self, docs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def count_set(self, docs: DocSet) -> np.ndarray:
        """How many of ``docs`` have each code.

        Broad queries (long questions, common words) match most of an archive; counting
        the fewer documents outside the set and subtracting from every document's counts
        gathers and counts a fraction of the codes, to the same integers. The outside is
        listed as docnums first: selecting codes by a mask of scattered documents costs
        a mispredicted branch per document, several times a gather by docnum.
        """
        if len(docs) > docs.size * COMPLEMENT_COUNT_SHARE:
            return self._every_count - self.count(docs.outside)
        return self.count(docs.ids)

    @cached_property
    def _every_count(self) -> np.ndarray:
        """Each code's count over every document of the commit, deleted ones included
        (a set's complement includes them too)."""
        return np.bincount(self.codes, minlength=len(self.keys))


@dataclass
class KeyColumn(_Keyed):
    """One key per document as a code into ``keys``; code 0 is the empty key (none)."""

    codes: np.ndarray
    keys: list[str]

    def count(self, docs: np.ndarray) -> np.ndarray:
        """How many of ``docs`` (docnums) have each code (``take``: a gather without the
        checks of an index)."""
        return np.bincount(self.codes.take(docs), minlength=len(self.keys))

    def docs_with(self, keys: tuple[str, ...]) -> DocSet:
        """The documents holding any of ``keys`` (``""``: those without a value)."""
        codes = [code for code in map(self.code_of, keys) if code is not None]
        return DocSet(np.isin(self.codes, np.array(codes, dtype=self.codes.dtype)))


@dataclass
class MultiKeyColumn(_Keyed):
    """Several keys per document: document ``d`` has ``codes[offsets[d]:offsets[d + 1]]``."""

    offsets: np.ndarray
    codes: np.ndarray
    keys: list[str]

    def count(self, docs: np.ndarray) -> np.ndarray:
        """How many of ``docs`` (docnums) have each code: the codes of their entries,
        gathered in order from each document's start to its end (``take``: a sixth less time
        than an index for the millions of entries of a broad query's documents)."""
        entries = joined_ranges(self.offsets.take(docs), self.offsets.take(docs + 1))
        return np.bincount(self.codes.take(entries), minlength=len(self.keys))

    def keys_of(self, docnum: int) -> tuple[str, ...]:
        start, end = self.offsets[docnum], self.offsets[docnum + 1]
        return tuple(self.keys[code] for code in self.codes[start:end].tolist())


def joined_ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Every integer from ``starts[i]`` up to ``ends[i]`` (excluded), range after range.

    One running sum of steps: 1 within a range, the jump to the next range's start at
    each boundary. ``np.repeat`` of each range's offset, the usual way, copies item by
    item and takes several times as long for the hundreds of thousands of short ranges
    of a broad query's documents. Positions below 2**31 are summed as int32: half the
    bytes to write and read.
    """
    lengths = ends - starts
    if not lengths.all():  # an empty range has no boundary of its own
        kept = lengths > 0
        starts, ends, lengths = starts[kept], ends[kept], lengths[kept]
    if not len(lengths):
        return np.zeros(0, dtype=np.int64)
    total = int(lengths.sum())
    narrow = int(ends.max()) <= 2**31
    steps = np.ones(total, dtype=np.int32 if narrow else np.int64)
    steps[0] = starts[0]
    steps[np.cumsum(lengths[:-1])] = starts[1:] - ends[:-1] + 1
    return np.cumsum(steps, out=steps)


class FieldLengths(Mapping[str, np.ndarray]):
    """Each document's length (in words) in some fields, kept as Whoosh's length bytes.

    BM25 reads each field's lengths once per commit to make its norms; keeping them as
    floats besides would hold 8 bytes per document and field in every serving process
    (16 MB at a million articles) for nothing.
    """

    def __init__(self, codes: dict[str, np.ndarray]) -> None:
        self._codes = codes

    def __getitem__(self, name: str) -> np.ndarray:
        return LENGTH_OF_BYTE[self._codes[name]]

    def length_bytes(self, name: str) -> np.ndarray:
        """Each document's length byte in ``name`` (uint8): what a value computed from
        lengths alone can be looked up by, in a table of 256."""
        return self._codes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._codes)

    def __len__(self) -> int:
        return len(self._codes)


class Strings:
    """Many short strings as one byte string and offsets, indexed like a list.

    A million article ids as Python strings (and a dictionary from id to docnum) hold
    about 150 MiB in every serving worker and take seconds to build; here they are one
    NumPy array of fixed-width bytes, sorted and searched in C.
    """

    def __init__(self, table: np.ndarray, order: np.ndarray | None = None) -> None:
        #: One row per document: the UTF-8 bytes, NUL-padded (ids never hold NULs).
        self.table = table
        self._order = order

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, docnum: int) -> str:
        return self.table[docnum].decode("utf-8")

    @property
    def order(self) -> np.ndarray:
        """Docnums in string order (UTF-8 bytes sort as their code points do), ties in
        docnum order."""
        if self._order is None:
            self._order = np.argsort(self.table, kind="stable")
        return self._order

    def docnums_of(self, value: str) -> np.ndarray:
        """The docnums holding ``value``, ascending.

        Searched through :attr:`order` rather than in a sorted copy of the table, which
        would hold another 10 MiB per serving process at a million articles."""
        key = np.array(value.encode("utf-8"), dtype=self.table.dtype)
        if key.item() != value.encode("utf-8"):
            return np.zeros(0, dtype=np.int64)  # longer than any stored value
        low = self.table.searchsorted(key, sorter=self.order)
        high = self.table.searchsorted(key, "right", sorter=self.order)
        return np.sort(self.order[low:high])


@dataclass
class DocumentColumns:
    """Values by global docnum; deleted documents are simply absent from ``live``."""

    size: int
    live: DocSet
    ids: Strings
    place: KeyColumn
    places: MultiKeyColumn
    source: KeyColumn
    #: The language code of each document (code 0: unknown).
    language: KeyColumn
    #: ``date.toordinal()`` per document, 0 when undated (32 bits: the last day of year
    #: 9999 is 3,652,059).
    ordinal: np.ndarray
    #: The distinct ordinals (0 first) and each document's index into them, for counting
    #: documents by day.
    days: np.ndarray
    day_codes: np.ndarray
    #: Per distinct day, the ordinal of the first day of its "year", its "month" and
    #: (trivially) its "day": the date histogram's buckets.
    period_starts: dict[str, np.ndarray]
    #: Field lengths (in words) for the text fields, for BM25 length normalization.
    lengths: FieldLengths
    average_length: dict[str, float]
    _id_rank: np.ndarray | None = field(default=None, repr=False)
    _orders: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def load(
        cls, searcher: Searcher, length_fields: tuple[str, ...] = LENGTH_FIELDS
    ) -> DocumentColumns:
        """Every segment's columns (read from its cache file where it has one), joined."""
        reader = searcher.reader()
        segments = [segment for segment, _offset in reader.leaf_readers()]
        names = segment_array_names(length_fields)
        derive = partial(derive_segment, length_fields=length_fields)
        average = {
            name: (reader.field_length(name) / max(1, reader.doc_count())) or 1.0
            for name in length_fields
        }
        return cls.join(
            [load_or_derive(segment, names, derive) for segment in segments]
            or [no_documents(length_fields)],
            live_mask(segments, reader.doc_count_all()),
            average,
        )

    @classmethod
    def join(
        cls, segments: Sequence[SegmentArrays], live: np.ndarray, average: dict[str, float]
    ) -> DocumentColumns:
        """The columns of consecutive segments as one commit's: docnums run on from one
        segment to the next, and key codes are renumbered into the union of their keys."""
        ordinal, days, day_codes = _joined_days(segments)
        ids = _joined_ids(segments)
        multi_keys = {name: _joined_multi_keys(segments, name) for name in MULTI_KEY_COLUMNS}
        return cls(
            size=len(live),
            live=DocSet(live),
            ids=Strings(_held(ids.table), _compact(ids.order)),
            **{name: _key_column(*_joined_keys(segments, name)) for name in KEY_COLUMNS},
            **{
                name: MultiKeyColumn(_compact(column.offsets), _compact(column.codes), column.keys)
                for name, column in multi_keys.items()
            },
            ordinal=ordinal,
            days=days,
            day_codes=_compact(day_codes),
            period_starts=_period_starts(days),
            lengths=FieldLengths(
                {name: _held(_concatenated(segments, f"length.{name}")) for name in average}
            ),
            average_length=average,
        )

    @cached_property
    def day(self) -> KeyColumn:
        """Each document's day as a key column: its ISO date, ``""`` (code 0) when undated.

        The date histogram counts a result set by day as the facets count it by key, so a
        set of most documents is counted through the fewer outside it (and through the
        docnums the facets listed already), not by listing its hundreds of thousands.
        """
        keys = [dt.date.fromordinal(day).isoformat() if day else "" for day in self.days.tolist()]
        return KeyColumn(self.day_codes, keys)

    def docs_dated(self, start: dt.date | None, end: dt.date | None) -> DocSet:
        """Live documents dated from ``start`` to ``end`` inclusive (open ends allowed)."""
        mask = self.live.mask & (self.ordinal > 0)
        if start is not None:
            mask &= self.ordinal >= start.toordinal()
        if end is not None:
            mask &= self.ordinal <= end.toordinal()
        return DocSet(mask)

    @property
    def id_rank(self) -> np.ndarray:
        """Each document's position in id order: the deterministic tie-breaker."""
        if self._id_rank is None:
            rank = np.empty(self.size, dtype=np.int32)  # a million articles: 4 MB, not 8
            rank[self.ids.order] = np.arange(self.size)
            self._id_rank = rank
        return self._id_rank

    def docnum_of(self, article_id: str) -> int | None:
        """The live document with this id (the last one, should an id repeat)."""
        live = [doc for doc in self.ids.docnums_of(article_id).tolist() if self.live.mask[doc]]
        return live[-1] if live else None

    def date_order(self, newest_first: bool) -> np.ndarray:
        """Live docnums by date (undated last either way), ties by id."""
        name = "newest" if newest_first else "oldest"
        order = self._orders.get(name)
        if order is None:
            key = self.date_sort_key(newest_first)
            live = self.live.ids
            order = self._orders[name] = live[np.argsort(key[live], kind="stable")]
        return order

    def date_sort_key(self, newest_first: bool) -> np.ndarray:
        """One integer per docnum whose ascending order is the requested date order."""
        name = "key-newest" if newest_first else "key-oldest"
        key = self._orders.get(name)
        if key is None:
            ordinal = self.ordinal.astype(np.int64)  # the key needs 64 bits, the days 32
            primary = _UNDATED_KEY - ordinal if newest_first else ordinal
            primary[ordinal == 0] = 2 * _UNDATED_KEY
            key = self._orders[name] = primary * (self.size + 1) + self.id_rank
        return key


# --- reading a commit's columns ---------------------------------------------------------


def read_var_bytes(searcher: Searcher, name: str) -> VarBytes:
    """Every document's value of a variable-bytes column (``b""`` where it has none)."""
    return _var_bytes(searcher.leaf_searchers(), name, VarBytesColumn())


def live_mask(segments: Sequence[Any], size: int) -> np.ndarray:
    """Deletions are all that changes in a segment: read at every load, never cached."""
    live = np.ones(size, dtype=bool)
    offset = 0
    for reader in segments:
        if reader.has_deletions():
            live[deleted_docnums(reader) + offset] = False
        offset += reader.doc_count_all()
    return live


def _segments(leaves: Sequence[tuple[Searcher, int]]) -> list[tuple[Any, int]]:
    """(per-document reader, document count) of each segment, in docnum order."""
    readers = [leaf.reader() for leaf, _ in leaves]
    return [(reader, reader.doc_count_all()) for reader in readers]


@dataclass
class VarBytes:
    """Variable-length values of many documents: ``blob[offsets[d]:offsets[d] + lengths[d]]``."""

    blob: bytes
    offsets: np.ndarray
    lengths: np.ndarray

    @classmethod
    def of(cls, values: Sequence[bytes]) -> VarBytes:
        """The same layout for values already in hand."""
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        return cls(b"".join(values), np.cumsum(lengths) - lengths, lengths)

    def __len__(self) -> int:
        return len(self.offsets)

    def table(self) -> np.ndarray:
        """The values as one array of fixed-width bytes (NUL-padded), built in NumPy."""
        width = max(1, int(self.lengths.max(initial=0)))
        return np.array(self.values(), dtype=f"S{width}")

    def values(self) -> list[bytes]:
        blob = self.blob
        ends = (self.offsets + self.lengths).tolist()
        return [blob[start:end] for start, end in zip(self.offsets.tolist(), ends, strict=True)]


def _var_bytes(leaves: Sequence[tuple[Searcher, int]], name: str, column: Any) -> VarBytes:
    blobs: list[bytes] = []
    offsets: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    base = 0
    for reader, count in _segments(leaves):
        part = _segment_var_bytes(reader, name, column, count)
        blobs.append(part.blob)
        offsets.append(part.offsets + base)
        lengths.append(part.lengths)
        base += len(part.blob)
    if not blobs:
        return VarBytes.of([])
    return VarBytes(b"".join(blobs), np.concatenate(offsets), np.concatenate(lengths))


def _segment_var_bytes(reader: Any, name: str, column: Any, count: int) -> VarBytes:
    """One segment's values of a variable-bytes column, its file parsed whole if we can.

    Whoosh's own reader derives the offsets of a segment's values in a Python loop
    (it stores them only for columns of more than 32,768 documents): a third of
    loading the columns of a million articles.
    """
    perdoc = getattr(reader, "_perdoc", None)
    if isinstance(column, VarBytesColumn) and hasattr(perdoc, "_get_column_file"):
        if not perdoc.has_column(name):
            return VarBytes.of([b""] * count)
        colfile, start, length = perdoc._get_column_file(name)
        try:
            return _parse_var_bytes(colfile.get(start, length), count)
        except _UnknownLayout:
            pass  # read through Whoosh's column reader below
        finally:
            colfile.close()
    part = _segment_column(reader, name, column, count, b"", _read_var_bytes)
    return part if isinstance(part, VarBytes) else VarBytes.of(part)


def _parse_var_bytes(data: bytes, count: int) -> VarBytes:
    """Whoosh 2.7's ``VarBytesColumn`` layout: the values, then their lengths (a typed
    big-endian array), optionally their offsets, then the type codes (``X`` last when
    the offsets are there)."""
    end = len(data) - 1
    offsets = None
    try:
        if data[end:] == b"X":
            lengths_code, offsets_code = chr(data[end - 2]), chr(data[end - 1])
            offsets_type = np.dtype(offsets_code).newbyteorder(">")
            end = end - 2 - count * offsets_type.itemsize
            offsets = np.frombuffer(data, dtype=offsets_type, count=count, offset=end)
        else:
            lengths_code = chr(data[end])
        lengths_type = np.dtype(lengths_code).newbyteorder(">")
        end -= count * lengths_type.itemsize
        lengths = np.frombuffer(data, dtype=lengths_type, count=count, offset=end)
    except (IndexError, TypeError, ValueError) as error:
        raise _UnknownLayout from error
    lengths = lengths.astype(np.int64)
    offsets = np.cumsum(lengths) - lengths if offsets is None else offsets.astype(np.int64)
    if int((offsets + lengths).max(initial=0)) > end:
        raise _UnknownLayout
    return VarBytes(data[:end], offsets, lengths)


def _segment_column(
    reader: Any, name: str, column: Any, count: int, default: Any, read_whole: Callable
) -> Any:
    """One segment's values of a column: read whole when the layout is the known one."""
    perdoc = getattr(reader, "_perdoc", None)
    if perdoc is None or not perdoc.has_column(name):
        return [default] * count
    column_reader = perdoc.column_reader(name, column)
    try:
        return read_whole(column_reader, count)
    except _UnknownLayout:
        return [default if value is None else value for value in column_reader]


class _UnknownLayout(Exception):
    pass


def _read_numbers(column_reader: Any, count: int) -> np.ndarray:
    """A fixed-size numeric column as one array (values past the stored ones: default)."""
    names = ("_dbfile", "_basepos", "_count", "_typecode", "_default")
    if not all(hasattr(column_reader, name) for name in names):
        raise _UnknownLayout
    stored = min(column_reader._count, count)
    dtype = np.dtype(column_reader._typecode).newbyteorder(">")
    raw = column_reader._dbfile.get(column_reader._basepos, stored * dtype.itemsize)
    values = np.full(count, column_reader._default, dtype=np.int64)
    values[:stored] = np.frombuffer(raw, dtype=dtype)
    return values


def _read_var_bytes(column_reader: Any, count: int) -> VarBytes:
    """A variable-bytes column from the reader Whoosh made (its lengths and offsets)."""
    names = ("_dbfile", "_basepos", "_offsets", "_lengths")
    if not all(hasattr(column_reader, name) for name in names):
        raise _UnknownLayout
    lengths = np.asarray(column_reader._lengths, dtype=np.int64)
    offsets = np.asarray(column_reader._offsets, dtype=np.int64)
    end = int((offsets + lengths).max(initial=0))
    blob = column_reader._dbfile.get(column_reader._basepos, end) if end else b""
    missing = count - len(lengths)
    if missing > 0:
        lengths = np.concatenate((lengths, np.zeros(missing, dtype=np.int64)))
        offsets = np.concatenate((offsets, np.zeros(missing, dtype=np.int64)))
    return VarBytes(blob, offsets[:count], lengths[:count])


def _period_starts(days: np.ndarray) -> dict[str, np.ndarray]:
    years, months = [], []
    for ordinal in days.tolist():
        day = dt.date.fromordinal(ordinal) if ordinal else dt.date.min
        years.append(dt.date(day.year, 1, 1).toordinal())
        months.append(dt.date(day.year, day.month, 1).toordinal())
    return {
        "year": np.array(years, dtype=np.int64),
        "month": np.array(months, dtype=np.int64),
        "day": days,
    }


def _keys(values: VarBytes) -> KeyColumn:
    """Codes numbered in order of first appearance, after the empty key's 0."""
    raw_values = values.values()
    codes_of: dict[bytes, int] = {b"": 0}
    codes = np.fromiter(
        (codes_of.setdefault(raw, len(codes_of)) for raw in raw_values),
        dtype=np.int32,
        count=len(raw_values),
    )
    return KeyColumn(codes, [raw.decode("utf-8") for raw in codes_of])


def _multi_keys(values: VarBytes) -> MultiKeyColumn:
    """Each value is keys joined by spaces.

    The index joins them by single spaces, so all values are split in one call and each
    document's count is its spaces plus one: half the time of splitting them one by one,
    the largest part of loading the columns at open. Any other spacing (which only ever
    makes that count too high) is split value by value.
    """
    raw_values = values.values()
    count = len(raw_values)
    flat = b" ".join(raw_values).split()
    spaces = np.fromiter(map(bytes.count, raw_values, repeat(b" ")), dtype=np.int64, count=count)
    sizes = np.fromiter(map(len, raw_values), dtype=np.int64, count=count)
    lengths = np.where(sizes > 0, spaces + 1, 0)
    if int(lengths.sum()) != len(flat):
        split = [raw.split() for raw in raw_values]
        lengths = np.fromiter(map(len, split), dtype=np.int64, count=count)
        flat = list(chain.from_iterable(split))
    keys = list(dict.fromkeys(flat))
    code_of = {key: code for code, key in enumerate(keys)}
    codes = np.fromiter(map(code_of.__getitem__, flat), dtype=np.int32, count=len(flat))
    return MultiKeyColumn(
        np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
        codes,
        [key.decode("utf-8") for key in keys],
    )


# --- one segment's columns, and a commit's from its segments -------------------------------


def derive_segment(reader: Any, length_fields: tuple[str, ...]) -> SegmentArrays:
    """One segment's arrays, derived from its column files (what its cache file holds)."""
    count = reader.doc_count_all()
    schema = reader.schema

    def var_bytes(name: str, column: Any) -> VarBytes:
        return _segment_var_bytes(reader, name, column, count)

    def numbers(name: str, column: Any) -> np.ndarray:
        return np.asarray(_segment_column(reader, name, column, count, 0, _read_numbers))

    return segment_arrays(
        ids=var_bytes("id", schema["id"].column_type),
        # A field the index's schema lacks (language, before it was recorded) has no values.
        keyed={
            name: var_bytes(key, _column_type(schema, key)) for name, key in KEY_COLUMNS.items()
        },
        multi={name: var_bytes(key, VarBytesColumn()) for name, key in MULTI_KEY_COLUMNS.items()},
        lengths={name: numbers(_lenfield(name), LENGTHS_COLUMN) for name in length_fields},
        ordinal=numbers("date_ordinal", NumericColumn("i", default=0)),
    )


def _column_type(schema: Any, name: str) -> Any:
    return schema[name].column_type if name in schema else VarBytesColumn()


def segment_arrays(
    ids: VarBytes,
    keyed: dict[str, VarBytes],
    multi: dict[str, VarBytes],
    lengths: dict[str, np.ndarray],
    ordinal: np.ndarray,
) -> SegmentArrays:
    """The arrays of one segment from its raw values: ids with their sorted order, key
    codes and key lists, length bytes, and day codes into the segment's distinct days."""
    table = ids.table()
    arrays = {"ids": table, "ids.order": np.argsort(table, kind="stable")}
    keys = {}
    for name, values in keyed.items():
        column = _keys(values)
        arrays[f"{name}.codes"], keys[name] = column.codes, column.keys
    for name, values in multi.items():
        several = _multi_keys(values)
        arrays[f"{name}.offsets"], arrays[f"{name}.codes"] = several.offsets, several.codes
        keys[name] = several.keys
    for name, values in lengths.items():
        arrays[f"length.{name}"] = np.asarray(values, dtype=np.uint8)
    ordinal = np.asarray(ordinal, dtype=np.int64)
    days = np.unique(np.concatenate(([0], ordinal)))
    arrays["days"] = days
    arrays["day_codes"] = np.searchsorted(days, ordinal).astype(np.int32)
    return SegmentArrays(arrays, keys)


def cache_segment_columns(reader: Any, length_fields: tuple[str, ...] = LENGTH_FIELDS) -> None:
    """Write each segment's cache file where it has none (a build does, before it takes
    its manifest, so that the first open reads them)."""
    names = segment_array_names(length_fields)
    derive = partial(derive_segment, length_fields=length_fields)
    for segment, _offset in reader.leaf_readers():
        load_or_derive(segment, names, derive)


def no_documents(length_fields: tuple[str, ...]) -> SegmentArrays:
    """The arrays of a segment without documents (an empty index's only "segment")."""
    nothing = VarBytes.of([])
    return segment_arrays(
        ids=nothing,
        keyed=dict.fromkeys(KEY_COLUMNS, nothing),
        multi=dict.fromkeys(MULTI_KEY_COLUMNS, nothing),
        lengths=dict.fromkeys(length_fields, np.zeros(0, dtype=np.uint8)),
        ordinal=np.zeros(0, dtype=np.int64),
    )


def segment_array_names(length_fields: tuple[str, ...]) -> tuple[str, ...]:
    """The names of the arrays a segment's cache holds (those :func:`segment_arrays` makes)."""
    return tuple(sorted(no_documents(length_fields).arrays))


def _held(values: np.ndarray) -> np.ndarray:
    """``values`` in an array of their own, not a view of a segment's cache file: that file
    is read whole into one buffer, which stays in memory as long as any view of it does."""
    return values if values.base is None else values.copy()


def _compact(values: np.ndarray) -> np.ndarray:
    """Non-negative integers (docnums, positions, codes) in the narrowest of int16 and
    int32 that holds them, in an array of their own (:func:`_held`): at a million articles
    the id order and the places' offsets take 4 MB each instead of 8, and the place codes
    8 instead of 16. Every use of them indexes, counts or compares, so the values and the
    answers are the same."""
    largest = int(values.max()) if len(values) else 0
    dtype = next(t for t in (np.int16, np.int32, np.int64) if largest <= np.iinfo(t).max)
    return values.astype(dtype) if values.dtype != dtype else _held(values)


def _key_column(codes: np.ndarray, keys: list[str]) -> KeyColumn:
    return KeyColumn(_compact(codes), keys)


def _concatenated(segments: Sequence[SegmentArrays], name: str) -> np.ndarray:
    """One array over all segments (one segment's own array, not a copy)."""
    parts = [segment.arrays[name] for segment in segments]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _starts(segments: Sequence[SegmentArrays], name: str) -> np.ndarray:
    """Where each segment's part of the joined array ``name`` starts."""
    lengths = [len(segment.arrays[name]) for segment in segments]
    return np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)


def _joined_ids(segments: Sequence[SegmentArrays]) -> Strings:
    """All ids, and their order from the segments' own: each segment's ids are sorted
    already, and a stable sort of a few sorted runs takes near-linear time (NumPy's is a
    timsort), keeping equal ids in docnum order as a sort of the whole table would."""
    table = _concatenated(segments, "ids")
    if len(segments) == 1:
        return Strings(table, segments[0].arrays["ids.order"])
    starts = _starts(segments, "ids")
    runs = np.concatenate(
        [s.arrays["ids.order"] + start for s, start in zip(segments, starts, strict=True)]
    )
    return Strings(table, runs[np.argsort(table[runs], kind="stable")])


def _joined_keys(segments: Sequence[SegmentArrays], name: str) -> tuple[np.ndarray, list[str]]:
    """Codes into the union of the segments' keys, in order of first appearance (as one
    segment of all the documents would number them)."""
    keys = list(dict.fromkeys(chain.from_iterable(s.keys[name] for s in segments)))
    code_of: dict[str, int] = {}
    parts = []
    for segment in segments:
        own_keys, codes = segment.keys[name], segment.arrays[f"{name}.codes"]
        if own_keys != keys[: len(own_keys)]:  # numbered apart: renumber (in C)
            code_of = code_of or {key: code for code, key in enumerate(keys)}
            renumbered = np.fromiter(map(code_of.__getitem__, own_keys), np.int32, len(own_keys))
            codes = renumbered[codes]
        parts.append(codes)
    return (parts[0] if len(parts) == 1 else np.concatenate(parts)), keys


def _joined_multi_keys(segments: Sequence[SegmentArrays], name: str) -> MultiKeyColumn:
    codes, keys = _joined_keys(segments, name)
    offsets = f"{name}.offsets"
    if len(segments) > 1:
        starts = _starts(segments, f"{name}.codes")
        ends = [s.arrays[offsets][:-1] + start for s, start in zip(segments, starts, strict=True)]
        return MultiKeyColumn(np.concatenate([*ends, [len(codes)]]), codes, keys)
    return MultiKeyColumn(segments[0].arrays[offsets], codes, keys)


def _joined_days(
    segments: Sequence[SegmentArrays],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each document's day ordinal, the distinct days, and each document's day code."""
    days = np.unique(_concatenated(segments, "days"))
    parts = []
    for segment in segments:
        own_days, codes = segment.arrays["days"], segment.arrays["day_codes"]
        if len(own_days) != len(days):  # some days are other segments': renumber
            codes = np.searchsorted(days, own_days)[codes]
        parts.append(codes)
    day_codes = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return days.astype(np.int32)[day_codes], days, day_codes
