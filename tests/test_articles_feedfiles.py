"""Big feed files: read a run of entries at a time, with no size cap, and cut into parts
for several build workers, giving the articles a whole-file read gives."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_feeds_support import Entry, Post, atom, rss, story_entry, wordpress_export
from test_index_build import stored_titles
from test_index_support import index_settings

from searchsvc.articles import feeds
from searchsvc.articles.feedfiles import closing_tags, entry_spans, split_feed
from searchsvc.articles.model import IngestReport
from searchsvc.articles.sources import read_articles, read_file, work_units
from searchsvc.index.build import build_generation
from searchsvc.index.watch import Watcher

WORDS = ["anchor", "buoy", "capstan", "davit", "ensign", "fender", "gangway", "hawser"]
# Markup a scan for entries must step over: an end tag inside CDATA, an entry commented
# out, a ">" inside an attribute value, an empty element named like an entry.
TRICKY_RSS = """<?xml version="1.0" encoding="utf-8"?>
<!-- <item><title>Commented out</title></item> -->
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>Quay Gazette</title><link>http://quay.example/</link><language>en</language>
<item data-note="a > b"><title>Crane toppled</title><guid>http://quay.example/crane</guid>
<content:encoded><![CDATA[<p>A crane toppled on the quay. Its driver wrote </item> in the
log, and <item> too.</p>]]></content:encoded></item>
<!-- an <item> in a comment between entries -->
<itemcount/>
<item><title>Pilot boat renamed</title><guid>4712</guid>
<description>The pilot boat now carries the name of a retired harbour master.</description>
</item>
</channel></rss>
"""

# A feed the file ends inside an entry of: the parser recovers the entries before it.
CUT_SHORT = rss("Harbour Wire", [story_entry(n, "bollard") for n in range(6)]).rsplit(
    "</description>", 1
)[0]
# A WordPress export whose drafts are skipped in every run, as in a whole read.
WORDPRESS_SITE = wordpress_export(
    [
        Post(n, f"Report {n}", f"Pilots saw a bollard at berth {n}.", status=status)
        for n, status in enumerate(["publish", "draft"] * 4)
    ]
)


def write_feed(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def read_feed_file(path: Path, max_file_bytes: int = 1 << 20) -> tuple[list, IngestReport]:
    report = IngestReport()
    return list(read_articles([path], report, max_file_bytes=max_file_bytes)), report


def harbour_feed(count: int) -> list[Entry]:
    return [story_entry(n, WORDS[n % len(WORDS)]) for n in range(count)]


@pytest.mark.parametrize(
    "document",
    [
        rss("Harbour Wire", harbour_feed(12)),
        atom("Harbour Wire", harbour_feed(12)),
        TRICKY_RSS,
        CUT_SHORT,
        WORDPRESS_SITE,
    ],
    ids=["rss", "atom", "tricky", "cut-short", "wordpress"],
)
@pytest.mark.parametrize("run_bytes", [1, 700])
def test_a_feed_read_in_runs_gives_what_a_whole_read_gives(
    tmp_path: Path, monkeypatch, document: str, run_bytes: int
) -> None:
    path = write_feed(tmp_path / "desk.rss", document)
    whole, whole_report = read_feed_file(path)
    monkeypatch.setattr(feeds, "RUN_BYTES", run_bytes)  # every feed counts as big
    in_runs, report = read_feed_file(path)
    assert len(whole) >= 2
    assert in_runs == whole
    assert (report.skipped, report.repaired) == (whole_report.skipped, whole_report.repaired)


def test_entries_are_found_outside_comments_cdata_and_attribute_values(tmp_path: Path) -> None:
    path = write_feed(tmp_path / "tricky.rss", TRICKY_RSS)
    with path.open("rb") as stream:
        spans = list(entry_spans(stream, 0, path.stat().st_size))
    data = path.read_bytes()
    entries = [data[start:end] for start, end in spans]
    assert [entry[:20] for entry in entries] == [b'<item data-note="a >', b"<item><title>Pilot b"]
    assert all(entry.endswith(b"</item>") for entry in entries)
    articles, _ = read_feed_file(path)
    assert [article.title for article in articles] == ["Crane toppled", "Pilot boat renamed"]
    assert "Its driver wrote in the log" in articles[0].body


@pytest.mark.parametrize(
    ("head", "closing"),
    [
        (b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>', b"</channel></rss>"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><link href="x"/>', b"</feed>"),
        (
            b'<rdf:RDF xmlns:rdf="r"><channel rdf:about="x"><items><rdf:Seq><rdf:li/>'
            b"</rdf:Seq></items></channel>",
            b"</rdf:RDF>",
        ),
        (
            b'<?xml version="1.0"?><!-- <old> --><rss><![CDATA[<no>]]><!DOCTYPE x>'
            b"<channel a=\"1\" b='>'><title>T</title>",
            b"</channel></rss>",
        ),
        (b"<rss><channel><!-- <item> cut short, <x>", b"</channel></rss>"),
        (b"<rss><<<channel< <a", b"</rss>"),
    ],
    ids=["rss", "atom", "rdf", "markup-that-opens-nothing", "unterminated-comment", "stray-lt"],
)
def test_the_head_of_a_feed_is_closed_as_it_opened(head: bytes, closing: bytes) -> None:
    assert closing_tags(head) == closing


def test_a_feed_over_the_size_cap_is_read_and_only_an_oversized_entry_skipped(
    tmp_path: Path,
) -> None:
    """The size cap guards formats read whole; a feed is read a run at a time whatever
    its size, and only an entry bigger than the cap is skipped, as too large."""
    huge = Entry(guid="http://harbour.example/huge", title="Huge", html="<p>Cargo.</p>" * 500)
    entries = [*harbour_feed(20), huge, story_entry(99, "windlass")]
    path = write_feed(tmp_path / "archive.rss", rss("Harbour Wire", entries))
    cap = 4000
    assert path.stat().st_size > 3 * cap
    articles, report = read_feed_file(path, max_file_bytes=cap)
    assert len(articles) == 21
    assert "huge" not in {article.id.rsplit("/", 1)[-1] for article in articles}
    assert report.skipped == {"file too large": 1}
    assert report.examples["file too large"][0].startswith(f"{path}@")


def test_a_feed_without_entries_a_scan_can_find_is_read_whole(tmp_path: Path, monkeypatch) -> None:
    """UTF-16 hides the tags from a byte scan: the file is read whole, as before."""
    path = tmp_path / "wide.rss"
    path.write_text(rss("Harbour Wire", harbour_feed(3)).replace("utf-8", "utf-16"), "utf-16")
    monkeypatch.setattr(feeds, "RUN_BYTES", 1)
    articles, _ = read_feed_file(path)
    assert len(articles) == 3


def test_parts_start_where_entries_start(tmp_path: Path) -> None:
    path = write_feed(tmp_path / "archive.rss", rss("Harbour Wire", harbour_feed(40)))
    parts = split_feed(path, 2000)
    data = path.read_bytes()
    assert len(parts) > 3
    assert (parts[0].start, parts[-1].end) == (0, len(data))
    assert all(a.end == b.start for a, b in pairwise(parts))
    assert all(data[part.start :].startswith(b"<item>") for part in parts[1:])
    assert split_feed(path, len(data)) is None


@pytest.mark.parametrize("procs", [1, 2])
def test_a_big_feed_is_built_in_parts_and_keeps_an_entrys_first_listing(
    tmp_path: Path, monkeypatch, procs: int
) -> None:
    """Feeds list their newest entry first: where an entry is repeated further down (an
    older version), the first one is kept, in a build that reads the file in parts over
    several workers as in a watch that reads it whole."""
    newest = story_entry(0, "capsized")
    older = Entry(guid=newest.guid, title="Harbour report 0: listing", html="<p>Earlier.</p>")
    path = write_feed(
        tmp_path / "corpus" / "archive.rss",
        rss("Harbour Wire", [newest, *harbour_feed(40)[1:], older]),
    )
    settings = index_settings(tmp_path, build_procs=procs)
    result = build_generation([path.parent], settings, list_files=lambda: [path], piece_bytes=2000)
    assert result.meta["work_units"] > 3
    assert (result.article_count, result.duplicates_removed) == (40, 1)
    assert stored_titles(tmp_path / "index")[newest.guid] == newest.title

    monkeypatch.setattr(feeds, "RUN_BYTES", 1000)  # the watch reads the file in runs
    poll = Watcher(settings, [str(path.parent)]).poll()
    # Every entry as the build left it: the first listing of the repeated one too.
    assert (poll["error"], poll["added"], poll["replaced"], poll["unchanged"]) == (None, 0, 0, 40)
    assert stored_titles(tmp_path / "index")[newest.guid] == newest.title


MARKUP_BITS = ["<item>", "</item>", "<entry/>", "]]", "-->", "<!--", "&", "<", ">", '"', "'"]
FEED_TEXT = st.lists(
    st.one_of(st.sampled_from(MARKUP_BITS), st.text(alphabet="harbour quay tug ", max_size=12)),
    min_size=1,
    max_size=8,
).map("".join)


@st.composite
def feed_documents(draw: st.DrawFn) -> str:
    """An RSS feed whose text holds markup-like characters, escaped or in CDATA, with
    comments between its entries."""
    items = []
    for number in range(draw(st.integers(1, 6))):
        title, body = draw(FEED_TEXT), draw(FEED_TEXT)
        guid = f"<guid>http://quay.example/{number}</guid>"
        cdata = "]]>" not in body and draw(st.booleans())
        text = f"<![CDATA[{body}]]>" if cdata else escape(body)
        item = f"<item><title>{escape(title)}</title>{guid}<description>{text}</description></item>"
        if draw(st.booleans()):
            item += f"<!-- {draw(FEED_TEXT).replace('--', '')} -->"
        items.append(item)
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>Quay</title><link>http://quay.example/</link>"
        + "\n".join(items)
        + "</channel></rss>"
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=feed_documents())
def test_any_feed_reads_the_same_in_runs_as_whole(tmp_path: Path, document: str) -> None:
    path = write_feed(tmp_path / "any.rss", document)
    whole, whole_report = read_feed_file(path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(feeds, "RUN_BYTES", 1)
        in_runs, report = read_feed_file(path)
    assert in_runs == whole
    assert (report.skipped, report.repaired) == (whole_report.skipped, whole_report.repaired)


def test_a_watchs_big_spool_is_read_in_parts_as_it_is_whole(tmp_path: Path) -> None:
    """A spool keeps every entry a watch saw of one feed, a line each: after years of
    polling it is big, and a build spreads it over its workers like a JSON Lines export."""
    feed = write_feed(tmp_path / "desk.rss", rss("Harbour Wire", harbour_feed(30)))
    records = feeds.parse_feed(feed.read_bytes(), str(feed), IngestReport())
    spool = tmp_path / "watch-spool" / "desk.feed.jsonl"
    spool.parent.mkdir()
    spool.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    whole, _ = read_feed_file(spool)
    units = work_units([spool], 2000)
    assert len(units) > 3
    in_parts = []
    for unit in sorted(units, key=lambda unit: unit.order):
        in_parts += read_file(spool, IngestReport(), max_file_bytes=1 << 20, part=unit.part)
    assert in_parts == whole
    assert [article.origin for article in whole[:2]] == [f"{spool}:1", f"{spool}:2"]
