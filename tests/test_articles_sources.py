"""Walking a corpus: readers picked by file type, directories walked once, nothing lost."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from searchsvc.articles import IngestReport
from searchsvc.articles.files import SourceNames, name_in_sources
from searchsvc.articles.sources import list_source_files, read_articles, source_format

MAX_BYTES = 1_000_000

REUTERS_RECORD = """<REUTERS TOPICS="NO" NEWID="77">
<DATE>26-FEB-1987 15:02:20.00</DATE>
<TEXT>&#2;
<TITLE>STANDARD OIL TO FORM FINANCIAL UNIT</TITLE>
<DATELINE>    CLEVELAND, Feb 26 - </DATELINE><BODY>Standard Oil Co said it plans a unit.
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
"""


def make_corpus(root: Path) -> None:
    (root / "wire" / "deep").mkdir(parents=True)
    (root / "wire" / "b.txt").write_text("B Title\n\nLONDON (Reuters) - Body b.\n")
    (root / "wire" / "a.md").write_text("# A Title\n\nBody a.\n")
    (root / "wire" / "a.json").write_text(json.dumps({"date": "2024-01-02"}))
    (root / "wire" / "deep" / "C").write_text("C Title\n\nBody c.\n")
    (root / "export.jsonl").write_text(
        json.dumps({"id": "j1", "body": "Body j1."}) + "\n" + json.dumps({"body": "j2"}) + "\n"
    )
    (root / "news.ndjson").write_text(json.dumps({"id": "n1", "body": "Body n1."}) + "\n")
    (root / "reut2-999.sgm").write_bytes(REUTERS_RECORD.encode("latin-1"))
    (root / "notes.pdf").write_bytes(b"%PDF-1.4\n")
    (root / "orphan.json").write_text("{}")
    (root / ".hidden.txt").write_text("Hidden\n\nNot read.\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD.txt").write_text("ref\n\nNot read.\n")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.txt", "wire"),
        ("a.TEXT", "wire"),
        ("a.md", "wire"),
        ("README", "wire"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.sgm", "reuters"),
        ("a.SGML", "reuters"),
        ("a.json", None),
        ("a.pdf", None),
    ],
)
def test_source_format(name, expected):
    assert source_format(Path(name)) == expected


def test_list_source_files_is_sorted_and_skips_sidecars_and_hidden(tmp_path):
    make_corpus(tmp_path)
    names = [p.relative_to(tmp_path).as_posix() for p in list_source_files([tmp_path])]
    assert names == [
        "export.jsonl",
        "news.ndjson",
        "notes.pdf",
        "orphan.json",
        "reut2-999.sgm",
        "wire/a.md",
        "wire/b.txt",
        "wire/deep/C",
    ]


def test_read_articles_over_a_mixed_corpus(tmp_path):
    make_corpus(tmp_path)
    report = IngestReport()
    articles = list(read_articles([tmp_path], report, max_file_bytes=MAX_BYTES))
    assert [a.id for a in articles][:3] == ["j1", articles[1].id, "n1"]
    # Wire stories are known by their path in the corpus folder, without the extension.
    assert {a.id for a in articles} >= {"wire/a", "wire/b", "wire/deep/C", "reuters-77"}
    assert dict(report.read_by_format) == {"jsonl": 3, "reuters": 1, "wire": 3}
    assert report.skipped == {"unsupported file type": 2}
    assert report.files == 8
    by_id = {a.id: a for a in articles}
    assert by_id["wire/a"].date.isoformat() == "2024-01-02"
    assert by_id["reuters-77"].dateline_place.name == "Cleveland"
    text = report.format_text()
    assert "articles read: 7" in text
    assert "unsupported file type: 2" in text


def write_dated_archive(root: Path) -> Path:
    """Two days' folders that each number their stories from one."""
    for day, title in (("2024-03-01", "Harbour reopens"), ("2024-03-02", "Grain exports rise")):
        (root / day).mkdir(parents=True)
        (root / day / "001.txt").write_text(f"{title}\n\nBAKU (Reuters) - {title}, they said.\n")
    return root


def test_wire_stories_of_dated_folders_keep_their_folders_in_their_ids(tmp_path):
    archive = write_dated_archive(tmp_path / "archive")
    report = IngestReport()
    articles = list(read_articles([archive], report, max_file_bytes=MAX_BYTES))
    assert [(a.id, a.title) for a in articles] == [
        ("2024-03-01/001", "Harbour reopens"),
        ("2024-03-02/001", "Grain exports rise"),
    ]
    # A file given itself, or a day's folder read on its own, is named within what was given...
    (story,) = read_articles([archive / "2024-03-02" / "001.txt"], report, max_file_bytes=MAX_BYTES)
    assert story.id == "001"
    # ...unless it lies in a folder of the collection, as when a day is added to an archive.
    day = archive / "2024-03-02"
    for roots in ([archive], [Path(os.path.relpath(archive))], [tmp_path / "link"]):
        if roots == [tmp_path / "link"]:
            (tmp_path / "link").symlink_to(archive, target_is_directory=True)
        (story,) = read_articles([day], report, max_file_bytes=MAX_BYTES, roots=roots)
        assert story.id == "2024-03-02/001", roots


def test_one_listing_names_each_file_by_the_first_root_holding_its_folder(tmp_path):
    archive = write_dated_archive(tmp_path / "archive")
    (tmp_path / "link").symlink_to(archive, target_is_directory=True)
    (tmp_path / "elsewhere").mkdir()
    first_day, second_day = archive / "2024-03-01", archive / "2024-03-02"
    paths = [
        first_day / "001.txt",
        second_day / "001.txt",
        tmp_path / "link" / "2024-03-01" / "002.txt",  # the first day, reached by a link
        tmp_path / "link" / "2024-03-02" / "002.txt",
        tmp_path / "elsewhere" / "003.txt",
        second_day / "004.txt",  # a folder named before: same answer
    ]
    names = SourceNames([first_day, archive])
    assert [names.name(path) for path in paths] == [
        "001",
        "2024-03-02/001",
        "002",
        "2024-03-02/002",
        "003",
        "2024-03-02/004",
    ]
    assert [name_in_sources(path, [first_day, archive]) for path in paths[:3]] == [
        "001",
        "2024-03-02/001",
        "002",
    ]


def test_symlink_loops_are_walked_once(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "sub" / "story.txt").write_text("Title\n\nBody.\n")
    (corpus / "sub" / "loop").symlink_to(corpus, target_is_directory=True)
    (corpus / "again").symlink_to(corpus / "sub", target_is_directory=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "other.txt").write_text("Other\n\nBody.\n")
    (corpus / "link-out").symlink_to(outside, target_is_directory=True)
    (corpus / "link-out-2").symlink_to(outside, target_is_directory=True)
    files = list(list_source_files([corpus, corpus / "sub"]))
    assert sorted(p.name for p in files) == ["other.txt", "story.txt"]


def test_same_file_given_twice_is_read_once(tmp_path):
    story = tmp_path / "s.txt"
    story.write_text("Title\n\nBody.\n")
    (tmp_path / "link.txt").symlink_to(story)
    assert list(list_source_files([story, tmp_path])) == [story]


def test_dangling_symlink_is_reported(tmp_path):
    (tmp_path / "gone.txt").symlink_to(tmp_path / "missing.txt")
    report = IngestReport()
    assert list(read_articles([tmp_path], report, max_file_bytes=MAX_BYTES)) == []
    assert report.skipped == {"unreadable file": 1}


def test_file_vanishing_between_listing_and_reading(tmp_path):
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(f"{name}\n\nBody.\n")
    report = IngestReport()
    articles = []
    for article in read_articles([tmp_path], report, max_file_bytes=MAX_BYTES):
        articles.append(article)
        (tmp_path / "b.txt").unlink(missing_ok=True)
    assert [a.id for a in articles] == ["a", "c"]
    assert report.skipped == {"unreadable file": 1}
    assert report.examples["unreadable file"] == [str(tmp_path / "b.txt")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any directory")
def test_unlistable_directory_is_reported(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "s.txt").write_text("Title\n\nBody.\n")
    locked.chmod(0)
    try:
        report = IngestReport()
        assert list(read_articles([tmp_path], report, max_file_bytes=MAX_BYTES)) == []
        assert report.skipped == {"unreadable file": 1}
    finally:
        locked.chmod(0o755)


def test_report_round_trips_through_a_dict(tmp_path):
    make_corpus(tmp_path)
    report = IngestReport()
    list(read_articles([tmp_path], report, max_file_bytes=MAX_BYTES))
    assert IngestReport.from_dict(report.to_dict()).to_dict() == report.to_dict()


def test_directory_vanishing_during_the_walk_is_reported(tmp_path):
    (tmp_path / "a.txt").write_text("Title\n\nBody.\n")
    (tmp_path / "b_dir").mkdir()
    (tmp_path / "b_dir" / "s.txt").write_text("Title\n\nBody.\n")
    report = IngestReport()
    articles = []
    for article in read_articles([tmp_path], report, max_file_bytes=MAX_BYTES):
        articles.append(article)
        (tmp_path / "b_dir" / "s.txt").unlink()
        (tmp_path / "b_dir").rmdir()
    assert [a.id for a in articles] == ["a"]
    assert report.skipped == {"unreadable file": 1}
    assert report.examples["unreadable file"] == [str(tmp_path / "b_dir")]
