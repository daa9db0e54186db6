"""Pseudo-relevance feedback: the query's best matches lend it their distinctive words.

RM3 (Lavrenko & Croft's relevance model, interpolated with the query as in Abdul-Jaleel
et al., 2004): the first ``feedback_docs`` articles of the ranking are taken as relevant,
each weighted by its share of their scores; a word's weight is the sum over them of its
share of the article's words times that weight. The ``feedback_terms`` heaviest words
(normalized to sum 1) become extra BM25F terms, and the query's own terms keep
``1 - feedback_weight`` of the total. Only the order of the result set changes: the
expansion words score the articles that matched the query, they do not add articles.

Words are read from the stored title and body of those few articles with the index's
own analysis in each article's language (stemmed, stopwords out), so no per-document
term vectors are stored; as in ``related``, numbers and words in more than a tenth of
the collection (or in one article only) are left out: they describe the collection, not
the topic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np

from searchsvc.search.docsets import DocSet, merged
from searchsvc.search.languages import language_docs
from searchsvc.search.postings import TermPostings, read_postings
from searchsvc.search.query import TEXT_FIELDS
from searchsvc.search.snapshot import Reading

#: Words in more than this share of the collection do not expand a query.
MAX_DOC_SHARE = 0.1
MIN_WORD_LENGTH = 3
#: Between the terms of :func:`article_terms`: a separator the tokenizer never keeps.
_WORD_BREAK = "\n"


def expansion_scores(
    reading: Reading,
    every: np.ndarray,
    top: Sequence[tuple[int, float]],
    query_terms: int,
    languages: tuple[str, ...],
) -> np.ndarray:
    """What the expansion words of the ``top`` (docnum, score) articles add to each score
    of ``every`` (the query's matches: sorted docnums).

    With the query's ``query_terms`` terms at full weight, ``feedback_weight`` of the
    interpolated query becomes ``w / (1 - w)`` times their count, spread over the words by
    their weights. Each word scores as a query's word does, with its IDF and, where the
    index holds several languages, in the articles of ``languages`` only (those of
    ``top``); its postings are read without positions and scored for ``every`` alone.
    """
    config = reading.ranking
    words = expansion_terms(reading, top, config.feedback_terms)
    if not words:
        return np.zeros(len(every))
    share = config.feedback_weight / (1.0 - config.feedback_weight) * query_terms
    scored = DocSet.from_ids(every, reading.columns.size)
    doc_count = None
    if languages:
        within = language_docs(reading, languages)
        scored, doc_count = scored & within, len(within)
    totals = np.zeros(reading.columns.size)
    for word, weight in words:
        occurrences = []
        for name in TEXT_FIELDS:
            postings = expansion_frequencies(reading, name, word)
            inside = scored.mask[postings.ids]
            occurrences.append((name, postings.ids[inside], postings.tfs_at(inside)))
        doc_frequency = expansion_doc_frequency(reading, word, languages)
        reading.bm25.add_term_scores(totals, occurrences, share * weight, doc_frequency, doc_count)
    return totals[every]


def expansion_terms(
    reading: Reading, top: Sequence[tuple[int, float]], count: int
) -> list[tuple[str, float]]:
    """Up to ``count`` (stem, weight) pairs from the ``top`` (docnum, score) articles.

    Weights sum to 1, heaviest first (ties by stem, so expansions are reproducible).
    Cached per commit: the same first articles give the same words.
    """
    key = ("feedback", tuple(top), count)
    return reading.derived(key, lambda: _expansion_terms(reading, top, count))


def _expansion_terms(
    reading: Reading, top: Sequence[tuple[int, float]], count: int
) -> list[tuple[str, float]]:
    total = sum(score for _, score in top)
    if count <= 0 or total <= 0:
        return []
    model: Counter[str] = Counter()
    for doc, score in top:
        terms = article_terms(reading, doc)
        length = max(1, int(terms[1].sum()))
        for word, frequency in counted(terms):
            model[word] += (score / total) * frequency / length
    chosen = []
    for word, weight in sorted(model.items(), key=lambda item: (-item[1], item[0])):
        if is_distinctive(reading, word):
            chosen.append((word, weight))
            if len(chosen) == count:
                break
    mass = sum(weight for _, weight in chosen)
    return [(word, weight / mass) for word, weight in chosen]


def article_terms(reading: Reading, doc: int) -> tuple[str, np.ndarray]:
    """The stemmed index terms of one article's title and body that may expand a query
    (numbers and short words left out), with their counts.

    Held compactly, cached per commit: the terms as one string (joined by
    :data:`_WORD_BREAK`, which no term holds) and their counts as one array, in the
    order the title and then the body first has them.
    """
    key = ("feedback-terms", doc)
    return reading.derived(key, lambda: _article_terms(reading, doc))


def _article_terms(reading: Reading, doc: int) -> tuple[str, np.ndarray]:
    """Counted without positions: only the counts weigh a word (see
    :meth:`~searchsvc.index.schema.NewsText.term_counts`)."""
    stored = reading.stored(doc)
    language = (stored.get("article") or {}).get("language")
    body_field = reading.searcher.schema["body"]  # one per searcher: its stem cache lasts
    words: dict[str, int] = {}
    for name in TEXT_FIELDS:
        for term, count in body_field.term_counts(stored.get(name) or "", language).items():
            if len(term) >= MIN_WORD_LENGTH and not term.isdigit():
                words[term] = words.get(term, 0) + count
    return _WORD_BREAK.join(words), np.fromiter(words.values(), np.int32, len(words))


def counted(terms: tuple[str, np.ndarray]) -> Iterator[tuple[str, int]]:
    """The (term, count) pairs of an :func:`article_terms` value."""
    words, counts = terms
    return zip(words.split(_WORD_BREAK) if len(counts) else [], counts.tolist(), strict=True)


def is_distinctive(reading: Reading, word: str) -> bool:
    """In more than one article and in at most :data:`MAX_DOC_SHARE` of them.

    The index's statistics answer without decoding postings (an article with the word
    in title and body counts twice in the sum, which only matters for the floor of 2).
    """
    ceiling = max(2, int(len(reading.columns.live) * MAX_DOC_SHARE))
    frequencies = reading.derived(("doc-frequencies", word), lambda: doc_frequencies(reading, word))
    return sum(frequencies) >= 2 and max(frequencies) <= ceiling


def doc_frequencies(reading: Reading, word: str) -> tuple[int, ...]:
    """The word's article count in each text field: a term lookup in every segment, so
    cached per commit (the same common words are weighed for query after query)."""
    return tuple(reading.reader.doc_frequency(name, word) for name in TEXT_FIELDS)


def expansion_frequencies(reading: Reading, field: str, word: str) -> TermPostings:
    """The live articles with ``word`` in ``field`` and its frequency in each, cached per
    commit without positions: expansion words are many and common, and scoring them
    needs no more (5 bytes a posting for most words, where its postings with positions and
    its scores over the whole index held about 30 of the cache)."""
    key = ("frequencies", field, word)
    return reading.derived(key, lambda: _frequencies(reading, field, word))


def _frequencies(reading: Reading, field: str, word: str) -> TermPostings:
    """From the word's postings with positions where a query read them already (the
    query's own words are often among its expansion words), else from the index."""
    postings = reading.cached_postings(field, word)
    if postings is None:
        postings = read_postings(reading.searcher, field, word)
    return postings.without_positions()


def expansion_doc_frequency(reading: Reading, word: str, languages: tuple[str, ...]) -> int:
    """The live articles of ``languages`` (all when empty) with ``word`` in title or body:
    the count its IDF is taken from, as for a query's word. Cached per commit."""
    key = ("expansion-doc-frequency", word, languages)
    return reading.derived(key, lambda: _expansion_doc_frequency(reading, word, languages))


def _expansion_doc_frequency(reading: Reading, word: str, languages: tuple[str, ...]) -> int:
    """The distinct docnums of both fields' postings counted, without a set as long as the
    collection for the word (its postings are sorted runs, merged in one pass)."""
    parts = [expansion_frequencies(reading, name, word).ids for name in TEXT_FIELDS]
    if languages:
        within = language_docs(reading, languages).mask  # one per commit and languages
        parts = [ids[within[ids]] for ids in parts]
    return len(merged(parts))
