"""From a parsed query to the exact set of matching articles and their relevance order.

Matching is set arithmetic over cached postings (intersections for AND, unions for OR,
differences for exclusions) on document masks (see ``docsets``), so the whole result
set is known for the total and the facets. Ranking then scores only those
documents, with BM25F parts cached per term per commit (see ``ranking``).

A query's plain words rank rather than filter: the list holds every article with the
query's required parts (quoted phrases, fields, dates, exclusions) and at least one of
its words, and the articles with all of them come first. A few articles
with every word never hide the many that have most of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from searchsvc.analysis import analysis_language
from searchsvc.search.docsets import DocSet
from searchsvc.search.feedback import expansion_scores
from searchsvc.search.languages import index_languages, language_docs, query_languages
from searchsvc.search.query import (
    TEXT_FIELDS,
    WORD_FIELDS,
    And,
    DateSpan,
    Fuzzy,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Term,
)
from searchsvc.search.ranking import (
    FIELD_ROLE,
    TermScores,
    near_count,
    phrase_count,
    phrase_counts,
    sum_scores,
    top_scored,
)
from searchsvc.search.snapshot import PhraseMatches, Reading

#: Wildcards and fuzzy words keep their most common expansions, no more.
MAX_EXPANSIONS = 64
#: Proximity is checked for this many leading query words at most.
MAX_PROXIMITY_WORDS = 8
#: The top of a long list of scores (at least this many blocks per place wanted) is
#: looked for among the best of blocks of this many scores.
CONTENDER_BLOCK = 64
CONTENDER_MIN_BLOCKS = 8


@dataclass
class HighlightTerms:
    """What to mark in the title and in the body (the keys of each dict)."""

    stems: dict[str, set[str]] = field(default_factory=lambda: {"title": set(), "body": set()})
    words: dict[str, set[str]] = field(default_factory=lambda: {"title": set(), "body": set()})
    prefixes: dict[str, set[str]] = field(default_factory=lambda: {"title": set(), "body": set()})
    phrases: dict[str, set[tuple[str, ...]]] = field(
        default_factory=lambda: {"title": set(), "body": set()}
    )

    def is_empty(self) -> bool:
        return not any(
            any(group.values()) for group in (self.stems, self.words, self.prefixes, self.phrases)
        )


def split_clauses(clauses: tuple[Node, ...]) -> tuple[list[Node], list[Node], list[Node]]:
    """(positive, excluded, date) clauses of a query's top level."""
    positive, excluded, dates = [], [], []
    for clause in clauses:
        if isinstance(clause, Not):
            excluded.append(clause.child)
        elif isinstance(clause, DateSpan):
            dates.append(clause)
        else:
            positive.append(clause)
    return positive, excluded, dates


def positive_leaves(node: Node) -> Iterator[Term | Phrase | Prefix | Fuzzy]:
    """Leaves that count towards a match (not under an exclusion)."""
    if isinstance(node, (And, Or)):
        for child in node.children:
            yield from positive_leaves(child)
    elif isinstance(node, (Term, Phrase, Prefix, Fuzzy)):
        yield node


def is_optional(node: Node) -> bool:
    """A plain word, wildcard or fuzzy word (or an OR of them): it ranks, it does not filter.

    Everything written with syntax keeps its strictness: quoted phrases, ``title:``/
    ``place:``/``source:`` fields, dates and exclusions. A hyphenated word is a phrase
    the user did not ask for, so it ranks like any other word.
    """
    if isinstance(node, (Term, Prefix, Fuzzy)):
        return node.fields in (TEXT_FIELDS, WORD_FIELDS)
    if isinstance(node, Phrase):
        return not node.quoted and node.fields == WORD_FIELDS
    if isinstance(node, Or):
        return all(is_optional(child) for child in node.children)
    return False


class QueryMatcher:
    """Evaluates query trees against one reading of the index."""

    def __init__(self, reading: Reading) -> None:
        self.reading = reading
        self.columns = reading.columns
        #: Each word's articles, by (fields, stem, languages): matching, the list of
        #: articles with any word and the ranking each ask for them, and a long question
        #: can hold a word twice ("what ... and what"); a word in two fields is a union
        #: of two masks at every asking otherwise.
        self._word_docs: dict[tuple[tuple[str, ...], str, tuple[str, ...]], DocSet] = {}

    # --- which documents ---------------------------------------------------------------

    def all_of(self, clauses: tuple[Node, ...] | list[Node]) -> DocSet:
        return self.docs(And(tuple(clauses))) if len(clauses) != 1 else self.docs(clauses[0])

    def listed(self, clauses: tuple[Node, ...]) -> tuple[DocSet, DocSet]:
        """(the result list, its part with all the words) for a query's top-level clauses.

        The list holds the articles with every required clause and at least one optional
        one; with fewer than two optional clauses the two sets are the same.
        """
        complete = self.all_of(clauses)
        optional = [node for node in clauses if is_optional(node)]
        if len(optional) < 2:
            return complete, complete
        required = [node for node in clauses if not is_optional(node)]
        some = self.reading.union(self.docs(node) for node in optional)
        return self._all(And(tuple(required)), within=some), complete

    def any_of(self, clauses: tuple[Node, ...]) -> DocSet:
        """Documents with any positive clause, still honouring exclusions and dates."""
        positive, excluded, dates = split_clauses(clauses)
        found = self.reading.union(self.docs(node) for node in positive)
        for node in dates:
            found = found & self.docs(node)
        for node in excluded:
            found = found - self.docs(node)
        return found

    def docs(self, node: Node) -> DocSet:
        if isinstance(node, Term):
            key = (node.fields, node.text, node.languages)
            found = self._word_docs.get(key)
            if found is None:
                found = self._word_docs[key] = self._term_docs(node)
            return found
        if isinstance(node, Phrase):
            return self._in_languages(self.phrase(node.fields, node.words).docs, node.languages)
        if isinstance(node, (Prefix, Fuzzy)):
            return self.expansion_docs(node)
        if isinstance(node, DateSpan):
            return self.columns.docs_dated(node.start, node.end)
        if isinstance(node, Not):
            return self.columns.live - self.docs(node.child)
        if isinstance(node, Or):
            return self.reading.union(self.docs(child) for child in node.children)
        return self._all(node)

    def _term_docs(self, node: Term) -> DocSet:
        if len(node.fields) == 1:
            found = self.reading.docs(node.fields[0], node.text)
        else:
            found = self.reading.union(self.reading.docs(f, node.text) for f in node.fields)
        return self._in_languages(found, node.languages)

    def _in_languages(self, docs: DocSet, languages: tuple[str, ...]) -> DocSet:
        """``docs`` limited to the articles in ``languages`` (all when empty)."""
        return docs & language_docs(self.reading, languages) if languages else docs

    def _all(self, node: And, within: DocSet | None = None) -> DocSet:
        required = [c for c in node.children if not isinstance(c, Not)]
        excluded = [c.child for c in node.children if isinstance(c, Not)]
        found = self.columns.live if within is None else within
        for child in required:
            found = found & self.docs(child)
            if not found:
                return found
        for child in excluded:
            if not found:
                break
            found = found - self.docs(child)
        return found

    def phrase(self, fields: tuple[str, ...], words: tuple[str, ...]) -> PhraseMatches:
        return self.reading.derived(("phrase", fields, words), lambda: self._phrase(fields, words))

    def _phrase(self, fields: tuple[str, ...], words: tuple[str, ...]) -> PhraseMatches:
        counts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        size = self.columns.size
        for name in fields:
            postings = [self.reading.postings(name, word) for word in words]
            if any(len(p) == 0 for p in postings):
                continue
            candidates = self.columns.live
            for word in words:
                candidates = candidates & self.reading.docs(name, word)
            docs = candidates.ids
            each = phrase_counts([p.position_lists(docs) for p in postings])
            found = each > 0
            counts[name] = (docs[found].astype(np.int64), each[found].astype(float))
        docs = self.reading.union(DocSet.from_ids(ids, size) for ids, _ in counts.values())
        return PhraseMatches(docs, counts)

    def expansions(self, node: Prefix | Fuzzy) -> tuple[str, ...]:
        """The indexed words a wildcard or fuzzy word stands for, most common first."""
        return self.reading.derived(("expand", node), lambda: self._expand(node))

    def _expand(self, node: Prefix | Fuzzy) -> tuple[str, ...]:
        reader = self.reading.reader
        frequency: dict[str, int] = {}
        if isinstance(node, Prefix):
            for name in node.fields:
                for raw, info in reader.iter_prefix(name, node.prefix):
                    word = raw.decode("utf-8") if isinstance(raw, bytes) else raw
                    frequency[word] = frequency.get(word, 0) + info.doc_frequency()
        else:
            lexicon = self.reading.snapshot.lexicon
            frequency.update(lexicon.near(reader, node.fields, node.word, node.maxdist))
        ranked = sorted(frequency, key=lambda word: (-frequency[word], word))
        return tuple(ranked[:MAX_EXPANSIONS])

    def expansion_docs(self, node: Prefix | Fuzzy) -> DocSet:
        words = self.expansions(node)
        return self.reading.derived(
            ("expanded-docs", node.fields, words),
            lambda: self.reading.union(
                self.reading.docs(name, word) for name in node.fields for word in words
            ),
        )

    # --- how relevant ------------------------------------------------------------------

    def leaf_scores(self, leaf: Term | Phrase | Prefix | Fuzzy) -> TermScores | None:
        """BM25F parts of one leaf, or None for leaves that only filter (place, source)."""
        if not any(name in FIELD_ROLE for name in leaf.fields):
            return None
        languages: tuple[str, ...] = ()
        if isinstance(leaf, Term):
            words: tuple[str, ...] = (leaf.text,)
            languages = leaf.languages
        elif isinstance(leaf, Phrase):
            return self.reading.scores(
                ("phrase", leaf.fields, leaf.words, leaf.languages),
                lambda: self._phrase_scores(leaf),
            )
        else:
            words = self.expansions(leaf)
        return self.reading.scores(
            ("terms", leaf.fields, words, languages),
            lambda: self._term_scores(leaf.fields, words, len(self.docs(leaf)), languages),
        )

    def _phrase_scores(self, leaf: Phrase) -> TermScores:
        matches = self.phrase(leaf.fields, leaf.words)
        occurrences = [(name, ids, counts) for name, (ids, counts) in matches.counts.items()]
        return self._scores_within(occurrences, len(self.docs(leaf)), leaf.languages)

    def _term_scores(
        self,
        fields: tuple[str, ...],
        words: tuple[str, ...],
        doc_frequency: int,
        languages: tuple[str, ...] = (),
    ) -> TermScores:
        """One pseudo-term for all ``words`` (a wildcard's expansions count as one word);
        ``doc_frequency`` counts the articles with any of them in any of ``fields``."""
        occurrences = []
        for name in fields:
            for word in words:
                postings = self.reading.postings(name, word)
                occurrences.append((name, postings.ids, postings.tfs))
        return self._scores_within(occurrences, doc_frequency, languages)

    def _scores_within(
        self,
        occurrences: list[tuple[str, np.ndarray, np.ndarray]],
        doc_frequency: int,
        languages: tuple[str, ...],
    ) -> TermScores:
        """BM25F of ``occurrences`` in the articles of ``languages`` (all when empty): a
        word's rarity is judged among the articles of the languages it was read in."""
        bm25 = self.reading.bm25
        if not languages:
            return bm25.term_scores(occurrences, doc_frequency)
        within = language_docs(self.reading, languages)
        kept = []
        for name, ids, counts in occurrences:
            inside = np.flatnonzero(within.mask[ids])  # a gather: see ``docsets.gathered``
            kept.append((name, ids[inside], counts[inside]))
        return bm25.term_scores(kept, doc_frequency, len(within))

    def rank(
        self,
        docs: DocSet,
        leaves: list[Term | Phrase | Prefix | Fuzzy],
        near_terms: list[tuple[Term, ...]],
        count: int,
        first: DocSet | None = None,
    ) -> list[tuple[int, float]]:
        """The ``count`` most relevant of ``docs`` as (docnum, score), best first.

        The members of ``first`` (the articles with all the query's words) come before
        the rest, each part in its own order of relevance. With feedback on, the first
        ``feedback_docs`` of that order lend the query their words (see ``feedback``)
        before the final order is taken.

        Only the parts the order reaches are scored: where the articles with all the
        words fill the page and feedback's first articles, the rest are never read (a
        pair of common words at a million articles matches about a hundred times as many
        articles as have both). The rerank's ``depth`` does not reach further: its bonus
        only reorders a part's head, so a part the page does not show needs none.
        """
        parts = [scores for leaf in leaves if (scores := self.leaf_scores(leaf)) is not None]
        config = self.reading.ranking
        near_terms = near_terms[:MAX_PROXIMITY_WORDS]
        boosting = len(near_terms) > 1 and (config.phrase_boost or config.proximity_boost)
        depth = config.rerank_depth if boosting else 0
        feedback_docs = config.feedback_docs if parts else 0
        tiers = reached_tiers(split_tiers(docs, first), max(count, feedback_docs))
        every = tiers[0].ids if len(tiers) == 1 else docs.ids
        scores = sum_scores(every, parts, self.columns.size)
        if feedback_docs:
            top = self._tiered_top(every, scores, tiers, feedback_docs)
            scores = scores + self._feedback(every, top, len(parts))
        return self._tiered_top(every, scores, tiers, count, depth, near_terms)

    def _tiered_top(
        self,
        every: np.ndarray,
        scores: np.ndarray,
        tiers: list[DocSet],
        count: int,
        depth: int = 0,
        near_terms: list[tuple[Term, ...]] | None = None,
    ) -> list[tuple[int, float]]:
        """The first ``count`` of ``every`` (docnums, with ``scores``), tier by tier.

        The first ``depth`` of them get the phrase and proximity bonus of ``near_terms``.
        """
        top: list[tuple[int, float]] = []
        for tier in tiers:
            wanted = max(count, depth) - len(top)
            if wanted <= 0:
                break
            if len(tier) == len(every):
                ordered, tier_scores = every, scores
            else:
                inside = np.flatnonzero(tier.mask[every])  # a gather: see ``columns.count_set``
                ordered, tier_scores = every[inside], scores[inside]
            contenders = top_contenders(tier_scores, wanted)
            if contenders is not None:
                ordered, tier_scores = ordered[contenders], tier_scores[contenders]
            head = top_scored(ordered, tier_scores, wanted, self.columns.id_rank)
            bonus_depth = max(0, depth - len(top))
            if bonus_depth and near_terms:
                # Only the first ``depth`` get the bonus, whatever page is asked for, so
                # every page and every depth of ranking agree; the bonus only raises
                # scores, so the reranked head still outranks the rest of its tier.
                head = self._rerank(head[:bonus_depth], near_terms) + head[bonus_depth:]
            top += head
        return top[:count]

    def _feedback(
        self, every: np.ndarray, top: list[tuple[int, float]], query_terms: int
    ) -> np.ndarray:
        """What RM3's expansion words from ``top`` add to each score of ``every``.

        With the query's terms at full weight, ``feedback_weight`` of the interpolated
        query becomes ``w / (1 - w)`` times the query's term count, spread over the words
        (see ``feedback``). Cached per commit for the query's matches (another page of the
        same query asks again), named by their digest (``every`` is sorted, as a set's
        docnums are).
        """
        digest = DocSet.from_ids(every, self.columns.size).digest()
        key = ("feedback-scores", tuple(top), query_terms, len(every), digest)
        return self.reading.derived(key, lambda: self._feedback_scores(every, top, query_terms))

    def _feedback_scores(
        self, every: np.ndarray, top: list[tuple[int, float]], query_terms: int
    ) -> np.ndarray:
        """The expansion words' scores, read in the languages of ``top``."""
        languages = self._languages_of([doc for doc, _ in top])
        return expansion_scores(self.reading, every, top, query_terms, languages)

    def _languages_of(self, docs: list[int]) -> tuple[str, ...]:
        """The analysis keys of ``docs``' languages, where the index holds others too (so
        their stems only score articles in those languages); else () for all."""
        if len(index_languages(self.reading)) < 2:
            return ()
        column = self.columns.language
        return query_languages(column.keys[code] for code in column.codes[docs].tolist())

    def _rerank(
        self, top: list[tuple[int, float]], words: list[tuple[Term, ...]]
    ) -> list[tuple[int, float]]:
        """``top`` with the phrase and proximity bonus of the query's ``words``.

        Each word is its alternatives (one term, or one per stem of a query read in several
        languages); each article is measured with the alternative of its own language.
        """
        config = self.reading.ranking
        bm25 = self.reading.bm25
        prepared = [
            [
                (
                    term,
                    self.leaf_scores(term).idf,
                    [self.reading.postings(r, term.text) for r in TEXT_FIELDS],
                )
                for term in alternatives
            ]
            for alternatives in words
        ]
        reranked = []
        for doc, score in top:
            chosen = [
                alternatives[0]
                if len(alternatives) == 1
                else self._alternative_for(doc, alternatives)
                for alternatives in prepared
            ]
            idfs = [idf for _, idf, _ in chosen]
            phrase = {"title": 0, "body": 0}
            pairs = [{"title": 0, "body": 0} for _ in chosen[1:]]
            for number, role in enumerate(TEXT_FIELDS):
                positions = [postings[number].positions(doc) for _, _, postings in chosen]
                phrase[role] = phrase_count(positions)
                for i, counts in enumerate(pairs):
                    counts[role] = near_count(
                        positions[i], positions[i + 1], config.proximity_window
                    )
            bonus = (
                config.phrase_boost
                * sum(idfs)
                * bm25.saturate(bm25.weighted_frequency(doc, phrase["title"], phrase["body"]))
            )
            for i, counts in enumerate(pairs):
                x = bm25.weighted_frequency(doc, counts["title"], counts["body"])
                bonus += config.proximity_boost * (idfs[i] + idfs[i + 1]) / 2 * bm25.saturate(x)
            reranked.append((doc, score + bonus))
        rank = self.columns.id_rank
        reranked.sort(key=lambda item: (-item[1], rank[item[0]]))
        return reranked

    def _alternative_for(self, doc: int, alternatives: list[tuple]) -> tuple:
        """The (term, idf, postings) of ``alternatives`` that applies to ``doc``'s language."""
        column = self.columns.language
        language = analysis_language(column.keys[column.codes[doc]] or None)
        for alternative in alternatives:
            languages = alternative[0].languages
            if not languages or language in languages:
                return alternative
        return alternatives[0]

    # --- what to mark ------------------------------------------------------------------

    def highlight_terms(self, clauses: list[Node]) -> HighlightTerms:
        terms = HighlightTerms()
        for clause in clauses:
            for leaf in positive_leaves(clause):
                for name in leaf.fields:
                    target = FIELD_ROLE.get(name)
                    if target is None:
                        continue
                    if isinstance(leaf, Term):
                        group = terms.stems if name in TEXT_FIELDS else terms.words
                        group[target].add(leaf.text)
                    elif isinstance(leaf, Phrase):
                        terms.phrases[target].add(leaf.words)
                    elif isinstance(leaf, Prefix):
                        terms.prefixes[target].add(leaf.prefix)
                    else:
                        terms.words[target].update(self.expansions(leaf))
        return terms


def top_contenders(scores: np.ndarray, count: int) -> np.ndarray | None:
    """Positions in ``scores`` of every score that can be among its ``count`` largest (ties
    included), in order; None for lists too short for the blocks' maxima to bound much.

    The ``count``-th largest of the maxima of blocks of :data:`CONTENDER_BLOCK` scores is
    a bound: ``count`` blocks hold a score at least that, so the ``count``-th largest
    score is too. Selecting the top of a broad query's scores (a million at a million
    articles) then partitions the block maxima and a few contenders, not every score.
    """
    blocks = len(scores) // CONTENDER_BLOCK
    if blocks < CONTENDER_MIN_BLOCKS * count:
        return None
    maxima = scores[: blocks * CONTENDER_BLOCK].reshape(blocks, CONTENDER_BLOCK).max(axis=1)
    bound = np.partition(maxima, blocks - count)[blocks - count]
    return np.flatnonzero(scores >= bound)


def reached_tiers(tiers: list[DocSet], count: int) -> list[DocSet]:
    """The first of ``tiers`` that together hold ``count`` articles (all if they do not):
    the parts an order of ``count`` articles, tier after tier, takes its articles from."""
    held = 0
    for reached, tier in enumerate(tiers, 1):
        held += len(tier)
        if held >= count:
            return tiers[:reached]
    return tiers


def split_tiers(docs: DocSet, first: DocSet | None) -> list[DocSet]:
    """``docs`` split into the members of ``first`` and the others (empty parts dropped):
    the parts a result list shows one after the other, whatever its order."""
    if first is None:
        return [docs]
    leading = docs & first
    if len(leading) == len(docs):
        return [docs]
    return [tier for tier in (leading, docs - first) if tier]
