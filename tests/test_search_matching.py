"""Matching agrees with Whoosh: the same parse tree run by Whoosh's own query engine finds
exactly the articles our set arithmetic over cached postings finds, both the articles with
all the words and the whole list (the required clauses and any of the optional ones)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_search_corpus import corpus_settings, merged_corpus_settings
from whoosh import query as wq

from searchsvc.index import open_index
from searchsvc.search import QueryError, SearchEngine, SearchRequest, matching
from searchsvc.search.matching import is_optional, top_contenders
from searchsvc.search.query import And, DateSpan, Not, Or, Phrase, Prefix, Term
from searchsvc.search.ranking import top_scored


def whoosh_query(node) -> wq.Query:
    if isinstance(node, Term):
        return wq.Or([wq.Term(field, node.text) for field in node.fields])
    if isinstance(node, Phrase):
        return wq.Or([wq.Phrase(field, list(node.words)) for field in node.fields])
    if isinstance(node, Prefix):
        return wq.Or([wq.Prefix(field, node.prefix) for field in node.fields])
    if isinstance(node, DateSpan):
        start = dt.datetime.combine(node.start, dt.time()) if node.start else None
        end = dt.datetime.combine(node.end, dt.time()) if node.end else None
        return wq.DateRange("date", start, end)
    if isinstance(node, Not):
        return wq.Not(whoosh_query(node.child))
    if isinstance(node, And):
        return wq.And([whoosh_query(child) for child in node.children])
    if isinstance(node, Or):
        return wq.Or([whoosh_query(child) for child in node.children])
    raise AssertionError(f"not comparable: {node!r}")


@pytest.fixture(scope="module", params=["one segment", "merged segments"])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The corpus built by one worker, and by two whose segments the build merged."""
    if request.param == "one segment":
        return corpus_settings(tmp_path_factory)
    return merged_corpus_settings(tmp_path_factory)


@pytest.fixture(scope="module")
def engine(built):
    with SearchEngine(built) as engine:
        yield engine


@pytest.fixture(scope="module")
def whoosh_ids(built):
    opened = open_index(built.index_dir)
    searcher = opened.searcher()

    def run(clauses) -> set[str]:
        if not clauses:
            return set()
        found = searcher.docs_for_query(wq.And([whoosh_query(c) for c in clauses]))
        return {searcher.stored_fields(doc)["id"] for doc in found}

    yield run
    searcher.close()
    opened.close()


WORDS = [
    "oil",
    "prices",
    "price",
    "baku",
    "massacre",
    "massacres",
    "anniversary",
    "bank",
    "america",
    "yen",
    "trade",
    "japan",
    "concert",
    "azerbaijan",
    "the",
    "crude",
    "harbour",
    '"oil prices"',
    '"bank of america"',
    '"trade data"',
    "massac*",
    "an*",
    "title:oil",
    "title:(bank OR yen)",
    "place:tokyo",
    "place:baku",
    "source:ap",
    "source:reuters",
    "date:2024",
    "date:2023-11",
    "date:[2023-07-01 TO 2024-02-29]",
    "date:[TO 2023-01-01]",
]
#: The words of :data:`WORDS` without phrases, prefixes or fields.
PLAIN_WORDS = [word for word in WORDS if word.isalpha() and word != "the"]
PIECES = st.one_of(st.sampled_from(WORDS), st.sampled_from(["OR", "-", "NOT", "(", ")", "AND"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, min_size=1, max_size=8))
def test_same_articles_as_whoosh(engine: SearchEngine, whoosh_ids, pieces: list[str]) -> None:
    text = " ".join(pieces).replace("- ", "-")
    try:
        parsed = engine.parse(text)
    except QueryError:
        return
    result = engine.search(SearchRequest(query=text, per_page=100))
    with_all = whoosh_ids(parsed.clauses)
    optional = [clause for clause in parsed.clauses if is_optional(clause)]
    required = [clause for clause in parsed.clauses if not is_optional(clause)]
    listed = whoosh_ids((*required, Or(tuple(optional)))) if len(optional) > 1 else with_all
    found = [hit.id for hit in result.hits]
    assert set(found[: result.all_words_total]) == with_all, text
    assert set(found) == listed, text
    assert (result.total, result.all_words_total) == (len(listed), len(with_all))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(PLAIN_WORDS), min_size=2, max_size=3, unique=True),
    st.integers(1, 6),
    st.integers(1, 3),
)
def test_a_page_is_its_place_in_the_whole_list(
    engine: SearchEngine, words: list[str], per_page: int, page: int
) -> None:
    """Each page holds the hits, scores included, of the whole list at its place. A short
    page scores only the articles with all the words when they fill it; feedback's first
    articles, and so every score, must not depend on how far the page reaches."""
    text = " ".join(words)
    whole = engine.search(SearchRequest(query=text, per_page=100)).hits
    shown = engine.search(SearchRequest(query=text, per_page=per_page, page=page)).hits
    start = (page - 1) * per_page
    expected = [(hit.id, hit.score) for hit in whole[start : start + per_page]]
    assert [(hit.id, hit.score) for hit in shown] == expected


#: Scores with many ties, and any others.
SCORES = st.lists(
    st.sampled_from([0.0, 0.5, 1.25, 3.0]) | st.floats(0, 1e6, allow_nan=False), max_size=400
)


@pytest.mark.parametrize("block", [1, 3, 64])
@given(SCORES, st.integers(1, 30), st.randoms(use_true_random=False))
def test_the_top_of_the_contenders_is_the_top_of_all(
    block: int, scores: list[float], count: int, random
) -> None:
    """The same (docnum, score) list, ties broken by id rank alike, from the contenders as
    from every score; blocks of one score keep exactly the scores tied with the last one."""
    kept = matching.CONTENDER_BLOCK, matching.CONTENDER_MIN_BLOCKS
    matching.CONTENDER_BLOCK, matching.CONTENDER_MIN_BLOCKS = block, 1
    try:
        values = np.array(scores)
        docs = np.arange(len(values)) * 2
        id_rank = np.array(random.sample(range(2 * len(values)), 2 * len(values)), dtype=np.int32)
        contenders = top_contenders(values, count)
    finally:
        matching.CONTENDER_BLOCK, matching.CONTENDER_MIN_BLOCKS = kept
    if contenders is None:
        assert len(values) < block * count
        return
    assert np.all(np.diff(contenders) > 0)
    every = top_scored(docs, values, count, id_rank)
    assert top_scored(docs[contenders], values[contenders], count, id_rank) == every
    if block == 1:
        assert len(contenders) == np.count_nonzero(values >= every[-1][1])
