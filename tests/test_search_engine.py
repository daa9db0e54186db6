"""Searching the invented corpus: query → ids in order, sorting, paging, errors, extras."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_search_corpus import ARTICLES, corpus_settings

from searchsvc.search import ArticleNotFound, QueryError, SearchEngine, SearchRequest

ALL_IDS = sorted(article["id"] for article in ARTICLES)
NEWEST_FIRST = [
    *("o2", "o1", "k3", "k1", "o3", "t2", "t1", "b2", "b1", "k2", "x1", "h1"),
    *("n1", "u1", "w1"),  # undated, by id
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):
    with SearchEngine(corpus_settings(tmp_path_factory)) as engine:
        yield engine


def ids(engine: SearchEngine, query: str = "", **options) -> list[str]:
    return [
        hit.id for hit in engine.search(SearchRequest(query=query, per_page=50, **options)).hits
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # words: those with all of them first, then those with some; titles outrank bodies
        ("khojaly massacre", ["k1", "k2"]),
        ("massacre", ["k1", "k2"]),
        ("Massacres", ["k1", "k2"]),
        ("anniversary", ["k1", "n1", "k2"]),
        ("anniversary concert", ["n1", "k3", "k1", "k2"]),
        ("oil prices", ["o1", "o2", "o3"]),
        ("trade japan", ["t1", "t2", "o1"]),
        # AND changes nothing; a group of words is words
        ("oil AND prices", ["o1", "o2", "o3"]),
        ("(oil prices) azerbaijan", ["o1", "o2", "o3", "k1", "k2"]),
        ("bank", ["b1", "b2"]),
        # phrases: exact words in order (stopwords skipped as the index skips them)
        ('"khojaly massacre"', ["k1"]),
        ('"oil prices"', ["o1"]),
        ('"bank of america"', ["b1"]),
        ('"massacres"', ["k2"]),
        # exclusions
        ("massacre -khojaly", ["k2"]),
        ("massacre NOT khojaly", ["k2"]),
        ('oil -"oil prices"', ["o2", "o3"]),
        ("(oil OR wheat) -crude", ["w1", "o2"]),
        # fields
        ("title:bank", ["b1"]),
        ("title:(yen OR wheat)", ["w1", "t2"]),
        ("place:tokyo yen", ["t2", "t1"]),
        ('source:"example & co"', ["x1"]),
        # wildcards and fuzzy words
        ("khojali~", ["k1"]),
        ("azerbaijn~1", ["k1", "o3", "k2"]),  # the three "azerbaijan" stories, by relevance
        # nothing
        ("zzzzzz", []),
        ("the", []),
    ],
)
def test_relevance(engine: SearchEngine, query: str, expected: list[str]) -> None:
    assert ids(engine, query) == expected


@pytest.mark.parametrize(
    ("query", "sort", "expected"),
    [
        ("", "newest", NEWEST_FIRST),
        ("", "oldest", [*reversed(NEWEST_FIRST[:12]), "n1", "u1", "w1"]),
        ("", "relevance", NEWEST_FIRST),
        ("oil OR yen", "newest", ["o2", "o1", "o3", "t2", "t1"]),
        ("place:baku", "newest", ["k3", "k1", "o3", "k2"]),
        ("source:ap", "newest", ["t1", "b2", "h1", "u1", "w1"]),
        ("source:AP", "relevance", ["t1", "b2", "h1", "u1", "w1"]),
        ("date:2024", "newest", ["o2", "o1", "k3", "k1", "o3"]),
        ("date:2024-02", "newest", ["k3", "k1"]),
        ("date:2023-11-20", "relevance", ["t2"]),
        ("date:[2023-07-01 TO 2023-11-30]", "oldest", ["b1", "b2", "t1", "t2"]),
        ("date:[2024-03-01 TO]", "newest", ["o2", "o1"]),
        ("date:[TO 2022-12-31]", "newest", ["x1", "h1"]),
        ("massac*", "oldest", ["k2", "k1", "u1"]),
        ("-oil -date:2024 -date:2023", "newest", ["x1", "h1", "n1", "u1", "w1"]),
    ],
)
def test_sorting_and_field_queries(
    engine: SearchEngine, query: str, sort: str, expected: list[str]
) -> None:
    assert ids(engine, query, sort=sort) == expected


def test_articles_with_some_words_follow_those_with_all(engine: SearchEngine) -> None:
    result = engine.search(SearchRequest(query="anniversary concert"))
    assert (result.total, result.all_words_total, result.fallback) == (4, 1, False)
    assert result.message == "1 article has all of these words; 3 more have some."
    single = engine.search(SearchRequest(query="anniversary"))
    assert (single.total, single.all_words_total, single.message) == (3, 3, None)


def test_when_no_article_has_all_words_the_list_says_so(engine: SearchEngine) -> None:
    result = engine.search(SearchRequest(query="tariffs wheat"))
    assert [hit.id for hit in result.hits] == ["w1", "t1"]
    assert result.fallback and (result.total, result.all_words_total) == (2, 0)
    assert result.message == "No article has all of these words; 2 articles have some of them."
    strict = engine.search(SearchRequest(query="tariffs"))
    assert not strict.fallback and strict.message is None


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_date_order_keeps_the_articles_with_all_words_first(
    engine: SearchEngine, sort: str
) -> None:
    everything = ids(engine, "anniversary concert", sort=sort)
    assert everything[0] == "n1" and sorted(everything[1:]) == ["k1", "k2", "k3"]
    paged = [
        hit.id
        for page in (1, 2)
        for hit in engine.search(
            SearchRequest(query="anniversary concert", sort=sort, per_page=2, page=page)
        ).hits
    ]
    assert paged == everything


def test_required_parts_bound_the_list(engine: SearchEngine) -> None:
    """Phrases, fields and exclusions filter; only the plain words rank."""
    # o3 has "crude" but not the phrase; o1 has both.
    assert ids(engine, '"oil prices" crude azerbaijan') == ["o1"]
    # The same words hyphenated, unquoted: a phrase that ranks instead of filtering.
    assert ids(engine, "oil-prices crude") == ["o1", "o3"]
    # o1 and o3 mention crude: excluded even though they have the words.
    assert ids(engine, "oil prices -crude") == ["o2"]
    # k1 and k2 have "massacre" but are not dated 2024-01.
    assert ids(engine, "massacre crude date:2024-01") == ["o3"]


def test_nothing_searchable_says_why(engine: SearchEngine) -> None:
    result = engine.search(SearchRequest(query="the of !!!"))
    assert result.total == 0 and not result.fallback
    assert "Nothing to search for" in result.message


@pytest.mark.parametrize(
    ("query", "suggestion"),
    [
        ("aniversary", "anniversary"),
        ("Aniversary", "Anniversary"),
        ("anniversery", "anniversary"),
        ("khojaly massacer", "khojaly massacre"),
        ("massacres", None),
        ("oil prices", None),
    ],
)
def test_did_you_mean(engine: SearchEngine, query: str, suggestion: str | None) -> None:
    result = engine.search(SearchRequest(query=query))
    assert result.suggestion == suggestion
    if suggestion:
        assert engine.search(SearchRequest(query=suggestion)).total > 0


def test_suggestion_must_find_results_with_the_same_filters(engine: SearchEngine) -> None:
    tokyo = engine.search(SearchRequest(query="anniversery", place=("geo:1850147",)))
    assert tokyo.suggestion is None
    baku = engine.search(SearchRequest(query="anniversery", place=("geo:587084",)))
    assert baku.suggestion == "anniversary"


@pytest.mark.parametrize("per_page", [1, 3, 5, 15])
def test_pages_are_stable_and_cover_everything_once(engine: SearchEngine, per_page: int) -> None:
    for query, sort in (("", "newest"), ("anniversary OR oil OR bank OR yen", "relevance")):
        full = ids(engine, query, sort=sort)
        pages = []
        page = 1
        while True:
            result = engine.search(
                SearchRequest(query=query, sort=sort, page=page, per_page=per_page)
            )
            assert result.total == len(full) and result.page == page
            if not result.hits:
                break
            pages.extend(hit.id for hit in result.hits)
            page += 1
        assert pages == full
        assert page - 1 == -(-len(full) // per_page)


@pytest.mark.parametrize(
    ("request_options", "parameter"),
    [
        ({"page": 0}, "page"),
        ({"page": 1001}, "page"),
        ({"page": "2"}, "page"),
        ({"per_page": 0}, "per_page"),
        ({"per_page": 101}, "per_page"),
        ({"sort": "best"}, "sort"),
        ({"date_from": "2024-13-01"}, "date_from"),
        ({"date_from": dt.date(2024, 3, 1), "date_to": dt.date(2024, 1, 1)}, "date_to"),
        ({"place": "geo:1"}, None),
        ({"source": [1]}, "source"),
        ({"query": "x" * 1001}, "q"),
        ({"query": "title:"}, "q"),
    ],
)
def test_bad_requests_raise_query_error_naming_the_parameter(
    engine: SearchEngine, request_options: dict, parameter: str | None
) -> None:
    if parameter is None:  # a single string is accepted as one value
        assert engine.search(SearchRequest(**request_options)).total == 0
        return
    with pytest.raises(QueryError) as caught:
        engine.search(SearchRequest(**request_options))
    assert caught.value.parameter == parameter
    assert str(caught.value)


def test_limits_come_from_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    tight = corpus_settings(tmp_path_factory).replace(
        max_query_length=20, max_query_terms=2, max_page=2, max_per_page=3
    )
    with SearchEngine(tight) as engine:
        assert engine.search(SearchRequest(query="oil prices", per_page=3, page=2)).page == 2
        for options, parameter in (
            ({"query": "oil prices rise"}, "q"),
            ({"query": "x" * 21}, "q"),
            ({"page": 3}, "page"),
            ({"per_page": 4}, "per_page"),
        ):
            with pytest.raises(QueryError) as caught:
                engine.search(SearchRequest(**{"per_page": 3, **options}))
            assert caught.value.parameter == parameter


def test_article_and_related(engine: SearchEngine) -> None:
    story = engine.article("k1")
    assert story.title == ARTICLES[0]["title"] and story.body == ARTICLES[0]["body"]
    assert story.place["display"] == "Baku, Azerbaijan" and story.date == "2024-02-26"
    related = [hit.id for hit in engine.related("k1", limit=3)]
    assert related[0] == "k2" and "k1" not in related and len(related) <= 3
    assert [hit.id for hit in engine.related("b1", limit=1)] == ["b2"]
    with pytest.raises(ArticleNotFound):
        engine.article("nope")
    with pytest.raises(ArticleNotFound):
        engine.related("nope")
    with pytest.raises(QueryError):
        engine.related("k1", limit=0)


def test_result_is_plain_json(engine: SearchEngine) -> None:
    result = engine.search(SearchRequest(query="oil", place=("geo:2643743",)))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["total"] == 2 and data["hits"][0]["id"] == "o1"
    assert set(data["facets"]) == {"place", "places", "source", "language"}
    assert data["dates"]["granularity"] == "day"


def test_ranked_ids_for_evaluation(engine: SearchEngine) -> None:
    assert engine.ranked_ids("oil prices") == ["o1", "o2", "o3"]
    assert engine.ranked_ids("tariffs wheat") == ["w1", "t1"]
    assert sorted(engine.ranked_ids("tariffs wheat", any_word=True)) == ["t1", "w1"]
    for query in ("anniversary concert", "trade japan yen", "massacre khojaly"):
        page = [hit.id for hit in engine.search(SearchRequest(query=query, per_page=50)).hits]
        assert engine.ranked_ids(query) == page


QUERY_PIECES = st.sampled_from(
    [
        '"',
        "(",
        ")",
        "-",
        "OR",
        "AND",
        "NOT",
        "title:",
        "place:",
        "source:",
        "date:",
        "date:[",
        " TO ",
        "]",
        "*",
        "~",
        "oil",
        "prices",
        "baku",
        "massacre",
        "2024",
        "2024-02",
        "massac",
        "🙂",
        "\x00",
        " ",
        "khojali~",
        "the",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=120), st.lists(QUERY_PIECES, max_size=25).map("".join)))
def test_any_text_gives_results_or_a_query_error(engine: SearchEngine, text: str) -> None:
    try:
        result = engine.search(SearchRequest(query=text))
    except QueryError as error:
        assert error.parameter == "q" and str(error)
        return
    assert 0 <= len(result.hits) <= result.total <= len(ALL_IDS)
    json.dumps(result.to_dict())


def test_later_pages_show_the_counts_of_their_own_query_and_selection(
    tmp_path_factory: pytest.TempPathFactory, engine: SearchEngine
) -> None:
    """Facets and timeline are counted once per query and selection and then shown again
    on its other pages: what they show equals a fresh engine's count of that page."""
    settings = corpus_settings(tmp_path_factory)
    first = engine.search(SearchRequest(query="oil OR bank OR massacre", per_page=1))
    place = first.facets["places"].values[0].key
    requests = [
        SearchRequest(query="oil OR bank OR massacre", per_page=1, page=2),
        SearchRequest(query="oil OR bank OR massacre", per_page=1, page=2, places=(place,)),
        SearchRequest(query="oil OR bank", per_page=1, page=2, places=(place,)),
        SearchRequest(query="", per_page=1, page=2, date_from=dt.date(1987, 1, 1)),
    ]
    summaries = []
    for request in requests:
        engine.search(replace(request, page=1))
        seen = engine.search(request).to_dict()
        with SearchEngine(settings) as fresh:
            counted = fresh.search(request).to_dict()
        assert (seen["facets"], seen["dates"]) == (counted["facets"], counted["dates"])
        summaries.append(json.dumps([seen["facets"], seen["dates"]]))
    assert len(set(summaries)) == len(requests)
