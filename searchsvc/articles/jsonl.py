"""JSON Lines exports: one article object per line, as content systems write them.

Fields: ``id``, ``title``, ``body``, ``date`` (ISO 8601), ``source``, ``place`` (the
dateline place as written), ``url`` and ``language`` (a tag such as ``id``, ``en-US`` or
``ara``, or a name such as ``Indonesian``; ``lang`` and schema.org's ``inLanguage`` are
read too); only ``body`` is required. An article whose language is not given, or not
recognized, gets the one its text shows. The file is read a
line at a time, so an export of any size streams through in bounded memory: there is
no cap on the file's size, only on one line's (``max_file_bytes``, the most any reader
holds at once). A big export can be read in :class:`~searchsvc.articles.files.FilePart`
pieces by several workers; each record keeps its line number as its origin.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from searchsvc.articles.batches import Pending, finish_articles, finished_in_batches
from searchsvc.articles.files import (
    REPAIR_UNDECODABLE,
    SKIP_BINARY,
    SKIP_EMPTY,
    SKIP_UNREADABLE,
    FilePart,
)
from searchsvc.articles.languages import declared_tag
from searchsvc.articles.model import Article, IngestReport
from searchsvc.articles.story import choose_date, clean_story_body
from searchsvc.articles.text import (
    BINARY_SAMPLE_BYTES,
    decode_text,
    looks_binary,
    normalize_unicode,
)

JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})

SKIP_MALFORMED = "malformed JSON line"
SKIP_NOT_OBJECT = "JSON line is not an object"
SKIP_MISSING_BODY = "missing body"
SKIP_LINE_TOO_LONG = "JSON line too long"
REPAIR_BAD_FIELD = "bad field value"

_TEXT_FIELDS = ("id", "title", "source", "place", "url")
_SKIP_BLOCK = 1 << 20


def read_jsonl(
    path: Path,
    report: IngestReport,
    *,
    max_file_bytes: int,
    with_places: bool = True,
    part: FilePart | None = None,
) -> Iterator[Article]:
    """Articles from a JSON Lines file (or one ``part`` of it), one by one.

    Bad lines are reported and skipped, a line longer than ``max_file_bytes`` too.
    What concerns the whole file (binary, empty) is reported by the reader of its first
    part only, so a file read in parts is counted once. A part that cannot be read is
    reported as ``FILE@START``: the file was readable when it was cut, so its other parts
    may not fail, and their articles must not go missing unsaid.
    """
    reports_file = part is None or part.start == 0
    try:
        with path.open("rb") as stream:
            if looks_binary(stream.read(BINARY_SAMPLE_BYTES)):
                if reports_file:
                    report.skip(SKIP_BINARY, str(path))
                return
            records = _read_records(stream, path, report, part, max_file_bytes, with_places)
            lines = yield from finished_in_batches(records, with_places)
    except OSError:
        report.skip(SKIP_UNREADABLE, str(path) if reports_file else f"{path}@{part.start}")
        return
    if lines == 0 and part is None:  # a file is cut in parts only if it has text
        report.skip(SKIP_EMPTY, str(path))


def _read_records(
    stream: BinaryIO,
    path: Path,
    report: IngestReport,
    part: FilePart | None,
    max_line_bytes: int,
    with_places: bool,
) -> Generator[Pending, None, int]:
    """The articles between the part's bounds, before their places and languages are
    found; returns how many lines were not blank."""
    start, end, number = (0, None, 1) if part is None else (part.start, part.end, part.first_line)
    stream.seek(start)
    position, lines = start, 0
    while end is None or position < end:
        raw = stream.readline(max_line_bytes + 1)
        if not raw:
            break
        position += len(raw)
        origin = f"{path}:{number}"
        number += 1
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            position += _skip_rest_of_line(stream)
            lines += 1
            report.skip(SKIP_LINE_TOO_LONG, origin)
            continue
        if not raw.strip():
            continue
        lines += 1
        record = _parse_line(raw, report, origin)
        if record is None:
            continue
        pending = _pending_article(record, path, origin, report, with_places)
        if pending is not None:
            yield pending
    return lines


def _skip_rest_of_line(stream: BinaryIO) -> int:
    """Read past the end of an over-long line without holding it; bytes skipped."""
    skipped = 0
    while block := stream.read(_SKIP_BLOCK):
        newline = block.find(b"\n")
        if newline >= 0:
            stream.seek(newline + 1 - len(block), 1)
            return skipped + newline + 1
        skipped += len(block)
    return skipped


def _parse_line(raw: bytes, report: IngestReport, origin: str) -> dict[str, Any] | None:
    line, repaired = decode_text(raw)
    if repaired:
        report.repair(REPAIR_UNDECODABLE, origin)
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's stack
        report.skip(SKIP_MALFORMED, origin)
        return None
    if not isinstance(record, dict):
        report.skip(SKIP_NOT_OBJECT, origin)
        return None
    return record


def parse_jsonl_record(
    record: dict[str, Any],
    *,
    path: Path,
    origin: str,
    report: IngestReport,
    with_places: bool = True,
) -> Article | None:
    """One article from one decoded JSON object; None, reported, if it has no body."""
    pending = _pending_article(record, path, origin, report, with_places)
    return next(finish_articles([pending], with_places)) if pending is not None else None


def _pending_article(
    record: dict[str, Any], path: Path, origin: str, report: IngestReport, with_places: bool
) -> Pending | None:
    """What one JSON object says itself, before its places and language are found."""
    fields = {name: _text_field(record, name, report, origin) for name in _TEXT_FIELDS}
    body_text = record.get("body")
    if not isinstance(body_text, str) or not body_text.strip():
        report.skip(SKIP_MISSING_BODY, origin)
        return None
    story = clean_story_body(normalize_unicode(body_text), with_places=with_places)
    if not story.body:
        report.skip(SKIP_MISSING_BODY, origin)
        return None
    title = " ".join(normalize_unicode(fields["title"] or "").split())
    dateline = story.dateline
    source = fields["source"] or (dateline.agency if dateline else None) or story.footer_agency
    date, date_source = choose_date(
        record.get("date"), "source", dateline, report, origin, text_first=False
    )
    article = {
        "id": fields["id"] or _derived_id(path, title, story.body),
        "title": title,
        "body": story.body,
        "dateline": dateline.text if dateline else fields["place"],
        "date": date,
        "date_source": date_source,
        "source": source,
        "url": fields["url"],
        "origin": origin,
        "format": "jsonl",
    }
    place_text = fields["place"] or (dateline.place if dateline else None)
    return Pending(article, place_text=place_text, declared_language=declared_tag(record))


def _text_field(record: dict[str, Any], name: str, report: IngestReport, origin: str) -> Any:
    value = record.get(name)
    if value is None:
        return None
    if name == "id" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    report.repair(REPAIR_BAD_FIELD, origin)
    return None


def _derived_id(path: Path, title: str, body: str) -> str:
    """An id that stays the same across builds as long as the article's text does."""
    digest = hashlib.blake2b(f"{title}\n{body}".encode(), digest_size=8).hexdigest()
    return f"{path.stem}-{digest}"
