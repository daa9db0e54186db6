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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from opensearchpy import OpenSearch
from rapidfuzz.distance import OSA

from searchsvc.search.lexicon import MIN_TARGET_OCCURRENCES
from searchsvc.search.query import WORD_FIELDS

#: Candidates asked of the term suggester per field (the embedded lexicon keeps 64).
SUGGESTER_SIZE = 64
#: The term suggester considers at most two edits.
MAX_SUGGESTER_EDITS = 2


class ClusterLexicon:
    """Word counts and near words of the index behind ``alias``."""

    def __init__(self, client: OpenSearch, alias: str) -> None:
        self.client = client
        self.alias = alias

    def term_statistics(self, fields: Iterable[str], words: Iterable[str]) -> dict[str, dict]:
        """Per field, term -> {"ttf": occurrences, "doc_freq": articles} (absent: none)."""
        words = list(dict.fromkeys(words))
        fields = list(fields)
        if not words or not fields:
            return {name: {} for name in fields}
        answer = self.client.termvectors(
            index=self.alias,
            body={
                "doc": {name: " ".join(words) for name in fields},
                "fields": fields,
                "term_statistics": True,
                "field_statistics": False,
                "positions": False,
                "offsets": False,
            },
        )
        vectors = answer.get("term_vectors") or {}
        return {name: (vectors.get(name) or {}).get("terms") or {} for name in fields}

    def occurrences(self, reader: Any, word: str, fields: tuple[str, ...] | None = None) -> float:
        stats = self.term_statistics(fields or WORD_FIELDS, [word])
        return float(sum(terms.get(word, {}).get("ttf", 0) for terms in stats.values()))

    def near(
        self, reader: Any, fields: tuple[str, ...], word: str, maxdist: int
    ) -> list[tuple[str, int]]:
        """(word, articles with it in ``fields``) of the indexed words within ``maxdist``
        edits of ``word`` (``word`` itself included when indexed)."""
        docs: dict[str, int] = {}
        for name in fields:
            for other, freq in self._suggested(name, word, maxdist).items():
                docs[other] = docs.get(other, 0) + freq
        own = self.term_statistics(fields, [word])
        count = sum(terms.get(word, {}).get("doc_freq", 0) for terms in own.values())
        if count:
            docs[word] = count
        return [(other, count) for other, count in docs.items() if count]

    def corrections(self, reader: Any, word: str, maxdist: int) -> list[tuple[str, float, int]]:
        """(word, occurrences, distance) of alphabetic words written at least
        :data:`MIN_TARGET_OCCURRENCES` times within ``maxdist`` edits of ``word``."""
        candidates = {
            other
            for name in WORD_FIELDS
            for other in self._suggested(name, word, maxdist)
            if other.isalpha()
        }
        stats = self.term_statistics(WORD_FIELDS, candidates)
        found = []
        for other in sorted(candidates):
            written = sum(terms.get(other, {}).get("ttf", 0) for terms in stats.values())
            distance = OSA.distance(word, other)
            if written >= MIN_TARGET_OCCURRENCES and distance <= maxdist:
                found.append((other, float(written), distance))
        return found

    def _suggested(self, name: str, word: str, maxdist: int) -> dict[str, int]:
        """Indexed words of field ``name`` within ``maxdist`` edits (not ``word``), with
        their document frequency."""
        if maxdist < 1:
            return {}
        answer = self.client.search(
            index=self.alias,
            body={
                "size": 0,
                "suggest": {
                    "near": {
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
                },
            },
        )
        found: dict[str, int] = {}
        for entry in answer.get("suggest", {}).get("near", []):
            for option in entry.get("options", []):
                found[option["text"]] = int(option.get("freq", 0))
        return found


@dataclass
class _Snapshot:
    lexicon: ClusterLexicon


@dataclass
class ClusterReading:
    """What ``suggest_query`` and ``QueryMatcher.highlight_terms`` read from a reading:
    the lexicon, and a memo of derived values for the span of one request."""

    snapshot: _Snapshot
    reader: None = None
    columns: None = None
    _memo: dict = field(default_factory=dict)

    @classmethod
    def of(cls, lexicon: ClusterLexicon) -> ClusterReading:
        return cls(_Snapshot(lexicon))

    def derived(self, key: object, compute: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]
