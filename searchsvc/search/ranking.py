"""Relevance: BM25F over title and body, plus a bonus when the query's words stand together.

BM25F (Robertson & Zaragoza) combines a word's occurrences across fields *before*
saturating them, so a word in the title and once in the body is not counted as two
independent pieces of evidence; a title occurrence weighs ``title_weight`` body
occurrences, and each field has its own length normalization ``b``. The inverse document
frequency counts articles with the word in either field.

For queries of several words, the best-scoring ``rerank_depth`` articles get a bonus
where the words appear as the exact phrase (``phrase_boost``) and where neighbouring
query words appear within ``proximity_window`` words of each other
(``proximity_boost``), each saturated like a term. Ties are broken by article id, so a
ranking is the same on every run and pages never overlap.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from operator import add

from searchsvc.search.columns import DocumentColumns

#: Which length normalization and weight a field's occurrences get.
FIELD_ROLE = {"title": "title", "title_words": "title", "body": "body", "body_words": "body"}


@dataclass(frozen=True)
class RankingConfig:
    """The tunable parts of relevance ranking.

    The defaults were chosen on Cranfield and CISI with ``benchmarks/eval_ranking.py``:
    a high ``k1`` (term frequency saturates slowly) helped both collections most (MAP
    0.309 → 0.320 on Cranfield and 0.214 → 0.224 on CISI from k1 = 1.2 to 3.0, any-word
    mode); title weight 2 and the length normalizations are near their best; the
    proximity bonus adds little there (queries are long questions) but is what puts
    "interest rates" written together above the two words apart in a news search.
    """

    k1: float = 3.0
    body_b: float = 0.75
    title_b: float = 0.5
    title_weight: float = 2.0
    phrase_boost: float = 1.0
    proximity_boost: float = 0.5
    proximity_window: int = 4
    rerank_depth: int = 50


@dataclass(frozen=True)
class TermScores:
    """BM25F contribution of one term (or phrase) per matching document."""

    scores: dict[int, float]
    idf: float


class Bm25f:
    """Scores for one commit: precomputed per-document length normalizations."""

    def __init__(self, config: RankingConfig, columns: DocumentColumns) -> None:
        self.config = config
        self.doc_count = max(1, len(columns.live))
        self.inverse_norm: dict[str, list[float]] = {}
        for role, weight, b in (
            ("title", config.title_weight, config.title_b),
            ("body", 1.0, config.body_b),
        ):
            lengths = columns.lengths[role]
            average = columns.average_length[role]
            self.inverse_norm[role] = [
                weight / (1.0 - b + b * length / average) for length in lengths
            ]

    def idf(self, doc_frequency: int) -> float:
        n = self.doc_count
        return math.log(1.0 + (n - doc_frequency + 0.5) / (doc_frequency + 0.5))

    def saturate(self, x: float) -> float:
        k1 = self.config.k1
        return x * (k1 + 1.0) / (k1 + x)

    def term_scores(
        self, occurrences: Iterable[tuple[str, Iterable[tuple[int, float]]]], doc_frequency: int
    ) -> TermScores:
        """Scores from (field, [(docnum, tf), ...]) pairs; unknown fields do not score."""
        combined: dict[int, float] = {}
        get = combined.get
        for field, pairs in occurrences:
            role = FIELD_ROLE.get(field)
            if role is None:
                continue
            inverse = self.inverse_norm[role]
            for doc, tf in pairs:
                combined[doc] = get(doc, 0.0) + tf * inverse[doc]
        idf = self.idf(doc_frequency)
        k1 = self.config.k1
        factor = idf * (k1 + 1.0)
        scores = {doc: factor * x / (k1 + x) for doc, x in combined.items()}
        return TermScores(scores, idf)

    def weighted_frequency(self, doc: int, title_tf: int, body_tf: int) -> float:
        return title_tf * self.inverse_norm["title"][doc] + body_tf * self.inverse_norm["body"][doc]


def sum_scores(docs: Sequence[int], parts: Iterable[dict[int, float]]) -> list[float]:
    """Per document (in ``docs`` order) the sum of its scores from every part."""
    total = [0.0] * len(docs)
    for part in parts:
        total = list(map(add, total, map(part.get, docs, repeat(0.0))))
    return total


def top_scored(
    docs: Sequence[int], scores: Sequence[float], count: int, id_rank: Sequence[int]
) -> list[tuple[int, float]]:
    """The ``count`` best (docnum, score) pairs: score descending, then id ascending."""
    if count <= 0 or not docs:
        return []
    if count < len(docs):
        threshold = heapq.nlargest(count, scores)[-1]
        chosen = list(compress(range(len(docs)), map(threshold.__le__, scores)))
    else:
        chosen = range(len(docs))
    chosen = sorted(chosen, key=lambda i: (-scores[i], id_rank[docs[i]]))
    return [(docs[i], scores[i]) for i in chosen[:count]]


def phrase_count(positions: Sequence[Sequence[int]]) -> int:
    """How often the words occur consecutively (``positions[i]`` are word i's positions)."""
    if not positions or any(not p for p in positions):
        return 0
    later = [set(p) for p in positions[1:]]
    return sum(
        1
        for start in positions[0]
        if all(start + offset in found for offset, found in enumerate(later, start=1))
    )


def near_count(first: Sequence[int], second: Sequence[int], window: int) -> int:
    """Occurrences of ``first`` with ``second`` within ``window`` words either side."""
    if not first or not second:
        return 0
    count = 0
    for position in first:
        for other in second:
            if other != position and abs(other - position) <= window:
                count += 1
                break
    return count
