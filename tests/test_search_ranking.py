"""Ranking: titles outweigh bodies, phrases outrank scattered words, ties go by id."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from searchsvc.config import Settings
from searchsvc.index import build_index
from searchsvc.search import RankingConfig, SearchEngine, SearchRequest
from searchsvc.search.columns import LENGTH_OF_BYTE
from searchsvc.search.ranking import (
    ByLengthByte,
    TermScores,
    _add_by_doc,
    phrase_count,
    phrase_counts,
    sum_scores,
)
from searchsvc.search.serving import ServingIndex

FILLER = "Traders in the city said the outlook for the coming spring was uncertain."
ARTICLES = [
    # the same words, together in one and apart in the other, bodies of equal length
    {"id": "phrase", "title": "Markets today", "body": f"Interest rates will rise. {FILLER}"},
    {"id": "apart", "title": "Markets today", "body": f"Interest will rise, rates too. {FILLER}"},
    # the same word once, in the title of one and in the body of the other
    {"id": "in-title", "title": "Copper output", "body": f"The mine reported results. {FILLER}"},
    {
        "id": "in-body",
        "title": "Mine results",
        "body": f"The mine reported copper output. {FILLER}",
    },
    # identical stories: only the id can order them
    {"id": "twin-b", "title": "Harbour news", "body": f"The lighthouse was repainted. {FILLER}"},
    {"id": "twin-a", "title": "Harbour news", "body": f"The lighthouse was repainted. {FILLER}"},
]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("ranking")
    corpus = root / "articles.jsonl"
    corpus.write_text("\n".join(json.dumps(a) for a in ARTICLES) + "\n", encoding="utf-8")
    settings = Settings(index_dir=root / "index", corpus=(corpus,), build_procs=1)
    build_index(None, settings, show_progress=False)
    return settings


def ranked(settings: Settings, query: str, ranking: RankingConfig | None = None) -> list[str]:
    """Every article in rank order: the shared filler makes these articles copies of one
    story, which a collapsed list would show once."""
    with SearchEngine(settings, ranking=ranking) as engine:
        request = SearchRequest(query=query, collapse=False)
        return [hit.id for hit in engine.search(request).hits]


def test_title_outweighs_body(settings: Settings) -> None:
    assert ranked(settings, "copper") == ["in-title", "in-body"]
    assert ranked(settings, "copper", RankingConfig(title_weight=0.5)) == ["in-body", "in-title"]


def test_phrase_outranks_scattered_words(settings: Settings) -> None:
    assert ranked(settings, "interest rates") == ["phrase", "apart"]
    without = RankingConfig(phrase_boost=0.0, proximity_boost=0.0)
    with SearchEngine(settings, ranking=without) as engine:
        scores = {
            h.id: h.score
            for h in engine.search(SearchRequest(query="interest rates", collapse=False)).hits
        }
    assert scores["phrase"] == pytest.approx(scores["apart"], rel=0.05)


def test_ties_are_broken_by_id_on_every_page(settings: Settings) -> None:
    assert ranked(settings, "lighthouse") == ["twin-a", "twin-b"]
    with SearchEngine(settings) as engine:
        pages = [
            engine.search(SearchRequest(query="lighthouse", per_page=1, page=page, collapse=False))
            .hits[0]
            .id
            for page in (1, 2)
        ]
    assert pages == ["twin-a", "twin-b"]


def test_scores_are_positive_and_descending(settings: Settings) -> None:
    with SearchEngine(settings) as engine:
        hits = engine.search(
            SearchRequest(query="traders OR copper OR interest", collapse=False)
        ).hits
    scores = [hit.score for hit in hits]
    assert all(score > 0 for score in scores) and scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("size", [1000, 40], ids=["few documents", "most documents"])
def test_fields_add_up_per_document_keeping_32_bit_docnums(size: int) -> None:
    title = np.array([3, 7, 20], dtype=np.int32)
    body = np.array([1, 3, 20, 30], dtype=np.int32)
    ids, sums = _add_by_doc([title, body], [np.array([1.0, 2.0, 4.0]), np.ones(4) / 8], size)
    assert ids.dtype == np.int32
    assert ids.tolist() == [1, 3, 7, 20, 30]
    assert sums.tolist() == [0.125, 1.125, 2.0, 4.125, 0.125]
    extra = np.array([0, 30], dtype=np.int32)
    ids, sums = _add_by_doc([title, body, extra], [np.ones(3), np.ones(4), np.ones(2)], size)
    assert ids.tolist() == [0, 1, 3, 7, 20, 30]
    assert sums.tolist() == [1.0, 1.0, 2.0, 1.0, 2.0, 2.0]


_SIZE = 60
#: Parts draw their docnums from the first few, so that documents are in several parts.
_SHARED = 12
#: Values whose sums show the order of additions (0.1 + 0.2 + 0.3 is not 0.3 + 0.2 + 0.1)
#: and a missing start from zero (0.0 + -0.0 is 0.0).
_VALUES = st.one_of(
    st.floats(min_value=-1e9, max_value=1e9),
    st.sampled_from([0.0, -0.0, 0.1, 0.2, 0.3, 1e16, -1e16]),
)


@st.composite
def _parts(draw: st.DrawFn, max_parts: int = 4) -> list[tuple[np.ndarray, np.ndarray]]:
    """Sorted, distinct docnums below ``_SHARED`` with a value each, 32- or 64-bit."""
    parts = []
    for _ in range(draw(st.integers(1, max_parts))):
        ids = sorted(draw(st.sets(st.integers(0, _SHARED - 1))))
        kind = draw(st.sampled_from([np.int32, np.int64]))
        values = draw(st.lists(_VALUES, min_size=len(ids), max_size=len(ids)))
        parts.append((np.array(ids, dtype=kind), np.array(values, dtype=np.float64)))
    return parts


def _sums_in_order(parts: list[tuple[np.ndarray, np.ndarray]]) -> dict[int, float]:
    """Each docnum's values added one by one from 0.0, part after part."""
    sums: dict[int, float] = {}
    for ids, values in parts:
        for doc, value in zip(ids.tolist(), values.tolist(), strict=True):
            sums[doc] = sums.get(doc, 0.0) + value
    return sums


@hypothesis_settings(max_examples=400, deadline=None)
@given(_parts(), st.sampled_from([_SIZE, 40 * _SIZE]))
def test_fields_add_up_bit_for_bit_in_the_parts_order(
    parts: list[tuple[np.ndarray, np.ndarray]], size: int
) -> None:
    """Whichever way the parts are combined (a merge of two, a sort of few docnums,
    collection-long arrays), each sum is the one of adding in order from zero."""
    expected = _sums_in_order(parts)
    ids, sums = _add_by_doc([ids for ids, _ in parts], [values for _, values in parts], size)
    assert ids.dtype == np.result_type(*(ids for ids, _ in parts))
    assert ids.tolist() == sorted(expected)
    assert sums.tobytes() == np.array([expected[doc] for doc in sorted(expected)]).tobytes()


@hypothesis_settings(max_examples=300, deadline=None)
@given(_parts(), st.sets(st.integers(0, _SHARED + 2)), st.booleans())
def test_a_documents_scores_add_up_bit_for_bit_in_the_parts_order(
    parts: list[tuple[np.ndarray, np.ndarray]], others: set[int], exactly_the_matches: bool
) -> None:
    """The scores of any documents (those the parts score, or others too or instead)."""
    expected = _sums_in_order(parts)
    chosen = set(expected) if exactly_the_matches else others
    docs = np.array(sorted(chosen), dtype=np.int64)
    scores = sum_scores(docs, [TermScores(ids, values, 1.0) for ids, values in parts], _SIZE)
    wanted = np.array([expected.get(doc, 0.0) for doc in sorted(chosen)])
    assert scores.dtype == np.float64  # bytes alone cannot tell 0.0 from an integer 0
    assert scores.tobytes() == wanted.tobytes()


def test_term_scores_of_a_real_index_combine_each_documents_fields(settings: Settings) -> None:
    """BM25F of a word in titles and bodies: per document, its title and body frequencies
    weighted by that document's norms, added, then saturated."""
    ranking = RankingConfig()
    serving = ServingIndex(settings.index_dir, ranking)
    try:
        with serving.reading() as reading:
            bm25 = reading.bm25
            for word in ("copper", "mine", "market", "interest", "lighthous", "trader"):
                title, body = reading.postings("title", word), reading.postings("body", word)
                occurrences = [("title", title.ids, title.tfs), ("body", body.ids, body.tfs)]
                scored = bm25.term_scores(occurrences, 3)
                tfs = {"title": dict(zip(title.ids.tolist(), title.tfs.tolist(), strict=True))}
                tfs["body"] = dict(zip(body.ids.tolist(), body.tfs.tolist(), strict=True))
                docs = sorted(set(tfs["title"]) | set(tfs["body"]))
                assert docs and scored.ids.tolist() == docs
                for doc, score in zip(docs, scored.scores.tolist(), strict=True):
                    weighted = bm25.weighted_frequency(
                        doc, tfs["title"].get(doc, 0), tfs["body"].get(doc, 0)
                    )
                    assert score == pytest.approx(bm25.saturate(weighted) * scored.idf, rel=1e-12)
    finally:
        serving.close()


_POSITIONS = st.lists(st.integers(min_value=0, max_value=12), max_size=6)


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(_POSITIONS, min_size=1, max_size=4), min_size=0, max_size=6),
    st.booleans(),
)
def test_phrase_counts_of_many_documents_are_each_document_counted(
    documents: list[list[list[int]]], far: bool
) -> None:
    """Per document, as many phrase starts as :func:`phrase_count` finds, with positions
    in any order, repeated or missing, and near the largest a position can be."""
    words = min((len(document) for document in documents), default=2)
    documents = [document[:words] for document in documents]
    if far:  # a phrase at the top of one document must not run into the next one
        documents = [
            [[2**32 - 1 - p for p in word] for word in document] if number % 2 else document
            for number, document in enumerate(documents)
        ]
    arrays = []
    for word in range(words):
        lists = [document[word] for document in documents]
        lengths = np.array([len(positions) for positions in lists], dtype=np.int64)
        arrays.append((lengths, np.array([p for ps in lists for p in ps], dtype=np.int64)))
    assert phrase_counts(arrays).tolist() == [phrase_count(document) for document in documents]


@given(
    length_bytes=st.lists(st.integers(0, 255), min_size=1, max_size=200),
    weight=st.floats(0.1, 10.0),
    b=st.floats(0.0, 1.0),
    average=st.floats(0.5, 5000.0),
)
@hypothesis_settings(max_examples=200, deadline=None)
def test_norms_by_length_byte_equal_each_documents_own_bit_for_bit(
    length_bytes: list[int], weight: float, b: float, average: float
) -> None:
    codes = np.array(length_bytes, dtype=np.uint8)
    with np.errstate(divide="ignore"):  # b of 1 and an empty field: infinite either way
        own = weight / (1.0 - b + b * LENGTH_OF_BYTE[codes] / average)
        by_byte = ByLengthByte(weight / (1.0 - b + b * LENGTH_OF_BYTE / average), codes)
    docnums = np.arange(len(codes))[::-1]
    assert by_byte.take(docnums).tobytes() == own[docnums].tobytes()
    assert [by_byte.of(d) for d in range(len(codes))] == own.tolist()


def test_bm25_norms_are_each_documents_own_on_a_real_index(settings: Settings) -> None:
    """The norms BM25 reads are those of each document's own field length, bit for bit."""
    ranking = RankingConfig(title_weight=2.5, title_b=0.3, body_b=0.7)
    serving = ServingIndex(settings.index_dir, ranking)
    try:
        with serving.reading() as reading:
            docnums = np.arange(reading.columns.size)
            assert len(set(reading.columns.lengths["body"].tolist())) > 1
            for role, weight, b in (("title", 2.5, 0.3), ("body", 1.0, 0.7)):
                lengths = reading.columns.lengths[role]
                average = reading.columns.average_length[role]
                own = weight / (1.0 - b + b * lengths / average)
                assert reading.bm25.inverse_norm[role].take(docnums).tobytes() == own.tobytes()
    finally:
        serving.close()
