"""RSS and Atom feeds as articles: files in a corpus, and documents fetched from loopback."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import json
from pathlib import Path

import pytest
from test_feeds_support import Entry, Post, atom, feed_server, rss, wordpress_export

from searchsvc.articles.feeds import (
    FetchFailed,
    fetch_url,
    html_to_text,
    is_feed_file,
    parse_feed,
    with_linked_pages,
)
from searchsvc.articles.model import IngestReport
from searchsvc.articles.sources import read_articles
from searchsvc.cli import main

FERRY = Entry(
    guid="http://gazette.example/ferry-tug",
    title="Ferry &amp; tug collide",
    html="<p>OSLO (Harbour Wire) - A ferry and a tug collided in the inner harbour on "
    "Monday.</p><script>track()</script><p>Nobody was hurt, the coast guard said.</p>",
    link="http://gazette.example/ferry-tug",
)
BARE_GUID = Entry(guid="4711", title="Quay closed", html="The north quay closed for repairs.")
LINK_ONLY = Entry(
    guid=None,
    title="Dredging starts",
    html="Dredging of the channel started on Tuesday.",
    link="http://gazette.example/dredging",
    published=None,
)


@pytest.fixture(scope="module")
def server():
    with feed_server() as running:
        yield running


def read_all(*paths: Path) -> tuple[list, IngestReport]:
    report = IngestReport()
    return list(read_articles(list(paths), report, max_file_bytes=1 << 20)), report


def test_rss_entry_fields(tmp_path: Path) -> None:
    path = tmp_path / "gazette.rss"
    path.write_text(rss("Harbour Gazette", [FERRY, BARE_GUID, LINK_ONLY]), encoding="utf-8")
    articles, report = read_all(path)
    by_title = {article.title: article for article in articles}
    ferry = by_title["Ferry & tug collide"]
    assert ferry.id == "http://gazette.example/ferry-tug"
    assert ferry.body == (
        "A ferry and a tug collided in the inner harbour on Monday.\n\n"
        "Nobody was hurt, the coast guard said."
    )
    assert ferry.dateline == "OSLO (Harbour Wire)"
    assert ferry.dateline_place is not None and ferry.dateline_place.country == "NO"
    assert (ferry.date, ferry.date_source) == (dt.date(2024, 3, 5), "source")
    assert (ferry.source, ferry.url, ferry.format) == (
        "Harbour Gazette",
        "http://gazette.example/ferry-tug",
        "feed",
    )
    assert by_title["Quay closed"].id == "http://harbour.example/#4711"
    assert by_title["Dredging starts"].id == "http://gazette.example/dredging"
    assert by_title["Dredging starts"].date is None
    assert report.read_by_format == {"feed": 3}


def test_atom_entry_fields(tmp_path: Path) -> None:
    path = tmp_path / "desk.atom"
    entry = Entry(
        guid="tag:desk.example,2024:lighthouse",
        title="Lighthouse relit",
        html="<div><h2>Coast</h2><p>The old lighthouse was relit on Thursday.</p></div>",
        link="http://desk.example/lighthouse",
        author="Ingrid Dahl",
    )
    path.write_text(atom("Coastal Desk", [entry]), encoding="utf-8")
    [article], _ = read_all(path)
    assert (article.id, article.title, article.source, article.author) == (
        "tag:desk.example,2024:lighthouse",
        "Lighthouse relit",
        "Coastal Desk",
        "Ingrid Dahl",
    )
    assert article.body == "Coast\n\nThe old lighthouse was relit on Thursday."
    assert article.date == dt.date(2024, 3, 7)


def test_a_spool_of_entry_records_reads_back_as_the_same_articles(tmp_path: Path) -> None:
    feed = tmp_path / "desk.atom"
    entry = Entry(
        guid="urn:desk:1",
        title="Tug fleet grows",
        html="<p>Two tugs joined.</p>",
        author="Ingrid Dahl",
    )
    feed.write_text(atom("Coastal Desk", [entry]), encoding="utf-8")
    records = parse_feed(feed.read_bytes(), str(feed), IngestReport())
    spool = tmp_path / "spool" / "desk.feed.jsonl"
    spool.parent.mkdir()
    spool.write_text(json.dumps(records[0]) + "\n{cut off\n", encoding="utf-8")
    [from_feed], _ = read_all(feed)
    [from_spool], report = read_all(spool.parent)
    assert from_spool == dataclasses.replace(from_feed, origin=f"{spool}:1")
    assert report.skipped == {"malformed spool line": 1}


def test_xml_files_are_feeds_only_when_their_root_says_so(tmp_path: Path) -> None:
    (tmp_path / "news.xml").write_text(rss("Wire", [BARE_GUID]), encoding="utf-8")
    (tmp_path / "sitemap.xml").write_text("<urlset><url>x</url></urlset>", encoding="utf-8")
    assert is_feed_file(tmp_path / "news.xml")
    assert not is_feed_file(tmp_path / "sitemap.xml")
    articles, report = read_all(tmp_path)
    assert [article.title for article in articles] == ["Quay closed"]
    assert report.skipped == {"unsupported file type": 1}


def test_repeated_entries_give_one_article_each(tmp_path: Path) -> None:
    path = tmp_path / "twice.rss"
    rewritten = Entry(guid=FERRY.guid, title="Ferry collides (updated)", html="Later text.")
    path.write_text(rss("Gazette", [FERRY, rewritten, BARE_GUID]), encoding="utf-8")
    articles, report = read_all(path)
    assert sorted(article.id for article in articles) == [
        "http://gazette.example/ferry-tug",
        "http://harbour.example/#4711",
    ]
    assert report.skipped == {"repeated feed entry": 1}


SITE = [
    Post(11, "Ferry strike ends", "The ferry strike ended after talks."),
    Post(12, "About the Gazette", "The Gazette has covered the harbour since 1921.", kind="page"),
    Post(13, "Tide tables explained", "How the tide tables are read.", kind="explainer"),
    Post(14, "Minister to resign", "Embargoed until Monday.", status="future"),
    Post(15, "Draft: pier", "Unchecked pier rumours.", status="draft"),
    Post(16, "Dredging costs", "Awaiting the editor.", status="pending"),
    Post(17, "Staff notes", "Internal staff notes.", status="private"),
    Post(18, "Old quay story", "Withdrawn quay story.", status="trash"),
    Post(19, "Subscribers: budget", "The budget in full.", password="tide"),
    Post(20, "harbour-at-dawn", "The harbour at dawn.", status="inherit", kind="attachment"),
    Post(21, "Home", "Home menu entry.", kind="nav_menu_item"),
    Post(22, "Ferry strike ends", "An earlier wording.", status="inherit", kind="revision"),
    Post(23, "Newsletter signup", "Sign up for the newsletter.", kind="wp_block"),
]


@pytest.mark.parametrize("prefix", ["wp", "wordpress"])
def test_a_wordpress_export_gives_what_the_site_publishes(tmp_path: Path, prefix: str) -> None:
    """A WordPress export (WXR) holds the whole site: only published posts, pages and the
    site's own article types are articles; drafts, embargoed, private, trashed and
    password-protected posts, media, menus, revisions and blocks are skipped, whatever
    prefix the export gives WordPress's namespace."""
    path = tmp_path / "gazette.wordpress.xml"
    path.write_text(wordpress_export(SITE, prefix=prefix), encoding="utf-8")
    articles, report = read_all(path)
    assert [article.title for article in articles] == [
        "Ferry strike ends",
        "About the Gazette",
        "Tide tables explained",
    ]
    assert articles[0].id == "https://gazette.example/?p=11"
    assert articles[0].body == "The ferry strike ended after talks."
    assert report.skipped == {"not a published post": 10}


def test_wordpress_fields_count_only_in_a_wordpress_export(tmp_path: Path) -> None:
    """A feed of another namespace with the same local names is read as any feed."""
    other = wordpress_export(SITE[:5]).replace("wordpress.org/export/1.2/", "cms.example/ns/")
    (tmp_path / "other.xml").write_text(other, encoding="utf-8")
    articles, report = read_all(tmp_path / "other.xml")
    assert len(articles) == 5
    assert report.skipped == {}


def test_malformed_feeds_are_reported(tmp_path: Path) -> None:
    cut = rss("Gazette", [FERRY, BARE_GUID])
    (tmp_path / "cut.rss").write_text(cut[: cut.index("<item>", cut.index("<item>") + 1)])
    (tmp_path / "garbage.rss").write_text("<rss><channel><title>x</titl")
    articles, report = read_all(tmp_path)
    assert [article.id for article in articles] == ["http://gazette.example/ferry-tug"]
    assert report.repaired["malformed feed, entries recovered"] == 1
    assert report.skipped["malformed feed"] == 1


def test_ingest_counts_feeds(tmp_path: Path, capsys) -> None:
    (tmp_path / "gazette.rss").write_text(rss("Gazette", [FERRY, LINK_ONLY]), encoding="utf-8")
    (tmp_path / "desk.atom").write_text(atom("Desk", [BARE_GUID]), encoding="utf-8")
    assert main(["ingest", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "files read: 2\narticles read: 3\n  feed: 3\n" in out
    assert main(["ingest", "--json", str(tmp_path / "gazette.rss")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["source"] for line in lines] == ["Gazette", "Gazette"]


def test_html_to_text_keeps_paragraphs_and_decodes_entities() -> None:
    html = "<p>Tides &amp; currents</p><ul><li>north</li><li>caf&eacute; quay</li></ul>"
    assert html_to_text(html) == "Tides & currents\n\nnorth\n\ncaf\u00e9 quay"
    assert html_to_text("  plain   words ") == "plain words"


def test_fetch_is_conditional_on_the_etag(server) -> None:
    url = server.publish("/fetch/gazette.rss", rss("Gazette", [FERRY]))
    first = fetch_url(url, timeout=5, max_bytes=1 << 20)
    assert first.body is not None and first.etag
    again = fetch_url(url, timeout=5, max_bytes=1 << 20, etag=first.etag)
    assert again.body is None
    sent = [request["if_none_match"] for request in server.requests_to("/fetch/gazette.rss")]
    assert sent == [None, first.etag]
    [record] = parse_feed(first.body, url, IngestReport())
    assert record["title"] == "Ferry & tug collide"


def test_a_last_modified_of_this_very_second_is_not_kept(server) -> None:
    """It could hide a change made later in the same second (HTTP dates are in seconds)."""
    now = email.utils.formatdate(usegmt=True)
    fresh = server.publish("/fetch/fresh.rss", rss("Gazette", [FERRY]), last_modified=now)
    settled = server.publish("/fetch/settled.rss", rss("Gazette", [FERRY]))
    assert fetch_url(fresh, timeout=5, max_bytes=1 << 20).last_modified is None
    kept = fetch_url(settled, timeout=5, max_bytes=1 << 20).last_modified
    assert kept == "Tue, 05 Mar 2024 08:00:00 GMT"


@pytest.mark.parametrize(
    ("path", "options", "message"),
    [
        ("/fetch/broken", {"status": 500}, "HTTP 500"),
        ("/fetch/stalled", {"stall_seconds": 2.0}, "timed out"),
        ("/fetch/huge", {"body": b"x" * 5000}, "larger than 4096 bytes"),
    ],
)
def test_fetch_failures_say_why(server, path: str, options: dict, message: str) -> None:
    url = server.publish(path, options.pop("body", b"<rss/>"), **options)
    with pytest.raises(FetchFailed, match=message):
        fetch_url(url, timeout=0.5, max_bytes=4096)
    assert len(server.requests_to(path)) == 1


def test_linked_pages_replace_summaries(server) -> None:
    page = (
        "<html><head><title>Ferry and tug collide</title></head><body><article>"
        "<h1>Ferry and tug collide</h1><p>OSLO (Harbour Wire) - A ferry and a tug collided "
        "in the inner harbour on Monday, the port authority said.</p><p>Divers inspected "
        "the hull of the ferry for damage before it was towed to the shipyard.</p>"
        "</article></body></html>"
    )
    link = server.publish("/pages/ferry.html", page, content_type="text/html")
    summary = Entry(guid="urn:ferry", title="Ferry and tug collide", html="A collision.", link=link)
    gone = Entry(guid="urn:gone", title="Gone", html="Only a summary.", link=link + "-missing")
    report = IngestReport()
    records = parse_feed(rss("Gazette", [summary, gone]).encode(), "loopback", report)
    fetched = with_linked_pages(
        records, report, lambda url: fetch_url(url, timeout=5, max_bytes=1 << 20).body or b""
    )
    assert "Divers inspected the hull" in fetched[0]["body"]
    assert fetched[1]["body"] == "Only a summary."
    assert report.repaired["linked page not read"] == 1


def test_ingest_reads_feed_urls(server, capsys) -> None:
    url = server.publish("/ingest/gazette.rss", rss("Gazette", [FERRY, BARE_GUID]))
    broken = server.publish("/ingest/broken.rss", "down", status=503)
    assert main(["ingest", url, broken]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "files read: 2\narticles read: 2\n  feed: 2\nlanguages: en 2\nskipped: 1\n"
    )
    assert f"feed not fetched: 1 (e.g. {broken} (HTTP 503 Service Unavailable))" in out
