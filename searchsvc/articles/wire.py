"""Wire stories in plain text: a title line, then the story, opening with its dateline.

Metadata the text lacks (date, source, url, language) can sit beside the story as
``NAME.json`` or at its top as a ``---`` front-matter block of ``key: value`` lines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from searchsvc.articles.files import read_text_file
from searchsvc.articles.languages import article_language
from searchsvc.articles.model import Article, IngestReport
from searchsvc.articles.story import choose_date, clean_story_body, opening_dateline
from searchsvc.articles.text import normalize_unicode

WIRE_SUFFIXES = frozenset({".txt", ".text", ".md", ""})
SIDECAR_SUFFIX = ".json"
METADATA_KEYS = ("id", "title", "date", "source", "url", "place", "language")
# A first line this long is a paragraph, not a headline.
MAX_TITLE_CHARS = 300
MAX_FRONT_MATTER_LINES = 40
MIN_PROSE_WORDS = 12
_SENTENCE_ENDS = (".", "!", "?", '"', "'")

SKIP_MISSING_BODY = "missing body"
REPAIR_BAD_METADATA = "bad metadata"

_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+")
_FRONT_MATTER_LINE = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$")


def read_wire(
    path: Path,
    report: IngestReport,
    *,
    max_file_bytes: int,
    with_places: bool = True,
    name: str | None = None,
) -> Iterator[Article]:
    """The story in one wire file (none if the file is unusable; the report says why).

    Its id is the one its metadata gives, else ``name`` (the file's name in its
    collection, :func:`~searchsvc.articles.files.name_in_sources`), else the file's name."""
    text = read_text_file(path, report, max_file_bytes=max_file_bytes)
    if text is None:
        return
    metadata = read_sidecar(path, report)
    text, front_matter = split_front_matter(normalize_unicode(text), report, str(path))
    metadata.update(front_matter)
    article = parse_wire_story(
        text,
        story_id=name or path.stem,
        origin=str(path),
        metadata=metadata,
        report=report,
        with_places=with_places,
    )
    if article is not None:
        yield article


def parse_wire_story(
    text: str,
    *,
    story_id: str,
    origin: str,
    metadata: dict[str, Any],
    report: IngestReport,
    with_places: bool = True,
) -> Article | None:
    """One story from its (already normalized) text; None, reported, if it has no body."""
    title, rest = split_title(text)
    story = clean_story_body(rest, with_places=with_places)
    if not story.body:
        report.skip(SKIP_MISSING_BODY, origin)
        return None
    title = title or _text_value(metadata, "title", report, origin) or ""
    dateline = story.dateline
    source = (dateline.agency if dateline else None) or story.footer_agency
    source = source or _text_value(metadata, "source", report, origin)
    date, date_source = choose_date(metadata.get("date"), "metadata", dateline, report, origin)
    place_text = _text_value(metadata, "place", report, origin) or (
        dateline.place if dateline else None
    )
    dateline_place, places = None, ()
    if with_places:
        from searchsvc.articles.placing import locate

        dateline_place, places = locate(title, story.body, place_text)
    return Article(
        id=_text_value(metadata, "id", report, origin) or story_id,
        title=title,
        body=story.body,
        dateline=dateline.text if dateline else None,
        dateline_place=dateline_place,
        places=places,
        date=date,
        date_source=date_source,
        source=source,
        url=_text_value(metadata, "url", report, origin),
        origin=origin,
        format="wire",
        language=article_language(
            _text_value(metadata, "language", report, origin), title, story.body
        ),
    )


def split_title(text: str) -> tuple[str, str]:
    """The first line is the title, unless it is already the story.

    It is the story when it is too long for a headline, or when it opens with a dateline
    and reads as prose: it runs on into the next line, or is a long sentence. A short
    capitalized headline such as ``U.S. - JAPAN TRADE TALKS`` stays a title.
    """
    text = text.strip()
    first, _, rest = text.partition("\n")
    first = " ".join(_MARKDOWN_HEADING.sub("", first.strip()).split())
    if len(first) > MAX_TITLE_CHARS:
        return "", text
    if opening_dateline(first, with_places=False):
        runs_on = bool(rest) and not rest.startswith("\n")
        long_sentence = first.endswith(_SENTENCE_ENDS) and len(first.split()) >= MIN_PROSE_WORDS
        if runs_on or long_sentence:
            return "", text
    return first, rest


def sidecar_path(story: Path) -> Path:
    return story.with_name(story.stem + SIDECAR_SUFFIX)


def is_sidecar(path: Path) -> bool:
    """A ``NAME.json`` beside a ``NAME.txt`` (or other wire story) is metadata."""
    if path.suffix.lower() != SIDECAR_SUFFIX:
        return False
    for suffix in WIRE_SUFFIXES:
        for variant in {suffix, suffix.upper()}:
            candidate = path.with_suffix(variant)
            if candidate != path and candidate.is_file():
                return True
    return False


def read_sidecar(story: Path, report: IngestReport) -> dict[str, Any]:
    """Metadata from ``NAME.json`` beside the story; a bad sidecar is reported, not fatal."""
    path = sidecar_path(story)
    try:
        raw = path.read_bytes()
    except OSError:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        report.repair(REPAIR_BAD_METADATA, str(path))
        return {}
    if not isinstance(data, dict):
        report.repair(REPAIR_BAD_METADATA, str(path))
        return {}
    return {key: data[key] for key in METADATA_KEYS if key in data}


def split_front_matter(text: str, report: IngestReport, origin: str) -> tuple[str, dict[str, Any]]:
    """Take a leading ``---`` block of ``key: value`` lines off the text.

    A block that does not look like front matter (no closing line, other lines inside)
    is left in the text: a story may well start with a rule.
    """
    if not text.startswith("---\n"):
        return text, {}
    lines = text.split("\n", MAX_FRONT_MATTER_LINES + 2)
    metadata: dict[str, Any] = {}
    for index, line in enumerate(lines[1 : MAX_FRONT_MATTER_LINES + 2], start=1):
        if line.strip() in ("---", "..."):
            rest = "\n".join(lines[index + 1 :])
            return rest, {k: v for k, v in metadata.items() if k in METADATA_KEYS}
        if not line.strip():
            continue
        match = _FRONT_MATTER_LINE.match(line)
        if match is None:
            break
        metadata[match.group(1).lower()] = match.group(2).strip("\"'")
    if metadata:
        report.repair(REPAIR_BAD_METADATA, origin)
    return text, {}


def _text_value(metadata: dict[str, Any], key: str, report: IngestReport, origin: str) -> Any:
    """A metadata string (numbers allowed for ids), or None; other types are reported."""
    value = metadata.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and key == "id":
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    report.repair(REPAIR_BAD_METADATA, origin)
    return None
