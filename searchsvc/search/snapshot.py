"""One commit of the serving index, shared by all threads until a newer one lands.

A :class:`Snapshot` owns a small pool of Whoosh searchers over that commit (a searcher
is used by one thread at a time) and everything derived from the commit that is worth
keeping between queries: per-document columns, decoded postings, term scores, phrase
matches, expansions of wildcards and fuzzy words, the spelling lexicon and facet labels.
A :class:`Reading` is one thread's use of a snapshot with the searcher it checked out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from whoosh.searching import Searcher

from searchsvc.index import OpenedIndex
from searchsvc.search.cache import SizedCache
from searchsvc.search.columns import DocumentColumns
from searchsvc.search.lexicon import Lexicon
from searchsvc.search.postings import TermPostings, read_postings
from searchsvc.search.ranking import Bm25f, RankingConfig, TermScores

#: Cache budgets, in documents (postings, scored documents, set members): about 150 bytes
#: each, so roughly 100 MB at most per commit. Reuters' benchmark query set needs less than
#: half of it; a budget too small only costs decoding a term again.
POSTINGS_BUDGET = 400_000
SCORES_BUDGET = 200_000
DERIVED_BUDGET = 100_000
#: Length normalization needs the word counts of these fields.
LENGTH_FIELDS = ("title", "body")


@dataclass(frozen=True)
class PhraseMatches:
    """Where a phrase occurs: the documents and how often, per field."""

    docs: frozenset[int]
    counts: dict[str, dict[int, int]]


class Snapshot:
    def __init__(
        self,
        opened: OpenedIndex,
        searcher: Searcher,
        ranking: RankingConfig,
        on_closed: Callable[[Snapshot], None],
        labels: dict[tuple[str, str], str] | None = None,
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
        self.postings_cache: SizedCache[TermPostings] = SizedCache(POSTINGS_BUDGET, len)
        self.scores_cache: SizedCache[TermScores] = SizedCache(
            SCORES_BUDGET, lambda s: len(s.scores)
        )
        self.derived_cache: SizedCache[Any] = SizedCache(DERIVED_BUDGET, _size_of)
        self.lexicon = Lexicon()
        #: (facet, key) -> display label; labels survive commits of the same generation.
        self.labels: dict[tuple[str, str], str] = labels if labels is not None else {}

    # --- searchers ---------------------------------------------------------------------

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

    def checkin(self, searcher: Searcher | None) -> None:
        with self._lock:
            self._users -= 1
            if searcher is not None:
                self._idle.append(searcher)
            done = self._retired and self._users == 0 and not self._closed
            if done:
                self._closed = True
                idle, self._idle = self._idle, []
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

    @property
    def bm25(self) -> Bm25f:
        return self.snapshot.bm25(self.searcher)

    def postings(self, field: str, text: str) -> TermPostings:
        return self.snapshot.postings_cache.get_or_make(
            (field, text), lambda: read_postings(self.searcher, field, text)
        )

    def docs(self, field: str, text: str) -> frozenset[int]:
        return self.postings(field, text).docs

    def derived(self, key: Any, make: Callable[[], Any]) -> Any:
        """A value computed from this commit, cached under ``key``."""
        return self.snapshot.derived_cache.get_or_make(key, make)

    def scores(self, key: Any, make: Callable[[], TermScores]) -> TermScores:
        return self.snapshot.scores_cache.get_or_make(key, make)

    def stored(self, docnum: int) -> dict[str, Any]:
        return self.searcher.stored_fields(docnum)


def _size_of(value: Any) -> int:
    if isinstance(value, PhraseMatches):
        return len(value.docs)
    try:
        return len(value)
    except TypeError:
        return 1
