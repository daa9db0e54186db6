"""The same fixture corpus in both engines: the same lists, totals, facets and highlights.

Scores differ (Lucene's BM25 per field against our BM25F with a proximity bonus), so
within one relevance tier the order may differ; everything else must not. Known
differences are listed in docs/opensearch.md, "Conformance".

A second corpus adds copies of two stories (``opensearch_corpus.copies_records``): one
result per story, the same ``versions``, story and copy totals, the same versions lists.
A third, in several languages (``language_corpus``), checks per-language analysis and the
language facet and ``lang`` selections.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from language_corpus import LANGUAGE_ARTICLES
from opensearch_corpus import (  # noqa: F401 (fixtures)
    CHAIN,
    copies_corpus_cluster,
    copies_corpus_whoosh,
    copies_records,
    fixture_corpus_cluster,
    fixture_corpus_whoosh,
    language_corpus_cluster,
    language_corpus_whoosh,
)
from versions_support import STRIKE_IDS

from searchsvc.cli import main
from searchsvc.config import Settings
from searchsvc.engines import open_engine
from searchsvc.search import ArticleNotFound, QueryError, SearchRequest
from searchsvc.web import close_app, create_app

ENGINES = ("whoosh", "opensearch")

QUERIES = [
    # words: all-words tier first, then some
    "khojaly massacre",
    "massacre",
    "Massacres",
    "anniversary concert",
    "oil prices",
    "trade japan",
    "oil AND prices",
    "(oil prices) azerbaijan",
    "tariffs wheat",
    "harbour",
    "harbour ferry strike",
    # phrases, hyphenated words
    '"khojaly massacre"',
    '"bank of america"',
    '"massacres"',
    '"oil prices" crude azerbaijan',
    "oil-prices crude",
    # exclusions and OR
    "massacre -khojaly",
    "massacre NOT khojaly",
    'oil -"oil prices"',
    "(oil OR wheat) -crude",
    "oil OR yen",
    "-oil -date:2024 -date:2023",
    # fields
    "title:bank",
    "title:(yen OR wheat)",
    "body:massacre",
    "place:tokyo yen",
    "place:baku",
    'source:"example & co"',
    "source:ap",
    "source:AP",
    "source:a*",
    # wildcards and fuzzy words
    "massac*",
    "harb*",
    "khojali~",
    "azerbaijn~1",
    "azerbaijn~",
    # dates
    "date:2024",
    "date:2024-02",
    "date:2023-11-20",
    "date:[2023-07-01 TO 2023-11-30]",
    "date:[2024-03-01 TO]",
    "date:[TO 2022-12-31]",
    # did you mean, nothing, everything
    "masacre",
    pytest.param(
        "xzerbaijn",
        marks=pytest.mark.xfail(
            strict=True,
            reason="two edits, one of them the first letter: the term suggester (Lucene's "
            "spell checker) keeps the first letter when allowing two edits; see "
            "docs/opensearch.md, Conformance",
        ),
    ),
    "azerbaijn",
    "tarrifs",
    "zzzzzz",
    "the",
    "",
]


def open_both(whoosh: Settings, cluster: Settings) -> Iterator[dict[str, Any]]:
    """Both engines over one corpus, by name, closed when the fixture ends."""
    opened = {"whoosh": open_engine(whoosh), "opensearch": open_engine(cluster)}
    yield opened
    for engine in opened.values():
        engine.close()


def both_clients(whoosh: Settings, cluster: Settings) -> Iterator[dict[str, Any]]:
    """The real app over each engine (chosen by ``engine`` in the settings)."""
    apps = {"whoosh": create_app(whoosh), "opensearch": create_app(cluster)}
    yield {name: app.test_client() for name, app in apps.items()}
    for app in apps.values():
        close_app(app)


@pytest.fixture(scope="module")
def engines(fixture_corpus_whoosh, fixture_corpus_cluster):  # noqa: F811
    yield from open_both(fixture_corpus_whoosh, fixture_corpus_cluster)


def comparable(answer: dict[str, Any], *, exact_order: bool) -> dict[str, Any]:
    """What must agree between the engines in a search's JSON: all but scores, timing
    and, in relevance order, the order within each tier."""
    answer = dict(answer)
    hits = answer.pop("hits")
    for ignored in ("took_ms",):
        answer.pop(ignored)
    ids = [hit["id"] for hit in hits]
    first = answer["all_words_total"]
    answer["tiers"] = ids if exact_order else [sorted(ids[:first]), sorted(ids[first:])]
    answer["shown"] = {
        hit["id"]: (hit["title"], hit["snippet"], hit["place"], hit["date"], hit["versions"])
        for hit in hits
    }
    return answer


def both(engines, exact_order: bool = False, **request: Any) -> tuple[dict, dict]:
    search = SearchRequest(**{"per_page": 100, **request})
    return tuple(  # type: ignore[return-value]
        comparable(engines[name].search(search).to_dict(), exact_order=exact_order)
        for name in ENGINES
    )


@pytest.mark.parametrize("query", QUERIES)
def test_the_same_list_totals_facets_and_highlights(engines, query: str) -> None:
    whoosh, cluster = both(engines, query=query)
    assert cluster == whoosh


@pytest.mark.parametrize("sort", ["newest", "oldest"])
@pytest.mark.parametrize("query", ["", "anniversary concert", "oil OR yen", "harbour", "massac*"])
def test_date_orders_agree_article_for_article(engines, query: str, sort: str) -> None:
    whoosh, cluster = both(engines, exact_order=True, query=query, sort=sort)
    assert cluster == whoosh


@pytest.mark.parametrize(
    "selection",
    [
        {"place": ("geo:baku",)},
        {"source": ("ap",)},
        {"source": ("AP", "mina")},
        {"date_from": dt.date(2024, 1, 1)},
        {"date_from": dt.date(2023, 1, 1), "date_to": dt.date(2023, 12, 31)},
        {"date_to": dt.date(2022, 12, 31), "source": ("ap",)},
        {"source": ("no-such-source",)},
    ],
)
@pytest.mark.parametrize("query", ["", "oil OR yen OR massacre", "harbour", "anniversary concert"])
def test_facet_selections_agree(engines, query: str, selection: dict) -> None:
    whoosh, cluster = both(engines, query=query, **selection)
    assert cluster == whoosh


def test_a_selected_place_facet_agrees(engines) -> None:
    """A place key taken from the facet itself, so the test follows the gazetteer."""
    result = engines["whoosh"].search(SearchRequest())
    for facet in ("place", "places"):
        key = result.facets[facet].values[0].key
        whoosh, cluster = both(engines, **{facet: (key,)})
        assert cluster == whoosh


@pytest.mark.parametrize("per_page", [1, 2, 3])
def test_pages_across_the_tiers_agree(engines, per_page: int) -> None:
    for sort in ("newest", "oldest"):
        for page in (1, 2, 3, 4):
            whoosh, cluster = both(
                engines,
                exact_order=True,
                query="anniversary concert",
                sort=sort,
                page=page,
                per_page=per_page,
            )
            assert cluster == whoosh


def test_related_stories_are_the_same_articles(engines) -> None:
    """The same key words find the same articles; which of them make a short list is a
    matter of scores (which differ), so the whole list is compared."""
    for article_id in ("k1", "o1", "harbour-01"):
        found = {
            name: {hit.id for hit in engines[name].related(article_id, limit=100)}
            for name in ENGINES
        }
        assert found["opensearch"] == found["whoosh"]
        assert found["whoosh"] and article_id not in found["whoosh"]


def test_articles_read_back_the_same(engines) -> None:
    for article_id in ("k1", "harbour-03", "n1"):
        views = [engines[name].article(article_id).to_dict() for name in ENGINES]
        assert views[0] == views[1]


@pytest.mark.parametrize("name", ENGINES)
def test_unknown_articles_and_bad_requests_fail_the_same_way(engines, name: str) -> None:
    engine = engines[name]
    with pytest.raises(ArticleNotFound):
        engine.article("no-such-id")
    with pytest.raises(ArticleNotFound):
        engine.related("no-such-id")
    with pytest.raises(QueryError, match="page"):
        engine.search(SearchRequest(query="oil", page=0))
    with pytest.raises(QueryError, match="title:"):
        engine.search(SearchRequest(query="title:"))


def test_generations_count_the_same_articles(engines) -> None:
    infos = [engines[name].generation for name in ENGINES]
    assert infos[0].article_count == infos[1].article_count > 0
    assert infos[0].commit == infos[1].commit == 1


@pytest.fixture(scope="module")
def web_clients(fixture_corpus_whoosh, fixture_corpus_cluster):  # noqa: F811
    """The real app over each engine, on the fixture corpus."""
    yield from both_clients(fixture_corpus_whoosh, fixture_corpus_cluster)


@pytest.mark.parametrize(
    "path",
    [
        "/api/search?q=anniversary+concert",
        "/api/search?q=harbour&source=ap&sort=newest",
        "/api/search?q=oil+OR+yen&date_from=2024&per_page=2&page=2&sort=oldest",
        "/api/search?q=masacre",
        "/api/search?q=massac*&place=geo:baku",
    ],
)
def test_the_json_api_answers_the_same(web_clients, path: str) -> None:
    answers = {name: client.get(path) for name, client in web_clients.items()}
    assert {name: answer.status_code for name, answer in answers.items()} == {
        name: 200 for name in ENGINES
    }
    exact = "sort=" in path
    whoosh, cluster = (comparable(answers[name].get_json(), exact_order=exact) for name in ENGINES)
    assert cluster == whoosh


@pytest.mark.parametrize(
    "path",
    ["/api/articles/k1", "/api/articles?id=harbour-02", "/api/articles/nope", "/api/search?page=0"],
)
def test_articles_and_errors_answer_the_same(web_clients, path: str) -> None:
    answers = [web_clients[name].get(path) for name in ENGINES]
    assert answers[0].status_code == answers[1].status_code
    assert answers[0].get_json() == answers[1].get_json()


def test_the_health_check_names_each_engines_generation(web_clients) -> None:
    bodies = [web_clients[name].get("/healthz").get_json() for name in ENGINES]
    assert bodies[0]["status"] == bodies[1]["status"] == "ok"
    assert bodies[0]["article_count"] == bodies[1]["article_count"]


def engine_environment(settings) -> dict[str, str]:
    """The ``SEARCHSVC_*`` variables that point the command line at ``settings``' engine."""
    return {
        "SEARCHSVC_ENGINE": settings.engine,
        "SEARCHSVC_INDEX_DIR": str(settings.index_dir),
        "SEARCHSVC_OPENSEARCH_URL": ",".join(settings.opensearch_url),
        "SEARCHSVC_OPENSEARCH_INDEX": settings.opensearch_index,
    }


def without_timing(text: str) -> str:
    return re.sub(r"\d+(\.\d+)? ms", "T ms", text)


@pytest.fixture(scope="module")
def cli_runs(fixture_corpus_whoosh, fixture_corpus_cluster):  # noqa: F811
    """``searchsvc search ARGS`` on each engine: {engine: (exit status, stdout, stderr)}."""
    corpora = {"whoosh": fixture_corpus_whoosh, "opensearch": fixture_corpus_cluster}

    def run(monkeypatch, capsys, *argv: str) -> dict[str, tuple[int, str, str]]:
        runs = {}
        for name, settings in corpora.items():
            with monkeypatch.context() as patch:
                for key, value in engine_environment(settings).items():
                    patch.setenv(key, value)
                status = main(["search", *argv])
            captured = capsys.readouterr()
            runs[name] = (status, captured.out, captured.err)
        return runs

    return run


@pytest.mark.parametrize(
    "argv",
    [
        ("--json", "anniversary", "concert"),
        ("--json", "harbour", "--source", "ap"),
        ("--json", "masacre"),
        ("--json", "oil", "OR", "yen", "--from", "2024-01-01", "--sort", "oldest"),
    ],
)
def test_the_cli_answers_the_same(cli_runs, monkeypatch, capsys, argv) -> None:
    runs = cli_runs(monkeypatch, capsys, *argv)
    assert [runs[name][0] for name in ENGINES] == [0, 0]
    whoosh, cluster = (
        comparable(json.loads(runs[name][1]), exact_order="--sort" in argv) for name in ENGINES
    )
    assert cluster == whoosh


@pytest.mark.parametrize(
    "argv", [("harbour", "--sort", "newest"), ("massac*", "--sort", "oldest"), ("title:",)]
)
def test_the_cli_prints_the_same_text(cli_runs, monkeypatch, capsys, argv) -> None:
    """Date orders list article for article, so the printed page is the same text (and a
    bad query the same error)."""
    runs = cli_runs(monkeypatch, capsys, *argv)
    whoosh, cluster = (
        tuple(without_timing(part) if isinstance(part, str) else part for part in runs[name])
        for name in ENGINES
    )
    assert cluster == whoosh


@pytest.mark.parametrize(
    "path",
    [
        "/?q=harbour&sort=newest",
        "/?q=oil+OR+yen&source=ap&sort=oldest",
        "/?q=masacre&sort=newest",
        "/?q=title%3A",
        "/?q=&place=geo:baku&sort=newest",
    ],
)
def test_the_search_page_is_the_same(web_clients, path: str) -> None:
    """In a date order the page lists the same articles in the same order, so the HTML is
    the same but for the time taken (relevance pages may order a tier differently)."""
    answers = {name: client.get(path) for name, client in web_clients.items()}
    whoosh, cluster = (
        (answers[name].status_code, without_timing(answers[name].get_data(as_text=True)))
        for name in ENGINES
    )
    assert cluster == whoosh


# --- copies of one story ---------------------------------------------------------------

COPIES_QUERIES = [
    "",
    "copper valparaiso",
    "ministry talks stevedores",
    "copper",
    "strike",
    "valparaiso -festival",
    '"copper shipments"',
    "ferry highway",
    "chaiten",
    "harbour",
    "oil OR copper",
    "source:andes*",
    "date:2024-05",
]


@pytest.fixture(scope="module")
def copies_engines(copies_corpus_whoosh, copies_corpus_cluster):  # noqa: F811
    yield from open_both(copies_corpus_whoosh, copies_corpus_cluster)


@pytest.fixture(scope="module")
def story_of(copies_engines) -> dict[str, str]:
    """Each article's story, named by its smallest id, as the embedded engine groups them."""
    engine = copies_engines["whoosh"]
    stories = {}
    for record in copies_records():
        copies = {record["id"], *(hit.id for hit in engine.versions(record["id"]))}
        stories[record["id"]] = min(copies)
    return stories


def test_the_copies_corpus_has_the_groups_it_was_written_for(story_of) -> None:
    """The comparisons below mean something only if the embedded engine groups the
    strike's versions and joins the chain's ends through its middle."""
    assert {story_of[article_id] for article_id in STRIKE_IDS} == {min(STRIKE_IDS)}
    assert {story_of[record["id"]] for record in CHAIN} == {"chain-both"}
    assert sum(1 for key, story in story_of.items() if key != story) == len(STRIKE_IDS) + 1


def by_story(answer: dict[str, Any], story_of: dict[str, str]) -> dict[str, Any]:
    """A collapsed relevance list as its stories in each tier, with their ``versions``:
    which copy stands for a story is the best-scored one, and scores differ."""
    answer = dict(answer)
    hits = answer.pop("hits")
    answer.pop("took_ms")
    first = answer["all_words_total"]
    stories = [story_of[hit["id"]] for hit in hits]
    answer["tiers"] = [sorted(stories[:first]), sorted(stories[first:])]
    answer["versions"] = {story_of[hit["id"]]: hit["versions"] for hit in hits}
    return answer


@pytest.mark.parametrize("collapse", [True, False])
@pytest.mark.parametrize("query", COPIES_QUERIES)
def test_copies_are_grouped_alike_in_relevance_order(
    copies_engines, story_of, query: str, collapse: bool
) -> None:
    answers = [
        copies_engines[name].search(SearchRequest(query=query, per_page=100, collapse=collapse))
        for name in ENGINES
    ]
    if collapse:
        whoosh, cluster = (by_story(answer.to_dict(), story_of) for answer in answers)
    else:
        whoosh, cluster = (comparable(a.to_dict(), exact_order=False) for a in answers)
    assert cluster == whoosh


@pytest.mark.parametrize("collapse", [True, False])
@pytest.mark.parametrize("sort", ["newest", "oldest"])
@pytest.mark.parametrize("query", COPIES_QUERIES)
def test_copies_in_date_order_agree_article_for_article(
    copies_engines, query: str, sort: str, collapse: bool
) -> None:
    """In a date order the copy shown for a story is the first by date (then id) in
    both engines, so every hit is the same."""
    whoosh, cluster = both(
        copies_engines, exact_order=True, query=query, sort=sort, collapse=collapse
    )
    assert cluster == whoosh


@pytest.mark.parametrize(
    "selection",
    [
        {"source": ("coastal times",)},
        {"source": ("andes wire", "southern post")},
        {"date_from": dt.date(2024, 5, 15)},
        {"date_to": dt.date(2024, 5, 14), "source": ("pacific herald",)},
    ],
)
@pytest.mark.parametrize("query", ["", "copper valparaiso", "ferry highway"])
def test_copies_under_facet_selections_agree(copies_engines, query: str, selection) -> None:
    whoosh, cluster = both(
        copies_engines, exact_order=True, query=query, sort="newest", **selection
    )
    assert cluster == whoosh


@pytest.mark.parametrize("per_page", [1, 2, 3])
def test_collapsed_pages_across_the_tiers_agree(copies_engines, per_page: int) -> None:
    for query in ("copper valparaiso", "ferry highway", "oil OR copper"):
        for sort in ("newest", "oldest"):
            for page in range(1, 7):
                whoosh, cluster = both(
                    copies_engines,
                    exact_order=True,
                    query=query,
                    sort=sort,
                    page=page,
                    per_page=per_page,
                )
                assert cluster == whoosh


def test_versions_lists_agree(copies_engines) -> None:
    for record in copies_records():
        lists = [
            [dataclasses.asdict(hit) for hit in copies_engines[name].versions(record["id"])]
            for name in ENGINES
        ]
        assert lists[0] == lists[1]
    for name in ENGINES:
        with pytest.raises(ArticleNotFound):
            copies_engines[name].versions("no-such-id")


def test_related_stories_carry_the_same_versions(copies_engines) -> None:
    for article_id in ("strike-other", "chain-ferry", "copper-output"):
        found = [
            {hit.id: hit.versions for hit in copies_engines[name].related(article_id, limit=100)}
            for name in ENGINES
        ]
        assert found[0] == found[1]
        assert any(found[0].values())


@pytest.fixture(scope="module")
def copies_clients(copies_corpus_whoosh, copies_corpus_cluster):  # noqa: F811
    yield from both_clients(copies_corpus_whoosh, copies_corpus_cluster)


@pytest.mark.parametrize(
    "path",
    [
        "/api/search?q=copper+valparaiso&sort=newest",
        "/api/search?q=ferry&sort=oldest&collapse=false",
        "/api/articles/strike-agency/versions",
        "/api/versions?id=chain-both",
        "/api/versions?id=port-festival",
        "/api/versions",
        "/api/articles/no-such-story/versions",
        "/?q=copper+valparaiso&sort=newest",
        "/?q=copper+valparaiso&sort=newest&collapse=false",
    ],
)
def test_copies_over_http_answer_the_same(copies_clients, path: str) -> None:
    """Pages, JSON answers and errors alike, but for the time taken."""
    answers = {name: client.get(path) for name, client in copies_clients.items()}
    whoosh, cluster = (
        (answers[name].status_code, without_timing(answers[name].get_data(as_text=True)))
        if answers[name].mimetype != "application/json"
        else (answers[name].status_code, untimed(answers[name].get_json()))
        for name in ENGINES
    )
    assert cluster == whoosh


def untimed(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "took_ms"}


def test_the_article_page_lists_the_other_versions(copies_clients) -> None:
    html = copies_clients["opensearch"].get("/articles/strike-agency").get_data(as_text=True)
    assert "Other versions of this story" in html
    assert "Copper exports stall as Chilean port workers walk out" in html


# --- an archive in several languages --------------------------------------------------

LANGUAGE_QUERIES = [
    "",
    "khojaly",
    "baku khojaly",
    "memperingati",
    "peringatan",
    "peringatan korban",
    "ذكرى",
    "النفط",
    "نفط",
    "ميناء",
    "أسعار النفط",
    '"أسعار النفط"',
    "oil prices",
    "harga minyak",
    '"harga minyak"',
    "pelabuhan -minyak",
    "port OR pelabuhan OR الميناء OR bandari",
    "mgomo",
    "title:pekerja",
    "minya*",
    "pelabuhn~",
    "jpy",
]


@pytest.fixture(scope="module")
def language_engines(language_corpus_whoosh, language_corpus_cluster):  # noqa: F811
    yield from open_both(language_corpus_whoosh, language_corpus_cluster)


@pytest.mark.parametrize("query", LANGUAGE_QUERIES)
def test_a_mixed_language_archive_gives_the_same_answers(language_engines, query: str) -> None:
    whoosh, cluster = both(language_engines, query=query)
    assert cluster == whoosh


@pytest.mark.parametrize(
    "selection",
    [
        {"language": ("ar",)},
        {"language": ("id", "en")},
        {"language": ("und",)},
        {"language": ("sw", "und")},
        {"language": ("fr",)},
        {"language": ("ar",), "source": ("reuters",)},
        {"lang": ("id",)},
        {"lang": ("ar", "en")},
    ],
)
@pytest.mark.parametrize("query", ["", "khojaly", "pelabuhan OR الميناء OR port"])
def test_language_selections_agree(language_engines, query: str, selection: dict) -> None:
    whoosh, cluster = both(language_engines, query=query, **selection)
    assert cluster == whoosh
    assert [value["key"] for value in whoosh["facets"]["language"]["values"]]


def test_articles_in_every_language_read_back_the_same(language_engines) -> None:
    for record in LANGUAGE_ARTICLES:
        views = [language_engines[name].article(record["id"]) for name in ENGINES]
        assert views[0] == views[1]
        assert views[0].language == record.get("language")


def test_related_stories_in_every_language_are_the_same(language_engines) -> None:
    for record in LANGUAGE_ARTICLES:
        found = [
            {hit.id for hit in language_engines[name].related(record["id"], limit=20)}
            for name in ENGINES
        ]
        assert found[0] == found[1], record["id"]
