"""The invented news corpus every search test runs against, built once per test session.

Other search test modules import :func:`corpus_settings`; the tests here check that the
corpus came through ingestion as the expectations in those modules assume.
"""

from __future__ import annotations

import json

import pytest

from searchsvc.config import Settings
from searchsvc.index import build_index
from searchsvc.search import SearchEngine, SearchRequest

#: Written for these tests. Dates, places and sources vary on purpose; three are undated.
#: Expectations in the other search test modules follow from this text.
ARTICLES = [
    {
        "id": "k1",
        "title": "Azerbaijan marks anniversary of Khojaly massacre",
        "body": "Azerbaijan on Monday marked the anniversary of the Khojaly massacre. "
        "Crowds gathered in the capital to honour the victims, and the foreign ministry "
        "issued a statement about Armenia.",
        "date": "2024-02-26",
        "source": "MINA",
        "place": "Baku",
    },
    {
        "id": "k2",
        "title": "Victims remembered in Baku",
        "body": "Survivors recalled the massacres of 1992 at a ceremony for the anniversary. "
        "Officials from Azerbaijan laid flowers at the memorial.",
        "date": "2023-02-26",
        "source": "Trend",
        "place": "Baku",
    },
    {
        "id": "k3",
        "title": "Aniversary concert held at the philharmonic",
        "body": "An orchestra performed works by local composers. Tickets sold out within a day, "
        "organisers said, and a second concert is planned for the spring.",
        "date": "2024-02-27",
        "source": "MINA",
        "place": "Baku",
    },
    {
        "id": "o1",
        "title": "Oil prices rise as OPEC meets in Vienna",
        "body": "Oil prices rose on Tuesday as ministers met in Vienna. Brent crude gained two "
        "dollars a barrel in London trading.",
        "date": "2024-03-05",
        "source": "Reuters",
        "place": "London",
    },
    {
        "id": "o2",
        "title": "Fuel retailers cut pump charges",
        "body": "Retail prices for petrol fell for a third week. Analysts said the price of oil "
        "had little to do with it; competition between retailers did.",
        "date": "2024-03-20",
        "source": "Reuters",
        "place": "London",
    },
    {
        "id": "o3",
        "title": "Crude exports from Azerbaijan grow",
        "body": "Azerbaijan shipped more crude oil through Georgia in January, the energy ministry "
        "said. The pipeline to Turkey ran at full capacity.",
        "date": "2024-01-15",
        "source": "Reuters",
        "place": "Baku",
    },
    {
        "id": "t1",
        "title": "Japan and United States open trade talks",
        "body": "Negotiators from Japan and the United States began talks on car tariffs in "
        "Tokyo. The yen was steady.",
        "date": "2023-11-02",
        "source": "AP",
        "place": "Tokyo",
    },
    {
        "id": "t2",
        "title": "Yen weakens after trade data",
        "body": "The yen fell against the dollar after Japan reported a wider trade deficit "
        "for October.",
        "date": "2023-11-20",
        "source": "Reuters",
        "place": "Tokyo",
    },
    {
        "id": "w1",
        "title": "Wheat harvest beats forecasts",
        "body": "Farmers brought in a record wheat harvest this summer, helped by late rain. "
        "Grain elevators in Kansas reported full bins.",
        "source": "AP",
        "place": "Topeka",
    },
    {
        "id": "u1",
        "title": "Massachusetts governor signs budget",
        "body": "The governor of Massachusetts signed the state budget on Friday after months of "
        "debate in the legislature.",
        "source": "AP",
        "place": "Boston",
    },
    {
        "id": "x1",
        "title": 'Script <script>alert("x")</script> & "quoted" title',
        "body": "A reader sent <img src=x onerror=alert(1)> in a comment about the script, "
        "writing &amp; and 'single' and \"double\" quotes. Editors removed the script.",
        "date": "2022-05-01",
        "source": "Example & Co",
        "place": "Paris",
    },
    {
        "id": "b1",
        "title": "Bank of America reports higher profit",
        "body": "Bank of America said quarterly profit rose as interest income grew. Shares of "
        "the bank rose in New York.",
        "date": "2023-07-18",
        "source": "Reuters",
        "place": "New York",
    },
    {
        "id": "b2",
        "title": "America's regional lenders",
        "body": "Regional lenders across America face tighter rules. One bank in Ohio said "
        "deposits were stable.",
        "date": "2023-07-19",
        "source": "AP",
        "place": "Columbus",
    },
    {
        "id": "h1",
        "title": "Harbour reopens after storm",
        "body": "The harbour reopened to fishing boats on Saturday after repairs to the sea wall.",
        "date": "2019-06-01",
        "source": "AP",
        "place": "Lisbon",
    },
    {
        "id": "n1",
        "title": "Notes from the archive",
        "body": "An unsigned note about anniversary celebrations and a concert was found in "
        "the archive.",
    },
]

_BUILT: dict[str, Settings] = {}


def corpus_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for an index of :data:`ARTICLES` (built on first use, then shared)."""
    if "settings" not in _BUILT:
        root = tmp_path_factory.mktemp("search-corpus")
        source = root / "articles.jsonl"
        source.write_text(
            "\n".join(json.dumps(article) for article in ARTICLES) + "\n", encoding="utf-8"
        )
        settings = Settings(index_dir=root / "index", corpus=(source,), build_procs=1)
        build_index(None, settings, show_progress=False)
        _BUILT["settings"] = settings
    return _BUILT["settings"]


def merged_corpus_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for an index of :data:`ARTICLES` built by two workers (one file per
    article, so both get some) whose segments the build merged into one."""
    if "merged" not in _BUILT:
        root = tmp_path_factory.mktemp("search-corpus-merged")
        corpus = root / "articles"
        corpus.mkdir()
        for number, article in enumerate(ARTICLES):
            (corpus / f"{number:03d}.jsonl").write_text(json.dumps(article) + "\n", "utf-8")
        settings = Settings(
            index_dir=root / "index", corpus=(corpus,), build_procs=2, merge_min_articles=1
        )
        result = build_index(None, settings, show_progress=False)
        assert result.meta["segments"] == 1 < result.meta["segments_written"]
        _BUILT["merged"] = settings
    return _BUILT["merged"]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):
    with SearchEngine(corpus_settings(tmp_path_factory)) as engine:
        yield engine


def test_every_article_is_indexed(engine: SearchEngine) -> None:
    result = engine.search(SearchRequest(per_page=100))
    assert sorted(hit.id for hit in result.hits) == sorted(a["id"] for a in ARTICLES)
    assert engine.generation.article_count == len(ARTICLES)


def test_dateline_places_resolve_to_display_names(engine: SearchEngine) -> None:
    labels = {v.label for v in engine.search(SearchRequest()).facets["place"].values}
    assert {"Baku, Azerbaijan", "London, United Kingdom"} <= labels
