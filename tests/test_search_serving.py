"""The engine follows the index: rebuilds, incremental updates, many threads, closing."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import itertools
import json
import logging
import os
import resource
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_index_support import generations_held_open, wait_for

from searchsvc.articles.model import Article
from searchsvc.config import Settings
from searchsvc.index import IndexNotFound, build_index, read_current
from searchsvc.index.generations import GenerationLock, generation_path
from searchsvc.index.updates import delete_articles, update_articles
from searchsvc.search import SearchEngine, SearchRequest
from searchsvc.search.warming import RecentSearches

pytestmark = pytest.mark.slow  # builds its own indexes


def write_corpus(path: Path, articles: list[dict]) -> None:
    path.write_text("\n".join(json.dumps(a) for a in articles) + "\n", encoding="utf-8")


def story(article_id: str, title: str, body: str, date: str = "2024-01-01") -> dict:
    return {"id": article_id, "title": title, "body": body, "date": date, "source": "Test Wire"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    corpus = tmp_path / "articles.jsonl"
    write_corpus(
        corpus,
        [
            story("a1", "Harbour reopens", "The harbour reopened after the storm."),
            story("a2", "Bridge closes", "The old bridge closed for repairs."),
        ],
    )
    return Settings(index_dir=tmp_path / "index", corpus=(corpus,), build_procs=1)


def total(engine: SearchEngine, query: str) -> int:
    return engine.search(SearchRequest(query=query)).total


def test_no_index_is_reported_not_hidden(tmp_path: Path) -> None:
    with (
        SearchEngine(Settings(index_dir=tmp_path / "missing")) as engine,
        pytest.raises(IndexNotFound),
    ):
        engine.search(SearchRequest(query="harbour"))


def test_a_rebuild_is_picked_up_by_the_next_search(settings: Settings) -> None:
    build_index(None, settings, show_progress=False)
    with SearchEngine(settings) as engine:
        first = engine.generation
        assert total(engine, "harbour") == 1 and total(engine, "lighthouse") == 0
        write_corpus(
            settings.corpus[0],
            [story("b1", "Lighthouse restored", "Volunteers restored the lighthouse lamp.")],
        )
        build_index(None, settings, show_progress=False)
        assert total(engine, "lighthouse") == 1 and total(engine, "harbour") == 0
        second = engine.generation
        assert second.id == read_current(settings.index_dir) != first.id
        assert second.article_count == 1
        # the old generation is no longer held open, so cleanup may delete it
        with GenerationLock(settings.index_dir, first.id) as old:
            assert old.try_exclusive()
        with GenerationLock(settings.index_dir, second.id) as current:
            assert not current.try_exclusive()


def test_a_server_lets_go_of_a_replaced_generation_before_any_request(
    settings: Settings,
) -> None:
    """An engine that follows the index (a server's) switches to a rebuild, and to an
    update's commit, with no request coming: a worker process that no request reaches
    must not keep the replaced generation's files, lock and caches."""
    build_index(None, settings, show_progress=False)
    with SearchEngine(settings, follow_index=True) as engine:
        first = engine.generation.id
        assert generations_held_open(settings.index_dir) == {first}
        rebuilt = rebuild_with_lighthouse(settings)
        wait_for(
            lambda: generations_held_open(settings.index_dir) == {rebuilt},
            "the replaced generation let go with no request",
            10,
        )
        with GenerationLock(settings.index_dir, first) as old:
            assert old.try_exclusive()
        snapshot = engine._serving._snapshot
        update_articles(settings, [Article(id="c1", title="Ferry returns", body="It is back.")])
        wait_for(lambda: engine._serving._snapshot is not snapshot, "the update's commit", 10)
        assert total(engine, "ferry") == 1 and total(engine, "lighthouse") == 1
        follower = engine._serving._follower
        assert follower is not None and follower.is_alive()
    assert not follower.is_alive()  # closing ends it: nothing opens the index behind us
    assert generations_held_open(settings.index_dir) == set()


def test_a_server_asks_its_latest_searches_again_on_a_new_commit(settings: Settings) -> None:
    """Every commit starts with empty caches; a server's engine asks its latest searches
    again on the new commit in the background, so they stay quick, and their answers
    are the new commit's, not the old one's."""
    build_index(None, settings, show_progress=False)
    with SearchEngine(settings, prepare_lexicon=True, follow_index=True) as engine:
        assert total(engine, "harbour") == 1
        old = engine._serving._snapshot
        update_articles(
            settings, [Article(id="c1", title="Ferry returns", body="The ferry is in the harbour.")]
        )

        def asked_again() -> bool:
            new = engine._serving._snapshot
            return new is not old and new.cache.get(("postings", "body", "harbour")) is not None

        wait_for(asked_again, "the search asked again on the new commit", 10)
        assert total(engine, "harbour") == 2


def test_closing_does_not_wait_for_the_searches_asked_again(settings: Settings) -> None:
    """Searches asked again wait for the requests running to end, however long; closing
    the engine meanwhile must not wait with them."""
    build_index(None, settings, show_progress=False)
    engine = SearchEngine(settings, prepare_lexicon=True, follow_index=True)
    assert total(engine, "harbour") == 1
    old = engine._serving._snapshot
    with engine._serving.reading():  # a request running for as long as this block
        update_articles(settings, [Article(id="c1", title="Ferry", body="In the harbour.")])
        wait_for(lambda: engine._serving._snapshot is not old, "the new commit", 10)
        closing = threading.Thread(target=engine.close)
        closing.start()
        closing.join(timeout=10)  # a hang guard
        assert not closing.is_alive()


def test_the_latest_searches_are_kept_most_recent_first() -> None:
    recent = RecentSearches(limit=3)
    for query in ["a", "b", "c", "a", "d"]:
        recent.remember(SearchRequest(query=query))
    assert [request.query for request in recent.latest()] == ["d", "a", "c"]


def test_closing_ends_every_thread_the_engine_started(settings: Settings) -> None:
    """A server closes the engine it described the index with, then forks its workers:
    a thread of it still running at the fork (the lexicon's, importing a codec) left
    the module's lock held for good in the workers, whose first misspelled query hung."""
    build_index(None, settings, show_progress=False)
    before = set(threading.enumerate())
    engine = SearchEngine(settings, prepare_lexicon=True, follow_index=True)
    assert total(engine, "harbour") == 1
    engine.close()
    assert set(threading.enumerate()) - before == set()


def test_updates_and_deletions_are_seen_without_reopening(settings: Settings) -> None:
    build_index(None, settings, show_progress=False)
    with SearchEngine(settings) as engine:
        generation = engine.generation
        assert total(engine, "ferry") == 0
        update_articles(
            settings,
            [
                Article(
                    id="c1",
                    title="Ferry returns",
                    body="The ferry returned to the harbour.",
                    date=dt.date(2024, 2, 1),
                    source="Test Wire",
                )
            ],
        )
        result = engine.search(SearchRequest(query="harbour", sort="newest"))
        assert [hit.id for hit in result.hits] == ["c1", "a1"]
        assert result.facets["source"].values[0].count == 2
        assert (
            engine.generation.id == generation.id and engine.generation.commit > generation.commit
        )
        delete_articles(settings, ["a1"])
        assert [hit.id for hit in engine.search(SearchRequest(query="harbour")).hits] == ["c1"]
        assert engine.generation.article_count == 2


def test_many_threads_search_while_the_index_changes(settings: Settings) -> None:
    build_index(None, settings, show_progress=False)
    errors: list[BaseException] = []
    seen: set[int] = set()
    with SearchEngine(settings.replace(threads=8)) as engine:

        def worker() -> None:
            try:
                for _ in range(40):
                    result = engine.search(SearchRequest(query="harbour OR bridge OR ferry"))
                    seen.add(result.total)
                    assert len(result.hits) == result.total
            except BaseException as error:  # reported below, with the thread's traceback
                errors.append(error)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        update_articles(
            settings,
            [Article(id="c1", title="Ferry returns", body="The ferry is back.", source="Wire")],
        )
        for thread in threads:
            thread.join()
        assert not errors, errors[0]
        assert seen <= {2, 3}
        assert total(engine, "harbour OR bridge OR ferry") == 3


def test_close_releases_the_generation_and_a_later_call_reopens(settings: Settings) -> None:
    build_index(None, settings, show_progress=False)
    engine = SearchEngine(settings)
    assert total(engine, "bridge") == 1
    engine.close()
    engine.close()  # closing twice is harmless
    assert total(engine, "bridge") == 1
    engine.close()


def test_a_broken_current_generation_does_not_stop_searches(settings: Settings) -> None:
    build_index(None, settings, show_progress=False)
    with SearchEngine(settings) as engine:
        good = engine.generation.id
        assert total(engine, "bridge") == 1
        (settings.index_dir / "CURRENT").write_text("20990101T000000-000000\n")
        assert total(engine, "bridge") == 1
        assert engine.generation.id == good


@contextmanager
def descriptors_left(count: int) -> Iterator[None]:
    """This process may open ``count`` more files for as long as the context lasts: the
    real limit a server meets when it runs out of file descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    gc.collect()  # files of earlier tests' objects would be closed during the context
    resource.setrlimit(resource.RLIMIT_NOFILE, (_limit_leaving(count), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _limit_leaving(count: int) -> int:
    """The descriptor limit under which ``count`` numbers are free: a new descriptor
    takes the lowest free number, and must be below the limit."""
    in_use = set()
    for name in os.listdir("/proc/self/fd"):  # with the listing's own, closed since
        with contextlib.suppress(OSError):
            os.fstat(int(name))
            in_use.add(int(name))
    free = (number for number in itertools.count() if number not in in_use)
    return next(itertools.islice(free, count - 1, None)) + 1


def rebuild_with_lighthouse(settings: Settings) -> str:
    write_corpus(
        settings.corpus[0],
        [story("b1", "Lighthouse restored", "Volunteers restored the lighthouse lamp.")],
    )
    build_index(None, settings, show_progress=False)
    return read_current(settings.index_dir)


def test_a_generation_that_could_not_open_for_a_moment_is_served_once_it_can(
    settings: Settings,
) -> None:
    """A rebuild meets a server out of file descriptors: the generation open keeps
    answering, and the new one is opened by a later query once descriptors are back,
    not only after the next rebuild."""
    build_index(None, settings, show_progress=False)
    with SearchEngine(settings) as engine:
        engine._serving.retry_seconds = 0.2
        first = engine.generation.id
        rebuilt = rebuild_with_lighthouse(settings)
        with descriptors_left(2):
            assert total(engine, "harbour") == 1  # could not switch: still the first
        assert engine.generation.id == first
        wait_for(lambda: total(engine, "lighthouse") == 1, "the rebuilt generation", 10)
        assert engine.generation.id == rebuilt and total(engine, "harbour") == 0


def test_a_damaged_generation_is_refused_again_on_each_retry(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Retrying a damaged generation refuses it again and leaves the generation that
    answers, and its caches, as they were."""
    build_index(None, settings, show_progress=False)
    with SearchEngine(settings) as engine:
        engine._serving.retry_seconds = 0.05
        assert total(engine, "harbour") == 1
        serving = engine._serving._opened
        rebuilt = rebuild_with_lighthouse(settings)
        postings = next(generation_path(settings.index_dir, rebuilt).glob("*.pst"))
        with postings.open("r+b") as handle:
            handle.truncate(postings.stat().st_size - 1)
        with caplog.at_level(logging.WARNING, logger="searchsvc.search.serving"):
            assert total(engine, "harbour") == 1
            wait_for(
                lambda: total(engine, "harbour") == 1 and len(caplog.records) >= 3, "retries", 10
            )
        assert all(
            f"cannot switch to index generation {rebuilt}" in r.message for r in caplog.records
        )
        assert engine._serving._opened is serving


def test_the_lexicon_thread_leaves_one_idle_searcher_not_two(settings: Settings) -> None:
    """A request that came while the background thread read the lexicon opened its own
    searcher: the thread's is closed, not kept as a second one for good."""
    build_index(None, settings, show_progress=False)
    with SearchEngine(settings) as engine:
        with engine._serving.reading() as reading:
            snapshot = reading.snapshot
        background = snapshot.checkout()  # as the lexicon thread holds it
        with engine._serving.reading() as reading:
            assert reading.searcher is not background
            requests = reading.searcher
        snapshot.checkin(background, spare=False)
        assert snapshot._idle == [requests]
        assert background.is_closed and not requests.is_closed
        alone = snapshot.checkout()
        snapshot.checkin(alone, spare=False)  # no other idle searcher: this one is kept
        assert snapshot._idle == [alone] and not alone.is_closed
