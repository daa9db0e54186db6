"""The search core: a request in, one page of results and the facets of all of them out.

:class:`SearchEngine` is what the web app, the command line and the benchmarks hold: one
per process, safe to share between threads. It opens the serving index lazily, follows
rebuilds and incremental updates (see ``serving``), and never lets an exception other
than :class:`QueryError` out for anything a user typed.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from typing import Any

import numpy as np

from searchsvc.analysis import (
    UNDETERMINED_LANGUAGE,
    analysis_language,
    make_analyzer,
    stemmer_for,
    stopwords_for,
)
from searchsvc.articles.model import MAX_ID_BYTES, fitted_id
from searchsvc.config import Settings
from searchsvc.index.status import read_build_status
from searchsvc.search.analyses import LanguageAnalyses
from searchsvc.search.collapse import VersionGroups, version_groups
from searchsvc.search.docsets import DocSet
from searchsvc.search.facets import count_facets, date_histogram
from searchsvc.search.filters import FacetSets, Selection, facet_sets, normalize_keys, restrict
from searchsvc.search.highlight import Highlighter, WordForms
from searchsvc.search.languages import (
    default_query_languages,
    index_languages,
    language_counts,
    request_languages,
)
from searchsvc.search.lexicon import Pause
from searchsvc.search.matching import (
    HighlightTerms,
    QueryMatcher,
    positive_leaves,
    split_clauses,
    split_tiers,
)
from searchsvc.search.model import (
    SORT_ORDERS,
    ArticleNotFound,
    ArticleView,
    DateHistogram,
    Facet,
    GenerationInfo,
    Hit,
    QueryError,
    SearchRequest,
    SearchResult,
    text_direction,
)
from searchsvc.search.query import (
    TEXT_FIELDS,
    Node,
    Or,
    ParsedQuery,
    Term,
    parse_query,
)
from searchsvc.search.ranking import RankingConfig
from searchsvc.search.related import related_docs
from searchsvc.search.serving import FOLLOW_SECONDS, ServingIndex
from searchsvc.search.snapshot import Reading, Snapshot
from searchsvc.search.suggest import suggest_query
from searchsvc.search.warming import RecentSearches

NOTHING_TO_SEARCH = (
    "Nothing to search for: very common words (the, of, and…) and punctuation are not "
    "indexed. Add a distinctive word."
)
PARSE_CACHE_SIZE = 2048
#: Date-sorted pages scan the precomputed date order when the results are at least
#: this share of the collection; smaller result sets are sorted directly.
_SCAN_SHARE = 1 / 16


class SearchEngine:
    def __init__(
        self,
        settings: Settings,
        ranking: RankingConfig | None = None,
        *,
        prepare_lexicon: bool = False,
        follow_index: bool = False,
    ) -> None:
        """``prepare_lexicon``: read each commit's spelling lexicon in the background, as
        a long-running server should, rather than on the first query that needs it.
        ``follow_index``: switch to a new generation or commit within
        :data:`FOLLOW_SECONDS` of it, as a server should, rather than at the next request
        (which may be long in coming), so that what it replaces is let go; and with
        ``prepare_lexicon``, ask the latest searches again on it in the background
        (:mod:`searchsvc.search.warming`)."""
        self.settings = settings
        self.ranking = ranking or RankingConfig()
        plain = make_analyzer(stem=False)
        stemmed = make_analyzer(stem=True)
        self.stem = stemmed.stemmer.stem
        self._token_pattern = plain.tokenizer.regexp
        self._word_forms = WordForms(self.stem)
        self.analyses = LanguageAnalyses()
        self._recent = RecentSearches() if follow_index else None
        self._serving = ServingIndex(
            settings.index_dir,
            self.ranking,
            cache_bytes=settings.cache_mb * 2**20,
            prepare_lexicon=prepare_lexicon,
            follow_seconds=FOLLOW_SECONDS if follow_index else None,
            warm=self._ask_again if follow_index else None,
        )
        self._parse = functools.lru_cache(maxsize=PARSE_CACHE_SIZE)(self._parse_uncached)

    # --- the public calls --------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResult:
        result = self._answer(request)
        if self._recent is not None:
            self._recent.remember(request)
        return result

    def _answer(self, request: SearchRequest) -> SearchResult:
        started = time.perf_counter()
        request, selection = self._validated(request)
        with self._serving.reading() as reading:
            languages = request_languages(request, language_counts(reading))
            parsed = self._parse(request.query, languages)
            result = _Search(self, reading, request, selection, parsed, languages).run()
        took = round((time.perf_counter() - started) * 1000, 3)
        return SearchResult(**{**result, "took_ms": took})

    def article(self, article_id: str) -> ArticleView:
        with self._serving.reading() as reading:
            docnum = self._docnum(reading, article_id)
            stored = reading.stored(docnum)
        return ArticleView.of(
            stored.get("id", article_id),
            stored.get("title") or "",
            stored.get("body") or "",
            stored.get("article") or {},
        )

    def related(self, article_id: str, limit: int = 5) -> list[Hit]:
        check_related_limit(limit, self.settings.max_per_page)
        with self._serving.reading() as reading:
            docnum = self._docnum(reading, article_id)
            ranked = self._related_docs(reading, docnum, limit)
            highlighter = self.highlighter_for(QueryMatcher(reading).highlight_terms([]))
            groups = self.version_groups(reading)
            return [make_hit(reading, doc, score, highlighter, groups) for doc, score in ranked]

    def _related_docs(self, reading: Reading, docnum: int, limit: int) -> list[tuple[int, float]]:
        """Related stories, the article read in its language (stopwords and stemmer) and
        kept to that language where the index holds others."""
        language = (reading.stored(docnum).get("article") or {}).get("language")
        plain = self.analyses.plain
        surface_words = functools.partial(plain.surface_words, stopwords=stopwords_for(language))
        within = (analysis_language(language),) if len(index_languages(reading)) > 1 else ()
        return related_docs(reading, docnum, limit, surface_words, stemmer_for(language), within)

    def versions(self, article_id: str) -> list[Hit]:
        """The other copies of the article's story, newest first (ties by id)."""
        with self._serving.reading() as reading:
            docnum = self._docnum(reading, article_id)
            groups = self.version_groups(reading)
            copies = groups.copies_of(docnum, reading.columns.live)
            copies = copies[copies != docnum]
            key = reading.columns.date_sort_key(newest_first=True)
            ordered = copies[np.argsort(key[copies])].tolist()
            highlighter = self.highlighter_for(QueryMatcher(reading).highlight_terms([]))
            return [make_hit(reading, doc, 0.0, highlighter, groups) for doc in ordered]

    def version_groups(self, reading: Reading) -> VersionGroups:
        return version_groups(reading, self.settings.versions_threshold)

    def ranked_ids(self, query: str, limit: int = 1000, *, any_word: bool = False) -> list[str]:
        """Article ids by relevance, without pages, facets or highlights (for evaluation).

        The order a search's pages show; ``any_word`` instead ranks every article with any
        of the words by score alone, as plain BM25 engines do.
        """
        with self._serving.reading() as reading:
            parsed = self._parse(query, default_query_languages(language_counts(reading), query))
            matcher = QueryMatcher(reading)
            if not parsed.clauses:
                return []
            if any_word:
                docs, first = matcher.any_of(parsed.clauses), None
            else:
                docs, first = matcher.listed(parsed.clauses)
            positive, _, _ = split_clauses(parsed.clauses)
            leaves = [leaf for clause in positive for leaf in positive_leaves(clause)]
            ranked = matcher.rank(docs, leaves, proximity_terms(positive), limit, first=first)
            return [reading.columns.ids[doc] for doc, _ in ranked]

    @property
    def generation(self) -> GenerationInfo:
        with self._serving.reading() as reading:
            opened = reading.snapshot.opened
            return GenerationInfo(
                id=opened.generation,
                article_count=len(reading.columns.live),
                commit=reading.snapshot.commit,
                fallback_from=opened.fallback_from,
            )

    def build_status(self) -> dict[str, Any]:
        """The running or last full build, as ``build-status.json`` beside the index says."""
        return read_build_status(self.settings.index_dir)

    def open_in_background(self) -> None:
        """Open the index on a thread now (a server's worker as it starts), so that the
        first request finds it open; only an engine that follows the index does."""
        self._serving.open_in_background()

    def _ask_again(self, snapshot: Snapshot, wait_for_idle: Pause) -> None:
        assert self._recent is not None
        self._recent.ask_again(snapshot, wait_for_idle, self._answer)

    def close(self) -> None:
        """Close searchers and release the index (a later call opens it again)."""
        self._serving.close()

    def __enter__(self) -> SearchEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- helpers -----------------------------------------------------------------------

    def parse(
        self, query: str, languages: tuple[str, ...] = (UNDETERMINED_LANGUAGE,)
    ) -> ParsedQuery:
        """The parsed form of ``query`` (cached), or :class:`QueryError`.

        ``languages``: the analysis keys to read it in (see ``search/languages``); searches
        pass the languages of the request or of the index.
        """
        return self._parse(query, languages)

    def _parse_uncached(
        self, query: str, languages: tuple[str, ...] = (UNDETERMINED_LANGUAGE,)
    ) -> ParsedQuery:
        return parse_query(
            query,
            self.analyses.query(languages),
            max_length=self.settings.max_query_length,
            max_terms=self.settings.max_query_terms,
        )

    def highlighter_for(self, terms: HighlightTerms) -> Highlighter:
        return Highlighter(
            terms,
            token_pattern=self._token_pattern,
            forms=self._word_forms,
            snippet_chars=self.settings.snippet_chars,
            snippet_fragments=self.settings.snippet_fragments,
            forms_of=self.analyses.word_forms,
        )

    def _docnum(self, reading: Reading, article_id: str) -> int:
        if not isinstance(article_id, str):
            raise ArticleNotFound(str(article_id)[:MAX_ID_BYTES])
        fitted = fitted_id(article_id)  # as an article is indexed
        docnum = reading.columns.docnum_of(fitted)
        if docnum is None and fitted != article_id:  # an index built before ids were fitted
            docnum = reading.columns.docnum_of(article_id)
        if docnum is None:
            raise ArticleNotFound(fitted)
        return docnum

    def _validated(self, request: SearchRequest) -> tuple[SearchRequest, Selection]:
        settings = self.settings
        query = request.query if isinstance(request.query, str) else ""
        sort = request.sort or "relevance"
        if sort not in SORT_ORDERS:
            raise QueryError(
                f"sort must be one of {', '.join(SORT_ORDERS)}, got {sort!r}", parameter="sort"
            )
        page = _whole_number(request.page, "page", settings.max_page)
        per_page = _whole_number(request.per_page, "per_page", settings.max_per_page)
        date_from = _date(request.date_from, "date_from")
        date_to = _date(request.date_to, "date_to")
        if date_from and date_to and date_from > date_to:
            raise QueryError(
                f"date_to ({date_to}) is before date_from ({date_from}); swap them",
                parameter="date_to",
            )
        selection = Selection(
            place=normalize_keys("place", _values(request.place, "place")),
            places=normalize_keys("places", _values(request.places, "places")),
            source=normalize_keys("source", _values(request.source, "source")),
            language=normalize_keys("language", _values(request.language, "language")),
            date_from=date_from,
            date_to=date_to,
        )
        cleaned = SearchRequest(
            query=query,
            place=selection.place,
            places=selection.places,
            source=selection.source,
            language=selection.language,
            date_from=date_from,
            date_to=date_to,
            sort=sort,
            page=page,
            per_page=per_page,
            collapse=_flag(request.collapse, "collapse"),
            lang=_language_codes(request.lang, "lang"),
        )
        return cleaned, selection


class _Search:
    """One request's work, step by step (kept apart from the engine's long-lived state)."""

    def __init__(
        self,
        engine: SearchEngine,
        reading: Reading,
        request: SearchRequest,
        selection: Selection,
        parsed: ParsedQuery,
        languages: tuple[str, ...],
    ) -> None:
        self.engine = engine
        self.reading = reading
        self.request = request
        self.selection = selection
        self.parsed = parsed
        self.languages = languages
        self.matcher = QueryMatcher(reading)
        self.sets: FacetSets = facet_sets(selection, reading)
        self.groups = engine.version_groups(reading)
        self.collapse = request.collapse and self.groups.has_copies

    def run(self) -> dict:
        parsed, reading = self.parsed, self.reading
        positive, _, _ = split_clauses(parsed.clauses)
        message = None
        if parsed.clauses:
            listed, complete = self.matcher.listed(parsed.clauses)
        elif parsed.is_blank:
            listed = complete = reading.columns.live
        else:
            listed = complete = reading.no_docs()
            message = NOTHING_TO_SEARCH
        base, final = self.narrow(listed)
        with_all = final if complete is listed else final & complete
        total, all_words_total = self.count(final), self.count(with_all)
        if all_words_total < total:
            message = partial_match_message(all_words_total, total, stories=self.collapse)
        facets, histogram = self.summary(base, final)
        ranked = self.page_of(final, with_all, positive, copies=len(final) - total)
        highlighter = self.engine.highlighter_for(self.matcher.highlight_terms(positive))
        groups = self.groups
        reading.will_read_stored(doc for doc, _ in ranked)
        return {
            "query": self.request.query,
            "sort": self.request.sort,
            "total": total,
            "all_words_total": all_words_total,
            "page": self.request.page,
            "per_page": self.request.per_page,
            "took_ms": 0.0,
            "hits": [make_hit(reading, doc, score, highlighter, groups) for doc, score in ranked],
            "facets": facets,
            "dates": histogram,
            "suggestion": self.suggestion(found_nothing=not with_all),
            "fallback": bool(final) and not with_all,
            "message": message,
            "collapse": self.request.collapse,
            "copies_total": len(final),
            "total_counts": "stories" if self.request.collapse else "copies",
        }

    def summary(self, base: DocSet, final: DocSet) -> tuple[dict[str, Facet], DateHistogram]:
        """The facets of ``base`` and the timeline of ``final``: what the query and the
        selection match, the same on every page, so counted once per commit (the next
        page asks again)."""
        top_n = self.engine.settings.facet_top_n
        parsed, reading, selection = self.parsed, self.reading, self.selection
        key = ("summary", parsed.clauses, parsed.is_blank, selection, top_n)
        return reading.derived(
            key,
            lambda: (
                count_facets(base, self.sets, selection, reading, top_n),
                date_histogram(final, reading, selection),
            ),
        )

    def count(self, docs: DocSet) -> int:
        """Stories in ``docs`` when collapsing, else articles."""
        return self.groups.stories(docs) if self.collapse else len(docs)

    def narrow(self, matched: DocSet) -> tuple[DocSet, DocSet]:
        """(matches within the date range, those also within every facet selection)."""
        base = restrict(matched, [self.sets.dates] if self.sets.dates is not None else [])
        return base, restrict(base, self.sets.allowed_except(None))

    def page_of(
        self, final: DocSet, with_all: DocSet, positive: list[Node], copies: int
    ) -> list[tuple[int, float]]:
        """This page's (docnum, score): the articles with all the words first, in either order.

        When collapsing, the first ``end`` stories lie within the first ``end + copies``
        articles of the list (each of the ``copies`` later copies of a story pushes at
        most one story back), so one ranking of that many is cut to one copy per story.
        """
        request = self.request
        start = (request.page - 1) * request.per_page
        end = start + request.per_page
        if start >= len(final) - copies:
            return []
        if self.collapse:
            return self.groups.first_of_each(self.listed(final, with_all, positive, end + copies))[
                start:end
            ]
        return self.listed(final, with_all, positive, end)[start:end]

    def listed(
        self, final: DocSet, with_all: DocSet, positive: list[Node], end: int
    ) -> list[tuple[int, float]]:
        """The list's first ``end`` (docnum, score), in the requested order."""
        leaves = [leaf for clause in positive for leaf in positive_leaves(clause)]
        scored = any(self.matcher.leaf_scores(leaf) is not None for leaf in leaves)
        if self.request.sort == "relevance" and scored:
            near = proximity_terms(positive)
            return self.matcher.rank(final, leaves, near, end, first=with_all)
        newest = self.request.sort != "oldest"
        tiers = split_tiers(final, with_all)
        return [(doc, 0.0) for doc in date_ordered_tiers(tiers, self.reading, newest, 0, end)]

    def suggestion(self, *, found_nothing: bool) -> str | None:
        if not self.parsed.clauses:
            return None

        def finds_results(clauses: tuple[Node, ...]) -> bool:
            return bool(self.narrow(self.matcher.all_of(clauses))[1])

        return suggest_query(
            self.parsed,
            self.reading,
            found_nothing=found_nothing,
            stems=self.engine.analyses.stems(self.languages),
            reparse=functools.partial(self.engine.parse, languages=self.languages),
            finds_results=finds_results,
        )


def proximity_terms(positive: list[Node]) -> list[tuple[Term, ...]]:
    """Plain words of the query in order, for the phrase and proximity bonus: each as its
    alternatives (one term, or one per stem when the query is read in several languages)."""
    seen: set[tuple[str, ...]] = set()
    words = []
    for clause in positive:
        alternatives = _word_alternatives(clause)
        texts = tuple(term.text for term in alternatives)
        if alternatives and texts not in seen:
            seen.add(texts)
            words.append(alternatives)
    return words


def _word_alternatives(clause: Node) -> tuple[Term, ...]:
    """The terms of one plain word (a term, or the OR of one word's stems), else ()."""
    terms = clause.children if isinstance(clause, Or) else (clause,)
    first = terms[0]
    if not isinstance(first, Term) or first.fields != TEXT_FIELDS:
        return ()
    same_word = all(
        isinstance(term, Term)
        and term.fields == TEXT_FIELDS
        and (term.word, term.span) == (first.word, first.span)
        and (term.languages or len(terms) == 1)
        for term in terms
    )
    return tuple(terms) if same_word else ()


def date_ordered(docs: DocSet, reading: Reading, newest: bool, start: int, end: int) -> list[int]:
    columns = reading.columns
    if len(docs) >= len(columns.live) * _SCAN_SHARE:
        order = columns.date_order(newest_first=newest)
        # Places in date order listed, then only the page's gathered: a boolean index of
        # scattered members costs several times as much (see ``docsets.gathered``).
        return order[np.flatnonzero(docs.mask[order])[start:end]].tolist()
    key = columns.date_sort_key(newest_first=newest)
    ids = docs.ids
    return ids[np.argsort(key[ids])][start:end].tolist()


def date_ordered_tiers(
    tiers: list[DocSet], reading: Reading, newest: bool, start: int, end: int
) -> list[int]:
    """Places ``start`` to ``end`` of the tiers one after the other, each by date."""
    found: list[int] = []
    offset = 0
    for tier in tiers:
        size = len(tier)
        if start < offset + size and end > offset:
            first, last = max(0, start - offset), min(size, end - offset)
            found += date_ordered(tier, reading, newest, first, last)
        offset += size
    return found


def partial_match_message(with_all: int, total: int, *, stories: bool = False) -> str:
    """What the list holds, in words, when some articles lack some of the query's words.

    ``stories``: the counts are of stories (copies of one story counted once).
    """
    one, many = ("story", "stories") if stories else ("article", "articles")

    def counted(count: int) -> str:
        return f"{count:,} {one if count == 1 else many}"

    more = total - with_all
    if not with_all:
        return f"No {one} has all of these words; {counted(more)} {_have(more)} some of them."
    return (
        f"{counted(with_all)} {_have(with_all)} all of these words; "
        f"{more:,} more {_have(more)} some."
    )


def _have(count: int) -> str:
    return "has" if count == 1 else "have"


def make_hit(
    reading: Reading,
    docnum: int,
    score: float,
    highlighter: Highlighter,
    groups: VersionGroups,
) -> Hit:
    stored = reading.stored(docnum)
    record = stored.get("article") or {}
    language = record.get("language")
    highlighter = highlighter.in_language(language)
    return Hit(
        id=stored.get("id", ""),
        title=highlighter.title(stored.get("title") or ""),
        snippet=highlighter.snippet(stored.get("body") or ""),
        place=record.get("dateline_place"),
        places=list(record.get("places") or []),
        date=record.get("date"),
        source=record.get("source"),
        url=record.get("url"),
        score=round(float(score), 6),
        versions=groups.versions_of(docnum),
        language=language,
        dir=text_direction(language),
    )


def _whole_number(value: object, name: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not (1 <= value <= maximum):
        raise QueryError(
            f"{name} must be a whole number from 1 to {maximum:,}, got {value!r}", parameter=name
        )
    return value


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise QueryError(f"{name} must be true or false, got {value!r}", parameter=name)
    return value


def _date(value: object, name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise QueryError(f"{name} must be a date like 2024-02-26, got {value!r}", parameter=name)


def _values(values: object, name: str) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = (values,)
    if not isinstance(values, (tuple, list)) or not all(isinstance(v, str) for v in values):
        raise QueryError(f"{name} must be a list of keys, got {values!r}", parameter=name)
    return tuple(values)


def _language_codes(values: object, name: str) -> tuple[str, ...]:
    """Language codes, lowercase, from a list and/or comma-separated values; a tag's
    primary language is taken (``en-US`` is ``en``)."""
    codes = []
    for value in _values(values, name):
        for tag in value.split(","):
            code = tag.strip().lower().replace("_", "-").split("-")[0]
            if code and not (code.isascii() and code.isalpha() and len(code) <= 3):
                raise QueryError(
                    f"{name} takes ISO 639-1 language codes such as en, id, ar; got {code!r}",
                    parameter=name,
                )
            if code:
                codes.append(code)
    return tuple(dict.fromkeys(codes))


def check_related_limit(limit: int, max_per_page: int) -> None:
    """Refuse a related-stories ``limit`` that is not a whole number from 1 to a page."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= max_per_page:
        raise QueryError(
            f"limit must be a whole number from 1 to {max_per_page}", parameter="limit"
        )
