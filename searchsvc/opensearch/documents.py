"""The index mapping, and one :class:`Article` as one document, analysed by our analyzer.

Text fields reach the cluster already analysed: each holds the terms our NLTK analysis
produces, joined by single spaces, and is indexed with the ``whitespace`` analyzer, which
splits them again without changing one. Positions survive too: our analysis numbers
the kept words 0, 1, 2... (stopwords leave no gap, see ``NewsStopFilter``), and so does
the whitespace tokenizer over the joined words, so phrases match exactly where they
match in the embedded index. ``tests/test_opensearch_analysis.py`` checks this term for
term and position for position through the ``_termvectors`` API.

The stemmed ``title``/``body`` hold stems; ``title_words``/``body_words`` the surface words
(phrases, wildcards, fuzzy words); the original text and the display record ride along in
``shown``, which is kept but not indexed. Each article is analysed for its own language
(:func:`article_words`), as the embedded index analyses it; ``language`` holds its code
(absent when unknown) for the language facet, and ``analysis`` the key of the analysis it
got (:func:`searchsvc.analysis.analysis_language`), which a query word read in several
languages uses to keep each of its stems to the articles of the languages producing it.
The fields that group copies of one story are ``copies``' (the signature, its band keys, the
group's label).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from searchsvc.analysis import NewsAnalysis, analysis_language, stem_filter_for, stopwords_for
from searchsvc.articles.model import Article
from searchsvc.config import Settings
from searchsvc.index.schema import display_record, kept_content_digest
from searchsvc.index.versions import signatures
from searchsvc.opensearch.copies import COPY_FIELDS, copy_fields

#: Pre-analysed text: split on the spaces we joined the terms with, nothing else.
_TERMS = {"type": "text", "analyzer": "whitespace"}
_KEY = {"type": "keyword"}
#: Fields searched as analysed text (the keys of ``shown`` are not indexed).
TEXT_FIELD_NAMES = ("title", "body", "title_words", "body_words", "place_name")

MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": _KEY,
        "title": _TERMS,
        "body": _TERMS,
        "title_words": _TERMS,
        "body_words": _TERMS,
        "place": _KEY,
        "place_name": _TERMS,
        "places": _KEY,
        "source": _KEY,
        "language": _KEY,
        "analysis": _KEY,
        "date": {"type": "date", "format": "yyyy-MM-dd"},
        "shown": {"type": "object", "enabled": False},
        **COPY_FIELDS,
    },
}


def index_body(settings: Settings) -> dict[str, Any]:
    """Settings and mapping of one generation's physical index."""
    return {
        "settings": {
            "index": {
                "number_of_shards": settings.opensearch_shards,
                "number_of_replicas": settings.opensearch_replicas,
            }
        },
        # Commits count as in the embedded index: the build is the first.
        "mappings": {**MAPPING, "_meta": {"commit": 1}},
    }


def article_sources(articles: Sequence[Article], plain: NewsAnalysis) -> list[dict[str, Any]]:
    """The documents sent for ``articles``, their copy signatures worked out for the run
    at once (``versions.signatures``: about 0.7x the CPU of one at a time, over Reuters)."""
    found = signatures([(article.title, article.body) for article in articles])
    return [
        article_source(article, plain, signature)
        for article, signature in zip(articles, found, strict=True)
    ]


def shown_content_digest(article_id: str, shown: Any) -> str | None:
    """:meth:`Article.content_digest` of an indexed article from its ``shown`` part, as
    an update compares it with the article given (None where the part is not whole)."""
    if not isinstance(shown, dict) or not {"title", "body"} <= shown.keys():
        return None
    return kept_content_digest(article_id, shown["title"], shown["body"], shown.get("record"))


def article_source(article: Article, plain: NewsAnalysis, signature: bytes) -> dict[str, Any]:
    """The document sent for ``article`` with its copy ``signature``; ``plain`` is the
    unstemmed analyzer (its words are stemmed here with the same cached stemmer the
    embedded index uses)."""
    title_words, title_stems = article_words(article.title, article.language, plain)
    body_words, body_stems = article_words(article.body, article.language, plain)
    doc: dict[str, Any] = {
        "id": article.id,
        "analysis": analysis_language(article.language),
        "title": " ".join(title_stems),
        "body": " ".join(body_stems),
        "title_words": " ".join(title_words),
        "body_words": " ".join(body_words),
        "shown": {"title": article.title, "body": article.body, "record": display_record(article)},
        **copy_fields(article.id, signature),
    }
    if article.dateline_place is not None:
        doc["place"] = article.dateline_place.key
        doc["place_name"] = " ".join(plain.surface_words(article.dateline_place.display))
    if article.places:
        doc["places"] = list(dict.fromkeys(place.key for place in article.places))
    if article.source:
        doc["source"] = article.source.lower()
    if article.language:
        doc["language"] = article.language
    if article.date is not None:
        doc["date"] = article.date.isoformat()
    return doc


def article_words(
    text: str, language: str | None, plain: NewsAnalysis
) -> tuple[list[str], list[str]]:
    """(surface words, their stems) of ``text`` written in ``language``, position for
    position, as the embedded index's unstemmed and stemmed fields hold them: that
    language's stopwords and stemmer, behind the same caches (none for a language
    analysed without stemming)."""
    key = analysis_language(language)
    words = plain.surface_words(text, stopwords_for(key))
    stemmer = stem_filter_for(key)
    return words, words if stemmer is None else [stemmer.stem(word) for word in words]
