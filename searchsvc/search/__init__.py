"""Searching the index: what the web page, the JSON API and the command line call.

Returns plain data and knows nothing of HTTP::

    engine = SearchEngine(settings)
    result = engine.search(SearchRequest(query="khojaly massacre", place=("geo:587084",)))
    result.total, result.hits, result.facets, result.dates, result.to_dict()
    engine.article(article_id), engine.related(article_id, limit=5), engine.generation

The journey of a query: ``syntax`` (tokens) → ``query`` and ``dates`` (the parse tree) →
``matching`` (document sets from ``postings``, BM25F order from ``ranking``) → ``filters``,
``facets`` (over ``columns``) and ``highlight``, plus ``suggest`` and ``related``;
``serving`` and ``snapshot`` decide which index commit answers and keep what it computes
(in ``cache``s). ``engine`` ties them together; ``model`` is what goes in and out.
"""

from searchsvc.search.engine import SearchEngine
from searchsvc.search.model import (
    ArticleNotFound,
    ArticleView,
    DateBucket,
    DateHistogram,
    Facet,
    FacetValue,
    GenerationInfo,
    Hit,
    QueryError,
    SearchRequest,
    SearchResult,
    to_dict,
)
from searchsvc.search.ranking import RankingConfig

__all__ = [
    "ArticleNotFound",
    "ArticleView",
    "DateBucket",
    "DateHistogram",
    "Facet",
    "FacetValue",
    "GenerationInfo",
    "Hit",
    "QueryError",
    "RankingConfig",
    "SearchEngine",
    "SearchRequest",
    "SearchResult",
    "to_dict",
]
