"""A segment's per-document columns, collected as arrays and written once at its close.

Whoosh's per-document writer takes every column value and every field length of every
document in a call of its own (about eighteen an article here), each writing a few bytes
and growing Whoosh's arrays. A bulk build knows the whole segment before writing it, so
:class:`BulkColumnWriter` only appends each value to a list and writes the rest of the
column's file in one go when the segment closes, in the bytes Whoosh's column writer
would have written:

* ``VarBytesColumn``: the values end to end, then every document's length (0 for a
  document without a value) as the narrowest array type that Whoosh's growable array
  widens to, then its offsets when the segment has more documents than the column's
  cutoff, and the type codes. Whoosh fills the offsets of documents after the last value
  once the column is finished; when that widens the array, the narrower array it held
  is what gets written, without those documents' offsets, and so it is here.
* ``NumericColumn`` of whole numbers: the values packed big-endian, every document
  before the last one with a value other than the default filled with the default;
  Whoosh never writes default values of its own, so trailing ones are left off.

Any other column type is written by replaying its values through Whoosh's own writer.
"""

from __future__ import annotations

import io
import struct
from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np
from whoosh.columns import Column, NumericColumn, VarBytesColumn
from whoosh.filedb.structfile import StructFile

#: Whole-number type codes of ``struct`` a numeric column packs with NumPy.
_WHOLE_NUMBERS = frozenset("bBhHiIlLqQ")
#: What Whoosh's growable array (``allow_longs=False``) widens to, by the largest value.
_GROWN_TYPES = ((2**8, "B"), (2**16, "H"), (2**31, "i"), (2**32, "I"))
_TYPE_LIMITS = {code: limit for limit, code in _GROWN_TYPES}


class BulkColumnWriter:
    """Whoosh's column writer interface (``add``, ``finish``) for one column, buffered.

    ``add`` appends; ``finish`` writes the column to ``dbfile`` in one write. Documents
    must be added in increasing docnum order, as a segment writer adds them.

    Variable bytes are the exception: they lead the column's file, so they are written
    as they come and only their sizes are kept, as Whoosh's own writer does. A merge of a
    million articles adds every stored record to one column, and keeping those (and the
    joined copies ``finish`` would make) took gigabytes.
    """

    __slots__ = ("column", "dbfile", "docnums", "sizes", "values")

    def __init__(self, column: Column, dbfile: Any) -> None:
        self.column = column
        self.dbfile = dbfile
        self.docnums = array("I")
        self.values: list = []
        #: Bytes of each value already written (variable-bytes columns only).
        self.sizes = array("Q") if type(column) is VarBytesColumn else None

    def add(self, docnum: int, value: Any) -> None:
        self.docnums.append(docnum)
        if self.sizes is None:
            self.values.append(value)
            return
        self.sizes.append(len(value))
        self.dbfile.write(value)

    def add_many(self, docnums: Sequence[int], values: Sequence) -> None:
        self.docnums.extend(docnums)
        if self.sizes is None:
            self.values.extend(values)
            return
        self.sizes.extend(map(len, values))
        self.dbfile.write(b"".join(values))

    def finish(self, doccount: int) -> None:
        if self.sizes is None:
            written = column_bytes(self.column, self.docnums, self.values, doccount)
        else:
            sizes = np.frombuffer(self.sizes, dtype=np.uint64).astype(np.int64)
            written = _var_bytes_tail(self.column, _increasing(self.docnums), sizes, doccount)
        self.dbfile.write(written)


def buffered_column(perdoc: Any, fieldname: str, column: Column) -> BulkColumnWriter:
    """The writer of ``fieldname``'s column in a Whoosh 3 per-document writer, made a
    :class:`BulkColumnWriter` on the same file (the column is created if need be), so
    that the per-document writer's close finishes it with the others."""
    if not perdoc._has_column(fieldname):
        perdoc._create_column(fieldname, column)
    writer = perdoc._get_column(fieldname)
    if not isinstance(writer, BulkColumnWriter):
        writer = perdoc._colwriters[fieldname] = BulkColumnWriter(column, writer._dbfile)
    return writer


def column_bytes(column: Column, docnums: Sequence[int], values: Sequence, doccount: int) -> bytes:
    """The bytes Whoosh's writer of ``column`` writes for ``values`` of ``docnums``
    (increasing) in a segment of ``doccount`` documents."""
    docs = _increasing(docnums)
    if type(column) is VarBytesColumn:
        sizes = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        return b"".join(values) + _var_bytes_tail(column, docs, sizes, doccount)
    if type(column) is NumericColumn and column._typecode in _WHOLE_NUMBERS:
        return _whole_numbers(column, docs, values)
    return whoosh_column_bytes(column, docnums, values, doccount)


def whoosh_column_bytes(
    column: Column, docnums: Sequence[int], values: Sequence, doccount: int
) -> bytes:
    """What Whoosh's own writer of ``column`` writes, a value at a time."""
    buffer = io.BytesIO()
    writer = column.writer(StructFile(buffer))
    for docnum, value in zip(docnums, values, strict=True):
        writer.add(docnum, value)
    writer.finish(doccount)
    return buffer.getvalue()


def _increasing(docnums: Sequence[int]) -> np.ndarray:
    docs = np.asarray(docnums, dtype=np.int64)
    if len(docs) > 1 and not (np.diff(docs) > 0).all():
        raise ValueError("column values must come in increasing docnum order")
    return docs


def _var_bytes_tail(
    column: VarBytesColumn, docs: np.ndarray, sizes: np.ndarray, doccount: int
) -> bytes:
    """What follows the values in a variable-bytes column: lengths, offsets, type codes."""
    lengths = np.zeros(max(doccount, int(docs[-1]) + 1 if len(docs) else 0), dtype=np.int64)
    lengths[docs] = sizes
    lengths_code = _grown_type(int(sizes.max()) if len(sizes) else 0)
    parts = [_big_endian(lengths, lengths_code)]
    codes = lengths_code.encode("ascii")
    if column.allow_offsets and doccount > column.write_offsets_cutoff:
        offsets_code, offsets = _offsets(lengths, int(docs[-1]) + 1 if len(docs) else 0)
        parts.append(_big_endian(offsets, offsets_code))
        codes += offsets_code.encode("ascii") + b"X"
    return b"".join(parts) + codes


def _offsets(lengths: np.ndarray, valued: int) -> tuple[str, np.ndarray]:
    """Whoosh's offsets array at the column's finish, and its type code.

    It holds one offset per document up to the last with a value (``valued``), its type
    the narrowest for the largest of them; the documents after are filled with the total
    only when the total fits that type (otherwise the array is widened into a new one,
    and the one written is the old)."""
    offsets = np.cumsum(lengths) - lengths
    code = _grown_type(int(offsets[valued - 1]) if valued else 0)
    if valued < len(lengths) and int(lengths.sum()) >= _TYPE_LIMITS[code]:
        return code, offsets[:valued]
    return code, offsets


def _grown_type(top: int) -> str:
    for limit, code in _GROWN_TYPES:
        if top < limit:
            return code
    raise OverflowError(f"{top!r} is too big to fit in an array")


def _big_endian(values: np.ndarray, code: str) -> bytes:
    return values.astype(_dtype(code)).tobytes()


def _dtype(code: str) -> np.dtype:
    return np.dtype(code).newbyteorder(">") if struct.calcsize(code) > 1 else np.dtype(code)


def _whole_numbers(column: NumericColumn, docs: np.ndarray, values: Sequence) -> bytes:
    code = column._typecode
    dtype = np.dtype(f">{'u' if code.isupper() else 'i'}{struct.calcsize('!' + code)}")
    numbers = np.array(values, dtype=dtype)
    written = numbers != column._default
    if not written.any():
        return b""
    kept = docs[written]
    packed = np.full(int(kept[-1]) + 1, column._default, dtype=dtype)
    packed[kept] = numbers[written]
    return packed.tobytes()
