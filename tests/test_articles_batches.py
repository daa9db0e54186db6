"""Articles finished a batch at a time are the articles finished one by one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchsvc.articles import batches
from searchsvc.articles.batches import Pending, finish_articles, finished_in_batches
from searchsvc.articles.model import IngestReport
from searchsvc.articles.sources import read_file

TEXTS = [
    ("Brazil cocoa harvest", "Rains in Bahia helped the crop, exporters in Salvador said."),
    ("", "Le gouvernement a annoncé des mesures pour soutenir les exportateurs."),
    ("JAPAN TRADE SURPLUS", "Japan's surplus with the U.S. widened, the ministry in Tokyo said."),
    ("Kurs rupiah menguat", "Bank Indonesia menyatakan bahwa nilai tukar rupiah terus menguat."),
    ("Short", "Ok."),
]


def pending_article(number: int, text: int, place: str | None, declared: str | None) -> Pending:
    title, body = TEXTS[text]
    fields = {"id": f"a{number}", "title": title, "body": body, "origin": f"t#{number}"}
    return Pending(fields, place_text=place, declared_language=declared)


def counted(items: list[Pending]) -> Iterator[Pending]:
    yield from items
    return len(items)


@settings(max_examples=60, deadline=None)
@given(
    items=st.lists(
        st.tuples(
            st.integers(0, len(TEXTS) - 1),
            st.sampled_from([None, "SAO PAULO", "SALVADOR", "TOKYO, Japan"]),
            st.sampled_from([None, "fr", "en-US", "Indonesian", "not a language"]),
        ),
        max_size=12,
    ),
    batch_size=st.integers(1, 5),
    with_places=st.booleans(),
)
def test_batches_of_any_size_give_the_articles_finished_one_by_one(
    items: list[tuple[int, str | None, str | None]], batch_size: int, with_places: bool
) -> None:
    pending = [pending_article(n, *item) for n, item in enumerate(items)]
    one_by_one = [next(finish_articles([p], with_places)) for p in pending]
    batched = finished_in_batches(counted(pending), with_places, batch_size)
    articles = []
    while True:
        try:
            articles.append(next(batched))
        except StopIteration as end:
            assert end.value == len(pending)  # what the reader returns comes through
            break
    assert articles == one_by_one


def write_sources(folder: Path) -> list[Path]:
    """A Reuters file and a JSON Lines export with good records and bad ones among them."""
    record = (
        '<REUTERS NEWID="{n}"><DATE>{date}</DATE><TEXT>&#2;<TITLE>{title}</TITLE>'
        "<DATELINE>    {place}, Feb 26 - </DATELINE><BODY>{body}\n Reuter\n&#3;</BODY></TEXT>"
        "</REUTERS>\n"
    )
    sgml = [
        record.format(n=n, date=date, title=title, place=place, body=body)
        for n, (date, (title, body), place) in enumerate(
            zip(
                ["26-FEB-1987 15:01:01.79", "junk", "1-MAR-1987 10:00:00.00 x", "2-MAR-1987"] * 2,
                TEXTS + TEXTS[:3],
                ["SALVADOR", "PARIS", "TOKYO", "JAKARTA"] * 2,
                strict=False,
            ),
            start=1,
        )
    ]
    sgml.insert(3, '<REUTERS NEWID="99"><TEXT>no end')
    (folder / "reut2-000.sgm").write_text("".join(sgml), encoding="latin-1")
    lines = [
        json.dumps({"id": f"j{n}", "title": title, "body": body, "date": date, "language": lang})
        for n, ((title, body), date, lang) in enumerate(
            zip(
                TEXTS * 2,
                ["2024-02-26", "bad", None] * 4,
                [None, "fr", "xx-bogus"] * 4,
                strict=False,
            ),
        )
    ]
    lines[4:4] = ["{not json", json.dumps({"title": "no body"}), "[1, 2]"]
    (folder / "export.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [folder / "reut2-000.sgm", folder / "export.jsonl"]


@pytest.mark.parametrize("with_places", [True, False])
def test_readers_give_the_same_articles_and_report_whatever_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_places: bool
) -> None:
    paths = write_sources(tmp_path)

    def read_all() -> tuple[list, dict]:
        report = IngestReport()
        articles = [
            article
            for path in paths
            for article in read_file(
                path, report, max_file_bytes=1_000_000, with_places=with_places
            )
        ]
        return articles, report.to_dict()

    whole = read_all()
    monkeypatch.setattr(batches, "BATCH_ARTICLES", 2)
    assert read_all() == whole
    monkeypatch.setattr(batches, "BATCH_ARTICLES", 1)
    assert read_all() == whole
    articles, report = whole
    assert len(articles) == 18 and report["skipped"] and report["repaired"]


def test_articles_parsed_before_a_reader_fails_still_come_out() -> None:
    pending = [pending_article(n, n % len(TEXTS), None, "en") for n in range(3)]

    def failing() -> Iterator[Pending]:
        yield from pending
        raise OSError("device gone")

    articles = []
    with pytest.raises(OSError, match="device gone"):
        for article in finished_in_batches(failing(), with_places=False, batch_size=10):
            articles.append(article)
    assert [a.id for a in articles] == ["a0", "a1", "a2"]
