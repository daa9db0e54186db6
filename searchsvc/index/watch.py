"""Keeping the serving index current: poll feeds and folders, apply what changed.

Each poll fetches every feed (conditionally, with the ETag and Last-Modified of the
last answer), lists every watched folder, and compares both with the saved state
(:mod:`searchsvc.index.watchstate`): new and changed entries and files are added or
replaced through the incremental path, the articles of removed files are deleted, and an
article several watched files hold is the one a full build would keep. A file new to
the watch that the serving generation's build read as it is now is taken over from the
build's record, unread (:mod:`searchsvc.index.builtfiles`). The
state is saved only after the index commit, so a watch stopped at any point redoes at
most one poll, and since articles are replaced by id that adds nothing twice. A
running server sees each commit at its next query.

A full build holds the build lock; an update waits for it (``writer_lock_timeout``)
and then writes to the new generation, or, if the build takes longer, the poll fails
without saving and the next one applies the same changes again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from searchsvc.articles.feeds import (
    SKIP_MALFORMED_FEED,
    SKIP_NOT_A_FEED,
    Fetched,
    FetchFailed,
    entry_article,
    fetch_url,
    is_url,
    parse_feed,
    record_digest,
    with_linked_pages,
)
from searchsvc.articles.files import (
    SKIP_UNREADABLE,
    FilePart,
    ReadMark,
    SourceNames,
    growth_since,
)
from searchsvc.articles.model import Article, IngestReport
from searchsvc.articles.sources import listed_with_status, read_file, source_format
from searchsvc.config import Settings
from searchsvc.engines import delete_articles, update_articles
from searchsvc.index.builtfiles import BuiltFiles, file_signature
from searchsvc.index.errors import SearchIndexError
from searchsvc.index.status import now_iso
from searchsvc.index.watchstate import (
    READ_AGAIN,
    read_spool,
    read_watch_state,
    spool_path,
    write_spool,
    write_watch_state,
)
from searchsvc.index.workers import cyclic_collector_off

WATCH_LOCK = "watch.lock"
#: Formats whose files a watch reads from where its last read ended when they only grew.
GROWING_FORMATS = frozenset({"jsonl"})
#: Feeds fetched at the same time; waiting on the network costs no CPU.
MAX_FETCHES = 8


class WatchRunning(SearchIndexError):
    """Another watch keeps this index current already."""


@dataclass
class Changes:
    """What one poll found, before it is applied."""

    upserts: dict[str, Article] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)
    #: Each watched file read in this poll: its articles by id (the last of a repeated id).
    files_read: dict[str, dict[str, Article]] = field(default_factory=dict)
    #: Ids of watched files that this poll read, or that left a file; see
    #: :meth:`Watcher._settle_file_ids`.
    file_ids: set[str] = field(default_factory=set)
    spools: dict[Path, dict[str, dict[str, Any]]] = field(default_factory=dict)
    #: Watched files new to the state that the serving generation's build read as they
    #: are: their entries, taken over unread (see :mod:`searchsvc.index.builtfiles`).
    from_build: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)
    report: IngestReport = field(default_factory=IngestReport)

    def add(self, articles: Sequence[Article]) -> None:
        for article in articles:
            self.upserts[article.id] = article


class Watcher:
    """Polls ``sources`` (feed URLs, folders and files) into the index of ``settings``."""

    def __init__(self, settings: Settings, sources: Sequence[str], *, fetch_pages: bool = False):
        self.settings = settings
        self.index_dir = Path(settings.index_dir)
        self.feeds = [source for source in sources if is_url(source)]
        #: Absolute, their links kept: a folder linked into the corpus and watched by its
        #: path there gives its files the names a build reading the corpus gives them.
        self.paths = [os.path.abspath(source) for source in sources if not is_url(source)]
        self.fetch_pages = fetch_pages
        #: The folders a full build reads, in its order: where a file's name is taken
        #: from (see :func:`~searchsvc.articles.files.name_in_sources`).
        self.folders: list[Path] = list(settings.corpus)
        self._names = SourceNames(self.folders)
        #: The build's record of the files it read, looked at once a poll, if needed.
        self._built: BuiltFiles | None = None

    def poll(self) -> dict[str, Any]:
        """One round over every source; returns the record shown as ``last_poll``.

        The cyclic collector is off meanwhile: the state of a watch over a folder of
        100,000 files is a million objects, which it rescanned seven times a poll (0.7 of
        2.6 CPU s), and a poll makes no cycles that must go before it ends."""
        with cyclic_collector_off():
            return self._poll()

    def _poll(self) -> dict[str, Any]:
        started = now_iso()
        saved = read_watch_state(self.index_dir)
        # What a poll changes it replaces, never alters in place: copies of the containers
        # keep ``saved`` as it was (a deep copy took 2.6 s of a poll of 100,000 files).
        state = {**saved, "files": dict(saved["files"]), "feeds": dict(saved["feeds"])}
        state["paths"] = sorted(set(state["paths"]) | set(self.paths))
        self.folders = [*self.settings.corpus, *map(Path, state["paths"])]
        self._names = SourceNames(self.folders)
        self._built = None
        changes = Changes()
        for url, fetched in self._fetch_feeds(state).items():
            self._read_feed(url, fetched, state, changes)
        for path in self.paths:
            self._poll_path(path, state, changes)
        served = {**saved["files"], **changes.from_build}
        self._settle_file_ids(served, state["files"], changes)
        poll = {
            "started_at": started,
            "from_build": len(changes.from_build),
            "sources": changes.sources,
            "skipped": dict(changes.report.skipped),
            "repaired": dict(changes.report.repaired),
        }
        try:
            poll.update(self._apply(changes))
        except (SearchIndexError, OSError) as error:  # busy index, full disk: next poll
            poll.update(finished_at=now_iso(), error=str(error))
            state = {**saved, "last_poll": poll, "totals": _add_totals(saved, poll)}
        else:
            poll.update(finished_at=now_iso(), error=None)
            state.update(last_poll=poll, totals=_add_totals(saved, poll))
        write_watch_state(self.index_dir, state, saved)
        return poll

    def run(self, interval: float, stop: threading.Event, on_poll: Callable | None = None):
        """Poll every ``interval`` seconds until ``stop`` is set; one watch per index."""
        with hold_watch_lock(self.index_dir):
            while not stop.is_set():
                started = time.monotonic()
                poll = self.poll()
                if on_poll is not None:
                    on_poll(poll)
                stop.wait(max(0.0, interval - (time.monotonic() - started)))

    def _fetch_feeds(self, state: dict[str, Any]) -> dict[str, Fetched | FetchFailed]:
        """Every feed's answer, fetched side by side: a feed that stalls until the timeout
        delays the poll by one timeout, not by one per stalled feed."""
        if not self.feeds:
            return {}
        with ThreadPoolExecutor(min(MAX_FETCHES, len(self.feeds))) as pool:
            answers = pool.map(lambda url: self._fetch_feed(url, state), self.feeds)
            return dict(zip(self.feeds, answers, strict=True))

    def _fetch_feed(self, url: str, state: dict[str, Any]) -> Fetched | FetchFailed:
        known = state["feeds"].get(url, {})
        try:
            return fetch_url(
                url,
                timeout=self.settings.feed_timeout,
                max_bytes=self.settings.max_file_bytes,
                etag=known.get("etag"),
                last_modified=known.get("last_modified"),
            )
        except FetchFailed as error:
            return error

    def _read_feed(
        self, url: str, fetched: Fetched | FetchFailed, state: dict[str, Any], changes: Changes
    ) -> None:
        if isinstance(fetched, FetchFailed):
            changes.sources.append({"source": url, "state": "error", "error": str(fetched)})
            return
        if fetched.body is None:
            changes.sources.append({"source": url, "state": "not modified", "new": 0})
            return
        report = IngestReport()
        records = parse_feed(fetched.body, url, report)
        changes.report.merge(report)
        unusable = [
            reason for reason in (SKIP_MALFORMED_FEED, SKIP_NOT_A_FEED) if report.skipped[reason]
        ]
        if unusable:
            problem = unusable[0]
            changes.sources.append({"source": url, "state": "error", "error": problem})
            return
        entries = dict(state["feeds"].get(url, {}).get("entries", {}))
        fresh = [record for record in records if entries.get(record["id"]) != record_digest(record)]
        entries.update((record["id"], record_digest(record)) for record in fresh)
        if self.fetch_pages and fresh:
            fresh = with_linked_pages(fresh, changes.report, self._fetch_page)
        articles = self._spool_entries(url, fresh, changes)
        state["feeds"][url] = {
            "etag": fetched.etag,
            "last_modified": fetched.last_modified,
            "entries": entries,
        }
        changes.sources.append({"source": url, "state": "read", "new": len(articles)})

    def _spool_entries(
        self, url: str, records: list[dict[str, Any]], changes: Changes
    ) -> list[Article]:
        """The articles of new entries, their records added to the feed's spool."""
        path = spool_path(self.index_dir, url)
        spool = changes.spools.get(path) or read_spool(path)
        articles = []
        for record in records:
            article = entry_article(record, origin=f"{url}#{record['id']}", report=changes.report)
            if article is not None:
                articles.append(article)
                spool[record["id"]] = record
        if articles:
            changes.spools[path] = spool
        changes.add(articles)
        return articles

    def _fetch_page(self, url: str) -> bytes:
        timeout, most = self.settings.feed_timeout, self.settings.max_file_bytes
        return fetch_url(url, timeout=timeout, max_bytes=most).body or b""

    def _poll_path(self, root: str, state: dict[str, Any], changes: Changes) -> None:
        files = state["files"]
        before = {name: files[name] for name in files if _within(name, root)}
        listed = dict(listed_with_status([root]))
        if not os.path.exists(root) or (os.path.isdir(root) and list(listed) == [root]):
            # Gone or unlistable as a whole: far more often a share that is away than a
            # deliberate deletion, so nothing is deleted (a rebuild leaves them out).
            error = "cannot be read; its articles are kept until it can"
            changes.sources.append({"source": root, "state": "error", "error": error})
            return
        now = {path: file_signature(status) for path, status in listed.items()}
        from_build = self._from_build(now, before)
        files.update(from_build)
        changes.from_build.update(from_build)
        changed = [
            n
            for n, sig in now.items()
            if before.get(n, {}).get("signature") != sig and n not in from_build
        ]
        for name in changed:
            report = IngestReport()
            held = before.get(name, {})
            articles, mark, grown = self._read_changed(Path(name), held, report)
            changes.report.merge(report)
            if report.skipped[SKIP_UNREADABLE]:
                # A read that failed (permissions, a network share away, an I/O error)
                # says nothing of the file's articles: keep them, and read it again next
                # poll (its size and time may not change when it is readable again).
                files[name] = {"ids": [], **held, "signature": READ_AGAIN}
                continue
            changes.files_read[name] = articles
            digests = {i: article.content_digest() for i, article in articles.items()}
            if grown:  # the articles read are those after the file's old end
                digests = {**_digests(held), **digests}
            else:
                changes.file_ids.update(held.get("ids", ()))
            changes.file_ids.update(articles)
            files[name] = {
                "signature": now[name],
                "ids": list(digests),
                "digests": list(digests.values()),
                **({} if mark is None else {"mark": list(mark)}),
            }
        for name in before.keys() - now.keys():
            changes.file_ids.update(files.pop(name)["ids"])
        removed = len(before.keys() - now.keys())
        changes.sources.append(
            {
                "source": root,
                "state": "read",
                "changed": len(changed),
                "removed": removed,
                "from_build": len(from_build),
            }
        )

    def _from_build(
        self, now: dict[str, list[int] | None], before: dict[str, dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """Entries for the files listed ``now`` that the state lacks and the serving
        generation's build read as they are now: a watch started on the folders a build
        read takes them over rather than reading every file again."""
        unknown = [name for name in now if name not in before]
        if not unknown or self.settings.engine != "whoosh":
            return {}
        if self._built is None:
            self._built = BuiltFiles.of_serving(self.index_dir)
        if not self._built:
            return {}
        taken = {}
        for name in unknown:
            entry = self._built.entry(name, now[name], self._names.name(Path(name)))
            if entry is not None:
                taken[name] = entry
        return taken

    def _settle_file_ids(
        self, before: dict[str, dict[str, Any]], files: dict[str, dict[str, Any]], changes: Changes
    ) -> None:
        """Each id the poll found in or gone from a watched file ends as a full build would
        leave it: the article of the last watched file in reading order that holds it
        (:func:`reading_position`), deleted when none does. ``before`` and ``files`` are
        the watched files before and after the poll.

        The same article in two files (an export's revision in a later export) is common:
        deleting the older file must not delete the article, nor a newer file's version
        lose to an older one's. A file that still holds the article served and did not
        change is left alone; one that did not change but holds the version now due is
        read again for it (a poll seldom needs that).

        In a file that changed, only the articles that changed are indexed again: a CMS's
        export that grows by a line a day must not have its every article replaced at each
        poll (one of 5,000 articles took 36 CPU s a poll, and left as many deletions)."""
        if not changes.file_ids:
            return
        holders = _last_holders(files, changes.file_ids)
        served = _last_holders(before, changes.file_ids)
        changes.deletes.update(changes.file_ids - holders.keys())
        due: dict[str, set[str]] = {}
        unchanged = _unchanged_articles(before, files, changes.files_read)
        for article_id, name in holders.items():
            if served.get(article_id) != name or (
                name in changes.files_read and article_id not in unchanged.get(name, ())
            ):
                due.setdefault(name, set()).add(article_id)
        for name in sorted(due, key=reading_position):
            wanted = due[name]
            articles = changes.files_read.get(name, {})
            missing = wanted - articles.keys()  # unchanged, or before what a grown file added
            if missing:
                read = self._read(Path(name), IngestReport())  # reported when it changed
                articles = {**{a.id: a for a in read if a.id in missing}, **articles}
            changes.add([articles[i] for i in files[name]["ids"] if i in wanted and i in articles])

    def _read_changed(
        self, path: Path, held: dict[str, Any], report: IngestReport
    ) -> tuple[dict[str, Article], ReadMark | None, bool]:
        """The articles of a changed watched file by id (the last of a repeated id), the
        mark of how far it was read, and whether they are only those after the old mark.

        A JSON Lines export that only grew since it was read is read from where that read
        ended: a content system that appends a line a day to an export of a million
        articles must not have it parsed whole at every poll. Other files are read whole.
        """
        part = mark = None
        if source_format(path) in GROWING_FORMATS:
            try:
                part, mark = growth_since(path, _growth_mark(held))
            except OSError:
                report.skip(SKIP_UNREADABLE, str(path))
                return {}, None, False
        grown = part is not None and part.start > 0
        read = self._read(path, report, part if grown else None)
        return {article.id: article for article in read}, mark, grown

    def _read(
        self, path: Path, report: IngestReport, part: FilePart | None = None
    ) -> Iterator[Article]:
        name = self._names.name(path)
        max_bytes = self.settings.max_file_bytes
        return read_file(path, report, max_file_bytes=max_bytes, part=part, name=name)

    def _apply(self, changes: Changes) -> dict[str, int]:
        """Spool first (a build starting now must see the entries), then the index."""
        for path, records in changes.spools.items():
            write_spool(path, records)
        deletes = changes.deletes - changes.upserts.keys()
        deleted = delete_articles(self.settings, sorted(deletes)).deleted if deletes else 0
        added = replaced = unchanged = 0
        if changes.upserts:
            result = update_articles(self.settings, changes.upserts.values())
            added, replaced, unchanged = result.added, result.replaced, result.unchanged
        return {"added": added, "replaced": replaced, "deleted": deleted, "unchanged": unchanged}


def _unchanged_articles(
    before: dict[str, dict[str, Any]],
    files: dict[str, dict[str, Any]],
    files_read: dict[str, dict[str, Article]],
) -> dict[str, set[str]]:
    """Of each file read in this poll, the ids whose article is the one it held before
    (by :meth:`Article.content_digest`; a state written before digests were kept has
    none, and its files' articles count as changed)."""
    unchanged = {}
    for name in files_read:
        old = _digests(before.get(name, {}))
        now = _digests(files[name]).items()
        unchanged[name] = {
            article_id for article_id, digest in now if old.get(article_id) == digest
        }
    return unchanged


def _digests(entry: dict[str, Any]) -> dict[str, str]:
    """A watched file's ids with their articles' digests (none where it kept none)."""
    return dict(zip(entry.get("ids", ()), entry.get("digests", ()), strict=False))


def _growth_mark(held: dict[str, Any]) -> ReadMark | None:
    """The mark of how far a watched file was read, if its state holds one and the
    digest of each article read: what follows the mark is read alone only then."""
    ids, digests = held.get("ids", ()), held.get("digests", ())
    return ReadMark.from_json(held.get("mark")) if len(ids) == len(digests) else None


def _last_holders(files: dict[str, dict[str, Any]], ids: set[str]) -> dict[str, str]:
    """Of each of ``ids`` held by ``files`` (watched files and their ids), the file read
    last in a full build."""
    holders: dict[str, str] = {}
    for name in sorted(files, key=reading_position):
        holders.update(dict.fromkeys(ids.intersection(files[name]["ids"]), name))
    return holders


def reading_position(name: str) -> tuple[str, ...]:
    """Where a full build reads the file ``name`` among the others of a watched folder:
    each folder's entries are read in name order (:func:`list_source_files`)."""
    return Path(name).parts


def _within(name: str, root: str) -> bool:
    return name == root or name.startswith(root.rstrip(os.sep) + os.sep)


def _add_totals(saved: dict[str, Any], poll: dict[str, Any]) -> dict[str, int]:
    totals = dict(saved.get("totals") or {})
    for key in ("added", "replaced", "deleted", "unchanged"):
        totals[key] = totals.get(key, 0) + poll.get(key, 0)
    totals["polls"] = totals.get("polls", 0) + 1
    totals["failed_polls"] = totals.get("failed_polls", 0) + (1 if poll.get("error") else 0)
    return totals


@contextlib.contextmanager
def hold_watch_lock(index_dir: Path) -> Iterator[None]:
    """One watch per index: two would race on the state file."""
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    fd = os.open(Path(index_dir) / WATCH_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WatchRunning(f"another watch keeps {index_dir} current already") from None
        yield
    finally:
        os.close(fd)
