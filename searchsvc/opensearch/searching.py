"""One search on the cluster: the list in tiers, facets as aggregations, highlights.

The same steps as the embedded engine's ``_Search``, in one request or a few:

* one ``_msearch`` holds the aggregations over the query's matches within the date
  range (each facet a ``filter`` aggregation with every *other* facet's selection, so a
  facet ignores its own; the date histogram, the undated count and the all-words count
  under the filter of every selection) and the page's hits among the articles with all
  the words, with the facet selections as ``post_filter``, and the key of the generation
  serving (what the word statistics cached for suggestions are valid for, ``lexicon``);
* when the page reaches past those, the rest of the page comes from the articles with
  only some of the words: on the first page from a third search in the same
  ``_msearch`` (its start is known), on later pages from a second request.

Copies of one story (``copies``) are grouped as in the embedded engine: with
``collapse`` each tier's hits are collapsed on the ``story`` label (OpenSearch keeps the
first copy in the tier's order, the copy the embedded engine shows), the stories of the
all-words tier are left out of the second tier (their first copy came earlier in the
list), and totals count stories exactly (``copies.story_labels``).

Counts per day come back from a day-level ``date_histogram`` and are grouped into the
same year, month or day bars as the embedded engine shows (``facets.histogram_of_days``);
highlights are made from the stored text by our own :class:`Highlighter`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import TYPE_CHECKING, Any, NamedTuple

from searchsvc.index.errors import ClusterUnavailable
from searchsvc.opensearch import copies
from searchsvc.opensearch.connection import RETRY_STATUSES
from searchsvc.opensearch.lexicon import ClusterReading
from searchsvc.opensearch.translate import (
    MATCH_ALL,
    MATCH_NONE,
    Query,
    complete_query,
    date_range,
    listed_query,
    score_query,
)
from searchsvc.search.engine import NOTHING_TO_SEARCH, partial_match_message
from searchsvc.search.facets import histogram_of_days, label_in_record, label_of_key
from searchsvc.search.filters import FACET_FIELDS, FACETS_WITH_MISSING, Selection
from searchsvc.search.highlight import Highlighter
from searchsvc.search.matching import QueryMatcher, is_optional, split_clauses
from searchsvc.search.model import Facet, FacetValue, Hit, SearchRequest, text_direction
from searchsvc.search.query import ParsedQuery
from searchsvc.search.suggest import suggest_query

if TYPE_CHECKING:
    from searchsvc.opensearch.engine import OpenSearchEngine

#: Terms aggregations count exactly on one shard; across shards each shard sends this
#: many candidates so the top values and their counts are exact in practice.
SHARD_SIZE = 10_000
#: What a hit's source needs for a result (the indexed term fields stay behind).
HIT_SOURCE = ["id", "shown", copies.STORY, copies.HAS_COPIES]
_LABEL_SOURCE = ["shown.record.dateline_place", "shown.record.places", "shown.record.source"]


class ClusterSearch:
    """One request's work against the alias."""

    def __init__(
        self,
        engine: OpenSearchEngine,
        request: SearchRequest,
        selection: Selection,
        parsed: ParsedQuery,
        languages: tuple[str, ...],
    ) -> None:
        self.engine = engine
        self.request = request
        self.selection = selection
        self.parsed = parsed
        self.languages = languages
        self.reading = ClusterReading.of(engine.lexicon, parsed, engine.stem)
        clauses = parsed.clauses
        self.message: str | None = None
        if clauses:
            self.listed, self.complete = listed_query(clauses), complete_query(clauses)
            self.tiered = sum(1 for node in clauses if is_optional(node)) >= 2
        elif parsed.is_blank:
            self.listed, self.complete, self.tiered = MATCH_ALL, MATCH_ALL, False
        else:
            self.listed, self.complete, self.tiered = MATCH_NONE, MATCH_NONE, False
            self.message = NOTHING_TO_SEARCH
        self.scoring = score_query(clauses)
        self.dates = (
            [date_range(selection.date_from, selection.date_to)] if selection.has_dates else []
        )
        self.chosen = {
            name: keys_query(name, selection.keys(name))
            for name in FACET_FIELDS
            if selection.keys(name)
        }

    def run(self) -> dict[str, Any]:
        request, client, alias = self.request, self.engine.client, self.engine.alias
        start = (request.page - 1) * request.per_page
        searches = [
            self.aggregations(),
            self.tier_search(first=True, start=start, size=request.per_page),
        ]
        # On the first page the rest of the page starts at the top of the second tier:
        # asked for at once, it costs no second request when the first tier is short.
        ahead = self.tiered and start == 0
        if ahead:
            searches.append(self.tier_search(first=False, start=0, size=request.per_page))
        body = [part for search in searches for part in ({"index": alias}, search)]
        answers = client.msearch(body=[*body, *self.engine.lexicon.probe()])["responses"]
        self.reading.learn_generation(answers.pop())
        for answer in answers:
            if "error" in answer:
                raise refused(answer)
        aggs = answers[0]["aggregations"]
        final = aggs["final"]
        copies_total = final["doc_count"]
        counts = self.counts(final)
        total, with_all = counts.total, counts.with_all
        hits = answers[1]["hits"]["hits"]
        if self.tiered and len(hits) < request.per_page and start + len(hits) < total:
            early = answers[2]["hits"]["hits"] if ahead else None
            hits = hits + self.second_tier(early, start, request.per_page - len(hits), counts)
        message = self.message
        if with_all < total:
            stories = self.request.collapse and aggs["copies_anywhere"]["any"]["doc_count"] > 0
            message = partial_match_message(with_all, total, stories=stories)
        positive, _, _ = split_clauses(self.parsed.clauses)
        terms = QueryMatcher(self.reading).highlight_terms(positive)  # type: ignore[arg-type]
        highlighter = self.engine.highlighter_for(terms)
        sources = [hit["_source"] for hit in hits]
        versions = copies.versions_of(client, alias, sources)
        return {
            "query": request.query,
            "sort": request.sort,
            "total": total,
            "all_words_total": with_all,
            "page": request.page,
            "per_page": request.per_page,
            "took_ms": 0.0,
            "hits": [
                cluster_hit(hit, highlighter, self.scored, versions=count)
                for hit, count in zip(hits, versions, strict=True)
            ],
            "facets": self.facets(aggs),
            "dates": histogram_of_days(
                {
                    dt.date.fromisoformat(bucket["key_as_string"]): bucket["doc_count"]
                    for bucket in final["days"]["buckets"]
                },
                final["undated"]["doc_count"],
                self.selection,
            ),
            "suggestion": self.suggestion(found_nothing=not with_all),
            "fallback": bool(total) and not with_all,
            "message": message,
            "collapse": request.collapse,
            "copies_total": copies_total,
            "total_counts": "stories" if request.collapse else "copies",
        }

    def counts(self, final: dict[str, Any]) -> Counts:
        """The list's total and all-words total: articles, or with ``collapse`` stories.

        Stories are the articles without copies (counted by the aggregations) plus the
        distinct labels of those with copies: first among the articles with all the
        words, then among the rest whose story is not one of those (``told`` already).
        """
        first = final["all_words"] if self.tiered else final
        if not self.request.collapse:
            return Counts(final["doc_count"], first["doc_count"], [])
        filters = [*self.base(), self.selections()]
        first_filters = [*filters, self.complete] if self.tiered else filters
        told = self.labels_of(first_filters, with_copies(first))
        with_all = first["alone"]["doc_count"] + len(told)
        if not self.tiered:
            return Counts(with_all, with_all, told)
        rest = [*filters, not_any(self.complete, told)]
        later = self.labels_of(rest, with_copies(final) - with_copies(first))
        alone_later = final["alone"]["doc_count"] - first["alone"]["doc_count"]
        return Counts(with_all + alone_later + len(later), with_all, told)

    def second_tier(
        self, early: list[dict[str, Any]] | None, start: int, wanted: int, counts: Counts
    ) -> list[dict[str, Any]]:
        """The page's ``wanted`` hits from the second tier: from the ``early`` top of the
        tier (the first page's, asked for with the first tier) when it holds enough once
        the first tier's stories are left out, else from a request of their own."""
        if early is not None:
            kept = untold(early, counts.told)
            if len(kept) >= wanted or len(early) < self.request.per_page:
                return kept[:wanted]
        rest = self.tier_search(
            first=False, start=max(0, start - counts.with_all), size=wanted, told=counts.told
        )
        return self.engine.client.search(index=self.engine.alias, body=rest)["hits"]["hits"]

    def labels_of(self, filters: list[Query], copies_matching: int) -> list[str]:
        """The labels of the stories with copies among ``filters``' matches (no request
        when ``copies_matching``, the count of such articles, is 0)."""
        if not copies_matching:
            return []
        return copies.story_labels(self.engine.client, self.engine.alias, filters)

    # --- requests ----------------------------------------------------------------------

    @property
    def scored(self) -> bool:
        return self.request.sort == "relevance" and bool(self.scoring)

    def base(self) -> list[Query]:
        """The query's matches within the date range (what the facets count)."""
        return [self.listed, *self.dates]

    def selections(self, *, without: str | None = None) -> Query:
        chosen = [query for name, query in self.chosen.items() if name != without]
        return {"bool": {"filter": chosen}} if chosen else MATCH_ALL

    def aggregations(self) -> dict[str, Any]:
        top_n = self.engine.settings.facet_top_n
        aggs: dict[str, Any] = {}
        for name, field in FACET_FIELDS.items():
            label = {"top_hits": {"size": 1, "_source": _LABEL_SOURCE, "sort": [{"id": "asc"}]}}
            # Articles without a value form the "" bucket of the facets that show them.
            missing = {"missing": ""} if name in FACETS_WITH_MISSING else {}
            inner: dict[str, Any] = {
                "top": {
                    "terms": {
                        "field": field,
                        "size": top_n,
                        "shard_size": SHARD_SIZE,
                        "order": [{"_count": "desc"}, {"_key": "asc"}],
                        **missing,
                    },
                    "aggs": {"label": label},
                },
                "values": {"value_count": {"field": field, **missing}},
            }
            keys = self.selection.keys(name)
            if keys:
                inner["chosen"] = {
                    "terms": {"field": field, "include": list(keys), "size": len(keys), **missing},
                    "aggs": {"label": label},
                }
            aggs[f"facet_{name}"] = {"filter": self.selections(without=name), "aggs": inner}
        final: dict[str, Any] = {
            "days": {
                "date_histogram": {
                    "field": "date",
                    "calendar_interval": "day",
                    "min_doc_count": 1,
                    "format": "yyyy-MM-dd",
                }
            },
            "undated": {"missing": {"field": "date"}},
        }
        alone = {"alone": {"filter": copies.WITHOUT_COPIES_FILTER}}
        final.update(alone)
        if self.tiered:
            final["all_words"] = {"filter": self.complete, "aggs": alone}
        aggs["final"] = {"filter": self.selections(), "aggs": final}
        anywhere = {"any": {"filter": copies.HAS_COPIES_FILTER}}
        aggs["copies_anywhere"] = {"global": {}, "aggs": anywhere}
        return {
            "size": 0,
            "track_total_hits": True,
            "query": {"bool": {"filter": self.base()}},
            "aggs": aggs,
        }

    def tier_search(
        self, *, first: bool, start: int, size: int, told: list[str] | None = None
    ) -> dict[str, Any]:
        """The articles with all the words (``first``) or only some, in the page's order;
        with ``collapse``, the first copy of each story, leaving out the stories ``told``
        in the first tier."""
        matching: dict[str, Any] = {"filter": self.base()}
        if self.tiered:
            if first:
                matching["filter"] = [*matching["filter"], self.complete]
            else:
                matching["filter"] = [*matching["filter"], not_any(self.complete, told or [])]
        if self.scored:
            matching["should"] = self.scoring
            order: list[Any] = [{"_score": "desc"}, {"id": "asc"}]
        else:
            direction = "asc" if self.request.sort == "oldest" else "desc"
            order = [{"date": {"order": direction, "missing": "_last"}}, {"id": "asc"}]
        body = {
            "from": start,
            "size": size,
            "track_total_hits": False,
            "query": {"bool": matching},
            "post_filter": self.selections(),
            "sort": order,
            "track_scores": self.scored,
            "_source": HIT_SOURCE,
        }
        if self.request.collapse:
            body["collapse"] = {"field": copies.STORY}
        return body

    # --- answers -----------------------------------------------------------------------

    def facets(self, aggs: dict[str, Any]) -> dict[str, Facet]:
        return {name: self.facet(name, aggs[f"facet_{name}"]) for name in FACET_FIELDS}

    def facet(self, name: str, agg: dict[str, Any]) -> Facet:
        shown = [(b["key"], b["doc_count"], b) for b in agg["top"]["buckets"]]
        shown_keys = {key for key, _, _ in shown}
        chosen_buckets = {b["key"]: b for b in (agg.get("chosen") or {}).get("buckets", [])}
        selected = self.selection.keys(name)
        for key in selected:
            if key not in shown_keys:
                bucket = chosen_buckets.get(key)
                shown.append((key, bucket["doc_count"] if bucket else 0, bucket))
        other = int(agg["values"]["value"]) - sum(count for _, count, _ in shown)
        chosen = set(selected)
        values = [
            FacetValue(
                key,
                bucket_label(name, key, bucket) if bucket else self.label_anywhere(name, key),
                count,
                key in chosen,
            )
            for key, count, bucket in shown
        ]
        return Facet(name, values, other)

    def label_anywhere(self, name: str, key: str) -> str:
        """The label of a selected key no match has, from any article with it."""
        named = label_of_key(name, key)
        if named is not None:
            return named
        body = {
            "size": 1,
            "query": {"term": {FACET_FIELDS[name]: key}},
            "sort": [{"id": "asc"}],
            "_source": _LABEL_SOURCE,
        }
        answer = self.engine.client.search(index=self.engine.alias, body=body)
        return bucket_label(name, key, {"label": answer})

    def suggestion(self, *, found_nothing: bool) -> str | None:
        if not self.parsed.clauses:
            return None
        engine = self.engine

        def finds_results(clauses) -> bool:
            query = {"bool": {"filter": [complete_query(clauses), *self.dates, self.selections()]}}
            key = ("finds", json.dumps(query, sort_keys=True, default=str))
            return self.reading.snapshot.lexicon.remembered(key, lambda: self.any_match(query))

        return suggest_query(
            self.parsed,
            self.reading,  # type: ignore[arg-type]
            found_nothing=found_nothing,
            stems=engine.analyses.stems(self.languages),
            reparse=functools.partial(engine.parse, languages=self.languages),
            finds_results=finds_results,
        )

    def any_match(self, query: Query) -> bool:
        """Whether any article matches (counting stops at the first on each shard)."""
        client, alias = self.engine.client, self.engine.alias
        return client.count(index=alias, body={"query": query}, terminate_after=1)["count"] > 0


def keys_query(facet: str, keys: tuple[str, ...]) -> Query:
    """The articles with any of a facet's ``keys`` (``""``: those without a value)."""
    present: Query = {"terms": {FACET_FIELDS[facet]: [key for key in keys if key]}}
    if "" not in keys or facet not in FACETS_WITH_MISSING:
        return present
    absent = {"bool": {"must_not": [{"exists": {"field": FACET_FIELDS[facet]}}]}}
    return {"bool": {"should": [present, absent], "minimum_should_match": 1}}


def bucket_label(facet: str, key: str, bucket: dict | None) -> str:
    """The display name of a facet key, from the article the bucket's ``label`` holds."""
    named = label_of_key(facet, key)
    if named is not None:
        return named
    hits = ((bucket or {}).get("label") or {}).get("hits", {}).get("hits", [])
    record = ((hits[0]["_source"].get("shown") or {}).get("record") or {}) if hits else {}
    return label_in_record(facet, key, record) or key


def untold(hits: list[dict[str, Any]], told: list[str]) -> list[dict[str, Any]]:
    """The second tier's top hits asked for before the first tier's stories were known,
    without those stories: collapsed on the story, they are the top of the second tier
    that leaves them out (every copy of a story is left out or none)."""
    excluded = set(told)
    return [hit for hit in hits if hit["_source"].get(copies.STORY) not in excluded]


def with_copies(counted: dict[str, Any]) -> int:
    """How many of a ``filter`` aggregation's articles have copies."""
    return counted["doc_count"] - counted["alone"]["doc_count"]


def not_any(query: Query, told: list[str]) -> Query:
    """Articles outside ``query`` whose story is not one of ``told``."""
    excluded = [query, copies.terms_any(copies.STORY, told)] if told else [query]
    return {"bool": {"must_not": excluded}}


class Counts(NamedTuple):
    """A list's counts (stories or articles), and the labels of the stories with copies
    in its all-words tier."""

    total: int
    with_all: int
    told: list[str]


def cluster_hit(
    hit: dict[str, Any], highlighter: Highlighter, scored: bool, versions: int = 0
) -> Hit:
    """One result from a search hit's source; ``versions``: its other copies."""
    source = hit["_source"]
    shown = source.get("shown") or {}
    record = shown.get("record") or {}
    language = record.get("language")
    highlighter = highlighter.in_language(language)
    score = hit.get("_score") if scored else 0.0
    return Hit(
        id=source.get("id", hit["_id"]),
        title=highlighter.title(shown.get("title") or ""),
        snippet=highlighter.snippet(shown.get("body") or ""),
        place=record.get("dateline_place"),
        places=list(record.get("places") or []),
        date=record.get("date"),
        source=record.get("source"),
        url=record.get("url"),
        score=round(float(score or 0.0), 6),
        versions=versions,
        language=language,
        dir=text_direction(language),
    )


def refused(answer: dict[str, Any]) -> Exception:
    """The error for one failed answer of a multi-search: :class:`ClusterUnavailable`
    when no live copy of a shard could answer (a red index), else a plain failure."""
    error = answer["error"]
    if answer.get("status") in RETRY_STATUSES:
        reason = error.get("reason") if isinstance(error, dict) else error
        message = f"the OpenSearch cluster cannot serve the index now ({answer['status']} {reason})"
        return ClusterUnavailable(message)
    return RuntimeError(f"the cluster refused the search: {error}")
