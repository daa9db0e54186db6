"""Opening the serving generation: clear errors, fallback, and safe cleanup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_index_support import index_settings, write_corpus

from searchsvc.index import (
    AnalyzerMismatch,
    IndexCorrupt,
    IndexNotFound,
    IndexOutdated,
    build_index,
    open_index,
)
from searchsvc.index.generations import (
    GenerationLock,
    complete_generations,
    generation_path,
    remove_stale_generations,
)
from searchsvc.index.schema import SCHEMA_VERSION


def two_generations(tmp_path: Path) -> tuple[Path, str, str]:
    settings = index_settings(tmp_path)
    corpus = write_corpus(tmp_path / "corpus")
    older = build_index([corpus], settings).generation
    newer = build_index([corpus], settings).generation
    return settings.index_dir, older, newer


def test_no_index_yet(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound, match="run `searchsvc build-index`"):
        open_index(tmp_path / "index")


def test_truncated_current_generation_falls_back_to_the_previous(tmp_path: Path) -> None:
    index_dir, older, newer = two_generations(tmp_path)
    for toc in generation_path(index_dir, newer).glob("*.toc"):
        toc.write_bytes(toc.read_bytes()[:20])
    with open_index(index_dir) as opened:
        assert opened.generation == older
        assert opened.fallback_from == newer
        assert opened.doc_count() == 4


def test_truncated_segment_falls_back_too(tmp_path: Path) -> None:
    index_dir, older, newer = two_generations(tmp_path)
    for stored in generation_path(index_dir, newer).glob("*.col"):
        stored.write_bytes(b"")
    with open_index(index_dir) as opened:
        assert (opened.generation, opened.fallback_from) == (older, newer)


def test_corrupt_without_fallback_is_a_clear_error(tmp_path: Path) -> None:
    settings = index_settings(tmp_path)
    only = build_index([write_corpus(tmp_path / "corpus")], settings).generation
    for toc in generation_path(settings.index_dir, only).glob("*.toc"):
        toc.unlink()
    with pytest.raises(IndexCorrupt, match=f"{only}.*cannot be read"):
        open_index(settings.index_dir)


def test_index_built_with_other_analysis_must_be_rebuilt(tmp_path: Path) -> None:
    index_dir, _older, newer = two_generations(tmp_path)
    meta_path = generation_path(index_dir, newer) / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["analysis"]["stopwords_sha256"] = "0000"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(AnalyzerMismatch, match="rebuild it with `searchsvc build-index`"):
        open_index(index_dir)


@pytest.mark.parametrize(
    ("version", "opens"), [(2, True), (3, True), (4, True), (1, False), (5, False)]
)
def test_indexes_of_the_schema_versions_this_version_reads_open(
    tmp_path: Path, version: int, opens: bool
) -> None:
    """Versions 2 (postings blocks compressed whole) and 3 (no stored feedback terms) are
    still read; an index of a version this program does not know, older or newer, is
    refused with a clear error."""
    settings = index_settings(tmp_path)
    only = build_index([write_corpus(tmp_path / "corpus")], settings).generation
    meta_path = generation_path(settings.index_dir, only) / "meta.json"
    meta = json.loads(meta_path.read_text())
    assert meta["schema_version"] == SCHEMA_VERSION
    meta["schema_version"] = version
    meta_path.write_text(json.dumps(meta))
    if opens:
        with open_index(settings.index_dir) as opened:
            assert opened.doc_count() == 4
    else:
        with pytest.raises(IndexOutdated, match=f"schema version {version}, this version reads"):
            open_index(settings.index_dir)


def test_cleanup_skips_generations_in_use(tmp_path: Path) -> None:
    index_dir, older, newer = two_generations(tmp_path)
    leftover = generation_path(index_dir, "20000101T000000.000000-dead00")
    leftover.mkdir()
    (leftover / "partial.seg").write_bytes(b"x")
    in_use = generation_path(index_dir, "20000101T000000.000000-busy00")
    in_use.mkdir()
    lock = GenerationLock(index_dir, in_use.name)
    lock.acquire_shared()
    try:
        assert remove_stale_generations(index_dir) == [leftover.name]
        assert in_use.is_dir()
    finally:
        lock.release()
    assert remove_stale_generations(index_dir) == [in_use.name]
    assert complete_generations(index_dir) == [older, newer]
