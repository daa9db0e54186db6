"""Selections of scattered documents made as position lists and gathers: the same members,
in the same order, as the boolean indexes they replace."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from language_corpus import LANGUAGE_ARTICLES
from test_search_corpus import corpus_settings
from test_web_support import build_fixture_index

from searchsvc.search import SearchEngine, engine
from searchsvc.search.docsets import DocSet, gathered
from searchsvc.search.languages import index_languages, language_docs
from searchsvc.search.matching import QueryMatcher
from searchsvc.search.query import TEXT_FIELDS


@given(st.lists(st.tuples(st.integers(-(2**40), 2**40), st.booleans()), max_size=60))
def test_gathering_keeps_what_a_boolean_index_keeps(pairs: list[tuple[int, bool]]) -> None:
    values = np.array([value for value, _ in pairs], dtype=np.int64)
    keep = np.array([kept for _, kept in pairs], dtype=bool)
    assert gathered(values, keep).tolist() == [value for value, kept in pairs if kept]
    assert gathered(values, keep).dtype == values.dtype


@given(st.frozensets(st.integers(0, 39)), st.booleans())
def test_the_outside_of_a_set_is_every_other_docnum(members: frozenset[int], as_mask: bool) -> None:
    """However the set is held, and asked twice (the second answer is the kept one)."""
    docs = DocSet.from_ids(np.array(sorted(members), dtype=np.int64), 40)
    if as_mask:
        docs = DocSet(docs.mask)
    expected = sorted(set(range(40)) - members)
    assert docs.outside.tolist() == expected
    assert docs.outside.tolist() == expected


@pytest.fixture(scope="module")
def search_engine(tmp_path_factory):
    with SearchEngine(corpus_settings(tmp_path_factory)) as opened:
        yield opened


@pytest.mark.parametrize("scan_share", [0.0, 2.0])  # always the date scan, never it
@settings(max_examples=60, deadline=None)
@given(st.data(), st.booleans())
def test_a_page_by_date_is_that_slice_of_the_set_sorted_by_date(
    search_engine, scan_share: float, data, newest: bool
) -> None:
    """Either way of ordering a set by date gives each page of a plain sort of it by
    (undated last, date, id)."""
    kept, engine._SCAN_SHARE = engine._SCAN_SHARE, scan_share
    try:
        with search_engine._serving.reading() as reading:
            columns = reading.columns
            live = columns.live.ids.tolist()
            chosen = sorted(data.draw(st.sets(st.sampled_from(live))))
            start = data.draw(st.integers(0, len(chosen) + 1))
            end = data.draw(st.integers(start, len(chosen) + 2))
            docs = DocSet.from_ids(np.array(chosen, dtype=np.int64), columns.size)

            def by_date(doc: int) -> tuple:
                ordinal = int(columns.ordinal[doc])
                day = -ordinal if newest else ordinal
                return (ordinal == 0, day, columns.ids[doc])

            expected = sorted(chosen, key=by_date)[start:end]
            assert engine.date_ordered(docs, reading, newest, start, end) == expected
    finally:
        engine._SCAN_SHARE = kept


@pytest.fixture(scope="module")
def language_engine(tmp_path_factory):
    settings = build_fixture_index(tmp_path_factory.mktemp("languages"), LANGUAGE_ARTICLES)
    with SearchEngine(settings) as opened:
        yield opened


def test_language_limited_scores_keep_exactly_the_postings_in_those_languages(
    language_engine,
) -> None:
    """Each word's postings, limited to the articles of one or two languages, score as
    the postings picked one by one."""
    with language_engine._serving.reading() as reading:
        matcher = QueryMatcher(reading)
        words = [raw.decode() for raw in itertools.islice(reading.reader.lexicon("body"), 80)]
        keys = index_languages(reading)
        assert len(keys) > 2
        dropped = 0
        for languages in [*itertools.combinations(keys, 1), *itertools.combinations(keys, 2)]:
            within = set(language_docs(reading, languages))
            for word in words:
                occurrences = []
                for name in TEXT_FIELDS:
                    postings = reading.postings(name, word)
                    occurrences.append((name, postings.ids, postings.tfs))
                got = matcher._scores_within(occurrences, 2, languages)
                picked = []
                for name, ids, tfs in occurrences:
                    inside = [n for n, doc in enumerate(ids.tolist()) if doc in within]
                    dropped += len(ids) - len(inside)
                    picked.append((name, ids[inside], tfs[inside]))
                expected = reading.bm25.term_scores(picked, 2, len(within))
                assert got.ids.tolist() == expected.ids.tolist()
                assert got.scores.tolist() == expected.scores.tolist()
                assert got.idf == expected.idf
        assert dropped  # some postings lay outside the languages asked for
