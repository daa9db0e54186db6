"""Word statistics from the cluster, in the shape the spelling and highlighting code reads.

``search/suggest`` and ``search/matching`` ask a commit's lexicon three things: how often
a word is written, which indexed words are within some edits of a word (with their
article counts) and which common words could be what was meant. The cluster answers
the first from ``_termvectors`` of an artificial document (term statistics: total term
frequency and document frequency) and the other two from the term suggester, whose
candidates are measured again with the same OSA distance as the embedded lexicon.

:class:`ClusterReading` carries the lexicon where those functions expect a reading, so
the same suggestion and highlighting code runs for both engines.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from opensearchpy import OpenSearch
from rapidfuzz.distance import OSA

from searchsvc.opensearch.generations import SERVING_ID, lock_index
from searchsvc.search.lexicon import MIN_TARGET_OCCURRENCES
from searchsvc.search.matching import positive_leaves, split_clauses
from searchsvc.search.query import TEXT_FIELDS, WORD_FIELDS, ParsedQuery, Term

#: Candidates asked of the term suggester per field (the embedded lexicon keeps 64).
SUGGESTER_SIZE = 64
#: The term suggester considers at most two edits.
MAX_SUGGESTER_EDITS = 2


#: Cached answers kept per generation at most; past this the cache starts again.
MAX_CACHED = 200_000


@dataclass(frozen=True)
class GenerationKey:
    """Which generation, at which update, answers behind the alias: what cached word
    statistics are valid for (the ``serving`` document beside the lock)."""

    index: str
    commit: int


class ClusterLexicon:
    """Word counts and near words of the index behind ``alias``, each asked of the
    cluster once per generation: term statistics and near words change only when a
    build moves the alias or an update changes the generation, and both rewrite the
    ``serving`` document a search reads with its first request (:meth:`probe`)."""

    def __init__(self, client: OpenSearch, alias: str) -> None:
        self.client = client
        self.alias = alias
        self._key: GenerationKey | None = None
        self._cache: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    def probe(self) -> list[dict]:
        """The ``_msearch`` header and body reading the serving generation's key."""
        return [
            {"index": lock_index(self.alias)},
            {"size": 1, "query": {"ids": {"values": [SERVING_ID]}}, "_source": ["index", "commit"]},
        ]

    def key_of(self, answer: dict) -> GenerationKey | None:
        """The generation key in a :meth:`probe` answer; None (nothing cached) when the
        probe failed or no build has written one."""
        hits = (answer.get("hits") or {}).get("hits") or []
        if "error" in answer or not hits:
            return None
        source = hits[0]["_source"]
        return GenerationKey(source["index"], int(source.get("commit", 1)))

    def statistics(
        self, cache: dict[tuple, Any], wanted: dict[str, Iterable[str]]
    ) -> dict[str, dict[str, dict]]:
        """Per field, word -> {"ttf": occurrences, "doc_freq": articles} ({} when the
        word is not indexed) for every word ``wanted`` in each field; what ``cache`` does
        not hold comes from one ``_termvectors`` of an artificial document."""
        missing = {
            name: [word for word in dict.fromkeys(words) if ("stats", name, word) not in cache]
            for name, words in wanted.items()
        }
        missing = {name: words for name, words in missing.items() if words}
        if missing:
            answer = self.client.termvectors(
                index=self.alias,
                body={
                    "doc": {name: " ".join(words) for name, words in missing.items()},
                    "fields": list(missing),
                    "term_statistics": True,
                    "field_statistics": False,
                    "positions": False,
                    "offsets": False,
                },
            )
            vectors = answer.get("term_vectors") or {}
            for name, words in missing.items():
                terms = (vectors.get(name) or {}).get("terms") or {}
                for word in words:
                    cache[("stats", name, word)] = terms.get(word) or {}
        return {
            name: {word: cache[("stats", name, word)] for word in words}
            for name, words in wanted.items()
        }

    def suggested(
        self, cache: dict[tuple, Any], fields: Iterable[str], word: str, maxdist: int
    ) -> dict[str, int]:
        """Indexed words of ``fields`` within ``maxdist`` edits of ``word`` (not ``word``
        itself), with their document frequency summed over the fields; one request with
        a term suggester per field, once per generation."""
        fields = tuple(fields)
        if maxdist < 1 or not fields:
            return {}
        entry = ("near", fields, word, maxdist)
        if entry not in cache:
            cache[entry] = self._suggest(fields, word, maxdist)
        return cache[entry]

    def _suggest(self, fields: tuple[str, ...], word: str, maxdist: int) -> dict[str, int]:
        suggesters = {
            f"near_{number}": {
                "text": word,
                "term": {
                    "field": name,
                    "analyzer": "whitespace",
                    "suggest_mode": "always",
                    "max_edits": min(maxdist, MAX_SUGGESTER_EDITS),
                    "prefix_length": 0,
                    "min_word_length": 1,
                    "max_term_freq": 1.0,
                    "size": SUGGESTER_SIZE,
                    "sort": "frequency",
                },
            }
            for number, name in enumerate(fields)
        }
        answer = self.client.search(index=self.alias, body={"size": 0, "suggest": suggesters})
        found: dict[str, int] = {}
        for entries in (answer.get("suggest") or {}).values():
            for entry in entries:
                for option in entry.get("options", []):
                    text = option["text"]
                    found[text] = found.get(text, 0) + int(option.get("freq", 0))
        return found

    def last_seen(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """``compute()``, kept in the cache of the generation last seen: what a search
        needs before its ``_msearch`` tells it the generation (the index's languages).
        Before any generation is known it is kept for the first one seen; the first
        search after the generation changes may still read the previous one's."""
        with self._lock:
            cache = self._cache
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    def cache_for(self, key: GenerationKey) -> dict[tuple, Any]:
        """The cache of generation ``key``, emptied when the key changes or it is full."""
        with self._lock:
            if key != self._key or len(self._cache) > MAX_CACHED:
                # What was learnt before any generation was known belongs to this one.
                kept = self._cache if self._key is None else {}
                self._key, self._cache = key, kept
            return self._cache


class RequestLexicon:
    """The lexicon calls ``search/suggest`` and ``search/matching`` make, for one search:
    answered from the generation's cache, and what it lacks fetched for every word of
    the query at once (the typed words and their stems), not a request per word."""

    def __init__(self, shared: ClusterLexicon, expected: dict[str, set[str]]) -> None:
        self.shared = shared
        self.expected = expected
        #: This search's own answers until the generation is known, and where it is not.
        self.cache: dict[tuple, Any] = {}

    def _statistics(self, fields: Iterable[str], words: Iterable[str]) -> dict[str, dict]:
        wanted = {name: set(found) for name, found in self.expected.items()}
        for name in fields:
            wanted.setdefault(name, set()).update(words)
        return self.shared.statistics(self.cache, wanted)

    def remembered(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """``compute()``, once per generation (what a corrected query finds, for one)."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    def occurrences(self, reader: Any, word: str, fields: tuple[str, ...] | None = None) -> float:
        fields = fields or WORD_FIELDS
        stats = self._statistics(fields, [word])
        return float(sum(stats[name][word].get("ttf", 0) for name in fields))

    def near(
        self, reader: Any, fields: tuple[str, ...], word: str, maxdist: int
    ) -> list[tuple[str, int]]:
        """(word, articles with it in ``fields``) of the indexed words within ``maxdist``
        edits of ``word`` (``word`` itself included when indexed)."""
        docs = dict(self.shared.suggested(self.cache, fields, word, maxdist))
        own = self._statistics(fields, [word])
        count = sum(own[name][word].get("doc_freq", 0) for name in fields)
        if count:
            docs[word] = count
        return [(other, count) for other, count in docs.items() if count]

    def corrections(self, reader: Any, word: str, maxdist: int) -> list[tuple[str, float, int]]:
        """(word, occurrences, distance) of alphabetic words written at least
        :data:`MIN_TARGET_OCCURRENCES` times within ``maxdist`` edits of ``word``."""
        near = self.shared.suggested(self.cache, WORD_FIELDS, word, maxdist)
        candidates = sorted(other for other in near if other.isalpha())
        stats = self._statistics(WORD_FIELDS, candidates)
        found = []
        for other in candidates:
            written = sum(stats[name][other].get("ttf", 0) for name in WORD_FIELDS)
            distance = OSA.distance(word, other)
            if written >= MIN_TARGET_OCCURRENCES and distance <= maxdist:
                found.append((other, float(written), distance))
        return found


@dataclass
class _Snapshot:
    lexicon: RequestLexicon


@dataclass
class ClusterReading:
    """What ``suggest_query`` and ``QueryMatcher.highlight_terms`` read from a reading:
    the lexicon, and a memo of derived values for the span of one request."""

    snapshot: _Snapshot
    reader: None = None
    columns: None = None
    _memo: dict = field(default_factory=dict)

    @classmethod
    def of(
        cls, lexicon: ClusterLexicon, parsed: ParsedQuery, stem: Callable[[str], str]
    ) -> ClusterReading:
        """A reading for one search of ``parsed``: its words' statistics are fetched
        together, when the first is needed."""
        return cls(_Snapshot(RequestLexicon(lexicon, query_words(parsed, stem))))

    def learn_generation(self, probe_answer: dict) -> None:
        """Use the cache of the generation the search's :meth:`ClusterLexicon.probe` saw."""
        lexicon = self.snapshot.lexicon
        key = lexicon.shared.key_of(probe_answer)
        if key is not None:
            lexicon.cache = lexicon.shared.cache_for(key)

    def derived(self, key: object, compute: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]


def query_words(parsed: ParsedQuery, stem: Callable[[str], str]) -> dict[str, set[str]]:
    """The statistics a suggestion for ``parsed`` reads: each plain word as typed in the
    surface fields and its stem in the stemmed fields."""
    positive, _, _ = split_clauses(parsed.clauses)
    words = {
        leaf.word
        for clause in positive
        for leaf in positive_leaves(clause)
        if isinstance(leaf, Term) and leaf.fields in (TEXT_FIELDS, WORD_FIELDS)
    }
    expected = {name: set(words) for name in WORD_FIELDS}
    expected.update({name: {stem(word) for word in words} for name in TEXT_FIELDS})
    return expected
