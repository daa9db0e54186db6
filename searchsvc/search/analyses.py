"""The analysis one search engine keeps per language, made on first use and shared.

Queries are parsed for a set of languages (see ``languages``) and each hit is highlighted
in its own; both need analysis objects with caches worth keeping between requests. Both
engines hold one :class:`LanguageAnalyses`.
"""

from __future__ import annotations

from collections.abc import Callable

from searchsvc.analysis import (
    UNDETERMINED_LANGUAGE,
    make_analyzer,
    stemmer_for,
    stopwords_for,
    strips_prefixes,
)
from searchsvc.search.highlight import WordForms
from searchsvc.search.languages import query_analysis
from searchsvc.search.query import QueryAnalysis


class LanguageAnalyses:
    """Query analyses by set of languages and word forms by language (analysis keys).

    Dictionaries only grow by one entry per language (set) ever asked for; a lost race
    between threads makes an equal object twice, harmlessly.
    """

    def __init__(self) -> None:
        self.plain = make_analyzer(stem=False)
        english = stemmer_for(UNDETERMINED_LANGUAGE)
        self._queries: dict[tuple[str, ...], QueryAnalysis] = {
            (UNDETERMINED_LANGUAGE,): QueryAnalysis(self.plain.surface_words, english)
        }
        self._forms: dict[str, WordForms] = {}

    def query(self, languages: tuple[str, ...]) -> QueryAnalysis:
        """How a query read in ``languages`` is analysed (one language: as it always was)."""
        found = self._queries.get(languages)
        if found is None:
            found = self._queries[languages] = query_analysis(self.plain, languages)
        return found

    def stems(self, languages: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
        """A word's distinct stems in ``languages``."""
        analysis = self.query(languages)
        alternatives = analysis.alternatives
        if alternatives is None:
            stem = analysis.stem
            return lambda word: (stem(word),)
        return lambda word: tuple(stem for stem, _ in alternatives(word))

    def word_forms(self, language: str) -> WordForms:
        """What the highlighter makes of a token written in ``language``."""
        found = self._forms.get(language)
        if found is None:
            found = self._forms[language] = WordForms(
                stemmer_for(language),
                stopwords=stopwords_for(language),
                strips_prefixes=strips_prefixes(language),
            )
        return found
