""":class:`OpenSearchEngine`: :class:`~searchsvc.search.SearchEngine`'s public calls,
answered by an OpenSearch cluster through the alias ``settings.opensearch_index``.

Requests and answers are the same model objects, and the query is parsed, validated,
highlighted and corrected by the same code; only matching, counting and ranking run in
the cluster. Scores differ (Lucene's BM25 per field against our BM25F, without the
proximity rerank or feedback); the lists, totals, facets and highlights do not.
"""

from __future__ import annotations

import functools
import math
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from opensearchpy.exceptions import NotFoundError

from searchsvc.analysis import (
    UNDETERMINED_LANGUAGE,
    analysis_language,
    make_analyzer,
    stemmer_for,
    stopwords_for,
)
from searchsvc.articles.model import MAX_ID_BYTES, Article, IngestReport, fitted_id
from searchsvc.articles.sources import read_articles
from searchsvc.config import Settings
from searchsvc.index.errors import BuildFailed, IndexNotFound
from searchsvc.index.updates import UpdateResult
from searchsvc.opensearch import copies, generations, status
from searchsvc.opensearch.connection import connect, translating_cluster_errors
from searchsvc.opensearch.lexicon import ClusterLexicon
from searchsvc.opensearch.searching import HIT_SOURCE, ClusterSearch, cluster_hit
from searchsvc.opensearch.translate import score_query
from searchsvc.search.analyses import LanguageAnalyses
from searchsvc.search.engine import (
    PARSE_CACHE_SIZE,
    SearchEngine,
    check_related_limit,
)
from searchsvc.search.highlight import WordForms
from searchsvc.search.languages import request_languages
from searchsvc.search.matching import HighlightTerms
from searchsvc.search.model import (
    ArticleNotFound,
    ArticleView,
    GenerationInfo,
    Hit,
    SearchRequest,
    SearchResult,
)
from searchsvc.search.query import TEXT_FIELDS, Term
from searchsvc.search.related import KEY_WORDS, MAX_DOC_SHARE, MIN_CEILING, MIN_WORD_LENGTH


class OpenSearchEngine:
    def __init__(self, settings: Settings, **_options: object) -> None:
        """``_options``: :class:`SearchEngine`'s tuning keywords (ranking, lexicon
        preparation, following the index), accepted and ignored: the cluster ranks,
        keeps its own terms, and its alias names the new generation at once."""
        self.settings = settings
        self.alias = settings.opensearch_index
        self.client = connect(settings)
        self.lexicon = ClusterLexicon(self.client, self.alias)
        plain = make_analyzer(stem=False)
        stemmed = make_analyzer(stem=True)
        self.stem = stemmed.stemmer.stem
        self._token_pattern = plain.tokenizer.regexp
        self._word_forms = WordForms(self.stem)
        self.analyses = LanguageAnalyses()
        self._parse = functools.lru_cache(maxsize=PARSE_CACHE_SIZE)(self._parse_uncached)

    # --- the public calls --------------------------------------------------------------

    @translating_cluster_errors
    def search(self, request: SearchRequest) -> SearchResult:
        started = time.perf_counter()
        request, selection = self._validated(request)
        languages = request_languages(request, self.language_counts())
        parsed = self._parse(request.query, languages)
        result = ClusterSearch(self, request, selection, parsed, languages).run()
        took = round((time.perf_counter() - started) * 1000, 3)
        return SearchResult(**{**result, "took_ms": took})

    @translating_cluster_errors
    def article(self, article_id: str) -> ArticleView:
        source = self._source(article_id)
        shown = source.get("shown") or {}
        return ArticleView.of(
            source.get("id", article_id),
            shown.get("title") or "",
            shown.get("body") or "",
            shown.get("record") or {},
        )

    @translating_cluster_errors
    def related(self, article_id: str, limit: int = 5) -> list[Hit]:
        """Articles sharing this one's most distinctive stems (as ``search/related``)."""
        check_related_limit(limit, self.settings.max_per_page)
        shown = self._source(article_id).get("shown") or {}
        language = (shown.get("record") or {}).get("language")
        text = f"{shown.get('title') or ''}\n{shown.get('body') or ''}"
        words = self.analyses.plain.surface_words(text, stopwords_for(language))
        stem = stemmer_for(language)
        stems = Counter(stem(word) for word in words if len(word) >= MIN_WORD_LENGTH)
        keys = self._key_words(stems)
        if not keys:
            return []
        within = (analysis_language(language),) if len(self.index_languages()) > 1 else ()
        leaves = tuple(Term(TEXT_FIELDS, key, key, languages=within) for key in keys)
        query = {
            "bool": {
                "should": score_query(leaves),
                "minimum_should_match": 1,
                "must_not": [{"ids": {"values": [article_id]}}],
            }
        }
        body = {
            "size": limit,
            "query": query,
            "sort": [{"_score": "desc"}, {"id": "asc"}],
            "track_scores": True,
            "_source": HIT_SOURCE,
        }
        hits = self.client.search(index=self.alias, body=body)["hits"]["hits"]
        return self._hits(hits, scored=True)

    @translating_cluster_errors
    def versions(self, article_id: str) -> list[Hit]:
        """The other copies of the article's story, newest first (ties by id)."""
        story = copies.Story.of(self._source(article_id))
        if not story.has_copies:
            return []
        query = {
            "bool": {
                "filter": [{"term": {copies.STORY: story.label}}],
                "must_not": [{"ids": {"values": [article_id]}}],
            }
        }
        order = [{"date": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
        found = copies.every_hit(self.client, self.alias, query, HIT_SOURCE, order)
        return self._hits(list(found), scored=False)

    def ranked_ids(self, query: str, limit: int = 1000, *, any_word: bool = False) -> list[str]:
        """Article ids by relevance (for evaluation), every copy listed as the embedded
        engine lists them; ``any_word`` is not told apart."""
        request = SearchRequest(query=query, per_page=min(limit, 100), collapse=False)
        result = self.search(request)
        return [hit.id for hit in result.hits]

    @property
    @translating_cluster_errors
    def generation(self) -> GenerationInfo:
        name = generations.serving_index(self.client, self.alias)
        if name is None:
            raise IndexNotFound(f"the OpenSearch alias {self.alias!r}")
        return GenerationInfo(
            id=generations.generation_id(self.alias, name),
            article_count=self.client.count(index=name)["count"],
            commit=generations.read_commit(self.client, name),
        )

    @translating_cluster_errors
    def build_status(self) -> dict[str, Any]:
        """The running or last build on the cluster, from any process sharing it
        (``GET /api/index/status``; keys as the embedded ``build-status.json``, plus
        ``lock``)."""
        return status.build_status(self.client, generations.lock_index(self.alias))

    @translating_cluster_errors
    def index_info(self) -> dict[str, Any]:
        """``searchsvc index-info``: the embedded engine's keys where they mean the same
        (generation, article_count, sources, built_at, build_seconds, segments,
        index_bytes of the primaries, duplicates_removed, report, generations,
        build_status) and the cluster's own (alias, index, shards, replicas, health,
        commit). Raises :class:`IndexNotFound` before the first build."""
        name = generations.serving_index(self.client, self.alias)
        if name is None:
            raise IndexNotFound(f"the OpenSearch alias {self.alias!r}")
        index = self.client.indices.get(index=name)[name]
        meta, shape = index["mappings"].get("_meta") or {}, index["settings"]["index"]
        build = meta.get("build") or {}
        stats = self.client.indices.stats(index=name, metric="docs,store,segments")
        primaries = stats["_all"]["primaries"]
        prefix = generations.generation_prefix(self.alias)
        return {
            "engine": "opensearch",
            "alias": self.alias,
            "index": name,
            "generation": generations.generation_id(self.alias, name),
            "fallback_from": None,
            "article_count": primaries["docs"]["count"],
            "sources": build.get("sources", []),
            "built_at": build.get("built_at"),
            "build_seconds": build.get("build_seconds"),
            "segments": primaries["segments"]["count"],
            "index_bytes": primaries["store"]["size_in_bytes"],
            "duplicates_removed": build.get("duplicates_removed", 0),
            "updates": {},
            "commit": int(meta.get("commit", 1)),
            "report": build.get("report", {}),
            "generations": sorted(
                generations.generation_id(self.alias, other)
                for other in self.client.indices.get(index=prefix + "*")
            ),
            "build_status": self.build_status(),
            "verification": None,
            "shards": int(shape["number_of_shards"]),
            "replicas": int(shape["number_of_replicas"]),
            "health": self.client.cluster.health(index=name)["status"],
        }

    @translating_cluster_errors
    def cluster_status(self) -> str:
        """The cluster's health for the alias's indices (``green``, ``yellow``, ``red``):
        yellow still answers every search (a copy of each shard is up), red does not."""
        return self.client.cluster.health(index=self.alias)["status"]

    def open_in_background(self) -> None:
        """Nothing to open ahead: the cluster holds the index, and the client connects
        at the first request."""

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> OpenSearchEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- building and updating -----------------------------------------------------------

    @translating_cluster_errors
    def build(
        self, articles: Iterable[Article], report: IngestReport | None = None
    ) -> generations.ClusterBuild:
        """A new generation of ``articles``, served once complete (see ``generations``)."""
        return generations.build_generation(self.client, self.settings, articles, report)

    @translating_cluster_errors
    def build_from(self, sources: Iterable[Path]) -> generations.ClusterBuild:
        """A new generation from source files, read as ``searchsvc build-index`` reads them."""
        paths = [Path(path) for path in sources]
        missing = [str(path) for path in paths if not path.exists()]
        if missing:
            raise BuildFailed(f"source not found: {', '.join(missing)}")
        report = IngestReport()
        articles = read_articles(paths, report, max_file_bytes=self.settings.max_file_bytes)
        return generations.build_generation(
            self.client, self.settings, articles, report, [str(path) for path in paths]
        )

    @translating_cluster_errors
    def add(self, articles: Iterable[Article]) -> UpdateResult:
        return generations.update_articles(self.client, self.settings, articles)

    @translating_cluster_errors
    def delete(self, ids: Iterable[str]) -> UpdateResult:
        return generations.delete_articles(self.client, self.settings, ids)

    # --- helpers -----------------------------------------------------------------------

    def index_languages(self) -> tuple[str, ...]:
        """The analysis keys of the articles behind the alias, sorted."""
        return tuple(sorted(self.language_counts()))

    def language_counts(self) -> dict[str, int]:
        """Articles per analysis key behind the alias (asked once per generation)."""
        return self.lexicon.last_seen(("language-counts",), self._ask_language_counts)

    def _ask_language_counts(self) -> dict[str, int]:
        body = {"size": 0, "aggs": {"keys": {"terms": {"field": "analysis", "size": 1000}}}}
        buckets = self.client.search(index=self.alias, body=body)["aggregations"]["keys"]
        counts = {b["key"]: b["doc_count"] for b in buckets["buckets"]}
        return counts or {UNDETERMINED_LANGUAGE: 0}

    # Parsing, validation and highlighting read only ``settings`` and the analysis set up
    # in ``__init__``: the embedded engine's own functions, shared until both engines
    # derive from one base.
    parse = SearchEngine.parse
    _parse_uncached = SearchEngine._parse_uncached
    highlighter_for = SearchEngine.highlighter_for
    _validated = SearchEngine._validated

    def _hits(self, hits: list[dict], *, scored: bool) -> list[Hit]:
        """Results without query words to highlight, each with its count of copies."""
        highlighter = self.highlighter_for(HighlightTerms())
        versions = copies.versions_of(self.client, self.alias, [hit["_source"] for hit in hits])
        return [
            cluster_hit(hit, highlighter, scored, versions=count)
            for hit, count in zip(hits, versions, strict=True)
        ]

    def _source(self, article_id: str) -> dict:
        if not isinstance(article_id, str):
            raise ArticleNotFound(str(article_id)[:MAX_ID_BYTES])
        article_id = fitted_id(article_id)  # as its article was indexed
        try:
            return self.client.get(index=self.alias, id=article_id, _source=HIT_SOURCE)["_source"]
        except NotFoundError:
            raise ArticleNotFound(article_id) from None

    def _key_words(self, stems: Counter[str]) -> list[str]:
        """The article's most distinctive stems, as ``search/related.key_words`` picks them:
        skipping digits, stems in one article only and stems in more than a tenth.

        Counts are exact (a filter per stem), not the term statistics of one shard, so
        the choice is the same however many shards hold the generation."""
        candidates = [word for word in stems if not word.isdigit()]
        if not candidates:
            return []
        total, docs = self._articles_with_each(candidates)
        doc_count = max(1, total)
        ceiling = max(MIN_CEILING, int(doc_count * MAX_DOC_SHARE))
        weighted = [
            (stems[word] * math.log(doc_count / docs[word]), word)
            for word in candidates
            if 2 <= docs[word] <= ceiling
        ]
        weighted.sort(key=lambda item: (-item[0], item[1]))
        return [word for _, word in weighted[:KEY_WORDS]]

    def _articles_with_each(self, words: list[str]) -> tuple[int, dict[str, int]]:
        """How many articles there are, and how many have each stem in the title or the
        body (exact counts), in one request."""
        filters = {
            word: {"bool": {"should": [{"term": {name: word}} for name in TEXT_FIELDS]}}
            for word in words
        }
        body = {
            "size": 0,
            "track_total_hits": True,
            "aggs": {"each": {"filters": {"filters": filters}}},
        }
        answer = self.client.search(index=self.alias, body=body)
        buckets = answer["aggregations"]["each"]["buckets"]
        counts = {word: buckets[word]["doc_count"] for word in words}
        return answer["hits"]["total"]["value"], counts
