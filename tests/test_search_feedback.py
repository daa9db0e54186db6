"""Pseudo-relevance feedback: the best matches' distinctive words reorder the rest."""

from __future__ import annotations

import pytest
from test_web_support import build_fixture_index

from searchsvc.config import Settings
from searchsvc.search import RankingConfig, SearchEngine, SearchRequest
from searchsvc.search.feedback import expansion_terms
from searchsvc.search.serving import ServingIndex

#: Twenty unrelated stories, so that a word in two articles is distinctive (a tenth of
#: the collection) and "reported", in every article, is not.
FILLERS = [
    {"id": f"filler-{n:02d}", "title": f"Story {n}", "body": f"Officials reported item {n}."}
    for n in range(19)
]
COAST = {"id": "filler-coast", "title": "Ferry", "body": "The ferry sailed along the coast."}
ARTICLES = [
    *FILLERS,
    COAST,
    # The clear best match for "volcano": its other words are the topic's.
    {
        "id": "eruption",
        "title": "Volcano erupts",
        "body": "The volcano poured lava and ash; lava reached the coast. Officials reported 1987.",
    },
    # One "volcano" each and the same length: the query alone cannot tell them apart,
    # and the id puts the tour first.
    {"id": "a-tour", "title": "Volcano tour", "body": "Guides sold tickets. Officials reported."},
    {"id": "b-lava", "title": "Volcano lava", "body": "Lava buried fields. Officials reported."},
]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_fixture_index(tmp_path_factory.mktemp("feedback"), ARTICLES)


def ranked(settings: Settings, query: str, ranking: RankingConfig) -> list[str]:
    with SearchEngine(settings, ranking=ranking) as engine:
        return [hit.id for hit in engine.search(SearchRequest(query=query)).hits]


def test_feedback_lifts_the_article_sharing_the_best_match_words(settings: Settings) -> None:
    plain = ranked(settings, "volcano", RankingConfig(feedback_docs=0))
    assert plain == ["eruption", "a-tour", "b-lava"]
    expanded = ranked(settings, "volcano", RankingConfig(feedback_docs=1))
    assert sorted(expanded) == sorted(plain)
    assert expanded.index("b-lava") < expanded.index("a-tour")


def test_feedback_reorders_the_matches_but_adds_none(settings: Settings) -> None:
    found = ranked(settings, "tickets", RankingConfig(feedback_docs=3))
    assert found == ["a-tour"]


def test_expansion_words_come_from_the_top_articles_and_skip_common_words(
    settings: Settings,
) -> None:
    serving = ServingIndex(settings.index_dir, RankingConfig())
    with serving.reading() as reading:
        eruption = reading.columns.docnum_of("eruption")
        words = dict(expansion_terms(reading, [(eruption, 2.0)], 10))
    serving.close()
    # "lava" and "coast" are in two articles; "ash" only here, "volcano" in three (more
    # than a tenth), "reported" everywhere, "1987" a number: only words shared with a few
    # other articles can reorder them.
    assert set(words) == {"lava", "coast"}
    assert words["lava"] == pytest.approx(2 * words["coast"])
    assert sum(words.values()) == pytest.approx(1.0)


def test_no_top_articles_no_expansion(settings: Settings) -> None:
    serving = ServingIndex(settings.index_dir, RankingConfig())
    with serving.reading() as reading:
        assert expansion_terms(reading, [], 10) == []
    serving.close()


def test_a_reading_reads_each_articles_stored_fields_once(settings: Settings) -> None:
    """Feedback reads the first articles' text and the page shows most of them again: one
    reading reads each article once, the next reading afresh."""
    serving = ServingIndex(settings.index_dir, RankingConfig())
    with serving.reading() as reading:
        eruption = reading.columns.docnum_of("eruption")
        first = reading.stored(eruption)
        assert first["id"] == "eruption"
        assert reading.stored(eruption) is first
        assert reading.stored(reading.columns.docnum_of("a-tour"))["id"] == "a-tour"
    with serving.reading() as reading:
        again = reading.stored(eruption)
        assert again == first
        assert again is not first
    serving.close()
