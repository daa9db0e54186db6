"""Facets over the whole result set: counts, combinations, labels, top N, the date histogram."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from test_search_corpus import corpus_settings

from searchsvc.search import RankingConfig, SearchEngine, SearchRequest, SearchResult
from searchsvc.search.docsets import DocSet
from searchsvc.search.serving import ServingIndex

BAKU, LONDON, TOKYO, NEW_YORK = "geo:587084", "geo:2643743", "geo:1850147", "geo:5128581"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):
    with SearchEngine(corpus_settings(tmp_path_factory)) as engine:
        yield engine


def search(engine: SearchEngine, query: str = "", **options) -> SearchResult:
    return engine.search(SearchRequest(query=query, per_page=50, **options))


def counts(result: SearchResult, facet: str) -> dict[str, int]:
    return {value.key: value.count for value in result.facets[facet].values}


def selected(result: SearchResult, facet: str) -> set[str]:
    return {value.key for value in result.facets[facet].values if value.selected}


def test_unfiltered_counts_and_labels(engine: SearchEngine) -> None:
    result = search(engine)
    place = result.facets["place"].values
    assert [(v.key, v.count) for v in place[:3]] == [(BAKU, 4), (TOKYO, 2), (LONDON, 2)]
    assert [v.label for v in place[:3]] == [
        "Baku, Azerbaijan",
        "Tokyo, Japan",
        "London, United Kingdom",
    ]
    assert [(v.label, v.count) for v in result.facets["source"].values] == [
        ("AP", 5),
        ("Reuters", 5),
        ("MINA", 2),
        ("Example & Co", 1),
        ("Trend", 1),
    ]
    places = counts(result, "places")
    assert places["country:US"] == 5 and places["country:AZ"] == 3 and places["country:JP"] == 2
    assert not selected(result, "place") and not selected(result, "source")


@pytest.mark.parametrize(
    ("filters", "ids", "place_counts", "source_counts"),
    [
        # one value: the facet's own counts ignore its selection, the others honour it
        (
            {"place": (BAKU,)},
            {"k1", "k2", "k3", "o3"},
            {BAKU: 4, LONDON: 2, TOKYO: 2},
            {"mina": 2, "reuters": 1, "trend": 1},
        ),
        # two values of one facet: OR
        (
            {"place": (BAKU, LONDON)},
            {"k1", "k2", "k3", "o3", "o1", "o2"},
            {BAKU: 4, LONDON: 2, TOKYO: 2},
            {"reuters": 3, "mina": 2, "trend": 1},
        ),
        # two facets: AND; each facet counted with the other's selection only
        (
            {"place": (BAKU,), "source": ("reuters",)},
            {"o3"},
            {LONDON: 2, BAKU: 1, TOKYO: 1, NEW_YORK: 1},
            {"mina": 2, "reuters": 1, "trend": 1},
        ),
        # source keys match whatever the case
        (
            {"source": ("REUTERS", "Mina")},
            {"o1", "o2", "o3", "t2", "b1", "k1", "k3"},
            {BAKU: 3, LONDON: 2, TOKYO: 1, NEW_YORK: 1},
            {"ap": 5, "reuters": 5, "mina": 2, "example & co": 1, "trend": 1},
        ),
        # places mentioned: OR within, and the dateline facet counts follow
        (
            {"places": ("country:US", "country:JP")},
            {"t1", "t2", "w1", "u1", "b1", "b2"},
            {TOKYO: 2, NEW_YORK: 1},
            {"ap": 4, "reuters": 2},
        ),
        # a date range applies to every facet
        (
            {"date_from": dt.date(2024, 1, 1), "date_to": dt.date(2024, 12, 31)},
            {"k1", "k3", "o3", "o1", "o2"},
            {BAKU: 3, LONDON: 2},
            {"reuters": 3, "mina": 2},
        ),
        # a selection nothing matches
        ({"place": ("geo:0",)}, set(), {BAKU: 4}, {}),
    ],
)
def test_facet_combinations(
    engine: SearchEngine,
    filters: dict,
    ids: set[str],
    place_counts: dict[str, int],
    source_counts: dict[str, int],
) -> None:
    result = search(engine, **filters)
    assert {hit.id for hit in result.hits} == ids and result.total == len(ids)
    place = counts(result, "place")
    assert {key: place.get(key) for key in place_counts} == place_counts
    source = counts(result, "source")
    assert {key: source[key] for key in source if source[key]} == source_counts
    assert selected(result, "place") == set(filters.get("place", ()))
    assert selected(result, "source") == {s.lower() for s in filters.get("source", ())}
    assert selected(result, "places") == set(filters.get("places", ()))


def test_facets_follow_the_query(engine: SearchEngine) -> None:
    result = search(engine, "oil")
    assert counts(result, "place") == {LONDON: 2, BAKU: 1}
    assert counts(result, "source") == {"reuters": 3}
    fallback = search(engine, "tariffs wheat")
    assert counts(fallback, "place") == {TOKYO: 1, "geo:4280539": 1}


def test_top_n_with_other_count_and_selected_values_kept(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings = corpus_settings(tmp_path_factory).replace(facet_top_n=2)
    with SearchEngine(settings) as engine:
        plain = search(engine)
        assert [(v.key, v.count) for v in plain.facets["place"].values] == [(BAKU, 4), (TOKYO, 2)]
        assert plain.facets["place"].other == 14 - 4 - 2
        chosen = search(engine, place=(NEW_YORK,))
        values = chosen.facets["place"].values
        assert [(v.key, v.count, v.selected) for v in values] == [
            (BAKU, 4, False),
            (TOKYO, 2, False),
            (NEW_YORK, 1, True),
        ]
        assert chosen.facets["place"].other == 14 - 4 - 2 - 1


def test_histogram_by_year_with_undated(engine: SearchEngine) -> None:
    dates = search(engine).dates
    assert dates.granularity == "year"
    assert [(b.key, b.count) for b in dates.buckets] == [
        ("2019", 1),
        ("2020", 0),
        ("2021", 0),
        ("2022", 1),
        ("2023", 5),
        ("2024", 5),
    ]
    assert dates.undated == 3
    bucket = dates.buckets[-1]
    assert (bucket.label, bucket.date_from, bucket.date_to) == ("2024", "2024-01-01", "2024-12-31")


def test_histogram_drills_down_to_months_then_days(engine: SearchEngine) -> None:
    year = search(engine, date_from=dt.date(2024, 1, 1), date_to=dt.date(2024, 12, 31)).dates
    assert year.granularity == "month" and year.undated == 0
    assert [(b.key, b.label, b.count) for b in year.buckets] == [
        ("2024-01", "Jan 2024", 1),
        ("2024-02", "Feb 2024", 2),
        ("2024-03", "Mar 2024", 2),
    ]
    february = year.buckets[1]
    assert (february.date_from, february.date_to) == ("2024-02-01", "2024-02-29")
    month = search(engine, date_from=dt.date(2024, 2, 1), date_to=dt.date(2024, 2, 29)).dates
    assert month.granularity == "day"
    assert [(b.key, b.label, b.count, b.selected) for b in month.buckets] == [
        ("2024-02-26", "26 Feb 2024", 1, False),
        ("2024-02-27", "27 Feb 2024", 1, False),
    ]
    day = search(engine, date_from=dt.date(2024, 2, 26), date_to=dt.date(2024, 2, 26)).dates
    assert [(b.key, b.selected) for b in day.buckets] == [("2024-02-26", True)]


def test_histogram_of_a_query_and_of_nothing(engine: SearchEngine) -> None:
    dates = search(engine, "yen").dates
    assert dates.granularity == "day"
    assert [b.key for b in dates.buckets if b.count] == ["2023-11-02", "2023-11-20"]
    assert len(dates.buckets) == 19  # the days between are shown empty
    undated_only = search(engine, "wheat").dates
    assert undated_only.buckets == [] and undated_only.undated == 1
    empty = search(engine, "zzzzzz").dates
    assert empty.buckets == [] and empty.undated == 0


@pytest.fixture(scope="module")
def columns(tmp_path_factory: pytest.TempPathFactory):
    serving = ServingIndex(corpus_settings(tmp_path_factory).index_dir, RankingConfig())
    try:
        with serving.reading() as reading:
            yield reading.columns
    finally:
        serving.close()


@hypothesis_settings(max_examples=100, deadline=None)
@given(st.data())
def test_each_facet_counts_the_keys_of_any_set_of_documents(columns, data: st.DataObject) -> None:
    """A facet's counts over any documents (few, so counted directly, or most, so counted
    as every document less the others) are those of its documents' keys one by one."""
    docnums = data.draw(st.sets(st.integers(0, columns.size - 1)))
    docs = DocSet.from_ids(np.array(sorted(docnums), dtype=np.int64), columns.size)
    for name in ("place", "source", "language", "places"):
        column = getattr(columns, name)
        keys_of = (
            column.keys_of if name == "places" else lambda doc, c=column: (c.keys[c.codes[doc]],)
        )
        expected = Counter(key for doc in docnums for key in keys_of(doc))
        counted = column.count_set(docs)
        assert {column.keys[code]: int(n) for code, n in enumerate(counted) if n} == expected
