"""The positions format of the text fields: what Whoosh's matchers and our postings read back
is what was written, at every integer width, and a one-position value stays a few bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index
from whoosh.formats import Positions
from whoosh.query import Phrase

from searchsvc.index.schema import AnalyzedText, CompactPositions, make_schema

position_lists = st.lists(
    st.integers(min_value=0, max_value=2**32 - 1), min_size=1, max_size=40, unique=True
).map(sorted)


@given(position_lists)
def test_positions_read_back_as_written(positions: list[int]) -> None:
    fmt = CompactPositions()
    value = fmt.encode(positions)
    assert fmt.decode_positions(value) == positions
    assert fmt.decode_frequency(value) == len(positions)
    assert fmt.decode_weight(value) == len(positions)


@given(st.lists(st.one_of(st.just([]), position_lists), max_size=12), st.randoms())
def test_spans_of_many_values_decode_as_each_value_does(lists: list[list[int]], random) -> None:
    """Values of every width laid end to end in any order, with empty spans between
    (documents without the word), decode together to what each decodes to alone."""
    fmt = CompactPositions()
    values = [fmt.encode(positions) if positions else b"" for positions in lists]
    order = list(range(len(values)))
    random.shuffle(order)
    buffer = b"".join(values[number] for number in order)
    at = np.cumsum([0] + [len(values[number]) for number in order])
    starts = np.zeros(len(values), dtype=np.int64)
    for place, number in enumerate(order):
        starts[number] = at[place]
    ends = starts + np.array([len(value) for value in values], dtype=np.int64)
    counts, positions = fmt.decode_spans(np.frombuffer(buffer, dtype=np.uint8), starts, ends)
    assert counts.tolist() == [len(positions) for positions in lists]
    decoded = [fmt.decode_positions(value) for value in values if value]
    assert positions.tolist() == [position for each in decoded for position in each]


@given(st.lists(st.one_of(st.just([]), position_lists), max_size=12))
def test_many_lists_encode_at_once_as_each_encodes(lists: list[list[int]]) -> None:
    """Lists of every width (and empty ones) encoded together: each span is the list's
    own encoding."""
    fmt = CompactPositions()
    counts = np.array([len(positions) for positions in lists], dtype=np.uint32)
    flat = np.array([p for positions in lists for p in positions], dtype=np.uint32)
    data, starts, lengths = fmt.encode_spans(counts, flat)
    spans = [data[start : start + length] for start, length in zip(starts, lengths, strict=True)]
    assert spans == [fmt.encode(positions) for positions in lists]
    assert len(data) == sum(lengths)


@pytest.mark.parametrize("value", [b"Q\x01\x02", b"H\x01\x02\x03"])
def test_spans_of_an_unknown_type_or_a_partial_item_are_refused(value: bytes) -> None:
    buffer = np.frombuffer(value, dtype=np.uint8)
    with pytest.raises(ValueError):
        CompactPositions().decode_spans(buffer, np.array([0]), np.array([len(value)]))


def test_one_position_is_smaller_than_whoosh_encodes_it() -> None:
    for position in (0, 255, 256, 65_535):
        compact = CompactPositions().encode([position])
        assert len(compact) <= 3 < len(Positions().encode([position]))


def test_text_fields_write_the_compact_format() -> None:
    schema = make_schema()
    for name in ("title", "body", "title_words", "body_words", "place_name"):
        assert isinstance(schema[name].format, CompactPositions), name
    assert schema["title"].format.field_boost == schema["title_words"].format.field_boost == 2.0


def test_whoosh_phrase_search_reads_the_positions(tmp_path: Path) -> None:
    ix = index.create_in(tmp_path, make_schema())
    with ix.writer() as writer:
        writer.add_document(id="a", body_words="harbour cranes stood idle at the port")
        writer.add_document(id="b", body_words="the port had idle cranes in the harbour")
    with ix.searcher() as searcher:
        hits = searcher.search(Phrase("body_words", ["cranes", "stood", "idle"]))
        assert [hit["id"] for hit in hits] == ["a"]
        postings = searcher.postings("body_words", "cranes")
        found = {}
        while postings.is_active():
            found[searcher.stored_fields(postings.id())["id"]] = postings.value_as("positions")
            postings.next()
    assert found == {"a": [1], "b": [2]}  # positions count the words kept, stopwords out


#: Words whose forms share stems, stopwords of several languages, numbers and marks.
counted_text = st.lists(
    st.sampled_from(
        [
            "ships ",
            "shipping ",
            "shipped ",
            "the ",
            "The ",
            "die ",
            "Schiffe ",
            "Schiff ",
            "les ",
            "navires ",
            "1987 ",
            "U.S. ",
            "café ",
            "cafe ",
            "ab ",
            "don't ",
            ", ",
            ".\n",
        ]
    ),
    max_size=60,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(counted_text, st.sampled_from([None, "", "en", "de", "fr", "id", "ar", "xx"]))
def test_term_counts_are_the_term_positions_counted(text: str, language: str | None) -> None:
    """The counting path gives each stem of each language exactly its positions' count."""
    body = make_schema()["body"]
    positions = body.term_positions(AnalyzedText.of(text, body.analyzer, language))
    assert body.term_counts(text, language) == {
        term: len(found) for term, found in positions.items()
    }


@settings(max_examples=200, deadline=None)
@given(counted_text)
def test_term_positions_are_the_analyzer_chains(text: str) -> None:
    """The indexing shortcut (stems read from the memo, positions of words that share a
    stem merged) gives each term the positions Whoosh's analyzer chain gives it."""
    for name in ("body", "body_words"):
        field = make_schema()[name]
        chain: dict[str, list[int]] = {}
        for token in field.analyzer(text, positions=True):
            chain.setdefault(token.text, []).append(token.pos)
        analyzed = AnalyzedText.of(text, field.analyzer)
        before = {word: list(found) for word, found in analyzed.positions.items()}
        assert field.term_positions(analyzed) == chain
        assert analyzed.positions == before  # the unstemmed companion's lists are intact
