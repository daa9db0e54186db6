"""A term table written a run at a time is, byte for byte, the file Whoosh's writes."""

from __future__ import annotations

import random

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from whoosh.filedb.filestore import RamStorage
from whoosh.filedb.filetables import OrderedHashReader, OrderedHashWriter

from searchsvc.index.termtable import TermTable


@st.composite
def table_rows(draw: st.DrawFn) -> tuple[list[bytes], list[bytes], list[int]]:
    """Sorted keys, enough of them to share hash tables (256 of them), their records
    (now and then long enough to widen the key index past 16 bits) and where the runs
    they are added in end."""
    prefix = draw(st.binary(max_size=4))
    count = draw(st.integers(0, 2_500))
    rnd = random.Random(draw(st.integers(0, 2**32)))
    keys = sorted({prefix + rnd.randbytes(rnd.randint(1, 6)) for _ in range(count)})
    big = draw(st.sampled_from([0, 0.01, 0.2]))
    records = [
        b"r" * (rnd.randint(0, 9_000) if rnd.random() < big else rnd.randint(0, 30)) for _ in keys
    ]
    cuts = sorted(draw(st.sets(st.integers(0, len(keys)), max_size=5)))
    return keys, records, cuts


@settings(max_examples=40, deadline=None)
@given(rows=table_rows())
@example(rows=([], [], []))
def test_table_in_runs_is_whoosh_table(rows: tuple) -> None:
    keys, values, cuts = rows
    storage = RamStorage()
    whoosh = OrderedHashWriter(storage.create_file("whoosh.trm"))
    whoosh.extras["fieldmap"] = {"body": 0}
    for key, value in zip(keys, values, strict=True):
        whoosh.add(key, value)
    ours = TermTable(storage.create_file("ours.trm"))
    ours.extras["fieldmap"] = {"body": 0}
    for start, end in zip([0, *cuts], [*cuts, len(keys)], strict=True):
        ours.add_many(keys[start:end], values[start:end])
    whoosh.close()
    ours.close()
    written = storage.open_file("ours.trm").read()
    assert written == storage.open_file("whoosh.trm").read()
    reader = OrderedHashReader(storage.open_file("ours.trm"), len(written))
    assert [reader[key] for key in keys] == values


def test_adopted_table_writes_as_whoosh_does() -> None:
    """A field writer's own table, adopted after Whoosh wrote its header."""
    storage = RamStorage()
    whoosh = OrderedHashWriter(storage.create_file("whoosh.trm"))
    adopted = TermTable.adopt(OrderedHashWriter(storage.create_file("adopted.trm")))
    for table in (whoosh, adopted):
        table.add(b"crude", b"\x01")
        table.add(b"oil", b"\x02\x03")
        table.close()
    assert storage.open_file("adopted.trm").read() == storage.open_file("whoosh.trm").read()


def test_keys_must_increase() -> None:
    table = TermTable(RamStorage().create_file("bad.trm"))
    table.add(b"b", b"")
    with pytest.raises(ValueError, match="Keys must increase"):
        table.add_many([b"c", b"a"], [b"", b""])
    with pytest.raises(ValueError, match="adopted before"):
        TermTable.adopt(table)
