"""Builds, the rebuild lock and incremental updates on the cluster."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opensearch_cluster import drop_alias_indices, unique_alias

from searchsvc import engines
from searchsvc.articles.model import Article, fitted_id
from searchsvc.index.errors import BuildFailed, BuildInProgress, WriterBusy
from searchsvc.index.watch import Watcher, hold_watch_lock
from searchsvc.opensearch import OpenSearchEngine, generations
from searchsvc.search import SearchEngine, SearchRequest


def story(article_id: str, title: str, body: str = "A short wire report.") -> Article:
    return Article(id=article_id, title=title, body=body, date=dt.date(2024, 5, 1), source="Wire")


FIRST = [story("a1", "Lighthouse keepers strike"), story("a2", "Glacier retreats again")]
SECOND = [story("b1", "Orchard harvest begins"), story("b2", "Lighthouse restored")]


def write_harbour_stories(source: Path) -> Path:
    """A JSON Lines source of two stories, f1 and f2."""
    source.write_text(
        '{"id": "f1", "title": "Harbour crane toppled", "body": "Wind.", "source": "Wire"}\n'
        '{"id": "f2", "title": "Harbour reopens", "body": "Calm.", "source": "Wire"}\n',
        encoding="utf-8",
    )
    return source


@pytest.fixture
def engine(opensearch_settings):
    settings = opensearch_settings.replace(
        opensearch_index=unique_alias("generations"), writer_lock_timeout=0.5
    )
    with OpenSearchEngine(settings) as opened:
        yield opened
    drop_alias_indices(settings)


def ids(engine: OpenSearchEngine, query: str) -> set[str]:
    return {hit.id for hit in engine.search(SearchRequest(query=query)).hits}


def physical_indices(engine: OpenSearchEngine) -> set[str]:
    found = engine.client.indices.get(index=generations.generation_prefix(engine.alias) + "*")
    return set(found)


def test_a_build_moves_the_alias_and_drops_the_old_generation(engine) -> None:
    first = engine.build(FIRST)
    assert engine.generation.id == first.generation
    assert ids(engine, "lighthouse") == {"a1"}
    second = engine.build(SECOND)
    assert second.generation != first.generation
    assert engine.generation.id == second.generation
    assert (engine.generation.article_count, engine.generation.commit) == (2, 1)
    assert ids(engine, "lighthouse") == {"b2"}
    assert physical_indices(engine) == {
        generations.generation_prefix(engine.alias) + second.generation
    }


def test_a_repeated_id_keeps_the_last_article(engine) -> None:
    result = engine.build([*FIRST, story("a1", "Lighthouse keepers return")])
    assert (result.article_count, result.duplicates_removed) == (2, 1)
    assert engine.article("a1").title == "Lighthouse keepers return"


def test_a_repeated_id_keeps_the_last_article_across_bulk_requests(engine) -> None:
    """The articles of later bulk requests are read while earlier ones are indexed: the
    requests must still reach the cluster in order, or an earlier version could win."""
    count = 3 * generations.BULK_CHUNK
    articles = [story(f"n{number}", f"Harbour notice {number}") for number in range(count)]
    articles[-1] = story("n5", "Lighthouse keepers return")  # n5 again, two requests later
    result = engine.build(articles)
    assert (result.article_count, result.duplicates_removed) == (count - 1, 1)
    assert engine.article("n5").title == "Lighthouse keepers return"


def test_made_ahead_keeps_the_order_and_every_item() -> None:
    assert list(generations.made_ahead(iter(range(10_000)), 7)) == list(range(10_000))
    assert list(generations.made_ahead([], 7)) == []


def test_made_ahead_makes_items_while_the_caller_waits_and_no_further_than_its_limit() -> None:
    made: list[int] = []

    def counted() -> Iterator[int]:
        for number in range(1000):
            made.append(number)
            yield number

    ahead = generations.made_ahead(counted(), 10)
    assert next(ahead) == 0
    deadline = time.monotonic() + 10
    while len(made) < 11 and time.monotonic() < deadline:
        time.sleep(0.01)  # the caller waits, as for the cluster's answer
    time.sleep(0.2)
    assert 11 <= len(made) <= 12  # the one taken, 10 handed over, at most 1 in hand
    assert list(ahead) == list(range(1, 1000))


def test_made_ahead_raises_the_error_that_ended_the_items_after_the_items_before() -> None:
    def breaks_after_three() -> Iterator[int]:
        yield from range(3)
        raise OSError("source disk vanished")

    got: list[int] = []
    with pytest.raises(OSError, match="vanished"):
        got.extend(generations.made_ahead(breaks_after_three(), 2))
    assert got == [0, 1, 2]


def test_closing_made_ahead_early_stops_its_thread() -> None:
    def endless() -> Iterator[int]:
        number = 0
        while True:
            yield number
            number += 1

    ahead = generations.made_ahead(endless(), 5)
    assert [next(ahead) for _ in range(3)] == [0, 1, 2]
    ahead.close()
    assert [t for t in threading.enumerate() if t.name == "articles-ahead"] == []


def test_a_failed_build_leaves_the_alias_on_the_last_good_generation(engine) -> None:
    good = engine.build(FIRST)

    def breaks_halfway():
        yield SECOND[0]
        raise OSError("source disk vanished")

    with pytest.raises(OSError, match="vanished"):
        engine.build(breaks_halfway())
    assert engine.generation.id == good.generation
    assert ids(engine, "glacier") == {"a2"}
    assert physical_indices(engine) == {
        generations.generation_prefix(engine.alias) + good.generation
    }


def test_a_killed_builds_leftover_index_is_removed_by_the_next_build(engine) -> None:
    engine.build(FIRST)
    leftover = generations.new_index_name(engine.alias)
    engine.client.indices.create(index=leftover, body={"settings": {"number_of_replicas": 0}})
    third = engine.build(SECOND)
    assert physical_indices(engine) == {
        generations.generation_prefix(engine.alias) + third.generation
    }


def test_one_build_at_a_time_across_processes(engine) -> None:
    """The lock document, as another process holding it would leave it."""
    holder = generations.ClusterLock(engine.client, engine.alias, "build")
    assert holder.try_acquire() is None
    try:
        with pytest.raises(BuildInProgress) as refused:
            engine.build(FIRST)
        assert refused.value.status["owner"] == holder.owner
        assert generations.running_build(engine.client, engine.alias)["owner"] == holder.owner
        with pytest.raises(WriterBusy):
            engine.add([story("c1", "Ferry delayed")])
    finally:
        holder.release()
    assert generations.running_build(engine.client, engine.alias) is None
    engine.build(FIRST)


def test_an_expired_lock_is_taken_over(engine, monkeypatch) -> None:
    monkeypatch.setattr(generations, "LOCK_TTL_S", 0.2)
    dead = generations.ClusterLock(engine.client, engine.alias, "build")
    assert dead.try_acquire() is None  # its process "dies" holding it
    time.sleep(0.3)
    monkeypatch.setattr(generations, "LOCK_TTL_S", 120.0)
    assert generations.running_build(engine.client, engine.alias) is None
    engine.build(FIRST)
    assert engine.generation.article_count == 2


def test_updates_add_replace_and_delete_through_the_bulk_api(engine) -> None:
    built = engine.build(FIRST)
    added = engine.add([story("c1", "Ferry delayed by fog"), story("a2", "Glacier advances")])
    assert (added.generation, added.added, added.replaced, added.article_count) == (
        built.generation,
        1,
        1,
        3,
    )
    assert ids(engine, "ferry") == {"c1"}
    assert engine.article("a2").title == "Glacier advances"
    deleted = engine.delete(["a1", "no-such-id"])
    assert (deleted.deleted, deleted.article_count) == (1, 2)
    assert ids(engine, "lighthouse") == set()
    assert engine.generation.commit == 3  # the build, then two updates


def test_articles_given_as_the_cluster_holds_them_are_left_as_they_are(engine) -> None:
    """As the embedded index leaves them: counted as unchanged, and an update or a
    delete that changes nothing commits nothing."""
    engine.build(FIRST)
    again = engine.add([*FIRST, story("a2", "Glacier advances")])
    assert (again.added, again.replaced, again.unchanged, again.article_count) == (0, 1, 1, 2)
    assert engine.article("a2").title == "Glacier advances"
    commit = engine.generation.commit
    assert (engine.add(FIRST[:1]).unchanged, engine.delete(["no-such-id"]).deleted) == (1, 0)
    assert engine.generation.commit == commit


def test_updates_need_a_generation(engine) -> None:
    with pytest.raises(BuildFailed, match="build one first"):
        engine.add(FIRST)


def test_the_factory_builds_updates_and_opens_the_engine_the_settings_name(
    engine, tmp_path
) -> None:
    source = write_harbour_stories(tmp_path / "stories.jsonl")
    settings = engine.settings.replace(corpus=(source,))
    built = engines.build_index(None, settings)
    assert built.article_count == 2 and "articles read: 2" in built.format_text()
    assert engines.delete_articles(settings, ["f1"]).deleted == 1
    assert engines.update_articles(settings, [story("f3", "Harbour crane rebuilt")]).added == 1
    with engines.open_engine(settings) as opened:
        assert isinstance(opened, OpenSearchEngine)
        assert ids(opened, "harbour") == {"f2", "f3"}
    with pytest.raises(BuildFailed, match="source not found"):
        engines.build_index([tmp_path / "missing"], settings)
    embedded = settings.replace(engine="whoosh", index_dir=tmp_path / "index")
    with engines.open_engine(embedded) as opened:
        assert isinstance(opened, SearchEngine)


def test_a_rebuild_keeps_what_the_watch_added(engine, tmp_path) -> None:
    """As on the embedded engine: a full build reads the watched folders too."""
    source = write_harbour_stories(tmp_path / "stories.jsonl")
    settings = engine.settings.replace(corpus=(source,), index_dir=tmp_path / "index")
    engines.build_index(None, settings)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "desk.jsonl").write_text(
        '{"id": "w1", "title": "Harbour gulls return", "body": "Gulls."}\n', encoding="utf-8"
    )
    with hold_watch_lock(settings.index_dir):  # as `searchsvc watch` polls
        assert Watcher(settings, [str(inbox)]).poll()["added"] == 1
    assert engines.build_index(None, settings).article_count == 3
    with engines.open_engine(settings) as opened:
        assert ids(opened, "harbour") == {"f1", "f2", "w1"}


def test_an_id_longer_than_the_cluster_takes_is_indexed_fetched_and_deleted(engine) -> None:
    """OpenSearch refuses document ids over 512 bytes; such an article is indexed under
    the id the embedded engine gives it too, and the id as given still reaches it."""
    given = "urn:harbour:" + "a" * 600
    result = engine.build([story(given, "Lighthouse keepers return"), *FIRST])
    assert result.article_count == 3
    kept = fitted_id(given)
    assert ids(engine, "lighthouse") == {kept, "a1"}
    assert engine.article(given).title == "Lighthouse keepers return"
    assert engines.delete_articles(engine.settings, [given]).deleted == 1
