"""``searchsvc ingest``: the report, the JSON stream, and errors the user can fix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from searchsvc.cli import main


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "baku.txt").write_text(
        "Azerbaijan Marks Anniversary\n\n"
        "Baku, MINA \u2013 Azerbaijan on Monday marked the anniversary in Baku.\n\n"
        "Also Read: Another story\n\n"
        "Mi\u2019raj News Agency (MINA)\n",
        encoding="utf-8",
    )
    (root / "baku.json").write_text(json.dumps({"date": "2024-02-26"}))
    (root / "export.jsonl").write_text(
        json.dumps({"id": "cms-1", "title": "Floods", "body": "DHAKA, Bangladesh - Floods."})
        + "\n{broken\n"
        + json.dumps({"id": "cms-2", "body": "No title here."})
        + "\n",
        encoding="utf-8",
    )
    (root / "empty.txt").write_bytes(b"")
    return root


def test_ingest_prints_the_report(corpus, capsys):
    assert main(["ingest", str(corpus)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    head, places_line = out.rstrip("\n").rsplit("\n", 1)
    assert head == (
        "files read: 3\n"
        "articles read: 3\n"
        "  jsonl: 2\n"
        "  wire: 1\n"
        "languages: unknown 2, en 1\n"  # two stories too short to tell
        "skipped: 2\n"
        f"  empty file: 1 (e.g. {corpus / 'empty.txt'})\n"
        f"  malformed JSON line: 1 (e.g. {corpus / 'export.jsonl'}:2)\n"
        "repaired: 1\n"
        f"  missing title: 1 (e.g. {corpus / 'export.jsonl'}:3)"
    )
    # Baku and Azerbaijan in one story, Dhaka in the other; more is up to the gazetteer.
    found = re.fullmatch(r"places found: (\d+) \(2 articles with a dateline place\)", places_line)
    assert found and int(found.group(1)) >= 3


def test_ingest_json_prints_one_object_per_article(corpus, capsys):
    assert main(["ingest", "--json", str(corpus)]) == 0
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == ["baku", "cms-1", "cms-2"]
    for record in records:
        assert {"id", "title", "body", "dateline_place", "places", "date", "source"} <= set(record)
    baku = records[0]
    assert baku["title"] == "Azerbaijan Marks Anniversary"
    assert baku["body"] == "Azerbaijan on Monday marked the anniversary in Baku."
    assert baku["date"] == "2024-02-26" and baku["source"] == "MINA"
    assert baku["dateline_place"]["name"] == "Baku"
    assert baku["dateline_place"]["country"] == "AZ"
    assert all({"name", "country"} <= set(place) for place in baku["places"])
    assert records[1]["dateline_place"]["country"] == "BD"
    assert records[2]["title"] == "" and records[2]["dateline_place"] is None
    assert "articles read: 3" in err


def test_ingest_defaults_to_the_configured_corpus(corpus, capsys, monkeypatch):
    monkeypatch.setenv("SEARCHSVC_CORPUS", str(corpus / "export.jsonl"))
    assert main(["ingest"]) == 0
    out, _ = capsys.readouterr()
    assert "articles read: 2\n  jsonl: 2\n" in out


def test_ingest_missing_path_is_a_user_error(tmp_path, capsys):
    missing = tmp_path / "nope"
    assert main(["ingest", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"searchsvc: error: no such file or directory: {missing}")


def test_ingest_has_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["ingest", "--help"])
    assert exit_info.value.code == 0
    assert "--json" in capsys.readouterr().out
