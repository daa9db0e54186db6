"""One commit of the serving index, shared by all threads until a newer one lands.

A :class:`Snapshot` owns a small pool of Whoosh searchers over that commit (a searcher
is used by one thread at a time) and everything derived from the commit that is worth
keeping between queries: per-document columns, decoded postings, term scores, phrase
matches, expansions of wildcards and fuzzy words, the spelling lexicon and facet labels.
A :class:`Reading` is one thread's use of a snapshot with the searcher it checked out.
"""

from __future__ import annotations

import logging
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh.searching import Searcher

from searchsvc.analysis import UNDETERMINED_LANGUAGE
from searchsvc.articles.languages import language_label
from searchsvc.index import OpenedIndex
from searchsvc.search.allocator import release_free_memory
from searchsvc.search.cache import SizedCache
from searchsvc.search.columns import LENGTH_FIELDS, DocumentColumns
from searchsvc.search.docsets import DocSet
from searchsvc.search.lexicon import Lexicon, Pause
from searchsvc.search.postings import TermPostings, read_postings
from searchsvc.search.ranking import Bm25f, RankingConfig, TermScores

log = logging.getLogger(__name__)

#: What a snapshot may keep of decoded postings, term scores, phrase matches and
#: expansions, in bytes: one least-recently-used budget for all of them, so whichever
#: kind a workload repeats keeps its place. Too small only costs decoding a term again
#: (a few milliseconds for a common one); every worker process holds its own, so the
#: default is what keeps a worker within 600 MiB at a million articles (``cache_mb``).
DEFAULT_CACHE_BYTES = 128 * 2**20


class _Retired(Exception):
    """The snapshot being prepared was retired: what is left of the work is dropped."""


@dataclass(frozen=True)
class PhraseMatches:
    """Where a phrase occurs: per field, the documents (sorted) and how often in each."""

    docs: DocSet
    counts: dict[str, tuple[np.ndarray, np.ndarray]]

    @property
    def nbytes(self) -> int:
        """What the matches hold now (their documents' ids are listed on first use)."""
        arrays = sum(ids.nbytes + counts.nbytes for ids, counts in self.counts.values())
        return self.docs.nbytes + arrays


class Snapshot:
    def __init__(
        self,
        opened: OpenedIndex,
        searcher: Searcher,
        ranking: RankingConfig,
        on_closed: Callable[[Snapshot], None],
        labels: dict[tuple[str, str], str] | None = None,
        *,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self.opened = opened
        self.commit = searcher.reader().generation()
        self.ranking = ranking
        self._on_closed = on_closed
        self._idle: list[Searcher] = [searcher]
        self._lock = threading.Lock()
        self._load_lock = threading.RLock()
        self._users = 0
        self._retired = False
        self._closed = False
        self._columns: DocumentColumns | None = None
        self._bm25: Bm25f | None = None
        self.cache: SizedCache[Any] = SizedCache(cache_bytes)
        #: Whole-index values worked out once per commit and kept while it is served
        #: (see :meth:`Reading.kept`), outside the cache's budget.
        self._kept: dict[Any, Any] = {}
        #: Words of titles and bodies for fuzzy words and "did you mean", read from this
        #: commit's term tables on first use or by :meth:`prepare` (not while
        #: opening: most queries never need it, and opening must stay quick).
        self.lexicon = Lexicon()
        #: (facet, key) -> display label; labels survive commits of the same generation.
        self.labels: dict[tuple[str, str], str] = labels if labels is not None else {}

    # --- searchers ---------------------------------------------------------------------

    @property
    def retired(self) -> bool:
        """A newer commit serves: this one only finishes the queries it has."""
        return self._retired

    def checkout(self) -> Searcher | None:
        """An idle searcher of this commit (opening one if needed); None once retired."""
        with self._lock:
            if self._retired:
                return None
            self._users += 1
            if self._idle:
                return self._idle.pop()
        searcher = self.opened.searcher()
        if searcher.reader().generation() != self.commit:
            searcher.close()  # the index moved on while we opened it
            self.checkin(None)
            return None
        return searcher

    def checkin(self, searcher: Searcher | None, *, spare: bool = True) -> None:
        """Return a searcher to the pool; with ``spare`` False, close it instead when
        another searcher is idle already (one the requests opened meanwhile)."""
        surplus = None
        with self._lock:
            self._users -= 1
            if searcher is not None:
                if spare or not self._idle:
                    self._idle.append(searcher)
                else:
                    surplus = searcher
            done = self._retired and self._users == 0 and not self._closed
            if done:
                self._closed = True
                idle, self._idle = self._idle, []
        if surplus is not None:
            surplus.close()
        if done:
            self._close(idle)

    def retire(self) -> None:
        """No new users; close the searchers once the current users are done."""
        with self._lock:
            if self._retired:
                return
            self._retired = True
            done = self._users == 0 and not self._closed
            if done:
                self._closed = True
                idle, self._idle = self._idle, []
        if done:
            self._close(idle)

    def _close(self, searchers: list[Searcher]) -> None:
        for searcher in searchers:
            searcher.close()
        self._on_closed(self)

    # --- what a commit computes once ---------------------------------------------------

    def prepare(self, pause: Pause | None = None) -> None:
        """What a commit's first queries would otherwise wait for, worked out on a
        background thread, then the memory it freed handed back to the system. The
        lexicon is read in slices, each after ``pause`` (which waits while requests run).

        The columns come first: the thread that opened the commit loads them too, and
        waits for this one's load instead of sharing the interpreter with it (at a million
        articles, loading language names beside the columns made opening 0.1 s slower).
        Then the names of languages (the facet labels load langcodes' name data, about
        0.15 s, 0.4 s from a cold disk) and the spelling lexicon. A failure only means a
        later query works it out itself and reports the problem.

        A snapshot retired meanwhile stops at the lexicon's next slice (unless a request
        waits for the words): they would not be asked for again, and closing the engine
        waits for this thread, as a server does before it forks its workers.
        """
        searcher = self.checkout()
        if searcher is None:
            return
        try:
            self._load(searcher)
            language_label(UNDETERMINED_LANGUAGE)
            self.lexicon.prepare(searcher.reader(), self._until_retired(pause))
        except _Retired:
            pass
        except Exception:
            log.debug("preparing commit %s in the background failed", self.commit)
        finally:
            # A request that came meanwhile opened a searcher of its own; a second one
            # kept for good holds its own column readers (about 10 MiB at a million
            # articles) that one request thread never needs.
            self.checkin(searcher, spare=False)
        release_free_memory()  # what reading the lexicon left behind

    def _until_retired(self, pause: Pause | None) -> Pause:
        def between_slices(wanted: Callable[[], bool]) -> None:
            if self._retired and not wanted():
                raise _Retired
            if pause is not None:
                pause(wanted)

        return between_slices

    def kept(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()``'s value for this commit, worked out by one thread and then kept."""
        value = self._kept.get(key)
        if value is None:
            with self._load_lock:  # one thread works it out, the others wait for it
                value = self._kept.get(key)
                if value is None:
                    value = self._kept[key] = make()
        return value

    def columns(self, searcher: Searcher) -> DocumentColumns:
        if self._columns is None:
            self._load(searcher)
        return self._columns

    def bm25(self, searcher: Searcher) -> Bm25f:
        if self._bm25 is None:
            self._load(searcher)
        return self._bm25

    def _load(self, searcher: Searcher) -> None:
        """Columns and length normalizations, before the first query needs them."""
        with self._load_lock:  # one thread loads, the others wait for it
            if self._columns is None:
                columns = DocumentColumns.load(searcher, LENGTH_FIELDS)
                columns.id_rank  # noqa: B018 - sorts the ids now rather than mid-query
                self._bm25 = Bm25f(self.ranking, columns)
                self._columns = columns


class Reading:
    """A snapshot as seen by one thread: every lookup goes through its own searcher."""

    def __init__(self, snapshot: Snapshot, searcher: Searcher) -> None:
        self.snapshot = snapshot
        self.searcher = searcher
        self.reader = searcher.reader()
        self.columns = snapshot.columns(searcher)
        self.ranking = snapshot.ranking
        self._stored: dict[int, dict[str, Any]] = {}

    @property
    def bm25(self) -> Bm25f:
        return self.snapshot.bm25(self.searcher)

    def postings(self, field: str, text: str) -> TermPostings:
        return self.snapshot.cache.get_or_make(
            _postings_key(field, text), lambda: read_postings(self.searcher, field, text)
        )

    def cached_postings(self, field: str, text: str) -> TermPostings | None:
        """:meth:`postings` if a query of this commit read them already, else None."""
        return self.snapshot.cache.get(_postings_key(field, text))

    def docs(self, field: str, text: str) -> DocSet:
        return DocSet.from_ids(self.postings(field, text).ids, self.columns.size)

    def no_docs(self) -> DocSet:
        return DocSet.empty(self.columns.size)

    def union(self, sets: Iterable[DocSet]) -> DocSet:
        return DocSet.union(self.columns.size, sets)

    def derived(self, key: Any, make: Callable[[], Any]) -> Any:
        """A value computed from this commit, cached under ``key``."""
        return self.snapshot.cache.get_or_make(("derived", key), make)

    def known(self, key: Any) -> Any:
        """The value :meth:`derived` keeps under ``key`` if it is cached, else None."""
        return self.snapshot.cache.get(("derived", key))

    def kept(self, key: Any, make: Callable[[], Any]) -> Any:
        """A value computed from this commit once and kept as long as the commit is served,
        like its columns: for whole-index values that take seconds to work out at a
        million articles (the groups of copies), which the cache would drop whenever one
        query's postings filled it, so that the next query paid for them again."""
        return self.snapshot.kept(key, make)

    def scores(self, key: Any, make: Callable[[], TermScores]) -> TermScores:
        return self.snapshot.cache.get_or_make(("scores", key), make)

    def stored(self, docnum: int) -> dict[str, Any]:
        """An article's stored fields, read once per reading (not to be changed): feedback
        reads the first articles' text for their words, and the page shows most of the
        same articles again."""
        found = self._stored.get(docnum)
        if found is None:
            found = self._stored[docnum] = self.searcher.stored_fields(docnum)
        return found

    def will_read_stored(self, docnums: Iterable[int]) -> None:
        """Start reading the stored records of ``docnums`` not read yet, all at once.

        A record not in the page cache costs a disk read, a millisecond on a busy disk at
        a million articles; asked for one after another, a page of them waits for each in
        turn. Hinted together first, the disk fetches them side by side, and
        :meth:`stored` then finds them in memory. Only a hint: no record is read here
        (a segment's table of where its records lie is, the first time it is needed).
        """
        wanted = [doc for doc in docnums if doc not in self._stored]
        if len(wanted) < 2:
            return
        leaves = list(self.reader.leaf_readers())
        firsts = [first for _, first in leaves]
        for doc in wanted:
            leaf, first = leaves[bisect_right(firsts, doc) - 1]
            will_need = getattr(getattr(leaf, "_perdoc", None), "will_need", None)
            if will_need is not None:
                will_need(doc - first)


def _postings_key(field: str, text: str) -> tuple[str, str, str]:
    return ("postings", field, text)
