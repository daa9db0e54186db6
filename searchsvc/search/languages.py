"""Which languages a query is read in, and the articles each language's terms may match.

An index holds articles in several languages, each analysed with its own stopwords and
stemmer (``searchsvc.analysis``). A query is analysed for every language it may be in:
the ``lang`` parameter when given, else the language facet's selection, else the languages
that hold at least :data:`MIN_QUERY_LANGUAGE_SHARE` of the index, plus any smaller one
whose script the query is written in (an Arabic query finds the few Arabic stories of an
English archive). Reading every query in every language an index holds would let a handful
of misdetected articles (price tables taken for Basque or Thai) change how every English
query is read: their stopwords dropped from it, their stems added to it. Each word becomes
one clause with one alternative per distinct stem, and an alternative matches only the
articles of the languages that produce it, so an English stem never finds an Indonesian
story by a collision of spellings, and its rarity is judged among the articles it can
match.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping

import numpy as np

from searchsvc.analysis import (
    UNDETERMINED_LANGUAGE,
    NewsAnalysis,
    analysis_language,
    stemmer_for,
    stopwords_for,
)
from searchsvc.search.docsets import DocSet
from searchsvc.search.model import SearchRequest
from searchsvc.search.query import QueryAnalysis
from searchsvc.search.snapshot import Reading

#: A language holding less of the index than this is read into a query only when asked
#: for (``lang``, the facet) or when the query is written in its script.
MIN_QUERY_LANGUAGE_SHARE = 0.01
#: The script of the stemmed languages not written in Latin letters (Unicode name prefix).
_SCRIPT_OF_LANGUAGE = {"ar": "ARABIC", "ru": "CYRILLIC"}


def index_languages(reading: Reading) -> tuple[str, ...]:
    """The analysis keys of the live articles' languages, sorted (``""``: not stemmed)."""
    return tuple(sorted(language_counts(reading)))


def language_counts(reading: Reading) -> dict[str, int]:
    """Live articles per analysis key."""
    return reading.derived(("language-counts",), lambda: _language_counts(reading))


def _language_counts(reading: Reading) -> dict[str, int]:
    columns = reading.columns
    counts = columns.language.count(columns.live.ids)
    by_key: dict[str, int] = {}
    for code, count in zip(columns.language.keys, counts.tolist(), strict=True):
        if count:
            key = analysis_language(code or None)
            by_key[key] = by_key.get(key, 0) + count
    return by_key or {UNDETERMINED_LANGUAGE: 0}


def request_languages(request: SearchRequest, counts: Mapping[str, int]) -> tuple[str, ...]:
    """What ``request``'s query is read in, on either engine: its ``lang``, else the
    language facet's selection, else :func:`default_query_languages`.

    ``counts``: live articles per analysis key of the index.
    """
    chosen = request.lang or request.language
    if chosen:
        return query_languages(chosen)
    return default_query_languages(counts, request.query)


def default_query_languages(counts: Mapping[str, int], query: str) -> tuple[str, ...]:
    """The analysis keys a query is read in when it names none (see the module's text).

    ``counts``: live articles per analysis key of the index.
    """
    total = sum(counts.values())
    major = {key for key, count in counts.items() if count >= MIN_QUERY_LANGUAGE_SHARE * total}
    scripts = _scripts_of(query)
    written = {key for key in counts if _written_in(key, scripts)}
    chosen = major | written
    return tuple(sorted(chosen or counts))


def _scripts_of(text: str) -> set[str]:
    """The scripts of ``text``'s letters other than Latin (first word of their names)."""
    return {
        unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]
        for ch in text
        if ch.isalpha() and not (ch.isascii() or unicodedata.name(ch, "").startswith("LATIN"))
    }


def _written_in(key: str, scripts: set[str]) -> bool:
    """Whether a language's articles may be written in one of ``scripts`` (the languages
    that are not stemmed may be written in any)."""
    if not scripts:
        return False
    return key == "" or _SCRIPT_OF_LANGUAGE.get(key) in scripts


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
