"""The fixture corpus indexed by both engines, for the tests that compare them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from language_corpus import write_language_corpus
from opensearch_cluster import drop_alias_indices, unique_alias
from test_search_corpus import ARTICLES
from test_web_support import fixture_articles

from searchsvc.config import Settings
from searchsvc.index import build_index


def write_fixture_corpus(directory: Path) -> Path:
    """The search tests' articles and the web tests' stories in one JSON Lines file."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "articles.jsonl"
    records = [*ARTICLES, *fixture_articles()]
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8"
    )
    return path


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
