"""The fixture corpus indexed by both engines, for the tests that compare them, and the
same corpus with copies of stories (the strike story's four versions of
``versions_support`` and a chain of three articles where the middle one joins the other
two, which do not resemble each other)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from language_corpus import write_language_corpus
from opensearch_cluster import drop_alias_indices, unique_alias
from test_search_corpus import ARTICLES
from test_web_support import fixture_articles
from versions_support import versions_articles

from searchsvc.config import Settings
from searchsvc.index import build_index

_FERRY = (
    "The island ferry service between Puerto Montt and Chaiten resumed on Monday after a "
    "week of storms kept both vessels in harbour. The operator said the first crossing left "
    "at dawn with trucks carrying fuel, flour and medicine for the villages along the fjord, "
    "and that a second sailing had been added for Wednesday to clear the backlog of "
    "passengers waiting at the terminal since the previous weekend."
)
_ROAD = (
    "Crews also reopened the southern highway near Chaiten, where a landslide had buried two "
    "kilometres of road under mud and fallen trees. Engineers warned that the slope remained "
    "unstable and that traffic would be limited to daylight hours, with a single lane open "
    "and a pilot car leading convoys past the damaged section until a retaining wall is built."
)
_REPAIRS = (
    "Regional officials said repairs to the ferry ramps and the road would cost about four "
    "million dollars and asked the central government for emergency funds."
)
_CHAIN_COMMON = {"place": "Chaiten", "source": "Southern Post"}
#: Ferry alone, ferry and road, road alone: the middle article resembles both ends.
CHAIN = [
    {
        **_CHAIN_COMMON,
        "id": "chain-ferry",
        "date": "2024-06-03",
        "title": "Ferry crossings restart",
        "body": f"{_FERRY} Tickets went on sale at the port office.",
    },
    {
        **_CHAIN_COMMON,
        "id": "chain-both",
        "date": "2024-06-04",
        "title": "Ferries and highway back after storms",
        "body": f"{_FERRY}\n\n{_ROAD} {_REPAIRS}",
    },
    {
        **_CHAIN_COMMON,
        "id": "chain-road",
        "date": "2024-06-04",
        "title": "Highway near Chaiten reopens",
        "body": f"{_ROAD} {_REPAIRS}",
    },
]


def fixture_records() -> list[dict]:
    """The search tests' articles and the web tests' stories."""
    return [*ARTICLES, *fixture_articles()]


def copies_records() -> list[dict]:
    """The fixture records with copies of two stories among them."""
    return [*fixture_records(), *versions_articles(), *CHAIN]


def write_fixture_corpus(directory: Path, records: list[dict] | None = None) -> Path:
    """``records`` (default: :func:`fixture_records`) in one JSON Lines file."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "articles.jsonl"
    records = fixture_records() if records is None else records
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8"
    )
    return path


def write_copies_corpus(directory: Path) -> Path:
    """:func:`copies_records` in one JSON Lines file."""
    return write_fixture_corpus(directory, copies_records())


CorpusWriter = Callable[[Path], Path]


def whoosh_settings(root: Path, write: CorpusWriter = write_fixture_corpus) -> Settings:
    """Settings of an embedded index of the fixture corpus (or the one ``write`` writes),
    built under ``root``."""
    source = write(root / "corpus")
    settings = Settings(index_dir=root / "index", corpus=(source,), build_procs=1)
    build_index(None, settings, show_progress=False)
    return settings


def cluster_settings(
    root: Path, base: Settings, prefix: str, write: CorpusWriter = write_fixture_corpus
) -> Iterator[Settings]:
    """Settings of a fresh alias holding the fixture corpus (or the one ``write`` writes);
    its indices are dropped after."""
    from searchsvc.opensearch import OpenSearchEngine

    source = write(root / "corpus")
    settings = base.replace(opensearch_index=unique_alias(prefix), corpus=(source,))
    try:
        with OpenSearchEngine(settings) as engine:
            engine.build_from([source])
        yield settings
    finally:
        drop_alias_indices(settings)


@pytest.fixture(scope="module")
def fixture_corpus_whoosh(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return whoosh_settings(tmp_path_factory.mktemp("conformance-whoosh"))


@pytest.fixture(scope="module")
def fixture_corpus_cluster(
    tmp_path_factory: pytest.TempPathFactory, opensearch_settings: Settings
) -> Iterator[Settings]:
    yield from cluster_settings(
        tmp_path_factory.mktemp("conformance-cluster"), opensearch_settings, "conformance"
    )


@pytest.fixture(scope="module")
def copies_corpus_whoosh(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return whoosh_settings(tmp_path_factory.mktemp("copies-whoosh"), write_copies_corpus)


@pytest.fixture(scope="module")
def copies_corpus_cluster(
    tmp_path_factory: pytest.TempPathFactory, opensearch_settings: Settings
) -> Iterator[Settings]:
    yield from cluster_settings(
        tmp_path_factory.mktemp("copies-cluster"),
        opensearch_settings,
        "copies",
        write_copies_corpus,
    )


@pytest.fixture(scope="module")
def language_corpus_whoosh(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return whoosh_settings(tmp_path_factory.mktemp("languages-whoosh"), write_language_corpus)


@pytest.fixture(scope="module")
def language_corpus_cluster(
    tmp_path_factory: pytest.TempPathFactory, opensearch_settings: Settings
) -> Iterator[Settings]:
    yield from cluster_settings(
        tmp_path_factory.mktemp("languages-cluster"),
        opensearch_settings,
        "languages",
        write_language_corpus,
    )
