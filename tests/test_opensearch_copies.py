"""Copies of one story on the cluster through incremental adds, deletes and replacements,
and across a rebuild: after every change the cluster's groups, versions and story totals
are what a fresh embedded build of the same articles gives, and a rebuild of the cluster
gives every article the label the changes left it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from opensearch_cluster import drop_alias_indices, unique_alias
from opensearch_corpus import CHAIN
from test_web_support import build_fixture_index
from versions_support import COPIES, DIFFERENT_STORIES, STRIKE_STORY

from searchsvc.articles.model import Article, IngestReport
from searchsvc.articles.sources import read_articles
from searchsvc.config import Settings
from searchsvc.opensearch import OpenSearchEngine
from searchsvc.opensearch.copies import HAS_COPIES, STORY, every_hit
from searchsvc.search import SearchEngine, SearchRequest

CHAIN_FERRY, CHAIN_BOTH, CHAIN_ROAD = CHAIN
QUERIES = ("copper valparaiso", "ferry highway", "")


def as_articles(records: list[dict], directory: Path) -> list[Article]:
    """``records`` read as a build reads them (the same places, dates and sources)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "articles.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return list(read_articles([path], IngestReport(), max_file_bytes=1 << 20))


def groups(engine, ids: list[str]) -> set[frozenset[str]]:
    """The stories of ``ids`` as sets of ids, from each article's versions list."""
    return {frozenset({key, *(hit.id for hit in engine.versions(key))}) for key in ids}


def summary(engine, ids: list[str]) -> dict:
    """What must match a fresh embedded build: groups, and per query the totals and each
    story's versions count (by the story's smallest id)."""
    found: dict = {"groups": groups(engine, ids)}
    story = {key: min(group) for group in found["groups"] for key in group}
    for query in QUERIES:
        result = engine.search(SearchRequest(query=query, per_page=100))
        found[query] = (
            result.total,
            result.all_words_total,
            result.copies_total,
            {story[hit.id]: hit.versions for hit in result.hits},
        )
    return found


class History:
    """The articles the cluster should hold, and a fresh embedded build of them to compare."""

    def __init__(self, engine: OpenSearchEngine, root: Path, records: list[dict]) -> None:
        self.engine = engine
        self.root = root
        self.records = {record["id"]: record for record in records}
        self.step = 0

    def add(self, *records: dict) -> None:
        self.engine.add(as_articles(list(records), self.next_folder("add")))
        self.records.update((record["id"], record) for record in records)

    def delete(self, *ids: str) -> None:
        self.engine.delete(ids)
        for key in ids:
            del self.records[key]

    def next_folder(self, what: str) -> Path:
        self.step += 1
        return self.root / f"{self.step:02d}-{what}"

    def embedded(self) -> dict:
        settings = build_fixture_index(self.next_folder("embedded"), list(self.records.values()))
        with SearchEngine(settings) as engine:
            return summary(engine, sorted(self.records))

    def check(self) -> dict:
        """The cluster's summary, asserted equal to the embedded engine's."""
        cluster = summary(self.engine, sorted(self.records))
        assert cluster == self.embedded()
        return cluster


def labels(engine: OpenSearchEngine) -> dict[str, tuple[str, bool]]:
    """Every article's stored label and copies flag."""
    query = {"match_all": {}}
    hits = every_hit(engine.client, engine.alias, query, ["id", STORY, HAS_COPIES])
    return {
        hit["_source"]["id"]: (hit["_source"][STORY], hit["_source"][HAS_COPIES]) for hit in hits
    }


@pytest.fixture
def cluster_engine(opensearch_settings: Settings) -> Iterator[OpenSearchEngine]:
    settings = opensearch_settings.replace(opensearch_index=unique_alias("copies-updates"))
    try:
        with OpenSearchEngine(settings) as engine:
            yield engine
    finally:
        drop_alias_indices(settings)


def test_adds_deletes_and_a_rebuild_keep_the_groups_of_a_fresh_build(
    cluster_engine: OpenSearchEngine, tmp_path: Path
) -> None:
    start = [STRIKE_STORY, *DIFFERENT_STORIES, CHAIN_FERRY, CHAIN_ROAD]
    cluster_engine.build(as_articles(start, tmp_path / "start"))
    history = History(cluster_engine, tmp_path, start)
    assert all(len(group) == 1 for group in history.check()["groups"])

    history.add(*COPIES)  # three copies at once join the agency story
    assert {len(group) for group in history.check()["groups"]} == {1, 4}

    history.add(CHAIN_BOTH)  # the middle article merges the chain's two ends
    assert frozenset(r["id"] for r in CHAIN) in history.check()["groups"]

    history.delete(STRIKE_STORY["id"])  # the other three copies stay one story
    history.check()

    history.delete(CHAIN_BOTH["id"])  # without the middle, the ends part
    assert all(len(group) == 1 for group in history.check()["groups"] if "chain-road" in group)

    replaced = {**DIFFERENT_STORIES[1], "id": COPIES[0]["id"]}
    history.add(replaced)  # a copy replaced by another story's text changes group
    after = history.check()
    assert frozenset({COPIES[0]["id"], DIFFERENT_STORIES[1]["id"]}) in after["groups"]

    history.add(STRIKE_STORY, CHAIN_BOTH)
    history.check()
    kept = labels(cluster_engine)
    cluster_engine.build(as_articles(list(history.records.values()), tmp_path / "rebuild"))
    history.check()
    assert labels(cluster_engine) == kept


def embedded_groups(settings: Settings) -> set[frozenset[str]]:
    """The embedded engine's stories with copies, as sets of ids (read from its groups)."""
    with SearchEngine(settings) as engine, engine._serving.reading() as reading:
        labels = engine.version_groups(reading).labels
        live = reading.columns.live.ids
        members: dict[int, set[str]] = {}
        for docnum in live.tolist():
            members.setdefault(int(labels[docnum]), set()).add(reading.columns.ids[docnum])
    return {frozenset(group) for group in members.values() if len(group) > 1}


def cluster_groups(engine: OpenSearchEngine) -> set[frozenset[str]]:
    query = {"term": {HAS_COPIES: True}}
    members: dict[str, set[str]] = {}
    for hit in every_hit(engine.client, engine.alias, query, ["id", STORY]):
        members.setdefault(hit["_source"][STORY], set()).add(hit["_source"]["id"])
    return {frozenset(group) for group in members.values()}


@pytest.mark.slow
@pytest.mark.corpus
def test_reuters_added_to_groups_as_rebuilt_and_equal_to_the_embedded_groups(
    reuters_dir: Path, reuters_index: Settings, cluster_engine: OpenSearchEngine
) -> None:
    """All of Reuters-21578: a build of all but the last 2,000 articles, then those added,
    leaves every article the label a rebuild of all of them gives; and the cluster's
    groups are the embedded engine's, one for one (both call ``versions.candidate_pairs``
    and ``group_signatures``; Reuters repeats no id, and no band's run in it is longer
    than ``versions.RUN_ROWS``, so its pairs do not depend on the order of the rows)."""
    embedded = embedded_groups(reuters_index)
    assert len(embedded) > 100  # Reuters has corrections and follow-ups sharing passages
    paths = sorted(reuters_dir.glob("reut2-*.sgm"))
    max_file_bytes = reuters_index.max_file_bytes
    articles = list(read_articles(paths, IngestReport(), max_file_bytes=max_file_bytes))
    cluster_engine.build(articles[:-2000])
    cluster_engine.add(articles[-2000:])
    added = labels(cluster_engine)
    cluster_engine.build(articles)
    assert labels(cluster_engine) == added
    assert cluster_groups(cluster_engine) == embedded
