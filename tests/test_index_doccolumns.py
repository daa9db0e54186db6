"""Columns written in bulk are, byte for byte, what Whoosh's column writers write."""

from __future__ import annotations

import io

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from whoosh.columns import NumericColumn, PickleColumn, VarBytesColumn
from whoosh.filedb.filestore import FileStorage

from searchsvc.index.doccolumns import BulkColumnWriter, column_bytes, whoosh_column_bytes

#: Short values mostly, and now and then one long enough to widen Whoosh's arrays.
values = st.one_of(
    st.binary(max_size=12),
    st.integers(200, 70_000).map(lambda size: bytes([size % 251]) * size),
)


@st.composite
def column_rows(draw: st.DrawFn, value: st.SearchStrategy) -> tuple[list[int], list, int]:
    """Increasing docnums with a value each, and a segment size at or past the last."""
    gaps = draw(st.lists(st.integers(1, 40), max_size=30))
    docnums = []
    docnum = draw(st.integers(0, 3)) - 1
    for gap in gaps:
        docnum += gap
        docnums.append(docnum)
    doccount = docnum + 1 + draw(st.integers(0, 40))
    return docnums, [draw(value) for _ in docnums], doccount


@given(rows=column_rows(values), cutoff=st.integers(0, 60))
@example(rows=([0, 1], [b"a" * 65_535, b"b"], 3), cutoff=0)  # the fill widens the offsets
@example(rows=([0, 1], [b"a" * 65_534, b"b"], 3), cutoff=0)  # the fill still fits
@example(rows=([2], [b"x" * 300], 2 + 1), cutoff=10)  # lengths widened, no offsets
def test_var_bytes_column(rows: tuple, cutoff: int) -> None:
    docnums, data, doccount = rows
    column = VarBytesColumn(write_offsets_cutoff=cutoff)
    assert column_bytes(column, docnums, data, doccount) == whoosh_column_bytes(
        column, docnums, data, doccount
    )


@pytest.mark.parametrize(
    ("typecode", "low", "high"),
    [("B", 0, 255), ("i", -(2**31), 2**31 - 1), ("H", 0, 65_535), ("q", -(2**40), 2**40)],
)
@given(data=st.data())
def test_numeric_column(typecode: str, low: int, high: int, data: st.DataObject) -> None:
    """Default values are skipped and trailing ones never written, as Whoosh does."""
    default = data.draw(st.integers(low, high))
    number = st.one_of(st.just(default), st.integers(low, high))
    docnums, numbers, doccount = data.draw(column_rows(number))
    column = NumericColumn(typecode, default=default)
    assert column_bytes(column, docnums, numbers, doccount) == whoosh_column_bytes(
        column, docnums, numbers, doccount
    )


def test_other_columns_are_written_by_whoosh() -> None:
    column = PickleColumn(VarBytesColumn())
    rows = ([0, 3], [{"a": 1}, ["b"]], 5)
    assert column_bytes(column, *rows) == whoosh_column_bytes(column, *rows)


def test_values_out_of_docnum_order_are_refused() -> None:
    with pytest.raises(ValueError, match="increasing docnum"):
        column_bytes(VarBytesColumn(), [3, 1], [b"a", b"b"], 5)


@given(rows=column_rows(values), cutoff=st.integers(0, 60), split=st.integers(0, 30))
def test_bulk_writer_streams_var_bytes_as_whoosh_writes_them(
    rows: tuple, cutoff: int, split: int
) -> None:
    """Values written as they come (one by one, then a run at once), the rest at the
    finish: the same bytes as Whoosh's writer."""
    docnums, data, doccount = rows
    column = VarBytesColumn(write_offsets_cutoff=cutoff)
    buffer = io.BytesIO()
    writer = BulkColumnWriter(column, buffer)
    for docnum, value in zip(docnums[:split], data[:split], strict=True):
        writer.add(docnum, value)
    writer.add_many(docnums[split:], data[split:])
    assert not writer.values
    writer.finish(doccount)
    assert buffer.getvalue() == whoosh_column_bytes(column, docnums, data, doccount)


def test_bulk_writer_writes_its_column_to_its_file(tmp_path) -> None:
    """The writer a segment's per-document writer holds: one file, read back by Whoosh."""
    storage = FileStorage(str(tmp_path))
    column = VarBytesColumn()
    writer = BulkColumnWriter(column, storage.create_file("ids.col"))
    for docnum, value in ((0, b"first"), (2, b"third")):
        writer.add(docnum, value)
    writer.finish(4)
    writer.dbfile.close()
    dbfile = storage.open_file("ids.col")
    reader = column.reader(dbfile, 0, storage.file_length("ids.col"), 4)
    assert list(reader) == [b"first", b"", b"third", b""]
    dbfile.close()
