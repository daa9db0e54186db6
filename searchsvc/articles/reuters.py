"""Reuters-21578 SGML: ``<REUTERS>`` records with their own title, dateline, date and body.

The files are not XML (control codes as ``&#N;``, one raw latin-1 byte, junk after some
dates), so records are cut out with precompiled patterns rather than a parser. A file is
about 1.3 MB and is read whole, but its records are parsed and yielded one at a time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Generator, Iterator
from pathlib import Path

from searchsvc.articles.batches import Pending, finish_articles, finished_in_batches
from searchsvc.articles.datelines import parse_tag_dateline
from searchsvc.articles.dates import month_number
from searchsvc.articles.files import read_text_file
from searchsvc.articles.model import Article, IngestReport
from searchsvc.articles.text import normalize_unicode

REUTERS_SUFFIXES = frozenset({".sgm", ".sgml"})
SOURCE_NAME = "Reuters"

SKIP_MALFORMED = "malformed SGML record"
SKIP_NO_RECORDS = "no Reuters records"
SKIP_MISSING_BODY = "missing body"
REPAIR_DATE_JUNK = "junk after date"
REPAIR_BAD_DATE = "bad date"

_RECORD_START = re.compile(r"<REUTERS\b")
_NEWID = re.compile(r'\bNEWID="(\d+)"')
_DATE_VALUE = re.compile(
    r"\s*(\d{1,2})-([A-Za-z]{3})-(\d{4})(?:\s+\d{1,2}:\d{2}:\d{2}(?:\.\d+)?)?(.*)", re.DOTALL
)
_TEXT_START = re.compile(r"<TEXT\b([^>]*)>")
_PLACES = re.compile(r"<PLACES>(.*?)</PLACES>", re.DOTALL)
_LABEL = re.compile(r"<D>(.*?)</D>", re.DOTALL)
_CHAR_REF = re.compile(r"&#\d+;")
SIGN_OFF = "reuter"
_SPACES = re.compile(r"\s+")
#: Where a paragraph of a story starts: before a blank or an indented line.
_PARAGRAPH_BREAK = re.compile(r"\n(?=\s|\Z)")


def read_reuters(
    path: Path, report: IngestReport, *, max_file_bytes: int, with_places: bool = True
) -> Iterator[Article]:
    """The articles of one Reuters SGML file; BRIEF records (headline only) are skipped.

    Their places and languages are found a batch of records at a time
    (:mod:`searchsvc.articles.batches`).
    """
    text = read_text_file(path, report, max_file_bytes=max_file_bytes)
    if text is None:
        return
    records = yield from finished_in_batches(_parsed_records(text, path, report), with_places)
    if not records:
        report.skip(SKIP_NO_RECORDS, str(path))


def _parsed_records(text: str, path: Path, report: IngestReport) -> Generator[Pending, None, int]:
    """The file's articles as parsed, before places and language; returns its record count."""
    records = 0
    for number, record in enumerate(split_records(text), start=1):
        records = number
        parsed = _parse_record(record, f"{path}#{number}", report)
        if parsed is not None:
            yield parsed
    return records


def split_records(text: str) -> Iterator[str]:
    """Each ``<REUTERS ...>...`` chunk, from one start tag to the next."""
    starts = [match.start() for match in _RECORD_START.finditer(text)]
    if not starts:
        return
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        yield text[start:end]


def parse_reuters_record(
    record: str, origin: str, report: IngestReport, *, with_places: bool = True
) -> Article | None:
    """One article from one record; None (reported) for a broken or bodiless record."""
    parsed = _parse_record(record, origin, report)
    return next(finish_articles([parsed], with_places)) if parsed is not None else None


def _parse_record(record: str, origin: str, report: IngestReport) -> Pending | None:
    """What one record says itself, before its places and language are found."""
    head_end = record.find(">")
    newid = _NEWID.search(record, 0, head_end)
    text = _text_element(record)
    if head_end < 0 or newid is None or text is None or "</REUTERS>" not in record:
        report.skip(SKIP_MALFORMED, origin)
        return None
    text_type, content = text
    if 'TYPE="UNPROC"' in text_type:
        title, body, dateline = "", _unprocessed_body(content), None
    else:
        raw_title, raw_body = _element(content, "TITLE"), _element(content, "BODY")
        if raw_body is None:
            report.skip(SKIP_MISSING_BODY, origin)
            return None
        title = _SPACES.sub(" ", _unescape(raw_title)).strip() if raw_title is not None else ""
        body = _story_body(raw_body)
        raw_dateline = _element(content, "DATELINE")
        dateline = parse_tag_dateline(_unescape(raw_dateline)) if raw_dateline is not None else None
    if not body:
        report.skip(SKIP_MISSING_BODY, origin)
        return None
    raw_date = _element(record, "DATE")
    date = _parse_date(raw_date, report, origin) if raw_date is not None else None
    fields = {
        "id": f"reuters-{newid.group(1)}",
        "title": title,
        "body": body,
        "dateline": dateline.text if dateline else None,
        "date": date,
        "date_source": "source" if date else "none",
        "source": SOURCE_NAME,
        "origin": origin,
        "format": "reuters",
    }
    # The collection is English, but its files say nothing of it: its language is
    # detected like any other undeclared source's.
    return Pending(fields, place_text=dateline.place if dateline else None)


def _element(text: str, tag: str) -> str | None:
    """What lies between the first ``<tag>`` and the ``</tag>`` after it, if both are there.

    Found with ``str.find``: a lazy ``<tag>(.*?)</tag>`` pattern tries the end tag at every
    character of a story, a tenth of the time it takes to read one.
    """
    start = text.find(f"<{tag}>")
    if start < 0:
        return None
    start += len(tag) + 2
    end = text.find(f"</{tag}>", start)
    return text[start:end] if end >= 0 else None


def _text_element(record: str) -> tuple[str, str] | None:
    """The ``<TEXT ...>`` element's attributes and content (as :func:`_element` finds them)."""
    start = _TEXT_START.search(record)
    if start is None:
        return None
    end = record.find("</TEXT>", start.end())
    return (start.group(1), record[start.end() : end]) if end >= 0 else None


def read_place_labels(path: Path) -> Iterator[tuple[str, tuple[str, ...]]]:
    """``(article id, <PLACES> labels)`` for every record of a file, to measure places against.

    The labels are the collection's annotations, not part of the story, so they stay out
    of :class:`Article`.
    """
    text = path.read_bytes().decode("latin-1")
    for record in split_records(text):
        newid = _NEWID.search(record)
        places = _PLACES.search(record)
        if newid is None:
            continue
        labels = tuple(_LABEL.findall(places.group(1))) if places else ()
        yield f"reuters-{newid.group(1)}", labels


def _unescape(text: str) -> str:
    text = _CHAR_REF.sub("", text)
    if "&" in text:
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return normalize_unicode(text)


def _story_body(raw: str) -> str:
    """Rejoin the 70-column lines; an indented line starts a new paragraph."""
    chunks = map(str.strip, _PARAGRAPH_BREAK.split(_drop_sign_off(_unescape(raw))))
    return "\n\n".join(filter(None, map(_joined_lines, chunks)))


def _joined_lines(paragraph: str) -> str:
    """A stripped paragraph's lines joined by one space.

    Every line but a paragraph's first starts with a non-space, so joining is replacing
    each line break and the spaces before it. Done by ``split`` and ``rstrip``: a
    ``\\s*\\n`` substitution tries a match at every space of the text, three times slower.
    """
    return " ".join(map(str.rstrip, paragraph.split("\n")))


def _unprocessed_body(raw: str) -> str:
    """UNPROC records are tables and lists: keep their lines as they are."""
    lines = [line.rstrip() for line in _drop_sign_off(_unescape(raw)).split("\n")]
    return "\n".join(lines).strip("\n")


def _drop_sign_off(text: str) -> str:
    """Remove the closing "Reuter" line every story ends with."""
    text = text.rstrip()
    tail = text[-len(SIGN_OFF) - 1 :]
    if tail[1:].lower() == SIGN_OFF and not tail[0].isalnum():
        return text[: -len(SIGN_OFF)]
    return text


def _parse_date(raw: str, report: IngestReport, origin: str) -> dt.date | None:
    match = _DATE_VALUE.match(raw)
    month = month_number(match.group(2)) if match else None
    if match is None or month is None:
        report.repair(REPAIR_BAD_DATE, origin)
        return None
    if _CHAR_REF.sub("", match.group(4)).strip():
        report.repair(REPAIR_DATE_JUNK, origin)
    try:
        return dt.date(int(match.group(3)), month, int(match.group(1)))
    except ValueError:
        report.repair(REPAIR_BAD_DATE, origin)
        return None
