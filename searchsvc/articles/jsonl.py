"""JSON Lines exports: one article object per line, as content systems write them.

Fields: ``id``, ``title``, ``body``, ``date`` (ISO 8601), ``source``, ``place`` (the
dateline place as written) and ``url``; only ``body`` is required. The file is read a
line at a time, so an export of any size streams through in constant memory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from searchsvc.articles.files import (
    REPAIR_UNDECODABLE,
    SKIP_BINARY,
    SKIP_EMPTY,
    SKIP_UNREADABLE,
    check_size,
)
from searchsvc.articles.model import Article, IngestReport
from searchsvc.articles.story import choose_date, clean_story_body
from searchsvc.articles.text import decode_text, looks_binary, normalize_unicode

JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})

SKIP_MALFORMED = "malformed JSON line"
SKIP_NOT_OBJECT = "JSON line is not an object"
SKIP_MISSING_BODY = "missing body"
REPAIR_BAD_FIELD = "bad field value"

_TEXT_FIELDS = ("id", "title", "source", "place", "url")


def read_jsonl(
    path: Path, report: IngestReport, *, max_file_bytes: int, with_places: bool = True
) -> Iterator[Article]:
    """Articles from a JSON Lines file, one by one; bad lines are reported and skipped."""
    if not check_size(path, report, max_file_bytes=max_file_bytes):
        return
    try:
        with path.open("rb") as stream:
            if looks_binary(stream.read(8192)):
                report.skip(SKIP_BINARY, str(path))
                return
            stream.seek(0)
            lines = 0
            for number, raw in enumerate(stream, start=1):
                if not raw.strip():
                    continue
                lines += 1
                origin = f"{path}:{number}"
                record = _parse_line(raw, report, origin)
                if record is None:
                    continue
                article = parse_jsonl_record(
                    record, path=path, origin=origin, report=report, with_places=with_places
                )
                if article is not None:
                    yield article
    except OSError:
        report.skip(SKIP_UNREADABLE, str(path))
        return
    if lines == 0:
        report.skip(SKIP_EMPTY, str(path))


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
    place_text = fields["place"] or (dateline.place if dateline else None)
    dateline_place, places = None, ()
    if with_places:
        from searchsvc.articles.placing import locate

        dateline_place, places = locate(title, story.body, place_text)
    return Article(
        id=fields["id"] or _derived_id(path, title, story.body),
        title=title,
        body=story.body,
        dateline=dateline.text if dateline else fields["place"],
        dateline_place=dateline_place,
        places=places,
        date=date,
        date_source=date_source,
        source=source,
        url=fields["url"],
        origin=origin,
        format="jsonl",
    )


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
