"""RSS 2.0 and Atom feeds: one article per entry, from a file or fetched over HTTP.

feedparser reads every dialect and the broken feeds found in the wild; each entry
becomes a *record* shaped like a JSON Lines line (``id``, ``title``, ``body``, ``date``,
``source``, ``url``, ``language``: the entry's own ``xml:lang``, else the feed's
``<language>`` or ``xml:lang``) and then an article through the same cleaning as a CMS export, so
a story reads the same whichever way it arrived. The records are what a watch keeps in
its spool (``*.feed.jsonl``), so an index rebuilt from the spool holds the same
articles without fetching anything again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, BinaryIO

from searchsvc.articles.feedfiles import RUN_BYTES, FeedLayout, entry_runs, read_layout, split_feed
from searchsvc.articles.files import (
    SKIP_TOO_LARGE,
    SKIP_UNREADABLE,
    FilePart,
    check_size,
    file_size,
    split_at_lines,
)
from searchsvc.articles.jsonl import parse_jsonl_record
from searchsvc.articles.model import Article, IngestReport

FEED_SUFFIXES = frozenset({".rss", ".atom", ".xml"})
#: JSON Lines of entry records kept by a watch; read back as feed articles.
SPOOL_SUFFIX = ".feed.jsonl"
# Where an ``.xml`` file must say it is a feed: the root element within its first bytes.
_SNIFF_BYTES = 2048
_FEED_ROOT = re.compile(rb"<(?:[\w-]+:)?(?:rss|feed|RDF)[\s>]")
# A WordPress export (WXR) is RSS 2.0 whose items carry the site's fields in this
# namespace (any version; not its ``…/excerpt/`` neighbour).
_WORDPRESS_NAMESPACE = re.compile(r"https?://wordpress\.org/export/[\d.]+/?")
# WordPress item types that are parts of the site, not articles (core's own types are
# named ``wp_…`` since 5.0, so those are recognized by their prefix).
_WORDPRESS_PARTS = frozenset(
    {"attachment", "revision", "nav_menu_item", "custom_css", "customize_changeset"}
    | {"oembed_cache", "user_request"}
)

SKIP_NOT_A_FEED = "not a feed"
SKIP_MALFORMED_FEED = "malformed feed"
SKIP_REPEATED_ENTRY = "repeated feed entry"
SKIP_NOT_FETCHED = "feed not fetched"
SKIP_MALFORMED_SPOOL = "malformed spool line"
SKIP_NOT_PUBLISHED = "not a published post"
REPAIR_MALFORMED_FEED = "malformed feed, entries recovered"
REPAIR_PAGE_NOT_READ = "linked page not read"

USER_AGENT = "searchsvc feed reader (+https://github.com/searchsvc)"


def is_url(source: str) -> bool:
    """Whether a source named on the command line is a feed on the web."""
    return source.startswith(("http://", "https://"))


def is_feed_file(path: Path) -> bool:
    """Whether a file's name (and, for ``.xml``, its root element) says it is a feed."""
    if is_spool(path):
        return True
    suffix = path.suffix.lower()
    if suffix != ".xml":
        return suffix in FEED_SUFFIXES
    try:
        with path.open("rb") as stream:
            return _FEED_ROOT.search(stream.read(_SNIFF_BYTES)) is not None
    except OSError:
        return False


def read_feed(
    path: Path,
    report: IngestReport,
    *,
    max_file_bytes: int,
    with_places: bool = True,
    part: FilePart | None = None,
) -> Iterator[Article]:
    """The articles of a feed file (or of one ``part`` of a big one, see
    :func:`split_feed_file`), or of a watch's spool of entry records.

    A feed bigger than :data:`~searchsvc.articles.feedfiles.RUN_BYTES`, or than
    ``max_file_bytes``, is read a run of entries at a time, with no cap on its size: only
    an entry bigger than ``max_file_bytes`` is skipped as too large."""
    if is_spool(path):
        yield from _read_spool(path, report, with_places, part)
        return
    if part is None and file_size(path) <= min(RUN_BYTES, max_file_bytes):
        yield from _read_whole_feed(path, report, max_file_bytes, with_places)
        return
    try:
        with path.open("rb") as scanned, path.open("rb") as stream:
            layout = read_layout(scanned, max_file_bytes)
            if layout is None:  # no entry found: a feed of another encoding, say
                if part is None or part.start == 0:  # read once, not by every part
                    yield from _read_whole_feed(path, report, max_file_bytes, with_places)
                return
            start, end = (0, sys.maxsize) if part is None else (part.start, part.end)
            seen: set[str] = set()
            run_bytes = min(RUN_BYTES, max_file_bytes)
            for run in entry_runs(scanned, max(start, len(layout.head)), end, run_bytes):
                document = _run_document(stream, run, layout, report, max_file_bytes)
                for record in parse_feed(document, str(path), report, seen):
                    yield from _entry_articles(path, record, report, with_places)
    except OSError:
        report.skip(SKIP_UNREADABLE, str(path))


def split_feed_file(path: Path, piece_bytes: int) -> list[FilePart] | None:
    """A big feed file cut into parts for several workers, each starting at an entry
    (:func:`~searchsvc.articles.feedfiles.split_feed`), a spool at a line; None for a
    file read whole."""
    if is_spool(path):
        return split_at_lines(path, piece_bytes)
    return split_feed(path, piece_bytes)


def keeps_first_entry(path: Path) -> bool:
    """Whether the first record of an id in the file is the one kept: a feed lists its
    newest entry first (a spool holds each entry once)."""
    return not is_spool(path)


def is_spool(path: Path) -> bool:
    return path.name.lower().endswith(SPOOL_SUFFIX)


def _read_whole_feed(
    path: Path, report: IngestReport, max_file_bytes: int, with_places: bool
) -> Iterator[Article]:
    if not check_size(path, report, max_file_bytes=max_file_bytes):
        return
    try:
        data = path.read_bytes()
    except OSError:
        report.skip(SKIP_UNREADABLE, str(path))
        return
    for record in parse_feed(data, str(path), report):
        yield from _entry_articles(path, record, report, with_places)


def _run_document(
    stream: BinaryIO,
    run: tuple[int, int],
    layout: FeedLayout,
    report: IngestReport,
    max_file_bytes: int,
) -> bytes:
    """A run of entries as a feed document; an empty one (reported) when it is a single
    entry bigger than ``max_file_bytes``."""
    start, end = run
    if end - start > max_file_bytes:
        report.skip(SKIP_TOO_LARGE, f"{stream.name}@{start}")
        return b""
    stream.seek(start)
    return layout.document(stream.read(end - start))


def _entry_articles(
    path: Path, record: dict[str, Any], report: IngestReport, with_places: bool
) -> Iterator[Article]:
    origin = f"{path}#{record['id']}"
    article = entry_article(record, origin=origin, report=report, with_places=with_places)
    if article is not None:
        yield article


def _read_spool(
    path: Path, report: IngestReport, with_places: bool, part: FilePart | None
) -> Iterator[Article]:
    """The entries a watch kept (or those of one ``part`` of the spool), a line at a time
    (a spool grows with every poll)."""
    start, end, first = (
        (0, sys.maxsize, 1) if part is None else (part.start, part.end, part.first_line)
    )
    try:
        with path.open("rb") as stream:
            stream.seek(start)
            for number, line in enumerate(stream, start=first):
                if start >= end:
                    break
                start += len(line)
                if not line.strip():
                    continue
                origin = f"{path}:{number}"
                try:
                    record = json.loads(line)
                except ValueError:
                    report.skip(SKIP_MALFORMED_SPOOL, origin)
                    continue
                article = entry_article(
                    record, origin=origin, report=report, with_places=with_places
                )
                if article is not None:
                    yield article
    except OSError:
        report.skip(SKIP_UNREADABLE, str(path))


def read_feed_url(
    url: str, report: IngestReport, *, timeout: float, max_bytes: int, with_places: bool = True
) -> Iterator[Article]:
    """The articles of a feed on the web; a feed that cannot be fetched is reported."""
    report.files += 1
    try:
        fetched = fetch_url(url, timeout=timeout, max_bytes=max_bytes)
    except FetchFailed as error:
        report.skip(SKIP_NOT_FETCHED, f"{url} ({error})")
        return
    for record in parse_feed(fetched.body or b"", url, report):
        origin = f"{url}#{record['id']}"
        article = entry_article(record, origin=origin, report=report, with_places=with_places)
        if article is not None:
            report.count_article(article)
            yield article


def parse_feed(
    data: bytes, origin: str, report: IngestReport, seen: set[str] | None = None
) -> list[dict[str, Any]]:
    """The entry records of a feed document, each id once (the first one listed wins).

    A feed that parses with errors but yields entries is used and reported as repaired;
    one that yields nothing is reported as skipped. ``seen``: the ids of the entries
    listed before (in earlier runs of the same file), which count as repeated; this
    document's are added to it.
    """
    import feedparser

    if not data:
        return []
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    if not parsed.entries:
        if parsed.bozo:
            report.skip(SKIP_MALFORMED_FEED, origin)
        elif not parsed.version:
            report.skip(SKIP_NOT_A_FEED, origin)
        return []
    if parsed.bozo:
        report.repair(REPAIR_MALFORMED_FEED, origin)
    source = html_to_text(parsed.feed.get("title") or "") or None
    feed_language = parsed.feed.get("language")
    wordpress = wordpress_prefix(parsed.namespaces)
    seen = set() if seen is None else seen
    records = []
    for entry in parsed.entries:
        record = entry_record(entry, source, parsed.feed.get("link"), feed_language)
        if wordpress and not published_on_wordpress(entry, wordpress):
            report.skip(SKIP_NOT_PUBLISHED, f"{origin}#{record['id']}")
            continue
        if record["id"] in seen:
            report.skip(SKIP_REPEATED_ENTRY, f"{origin}#{record['id']}")
            continue
        seen.add(record["id"])
        records.append(record)
    return records


def entry_record(
    entry: Any, source: str | None, feed_link: str | None, feed_language: str | None = None
) -> dict[str, Any]:
    """One feed entry as a JSON Lines record (plus ``author``): the GUID (else the link)
    is its id."""
    title = html_to_text(entry.get("title") or "")
    contents = entry.get("content") or []
    body = contents[0] if contents else entry.get("summary_detail") or {}
    body_html = contents[0].get("value") if contents else entry.get("summary")
    published = entry.get("published_parsed") or entry.get("updated_parsed")
    date = dt.date(*published[:3]).isoformat() if published else None
    return {
        "id": entry_id(entry, feed_link, title),
        "title": title,
        "body": html_to_text(body_html or ""),
        "date": date,
        "source": source,
        "url": entry.get("link"),
        "author": html_to_text(entry.get("author") or "") or None,
        "language": body.get("language") or feed_language,
    }


def wordpress_prefix(namespaces: dict[str, str]) -> str | None:
    """The prefix a WordPress export gives its fields (``wp``), None for other feeds.

    feedparser keys an element of a namespace it does not know by the document's own
    prefix (``wp_status``), so the prefix is looked up rather than assumed."""
    for prefix, uri in namespaces.items():
        if _WORDPRESS_NAMESPACE.fullmatch(uri):
            return prefix
    return None


def published_on_wordpress(entry: Any, prefix: str) -> bool:
    """Whether the site shows a WordPress export's item to everyone as an article.

    An export holds the whole site: drafts, posts pending review or scheduled (often
    embargoed), private and trashed posts, posts behind a password, and items that are
    no article at all (media, menus, revisions, blocks). Only published posts, pages
    and a site's own article types are news a search may show.
    """
    status = (entry.get(f"{prefix}_status") or "publish").strip()
    kind = (entry.get(f"{prefix}_post_type") or "post").strip()
    password = (entry.get(f"{prefix}_post_password") or "").strip()
    return (
        status == "publish"
        and not password
        and kind not in _WORDPRESS_PARTS
        and not kind.startswith("wp_")
    )


def entry_id(entry: Any, feed_link: str | None, title: str) -> str:
    """The GUID when it is globally unique (a URL, a URN, a tag:), the link otherwise.

    A bare GUID like ``1234`` is unique only within its feed, so it is qualified with
    the feed's link; an entry with neither GUID nor link is known by its title.
    """
    guid = (entry.get("id") or "").strip()
    if guid and ":" in guid:
        return guid
    if guid:
        return f"{feed_link or 'feed'}#{guid}"
    link = (entry.get("link") or "").strip()
    if link:
        return link
    digest = hashlib.blake2b(f"{feed_link}\n{title}".encode(), digest_size=8).hexdigest()
    return f"feed-{digest}"


def entry_article(
    record: dict[str, Any], *, origin: str, report: IngestReport, with_places: bool = True
) -> Article | None:
    """The article of one entry record (None, reported, when it has no text)."""
    article = parse_jsonl_record(
        record, path=Path(origin), origin=origin, report=report, with_places=with_places
    )
    if article is None:
        return None
    return dataclasses.replace(article, format="feed", author=record.get("author"))


def record_digest(record: dict[str, Any]) -> str:
    """What tells a changed entry from one already seen."""
    text = json.dumps(record, sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


@dataclass(frozen=True)
class Fetched:
    """An HTTP answer: ``body`` is None when the server said 304 Not Modified."""

    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None


class FetchFailed(Exception):
    """A URL could not be read (timeout, refused, an error status, too large)."""


def fetch_url(
    url: str,
    *,
    timeout: float,
    max_bytes: int,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Fetched:
    """GET ``url``, conditionally when an ETag or Last-Modified from last time is given."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if etag:
        request.add_header("If-None-Match", etag)
    if last_modified:
        request.add_header("If-Modified-Since", last_modified)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(max_bytes + 1)
            headers = response.headers
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 304:
            return Fetched(None, etag, last_modified)
        raise FetchFailed(f"HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise FetchFailed(f"cannot read {url}: {reason}") from None
    if len(body) > max_bytes:
        raise FetchFailed(f"{url} is larger than {max_bytes} bytes")
    return Fetched(body, headers.get("ETag"), _settled(headers.get("Last-Modified"), headers))


def _settled(last_modified: str | None, headers: Any) -> str | None:
    """``last_modified``, unless it falls within a second of the answer.

    HTTP dates have whole seconds: a feed rewritten later in the second it was fetched
    keeps the same Last-Modified, and asking ``If-Modified-Since`` with it would be told
    304 until the next change. Such a recent validator is not kept (the next poll fetches
    the whole feed, and keeps the then older one).
    """
    if not last_modified:
        return None
    try:
        modified = parsedate_to_datetime(last_modified)
        date = headers.get("Date")
        answered = parsedate_to_datetime(date) if date else dt.datetime.now(dt.UTC)
        return last_modified if (answered - modified).total_seconds() >= 1 else None
    except (TypeError, ValueError):  # unparsable, or a date without a time zone
        return None


def with_linked_pages(
    records: list[dict[str, Any]],
    report: IngestReport,
    fetch: Callable[[str], bytes],
) -> list[dict[str, Any]]:
    """``records`` with each body replaced by the text of the page its entry links to.

    For feeds that carry only a line of summary. A page that cannot be fetched or
    yields no text leaves its entry's summary in place, reported as repaired.
    """
    from searchsvc.articles.pages import article_from_page

    enriched = []
    for record in records:
        url = record.get("url")
        page = None
        if url:
            try:
                page = article_from_page(fetch(url), url=url, origin=url)
            except FetchFailed:
                page = None
        if page is None or not page.body:
            report.repair(REPAIR_PAGE_NOT_READ, url or record["id"])
            enriched.append(record)
            continue
        enriched.append(_with_page(record, page))
    return enriched


def _with_page(record: dict[str, Any], page: Article) -> dict[str, Any]:
    return {
        **record,
        "title": record["title"] or page.title,
        "body": page.body,
        "date": record["date"] or (page.date.isoformat() if page.date else None),
        "author": record.get("author") or page.author,
        "place": page.dateline,
        "language": record.get("language") or page.language,
    }


_BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption"}
    | {"figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main"}
    | {"nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul"}
)
_HIDDEN_TAGS = frozenset({"script", "style", "template", "noscript"})


class _TextCollector(HTMLParser):
    """Text of an HTML fragment, a paragraph break at each block element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, paragraphs kept."""
    if "<" not in fragment and "&" not in fragment:
        return " ".join(fragment.split())
    collector = _TextCollector()
    collector.feed(fragment)
    collector.close()
    paragraphs = ("".join(collector.parts)).split("\n\n")
    return "\n\n".join(p for p in (" ".join(par.split()) for par in paragraphs) if p)
