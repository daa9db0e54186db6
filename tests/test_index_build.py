"""Full builds: the schema's contents, generations, verification, concurrency."""

from __future__ import annotations

import datetime as dt
import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_index_support import STORIES, index_settings, story, write_corpus, write_jsonl
from whoosh.qparser import QueryParser
from whoosh.query import DateRange, Term

from searchsvc.articles.batches import BATCH_ARTICLES
from searchsvc.index import (
    BuildFailed,
    BuildInProgress,
    BuildResult,
    build_index,
    open_index,
    read_build_status,
    read_current,
)
from searchsvc.index.build import build_generation, hold_build_lock
from searchsvc.index.generations import complete_generations, generations_dir
from searchsvc.index.verify import ReadingOrder
from searchsvc.index.versions import signature


@pytest.fixture
def built(tmp_path: Path):
    settings = index_settings(tmp_path)
    result = build_index([write_corpus(tmp_path / "corpus")], settings)
    with open_index(settings.index_dir) as opened:
        yield result, opened


def search_ids(opened, field: str, text: str) -> set[str]:
    query = QueryParser(field, opened.schema).parse(text)
    with opened.searcher() as searcher:
        return {hit["id"] for hit in searcher.search(query, limit=None)}


@pytest.mark.parametrize(
    ("field", "query", "expected"),
    [
        ("body", "massacre", {"khojaly"}),
        ("title", "massacre", {"khojaly"}),
        ("body", "commemorate", {"khojaly"}),
        ("body_words", "commemorated", {"khojaly"}),
        ("body_words", "commemorate", set()),
        ("body", "zurich", {"zurich"}),
        ("title", "Zürich", {"zurich"}),
        ("body", "us", {"cocoa", "zurich"}),
        ("body", "may", {"volcano"}),
        ("body", '"new york"', {"cocoa"}),
        ("body", '"york new"', set()),
        ("body_words", '"erupted near grindavik"', {"volcano"}),
        ("place_name", "baku", {"khojaly"}),
        ("source", "reuters", {"cocoa", "zurich"}),
        ("id", "cocoa", {"cocoa"}),
    ],
)
def test_built_index_answers(built, field: str, query: str, expected: set[str]) -> None:
    _, opened = built
    assert search_ids(opened, field, query) == expected


def test_facet_fields_and_columns(built) -> None:
    _, opened = built
    with opened.searcher() as searcher:
        reader = searcher.reader()
        docnum = searcher.document_number(id="khojaly")
        place = reader.column_reader("place")[docnum]
        assert place.startswith(("geo:", "raw:"))
        keys = reader.column_reader("places_column")[docnum].decode().split()
        assert keys[0] == place
        assert searcher.search(Term("places", place), limit=None).docs() == {docnum}
        assert reader.column_reader("source")[docnum] == "mina"
        day = dt.datetime(2024, 2, 26)
        assert docnum in searcher.search(DateRange("date", day, day), limit=None).docs()
        assert not reader.has_column("date")  # date_ordinal is the one date column
        ordinal = reader.column_reader("date_ordinal")[docnum]
        assert dt.date.fromordinal(ordinal) == dt.date(2024, 2, 26)
        undated = searcher.document_number(id="zurich")
        assert reader.column_reader("date_ordinal")[undated] == 0
        stored = searcher.stored_fields(docnum)
    assert stored["title"] == STORIES[0]["title"]
    assert stored["body"].startswith("Azerbaijan on Monday")
    article = stored["article"]
    assert article["source"] == "MINA"
    assert article["date"] == "2024-02-26"
    assert article["dateline_place"]["key"] == place
    assert article["format"] == "jsonl"


def test_each_article_keeps_its_own_copy_signature(tmp_path: Path) -> None:
    """Workers make signatures a batch at a time: over several batches (articles without
    words among them), each document's column holds its own article's signature."""
    records = [
        story(f"s{number}", f"Harvest report {number}", " ".join(["wheat"] * (number % 7)))
        for number in range(2 * BATCH_ARTICLES + 5)
    ]
    settings = index_settings(tmp_path)
    build_index([write_corpus(tmp_path / "corpus", records)], settings)
    with open_index(settings.index_dir) as opened, opened.searcher() as searcher:
        column = searcher.reader().column_reader("versions")
        for docnum, stored in searcher.reader().iter_docs():
            assert column[docnum] == signature(stored["title"], stored["body"])


def test_highlighting_uses_the_stored_text(built) -> None:
    _, opened = built
    query = QueryParser("body", opened.schema).parse("commemorate")
    with opened.searcher() as searcher:
        hit = searcher.search(query)[0]
        assert "<b" in hit.highlights("body") and "commemorated</b>" in hit.highlights("body")


def test_build_result_and_metadata(built, tmp_path: Path) -> None:
    result, opened = built
    assert result.article_count == len(STORIES) == opened.doc_count()
    assert result.generation == opened.generation == read_current(tmp_path / "index")
    assert result.report.articles == len(STORIES)
    assert "articles indexed: 4" in result.format_text()
    assert opened.meta["article_count"] == 4
    assert opened.meta["sources"] == [str(tmp_path / "corpus")]
    assert opened.meta["source_files"] == 1  # the one stories.jsonl, not the index's files
    assert opened.meta["analysis"]["stemmer"]
    status = read_build_status(tmp_path / "index")
    assert status["state"] == "idle"
    assert status["done"] == 4
    assert status["report"]["articles"] == 4


def test_parallel_build_matches_single_process_build(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    for number, record in enumerate(STORIES):
        write_jsonl(corpus / f"part-{number}.jsonl", [record])
    one = build_index([corpus], index_settings(tmp_path / "one"))
    two = build_index([corpus], index_settings(tmp_path / "two", build_procs=2))
    assert two.meta["procs"] == 2
    with open_index(tmp_path / "one" / "index") as a, open_index(tmp_path / "two" / "index") as b:
        for field, query in [("body", "massacre"), ("body", "us"), ("title", "cocoa")]:
            assert search_ids(a, field, query) == search_ids(b, field, query)
    assert one.article_count == two.article_count == 4


def test_duplicate_ids_keep_one_article_and_are_reported(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_jsonl(corpus / "a.jsonl", [story("same", "First version", "An old text.")])
    write_jsonl(corpus / "b.jsonl", [story("same", "Second version", "A new text.")])
    result = build_index([corpus], index_settings(tmp_path))
    assert result.article_count == 1
    assert result.duplicates_removed == 1
    assert result.report.skipped["duplicate id"] == 1


def test_rebuild_switches_and_keeps_one_fallback(tmp_path: Path) -> None:
    settings = index_settings(tmp_path)
    corpus = write_corpus(tmp_path / "corpus")
    names = [build_index([corpus], settings).generation for _ in range(3)]
    assert read_current(settings.index_dir) == names[-1]
    assert complete_generations(settings.index_dir) == names[-2:]
    leftovers = sorted(p.name for p in generations_dir(settings.index_dir).iterdir())
    assert leftovers == sorted([*names[-2:], *(f"{n}.lock" for n in names[-2:])])


def test_second_build_fails_fast_while_one_runs(tmp_path: Path) -> None:
    settings = index_settings(tmp_path)
    corpus = write_corpus(tmp_path / "corpus")
    settings.index_dir.mkdir()
    (settings.index_dir / "build-status.json").write_text(
        json.dumps({"state": "building", "pid": 1, "done": 7, "started_at": "earlier"})
    )
    with hold_build_lock(settings.index_dir), pytest.raises(BuildInProgress) as caught:
        build_index([corpus], settings)
    assert "pid 1" in str(caught.value) and "7 articles" in str(caught.value)
    assert read_current(settings.index_dir) is None


def test_missing_source_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BuildFailed, match="source not found"):
        build_index([tmp_path / "nowhere"], index_settings(tmp_path))


def test_build_that_reads_nothing_keeps_previous_generation(tmp_path: Path) -> None:
    settings = index_settings(tmp_path)
    corpus = write_corpus(tmp_path / "corpus")
    good = build_index([corpus], settings).generation
    with pytest.raises(BuildFailed, match="no articles") as caught:
        build_index([corpus], settings.replace(max_file_bytes=1))  # every line too long
    assert "JSON line too long: 4" in str(caught.value)
    assert read_current(settings.index_dir) == good
    assert complete_generations(settings.index_dir) == [good]
    assert read_build_status(settings.index_dir)["state"] == "failed"


@pytest.mark.parametrize("procs", [1, 2])
def test_crashing_build_leaves_previous_generation_serving(tmp_path: Path, procs: int) -> None:
    settings = index_settings(tmp_path, build_procs=procs)
    corpus = write_corpus(tmp_path / "corpus")
    write_jsonl(corpus / "more.jsonl", STORIES[:1])
    good = build_index([corpus], settings).generation
    with pytest.raises(BuildFailed, match="reader broke"):
        build_generation(
            [corpus],
            settings,
            list_files=lambda: sorted(corpus.iterdir()),
            read_file="test_index_support:breaking_reader",
        )
    assert read_current(settings.index_dir) == good
    assert sorted(p.name for p in generations_dir(settings.index_dir).iterdir()) == [
        good,
        f"{good}.lock",
    ]
    status = read_build_status(settings.index_dir)
    assert status["state"] == "failed" and "reader broke" in status["error"]
    assert search_ids_in(settings.index_dir, "body", "volcano") == {"volcano"}


def big_export(corpus: Path, count: int) -> Path:
    """A JSON Lines export of ``count`` stories with one broken line in the middle."""
    records = [
        story(f"cms-{k}", f"Story {k} from the archive", f"Archive text number {k} about trade.")
        for k in range(count)
    ]
    path = write_jsonl(corpus / "export.jsonl", records)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[count // 2] = '{"id": "broken", "body": "cut off\n'
    path.write_text("".join(lines), encoding="utf-8")
    return path


def stored_articles(index_dir: Path) -> list[tuple[str, str]]:
    with open_index(index_dir) as opened, opened.searcher() as searcher:
        return sorted((f["id"], f["article"]["origin"]) for f in searcher.all_stored_fields())


def test_big_export_is_read_in_parts_by_every_worker(tmp_path: Path) -> None:
    """Over the size cap, cut in parts: all of it indexed, the same with 1 and 2 workers."""
    corpus = tmp_path / "corpus"
    export = big_export(corpus, 400)
    (corpus / "wire.txt").write_text("Too big\n\n" + "Wire text. " * 400, encoding="utf-8")
    assert export.stat().st_size > 8 * 4096
    results = {}
    for procs in (1, 2):
        settings = index_settings(tmp_path / f"p{procs}", build_procs=procs, max_file_bytes=4096)
        results[procs] = build_generation(
            [corpus],
            settings,
            list_files=lambda: sorted(corpus.iterdir()),
            piece_bytes=4096,
        )
    one, two = results[1], results[2]
    assert one.meta["work_units"] == two.meta["work_units"] > 8
    assert one.article_count == two.article_count == 399
    assert one.report.to_dict() == two.report.to_dict()
    assert one.report.files == 2
    assert one.report.skipped == {"malformed JSON line": 1, "file too large": 1}
    assert one.report.examples["malformed JSON line"] == [f"{export}:201"]
    articles = stored_articles(tmp_path / "p1" / "index")
    assert articles == stored_articles(tmp_path / "p2" / "index")
    assert ("cms-399", f"{export}:400") in articles


def stored_titles(index_dir: Path) -> dict[str, str]:
    with open_index(index_dir) as opened, opened.searcher() as searcher:
        return {fields["id"]: fields["title"] for fields in searcher.all_stored_fields()}


def harbour_notices(count: int) -> list[dict[str, str]]:
    return [
        story(f"notice-{n}", f"Harbour notice {n}", "Ships wait outside the harbour. " * 20)
        for n in range(count)
    ]


@pytest.mark.parametrize("procs", [1, 2])
def test_a_repeated_id_keeps_the_article_read_last(tmp_path: Path, procs: int) -> None:
    """Files are read in name order and lines in file order, and the last version read
    is kept, as an export's later revision replaces the earlier one. Units of work are
    handed out biggest first: here the later file, so its articles are written first."""
    corpus = tmp_path / "corpus"
    write_jsonl(corpus / "a.jsonl", [story("same", "First version", "An old text.")])
    write_jsonl(
        corpus / "b.jsonl",
        [
            story("same", "Second version", "A new text."),
            story("again", "Draft", "Early text."),
            *harbour_notices(30),
            story("again", "Final", "Corrected text."),
        ],
    )
    result = build_index([corpus], index_settings(tmp_path, build_procs=procs))
    assert result.meta["procs"] == procs
    assert (result.article_count, result.duplicates_removed) == (32, 2)
    assert result.report.skipped["duplicate id"] == 2
    titles = stored_titles(tmp_path / "index")
    assert (titles["same"], titles["again"]) == ("Second version", "Final")


def build_in_parts(corpus: Path, tmp_path: Path, procs: int) -> BuildResult:
    """A build of ``corpus`` that cuts its exports in parts of 4 KiB."""
    result = build_generation(
        [corpus],
        index_settings(tmp_path, build_procs=procs),
        list_files=lambda: sorted(corpus.iterdir()),
        piece_bytes=4096,
    )
    assert result.meta["work_units"] > 3
    return result


@pytest.mark.parametrize("procs", [1, 2])
def test_a_revision_at_the_end_of_a_big_export_replaces_the_first_version(
    tmp_path: Path, procs: int
) -> None:
    """A big export is read in parts, biggest first: here the last part, which holds a
    long revision of the export's first article."""
    corpus = tmp_path / "corpus"
    write_jsonl(
        corpus / "export.jsonl",
        [
            story("lead", "Port closed", "The port is closed."),
            *harbour_notices(40),
            story("lead", "Port reopens", "The port reopens after the storm. " * 400),
        ],
    )
    result = build_in_parts(corpus, tmp_path, procs)
    assert (result.article_count, result.duplicates_removed) == (41, 1)
    assert stored_titles(tmp_path / "index")["lead"] == "Port reopens"


@pytest.mark.parametrize("procs", [1, 2])
def test_a_file_read_after_a_big_export_revises_its_last_part(tmp_path: Path, procs: int) -> None:
    """The parts of a big export keep their places in the reading order, and the next
    file comes after all of them."""
    corpus = tmp_path / "corpus"
    write_jsonl(
        corpus / "a-export.jsonl",
        [*harbour_notices(40), story("tail", "Draft", "Early text.")],
    )
    write_jsonl(corpus / "b-fixes.jsonl", [story("tail", "Final", "Corrected text.")])
    result = build_in_parts(corpus, tmp_path, procs)
    assert (result.article_count, result.duplicates_removed) == (41, 1)
    assert stored_titles(tmp_path / "index")["tail"] == "Final"


@pytest.mark.parametrize("procs", [1, 2])
def test_stories_and_pages_of_the_same_name_in_two_folders_are_two_articles(
    tmp_path: Path, procs: int
) -> None:
    """Wire stories, and saved pages that name no URL, are known by their path in the
    archive: dated folders that each number their files from one lose nothing."""
    archive = tmp_path / "archive"
    page = (Path(__file__).parent / "fixtures" / "pages" / "no_date.html").read_text()
    for day in ("2024-03-01", "2024-03-02"):
        (archive / day / "crawl").mkdir(parents=True)
        (archive / day / "001.txt").write_text(f"Port notice\n\nNotice of {day} for ships.\n")
        (archive / day / "library.html").write_text(page)
        (archive / day / "crawl" / "index.html").write_text(page)
    result = build_index([archive], index_settings(tmp_path, build_procs=procs))
    assert (result.article_count, result.duplicates_removed) == (6, 0)
    assert set(stored_titles(tmp_path / "index")) == {
        f"{day}/{name}"
        for day in ("2024-03-01", "2024-03-02")
        for name in ("001", "library", "crawl")
    }


def test_reading_order_places_each_document_in_its_unit() -> None:
    order = ReadingOrder([(3, 2), (5, 0), (1, 3)])  # (unit order, documents), as written
    assert [order.read_at(docnum)[0] for docnum in range(5)] == [3, 3, 1, 1, 1]
    assert sorted(range(5), key=order.read_at) == [2, 3, 4, 0, 1]


def search_ids_in(index_dir: Path, field: str, text: str) -> set[str]:
    with open_index(index_dir) as opened:
        return search_ids(opened, field, text)


def test_last_reader_of_an_old_generation_lets_cleanup_remove_it(tmp_path: Path) -> None:
    settings = index_settings(tmp_path)
    corpus = write_corpus(tmp_path / "corpus")
    first = build_index([corpus], settings).generation
    reader = open_index(settings.index_dir)
    build_index([corpus], settings)
    build_index([corpus], settings)
    assert first in complete_generations(settings.index_dir)  # still read
    assert search_ids(reader, "body", "volcano") == {"volcano"}
    reader.close()
    assert first not in complete_generations(settings.index_dir)
    assert not (generations_dir(settings.index_dir) / f"{first}.lock").exists()


# In a fresh interpreter: the build's end (search columns and pairs of copies, written
# into the generation given) after the imports a build makes while its workers index;
# prints the searchsvc modules that end imported still.
_IMPORTS_LEFT_FOR_THE_END = """
import json, sys
from whoosh.filedb.filestore import FileStorage
from searchsvc.index import build

build._import_checks()
before = set(sys.modules)
storage = FileStorage(sys.argv[1])
build._cache_columns(storage)
build._store_copy_pairs(storage)
print(json.dumps(sorted(m for m in set(sys.modules) - before if m.startswith("searchsvc"))))
"""


def test_the_build_imports_what_its_end_runs_while_its_workers_index(tmp_path: Path) -> None:
    """Imports the build's end would make cost it 0.1 s of CPU after the workers, when
    they could be made while they work: ``_import_checks`` must cover them all."""
    result = build_index([write_corpus(tmp_path / "corpus")], index_settings(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTS_LEFT_FOR_THE_END, str(result.path)],
        capture_output=True,
        text=True,
        timeout=120,  # hang guard
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_a_build_in_this_process_turns_the_garbage_collector_back_on(tmp_path: Path) -> None:
    """A one-worker build runs here with the cyclic collector off, as a worker process
    does; the process it runs in gets it back."""
    assert gc.isenabled()
    build_index([write_corpus(tmp_path / "corpus")], index_settings(tmp_path, build_procs=1))
    assert gc.isenabled()
