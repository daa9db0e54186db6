"""Hostile corpora: whatever a user points the service at, reading and building carry on.

Binary files, broken encodings, files far too large, symlink loops, named pipes and SGML
that never closes its tags must each end as a line in the ingest report, never as a crash,
a hang, or memory the size of the file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_feeds_support import rss, story_entry

from searchsvc.articles.model import IngestReport
from searchsvc.articles.sources import list_source_files, read_articles
from searchsvc.config import Settings
from searchsvc.index import build_index, open_index

MAX_FILE_BYTES = 50 * 1024 * 1024
GOOD_STORY = (
    "Harbour cranes idle as dockers strike\n\n"
    "ROTTERDAM, March 3 - Dockers at the port of Rotterdam walked out on Tuesday over "
    "pay, leaving cranes idle and ships waiting at anchor outside the harbour mouth.\n"
)


def write_hostile_corpus(root: Path) -> dict[str, Path]:
    """One of each kind of file that has hurt ingest pipelines, plus one good story."""
    root.mkdir(parents=True, exist_ok=True)
    files = {
        "good": root / "good.txt",
        "binary": root / "random.txt",
        "elf": root / "program.sgm",
        "latin1": root / "latin1.txt",
        "utf16": root / "utf16.jsonl",
        "nul_jsonl": root / "nul.jsonl",
        "garbage_jsonl": root / "garbage.jsonl",
        "unclosed_sgml": root / "unclosed.sgm",
        "tag_soup": root / "soup.sgm",
        "no_records": root / "notes.sgm",
        "empty": root / "empty.txt",
        "fifo": root / "pipe.txt",
        "dir_named_like_file": root / "folder.txt",
        "dangling": root / "dangling.txt",
        "self_link": root / "self.txt",
        "loop": root / "loop",
    }
    files["good"].write_text(GOOD_STORY, encoding="utf-8")
    files["binary"].write_bytes(bytes(range(256)) * 64)
    files["elf"].write_bytes(b"\x7fELF\x02\x01\x01" + b"\x00" * 4000)
    files["latin1"].write_bytes(
        "Caf\xe9 owners protest\n\nPARIS, Jan 3 - Caf\xe9 owners in Paris protested on "
        "Monday against new rules for terraces, which they say will cost jobs.\n".encode("latin-1")
    )
    files["utf16"].write_bytes(
        json.dumps({"id": "u16", "body": "text in utf-16 is not JSON Lines"}).encode("utf-16-le")
    )
    files["nul_jsonl"].write_bytes(
        b'{"id": "nul-1", "title": "Null\\u0000bytes", "body": "A body with \\u0000 inside '
        b'that still reads as a story about the weather in Oslo today."}\n'
    )
    files["garbage_jsonl"].write_bytes(
        b'{"id": "ok-1", "title": "Fine line", "body": "A fine line about grain exports '
        b'from Odessa this week."}\n'
        b"\xff\xfe\xfd not json at all\n"
        b'{"id": 5, "body": ["not", "a", "string"]}\n'
        b"[1, 2, 3]\n"
        b'{"id": "deep", "body": ' + b"[" * 5000 + b"]" * 5000 + b"}\n"
        b'{"unterminated": "\n'
    )
    files["unclosed_sgml"].write_text(
        '<REUTERS NEWID="1"><TEXT><TITLE>Unclosed title<BODY>Body with no end <D>x\n'
        '<REUTERS NEWID="2"><TEXT><TITLE>Second story</TITLE><BODY>Oil prices rose in '
        "London on Friday as traders bought.</BODY></TEXT></REUTERS>\n"
        '<REUTERS NEWID="3"><TEXT><BODY>' + "<" * 10000 + "\n",
        encoding="utf-8",
    )
    files["tag_soup"].write_text(
        "<REUTERS " * 2000 + "<!-- " * 500 + "&#99999999; &bogus; <![CDATA[" * 100,
        encoding="utf-8",
    )
    files["no_records"].write_text("Plain notes saved as .sgm, no records.\n", encoding="utf-8")
    files["empty"].write_bytes(b"")
    os.mkfifo(files["fifo"])
    files["dir_named_like_file"].mkdir()
    os.symlink(root / "nowhere.txt", files["dangling"])
    os.symlink(files["self_link"], files["self_link"])
    files["loop"].mkdir()
    os.symlink(root, files["loop"] / "back-to-root")
    os.symlink(files["loop"], files["loop"] / "to-itself")
    return files


def test_list_source_files_terminates_on_symlink_loops(tmp_path: Path) -> None:
    files = write_hostile_corpus(tmp_path / "corpus")
    listed = list(list_source_files([tmp_path / "corpus"]))
    assert len(listed) == len(set(listed))
    assert files["good"] in listed
    assert not any("back-to-root" in part for path in listed for part in path.parts)


def test_hostile_files_are_reported_not_fatal(tmp_path: Path) -> None:
    write_hostile_corpus(tmp_path / "corpus")
    report = IngestReport()
    articles = list(read_articles([tmp_path / "corpus"], report, max_file_bytes=MAX_FILE_BYTES))
    titles = {article.title for article in articles}
    assert "Harbour cranes idle as dockers strike" in titles
    assert "Fine line" in titles
    assert "Second story" in titles
    assert any(title.startswith("Caf") for title in titles)  # repaired, not dropped
    assert report.repaired["undecodable bytes"] >= 1
    assert report.skipped["binary file"] >= 2
    assert report.skipped["empty file"] >= 1  # the empty file and the pipe
    assert report.skipped["malformed JSON line"] >= 2
    assert report.skipped["no Reuters records"] == 1
    for article in articles:
        assert "\x00" not in article.title + article.body
    # Every file is accounted for: read, skipped or repaired, none silently lost.
    assert report.files >= 12


def test_reading_a_named_pipe_does_not_block(tmp_path: Path) -> None:
    """A pipe has no end until a writer closes it; the reader must not wait on it."""
    write_hostile_corpus(tmp_path / "corpus")
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from searchsvc.articles.model import IngestReport
        from searchsvc.articles.sources import read_file
        report = IngestReport()
        print(len(list(read_file(Path({str(tmp_path / "corpus" / "pipe.txt")!r}), report,
                                 max_file_bytes={MAX_FILE_BYTES}))))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("suffix", "reason"),
    [(".txt", "file too large"), (".jsonl", "binary file"), (".sgm", "file too large")],
)
def test_200_megabyte_file_is_skipped_without_reading_it(
    tmp_path: Path, suffix: str, reason: str
) -> None:
    """A sparse 200 MB file (no disk used) must be skipped, not loaded: by size where the
    format is read whole, by its first bytes where it streams (JSON Lines has no cap)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "small.txt").write_text(GOOD_STORY, encoding="utf-8")
    with open(corpus / f"huge{suffix}", "wb") as handle:
        handle.seek(200 * 1024 * 1024 - 1)
        handle.write(b"\n")
    script = textwrap.dedent(
        f"""
        import json, resource
        from pathlib import Path
        from searchsvc.articles.model import IngestReport
        from searchsvc.articles.sources import read_articles
        def peak_kib():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # Warm up on the small file alone: the gazetteer is loaded before measuring.
        list(read_articles([Path({str(corpus / "small.txt")!r})], IngestReport(),
                           max_file_bytes={MAX_FILE_BYTES}))
        before = peak_kib()
        report = IngestReport()
        count = sum(1 for _ in read_articles([Path({str(corpus)!r})], report,
                                             max_file_bytes={MAX_FILE_BYTES}))
        growth = peak_kib() - before
        print(json.dumps({{"count": count, "growth_kib": growth, "report": report.to_dict()}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["count"] == 1
    assert outcome["report"]["skipped"] == {reason: 1}
    # Reading past the file costs next to nothing, far below its 200 MB.
    assert outcome["growth_kib"] < 32 * 1024


@pytest.mark.slow
def test_large_jsonl_export_is_streamed(tmp_path: Path) -> None:
    """Under a raised size limit a 40 MB JSON Lines export is read a line at a time."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    line = json.dumps({"id": "one", "title": "Only line", "body": "word " * 20}) + "\n"
    repeats = (40 * 1024 * 1024) // len(line)
    with open(corpus / "many.jsonl", "w", encoding="utf-8") as handle:
        for _ in range(repeats // 1000):
            handle.write(line * 1000)
    script = textwrap.dedent(
        f"""
        import json, resource
        from pathlib import Path
        from searchsvc.articles.model import IngestReport
        from searchsvc.articles.jsonl import read_jsonl
        report = IngestReport()
        count = 0
        before = None
        for _ in read_jsonl(Path({str(corpus / "many.jsonl")!r}), report,
                            max_file_bytes=1 << 30, with_places=False):
            count += 1
            if before is None:
                before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print(json.dumps({{"count": count, "growth_kib": growth}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["count"] == (repeats // 1000) * 1000
    assert outcome["growth_kib"] < 16 * 1024  # the file is 40 MB


@pytest.mark.slow
def test_build_over_hostile_corpus_serves_the_good_articles(tmp_path: Path) -> None:
    write_hostile_corpus(tmp_path / "corpus")
    settings = Settings(index_dir=tmp_path / "index", corpus=(tmp_path / "corpus",), build_procs=2)
    result = build_index(None, settings, show_progress=False)
    assert result.article_count >= 4
    with open_index(settings.index_dir) as opened, opened.searcher() as searcher:
        assert searcher.doc_count() == result.article_count
        ids = {fields["id"] for fields in searcher.all_stored_fields()}
    assert "good" in ids
    assert "ok-1" in ids


@pytest.mark.slow
def test_large_feed_is_read_a_run_of_entries_at_a_time(tmp_path: Path) -> None:
    """A 16 MB feed, sixteen times the size limit, is read whole, in runs of entries:
    memory does not grow with the file (parsed at once, it grows by about 65 MB)."""
    entry = (
        "<item><title>Harbour log {0}</title><guid>http://harbour.example/log/{0}</guid>"
        "<description>" + "Tugs moved barges along the quay. " * 240 + "</description></item>\n"
    )
    path = tmp_path / "archive.rss"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('<?xml version="1.0"?><rss version="2.0"><channel><title>Log</title>\n')
        count = 0
        while handle.tell() < 16 * 1024 * 1024:
            handle.write(entry.format(count))
            count += 1
        handle.write("</channel></rss>\n")
    small = tmp_path / "small.rss"
    small.write_text(rss("Log", [story_entry(1, "barges")]), encoding="utf-8")
    script = textwrap.dedent(
        f"""
        import json, resource
        from pathlib import Path
        from searchsvc.articles.model import IngestReport
        from searchsvc.articles.feeds import read_feed
        def read(path):
            return read_feed(Path(path), report, max_file_bytes=1 << 20, with_places=False)
        report = IngestReport()
        list(read({str(small)!r}))  # the parser's imports are loaded before measuring
        report = IngestReport()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        count = sum(1 for _ in read({str(path)!r}))
        growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print(json.dumps({{"count": count, "growth_kib": growth, "skipped": report.skipped}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert (outcome["count"], outcome["skipped"]) == (count, {})
    assert outcome["growth_kib"] < 24 * 1024  # the file is 16 MB
