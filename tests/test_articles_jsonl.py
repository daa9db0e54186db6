"""JSON Lines exports: fields, optional parts, and bad lines that must not stop the rest."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchsvc.articles import Article, IngestReport
from searchsvc.articles.files import FilePart, ReadMark, growth_since, split_at_lines
from searchsvc.articles.model import MAX_ID_BYTES, fitted_id
from searchsvc.articles.sources import read_file

MAX_BYTES = 1_000_000


def read(path: Path, max_file_bytes: int = MAX_BYTES) -> tuple[list[Article], IngestReport]:
    report = IngestReport()
    return list(read_file(path, report, max_file_bytes=max_file_bytes)), report


def write_lines(path: Path, lines: list[object]) -> Path:
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    path.write_text(text, encoding="utf-8")
    return path


FULL = {
    "id": "cms-1",
    "title": "Port \u201cReopens\u201d",
    "body": "The port reopened on Monday.\n\nAlso Read: Other story\n\nShips sailed.",
    "date": "2024-02-26T10:00:00+00:00",
    "source": "Example Wire",
    "place": "Baku",
    "url": "https://example.test/1",
}


def test_full_record(tmp_path):
    (article,), report = read(write_lines(tmp_path / "export.jsonl", [FULL]))
    assert article.id == "cms-1"
    assert article.title == 'Port "Reopens"'
    assert article.body == "The port reopened on Monday.\n\nShips sailed."
    assert (article.date, article.date_source) == (dt.date(2024, 2, 26), "source")
    assert article.source == "Example Wire"
    assert article.url == "https://example.test/1"
    assert article.dateline == "Baku"
    assert article.dateline_place.name == "Baku"
    assert article.dateline_place.country == "AZ"
    assert article.format == "jsonl"
    assert article.origin == f"{tmp_path / 'export.jsonl'}:1"
    assert report.articles == 1 and report.files == 1


def test_only_body_is_required(tmp_path):
    (article,), report = read(write_lines(tmp_path / "e.ndjson", [{"body": "Just a body."}]))
    assert article.title == "" and article.body == "Just a body."
    assert article.id.startswith("e-")
    assert (article.date, article.date_source, article.source, article.url) == (
        None,
        "none",
        None,
        None,
    )
    assert report.repaired["missing title"] == 1


def test_derived_id_is_stable(tmp_path):
    path = write_lines(tmp_path / "e.jsonl", [{"body": "Same text."}])
    (first,), _ = read(path)
    (second,), _ = read(path)
    assert first.id == second.id


def test_ids_too_long_to_keep_whole_stay_apart_and_the_same(tmp_path):
    """Ids of more than 512 bytes (OpenSearch's most): two that differ only after their
    first thousand characters, and one whose cut falls inside a two-byte character."""
    start = "urn:harbour:" + "x" * 1500
    path = write_lines(
        tmp_path / "long.jsonl",
        [{"id": start + "1", "body": "One."}, {"id": start + "2", "body": "Two."}],
    )
    first, second = read(path)[0]
    assert len(first.id) == len(second.id) == MAX_ID_BYTES
    assert first.id != second.id
    assert first.id == fitted_id(start + "1") == fitted_id(fitted_id(start + "1"))
    accented = fitted_id("é" * 300)
    assert len(accented.encode("utf-8")) <= MAX_ID_BYTES and accented.startswith("é" * 247)
    assert fitted_id("é" * 256) == "é" * 256  # 512 bytes: kept whole


def test_dateline_in_body_is_parsed(tmp_path):
    record = {"title": "T", "body": "JAKARTA, Feb 26, 2024 (ANTARA) - Rain fell.", "id": 7}
    (article,), _ = read(write_lines(tmp_path / "e.jsonl", [record]))
    assert article.id == "7"
    assert article.dateline == "JAKARTA, Feb 26, 2024 (ANTARA)"
    assert article.dateline_place.country == "ID"
    assert (article.date, article.date_source) == (dt.date(2024, 2, 26), "dateline")
    assert article.source == "ANTARA"
    assert article.body == "Rain fell."


def test_bad_lines_are_skipped_and_the_rest_read(tmp_path):
    lines = [
        {"id": "a", "body": "First."},
        "{broken json",
        "[1, 2, 3]",
        "",
        {"id": "no-body", "title": "Headline only"},
        {"id": "empty-body", "body": "   "},
        {"id": "wrong-body", "body": 42},
        {"id": "b", "body": "Second.", "date": "not a date", "title": ["x"]},
        {"id": "c", "body": "Third."},
    ]
    articles, report = read(write_lines(tmp_path / "mixed.jsonl", lines))
    assert [a.id for a in articles] == ["a", "b", "c"]
    assert report.skipped == {
        "malformed JSON line": 1,
        "JSON line is not an object": 1,
        "missing body": 3,
    }
    assert report.repaired["bad date"] == 1
    assert report.repaired["bad field value"] == 1
    assert report.examples["malformed JSON line"] == [f"{tmp_path / 'mixed.jsonl'}:2"]


def test_undecodable_line_is_repaired(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"title": "Caf\xe9", "body": "Opened."}\n{"body": "Fine."}\n')
    articles, report = read(path)
    assert [a.title for a in articles] == ["Café", ""]
    assert report.repaired["undecodable bytes"] == 1
    assert report.examples["undecodable bytes"] == [f"{path}:1"]


def test_truncated_last_line_is_skipped(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"body": "Whole."}\n{"body": "Cut of', encoding="utf-8")
    articles, report = read(path)
    assert [a.body for a in articles] == ["Whole."]
    assert report.skipped == {"malformed JSON line": 1}


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", "empty file"), (b"\n\n  \n", "empty file"), (b"\x00\x01\x02" * 50, "binary file")],
)
def test_unusable_jsonl_files(tmp_path, data, reason):
    path = tmp_path / "x.jsonl"
    path.write_bytes(data)
    articles, report = read(path)
    assert articles == [] and report.skipped == {reason: 1}


def test_jsonl_over_the_size_limit_streams_whole(tmp_path):
    """The cap guards what is held at once (one line), not the size of a streamed file."""
    records = [{"id": f"n{k}", "body": f"Story number {k}."} for k in range(40)]
    path = write_lines(tmp_path / "big.jsonl", records)
    articles, report = read(path, max_file_bytes=100)
    assert path.stat().st_size > 1000
    assert [a.id for a in articles] == [f"n{k}" for k in range(40)]
    assert report.skipped == {} and report.files == 1


def test_line_longer_than_the_limit_is_skipped_alone(tmp_path):
    lines = [
        {"id": "a", "body": "Before."},
        {"id": "long", "body": "x" * 5000},
        {"id": "b", "body": "After."},
    ]
    path = write_lines(tmp_path / "long.jsonl", lines)
    articles, report = read(path, max_file_bytes=1000)
    assert [a.id for a in articles] == ["a", "b"]
    assert [a.origin for a in articles] == [f"{path}:1", f"{path}:3"]
    assert report.skipped == {"JSON line too long": 1}
    assert report.examples["JSON line too long"] == [f"{path}:2"]


def test_file_read_in_parts_gives_what_the_whole_file_gives(tmp_path):
    """Parts cut at line starts: same articles, origins and report, the file counted once."""
    lines: list[object] = [{"id": f"p{k}", "body": f"Part story {k}."} for k in range(30)]
    lines[7] = '{"body": "broken'
    lines[12] = ""
    lines[20] = {"id": "p20", "body": "y" * 400}
    path = write_lines(tmp_path / "export.jsonl", lines)
    whole, whole_report = read(path, max_file_bytes=300)
    parts = split_at_lines(path, 150)
    assert parts is not None and len(parts) > 3
    report = IngestReport()
    pieces = [a for part in parts for a in read_file(path, report, max_file_bytes=300, part=part)]
    assert [(a.id, a.origin) for a in pieces] == [(a.id, a.origin) for a in whole]
    assert report.to_dict() == whole_report.to_dict()
    assert report.files == 1
    assert whole_report.skipped == {"malformed JSON line": 1, "JSON line too long": 1}


@pytest.mark.parametrize("data", [b"", b"short\n", b"\n" * 500, b" \n" * 300])
def test_files_not_worth_cutting_are_read_whole(tmp_path, data):
    path = tmp_path / "x.jsonl"
    path.write_bytes(data)
    assert split_at_lines(path, 100) is None


def test_parts_start_at_line_starts_and_cover_the_file(tmp_path):
    path = write_lines(tmp_path / "p.jsonl", [{"body": "z" * (k * 7 % 90)} for k in range(50)])
    parts = split_at_lines(path, 256)
    data = path.read_bytes()
    assert parts[0].start == 0 and parts[-1].end == len(data)
    for before, after in itertools.pairwise(parts):
        assert before.end == after.start and data[after.start - 1 : after.start] == b"\n"
        assert after.first_line == data[: after.start].count(b"\n") + 1


@st.composite
def export_lines(draw: st.DrawFn) -> bytes:
    """An export's bytes: records, blank and broken lines, CRLF ends, perhaps no final
    newline (a content system caught in the middle of appending a line)."""
    lines = draw(
        st.lists(
            st.one_of(
                st.integers(0, 40).map(lambda k: json.dumps({"id": f"e{k}", "body": f"Tern {k}."})),
                st.sampled_from(["", "  ", '{"body": "cut', "[1]"]),
            ),
            max_size=12,
        )
    )
    end = draw(st.sampled_from(["\n", "\r\n"]))
    return (end.join(lines) + draw(st.sampled_from(["", end]))).encode()


@given(data=st.data())
@settings(max_examples=60, deadline=None)
def test_a_file_that_only_grew_is_read_from_its_mark(tmp_path_factory, data):
    """Whatever an export held when it was read (even half a line), and whatever was
    appended since: the articles of the part after the mark are those of the whole file
    past the lines the mark covers, with the same origins; the new mark covers every
    whole line."""
    path = tmp_path_factory.mktemp("grow") / "export.jsonl"
    earlier = data.draw(export_lines())
    later = earlier + data.draw(export_lines())
    path.write_bytes(earlier)
    first, mark = growth_since(path, None)
    assert (first.start, first.end, first.first_line) == (0, len(earlier), 1)
    path.write_bytes(later)
    part, now = growth_since(path, mark)
    assert (part.start, part.end, part.first_line) == (mark.end, len(later), mark.lines + 1)
    whole, _ = read(path)
    grown = list(read_file(path, IngestReport(), max_file_bytes=MAX_BYTES, part=part))
    past_mark = [a for a in whole if int(a.origin.rsplit(":", 1)[1]) > mark.lines]
    assert [(a.id, a.origin) for a in grown] == [(a.id, a.origin) for a in past_mark]
    assert now.end == later.rfind(b"\n") + 1
    assert now.lines == later.count(b"\n")


def test_a_file_changed_before_its_mark_is_read_whole(tmp_path):
    path = write_lines(tmp_path / "export.jsonl", [{"id": "a", "body": "Alpha."}])
    _, mark = growth_since(path, None)
    write_lines(path, [{"id": "a", "body": "Alpha, corrected."}, {"id": "b", "body": "Beta."}])
    part, now = growth_since(path, mark)
    assert (part.start, part.first_line) == (0, 1)
    assert now.end == path.stat().st_size and now.lines == 2
    assert ReadMark.from_json(list(now)) == now
    assert ReadMark.from_json([1, "2", "x"]) is None and ReadMark.from_json(None) is None


def test_a_part_that_cannot_be_read_is_reported(tmp_path):
    """The file was readable when it was cut: a part that then cannot be read is named,
    so that its articles do not go missing unsaid."""
    gone = tmp_path / "gone.jsonl"
    report = IngestReport()
    assert not list(read_file(gone, report, max_file_bytes=MAX_BYTES, part=FilePart(40, 90, 3)))
    assert report.examples["unreadable file"] == [f"{gone}@40"]


def test_reading_is_lazy(tmp_path):
    """The reader yields the first article before it has seen the end of the file."""
    path = write_lines(tmp_path / "s.jsonl", [{"body": "One."}, {"body": "Two."}])
    report = IngestReport()
    articles = read_file(path, report, max_file_bytes=MAX_BYTES)
    first = next(articles)
    assert first.body == "One." and report.articles == 1
    assert [a.body for a in articles] == ["Two."]
    assert report.articles == 2


def test_date_field_comes_before_the_dateline(tmp_path):
    records = [
        {"id": "both", "body": "BAKU, Feb 25, 2024 (AP) - Text.", "date": "2024-02-26"},
        {"id": "year", "body": "SALVADOR, Feb 26 - Text.", "date": "1987"},
        {"id": "none", "body": "SALVADOR, Feb 26 - Text."},
    ]
    articles, _ = read(write_lines(tmp_path / "d.jsonl", records))
    assert [(a.id, a.date, a.date_source) for a in articles] == [
        ("both", dt.date(2024, 2, 26), "source"),
        ("year", dt.date(1987, 2, 26), "dateline"),
        ("none", None, "none"),
    ]


def test_title_whitespace_is_collapsed(tmp_path):
    record = {"title": "  Port\n  Reopens\u00a0Today ", "body": "Text."}
    (article,), _ = read(write_lines(tmp_path / "t.jsonl", [record]))
    assert article.title == "Port Reopens Today"
