"""Which languages a query is read in, and the articles each language's terms may match.

An index holds articles in several languages, each analysed with its own stopwords and
stemmer (``searchsvc.analysis``). A query is analysed for every language it may be in:
the ``lang`` parameter when given, else the language facet's selection, else every
language the index holds. Each word becomes one clause with one alternative per distinct
stem, and an alternative matches only the articles of the languages that produce it, so
an English stem never finds an Indonesian story by a collision of spellings, and its
rarity is judged among the articles it can match.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from searchsvc.analysis import (
    UNDETERMINED_LANGUAGE,
    NewsAnalysis,
    analysis_language,
    stemmer_for,
    stopwords_for,
)
from searchsvc.search.docsets import DocSet
from searchsvc.search.query import QueryAnalysis
from searchsvc.search.snapshot import Reading


def index_languages(reading: Reading) -> tuple[str, ...]:
    """The analysis keys of the live articles' languages, sorted (``""``: not stemmed)."""
    return reading.derived(("index-languages",), lambda: _index_languages(reading))


def _index_languages(reading: Reading) -> tuple[str, ...]:
    columns = reading.columns
    counts = columns.language.count(columns.live.ids)
    present = zip(columns.language.keys, counts.tolist(), strict=True)
    codes = [code for code, count in present if count]
    return query_languages(codes or [UNDETERMINED_LANGUAGE])


def query_languages(codes: Iterable[str | None]) -> tuple[str, ...]:
    """The distinct analysis keys of ``codes`` (ISO 639-1 codes; ``""``/None: not known)."""
    return tuple(sorted({analysis_language(code or None) for code in codes}))


def language_docs(reading: Reading, languages: tuple[str, ...]) -> DocSet:
    """The live articles analysed as one of ``languages`` (analysis keys)."""
    return reading.derived(("language-docs", languages), lambda: _language_docs(reading, languages))


def _language_docs(reading: Reading, languages: tuple[str, ...]) -> DocSet:
    column = reading.columns.language
    wanted = set(languages)
    keep = [analysis_language(key or None) in wanted for key in column.keys]
    mask = reading.columns.live.mask.copy()
    mask &= np.array(keep, dtype=bool)[column.codes]
    return DocSet(mask)


def query_analysis(plain: NewsAnalysis, languages: tuple[str, ...]) -> QueryAnalysis:
    """How a query's words are analysed for ``languages`` (analysis keys, sorted).

    For English alone this is exactly the English analysis, one stem per word.
    """
    stopwords = frozenset().union(*(stopwords_for(key) for key in languages))
    stemmers = [(key, stemmer_for(key)) for key in languages]
    own_stopwords = [(key, stopwords_for(key)) for key in languages]

    def surface_words(text: str) -> list[str]:
        return plain.surface_words(text, stopwords)

    def alternatives(word: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        by_stem: dict[str, list[str]] = {}
        for key, stem in stemmers:
            by_stem.setdefault(stem(word), []).append(key)
        return tuple((stem, tuple(keys)) for stem, keys in by_stem.items())

    def phrase_variants(text: str) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
        by_words: dict[tuple[str, ...], list[str]] = {}
        for key, own in own_stopwords:
            by_words.setdefault(tuple(plain.surface_words(text, own)), []).append(key)
        return tuple((words, tuple(keys)) for words, keys in by_words.items() if words)

    return QueryAnalysis(
        surface_words,
        stemmers[0][1],
        alternatives=alternatives if len(languages) > 1 else None,
        phrase_variants=phrase_variants if len(languages) > 1 else None,
    )
