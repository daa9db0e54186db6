"""Incremental add, replace and delete by id, one writer at a time."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import json
import resource
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_index_support import (
    STORIES,
    generated_corpus,
    index_settings,
    story,
    write_corpus,
    write_jsonl,
)
from whoosh.filedb.filestore import FileStorage
from whoosh.qparser import QueryParser

from searchsvc.articles.model import Article, IngestReport
from searchsvc.articles.sources import read_articles
from searchsvc.index import BuildFailed, IndexCorrupt, WriterBusy, build_index, open_index
from searchsvc.index.build import build_generation, hold_build_lock
from searchsvc.index.codec import CompactCodec
from searchsvc.index.generations import write_meta
from searchsvc.index.schema import SCHEMA_VERSION
from searchsvc.index.updates import (
    SCRATCH_PREFIX,
    UpdateResult,
    add_sources,
    delete_articles,
    update_articles,
)
from searchsvc.search import SearchEngine, SearchRequest


@pytest.fixture
def settings(tmp_path: Path):
    settings = index_settings(tmp_path, writer_lock_timeout=0.3)
    build_index([write_corpus(tmp_path / "corpus")], settings)
    return settings


def ids_for(index_dir: Path, field: str, text: str) -> set[str]:
    with open_index(index_dir) as opened, opened.searcher() as searcher:
        query = QueryParser(field, opened.schema).parse(text)
        return {hit["id"] for hit in searcher.search(query, limit=None)}


def article(article_id: str, title: str, body: str) -> Article:
    return Article(id=article_id, title=title, body=body, date=dt.date(2024, 5, 1), source="Desk")


def test_add_is_visible_to_a_new_searcher(settings) -> None:
    result = update_articles(
        settings, [article("eclipse", "Eclipse seen", "Crowds watched the eclipses.")]
    )
    assert (result.added, result.replaced, result.article_count) == (1, 0, 5)
    assert ids_for(settings.index_dir, "body", "eclipse") == {"eclipse"}
    with open_index(settings.index_dir) as opened:
        assert opened.meta["updates"]["added"] == 1
        assert opened.meta["article_count"] == 5


@pytest.mark.parametrize("enabled", [True, False])
def test_an_update_leaves_the_cyclic_collector_as_it_found_it(settings, enabled: bool) -> None:
    """It is off while the update writes (see ``cyclic_collector_off``), also when the
    update fails."""
    (gc.enable if enabled else gc.disable)()
    try:
        update_articles(settings, [article("gull", "Gulls", "Gulls return.")])
        assert gc.isenabled() is enabled
        with pytest.raises(OSError, match="went away"):
            update_articles(settings, failing_after([article("tern", "Terns", "Terns.")]))
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


def failing_after(articles: list[Article]) -> Iterator[Article]:
    yield from articles
    raise OSError("the disk went away")


def test_updates_write_the_builds_codec(settings) -> None:
    update_articles(settings, [article("comet", "Comet seen", "A comet crossed the sky.")])
    with open_index(settings.index_dir) as opened, opened.index.reader() as reader:
        codecs = {type(leaf.codec()) for leaf, _offset in reader.leaf_readers()}
    assert codecs == {CompactCodec}


def answers(settings, queries: list[str]) -> list[tuple]:
    """Each query's total and ranked ids with their scores."""
    with SearchEngine(settings) as engine:
        results = [engine.search(SearchRequest(query=query, per_page=100)) for query in queries]
    return [(r.total, [(hit.id, round(hit.score, 9)) for hit in r.hits]) for r in results]


def test_added_articles_answer_as_a_build_of_them_does(tmp_path: Path) -> None:
    """An update writes its articles as a build does, in segments of at most
    ``segment_postings`` postings (the bound on its memory) merged into one, and the
    index then answers as one built from all the articles at once."""
    corpus = generated_corpus(tmp_path / "corpus", files=4, per_file=12)
    files = sorted(corpus.iterdir())
    built = index_settings(tmp_path / "built", corpus=str(corpus))
    build_index(None, built)
    updated = index_settings(tmp_path / "updated", segment_postings=600)
    build_index([files[0]], updated)
    added = read_articles(files[1:], IngestReport(), max_file_bytes=1 << 20)
    assert update_articles(updated, added).added == 36

    with open_index(updated.index_dir) as opened, opened.index.reader() as reader:
        sizes = [leaf.doc_count_all() for leaf, _offset in reader.leaf_readers()]
        assert sizes == [12, 36]  # written as several, merged into one
        assert not list(opened.path.glob(f"{SCRATCH_PREFIX}*"))
    queries = ["oil prices", "minister", "report 17", "harvest OR currency", "strike -court"]
    assert answers(updated, queries) == answers(built, queries)


def test_an_update_that_fails_midway_changes_nothing_and_leaves_nothing(tmp_path: Path) -> None:
    """Articles that stop coming with an error, after segments were written: the index
    answers as before, the scratch index is gone, and the next update goes through."""
    corpus = generated_corpus(tmp_path / "corpus", files=2, per_file=12)
    settings = index_settings(tmp_path, segment_postings=600)
    build_index([corpus / "part-000.jsonl"], settings)
    before = answers(settings, ["oil prices"])

    def broken() -> Iterator[Article]:
        yield from read_articles(
            [corpus / "part-001.jsonl"], IngestReport(), max_file_bytes=1 << 20
        )
        raise OSError("the disk went away")

    with open_index(settings.index_dir) as opened:
        files = generation_files(opened.path)
    with pytest.raises(OSError, match="went away"):
        update_articles(settings, broken())
    assert answers(settings, ["oil prices"]) == before
    with open_index(settings.index_dir) as opened:
        assert generation_files(opened.path) == files
    added = read_articles([corpus / "part-001.jsonl"], IngestReport(), max_file_bytes=1 << 20)
    assert update_articles(settings, added).article_count == 24


def added_from_files(settings, paths: list[Path], **options) -> tuple[UpdateResult, IngestReport]:
    report = IngestReport()
    return add_sources(settings, paths, report, **options), report


@pytest.mark.parametrize("procs", [1, 2])
def test_files_added_are_read_as_a_build_reads_them(tmp_path: Path, procs: int) -> None:
    """Files added are read by the build's workers, a big export in parts: the index then
    answers as one built from all the articles does, with one segment added. An id read
    twice keeps its version read last (here a long revision at the export's end, whose
    part is the biggest and so is written first), as the build keeps it."""
    corpus = generated_corpus(tmp_path / "corpus", files=4, per_file=12)
    files = sorted(corpus.iterdir())
    revision = story("gen-12", "Report 12 revised", "The harvest was revised. " * 400)
    export = write_jsonl(
        tmp_path / "export.jsonl",
        [*(json.loads(line) for f in files[1:] for line in f.read_text().splitlines()), revision],
    )
    built = index_settings(tmp_path / "built")
    build_generation(
        [files[0], export], built, list_files=lambda: [files[0], export], piece_bytes=4096
    )
    updated = index_settings(tmp_path / "updated", build_procs=procs, segment_postings=600)
    build_index([files[0]], updated)

    result, report = added_from_files(updated, [export], piece_bytes=4096)
    assert (result.added, result.replaced, result.article_count) == (36, 0, 48)
    assert report.articles == 37
    assert report.skipped == {"duplicate id": 1}
    with open_index(updated.index_dir) as opened, opened.index.reader() as reader:
        sizes = [leaf.doc_count() for leaf, _offset in reader.leaf_readers()]
        assert sizes == [12, 36]
        assert not list(opened.path.glob(f"{SCRATCH_PREFIX}*"))
    assert ids_for(updated.index_dir, "title", "revised") == {"gen-12"}
    queries = ["oil prices", "minister", "report 17", "harvest OR currency", "strike -court"]
    assert answers(updated, queries) == answers(built, queries)

    again, _ = added_from_files(updated, [files[1]])  # the revision's original, and 11 as added
    assert (again.added, again.replaced, again.unchanged, again.article_count) == (0, 1, 11, 48)
    assert ids_for(updated.index_dir, "title", "revised") == set()
    with open_index(updated.index_dir) as opened, opened.index.reader() as reader:
        assert [leaf.doc_count() for leaf, _offset in reader.leaf_readers()] == [12, 35, 1]
        meta = opened.meta
    assert added_from_files(updated, [files[1]])[0].unchanged == 12
    with open_index(updated.index_dir) as opened:
        assert opened.meta == meta

    (tmp_path / "empty.jsonl").write_text("\n")
    nothing, report = added_from_files(updated, [tmp_path / "empty.jsonl"])
    assert (nothing.added, nothing.article_count, report.skipped) == (0, 48, {"empty file": 1})
    with open_index(updated.index_dir) as opened:
        assert not list(opened.path.glob(f"{SCRATCH_PREFIX}*"))


COCOA_REVISED = {**STORIES[2], "body": "Cocoa futures fell as rain returned to Ivory Coast."}
ECLIPSE = story("eclipse", "Eclipse", "An eclipse was seen.")


@pytest.mark.parametrize("procs", [1, 2])
@pytest.mark.parametrize(
    ("first", "second", "outcome"),
    [
        ([COCOA_REVISED, ECLIPSE], [STORIES[2]], "unchanged"),  # the indexed one read last
        ([STORIES[2], ECLIPSE], [COCOA_REVISED], "replaced"),
        ([COCOA_REVISED, ECLIPSE, STORIES[2]], [], "unchanged"),  # in one file
        ([STORIES[2], ECLIPSE, COCOA_REVISED], [], "replaced"),
    ],
)
def test_an_article_added_as_the_index_holds_it_is_left_out_where_it_is_read_last(
    tmp_path: Path, settings, procs: int, first: list, second: list, outcome: str
) -> None:
    """Workers leave out what the index holds as it is; whether the copy of an id kept
    is the one left out or one written depends on which was read last, as in a build,
    across files and workers and within a file. The other copies are duplicates."""
    write_jsonl(tmp_path / "add" / "a.jsonl", first)
    if second:
        write_jsonl(tmp_path / "add" / "b.jsonl", second)
    added, report = added_from_files(settings.replace(build_procs=procs), [tmp_path / "add"])
    counts = {"added": added.added, "replaced": added.replaced, "unchanged": added.unchanged}
    assert counts == {"added": 1, "replaced": 0, "unchanged": 0, outcome: 1}
    assert report.skipped == {"duplicate id": 1}
    kept = "rain" if outcome == "replaced" else "traders"  # a word of the version kept
    assert (ids_for(settings.index_dir, "body", kept), added.article_count) == ({"cocoa"}, 5)


def test_a_copy_left_out_is_placed_among_its_own_workers_documents(tmp_path, settings):
    """The bigger file goes to a worker first; where the other worker reads the smaller
    one, its documents follow the first worker's in the new segment, and the copy it left
    out must be placed after them too (that worker's documents numbered from its first)."""
    fillers = [story(f"tide-{n}", f"Tide table {n}", "High water at noon. " * 40) for n in range(8)]
    write_jsonl(tmp_path / "add" / "a.jsonl", fillers)
    write_jsonl(tmp_path / "add" / "b.jsonl", [COCOA_REVISED, ECLIPSE, STORIES[2]])
    added, report = added_from_files(settings.replace(build_procs=2), [tmp_path / "add"])
    assert (added.added, added.replaced, added.unchanged) == (9, 0, 1)
    assert report.skipped == {"duplicate id": 1}
    assert ids_for(settings.index_dir, "body", "traders") == {"cocoa"}


def test_files_added_on_a_full_disk_change_nothing_and_leave_nothing(tmp_path: Path) -> None:
    """The disk fills while the workers write (a real limit on file sizes, which fails a
    write as a full disk does): one line says so, the index answers as before, the
    scratch index is gone, and the same files go in once there is room."""
    corpus = generated_corpus(tmp_path / "corpus", files=3, per_file=40)
    settings = index_settings(tmp_path)
    build_index([corpus / "part-000.jsonl"], settings)
    before = answers(settings, ["oil prices"])
    added = [corpus / "part-001.jsonl", corpus / "part-002.jsonl"]
    with file_size_limit(20_000), pytest.raises(BuildFailed) as failed:
        added_from_files(settings, added)
    assert str(failed.value).startswith(f"not enough disk space in {settings.index_dir}: ")
    assert "\n" not in str(failed.value)
    assert answers(settings, ["oil prices"]) == before
    with open_index(settings.index_dir) as opened:
        assert not list(opened.path.glob(f"{SCRATCH_PREFIX}*"))
    assert added_from_files(settings, added)[0].article_count == 120


@contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Writes past ``limit`` bytes of a file fail with EFBIG (the signal that would end the
    process is ignored meanwhile)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def test_updating_an_index_of_an_older_schema_version_records_this_one(settings) -> None:
    """The commit writes this version's postings blocks, which a program that reads only
    the older version must refuse."""
    with open_index(settings.index_dir) as opened:
        meta = dict(opened.meta, schema_version=2)
        write_meta(opened.path, meta)
    with open_index(settings.index_dir) as opened:
        assert opened.meta["schema_version"] == 2
    update_articles(settings, [article("comet", "Comet seen", "A comet crossed the sky.")])
    with open_index(settings.index_dir) as opened:
        assert opened.meta["schema_version"] == SCHEMA_VERSION == 4
    assert ids_for(settings.index_dir, "body", "comet") == {"comet"}


def test_replace_by_id_drops_the_old_text(settings) -> None:
    result = update_articles(
        settings, [article("cocoa", "Cocoa prices fall", "Cocoa fell on lighter demand.")]
    )
    assert (result.added, result.replaced, result.article_count) == (0, 1, 4)
    assert ids_for(settings.index_dir, "body", "lighter") == {"cocoa"}
    assert ids_for(settings.index_dir, "body", "traders") == set()


def test_repeated_id_in_one_batch_keeps_the_last(settings) -> None:
    batch = [
        article("twice", "First", "Alpha text."),
        article("twice", "Second", "Omega text."),
    ]
    result = update_articles(settings, batch)
    assert result.article_count == 5
    assert ids_for(settings.index_dir, "id", "twice") == {"twice"}
    assert ids_for(settings.index_dir, "body", "omega") == {"twice"}
    assert ids_for(settings.index_dir, "body", "alpha") == set()


def generation_files(gen_dir: Path) -> list[str]:
    """The generation's files, the writer's lock file aside (any update leaves it)."""
    return sorted(path.name for path in gen_dir.iterdir() if not path.name.endswith("WRITELOCK"))


def corpus_articles(corpus: Path) -> list[Article]:
    """The articles a build of ``corpus`` indexed, read again."""
    return list(read_articles([corpus], IngestReport(), max_file_bytes=10**7))


def test_articles_given_as_the_index_holds_them_are_left_as_they_are(tmp_path, settings) -> None:
    """Places, dates, sources and accented text alike: the stored record gives back each
    article's digest, so nothing is written and nothing committed."""
    articles = corpus_articles(tmp_path / "corpus")
    with open_index(settings.index_dir) as opened:
        meta, files = opened.meta, generation_files(opened.path)
    result = update_articles(settings, articles)
    assert (result.added, result.replaced, result.unchanged, result.article_count) == (0, 0, 4, 4)
    with open_index(settings.index_dir) as opened:
        assert (opened.meta, generation_files(opened.path)) == (meta, files)

    khojaly = next(a for a in articles if a.id == "khojaly")
    assert khojaly.dateline_place is not None and khojaly.date is not None
    moved = dataclasses.replace(khojaly, dateline_place=None)  # the same text, placed apart
    retitled = dataclasses.replace(articles[1], title=articles[1].title + " again")
    result = update_articles(settings, [moved, retitled, *articles[2:]])
    assert (result.added, result.replaced, result.unchanged) == (0, 2, 2)
    assert ids_for(settings.index_dir, "title", "again") == {articles[1].id}
    with open_index(settings.index_dir) as opened, opened.searcher() as searcher:
        stored = searcher.stored_fields(searcher.document_number(id="khojaly"))
        assert stored["article"]["dateline_place"] is None


def test_a_repeated_id_whose_last_version_is_the_indexed_one_ends_as_it(tmp_path, settings):
    """Only an id's first time in a batch is compared with the index: its last version
    is what the index ends with, even when that is the version it held."""
    cocoa = next(a for a in corpus_articles(tmp_path / "corpus") if a.id == "cocoa")
    revised = dataclasses.replace(cocoa, body="Cocoa fell on lighter demand.")
    result = update_articles(settings, [revised, cocoa])
    assert (result.replaced, result.unchanged, result.article_count) == (2, 0, 4)
    assert ids_for(settings.index_dir, "body", "traders") == {"cocoa"}
    assert ids_for(settings.index_dir, "body", "lighter") == set()


def test_delete_by_id(settings) -> None:
    result = delete_articles(settings, ["volcano", "no-such-id"])
    assert (result.deleted, result.article_count) == (1, 3)
    assert ids_for(settings.index_dir, "body", "volcano") == set()
    with open_index(settings.index_dir) as opened:
        meta, files = opened.meta, generation_files(opened.path)
    assert delete_articles(settings, ["volcano", "no-such-id"]).deleted == 0
    with open_index(settings.index_dir) as opened:  # nothing committed
        assert (opened.meta, generation_files(opened.path)) == (meta, files)


def test_open_index_sees_commits_through_new_searchers(settings) -> None:
    with open_index(settings.index_dir) as opened:
        delete_articles(settings, ["zurich"])
        with opened.searcher() as searcher:
            assert searcher.document_number(id="zurich") is None


def test_busy_writer_gives_a_clear_error(settings) -> None:
    with open_index(settings.index_dir) as opened:
        held = FileStorage(str(opened.path)).open_index("MAIN").writer()
    try:
        with pytest.raises(WriterBusy, match=r"stayed locked for 0\.3 s"):
            delete_articles(settings, ["cocoa"])
    finally:
        held.cancel()
    assert delete_articles(settings, ["cocoa"]).deleted == 1


def test_updates_wait_for_a_running_build(settings) -> None:
    with hold_build_lock(settings.index_dir), pytest.raises(WriterBusy, match="try again"):
        update_articles(settings, [article("late", "Late", "Late text.")])
    assert ids_for(settings.index_dir, "id", "late") == set()


@pytest.mark.slow
def test_opening_and_verifying_beside_commits_never_finds_damage(settings) -> None:
    """An update that commits while the index is being opened (a server starting, or
    switching to a rebuild, beside a watch) removes the older commit's table of contents:
    that is not damage. Neither opening nor a full check may refuse the generation."""
    stop = threading.Event()
    commits = []

    def commit_updates() -> None:
        while not stop.is_set() and len(commits) < 2000:
            commits.append(
                update_articles(settings, [article(f"tide-{len(commits)}", "Tide", "High tide.")])
            )

    writer = threading.Thread(target=commit_updates)
    writer.start()
    refused = []
    try:
        for attempt in range(300):
            try:
                with open_index(settings.index_dir) as opened:
                    if opened.fallback_from is not None:
                        refused.append(("fallback", attempt))
                    if attempt % 10 == 0 and opened.verify_files() is not None:
                        refused.append(("verify", attempt))
            except IndexCorrupt as error:
                refused.append((str(error), attempt))
    finally:
        stop.set()
        writer.join(timeout=60)
    assert len(commits) > 20  # the opens did run beside commits
    assert refused == []
