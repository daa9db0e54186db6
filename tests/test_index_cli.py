"""``searchsvc build-index``, ``index-info``, ``index-add`` and ``index-delete``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from test_index_support import STORIES, story, write_corpus, write_jsonl

from searchsvc.cli import main
from searchsvc.index import open_index


@pytest.fixture
def index_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("SEARCHSVC_CORPUS", "SEARCHSVC_BUILD_PROCS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SEARCHSVC_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("SEARCHSVC_BUILD_PROCS", "1")
    return tmp_path / "index"


def test_build_index_prints_report_and_generation(
    index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    assert main(["build-index", str(corpus)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == ["files read: 1", "articles read: 4", "  jsonl: 4"]
    generation = (index_dir / "CURRENT").read_text().strip()
    assert f"generation: {generation}" in out
    assert "articles indexed: 4" in out
    assert any(line.startswith("build time: ") and "articles/s" in line for line in out)
    assert any(line.startswith("index size: ") and line.endswith(" MiB") for line in out)


def test_index_info_text_and_json(
    index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    main(["build-index", str(corpus)])
    capsys.readouterr()
    assert main(["index-info"]) == 0
    text = capsys.readouterr().out.splitlines()
    generation = (index_dir / "CURRENT").read_text().strip()
    assert text[:3] == [f"generation: {generation}", "articles: 4", f"sources: {corpus}"]
    assert text[3].startswith("built at: ")
    assert text[4].startswith("size: ") and text[4].endswith("in 1 segment(s)")
    assert "ingest report:" in text and "  articles read: 4" in text

    assert main(["index-info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["generation"] == generation
    assert info["article_count"] == 4
    assert info["sources"] == [str(corpus)]
    assert info["report"]["articles"] == 4
    assert info["build_status"]["state"] == "idle"
    assert info["index_bytes"] > 0


def test_add_and_delete_from_the_command_line(
    index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["build-index", str(write_corpus(tmp_path / "corpus"))])
    revised = {**STORIES[2], "body": "Cocoa futures fell as rain returned."}
    extra = write_jsonl(
        tmp_path / "extra.jsonl",
        [story("eclipse", "Eclipse", "An eclipse was seen."), revised, STORIES[3]],
    )
    capsys.readouterr()
    assert main(["index-add", str(extra)]) == 0
    assert (
        capsys.readouterr()
        .out.splitlines()[-1]
        .endswith(": 1 added, 1 replaced, 1 already indexed as they are; 5 articles")
    )
    assert main(["index-delete", "eclipse", "volcano"]) == 0
    assert capsys.readouterr().out.strip().endswith(": 2 deleted; 3 articles")


def test_delete_takes_a_takedown_list_from_a_file_or_standard_input(
    index_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ids one a line (blank lines and spaces around them left out), from a file, from
    standard input, or beside ids given as arguments; none at all is an error."""
    records = [story(f"wire-{n}", f"Report {n}", "A harbour report.") for n in range(6)]
    main(["build-index", str(write_jsonl(tmp_path / "corpus" / "wire.jsonl", records))])
    takedowns = tmp_path / "takedowns.txt"
    takedowns.write_text("wire-0\n\n  wire-1  \nwire-9\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["index-delete", "wire-2", "--ids-from", str(takedowns)]) == 0
    assert capsys.readouterr().out.strip().endswith(": 3 deleted; 3 articles")
    monkeypatch.setattr("sys.stdin", io.StringIO("wire-3\r\nwire-4\r\n"))
    assert main(["index-delete", "--ids-from", "-"]) == 0
    assert capsys.readouterr().out.strip().endswith(": 2 deleted; 1 articles")

    assert main(["index-delete"]) == 2
    assert "no ids to delete" in capsys.readouterr().err
    assert main(["index-delete", "--ids-from", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read ids from" in capsys.readouterr().err


def test_a_folder_added_to_the_corpus_is_named_as_a_rebuild_names_it(
    index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "archive"
    (archive / "2024-03-01").mkdir(parents=True)
    (archive / "2024-03-01" / "001.txt").write_text("Port open\n\nThe port is open.\n")
    monkeypatch.setenv("SEARCHSVC_CORPUS", str(archive))
    assert main(["build-index"]) == 0
    day = archive / "2024-03-02"
    day.mkdir()
    (day / "001.txt").write_text("Port shut\n\nThe port is shut.\n")
    assert main(["index-add", str(day)]) == 0
    added = article_ids(index_dir)
    assert main(["build-index"]) == 0
    assert added == article_ids(index_dir) == ["2024-03-01/001", "2024-03-02/001"]


def article_ids(index_dir: Path) -> list[str]:
    with open_index(index_dir) as opened, opened.searcher() as searcher:
        return sorted(fields["id"] for fields in searcher.all_stored_fields())


def test_errors_are_one_line_with_a_hint(
    index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index-info"]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"searchsvc: error: no search index in {index_dir}; run `searchsvc build-index` first\n"
    )
    assert main(["build-index", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err == (
        f"searchsvc: error: source not found: {tmp_path / 'missing'}\n"
    )


@pytest.mark.parametrize("command", ["build-index", "index-info", "index-add", "index-delete"])
def test_commands_have_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert len(capsys.readouterr().out.splitlines()) > 3
