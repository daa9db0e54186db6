"""The candidate pairs of copies stored with each commit: the groups a search makes of
them are exactly the groups worked out from scratch, after a build, adds, deletes,
replacements, merges and a rebuild; a damaged, foreign or missing pairs file is never
used."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_web_support import build_fixture_index, fixture_articles
from versions_support import COPIES, DIFFERENT_STORIES, STRIKE_STORY, as_article
from versions_support import versions_articles as strike_articles

from searchsvc.config import Settings
from searchsvc.index import build_index
from searchsvc.index.errors import IndexCorrupt
from searchsvc.index.generations import read_meta, write_meta
from searchsvc.index.opening import open_index
from searchsvc.index.updates import MAX_SEGMENTS_BEFORE_MERGE, delete_articles, update_articles
from searchsvc.index.versions import copy_pairs_name
from searchsvc.search import SearchEngine, SearchRequest
from searchsvc.search.collapse import (
    PAIRS_FILE,
    computed_labels,
    copy_pairs_path,
    stored_labels,
    version_groups,
)
from searchsvc.search.column_cache import SegmentArrays, write_cache
from searchsvc.search.copy_pairs import PAIRS_FILES

THRESHOLDS = (0.1, 0.5, 0.9)


def assert_stored_groups_are_computed_groups(settings: Settings) -> np.ndarray:
    """The stored pairs are there and give the from-scratch labels at every threshold;
    the labels at the default threshold."""
    with SearchEngine(settings) as engine, engine._serving.reading() as reading:
        live = reading.columns.live.mask
        for threshold in THRESHOLDS:
            stored = stored_labels(reading.searcher, live, threshold)
            assert stored is not None
            assert np.array_equal(stored, computed_labels(reading.searcher, live, threshold))
        return version_groups(reading, settings.versions_threshold).labels


def pairs_files(settings: Settings) -> list[Path]:
    with open_index(settings.index_dir) as opened:
        return sorted(opened.path.glob(PAIRS_FILES))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return build_fixture_index(tmp_path, [STRIKE_STORY, *DIFFERENT_STORIES])


def test_a_build_stores_its_pairs_and_the_manifest_lists_them(tmp_path: Path) -> None:
    settings = build_fixture_index(tmp_path, fixture_articles() + strike_articles())
    [path] = pairs_files(settings)
    with open_index(settings.index_dir) as opened:
        assert path.name in opened.meta["files"]
        assert opened.verify_files() is None
    labels = assert_stored_groups_are_computed_groups(settings)
    assert len(set(labels.tolist())) < len(labels)  # the strike's copies are one group


def test_adds_deletes_and_replacements_keep_the_groups_of_a_fresh_computation(
    settings: Settings,
) -> None:
    assert_stored_groups_are_computed_groups(settings)
    update_articles(settings, [as_article(copy) for copy in COPIES])
    labels = assert_stored_groups_are_computed_groups(settings)
    assert len(set(labels.tolist())) == len(labels) - len(COPIES)  # all four are one story
    delete_articles(settings, [STRIKE_STORY["id"]])
    assert_stored_groups_are_computed_groups(settings)
    replaced = {**DIFFERENT_STORIES[1], "id": COPIES[0]["id"]}
    update_articles(settings, [as_article(replaced)])
    assert_stored_groups_are_computed_groups(settings)
    assert len(pairs_files(settings)) == 1  # the files of earlier commits are gone


def test_pairs_carried_through_merged_segments_stay_exact(settings: Settings) -> None:
    """One article per commit until the commits merge segments: the pairs of merged and
    kept segments are renumbered, and a re-added copy finds its story again."""
    for copy in COPIES:
        update_articles(settings, [as_article(copy)])
        delete_articles(settings, [copy["id"]])
        update_articles(settings, [as_article(copy)])
    for number in range(MAX_SEGMENTS_BEFORE_MERGE):
        update_articles(settings, [as_article({**DIFFERENT_STORIES[0], "id": f"other-{number}"})])
    with open_index(settings.index_dir) as opened:
        assert len(opened.index._segments()) < 3 * len(COPIES) + MAX_SEGMENTS_BEFORE_MERGE
    labels = assert_stored_groups_are_computed_groups(settings)
    with SearchEngine(settings) as engine:
        assert len(engine.versions(STRIKE_STORY["id"])) == len(COPIES)
        assert len(engine.versions("other-0")) == MAX_SEGMENTS_BEFORE_MERGE
    assert len(set(labels.tolist())) < len(labels)


def test_a_rebuild_stores_the_pairs_of_its_own_segments(settings: Settings) -> None:
    update_articles(settings, [as_article(copy) for copy in COPIES])
    before = assert_stored_groups_are_computed_groups(settings)
    build_index(None, settings, show_progress=False)
    after = assert_stored_groups_are_computed_groups(settings)
    assert len(set(before.tolist())) == len(set(after.tolist()))


def flip_last_byte(path: Path) -> None:
    """Damage an agreement count: the groups would be wrong if the file were read."""
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_pairs_file_damaged_before_opening_is_refused_with_its_generation(
    settings: Settings,
) -> None:
    update_articles(settings, [as_article(copy) for copy in COPIES])
    [path] = pairs_files(settings)
    flip_last_byte(path)
    with pytest.raises(IndexCorrupt, match=path.name):
        open_index(settings.index_dir)


def test_a_pairs_file_damaged_while_serving_is_never_used(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    update_articles(settings, [as_article(copy) for copy in COPIES])
    [path] = pairs_files(settings)
    with SearchEngine(settings) as engine, engine._serving.reading() as reading:
        flip_last_byte(path)
        live = reading.columns.live.mask
        with caplog.at_level(logging.WARNING, logger="searchsvc.search.column_cache"):
            assert stored_labels(reading.searcher, live, 0.5) is None
        groups = version_groups(reading, 0.5)
        assert np.array_equal(groups.labels, computed_labels(reading.searcher, live, 0.5))
        assert groups.has_copies
    assert set(caplog.messages) == {
        f"the stored copy pairs {path} does not hold the bytes that were written "
        "(checksum differs); grouping copies from scratch"
    }


def test_a_pairs_file_cut_short_is_logged_as_the_stored_copy_pairs(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    [path] = pairs_files(settings)
    with SearchEngine(settings) as engine, engine._serving.reading() as reading:
        path.write_bytes(path.read_bytes()[:10])  # after opening, which compares sizes
        with caplog.at_level(logging.WARNING, logger="searchsvc.search.column_cache"):
            assert stored_labels(reading.searcher, reading.columns.live.mask, 0.5) is None
    assert caplog.messages == [
        f"the stored copy pairs {path} is cut short (10 bytes); grouping copies from scratch"
    ]


def test_pairs_that_cannot_be_written_are_logged_as_the_stored_copy_pairs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = "MAIN_segment:1"
    pairs = SegmentArrays({"first": np.zeros(1, dtype=np.uint32)}, {})
    missing = tmp_path / "no such folder" / copy_pairs_name(key)
    with caplog.at_level(logging.INFO, logger="searchsvc.search.column_cache"):
        assert not write_cache(missing, key, 1, pairs, PAIRS_FILE)
    [message] = caplog.messages
    assert message.startswith(f"cannot write the stored copy pairs {missing} (")
    assert message.endswith("); each serving process groups copies from scratch")


def test_a_pairs_file_of_other_segments_is_refused(settings: Settings, tmp_path: Path) -> None:
    """The previous commit's file put where the current commit's belongs."""
    [before] = pairs_files(settings)
    kept = tmp_path / "previous.pairs"
    shutil.copy(before, kept)
    update_articles(settings, [as_article(copy) for copy in COPIES])
    with SearchEngine(settings) as engine, engine._serving.reading() as reading:
        path = copy_pairs_path(reading.searcher)
        shutil.copy(kept, path)
        live = reading.columns.live.mask
        assert stored_labels(reading.searcher, live, 0.5) is None
        result = engine.search(SearchRequest(query="copper valparaiso"))
    assert [hit.versions for hit in result.hits if hit.id == STRIKE_STORY["id"]] == [3]


def test_a_generation_without_pairs_groups_from_scratch_and_updates_store_them(
    settings: Settings,
) -> None:
    """A generation built before pairs were stored: searches compute the groups, and the
    next update stores the pairs of its whole commit."""
    with open_index(settings.index_dir) as opened:
        meta = read_meta(opened.path)
        [path] = opened.path.glob(PAIRS_FILES)
        path.unlink()
        del meta["files"][path.name], meta["copy_pairs"]
        write_meta(opened.path, meta)
    with SearchEngine(settings) as engine, engine._serving.reading() as reading:
        assert stored_labels(reading.searcher, reading.columns.live.mask, 0.5) is None
        result = engine.search(SearchRequest(query="copper valparaiso"))
        assert result.total > 0
    update_articles(settings, [as_article(copy) for copy in COPIES])
    assert_stored_groups_are_computed_groups(settings)
    with open_index(settings.index_dir) as opened:
        assert read_meta(opened.path)["copy_pairs"]
