"""``searchsvc watch``: feeds on loopback and folders kept current in a real index and app."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import child_environment
from test_feeds_support import Entry, Post, feed_server, rss, story_entry, wordpress_export
from test_index_support import (
    STORIES,
    generated_corpus,
    index_settings,
    story,
    wait_for,
    write_corpus,
    write_jsonl,
)
from test_web_support import running_app

from searchsvc.articles.model import Article, IngestReport
from searchsvc.articles.sources import read_articles
from searchsvc.cli import main
from searchsvc.engines import delete_articles, update_articles
from searchsvc.index import build_index, open_index, read_build_status
from searchsvc.index.build import build_generation, hold_build_lock
from searchsvc.index.watch import Watcher, WatchRunning, hold_watch_lock
from searchsvc.index.watchstate import SPOOL_DIR, read_watch_state

WORDS = ["albatross", "barnacle", "cormorant", "dolphin", "eelgrass", "flounder"]
# Hang guards, not measurements: how long a test waits for something that must happen.
DEADLINE = 60.0
PAGES = Path(__file__).parent / "fixtures" / "pages"


@pytest.fixture(scope="module")
def server():
    with feed_server() as running:
        yield running


@pytest.fixture
def settings(tmp_path: Path):
    corpus = write_corpus(tmp_path / "corpus")
    settings = index_settings(tmp_path, corpus=str(corpus), feed_timeout=0.5)
    build_index(None, settings)
    return settings


@pytest.fixture
def client(settings):
    for app in running_app(settings.replace(admin_token="harbour-secret")):
        yield app.test_client()


def found(client, word: str) -> list[str]:
    """Ids of the articles a search for ``word`` lists (every page of them)."""
    body = client.get(f"/api/search?q={word}&per_page=100").get_json()
    assert body["total"] == len(body["hits"])
    return [hit["id"] for hit in body["hits"]]


def entry_id(number: int) -> str:
    return f"http://harbour.example/story/{number}"


def publish(server, path: str, numbers: range | list[int]) -> str:
    entries = [story_entry(n, WORDS[n]) for n in numbers]
    return server.publish(path, rss("Harbour Wire", entries))


def test_new_entries_become_searchable_and_unchanged_feeds_are_not_fetched_again(
    server, settings, client
) -> None:
    url = publish(server, "/a/harbour.rss", range(2))
    watcher = Watcher(settings, [url])
    first = watcher.poll()
    assert (first["added"], first["replaced"], first["error"]) == (2, 0, None)
    assert found(client, "albatross") == [entry_id(0)]
    hit = client.get("/api/search?q=barnacle").get_json()["hits"][0]
    assert (hit["source"], hit["date"]) == ("Harbour Wire", "2024-03-05")

    again = watcher.poll()
    assert again["sources"] == [{"source": url, "state": "not modified", "new": 0}]
    requests = server.requests_to("/a/harbour.rss")
    assert [r["if_none_match"] is not None for r in requests] == [False, True]

    publish(server, "/a/harbour.rss", range(3))
    third = watcher.poll()
    assert (third["added"], third["replaced"]) == (1, 0)
    assert found(client, "cormorant") == [entry_id(2)]
    assert found(client, "albatross") == [entry_id(0)]


def test_failing_feeds_are_reported_and_the_others_still_read(server, settings, client) -> None:
    good = publish(server, "/b/good.rss", range(1))
    broken = server.publish("/b/broken.rss", "oops", status=500)
    stalled = server.publish(
        "/b/stalled.rss", rss("Slow", [story_entry(1, WORDS[1])]), stall_seconds=2.0
    )
    malformed = server.publish("/b/malformed.rss", "<rss><channel><title>Half</ti")
    page = server.publish("/b/page.rss", "<html><p>Not a feed</p></html>", content_type="text/html")
    missing = server.base + "/b/missing.rss"
    watcher = Watcher(settings, [good, broken, stalled, malformed, page, missing])
    poll = watcher.poll()
    states = {
        source["source"]: (source["state"], source.get("error")) for source in poll["sources"]
    }
    assert states[good] == ("read", None)
    assert states[broken] == ("error", "HTTP 500 Internal Server Error")
    assert states[stalled][0] == "error" and "timed out" in states[stalled][1]
    assert states[malformed] == ("error", "malformed feed")
    assert states[page] == ("error", "not a feed")
    assert states[missing] == ("error", "HTTP 404 Not Found")
    assert (poll["added"], poll["error"]) == (1, None)
    assert poll["skipped"] == {"malformed feed": 1, "not a feed": 1}
    assert found(client, "albatross") == [entry_id(0)]
    for path in ("good", "broken", "stalled", "malformed", "page", "missing"):
        assert len(server.requests_to(f"/b/{path}.rss")) == 1

    status = client.get("/api/index/status").get_json()["watch"]
    assert status["last_poll"]["sources"] == poll["sources"]
    assert status["totals"] == {
        "added": 1,
        "replaced": 0,
        "deleted": 0,
        "unchanged": 0,
        "polls": 1,
        "failed_polls": 0,
    }
    assert (status["feeds"], status["feed_entries"]) == (1, 1)

    server.publish("/b/malformed.rss", rss("Mended", [story_entry(3, WORDS[3])]))
    assert watcher.poll()["added"] == 1
    assert found(client, "dolphin") == [entry_id(3)]


def test_repeated_and_updated_entries_stay_one_article(server, settings, client) -> None:
    first, second = story_entry(4, WORDS[4]), story_entry(5, WORDS[5])
    url = server.publish("/c/repeats.rss", rss("Harbour Wire", [first, second, first, first]))
    watcher = Watcher(settings, [url])
    poll = watcher.poll()
    assert (poll["added"], poll["skipped"]) == (2, {"repeated feed entry": 2})
    assert found(client, "eelgrass") == [entry_id(4)]

    revised = Entry(first.guid, first.title, "<p>Divers found eelgrass and seals.</p>", first.link)
    server.publish("/c/repeats.rss", rss("Harbour Wire", [revised, second, revised]))
    poll = watcher.poll()
    assert (poll["added"], poll["replaced"]) == (0, 1)
    assert found(client, "seals") == [entry_id(4)]
    assert found(client, "eelgrass") == [entry_id(4)]
    assert found(client, "pilots") == [entry_id(5)]


def test_a_restarted_watch_neither_repeats_nor_misses(server, settings, client) -> None:
    url = publish(server, "/d/harbour.rss", range(2))
    assert Watcher(settings, [url]).poll()["added"] == 2
    publish(server, "/d/harbour.rss", range(4))  # published while no watch runs
    restarted = Watcher(settings, [url]).poll()
    assert (restarted["added"], restarted["replaced"]) == (2, 0)
    for number, word in enumerate(WORDS[:4]):
        assert found(client, word) == [entry_id(number)]
    assert Watcher(settings, [url]).poll()["sources"][0]["state"] == "not modified"
    assert read_watch_state(settings.index_dir)["totals"]["added"] == 4


def test_folders_add_replace_and_delete(tmp_path: Path, settings, client) -> None:
    inbox = tmp_path / "inbox"
    write_jsonl(inbox / "desk.jsonl", [story("gull-1", "Gulls return", "Gulls nested early.")])
    (inbox / "pier.txt").write_text("Pier reopens\n\nThe pier reopened after storms.\n")
    watcher = Watcher(settings, [str(inbox)])
    assert watcher.poll()["added"] == 2
    assert found(client, "gulls") == ["gull-1"]
    assert found(client, "pier") == ["pier"]

    write_jsonl(inbox / "desk.jsonl", [story("gull-2", "Terns return", "Terns nested late.")])
    (inbox / "pier.txt").unlink()
    poll = Watcher(settings, [str(inbox)]).poll()  # a restart in between changes nothing
    assert (poll["added"], poll["replaced"], poll["deleted"]) == (1, 0, 2)
    assert found(client, "gulls") == []
    assert found(client, "pier") == []
    assert found(client, "terns") == ["gull-2"]
    assert Watcher(settings, [str(inbox)]).poll()["sources"][0]["changed"] == 0


def test_the_files_record_is_written_only_when_a_poll_changes_it(
    tmp_path: Path, settings, client
) -> None:
    """An idle poll of a big archive rewrites the small summary, not the files' record;
    one that cannot be read costs a reading of every file again, not an article twice."""
    inbox = tmp_path / "inbox"
    for number in range(3):
        (inbox / f"{number:03d}.txt").parent.mkdir(exist_ok=True)
        (inbox / f"{number:03d}.txt").write_text(f"Ferry {number}\n\nFerry {number} sailed.\n")
    watcher = Watcher(settings, [str(inbox)])
    assert watcher.poll()["added"] == 3
    files_record = Path(settings.index_dir) / "watch-files.json"
    written = files_record.stat()
    polled = watcher.poll()
    assert (polled["added"], files_record.stat()) == (0, written)
    status = client.get("/api/index/status").get_json()["watch"]
    assert (status["files"], status["last_poll"]["started_at"]) == (3, polled["started_at"])

    (inbox / "003.txt").write_text("Ferry 3\n\nFerry 3 sailed.\n")
    assert watcher.poll()["added"] == 1
    assert files_record.stat().st_mtime_ns != written.st_mtime_ns

    files_record.write_text('{"files": ')  # cut short
    poll = watcher.poll()
    assert (poll["added"], poll["replaced"], poll["unchanged"]) == (0, 0, 4)
    assert sorted(found(client, "ferry")) == ["000", "001", "002", "003"]
    assert len(read_watch_state(settings.index_dir)["files"]) == 4


def test_files_due_to_be_read_again_stay_due_after_a_poll_that_cannot_write(
    tmp_path: Path, settings
) -> None:
    """A state whose ids were made another way marks its files to be read again; a poll
    that saves the state without applying anything (an update holding the index) keeps
    the marks, though it changed no file's record."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(PAGES / "no_date.html", inbox / "library.html")
    Watcher(settings, [str(inbox)]).poll()
    summary_file = Path(settings.index_dir) / "watch-state.json"
    summary = json.loads(summary_file.read_text())
    summary["file_ids"] = 2  # before saved pages were named by their path
    summary_file.write_text(json.dumps(summary))
    (inbox / "pier.txt").write_text("Pier reopens\n\nThe pier reopened.\n")  # to apply
    with hold_build_lock(Path(settings.index_dir)):
        blocked = Watcher(settings.replace(writer_lock_timeout=0.1), [str(inbox)]).poll()
    assert "is running" in blocked["error"]
    (entry,) = read_watch_state(settings.index_dir)["files"].values()
    assert entry["signature"] == "read again"


def test_a_watched_wordpress_export_follows_what_the_site_publishes(
    tmp_path: Path, settings, client
) -> None:
    """The site's export written again: a post taken back to draft leaves the index, a
    draft published joins it."""
    export = tmp_path / "inbox" / "gazette.xml"
    export.parent.mkdir()
    ferry = Post(1, "Ferry strike ends", "Albatross sightings delayed the ferry.")
    quay = Post(2, "Quay plans", "Barnacle removal starts.", status="draft")
    export.write_text(wordpress_export([ferry, quay]), encoding="utf-8")
    watcher = Watcher(settings, [str(export.parent)])
    assert watcher.poll()["added"] == 1
    assert (found(client, "albatross"), found(client, "barnacle")) == (
        ["https://gazette.example/?p=1"],
        [],
    )

    withdrawn = dataclasses.replace(ferry, status="draft")
    export.write_text(wordpress_export([withdrawn, dataclasses.replace(quay, status="publish")]))
    poll = watcher.poll()
    assert (poll["added"], poll["deleted"]) == (1, 1)
    assert (found(client, "albatross"), found(client, "barnacle")) == (
        [],
        ["https://gazette.example/?p=2"],
    )


def write_older_state(index_dir: Path, state: dict) -> None:
    """``state`` as a version that kept the files in ``watch-state.json`` wrote it."""
    older = {key: value for key, value in state.items() if key not in ("files_apart", "file_count")}
    (index_dir / "watch-state.json").write_text(json.dumps(older))


def test_a_growing_export_indexes_only_what_changed(tmp_path: Path, settings, client) -> None:
    """A CMS's export that grows by a line and has a line corrected: a poll indexes those
    two articles, not the whole file again. A state kept before articles had digests
    has the file read whole once, and its articles are found as the index holds them."""
    export = tmp_path / "inbox" / "desk.jsonl"
    stories = [story(f"desk-{n}", f"Report {n}", f"{WORDS[n]} sighted.") for n in range(5)]
    write_jsonl(export, stories)
    watcher = Watcher(settings, [str(export.parent)])
    assert watcher.poll()["added"] == 5

    stories[1] = story("desk-1", "Report 1", "Grebe sighted instead.")
    write_jsonl(export, [*stories, story("desk-5", "Report 5", "Heron sighted.")])
    poll = watcher.poll()
    assert (poll["added"], poll["replaced"], poll["deleted"]) == (1, 1, 0)
    assert (found(client, "grebe"), found(client, "barnacle")) == (["desk-1"], [])

    state = read_watch_state(settings.index_dir)
    for entry in state["files"].values():
        del entry["digests"]
    write_older_state(settings.index_dir, state)
    write_jsonl(export, [*stories, story("desk-5", "Report 5", "Heron sighted.")])
    export.touch()
    poll = watcher.poll()
    assert (poll["replaced"], poll["unchanged"]) == (0, 6)
    assert state["files"] != read_watch_state(settings.index_dir)["files"]  # digests again
    export.touch()
    poll = watcher.poll()
    assert (poll["replaced"], poll["unchanged"]) == (0, 0)


def test_a_growing_export_is_read_from_where_the_last_poll_ended(
    tmp_path: Path, settings, client
) -> None:
    """Lines appended to a watched export are read alone: a bad line earlier in the file
    is reported by the poll that read it, not at every poll after; an appended revision
    replaces its article; the appended articles keep their line numbers. A file written
    again with an earlier line changed is read whole."""
    export = tmp_path / "inbox" / "desk.jsonl"
    export.parent.mkdir()
    lines = [
        json.dumps(story(f"desk-{n}", f"Report {n}", f"{WORDS[n]} sighted.")) for n in range(3)
    ]
    lines.insert(2, '{"body": "broken')
    export.write_text("\n".join(lines), encoding="utf-8")  # no newline after the last line
    watcher = Watcher(settings, [str(export.parent)])
    first = watcher.poll()
    assert (first["added"], first["skipped"]) == (3, {"malformed JSON line": 1})

    def append(record: dict) -> dict:
        with export.open("a", encoding="utf-8") as stream:
            stream.write(
                ("\n" if export.read_bytes()[-1:] != b"\n" else "") + json.dumps(record) + "\n"
            )
        poll = watcher.poll()
        return {key: poll[key] for key in ("added", "replaced", "deleted", "skipped")}

    heron = story("desk-3", "Report 3", "Heron sighted.")
    assert append(heron) == {"added": 1, "replaced": 0, "deleted": 0, "skipped": {}}
    assert found(client, "heron") == ["desk-3"]
    assert origins(settings)["desk-3"] == f"{export}:5"
    revised = story("desk-1", "Report 1", "Grebe sighted instead.")
    assert append(revised) == {"added": 0, "replaced": 1, "deleted": 0, "skipped": {}}
    assert (found(client, "grebe"), found(client, WORDS[1])) == (["desk-1"], [])
    assert origins(settings)["desk-1"] == f"{export}:6"

    text = export.read_text(encoding="utf-8").replace(f"{WORDS[0]} sighted", "Skua sighted")
    export.write_text(text, encoding="utf-8")
    poll = watcher.poll()
    assert (poll["added"], poll["replaced"], poll["skipped"]) == (0, 1, {"malformed JSON line": 1})
    assert found(client, "skua") == ["desk-0"]
    assert build_index(None, settings).article_count == 4 + len(STORIES)
    assert (found(client, "skua"), found(client, "grebe"), found(client, "heron")) == (
        ["desk-0"],
        ["desk-1"],
        ["desk-3"],
    )


def origins(settings) -> dict[str, str]:
    with open_index(settings.index_dir) as opened, opened.searcher() as searcher:
        return {f["id"]: f["article"]["origin"] for f in searcher.all_stored_fields()}


def test_an_article_in_two_files_is_the_one_a_rebuild_would_keep(
    tmp_path: Path, settings, client
) -> None:
    """An export's revision in a later export: the later file (in name order) gives the
    article, removing the older file keeps it, removing the later one brings the older
    version back, and a file named earlier changes nothing, as a full build reads them."""
    inbox = tmp_path / "inbox"
    first = write_jsonl(
        inbox / "2024-01.jsonl",
        [
            story("quay", "Quay closed", "Albatross nests close the quay."),
            story("tern", "T", "Terns."),
        ],
    )
    second = write_jsonl(inbox / "2024-02.jsonl", [story("quay", "Quay open", "Barnacle scrape.")])
    watcher = Watcher(settings, [str(inbox)])
    assert watcher.poll()["added"] == 2
    assert (found(client, "albatross"), found(client, "barnacle")) == ([], ["quay"])

    write_jsonl(inbox / "2023-12.jsonl", [story("quay", "Quay shut", "Cormorant colony.")])
    assert (watcher.poll()["added"], found(client, "cormorant")) == (0, [])
    assert build_index(None, settings).duplicates_removed == 2
    assert (found(client, "barnacle"), found(client, "cormorant")) == (["quay"], [])
    first.unlink()
    poll = watcher.poll()
    assert (poll["added"], poll["replaced"], poll["deleted"]) == (0, 0, 1)  # the tern
    assert (found(client, "barnacle"), found(client, "terns")) == (["quay"], [])

    second.unlink()
    poll = watcher.poll()
    assert (poll["added"], poll["replaced"], poll["deleted"]) == (0, 1, 0)
    assert (found(client, "barnacle"), found(client, "cormorant")) == ([], ["quay"])


def test_an_export_that_grew_gives_back_an_article_a_removed_export_revised(
    tmp_path: Path, settings, client
) -> None:
    """The later export is removed while the earlier one grows: the article comes back
    in the earlier export's version, from before its appended lines."""
    inbox = tmp_path / "inbox"
    first = write_jsonl(inbox / "2024-01.jsonl", [story("quay", "Quay closed", "Albatross.")])
    second = write_jsonl(inbox / "2024-02.jsonl", [story("quay", "Quay open", "Barnacle.")])
    watcher = Watcher(settings, [str(inbox)])
    assert watcher.poll()["added"] == 1
    assert (found(client, "albatross"), found(client, "barnacle")) == ([], ["quay"])

    second.unlink()
    with first.open("a", encoding="utf-8") as stream:
        stream.write(json.dumps(story("tern", "Terns", "Terns return.")) + "\n")
    poll = watcher.poll()
    assert (poll["added"], poll["replaced"], poll["deleted"]) == (1, 1, 0)
    assert (found(client, "albatross"), found(client, "barnacle")) == (["quay"], [])


def test_stories_of_a_watched_day_folder_are_named_as_a_rebuild_names_them(
    tmp_path: Path, client
) -> None:
    """A day's folder of an archive watched on its own: its stories are known by their
    path in the archive, so a rebuild from the archive finds each once."""
    archive = tmp_path / "archive"
    first_day, next_day = archive / "2024-03-01", archive / "2024-03-02"
    first_day.mkdir(parents=True)
    (first_day / "001.txt").write_text("Gulls return\n\nGulls nested early.\n")
    settings = index_settings(tmp_path, corpus=str(archive))
    build_index(None, settings)
    next_day.mkdir()
    (next_day / "001.txt").write_text("Terns return\n\nTerns nested late.\n")
    for app in running_app(settings):
        watched = app.test_client()
        assert Watcher(settings, [str(next_day)]).poll()["added"] == 1
        assert found(watched, "terns") == ["2024-03-02/001"]
        assert build_index(None, settings).duplicates_removed == 0
        assert (found(watched, "gulls"), found(watched, "terns")) == (
            ["2024-03-01/001"],
            ["2024-03-02/001"],
        )


def test_a_watched_folder_linked_into_the_archive_is_named_as_a_rebuild_names_it(
    tmp_path: Path, client
) -> None:
    """A day's folder kept on another disk and linked into the archive, watched by its
    path in the archive: its stories are known by that path, as the build reading the
    archive through the link knows them, not twice."""
    archive, elsewhere = tmp_path / "archive", tmp_path / "disk2" / "2024-03-03"
    elsewhere.mkdir(parents=True)
    (elsewhere / "001.txt").write_text("Herons return\n\nHerons nested in March.\n")
    archive.mkdir()
    (archive / "2024-03-03").symlink_to(elsewhere, target_is_directory=True)
    settings = index_settings(tmp_path, corpus=str(archive))
    build_index(None, settings)
    (elsewhere / "002.txt").write_text("Egrets return\n\nEgrets nested in April.\n")
    for app in running_app(settings):
        watched = app.test_client()
        poll = Watcher(settings, [str(archive / "2024-03-03")]).poll()
        # The build's record of 001 holds: named alike, so taken over unread.
        assert (poll["added"], poll["unchanged"], poll["from_build"]) == (1, 0, 1)
        assert sorted(found(watched, "return")) == ["2024-03-03/001", "2024-03-03/002"]
        assert build_index(None, settings).duplicates_removed == 0
        assert sorted(found(watched, "return")) == ["2024-03-03/001", "2024-03-03/002"]


@pytest.mark.parametrize("written_with", [None, 2])
def test_a_state_of_file_names_as_ids_is_read_again_once(
    tmp_path: Path, settings, client, written_with: int | None
) -> None:
    """A watch that knew a wire story, or a saved page without a URL, by its file name
    alone replaces it under its path in the folder at the next poll, and then reads
    nothing again. A state of version 2 already named wire stories so: only its page is
    read again."""
    inbox = tmp_path / "inbox"
    (inbox / "pier").mkdir(parents=True)
    (inbox / "pier" / "notice.txt").write_text("Pier reopens\n\nThe pier reopened.\n")
    shutil.copy(PAGES / "no_date.html", inbox / "pier" / "library.html")
    watcher = Watcher(settings, [str(inbox)])
    watcher.poll()
    state = read_watch_state(settings.index_dir)
    if written_with is None:
        del state["file_ids"]  # as an earlier version wrote it
    else:
        state["file_ids"] = written_with
    old_ids = {"notice.txt": "notice", "library.html": "library"}
    if written_with == 2:
        del old_ids["notice.txt"]
    for name, known in state["files"].items():
        if Path(name).name in old_ids:
            known["ids"] = [old_ids[Path(name).name]]
            delete_articles(settings, [f"pier/{Path(name).stem}"])
            update_articles(settings, [read_story(Path(name), known["ids"][0])])
    write_older_state(settings.index_dir, state)
    assert found(client, "pier") == ["notice" if written_with is None else "pier/notice"]
    assert found(client, "library") == ["library"]

    poll = watcher.poll()
    renamed = len(old_ids)
    assert (poll["added"], poll["replaced"], poll["deleted"]) == (renamed, 0, renamed)
    assert (found(client, "pier"), found(client, "library")) == (["pier/notice"], ["pier/library"])
    assert watcher.poll()["sources"][0]["changed"] == 0


def read_story(path: Path, article_id: str) -> Article:
    (article,) = read_articles([path], IngestReport(), max_file_bytes=1 << 20)
    return dataclasses.replace(article, id=article_id)


def test_a_file_that_cannot_be_read_keeps_its_articles_until_it_can(
    tmp_path: Path, settings, client
) -> None:
    """A watched link into a share that is away: the poll reports the file unreadable,
    deletes nothing, and reads it again at each poll until it can."""
    store = tmp_path / "share"
    shared = write_jsonl(store / "desk.jsonl", [story("gull-1", "Gulls return", "Gulls nest.")])
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "desk.jsonl").symlink_to(shared)
    watcher = Watcher(settings, [str(inbox)])
    assert watcher.poll()["added"] == 1

    away = shared.rename(store / "away.jsonl")
    for _ in range(2):
        poll = watcher.poll()
        assert (poll["deleted"], poll["skipped"]) == (0, {"unreadable file": 1})
        assert found(client, "gulls") == ["gull-1"]
    away.rename(shared)  # back, with the size and time it had
    poll = watcher.poll()  # read again, and found as it was: nothing to index
    assert (poll["added"], poll["replaced"], poll["deleted"], poll["skipped"]) == (0, 0, 0, {})
    assert poll["sources"][0]["changed"] == 1 and found(client, "gulls") == ["gull-1"]
    assert watcher.poll()["sources"][0]["changed"] == 0


def test_a_watched_folder_that_is_away_keeps_its_articles(tmp_path: Path, settings, client):
    """A network share unmounted under a running watch: its folder is gone for a while.
    Nothing is deleted, the poll says why, and the folder is read as before once back."""
    share = tmp_path / "share"
    inbox = share / "inbox"
    write_jsonl(inbox / "desk.jsonl", [story("gull-1", "Gulls return", "Gulls nest.")])
    watcher = Watcher(settings, [str(inbox)])
    assert watcher.poll()["added"] == 1

    away = share.rename(tmp_path / "away")
    poll = watcher.poll()
    assert poll["deleted"] == 0
    assert poll["sources"] == [
        {
            "source": str(inbox),
            "state": "error",
            "error": "cannot be read; its articles are kept until it can",
        }
    ]
    assert found(client, "gulls") == ["gull-1"]
    away.rename(share)
    poll = watcher.poll()
    assert (poll["added"], poll["replaced"], poll["deleted"]) == (0, 0, 0)
    assert poll["sources"][0]["state"] == "read"


def test_a_rebuild_keeps_what_the_watch_added(tmp_path: Path, server, settings, client) -> None:
    url = publish(server, "/e/harbour.rss", range(2))
    inbox = tmp_path / "inbox"
    write_jsonl(inbox / "desk.jsonl", [story("gull-1", "Gulls return", "Gulls nested early.")])
    watcher = Watcher(settings, [url, str(inbox)])
    assert watcher.poll()["added"] == 3
    result = build_index(None, settings)
    assert result.article_count == 4 + 3
    assert (Path(settings.index_dir) / SPOOL_DIR).is_dir()
    assert found(client, "albatross") == [entry_id(0)]
    assert found(client, "gulls") == ["gull-1"]
    assert found(client, "cocoa") == ["cocoa"]
    after = watcher.poll()
    assert (after["added"], after["replaced"]) == (0, 0)


def test_a_poll_that_cannot_write_is_applied_by_the_next(
    tmp_path: Path, server, settings, client
) -> None:
    """A build that outlasts the writer's wait: nothing is saved (of feeds or files), so
    nothing is lost."""
    url = publish(server, "/j/harbour.rss", range(2))
    inbox = tmp_path / "inbox"
    write_jsonl(inbox / "desk.jsonl", [story("desk-1", "Skua", "Skua sighted.")])
    watcher = Watcher(settings.replace(writer_lock_timeout=0.2), [url, str(inbox)])
    index_dir = Path(settings.index_dir)
    (index_dir / "build-status.json").write_text(
        json.dumps({"state": "building", "pid": os.getpid(), "done": 3})
    )
    with hold_build_lock(index_dir):
        blocked = watcher.poll()
    (index_dir / "build-status.json").unlink()
    assert "a full index build is running" in blocked["error"]
    assert found(client, "albatross") == []
    state = read_watch_state(index_dir)
    assert (state["feeds"], state["files"], state["totals"]["failed_polls"]) == ({}, {}, 1)

    retried = watcher.poll()
    assert (retried["added"], retried["error"]) == (3, None)
    assert (found(client, "albatross"), found(client, "skua")) == ([entry_id(0)], ["desk-1"])


def test_fetch_pages_indexes_the_linked_page(server, settings, client) -> None:
    page = (
        "<html><head><title>Trawler towed in</title></head><body><nav>Home | Sport</nav>"
        "<article><h1>Trawler towed in</h1><p>BERGEN (Harbour Wire) - A trawler that lost "
        "power off the coast was towed into port by a lifeboat crew on Sunday.</p><p>The "
        "skipper thanked the volunteers and said the engine would be replaced.</p></article>"
        "<footer>Share this story</footer></body></html>"
    )
    link = server.publish("/i/trawler.html", page, content_type="text/html")
    entry = Entry("urn:harbour:trawler", "Trawler towed in", "A trawler was towed.", link)
    url = server.publish("/i/summaries.rss", rss("Harbour Wire", [entry]))
    poll = Watcher(settings, [url], fetch_pages=True).poll()
    assert (poll["added"], poll["repaired"]) == (1, {})
    assert found(client, "skipper") == ["urn:harbour:trawler"]
    assert found(client, "sport") == []
    assert len(server.requests_to("/i/trawler.html")) == 1


def update_for_a_moment(index_dir: Path) -> threading.Thread:
    """A thread holding the build lock for half a second, as an update's commit does."""
    holding = threading.Event()

    def hold() -> None:
        # As an update does, wait out a build that is still letting go of the lock.
        with hold_build_lock(index_dir, wait=DEADLINE):
            holding.set()
            time.sleep(0.5)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(DEADLINE)
    return thread


def finished_by(index_dir: Path, pid: int) -> bool:
    """Whether the build process ``pid`` is over. Told by its pid: finished times are to
    the second, and a rebuild of four articles can end within the second the build before
    it ended."""
    status = read_build_status(index_dir)
    return status["pid"] == pid and status["state"] != "building"


def test_a_rebuild_waits_for_an_update_instead_of_failing(settings, client) -> None:
    """A rebuild requested while an update commits (from the API or a terminal) starts
    once the update is done: no 409, no 'try again'."""
    holder = update_for_a_moment(settings.index_dir)
    started = client.post("/api/index/rebuild", headers={"Authorization": "Bearer harbour-secret"})
    holder.join(DEADLINE)
    assert started.status_code == 202
    # The rebuild may not have taken the lock yet: wait for it to have finished, not
    # merely for the state to read "not building".
    rebuild = started.get_json()["job"]["pid"]
    wait_for(lambda: finished_by(settings.index_dir, rebuild), "build")
    assert read_build_status(settings.index_dir)["state"] == "idle"

    holder = update_for_a_moment(settings.index_dir)
    assert build_index(None, settings).article_count == 4
    holder.join(DEADLINE)


def test_one_watch_per_index(settings) -> None:
    with hold_watch_lock(settings.index_dir), pytest.raises(WatchRunning):
        Watcher(settings, []).run(1.0, threading.Event())


@pytest.mark.slow
def test_watch_beside_searches_and_an_api_rebuild(tmp_path: Path, server, client) -> None:
    """Entries published before, during and after a rebuild are each found once."""
    settings = client.application.extensions["searchsvc"].settings
    generated_corpus(Path(settings.corpus[0]), files=4, per_file=400)
    url = publish(server, "/f/harbour.rss", range(2))
    polls: list[dict] = []
    stop = threading.Event()
    watch = threading.Thread(
        target=Watcher(settings, [url]).run, args=(0.2, stop), kwargs={"on_poll": polls.append}
    )
    watch.start()
    try:
        wait_for(lambda: found(client, "barnacle") == [entry_id(1)], "the first entries")
        served = client.get("/api/index/status").get_json()["serving"]["generation"]
        started = client.post(
            "/api/index/rebuild", headers={"Authorization": "Bearer harbour-secret"}
        )
        assert started.status_code == 202
        publish(server, "/f/harbour.rss", range(4))
        wait_for(lambda: read_build_status(settings.index_dir)["state"] != "building", "build")
        assert read_build_status(settings.index_dir)["state"] == "idle"
        publish(server, "/f/harbour.rss", range(6))
        for number, word in enumerate(WORDS):
            wait_for(lambda w=word: found(client, w) != [], f"entry {number}")
            assert found(client, word) == [entry_id(number)]
        status = client.get("/api/index/status").get_json()
        assert status["serving"]["generation"] != served
        assert status["serving"]["article_count"] == 4 + 1600 + 6
    finally:
        stop.set()
        watch.join(timeout=DEADLINE)
    assert [poll["error"] for poll in polls] == [None] * len(polls)


@pytest.mark.slow
def test_the_watch_command_keeps_a_server_current(tmp_path: Path, server, settings, client):
    url = publish(server, "/g/harbour.rss", range(1))
    env = child_environment(SEARCHSVC_INDEX_DIR=str(settings.index_dir))
    command = [sys.executable, "-m", "searchsvc", "watch", url, "--interval", "0.3"]
    log = tmp_path / "watch.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: found(client, "albatross") == [entry_id(0)], "the first entry")
        publish(server, "/g/harbour.rss", range(2))
        wait_for(lambda: found(client, "barnacle") == [entry_id(1)], "the second entry")
    finally:
        process.terminate()
        assert process.wait(timeout=DEADLINE) == 0
    lines = log.read_text().splitlines()
    assert lines[0].endswith("poll: 1 added, 0 replaced, 0 deleted")
    assert any(line.endswith("poll: 1 added, 0 replaced, 0 deleted") for line in lines[1:])


def test_watch_once_prints_the_poll(server, settings, monkeypatch, capsys) -> None:
    url = publish(server, "/h/harbour.rss", range(2))
    broken = server.publish("/h/broken.rss", "no", status=500)
    monkeypatch.setenv("SEARCHSVC_INDEX_DIR", str(settings.index_dir))
    assert main(["watch", "--once", url, broken]) == 0
    assert capsys.readouterr().out.endswith(
        f"poll: 2 added, 0 replaced, 0 deleted; failed: {broken} (HTTP 500 Internal Server Error)\n"
    )


def test_a_watch_started_on_the_folder_a_build_read_takes_over_what_it_read(
    tmp_path: Path, settings, client, monkeypatch, capsys
) -> None:
    """A desk builds its archive, then watches it: the first poll reads no file the build
    read as it is, and writes nothing; a story edited later is replaced, and a file
    removed later takes its stories with it."""
    corpus = tmp_path / "corpus"
    write_jsonl(corpus / "more.jsonl", [story("gull", "Gulls nest", "Gulls nest on roofs.")])
    build_index(None, settings)
    with open_index(settings.index_dir) as opened:
        meta = opened.meta
    monkeypatch.setenv("SEARCHSVC_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("SEARCHSVC_CORPUS", str(corpus))
    assert main(["watch", "--once", str(corpus)]) == 0
    assert capsys.readouterr().out.endswith(
        "poll: 0 added, 0 replaced, 0 deleted, 2 files already indexed by the build\n"
    )
    with open_index(settings.index_dir) as opened:
        assert opened.meta == meta
    status = client.get("/api/index/status").get_json()["watch"]
    assert (status["last_poll"]["from_build"], status["files"]) == (2, 2)
    assert status["last_poll"]["sources"][0]["changed"] == 0

    stories = [dict(record) for record in STORIES]
    stories[2]["body"] = "Cocoa futures fell as rain returned to Ivory Coast."
    write_jsonl(corpus / "stories.jsonl", stories)
    (corpus / "more.jsonl").unlink()
    poll = Watcher(settings, [str(corpus)]).poll()
    assert (poll["added"], poll["replaced"], poll["deleted"]) == (0, 1, 1)
    assert found(client, "rain") == ["cocoa"] and found(client, "gulls") == []


@pytest.mark.parametrize("since_the_build", ["an update", "a changed file", "a damaged record"])
def test_a_watch_reads_what_changed_since_the_build(
    tmp_path: Path, settings, client, since_the_build: str
) -> None:
    """What the build read is taken over only as it was: after an update of the index
    (whose articles the build's record does not know), every file is read; a file changed
    since the build is read, the others are taken over; a record cut short is none."""
    corpus = tmp_path / "corpus"
    write_jsonl(corpus / "more.jsonl", [story("gull", "Gulls nest", "Gulls nest on roofs.")])
    build_index(None, settings)
    if since_the_build == "an update":
        update_articles(settings, [Article(id="tern", title="Terns", body="Terns dive.")])
    elif since_the_build == "a changed file":
        os.utime(corpus / "more.jsonl", ns=(0, 0))
    else:
        record = Path(settings.index_dir) / "build-files.jsonl"
        record.write_text(record.read_text(encoding="utf-8")[:-20], encoding="utf-8")
    poll = Watcher(settings, [str(corpus)]).poll()
    read = 1 if since_the_build == "a changed file" else 2
    assert (poll["from_build"], poll["sources"][0]["changed"]) == (2 - read, read)
    assert (poll["added"], poll["replaced"], poll["unchanged"]) == (0, 0, 1 + 4 * (read - 1))
    assert found(client, "gulls") == ["gull"]


def test_a_watch_reads_the_files_whose_ids_the_build_read_twice(
    tmp_path: Path, settings, client
) -> None:
    """Which copy of an id read in two files a build keeps is its reading order's
    business: a watch reads both files itself, and takes over the rest."""
    corpus = tmp_path / "corpus"
    write_jsonl(corpus / "copy.jsonl", [story("cocoa", "Cocoa again", "Cocoa held firm.")])
    write_jsonl(corpus / "more.jsonl", [story("gull", "Gulls nest", "Gulls nest on roofs.")])
    build_index(None, settings)
    kept = found(client, "cocoa")
    poll = Watcher(settings, [str(corpus)]).poll()
    assert (poll["from_build"], poll["sources"][0]["changed"]) == (1, 2)
    assert (poll["added"], poll["replaced"], poll["deleted"]) == (0, 0, 0)
    assert found(client, "cocoa") == kept == ["cocoa"]


def test_a_file_the_build_skipped_is_read_by_the_watch(tmp_path: Path, settings, client) -> None:
    """A file the build left out (here too big for its cap) is the watch's to read: the
    watch's settings may take it."""
    corpus = tmp_path / "corpus"
    (corpus / "long.txt").write_text("Gannets dive\n\n" + "Gannets dive for fish. " * 60)
    build_index(None, settings.replace(max_file_bytes=1000))
    poll = Watcher(settings, [str(corpus)]).poll()
    assert (poll["from_build"], poll["sources"][0]["changed"], poll["added"]) == (1, 1, 1)
    assert found(client, "gannets") == ["long"]


def test_a_big_file_the_build_read_in_parts_is_taken_over_whole(
    tmp_path: Path, settings, client
) -> None:
    """An export cut into parts for the build's workers is one file to the watch: its
    parts' ids, in order, make its entry; a line removed later deletes its story."""
    corpus = tmp_path / "corpus"
    records = [story(f"wire-{n}", f"Harbour report {n}", f"Ships {n} left.") for n in range(60)]
    export = write_jsonl(corpus / "stories.jsonl", records)
    built = build_generation(
        [corpus], settings.replace(build_procs=2), list_files=lambda: [export], piece_bytes=1000
    )
    assert built.meta["work_units"] > 2
    poll = Watcher(settings, [str(corpus)]).poll()
    assert (poll["from_build"], poll["sources"][0]["changed"]) == (1, 0)
    assert read_watch_state(settings.index_dir)["files"][str(export)]["ids"] == [
        record["id"] for record in records
    ]
    write_jsonl(export, records[:30] + records[31:])
    poll = Watcher(settings, [str(corpus)]).poll()
    assert (poll["deleted"], poll["unchanged"]) == (1, 59)
    assert sorted(found(client, "harbour")) == sorted(r["id"] for r in records if r != records[30])


def test_watch_needs_an_index_and_real_paths(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SEARCHSVC_INDEX_DIR", str(tmp_path / "none"))
    assert main(["watch", "--once", str(tmp_path)]) == 2
    assert "build one first with `searchsvc build-index`" in capsys.readouterr().err
    assert main(["watch", "--once", str(tmp_path / "absent")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
