"""Plain-text wire stories: the seed, every dateline shape, metadata and bad files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from searchsvc.articles import Article, IngestReport
from searchsvc.articles.sources import read_file

SEED_NAME = "000_613337a6ab66b71b"
MAX_BYTES = 1_000_000


def read(path: Path, max_file_bytes: int = MAX_BYTES) -> tuple[list[Article], IngestReport]:
    report = IngestReport()
    return list(read_file(path, report, max_file_bytes=max_file_bytes)), report


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --- the seed -------------------------------------------------------------------------


def test_seed_story(seeds_dir):
    articles, report = read(seeds_dir / f"{SEED_NAME}.txt")
    assert len(articles) == 1
    seed = articles[0]
    assert seed.id == SEED_NAME
    assert seed.title == "Azerbaijan Marks 32nd Aniversary of Khojaly Massacre"
    assert seed.dateline == "Baku, MINA"
    assert seed.dateline_place is not None
    assert (seed.dateline_place.name, seed.dateline_place.country) == ("Baku", "AZ")
    assert seed.dateline_place.country_name == "Azerbaijan"
    assert seed.source == "MINA"
    assert (seed.date, seed.date_source) == (dt.date(2024, 2, 26), "metadata")
    assert seed.body.startswith("Azerbaijan on Monday commemorated the 32nd anniversary")
    assert seed.body.endswith('including the Khojaly genocide," it added.')
    for boilerplate in (
        "Also Read",
        "Hidden is More Immense",
        "Islamic Finance Industry",
        "Animal Sacrifice",
        "(T/RE1/P2)",
        "News Agency",
        "(MINA)",
    ):
        assert boilerplate not in seed.body
    assert "\u201c" not in seed.body and "\u2019" not in seed.body and "\u00a0" not in seed.body
    assert seed.dateline_place.key in [place.key for place in seed.places]
    assert report.articles == 1 and not report.skipped and not report.repaired


def test_seed_sidecar_is_metadata(seeds_dir):
    sidecar = json.loads((seeds_dir / f"{SEED_NAME}.json").read_text())
    assert sidecar["date"] == "2024-02-26"
    articles, report = read(seeds_dir / f"{SEED_NAME}.json")
    assert articles == [] and report.files == 0


# --- dateline shapes --------------------------------------------------------------------

STORY = "Officials said the port reopened on {day} after two days of storms.\n\nMore follows.\n"


@pytest.mark.parametrize(
    ("opening", "place_name", "country", "source"),
    [
        ("Baku, MINA \u2013 ", "Baku", "AZ", "MINA"),
        ("JAKARTA (ANTARA) - ", "Jakarta", "ID", "ANTARA"),
        ("LONDON, Feb 26 (Reuters) - ", "London", "GB", "Reuters"),
        ("DHAKA, Bangladesh - ", "Dhaka", "BD", None),
        ("SALVADOR, Feb 26 - ", "Salvador", "BR", None),
        ("ARMONK, N.Y., March 2 - ", None, "US", None),
    ],
)
def test_wire_dateline_shapes(tmp_path, opening, place_name, country, source):
    text = "Port Reopens After Storms\n\n" + opening + STORY.format(day="Monday")
    articles, _ = read(write(tmp_path, "story.txt", text))
    (article,) = articles
    assert article.title == "Port Reopens After Storms"
    assert article.body.startswith("Officials said the port reopened")
    assert article.dateline == opening.strip(" -\u2013")
    assert article.dateline_place is not None
    if place_name:
        assert article.dateline_place.name == place_name
    assert article.dateline_place.country == country
    assert article.source == source


def test_story_without_dateline_keeps_its_first_paragraph(tmp_path):
    text = "Port Reopens\n\nOfficials said the port reopened - finally - on Monday.\n"
    (article,), _ = read(write(tmp_path, "plain.txt", text))
    assert article.dateline is None and article.dateline_place is None
    assert article.body == "Officials said the port reopened - finally - on Monday."


def test_mixed_case_dateline_without_marker_needs_a_known_place(tmp_path):
    text = "Title\n\nBaku - Azerbaijan on Monday marked the day.\n"
    (article,), _ = read(write(tmp_path, "a.txt", text))
    assert article.dateline == "Baku" and article.dateline_place.country == "AZ"
    text = "Title\n\nOfficials - not a place - said so.\n"
    (article,), _ = read(write(tmp_path, "b.txt", text))
    assert article.dateline is None
    assert article.body == "Officials - not a place - said so."


def test_capitalized_headline_with_dash_stays_the_title(tmp_path):
    text = "U.S. - JAPAN TRADE TALKS END\n\nWASHINGTON, March 3 - Talks ended.\n"
    (article,), _ = read(write(tmp_path, "t.txt", text))
    assert article.title == "U.S. - JAPAN TRADE TALKS END"
    assert article.dateline == "WASHINGTON, March 3"


# --- dates and metadata -----------------------------------------------------------------


def test_dateline_with_year_gives_the_date(tmp_path):
    text = "Title\n\nBAKU, Azerbaijan, Feb. 26, 2024 (AP) - Crowds gathered.\n"
    (article,), _ = read(write(tmp_path, "d.txt", text))
    assert (article.date, article.date_source) == (dt.date(2024, 2, 26), "dateline")
    assert article.source == "AP"


def test_dateline_month_day_without_a_year_gives_no_date(tmp_path):
    (article,), _ = read(write(tmp_path, "d.txt", "Title\n\nSALVADOR, Feb 26 - Rain.\n"))
    assert (article.date, article.date_source) == (None, "none")


def test_dateline_month_day_with_metadata_year(tmp_path):
    write(tmp_path, "d.json", json.dumps({"date": "1987"}))
    (article,), _ = read(write(tmp_path, "d.txt", "Title\n\nSALVADOR, Feb 26 - Rain.\n"))
    assert (article.date, article.date_source) == (dt.date(1987, 2, 26), "dateline")


def test_sidecar_supplies_what_the_text_lacks(tmp_path):
    meta = {
        "date": "2024-03-01T08:00:00Z",
        "source": "Example Wire",
        "url": "https://x.test/1",
        "id": "story-1",
    }
    write(tmp_path, "s.json", json.dumps(meta))
    (article,), report = read(write(tmp_path, "s.txt", "Title\n\nNo dateline here.\n"))
    assert article.id == "story-1"
    assert (article.date, article.date_source) == (dt.date(2024, 3, 1), "metadata")
    assert article.source == "Example Wire"
    assert article.url == "https://x.test/1"
    assert report.files == 1


def test_agency_in_the_text_wins_over_metadata_source(tmp_path):
    write(tmp_path, "s.json", json.dumps({"source": "Other"}))
    (article,), _ = read(write(tmp_path, "s.txt", "Title\n\nJAKARTA (ANTARA) - Text.\n"))
    assert article.source == "ANTARA"


def test_front_matter(tmp_path):
    text = '---\ndate: 2024-02-26\nsource: "MINA"\nurl: https://x.test/a\n---\nTitle\n\nBody.\n'
    (article,), report = read(write(tmp_path, "f.md", text))
    assert (article.title, article.body) == ("Title", "Body.")
    assert article.date == dt.date(2024, 2, 26) and article.source == "MINA"
    assert article.url == "https://x.test/a"
    assert not report.repaired


def test_unclosed_front_matter_is_reported_and_kept_as_text(tmp_path):
    text = "---\ndate: 2024-02-26\nTitle\n\nBody.\n"
    (article,), report = read(write(tmp_path, "f.md", text))
    assert report.repaired["bad metadata"] == 1
    assert article.date is None


@pytest.mark.parametrize("sidecar", ["{not json", "[1, 2]", '{"date": 5.5, "source": 3}'])
def test_bad_sidecar_is_reported_and_the_story_kept(tmp_path, sidecar):
    write(tmp_path, "b.json", sidecar)
    (article,), report = read(write(tmp_path, "b.txt", "Title\n\nBody text.\n"))
    assert article.body == "Body text."
    assert report.repaired["bad metadata"] + report.repaired["bad date"] >= 1


def test_bad_metadata_date_is_reported_and_the_story_kept(tmp_path):
    write(tmp_path, "b.json", json.dumps({"date": "26/02/2024"}))
    (article,), report = read(write(tmp_path, "b.txt", "Title\n\nBody text.\n"))
    assert article.date is None and article.date_source == "none"
    assert report.repaired["bad date"] == 1


def test_impossible_dateline_date_is_reported(tmp_path):
    text = "Title\n\nBAKU, Feb 30, 2024 (AP) - Text.\n"
    (article,), report = read(write(tmp_path, "b.txt", text))
    assert article.date is None
    assert report.repaired["bad date"] == 1


# --- shapes of files --------------------------------------------------------------------


def test_markdown_heading_and_wrapped_lines(tmp_path):
    text = "# Port Reopens\n\nLONDON (Reuters) - The port\nreopened on Monday.\n\nMore.\n"
    (article,), _ = read(write(tmp_path, "p.md", text))
    assert article.title == "Port Reopens"
    assert article.body == "The port reopened on Monday.\n\nMore."


def test_story_without_title_is_kept_and_counted(tmp_path):
    text = (
        "Baku, MINA - Azerbaijan on Monday commemorated the anniversary of the massacre "
        "with events across the country.\n\nMore text.\n"
    )
    (article,), report = read(write(tmp_path, "untitled.txt", text))
    assert article.title == ""
    assert article.body.startswith("Azerbaijan on Monday")
    assert report.repaired["missing title"] == 1


def test_title_only_is_skipped_as_missing_body(tmp_path):
    articles, report = read(write(tmp_path, "t.txt", "Just A Headline\n"))
    assert articles == []
    assert report.skipped["missing body"] == 1


def test_boilerplate_only_body_is_missing_body(tmp_path):
    text = "Headline\n\nAlso Read: Other story\n\nMi'raj News Agency (MINA)\n"
    articles, report = read(write(tmp_path, "t.txt", text))
    assert articles == [] and report.skipped["missing body"] == 1


def test_extensionless_text_file_is_a_wire_story(tmp_path):
    (article,), _ = read(write(tmp_path, "STORY", "Title\n\nBody.\n"))
    assert article.id == "STORY" and article.format == "wire"


# --- bad files ----------------------------------------------------------------------------


def test_cp1252_bytes_are_repaired(tmp_path):
    data = b"Caf\xe9 Opens\n\nPARIS (AFP) - The \x93caf\xe9\x94 opened.\n"
    (article,), report = read(write(tmp_path, "c.txt", data))
    assert article.title == "Café Opens"
    assert article.body == 'The "café" opened.'
    assert report.repaired["undecodable bytes"] == 1


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b" \n\n\t\n", "empty file"),
        ("nul.txt", b"Title\n\nBody\x00with\x00nul\x00bytes", "binary file"),
        ("image", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary file"),
    ],
)
def test_unusable_files_are_skipped_with_a_reason(tmp_path, name, data, reason):
    articles, report = read(write(tmp_path, name, data))
    assert articles == []
    assert report.skipped == {reason: 1}
    assert report.examples[reason] == [str(tmp_path / name)]


def test_file_over_the_size_limit_is_skipped(tmp_path):
    path = write(tmp_path, "big.txt", "Title\n\n" + "word " * 100)
    articles, report = read(path, max_file_bytes=100)
    assert articles == [] and report.skipped == {"file too large": 1}


def test_vanished_file_is_reported(tmp_path):
    articles, report = read(tmp_path / "gone.txt")
    assert articles == [] and report.skipped == {"unreadable file": 1}
