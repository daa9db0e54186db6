"""Reuters-21578 SGML: records written here in the collection's own quirky shape, then all
of the real collection."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchsvc.articles import Article, IngestReport
from searchsvc.articles.reuters import _drop_sign_off, _story_body, _unescape, read_place_labels
from searchsvc.articles.sources import read_articles, read_file

MAX_BYTES = 10_000_000

STORY = """<REUTERS TOPICS="YES" LEWISSPLIT="TRAIN" OLDID="1" NEWID="{newid}">
<DATE>{date}</DATE>
<TOPICS><D>cocoa</D></TOPICS>
<PLACES>{places}</PLACES>
<PEOPLE></PEOPLE>
<UNKNOWN>
&#5;&#5;&#5;C T
&#22;&#22;&#1;f0704&#31;reute
u f BC-BAHIA-COCOA-REVIEW   02-26 0105</UNKNOWN>
<TEXT>&#2;
<TITLE>{title}</TITLE>
<DATELINE>    {dateline} - </DATELINE><BODY>{body}
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
"""

BRIEF = """<REUTERS TOPICS="YES" NEWID="{newid}">
<DATE>26-FEB-1987 15:41:56.54</DATE>
<PLACES></PLACES>
<TEXT TYPE="BRIEF">&#2;
******<TITLE>ASSETS OF MONEY MARKET MUTUAL FUNDS ROSE 720.4 MLN DLRS
</TITLE>Blah blah blah.
&#3;

</TEXT>
</REUTERS>
"""

UNPROC = """<REUTERS TOPICS="NO" NEWID="{newid}">
<DATE>26-FEB-1987 16:34:34.40</DATE>
<PLACES><D>usa</D></PLACES>
<TEXT TYPE="UNPROC">&#2;
FEDERAL RESERVE WEEKLY REPORT 1 - FEB 26
 Net free reserves.............644 vs.....1,337
 Bank borrowings...............680 vs.......425
 Reuter
&#3;</TEXT>
</REUTERS>
"""

BODY = """Showers continued throughout the week in
the Bahia cocoa zone, alleviating the drought since early
January, Comissaria Smith said.
    Arrivals for the week were 155,221 bags &lt;of 60 kilos>
and stocks rose.
    Final figures are expected &amp; published later."""


def story(newid: int, **fields: str) -> str:
    values = {
        "date": "26-FEB-1987 15:01:01.79",
        "places": "<D>brazil</D>",
        "title": "BAHIA COCOA REVIEW",
        "dateline": "SALVADOR, Feb 26",
        "body": BODY,
    }
    values.update(fields)
    return STORY.format(newid=newid, **values)


def write_sgm(tmp_path: Path, *records: str, name: str = "reut2-900.sgm") -> Path:
    path = tmp_path / name
    text = '<!DOCTYPE lewis SYSTEM "lewis.dtd">\n' + "".join(records)
    path.write_bytes(text.encode("latin-1"))
    return path


def read(path: Path) -> tuple[list[Article], IngestReport]:
    report = IngestReport()
    return list(read_file(path, report, max_file_bytes=MAX_BYTES)), report


def test_story_record(tmp_path):
    path = write_sgm(tmp_path, story(1))
    (article,), report = read(path)
    assert article.id == "reuters-1"
    assert article.title == "BAHIA COCOA REVIEW"
    assert article.dateline == "SALVADOR, Feb 26"
    assert article.dateline_place.name == "Salvador"
    assert article.dateline_place.country == "BR"
    assert (article.date, article.date_source) == (dt.date(1987, 2, 26), "source")
    assert article.source == "Reuters" and article.format == "reuters"
    assert article.origin == f"{path}#1"
    assert article.body == (
        "Showers continued throughout the week in the Bahia cocoa zone, alleviating the "
        "drought since early January, Comissaria Smith said.\n\n"
        "Arrivals for the week were 155,221 bags <of 60 kilos> and stocks rose.\n\n"
        "Final figures are expected & published later."
    )
    assert "Reuter" not in article.body and "&#" not in article.body
    assert report.articles == 1 and not report.skipped and not report.repaired


def test_body_paragraphs_from_blank_and_indented_lines(tmp_path):
    # Lines end in spaces, a blank line holds spaces, the body opens on a blank line and
    # an indented one: each blank or indented line starts a paragraph, the others join.
    body = "\n  \nFirst line   \nsecond line.\n   \nThird  para\n  Fourth,\nstill fourth.  "
    path = write_sgm(tmp_path, story(5, body=body))
    (article,), _ = read(path)
    assert article.body == ("First line second line.\n\nThird  para\n\nFourth, still fourth.")


def test_brief_is_skipped_and_unproc_kept_without_title(tmp_path):
    path = write_sgm(tmp_path, BRIEF.format(newid=2), UNPROC.format(newid=3), story(4))
    articles, report = read(path)
    assert [a.id for a in articles] == ["reuters-3", "reuters-4"]
    unproc = articles[0]
    assert unproc.title == "" and unproc.dateline is None
    assert unproc.body.splitlines() == [
        "FEDERAL RESERVE WEEKLY REPORT 1 - FEB 26",
        " Net free reserves.............644 vs.....1,337",
        " Bank borrowings...............680 vs.......425",
    ]
    assert report.skipped == {"missing body": 1}
    assert report.examples["missing body"] == [f"{path}#1"]
    assert report.repaired["missing title"] == 1


def test_malformed_records_are_skipped_and_the_rest_read(tmp_path):
    no_newid = story(5).replace('NEWID="5"', "")
    no_text = story(6).replace("<TEXT>", "<TXT>")
    unclosed = story(8).replace("</REUTERS>", "")
    path = write_sgm(tmp_path, no_newid, no_text, story(7), unclosed)
    articles, report = read(path)
    assert [a.id for a in articles] == ["reuters-7"]
    assert report.skipped == {"malformed SGML record": 3}


def test_date_quirks(tmp_path):
    records = [
        story(10, date=" 3-MAR-1987 09:17:32.30"),
        story(11, date="19-OCT-1987 15:37:46.03&#9;&#9;&#9;F"),
        story(12, date="31-FEB-1987 10:00:00.00"),
        story(13, date="garbage"),
    ]
    articles, report = read(write_sgm(tmp_path, *records))
    assert [(a.date, a.date_source) for a in articles] == [
        (dt.date(1987, 3, 3), "source"),
        (dt.date(1987, 10, 19), "source"),
        (None, "none"),
        (None, "none"),
    ]
    assert report.repaired == {"junk after date": 1, "bad date": 2}


def test_latin1_byte_is_repaired(tmp_path):
    record = story(20, body="Gespr\xe4che in Z\xfcrich continued.")
    path = write_sgm(tmp_path, record)
    (article,), report = read(path)
    assert article.body == "Gespräche in Zürich continued."
    assert report.repaired == {"undecodable bytes": 1}


def test_junk_dateline_gives_no_place(tmp_path):
    (article,), _ = read(write_sgm(tmp_path, story(30, dateline="MAR8  --     --")))
    assert article.dateline_place is None


def test_place_labels_stay_out_of_articles(tmp_path):
    path = write_sgm(
        tmp_path, story(40, places="<D>el-salvador</D><D>usa</D>"), BRIEF.format(newid=41)
    )
    assert list(read_place_labels(path)) == [
        ("reuters-40", ("el-salvador", "usa")),
        ("reuters-41", ()),
    ]


def story_body_by_substitution(raw: str) -> str:
    """The body as one substitution per paragraph joins its lines: the reference."""
    chunks = (chunk.strip() for chunk in re.split(r"\n(?=\s|\Z)", _drop_sign_off(_unescape(raw))))
    return "\n\n".join(filter(None, (re.sub(r"\s*\n", " ", chunk) for chunk in chunks)))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([*"ab. \n\t\r\x0b\x0c\x1c\x85\u2003", "  \n", "\n "]), max_size=40))
def test_body_lines_join_as_one_substitution_joins_them(parts):
    raw = "".join(parts) + "\n Reuter\n&#3;"
    assert _story_body(raw) == story_body_by_substitution(raw)


@pytest.mark.corpus
@pytest.mark.slow
def test_all_of_reuters_is_accounted_for(reuters_dir):
    paths = sorted(reuters_dir.glob("reut2-*.sgm"))
    report = IngestReport()
    ids = set()
    titled = with_place = 0
    for article in read_articles(paths, report, max_file_bytes=MAX_BYTES, with_places=False):
        ids.add(article.id)
        titled += bool(article.title)
        with_place += article.dateline is not None
    assert report.files == 22
    assert report.read_by_format["reuters"] == len(ids)
    assert len(ids) + sum(report.skipped.values()) == 21578
    # 1798 BRIEF records have only a headline; one UNPROC record is empty.
    assert report.skipped == {"missing body": 1799}
    # UNPROC records (737, one of them empty) have no title but are kept.
    assert report.repaired["missing title"] == 736 == len(ids) - titled
    assert report.repaired["undecodable bytes"] == 1
    # 19043 <DATELINE> tags, one of them only "--".
    assert with_place == 19042
