"""The query cache's budget counts the bytes its values really hold, growth included."""

from __future__ import annotations

import mmap
from collections import Counter
from pathlib import Path

import numpy as np
from test_search_corpus import corpus_settings

from searchsvc.search import SearchEngine, SearchRequest
from searchsvc.search.cache import SizedCache, size_in_bytes
from searchsvc.search.collapse import version_groups
from searchsvc.search.docsets import DocSet
from searchsvc.search.ranking import TermScores
from searchsvc.search.snapshot import Reading

MiB = 2**20


def test_arrays_count_their_buffers_once() -> None:
    big = np.zeros(MiB, dtype=np.uint8)
    alone = size_in_bytes(big)
    assert MiB <= alone < MiB + 1000
    # Two views of one buffer hold it once; a view alone still keeps its whole buffer.
    assert size_in_bytes((big[:10], big[10:])) < alone + 1000
    assert size_in_bytes(big[:10]) >= MiB


def test_python_objects_count_what_they_hold() -> None:
    words = Counter({f"word{number}": number for number in range(1000)})
    # Each entry is a string and an int beside the table: far more than a guess per entry.
    assert size_in_bytes(words) > 1000 * (50 + 28)
    scores = TermScores(np.arange(100), np.ones(100), 1.5)
    assert size_in_bytes(scores) > scores.ids.nbytes + scores.scores.nbytes


def test_pages_of_a_mapped_file_count_nothing(tmp_path: Path) -> None:
    path = tmp_path / "values"
    path.write_bytes(bytes(MiB))
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m:
        mapped = np.frombuffer(m, dtype=np.uint8)
        assert size_in_bytes(mapped) < 1000
        del mapped


def test_the_budget_holds_in_measured_bytes_least_recent_first() -> None:
    cache: SizedCache[np.ndarray] = SizedCache(budget=3 * MiB)
    for key in "abc":
        cache.put(key, np.zeros(MiB - 10_000, dtype=np.uint8))
    assert cache.get("a") is not None  # now the most recent
    cache.put("d", np.zeros(MiB - 10_000, dtype=np.uint8))
    assert cache.get("b") is None
    assert all(cache.get(key) is not None for key in "acd")
    assert cache.used <= cache.budget
    assert cache.used == sum(size_in_bytes(cache.get(key)) for key in "acd")


def test_a_value_too_big_for_the_budget_is_returned_not_kept() -> None:
    cache: SizedCache[np.ndarray] = SizedCache(budget=MiB)
    value = np.zeros(2 * MiB, dtype=np.uint8)
    assert cache.put("big", value) is value
    assert cache.get("big") is None
    assert cache.used == 0


def test_a_value_that_grows_after_caching_is_counted_at_its_next_read() -> None:
    size = 1_000_000
    cache: SizedCache[DocSet] = SizedCache(budget=11 * MiB)
    everything = DocSet(np.ones(size, dtype=bool))  # lists its members on first use
    cache.put("all", everything)
    cache.put("other", DocSet(np.zeros(size, dtype=bool)))
    before = cache.used
    assert len(everything.ids) == size  # 8 MB of docnums the cache has not seen yet
    assert cache.get("all") is everything
    assert cache.used == before + everything.ids.nbytes
    cache.put("more", np.zeros(2 * MiB, dtype=np.uint8))  # over budget: the oldest goes
    assert cache.get("other") is None
    assert cache.get("all") is everything
    assert cache.used <= cache.budget


def test_a_searching_engine_keeps_its_cache_within_budget(tmp_path_factory) -> None:
    budget = 64 * 1024
    settings = corpus_settings(tmp_path_factory)
    with SearchEngine(settings) as engine:
        engine._serving.cache_bytes = budget
        for query in ("bank", "oil prices", '"central bank"', "bank*", "aniversary", "wheat"):
            engine.search(SearchRequest(query=query))
        cache = engine._serving._current().cache
        assert len(cache) > 0
        assert cache.used <= budget


def test_copy_groups_outlast_a_query_whose_postings_fill_the_cache(tmp_path_factory) -> None:
    """The groups of copies take seconds to work out at a million articles: one query
    with long postings must not make the next one pay for them again."""
    with SearchEngine(corpus_settings(tmp_path_factory)) as engine:
        engine.search(SearchRequest(query="bank"))
        snapshot = engine._serving._current()
        searcher = snapshot.checkout()
        try:
            reading = Reading(snapshot, searcher)
            groups = version_groups(reading, 0.4)
            for number in range(4):
                flood = np.zeros(snapshot.cache.budget // 2, dtype=np.uint8)
                snapshot.cache.put(("postings", "body", f"word{number}"), flood)
            assert version_groups(reading, 0.4) is groups
        finally:
            snapshot.checkin(searcher)
