"""Which index commit answers the next query, shared safely by the server's threads.

Before each query two ``stat`` calls (the ``CURRENT`` file and the generation directory)
tell whether anything changed; only then is ``CURRENT`` read and the generation's latest
commit compared. A rebuild (new generation) opens the new one; an incremental update (new
commit in the same generation) starts a new :class:`Snapshot`. Queries already running
finish on the snapshot they started with; the old snapshot's searchers close when its
last query ends, and the old generation's shared lock is released when its last
snapshot closes, so its files are only deleted once nobody reads them. A new generation
that cannot be opened (corrupt, built by another version) is logged and the one already
open keeps answering; the new one is tried again every :data:`RETRY_SECONDS`, since what
kept it from opening may pass (no file descriptors or memory left for a moment, a network
file system's hiccup), and until it opens, the index's later updates are not served.

A server also follows the index between requests (``follow_seconds``): a thread makes the
same check every :data:`FOLLOW_SECONDS`. Without it, a worker process that no request
reached since a rebuild kept the replaced generation open (its files, its shared lock and
its caches) for as long as it got none, which a proxy holding its connections to the
other workers can make hours; and the first request after a rebuild waited for the open.
A server's worker starts that thread as it starts (:meth:`ServingIndex.open_in_background`),
so that its first request does not open the index either.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from searchsvc.index import (
    IndexCorrupt,
    OpenedIndex,
    SearchIndexError,
    open_index,
    read_current,
)
from searchsvc.index.generations import CURRENT_FILE, damage_mark
from searchsvc.search.allocator import tune_allocator
from searchsvc.search.in_flight import RequestsInFlight
from searchsvc.search.lexicon import Pause
from searchsvc.search.model import ArticleNotFound, QueryError
from searchsvc.search.ranking import RankingConfig
from searchsvc.search.snapshot import DEFAULT_CACHE_BYTES, Reading, Snapshot

_CHECKOUT_ATTEMPTS = 20
#: Seconds between attempts to open the generation ``CURRENT`` names while another one
#: answers. A damaged generation is refused again each time, at the cost of one open's
#: checks (0.2 s at a million articles): a query's wait, twice a minute at most.
RETRY_SECONDS = 30.0
#: Seconds between a server's looks at the index while no request comes (two ``stat``
#: calls each): how long a replaced generation may stay open in an idle worker.
FOLLOW_SECONDS = 1.0
#: Errors a request causes itself; any other error in a search may come from a damaged file.
_REQUEST_ERRORS = (QueryError, ArticleNotFound, SearchIndexError)

log = logging.getLogger(__name__)


class ServingIndex:
    def __init__(
        self,
        index_dir: Path,
        ranking: RankingConfig,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        *,
        prepare_lexicon: bool = False,
        retry_seconds: float = RETRY_SECONDS,
        follow_seconds: float | None = None,
        warm: Callable[[Snapshot, Pause], None] | None = None,
    ) -> None:
        """``follow_seconds``: look at the index this often between requests too, from
        the first request on or :meth:`open_in_background` (servers:
        :data:`FOLLOW_SECONDS`); ``None`` looks only when a request comes.

        ``warm(snapshot, wait_for_idle)``: work done for each new commit after its
        lexicon, on the same thread (``prepare_lexicon`` only), calling
        ``wait_for_idle(give_up)`` (:class:`RequestsInFlight`) between its steps; a
        server asks its latest searches again."""
        self.index_dir = Path(index_dir)
        self.ranking = ranking
        self.cache_bytes = cache_bytes
        #: Read each new commit's spelling lexicon on a background thread (servers: the
        #: first misspelled query then does not wait half a second for it on Reuters).
        self.prepare_lexicon = prepare_lexicon
        self.retry_seconds = retry_seconds
        self.follow_seconds = follow_seconds
        self.warm = warm
        self._lock = threading.RLock()
        self._opened: OpenedIndex | None = None
        self._opened_as: str | None = None  # what CURRENT said when we opened it
        #: When to try again to open CURRENT's generation (None: it is the one open).
        self._retry_at: float | None = None
        self._snapshot: Snapshot | None = None
        #: id(OpenedIndex) -> (it, ids of its snapshots not yet closed)
        self._alive: dict[int, tuple[OpenedIndex, set[int]]] = {}
        self._fingerprint: tuple | None = None
        #: What the lexicon thread gives way to.
        self._in_flight = RequestsInFlight()
        self._follower: threading.Thread | None = None
        #: Threads preparing commits (``prepare_lexicon``), waited for by :meth:`close`.
        self._preparing: list[threading.Thread] = []
        #: Set to end the follower running now (each one gets its own).
        self._stop_following = threading.Event()
        tune_allocator()  # before the lexicon and request threads allocate

    @contextmanager
    def reading(self) -> Iterator[Reading]:
        """The current snapshot with a searcher for this thread, returned afterwards."""
        for _ in range(_CHECKOUT_ATTEMPTS):
            snapshot = self._current()
            searcher = snapshot.checkout()
            if searcher is not None:
                break
            self._forget(snapshot)
        else:
            raise RuntimeError("the index kept changing while opening a searcher")
        try:
            with self._in_flight.running():
                yield Reading(snapshot, searcher)
        except _REQUEST_ERRORS:
            raise
        except Exception as error:
            self._check_files_after(error, snapshot.opened)
            raise
        finally:
            snapshot.checkin(searcher)

    def open_in_background(self) -> None:
        """Open the index now, on the follower's thread (a server's worker as it starts),
        so that the first request finds it open and every worker follows the index from
        the start. What fails is left for the first request to meet and report."""
        with self._lock:
            self._start_following(open_first=True)

    def close(self) -> None:
        """Release the index, and wait for this index's threads to end: nothing opens it
        again behind the caller, and a server forks its workers with no thread running
        (a thread importing a module at the fork, the lexicon's codec say, leaves the
        module's lock held for good in every worker, whose first request to need it hangs).
        """
        with self._lock:
            threads = [self._follower, *self._preparing]
            self._follower, self._preparing = None, []
            self._stop_following.set()
            self._let_go()  # retired: a thread preparing it stops at its next slice
        for thread in threads:
            if thread is not None and thread is not threading.current_thread():
                thread.join()

    def _let_go(self) -> None:
        """Serve nothing until the next refresh; what served closes after its queries."""
        snapshot, opened = self._snapshot, self._opened
        self._snapshot = self._opened = self._opened_as = None
        self._fingerprint = None
        if snapshot is not None:
            snapshot.retire()
        if opened is not None:
            self._release_if_unused(opened)

    def _check_files_after(self, error: Exception, opened: OpenedIndex) -> None:
        """A search failed unexpectedly: if the generation's files explain it (damage in a
        part opening only samples), stop serving the generation and say so."""
        problem = opened.verify_files()
        if problem is None:
            return  # the files are intact: the error is a bug, reported as such
        log.error("index generation %s is damaged: %s", opened.generation, problem)
        with self._lock:
            self._fingerprint = None  # the next query looks again, and finds the mark
        raise IndexCorrupt(
            f"index generation {opened.generation} is damaged ({problem}); "
            "run `searchsvc build-index`"
        ) from error

    # --- switching ---------------------------------------------------------------------

    def _current(self) -> Snapshot:
        with self._lock:
            self._refresh_if_changed()
            self._start_following()
            assert self._snapshot is not None
            return self._snapshot

    def _refresh_if_changed(self) -> None:
        fingerprint = self._read_fingerprint()
        if self._snapshot is None or fingerprint != self._fingerprint or self._retry_due():
            self._refresh()
            self._fingerprint = fingerprint

    def _start_following(self, *, open_first: bool = False) -> None:
        if self.follow_seconds is None or self._follower is not None:
            return
        self._stop_following = stop = threading.Event()
        self._follower = threading.Thread(
            target=self._follow, args=(stop, open_first), name="index-follower", daemon=True
        )
        self._follower.start()

    def _follow(self, stop: threading.Event, open_first: bool) -> None:
        """What a request would do first, every ``follow_seconds`` until ``stop``, while
        a generation is open (and once at the start with ``open_first``, open or not). A
        failure, or an index that nothing could open, is left for the next request to
        meet and report (opening costs 0.2 s at a million articles: not a thing to retry
        every second)."""
        assert self.follow_seconds is not None
        if open_first:
            self._look(stop, opening=True)
        while not stop.wait(self.follow_seconds):
            self._look(stop)

    def _look(self, stop: threading.Event, *, opening: bool = False) -> None:
        with self._lock:
            if stop.is_set():
                return  # closed while this thread waited for the lock
            if self._opened is None and not opening:
                return
            try:
                self._refresh_if_changed()
            except Exception as error:
                log.debug("looking at the index between requests failed: %s", error)

    def _forget(self, snapshot: Snapshot) -> None:
        """A snapshot that could not hand out a searcher is replaced on the next call."""
        with self._lock:
            if self._snapshot is snapshot:
                self._snapshot = None
                snapshot.retire()

    def _read_fingerprint(self) -> tuple:
        parts: list[object] = []
        for path in (self.index_dir / CURRENT_FILE, self._opened.path if self._opened else None):
            if path is None:
                continue
            try:
                status = os.stat(path)
            except OSError:
                parts.append(None)
                continue
            parts.append((status.st_ino, status.st_mtime_ns, status.st_size))
        return tuple(parts)

    def _refresh(self) -> None:
        current = read_current(self.index_dir)
        if self._opened is not None and damage_mark(self._opened.path) is not None:
            self._let_go()  # found damaged since: fall back, or answer that it cannot be read
        moved = current is not None and current != self._opened_as
        if self._opened is None or moved or self._retry_due():
            self._switch_to(current)
        assert self._opened is not None
        latest = self._opened.index.latest_generation()
        if self._snapshot is None or self._snapshot.commit != latest:
            self._new_snapshot()

    def _retry_due(self) -> bool:
        return self._retry_at is not None and time.monotonic() >= self._retry_at

    def _switch_to(self, current: str | None) -> None:
        """Open ``current``'s generation, or keep answering from the one open (retrying
        later) when it cannot be opened. Only with none open may an earlier generation
        stand in: the one open is the newest that did, and its caches are warm."""
        try:
            self._open_generation(current, fallback=self._opened is None)
        except SearchIndexError as problem:
            if self._opened is None:
                raise
            log.warning(
                "cannot switch to index generation %s (%s); still serving %s",
                current,
                problem,
                self._opened.generation,
            )
            self._opened_as = current
        assert self._opened is not None
        serves_current = current is None or self._opened.generation == current
        self._retry_at = None if serves_current else time.monotonic() + self.retry_seconds

    def _open_generation(self, current: str | None, *, fallback: bool) -> None:
        opened = open_index(self.index_dir, fallback=fallback)  # IndexNotFound etc. go up
        old_opened, old_snapshot = self._opened, self._snapshot
        self._opened, self._opened_as = opened, current
        self._alive[id(opened)] = (opened, set())
        self._snapshot = None
        if old_snapshot is not None:
            old_snapshot.retire()
        if old_opened is not None:
            self._release_if_unused(old_opened)

    def _new_snapshot(self) -> None:
        assert self._opened is not None
        old = self._snapshot
        labels = old.labels if old is not None and old.opened is self._opened else None
        snapshot = Snapshot(
            self._opened,
            self._opened.searcher(),
            self.ranking,
            self._closed,
            labels,
            cache_bytes=self.cache_bytes,
        )
        self._alive[id(self._opened)][1].add(id(snapshot))
        self._snapshot = snapshot
        if old is not None:
            old.retire()
        if self.prepare_lexicon:
            name = f"lexicon-{snapshot.commit}"
            thread = threading.Thread(
                target=self._prepare, args=(snapshot,), name=name, daemon=True
            )
            thread.start()
            self._preparing = [*(t for t in self._preparing if t.is_alive()), thread]

    def _prepare(self, snapshot: Snapshot) -> None:
        snapshot.prepare(self._in_flight.pause)
        if self.warm is not None:
            self.warm(snapshot, self._in_flight.wait_for_idle)

    def _closed(self, snapshot: Snapshot) -> None:
        """Called when a retired snapshot's last searcher closes."""
        with self._lock:
            entry = self._alive.get(id(snapshot.opened))
            if entry is not None:
                entry[1].discard(id(snapshot))
            self._release_if_unused(snapshot.opened)

    def _release_if_unused(self, opened: OpenedIndex) -> None:
        """Close a generation we no longer serve once none of its snapshots is open."""
        entry = self._alive.get(id(opened))
        if opened is self._opened or entry is None or entry[1]:
            return
        del self._alive[id(opened)]
        opened.close()
