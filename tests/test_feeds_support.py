"""A loopback HTTP server publishing feeds, and RSS / Atom documents written for the tests."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape


@dataclass
class Route:
    """What the server answers at one path: a body with an ETag, or an error, or a stall."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml"
    stall_seconds: float = 0.0
    conditional: bool = True
    last_modified: str = "Tue, 05 Mar 2024 08:00:00 GMT"


@dataclass
class FeedServer:
    """Routes and a log of every request (path and conditional headers) it received."""

    base: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, path: str, body: bytes | str, **options: Any) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        with self.lock:
            self.routes[path] = Route(body=data, **options)
        return self.base + path

    def requests_to(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [request for request in self.requests if request["path"] == path]


class _Handler(BaseHTTPRequestHandler):
    server_version = "FeedFixture/1"

    def do_GET(self) -> None:
        feeds: FeedServer = self.server.feeds  # type: ignore[attr-defined]
        with feeds.lock:
            route = feeds.routes.get(self.path)
            feeds.requests.append(
                {
                    "path": self.path,
                    "if_none_match": self.headers.get("If-None-Match"),
                    "if_modified_since": self.headers.get("If-Modified-Since"),
                }
            )
        if route is None:
            self._answer(404, b"no such feed", Route(content_type="text/plain"))
            return
        if route.stall_seconds:
            time.sleep(route.stall_seconds)
        etag = '"' + hashlib.sha1(route.body).hexdigest() + '"'
        if route.conditional and self.headers.get("If-None-Match") == etag:
            self._answer(304, b"", route, etag)
            return
        self._answer(route.status, route.body, route, etag)

    def _answer(self, status: int, body: bytes, route: Route, etag: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(body)))
        if etag and status in (200, 304):
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", route.last_modified)
        self.end_headers()
        if body:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)  # a client that timed out has gone

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is kept in ``FeedServer.requests``."""


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    """A threaded HTTP server on 127.0.0.1 for as long as the context lasts."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    feeds = FeedServer(base=f"http://127.0.0.1:{server.server_address[1]}")
    server.feeds = feeds  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield feeds
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass(frozen=True)
class Entry:
    guid: str | None
    title: str
    html: str
    link: str | None = None
    published: str | None = "Tue, 05 Mar 2024 08:00:00 GMT"
    author: str | None = None


def rss(title: str, entries: Sequence[Entry], link: str = "http://harbour.example/") -> str:
    """An RSS 2.0 document; entry bodies are HTML, escaped into ``<description>``."""
    items = []
    for entry in entries:
        parts = [f"<title>{escape(entry.title)}</title>"]
        if entry.guid is not None:
            parts.append(f"<guid>{escape(entry.guid)}</guid>")
        if entry.link:
            parts.append(f"<link>{escape(entry.link)}</link>")
        if entry.published:
            parts.append(f"<pubDate>{entry.published}</pubDate>")
        parts.append(f"<description>{escape(entry.html)}</description>")
        items.append("<item>" + "".join(parts) + "</item>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{escape(link)}</link>"
        + "".join(items)
        + "</channel></rss>\n"
    )


def atom(title: str, entries: Sequence[Entry]) -> str:
    """An Atom 1.0 document; entry bodies are HTML ``<content type="html">``."""
    items = []
    for entry in entries:
        link = f'<link href="{escape(entry.link)}"/>' if entry.link else ""
        author = f"<author><name>{escape(entry.author)}</name></author>" if entry.author else ""
        items.append(
            f"<entry><id>{escape(entry.guid or '')}</id><title>{escape(entry.title)}</title>"
            f"{link}{author}<updated>2024-03-07T10:30:00Z</updated>"
            f'<content type="html">{escape(entry.html)}</content></entry>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:uuid:4c1f0a52-feed</id>"
        "<updated>2024-03-07T10:30:00Z</updated>" + "".join(items) + "</feed>\n"
    )


def story_entry(number: int, word: str) -> Entry:
    """An invented harbour story whose body carries a word no other entry has."""
    return Entry(
        guid=f"http://harbour.example/story/{number}",
        title=f"Harbour report {number}: {word}",
        html=f"<p>TROMSO (Harbour Wire) - Pilots reported {word} near berth {number} on "
        "Monday.</p><p>The port authority said traffic would resume by evening.</p>",
        link=f"http://harbour.example/story/{number}",
    )


@dataclass(frozen=True)
class Post:
    """An item of a WordPress export: what the site calls it, and whether it is public."""

    number: int
    title: str
    text: str
    status: str = "publish"
    kind: str = "post"
    password: str = ""


def wordpress_export(posts: Sequence[Post], prefix: str = "wp") -> str:
    """A WordPress export (WXR 1.2: RSS 2.0 with the site's fields in the ``prefix``
    namespace), its texts in CDATA as WordPress writes them."""
    items = []
    for post in posts:
        items.append(
            f"<item><title>{escape(post.title)}</title>"
            f"<link>https://gazette.example/?p={post.number}</link>"
            "<pubDate>Fri, 01 Mar 2024 10:00:00 +0000</pubDate>"
            "<dc:creator><![CDATA[desk]]></dc:creator>"
            f'<guid isPermaLink="false">https://gazette.example/?p={post.number}</guid>'
            f"<content:encoded><![CDATA[<!-- wp:paragraph --><p>{post.text}</p>"
            "<!-- /wp:paragraph -->]]></content:encoded>"
            f"<{prefix}:post_id>{post.number}</{prefix}:post_id>"
            f"<{prefix}:status><![CDATA[{post.status}]]></{prefix}:status>"
            f"<{prefix}:post_type><![CDATA[{post.kind}]]></{prefix}:post_type>"
            f"<{prefix}:post_password><![CDATA[{post.password}]]></{prefix}:post_password>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"'
        ' xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        f' xmlns:{prefix}="http://wordpress.org/export/1.2/">'
        "<channel><title>Harbour Gazette</title><link>https://gazette.example</link>"
        f"<{prefix}:wxr_version>1.2</{prefix}:wxr_version>" + "".join(items) + "</channel></rss>\n"
    )
