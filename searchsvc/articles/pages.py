"""Saved web pages (``.html``, ``.htm``): the story a news site wraps in its furniture.

A page holds one article among navigation, share buttons, cookie banners, related-links
boxes, comments and footers. trafilatura, made for news pages, finds the article text
and the page's metadata (``<meta>``, JSON-LD, ``<time>``, the canonical link); the story
rules every reader shares then apply to that text: the opening dateline, "Also Read"
lines, editor codes and agency footers. trafilatura reads no declared language, so the
page's own statements are read here: the article's JSON-LD ``inLanguage``, then
``<html lang>``, ``og:locale`` and ``<meta http-equiv="content-language">``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from searchsvc.articles.files import read_text_bytes
from searchsvc.articles.languages import article_language, declared_tag
from searchsvc.articles.model import Article, IngestReport
from searchsvc.articles.placing import locate
from searchsvc.articles.story import choose_date, clean_story_body
from searchsvc.articles.text import normalize_unicode

PAGE_SUFFIXES = frozenset({".html", ".htm"})

SKIP_NO_ARTICLE = "no article text"
# trafilatura declines bigger pages (its MAX_FILE_SIZE); they are reported as too large.
MAX_PAGE_BYTES = 20_000_000
# Fewer words than a two-line brief: what is left of a page of links (trafilatura falls
# back to any text it finds, such as a menu's labels).
MIN_ARTICLE_WORDS = 15

# Only the page's own statements of its date: an extensive search of the text would
# take any date a story mentions ("the flood of March 3") for its publication date.
_DATE_SEARCH = {"extensive_search": False, "original_date": True}
# Names a crawler gives the page of a folder, which say nothing about the story.
_FOLDER_PAGE_STEMS = frozenset({"index", "default", "main"})
_JSON_LD = re.compile(
    r"<script[^>]*application/ld\+json[^>]*>(.*?)</script>", re.IGNORECASE | re.DOTALL
)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
# A page states its language in its head: only this much of it is searched.
_HEAD_CHARS = 65_536
_HTML_TAG = re.compile(r"<html\b[^>]*>", re.IGNORECASE)
_META_TAG = re.compile(r"<meta\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_MAX_SLUG_CHARS = 60


@dataclass(frozen=True)
class PageFields:
    """What an extractor found in a page, before the story rules apply.

    ``paragraphs`` are the article's text blocks in reading order; ``date`` is as the
    page states it (ISO 8601). Kept apart from :class:`Article` so that another extractor
    can be measured through the same rules (``benchmarks/measure_pages.py``).
    """

    title: str
    paragraphs: tuple[str, ...]
    date: str | None = None
    author: str | None = None
    url: str | None = None
    site_name: str | None = None
    language: str | None = None


def read_page(
    path: Path,
    report: IngestReport,
    *,
    max_file_bytes: int,
    with_places: bool = True,
    name: str | None = None,
) -> Iterator[Article]:
    """The article of one saved page (none if the page is unusable; the report says why).

    ``name`` is the file's name in its collection (see :func:`page_id`)."""
    data = read_text_bytes(path, report, max_file_bytes=min(max_file_bytes, MAX_PAGE_BYTES))
    if data is None:
        return
    article = article_from_page(
        data, origin=str(path), name=name, report=report, with_places=with_places
    )
    if article is None:
        report.skip(SKIP_NO_ARTICLE, str(path))
        return
    yield article


def article_from_page(
    html: str | bytes,
    *,
    url: str | None = None,
    origin: str,
    name: str | None = None,
    report: IngestReport | None = None,
    with_places: bool = True,
) -> Article | None:
    """One fetched or saved page as an article; None when it holds no article text.

    ``url`` is where the page was fetched from, used when the page names no canonical
    URL of its own; ``name`` is a saved page's name in its collection (see
    :func:`page_id`). Bytes are decoded by the charset the page declares. Repairs (a date
    that names no day) go to ``report`` when one is given.
    """
    fields = extract_page(html, url=url)
    if fields is None:
        return None
    return article_from_fields(
        fields, origin=origin, name=name, report=report or IngestReport(), with_places=with_places
    )


def extract_page(html: str | bytes, *, url: str | None = None) -> PageFields | None:
    """The article text and metadata trafilatura finds in a page; None if it finds no text."""
    import trafilatura  # imported on first use: loading it costs a CLI that reads no pages

    document = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_images=False,
        deduplicate=False,
        date_extraction_params=_DATE_SEARCH,
    )
    if document is None or not (document.text or "").strip():
        return None
    title = " ".join((document.title or "").split())
    return PageFields(
        title=title,
        paragraphs=tuple(without_title(document.text.splitlines(), title)),
        date=document.date,
        author=document.author,
        url=_own_url(document.url, url) or json_ld_url(html) or url,
        site_name=document.sitename,
        language=page_language(html),
    )


def _own_url(found: str | None, fetched_from: str | None) -> str | None:
    """The URL the page names for itself: trafilatura falls back to the one it was given."""
    return found if found and found != fetched_from else None


def without_title(lines: list[str], title: str) -> list[str]:
    """The text blocks without a leading copy of the headline (the page's ``<h1>``)."""
    blocks = [" ".join(line.split()) for line in lines]
    blocks = [block for block in blocks if block]
    if blocks and title and blocks[0].casefold() == title.casefold():
        blocks.pop(0)
    return blocks


def article_from_fields(
    fields: PageFields,
    *,
    origin: str,
    report: IngestReport,
    with_places: bool = True,
    name: str | None = None,
) -> Article | None:
    """Apply the story rules to what the extractor found; None if too little story is left."""
    text = normalize_unicode("\n\n".join(fields.paragraphs))
    story = clean_story_body(text, with_places=with_places)
    if len(story.body.split()) < MIN_ARTICLE_WORDS:
        return None
    title = " ".join(normalize_unicode(fields.title).split())
    dateline = story.dateline
    agency = (dateline.agency if dateline else None) or story.footer_agency
    date, date_source = choose_date(
        fields.date, "metadata", dateline, report, origin, text_first=False
    )
    place_text = dateline.place if dateline else None
    dateline_place, places = locate(title, story.body, place_text) if with_places else (None, ())
    return Article(
        id=page_id(fields.url, origin, name),
        title=title,
        body=story.body,
        dateline=dateline.text if dateline else None,
        dateline_place=dateline_place,
        places=places,
        date=date,
        date_source=date_source,
        source=fields.site_name or agency,
        author=fields.author,
        url=fields.url,
        origin=origin,
        format="html",
        language=article_language(fields.language, title, story.body),
    )


def page_id(url: str | None, origin: str, name: str | None = None) -> str:
    """A readable id that stays the same across builds: the URL's slug, or the file's name.

    With a URL, a short digest of it is added, since two sites may well use the same slug.
    Without one, the page is known by ``name``, its path in its collection
    (:func:`~searchsvc.articles.files.name_in_sources`: ``2024-03-01/story`` for
    ``archive/2024-03-01/story.html``), else by the file's name, as a wire story is: saved
    pages kept in dated folders often share their file names. A crawler's ``index.html``
    is named after its folder, as a slug, and the folders above it
    (``site-a/news`` for ``site-a/News/index.html``).
    """
    if url:
        parts = urlsplit(url)
        segments = [s for s in parts.path.split("/") if s]
        last = Path(segments[-1]).stem if segments else parts.hostname or ""
        digest = hashlib.blake2b(url.encode(), digest_size=4).hexdigest()
        return f"{_slug(last) or 'page'}-{digest}"
    path = Path(origin)
    named = name or path.stem
    above, _, stem = named.rpartition("/")
    if stem.lower() not in _FOLDER_PAGE_STEMS:
        return named
    if above:
        return "/".join(_slug(folder) or folder for folder in above.split("/"))
    return (_slug(path.parent.name) or path.stem) if path.parent.name else path.stem


def _slug(name: str) -> str:
    return _NOT_SLUG.sub("-", name.lower()).strip("-")[:_MAX_SLUG_CHARS].rstrip("-")


def json_ld_url(html: str | bytes) -> str | None:
    """The article's own URL from its JSON-LD, for pages with no canonical link or og:url."""
    return next(filter(None, map(_article_url, _json_ld_articles(html))), None)


def page_language(html: str | bytes) -> str | None:
    """The language tag the page declares, as written; None if it declares none.

    The article's JSON-LD speaks for the story itself; ``<html lang>`` and the
    ``<meta>`` tags often come with a site's template, so they come after it.
    """
    declared = next(filter(None, map(declared_tag, _json_ld_articles(html))), None)
    head = _as_text(html)[:_HEAD_CHARS]
    return declared or _html_lang(head) or _meta_language(head)


def _html_lang(head: str) -> str | None:
    tag = _HTML_TAG.search(head)
    attributes = _attributes(tag.group(0)) if tag else {}
    return attributes.get("lang") or attributes.get("xml:lang") or None


def _meta_language(head: str) -> str | None:
    """``og:locale`` (``id_ID``), else the Content-Language a page repeats in a ``<meta>``."""
    metas = [_attributes(tag) for tag in _META_TAG.findall(head)]
    for key, wanted in (("property", "og:locale"), ("http-equiv", "content-language")):
        for meta in metas:
            if meta.get(key, "").lower() == wanted and meta.get("content"):
                return meta["content"]
    return None


def _attributes(tag: str) -> dict[str, str]:
    return {
        match.group(1).lower(): next(v for v in match.groups()[1:] if v is not None)
        for match in _ATTRIBUTE.finditer(tag)
    }


def _as_text(html: str | bytes) -> str:
    return html.decode("utf-8", "replace") if isinstance(html, bytes) else html


def _json_ld_articles(html: str | bytes) -> Iterator[dict[str, Any]]:
    """Every ``*Article`` object of the page's JSON-LD blocks."""
    for block in _JSON_LD.findall(_as_text(html)):
        try:
            data = json.loads(block)
        except ValueError:
            continue
        yield from filter(_is_article, _json_ld_items(data))


def _json_ld_items(data: Any) -> Iterator[dict[str, Any]]:
    """Every object of a JSON-LD block: a list, a ``@graph``, or one object."""
    if isinstance(data, list):
        for item in data:
            yield from _json_ld_items(item)
    elif isinstance(data, dict):
        yield data
        yield from _json_ld_items(data.get("@graph"))


def _is_article(item: dict[str, Any]) -> bool:
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return any(isinstance(k, str) and k.endswith("Article") for k in kinds)


def _article_url(item: dict[str, Any]) -> str | None:
    for key in ("url", "mainEntityOfPage"):
        value = item.get(key)
        if isinstance(value, dict):
            value = value.get("@id") or value.get("url")
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    return None
