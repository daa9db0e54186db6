"""Relevance: BM25F over title and body, plus a bonus when the query's words stand together.

BM25F (Robertson & Zaragoza) combines a word's occurrences across fields *before*
saturating them, so a word in the title and once in the body is not counted as two
independent pieces of evidence; a title occurrence weighs ``title_weight`` body
occurrences, and each field has its own length normalization ``b``. The inverse document
frequency counts articles with the word in either field.

For queries of several words, the best-scoring ``rerank_depth`` articles get a bonus
where the words appear as the exact phrase (``phrase_boost``) and where neighbouring
query words appear within ``proximity_window`` words of each other
(``proximity_boost``), each saturated like a term. Before that, pseudo-relevance
feedback (``feedback``) adds the distinctive words of the first ``feedback_docs``
articles to the query's terms. Ties are broken by article id, so a ranking is the same
on every run and pages never overlap.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from searchsvc.search.columns import LENGTH_OF_BYTE, DocumentColumns
from searchsvc.search.docsets import located

#: Which length normalization and weight a field's occurrences get.
FIELD_ROLE = {"title": "title", "title_words": "title", "body": "body", "body_words": "body"}


@dataclass(frozen=True)
class RankingConfig:
    """The tunable parts of relevance ranking.

    Chosen with ``benchmarks/eval_ranking.py`` on five collections (Cranfield, CISI, NPL,
    MED, LISA: short and long queries, with and without titles), keeping only what wins
    on every one, at values whose neighbours win too: we are judged on news collections
    we do not have, so a sharp optimum for one collection is worth nothing.

    - ``k1`` 1.4, ``body_b`` 0.5: NPL (short documents, short queries) needs k1 of 1.2-1.6
      and b near 0.5 to match FTS5 at all (k1 = 3, the earlier default chosen on
      Cranfield and CISI, loses 0.02-0.03 MAP there); MED, LISA, Cranfield and CISI prefer
      k1 = 2-3 but still beat FTS5 at 1.2-1.6 (k1 2 and body b 0.75 fall under FTS5's
      nDCG@10 on NPL). Every k1 from 1.2 to 1.6 with feedback
      weights 0.1-0.2 beats FTS5 on all five; 1.4 is the middle of that range.
    - ``feedback_docs`` 10, ``feedback_terms`` 10, ``feedback_weight`` 0.15 (RM3, see
      ``feedback``): the largest single gain over the same ranking without it (MAP
      MED +0.04, CISI +0.03, Cranfield +0.02, NPL +0.01, LISA +0.001). At Anserini's
      usual 0.5 it drifts on LISA's long requests (MAP 0.017 under FTS5) and at 0.3
      LISA's nDCG@10 falls under FTS5's; 0.1-0.2 wins on all five. Five feedback
      articles are too few for LISA; 20 terms are no better than 10 and cost more.
    - ``feedback_max_share`` 0.1: words in more of the articles than this share do not
      expand a query (they describe the collection, not the topic). Lower caps read far
      fewer postings at a million articles (words in 5-10% of them are a quarter of the
      expansion words and most of their postings), but every cap tried from 0.03 to 0.075
      loses MAP and nDCG@10 on CISI, and 0.05 also MAP on NPL and LISA.
    - ``title_weight`` 2, ``title_b`` 0.5: near their best on the collections with
      titles (Cranfield, CISI, LISA; 3 helps the first two and costs LISA, 1 loses to
      FTS5 on LISA); NPL and MED have none.
    - ``phrase_boost`` 1, ``proximity_boost`` 0.5: small either way on these collections
      (0.25 or none give the same mean) but what puts "interest rates" written
      together above the two words apart in a news search.
    - ``feedback_docs`` 0 turns feedback off (one BM25F pass, as before).
    """

    k1: float = 1.4
    body_b: float = 0.5
    title_b: float = 0.5
    title_weight: float = 2.0
    phrase_boost: float = 1.0
    proximity_boost: float = 0.5
    proximity_window: int = 4
    rerank_depth: int = 50
    feedback_docs: int = 10
    feedback_terms: int = 10
    feedback_weight: float = 0.15
    feedback_max_share: float = 0.1


@dataclass(frozen=True)
class TermScores:
    """BM25F contribution of one term (or phrase): ``scores[i]`` for docnum ``ids[i]``.

    The docnums are 32-bit where postings give them so: a common word's scores are kept by the
    query cache, and a third of their bytes were 64-bit docnums.
    """

    ids: np.ndarray
    scores: np.ndarray
    idf: float

    @property
    def nbytes(self) -> int:
        return self.ids.nbytes + self.scores.nbytes + 200


#: Below this share of the collection, a term's fields are combined by sorting its
#: postings; above it, in arrays as long as the collection.
_SPARSE_SHARE = 1 / 16


class ByLengthByte:
    """A per-document value that depends on the document's length alone, held as one
    value per length byte (Whoosh keeps a field's length in one byte) and the documents'
    bytes: 1 byte a document instead of a float's 8 (16 MB less per serving worker at a
    million articles for BM25's two norms). Each value is computed by the same arithmetic
    as for the document's own length, so the floats read are the same, bit for bit."""

    def __init__(self, table: np.ndarray, length_bytes: np.ndarray) -> None:
        self.table = table
        self.length_bytes = length_bytes

    def take(self, docnums: np.ndarray) -> np.ndarray:
        return self.table.take(self.length_bytes.take(docnums))

    def of(self, docnum: int) -> float:
        return float(self.table[self.length_bytes[docnum]])


class Bm25f:
    """Scores for one commit: precomputed per-document length normalizations."""

    def __init__(self, config: RankingConfig, columns: DocumentColumns) -> None:
        self.config = config
        self.size = columns.size
        self.doc_count = max(1, len(columns.live))
        self.inverse_norm: dict[str, ByLengthByte] = {}
        for role, weight, b in (
            ("title", config.title_weight, config.title_b),
            ("body", 1.0, config.body_b),
        ):
            average = columns.average_length[role]
            # With b of 1, an empty field's norm is infinite (as it was per document),
            # whether or not any document has that length.
            with np.errstate(divide="ignore"):
                by_byte = weight / (1.0 - b + b * LENGTH_OF_BYTE / average)
            self.inverse_norm[role] = ByLengthByte(by_byte, columns.lengths.length_bytes(role))

    def idf(self, doc_frequency: int, doc_count: int | None = None) -> float:
        """``doc_count``: the articles the term could occur in (its languages'), if not all."""
        n = self.doc_count if doc_count is None else max(1, doc_count)
        return math.log(1.0 + (n - doc_frequency + 0.5) / (doc_frequency + 0.5))

    def saturate(self, x: float) -> float:
        k1 = self.config.k1
        return x * (k1 + 1.0) / (k1 + x)

    def term_scores(
        self,
        occurrences: Iterable[tuple[str, np.ndarray, np.ndarray]],
        doc_frequency: int,
        doc_count: int | None = None,
    ) -> TermScores:
        """Scores from (field, docnums, term frequencies) triples; other fields do not score.

        A document's occurrences in several fields add up (weighted by field) before
        saturating, in the order the fields are given.
        """
        id_parts, weighted_parts = [], []
        for field, ids, tfs in occurrences:
            role = FIELD_ROLE.get(field)
            if role is not None and len(ids):
                id_parts.append(ids)
                weighted_parts.append(tfs * self.inverse_norm[role].take(ids))
        idf = self.idf(doc_frequency, doc_count)
        if not id_parts:
            return TermScores(np.zeros(0, dtype=np.int32), np.zeros(0), idf)
        if len(id_parts) == 1:
            ids, combined = id_parts[0], weighted_parts[0]
        else:
            ids, combined = _add_by_doc(id_parts, weighted_parts, self.size)
        k1 = self.config.k1
        factor = idf * (k1 + 1.0)
        return TermScores(ids, factor * combined / (k1 + combined), idf)

    def add_term_scores(
        self,
        totals: np.ndarray,
        occurrences: Iterable[tuple[str, np.ndarray, np.ndarray]],
        weight: float,
        doc_frequency: int,
        doc_count: int | None = None,
    ) -> None:
        """Adds ``weight`` times :meth:`term_scores`' scores, bit for bit, to ``totals``
        (one per docnum), for the documents of ``occurrences`` only.

        For feedback's expansion words: each is in up to a tenth of the archive and scores
        queries that match most of it, so it is scored where it occurs, its fields
        combined by a search of one field's docnums in the next one's, rather than by a
        sort or in arrays as long as the query's matches.
        """
        ids, combined = _combine_fields(
            [
                (ids, tfs * self.inverse_norm[FIELD_ROLE[field]].take(ids))
                for field, ids, tfs in occurrences
                if field in FIELD_ROLE and len(ids)
            ]
        )
        k1 = self.config.k1
        factor = self.idf(doc_frequency, doc_count) * (k1 + 1.0)
        # Each docnum once: the same additions as ``totals[ids] +=``, without its copies.
        np.add.at(totals, ids, weight * (factor * combined / (k1 + combined)))

    def weighted_frequency(self, doc: int, title_tf: int, body_tf: int) -> float:
        return float(
            title_tf * self.inverse_norm["title"].of(doc)
            + body_tf * self.inverse_norm["body"].of(doc)
        )


def _combine_fields(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct docnums of ``parts`` (each sorted docnums and their weighted frequencies,
    which are added to in place) and per docnum the sum of its frequencies, added in the
    parts' order: the docnums found so far are looked up among the next part's, and those
    found added to its frequencies (a sum of two is the same either way round), so the
    next part's arrays are kept whole and only the docnums not in it appended."""
    if not parts:
        return np.zeros(0, dtype=np.int32), np.zeros(0)
    ids, sums = parts[0]
    for more_ids, more in parts[1:]:
        at, found = located(more_ids, ids)
        more[at[found]] += sums[found]
        alone = ~found
        ids = np.concatenate((more_ids, ids[alone]))
        sums = np.concatenate((more, sums[alone]))
    return ids, sums


def _add_by_doc(
    id_parts: list[np.ndarray], value_parts: list[np.ndarray], size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct docnums of all parts (sorted) and per docnum the sum of its values, added
    in the parts' order. Each part's docnums are sorted and distinct."""
    if len(id_parts) == 2:
        return _merged_pair(id_parts[0], value_parts[0], id_parts[1], value_parts[1])
    total = sum(len(ids) for ids in id_parts)
    if total < size * _SPARSE_SHARE:
        ids, where = np.unique(np.concatenate(id_parts), return_inverse=True)
        return ids, np.bincount(where, weights=np.concatenate(value_parts), minlength=len(ids))
    sums = np.zeros(size)
    present = np.zeros(size, dtype=bool)
    for ids, values in zip(id_parts, value_parts, strict=True):
        sums[ids] += values
        present[ids] = True
    ids = np.flatnonzero(present).astype(np.result_type(*id_parts))
    return ids, sums[ids]


def _merged_pair(
    ids: np.ndarray, values: np.ndarray, more_ids: np.ndarray, more_values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_add_by_doc` of two parts (a word's title and body), by a merge.

    A word's title postings are a fraction of its body postings: the shorter part's
    docnums are searched in the longer one's, their values added where found and inserted
    where not, a pass over the longer part where a sort, or arrays as long as the
    collection, cost several. Every sum starts from ``+ 0.0`` as the other ways' start
    from zeros, and a sum of two is the same either way round, so the floats are the
    same, bit for bit.
    """
    if len(ids) > len(more_ids):
        ids, values, more_ids, more_values = more_ids, more_values, ids, values
    kind = np.result_type(ids, more_ids)
    sums = more_values + 0.0
    if not len(more_ids):
        return more_ids.astype(kind), sums
    at, found = located(more_ids, ids)
    sums[at[found]] += values[found]
    alone = np.flatnonzero(~found)
    where = at[alone]
    where[ids[alone] > more_ids[-1]] = len(more_ids)  # ``located`` stops at the last id
    merged_ids = np.insert(more_ids.astype(kind, copy=False), where, ids[alone])
    return merged_ids, np.insert(sums, where, values[alone] + 0.0)


def sum_scores(docs: np.ndarray, parts: Iterable[TermScores], size: int) -> np.ndarray:
    """Per document of ``docs`` (docnums) the sum of its scores from every part, added in
    the parts' order.

    ``bincount`` adds each docnum's scores in the order given, from zero, as a scatter of
    each part in turn into zeros would, with fewer passes; a query of one word scores
    exactly its own matches, which need no array as long as the collection. Parts that
    score no document add nothing (``bincount`` of no weights would count in integers).
    """
    parts = [part for part in parts if len(part.ids)]
    if not parts:
        return np.zeros(len(docs))
    if len(parts) == 1 and np.array_equal(parts[0].ids, docs):
        return parts[0].scores + 0.0
    every_id = np.concatenate([part.ids for part in parts])
    every_score = np.concatenate([part.scores for part in parts])
    return np.bincount(every_id, weights=every_score, minlength=size).take(docs)


def top_scored(
    docs: np.ndarray, scores: np.ndarray, count: int, id_rank: np.ndarray
) -> list[tuple[int, float]]:
    """The ``count`` best (docnum, score) pairs: score descending, then id ascending."""
    if count <= 0 or not len(docs):
        return []
    if count < len(docs):
        threshold = np.partition(scores, len(scores) - count)[len(scores) - count]
        chosen = np.flatnonzero(scores >= threshold)
    else:
        chosen = np.arange(len(docs))
    chosen_docs = docs[chosen]
    chosen_scores = scores[chosen]
    order = np.lexsort((id_rank[chosen_docs], -chosen_scores))[:count]
    return list(zip(chosen_docs[order].tolist(), chosen_scores[order].tolist(), strict=True))


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


#: Documents and positions keyed together as ``document << _DOCUMENT_SHIFT | position``:
#: positions are stored below 2**32, so a start plus a phrase's length stays below the
#: next document's keys.
_DOCUMENT_SHIFT = 33


def phrase_counts(words: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """:func:`phrase_count` of many documents at once. ``words[i]`` is word i's positions
    in each document: how many in each, then all of them document after document.

    Each position of the first word, keyed with its document, counts when the key plus
    ``i`` is among word i's keys for every later word: a sort and a search per word
    over all the documents, where a set per document and word cost a Python step each.
    """
    lengths, positions = words[0]
    owners = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    starts = (owners << _DOCUMENT_SHIFT) + positions
    found = np.ones(len(starts), dtype=bool)
    for offset, (later_lengths, later_positions) in enumerate(words[1:], start=1):
        later_owners = np.repeat(np.arange(len(later_lengths), dtype=np.int64), later_lengths)
        keys = np.sort((later_owners << _DOCUMENT_SHIFT) + later_positions)
        wanted = starts + offset
        at = keys.searchsorted(wanted)
        inside = at < len(keys)
        inside[inside] = keys[at[inside]] == wanted[inside]
        found &= inside
    return np.bincount(owners[found], minlength=len(lengths))


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
