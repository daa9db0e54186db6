"""Part of a term's postings decoded alone equals the same part of the whole: the blocks
that may hold some documents (a sub-run, decoded by the same code as a whole run), and
the weights of some postings only (read from the blocks as they lie)."""

from __future__ import annotations

from io import BytesIO

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from test_index_codec import byte_weight_blocks, old_layout_block, postings_lists

from searchsvc.index.codec import (
    BLOCK_MAGIC,
    RunLayout,
    blocks_holding,
    decode_run,
    encode_block,
    read_run,
    sub_run,
    write_block,
)

#: Blocks of any weights, or of a text field's weights (equal, half-byte or byte
#: multiples), each in the layout written now or compressed whole as before.
many_blocks = st.one_of(
    st.lists(st.tuples(postings_lists(), st.booleans()), min_size=1, max_size=6),
    st.lists(st.tuples(byte_weight_blocks(), st.booleans()), min_size=1, max_size=8),
)
fixed_sizes = st.sampled_from([None, 0])
levels = st.sampled_from([0, 1, 6])


def written_run(blocks, fixed_size: int | None, level: int) -> bytes:
    """A term's postings of ``blocks`` ((ids, weights, values), old layout), each block's
    ids moved past the last one's, as a postings file holds them."""
    extent = BytesIO()
    extent.write(BLOCK_MAGIC)
    after = 0
    for number, ((ids, weights, values), old) in enumerate(blocks):
        ids = [after + docnum for docnum in ids]
        after = ids[-1] + 1
        write = old_layout_block if old else encode_block
        extra = (level,) if old else ((1, 9), level)
        header, data = write(ids, weights, values, fixed_size, *extra)
        write_block(extent, header, data, last=number == len(blocks) - 1)
    return extent.getvalue()


def postings_of(run, blocks: list[int]) -> np.ndarray:
    """The indexes of the postings of ``blocks`` among all postings of ``run``."""
    starts = np.cumsum(run.counts) - run.counts
    return np.concatenate(
        [np.arange(starts[b], starts[b] + run.counts[b]) for b in blocks] or [np.zeros(0, int)]
    ).astype(np.int64)


@given(many_blocks, fixed_sizes, levels, st.data())
def test_a_sub_run_decodes_as_its_blocks_of_the_whole_run(blocks, fixed_size, level, data):
    run = read_run(written_run(blocks, fixed_size, level))
    chosen = sorted(data.draw(st.sets(st.integers(0, len(blocks) - 1), min_size=1)))
    whole = decode_run(run, fixed_size)
    part = decode_run(sub_run(run, np.array(chosen)), fixed_size)
    slots = postings_of(run, chosen)
    assert part.ids.tolist() == whole.ids[slots].tolist()
    assert part.weights.tobytes() == whole.weights[slots].tobytes()
    assert list(part.values) == [whole.values[slot] for slot in slots.tolist()]


@given(many_blocks, fixed_sizes, levels, st.data())
def test_the_weights_of_some_postings_are_theirs_among_all(blocks, fixed_size, level, data):
    """Any postings, in blocks of any weight modes and layouts (blocks compressed whole
    have their heads after the term's bytes), by themselves or in a sub-run."""
    run = read_run(written_run(blocks, fixed_size, level))
    count = int(run.counts.sum())
    slots = np.array(sorted(data.draw(st.sets(st.integers(0, count - 1)))), dtype=np.int64)
    every = RunLayout(run).weights()
    assert RunLayout(run).weights_at(slots).tobytes() == every[slots].tobytes()
    chosen = np.array(sorted(data.draw(st.sets(st.integers(0, len(blocks) - 1), min_size=1))))
    within = postings_of(run, chosen.tolist())
    picked = np.flatnonzero(
        data.draw(st.lists(st.booleans(), min_size=len(within), max_size=len(within)))
    )
    part = RunLayout(sub_run(run, chosen)).weights_at(picked.astype(np.int64))
    assert part.tobytes() == every[within[picked]].tobytes()


def test_a_block_of_half_bytes_takes_its_unit_from_its_largest_high_half() -> None:
    """The largest multiple of a block in the high half of a byte: read alone, the first
    posting's weight still takes the unit the whole block gives it."""
    ids = list(range(0, 300, 3))
    weights = [2.0 if n % 2 else 0.5 for n in range(len(ids))]  # multiples 1 and 4
    extent = BytesIO()
    extent.write(BLOCK_MAGIC)
    write_block(extent, *encode_block(ids, weights, [b""] * len(ids), 0, (1, 9), 0), last=True)
    layout = RunLayout(read_run(extent.getvalue()))
    assert layout.weights_at(np.array([0, 2], dtype=np.int64)).tolist() == [0.5, 0.5]
    assert layout.weights_at(np.array([1], dtype=np.int64)).tolist() == [2.0]


@given(many_blocks, st.sampled_from([np.int64, np.int32, np.uint8]), st.data())
def test_the_blocks_holding_some_documents_are_those_whose_ids_span_them(blocks, dtype, data):
    """Docnums of any integer type (a query's matches are 32-bit; a narrow type cannot
    reach the last blocks, whose ids stay above all of them)."""
    run = read_run(written_run(blocks, None, 0))
    ids = decode_run(run, None).ids
    top = min(int(run.last_ids[-1]) + 5, int(np.iinfo(dtype).max))
    docnums = np.array(sorted(data.draw(st.sets(st.integers(0, top)))), dtype=dtype)
    chosen = blocks_holding(run, docnums)
    spans = zip(run.first_ids.tolist(), run.last_ids.tolist(), strict=True)
    expected = [
        n for n, (low, high) in enumerate(spans) if ((docnums >= low) & (docnums <= high)).any()
    ]
    assert chosen.tolist() == expected
    found = decode_run(sub_run(run, chosen), None).ids
    assert set(ids.tolist()) & set(docnums.tolist()) <= set(found.tolist())
