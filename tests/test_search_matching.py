"""Matching agrees with Whoosh: the same parse tree run by Whoosh's own query engine finds
exactly the articles our set arithmetic over cached postings finds, both the articles with
all the words and the whole list (the required clauses and any of the optional ones)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_search_corpus import corpus_settings, merged_corpus_settings
from whoosh import query as wq

from searchsvc.index import open_index
from searchsvc.search import QueryError, SearchEngine, SearchRequest
from searchsvc.search.matching import is_optional
from searchsvc.search.query import And, DateSpan, Not, Or, Phrase, Prefix, Term


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
