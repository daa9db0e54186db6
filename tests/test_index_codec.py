"""The compact codec reads back what it wrote, as Whoosh 3's codec would, through
Whoosh's matchers and the NumPy postings reader; indexes of both codecs open."""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from test_index_segments import invented, postings
from whoosh.codec.whoosh3 import W3Codec
from whoosh.filedb.filestore import FileStorage
from whoosh.qparser import QueryParser
from whoosh.writing import NO_MERGE

from searchsvc.index import codec, segments
from searchsvc.index.codec import (
    BLOCK_MAGIC,
    COMPRESS_FROM_BYTES,
    PLAIN,
    VALUES_COMPRESSED,
    WHOLE_COMPRESSED,
    CompactCodec,
    CompactTermInfo,
    EncodedPostings,
    JoinedValues,
    PostingChunks,
    block_data,
    block_spans,
    block_starts,
    decode_postings,
    decode_run,
    encode_block,
    encode_postings,
    encode_postings_chunks,
    float32,
    head_size,
    join_postings,
    read_run,
    write_block,
)
from searchsvc.index.schema import article_document, make_schema
from searchsvc.index.stored import (
    dictionary_table,
    join_dictionary_tables,
    read_dictionary_table,
)
from searchsvc.search.cache import size_in_bytes
from searchsvc.search.postings import read_postings

#: Where a block header's layout byte sits (after count, first id, last id, weight).
_LAYOUT_AT = 14
gaps = st.lists(st.integers(1, 70_000), min_size=1, max_size=140)


@st.composite
def postings_lists(draw) -> tuple[list[int], list[float], list[bytes]]:
    ids = [draw(st.integers(0, 5))]
    for gap in draw(gaps)[1:]:
        ids.append(ids[-1] + gap)
    boost = draw(st.sampled_from([1.0, 2.0, 1.5, 0.3]))
    if draw(st.booleans()):
        top = draw(st.sampled_from([2, 15, 16, 300]))  # half-byte, byte and wider multiples
        weights = [float32(draw(st.integers(1, top)) * boost) for _ in ids]
    else:
        weights = [float32(draw(st.floats(0.0, 1e6, width=32))) for _ in ids]
    values = [draw(st.binary(max_size=300)) for _ in ids]
    return ids, weights, values


@given(postings_lists())
def test_postings_round_trip(found) -> None:
    ids, weights, values = found
    max_weight = float32(max(weights))
    data = encode_postings(ids, weights, values, None, max_weight)
    raw = decode_postings(data, len(ids), ids[0], max_weight, None)
    assert list(raw.ids()) == ids
    assert list(raw.weights(len(ids))) == weights
    assert list(raw.values(len(ids), None)) == values


def whole_compressed(data: bytes, count: int, level: int) -> tuple[bytes, int]:
    """How blocks were stored before their heads were kept plain: zlib-compressed whole
    when at least :data:`COMPRESS_FROM_BYTES` long and smaller compressed."""
    if level and len(data) >= COMPRESS_FROM_BYTES:
        packed = zlib.compress(data, level)
        if len(packed) < len(data):
            return packed, WHOLE_COMPRESSED
    return data, PLAIN


def old_layout_block(ids, weights, values, fixed_size, level: int) -> tuple[bytes, bytes]:
    """A block's header and data as written before heads were kept plain."""
    header, data = encode_block(ids, weights, values, fixed_size, (1, 9), 0)
    data, layout = whole_compressed(data, len(ids), level)
    return header[:_LAYOUT_AT] + bytes((layout,)) + header[_LAYOUT_AT + 1 :], data


@contextmanager
def writing_old_layout() -> Iterator[None]:
    """Writers (Whoosh's and the bulk one) store blocks compressed whole, as they did."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(codec, "compress_values", whole_compressed)
        patch.setattr(segments, "compress_values", whole_compressed)
        yield


@pytest.mark.parametrize(("top", "weight_bytes"), [(15, 1 + 64), (16, 2 + 128)])
def test_multiples_up_to_fifteen_take_half_a_byte_each(top: int, weight_bytes: int) -> None:
    """A word occurs a few times per article: its frequencies fit in half-bytes."""
    ids = list(range(0, 256, 2))
    weights = [float(1 + n % top) for n in range(128)]
    data = encode_postings(ids, weights, [b""] * 128, 0, float(top))
    gap_bytes = 1 + 127
    assert head_size(data, 128) == len(data) == gap_bytes + weight_bytes
    raw = decode_postings(data, 128, 0, float(top), 0)
    assert list(raw.weights(128)) == weights


@st.composite
def byte_weight_blocks(draw) -> tuple[list[int], list[float], list[bytes]]:
    """A block whose weights are all equal, or multiples of the boost up to 15 (half a
    byte each) or up to 255 (a byte each): how a text field's frequencies are stored."""
    ids, _, values = draw(postings_lists())
    boost = draw(st.sampled_from([1.0, 2.0, 0.3]))
    top = draw(st.sampled_from([1, 15, 255]))
    return ids, [float32(draw(st.integers(1, top)) * boost) for _ in ids], values


@given(
    st.one_of(
        st.lists(st.tuples(postings_lists(), st.booleans()), min_size=1, max_size=6),
        st.lists(st.tuples(byte_weight_blocks(), st.booleans()), min_size=1, max_size=8),
    ),
    st.sampled_from([None, 0]),
    st.sampled_from([0, 1, 6]),
)
def test_a_term_of_many_blocks_decodes_as_each_block_does(blocks, fixed_size, level) -> None:
    """All blocks at once (mixed integer widths and weight modes, some compressed, in
    either layout, as a merge of old and new segments leaves them; or only the byte-wide
    weights of text, read by one gather) give what decoding each block alone gives; each
    block's stored data gives back what was encoded."""
    extent = BytesIO()
    extent.write(BLOCK_MAGIC)
    expected_ids, expected_weights, expected_values = [], [], []
    for number, ((ids, weights, values), old) in enumerate(blocks):
        if old:
            header, data = old_layout_block(ids, weights, values, fixed_size, level)
        else:
            header, data = encode_block(ids, weights, values, fixed_size, (1, 9), level)
        write_block(extent, header, data, last=number == len(blocks) - 1)
        max_weight = float32(max(weights))
        encoded = encode_postings(ids, weights, values, fixed_size, max_weight)
        assert block_data(data, len(ids), header[_LAYOUT_AT]) == encoded
        raw = decode_postings(encoded, len(ids), ids[0], max_weight, fixed_size)
        expected_ids += raw.ids()
        expected_weights += raw.weights(len(ids))
        expected_values += raw.values(len(ids), fixed_size)
    decoded = decode_run(read_run(extent.getvalue()), fixed_size)
    starts, ends = block_spans(extent.getvalue())
    assert block_starts(extent.getvalue()) == (starts.tolist(), ends[-1])
    assert decoded.ids.tolist() == expected_ids
    assert decoded.weights.dtype == np.float64
    assert decoded.weights.tolist() == expected_weights
    assert list(decoded.values) == expected_values
    wanted = np.array([*range(len(expected_ids) - 1, -1, -2), 0], dtype=np.int64)
    fresh = decode_run(read_run(extent.getvalue()), fixed_size).values  # no block split yet
    data, starts, ends = fresh.value_spans(wanted)
    spans = [data[start:end] for start, end in zip(starts.tolist(), ends.tolist(), strict=True)]
    assert spans == [expected_values[index] or b"" for index in wanted.tolist()]


@given(
    st.one_of(postings_lists(), byte_weight_blocks()),
    st.lists(st.floats(0.0, 1.0, exclude_max=True), max_size=4),
    st.sampled_from([None, -1, 0, 3]),
)
# Pieces whose weights are all equal, though not all to the same maximum.
@example(([3, 5, 8, 9], [2.0, 2.0, 4.0, 4.0], [b"a", b"", b"bc", b"d"]), [0.5], None)
def test_postings_joined_as_encoded_equal_the_whole_list_encoded(found, cuts, fixed_size) -> None:
    """A list encoded in pieces (each with its own maximum weight, as the inlined postings
    of one term in several segments are) and joined is the list encoded in one piece."""
    ids, weights, values = found
    bounds = [0, *sorted({int(cut * len(ids)) for cut in cuts} - {0}), len(ids)]
    pieces = []
    for start, end in itertools.pairwise(bounds):
        top = float32(max(weights[start:end]))
        data = encode_postings(ids[start:end], weights[start:end], values[start:end], None, top)
        pieces.append(EncodedPostings(data, end - start, ids[start], top))
    max_weight = float32(max(weights))
    joined = join_postings(pieces, fixed_size, max_weight)
    assert joined == encode_postings(ids, weights, values, fixed_size, max_weight)


def test_value_spans_refuse_an_index_outside_the_run() -> None:
    extent = BytesIO()
    extent.write(BLOCK_MAGIC)
    header, data = encode_block([3, 9], [1.0, 1.0], [b"B\x01", b"B\x02"], None, (1, 9), 0)
    write_block(extent, header, data, last=True)
    values = decode_run(read_run(extent.getvalue()), None).values
    with pytest.raises(IndexError):
        values.value_spans(np.array([0, 2]))


def test_a_run_holds_a_few_numbers_per_block_until_its_values_are_asked_for() -> None:
    """A common word has thousands of blocks: what a run keeps per block (and what the
    query cache walks to measure it) is a few flat numbers, not objects per block."""
    blocks = 2_000
    extent = BytesIO()
    extent.write(BLOCK_MAGIC)
    for number in range(blocks):
        ids = [number * 1_000 + step for step in range(0, 640, 5)]
        values = [bytes([66, step % 50, 7]) for step in range(len(ids))]
        header, data = encode_block(ids, [1.0] * len(ids), values, None, (1, 9), 6)
        write_block(extent, header, data, last=number == blocks - 1)
    run = decode_run(read_run(extent.getvalue()), None).values
    per_block = (size_in_bytes(run) - len(extent.getvalue())) / blocks
    assert per_block < 64
    assert run[5 * 128 + 3] == bytes([66, 3, 7])  # a value, its block split on demand


@pytest.mark.parametrize(
    ("weights", "spread"),
    [
        ([1.0] * 128, 1),  # all equal: no weights stored
        ([float(n % 3 + 1) for n in range(128)], 1),  # half-byte multiples
        ([float(n % 40 + 1) for n in range(128)], 1),  # one-byte multiples
        ([float(n * 7 % 900 + 1) for n in range(128)], 300),  # two-byte multiples: topped up
        ([float32(n * 0.37 + 0.1) for n in range(128)], 70_000),  # floats: topped up
    ],
)
@pytest.mark.parametrize("old", [False, True], ids=["heads plain", "compressed whole"])
def test_compressed_blocks_read_their_heads_then_their_values(weights, spread, old) -> None:
    """Compressed blocks of position-like values decode as each block does alone,
    whatever their weights make the head's length; a block's head is stored plain,
    one written before that is compressed whole."""
    ids = [5 + n * spread for n in range(128)]
    values = [bytes([66, n % 50, n % 50 + 3]) * (1 + n % 3) for n in range(128)]
    extent = BytesIO()
    extent.write(BLOCK_MAGIC)
    for number in range(3):
        shifted = [docnum + number * 10_000_000 for docnum in ids]
        if old:
            header, data = old_layout_block(shifted, weights, values, None, 6)
        else:
            header, data = encode_block(shifted, weights, values, None, (1, 9), 6)
        plain = encode_postings(shifted, weights, values, None, float32(max(weights)))
        head = head_size(plain, len(shifted))
        assert (header[_LAYOUT_AT], data[:head] == plain[:head]) == (
            (WHOLE_COMPRESSED, False) if old else (VALUES_COMPRESSED, True)
        )
        write_block(extent, header, data, last=number == 2)
    decoded = decode_run(read_run(extent.getvalue()), None)
    assert decoded.ids.tolist() == [d + n * 10_000_000 for n in range(3) for d in ids]
    assert decoded.weights.tolist() == [float32(w) for w in weights] * 3
    assert list(decoded.values) == values * 3
    assert decoded.values[-1] == values[-1]


@given(
    st.lists(st.tuples(postings_lists(), st.booleans()), min_size=1, max_size=8),
    st.sampled_from([None, 0, 4, -1]),
    st.booleans(),
)
def test_chunks_encoded_together_equal_each_encoded_alone(chunks, fixed_size, reordered) -> None:
    """The bulk encoder writes each chunk's bytes exactly as :func:`encode_postings` does,
    whatever the mix of integer widths, weight modes and value layouts, and whether the
    values' spans lie in order in their buffer or are put in order by ``take``."""
    ids, weights, values, starts, with_lengths = [], [], [], [], []
    for (chunk_ids, chunk_weights, chunk_values), lengths in chunks:
        starts.append(len(ids))
        ids += chunk_ids
        weights += chunk_weights
        values += chunk_values
        with_lengths.append(lengths)
    if reordered:
        backwards = np.arange(len(values))[::-1]
        values = JoinedValues.of(values[::-1]).take(backwards)
    else:
        values = JoinedValues.of(values)
    together = PostingChunks(
        np.array(ids, dtype=np.uint32),
        np.array(weights, dtype=np.float32),
        values,
        np.array(starts),
        np.array(with_lengths),
    )
    encoded = encode_postings_chunks(together, fixed_size)
    expected = [
        encode_postings(
            chunk_ids,
            chunk_weights,
            chunk_values,
            None if lengths else fixed_size,
            float32(max(chunk_weights)),
        )
        for (chunk_ids, chunk_weights, chunk_values), lengths in chunks
    ]
    assert encoded == expected


@given(postings_lists())
def test_inlined_term_record_round_trip(found) -> None:
    ids, weights, values = found
    info = CompactTermInfo()
    info._weight, info._df, info._maxweight = sum(weights), len(ids), max(weights)
    info._minid, info._maxid, info._minlength, info._maxlength = ids[0], ids[-1], 1, 9
    info.set_inlined(ids, weights, values)
    back = CompactTermInfo.from_bytes(info.to_bytes())
    assert back.inlined_postings() == (tuple(ids), tuple(weights), tuple(values))
    assert (back.doc_frequency(), back.min_id(), back.max_id()) == (len(ids), ids[0], ids[-1])
    assert back.max_weight() == float32(max(weights))


def write_segments(path: Path, codecs: list, articles_per_segment: int = 150, old_layout: int = 0):
    """One segment per codec, each of fresh invented articles, written by Whoosh's writer;
    the first ``old_layout`` segments with their blocks compressed whole."""
    path.mkdir()
    ix = FileStorage(str(path)).create_index(make_schema())
    plain = ix.schema["title_words"].analyzer
    articles = invented(articles_per_segment * len(codecs))
    for number, codec_ in enumerate(codecs):
        with writing_old_layout() if number < old_layout else nullcontext():
            writer = ix.writer(codec=codec_)
            start = number * articles_per_segment
            for article in articles[start : start + articles_per_segment]:
                writer.add_document(**article_document(article, plain))
            writer.commit(mergetype=NO_MERGE)
    return FileStorage(str(path)).open_index()


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("codec")
    return {
        "w3": write_segments(root / "w3", [W3Codec(), W3Codec()]),
        "compact": write_segments(root / "compact", [CompactCodec(), CompactCodec()]),
        "mixed": write_segments(root / "mixed", [W3Codec(), CompactCodec()]),
        "old": write_segments(root / "old", [CompactCodec(), CompactCodec()], old_layout=2),
        "old+new": write_segments(root / "old+new", [CompactCodec(), CompactCodec()], old_layout=1),
    }


#: Indexes whose postings must read as Whoosh 3's codec's do.
COMPARED = ["compact", "mixed", "old", "old+new"]


def compressed_layouts(segment, field: str, text: str) -> set[int]:
    """The layouts of the term's blocks that are compressed (a short block is not)."""
    matcher = segment.postings(field, text)
    extent = matcher._postfile.get(matcher._startoffset, matcher._length[0])
    return set(read_run(extent).layouts.tolist()) - {PLAIN}


def test_compact_segments_hold_compact_blocks(indexes) -> None:
    with indexes["compact"].reader() as reader:
        segment = reader.leaf_readers()[0][0]
        assert isinstance(segment.codec(), CompactCodec)
        matcher = segment.postings("body", "oil")
        assert matcher._postfile.get(matcher._startoffset, 4) == BLOCK_MAGIC
        assert compressed_layouts(segment, "body", "oil") == {VALUES_COMPRESSED}


def test_segments_written_before_hold_blocks_compressed_whole(indexes) -> None:
    with indexes["old+new"].reader() as reader:
        (old, _), (new, _) = reader.leaf_readers()
        assert compressed_layouts(old, "body", "oil") == {WHOLE_COMPRESSED}
        assert compressed_layouts(new, "body", "oil") == {VALUES_COMPRESSED}


@pytest.mark.parametrize("name", COMPARED)
def test_whoosh_matchers_read_the_same_postings(indexes, name: str) -> None:
    with indexes["w3"].reader() as expected, indexes[name].reader() as found:
        assert postings(found) == postings(expected)


@pytest.mark.parametrize("name", COMPARED)
@pytest.mark.parametrize(
    ("field", "query"),
    [("body", "oil"), ("body", '"crude oil"'), ("title", "grain OR wheat"), ("body", "unique7")],
)
def test_whoosh_searches_score_the_same(indexes, name: str, field: str, query: str) -> None:
    results = []
    for ix in (indexes["w3"], indexes[name]):
        with ix.searcher() as searcher:
            parsed = QueryParser(field, ix.schema).parse(query)
            results.append([(hit.docnum, hit.score) for hit in searcher.search(parsed, limit=None)])
    assert results[0] == results[1] and results[0]


@pytest.mark.parametrize("name", COMPARED)
def test_array_reader_reads_the_same_postings(indexes, name: str) -> None:
    with indexes["w3"].searcher() as expected, indexes[name].searcher() as found:
        terms = {(field, text) for field, text in expected.reader().all_terms()}
        for field in ("body", "title_words", "places", "date"):
            texts = sorted(text for name_, text in terms if name_ == field)
            assert texts
            for text in texts:
                a, b = read_postings(expected, field, text), read_postings(found, field, text)
                assert np.array_equal(a.ids, b.ids) and np.array_equal(a.tfs, b.tfs)
                for docnum in a.ids.tolist():
                    assert a.positions(docnum) == b.positions(docnum)


def test_merging_into_the_compact_codec_keeps_postings(tmp_path: Path, indexes) -> None:
    ix = write_segments(tmp_path / "merged", [W3Codec(), CompactCodec(), W3Codec()], 100)
    ix.writer(codec=CompactCodec()).commit(optimize=True)
    ix = FileStorage(str(tmp_path / "merged")).open_index()
    again = write_segments(tmp_path / "plain", [W3Codec()], 300)
    with ix.reader() as merged, again.reader() as expected:
        assert len(merged.leaf_readers()) == 1
        assert isinstance(merged.leaf_readers()[0][0].codec(), CompactCodec)
        assert postings(merged) == postings(expected)


@pytest.mark.parametrize("name", ["compact", "mixed"])
def test_stored_records_read_back(indexes, name: str) -> None:
    with indexes["w3"].reader() as expected, indexes[name].reader() as found:
        assert list(found.all_stored_fields()) == list(expected.all_stored_fields())
        last_segment = found.leaf_readers()[-1][0].segment()
        assert last_segment.stored_dictionary  # its records filled a dictionary


def test_a_segment_too_small_for_a_dictionary_stores_records_plainly(tmp_path: Path) -> None:
    ix = write_segments(tmp_path / "small", [CompactCodec()], articles_per_segment=3)
    with ix.reader() as reader:
        assert not getattr(reader.segment(), "stored_dictionary", False)
        assert [fields["id"] for fields in reader.all_stored_fields()] == ["a0", "a1", "a2"]


def test_dictionary_tables_of_segments_laid_end_to_end() -> None:
    first = dictionary_table([(0, b"alpha" * 10)])
    second = dictionary_table([(0, b"beta" * 10), (40, b"gamma" * 10)])
    joined = join_dictionary_tables([(0, first), (100, None), (250, second)])
    assert read_dictionary_table(joined) == [
        (0, b"alpha" * 10),
        (100, b""),
        (250, b"beta" * 10),
        (290, b"gamma" * 10),
    ]


@given(st.lists(st.binary(max_size=5)), st.data())
def test_joined_values_read_as_the_list_they_hold(values: list[bytes], data) -> None:
    order = data.draw(st.permutations(range(len(values))))
    start = data.draw(st.integers(0, len(values)))
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values))))
    reordered = [values[index] for index in order]
    joined = JoinedValues.of(values).take(np.array(order, dtype=np.int64))
    assert list(joined) == reordered
    assert len(joined) == len(reordered)
    assert list(joined[start:]) == reordered[start:]
    assert [joined[index] for index in range(len(joined))] == reordered
    kept = [value for value, keep in zip(reordered, mask.tolist(), strict=True) if keep]
    assert joined.joined(mask.astype(bool)).tobytes() == b"".join(kept)
