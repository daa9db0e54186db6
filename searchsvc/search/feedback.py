"""Pseudo-relevance feedback: the query's best matches lend it their distinctive words.

RM3 (Lavrenko & Croft's relevance model, interpolated with the query as in Abdul-Jaleel
et al., 2004): the first ``feedback_docs`` articles of the ranking are taken as relevant,
each weighted by its share of their scores; a word's weight is the sum over them of its
share of the article's words times that weight. The ``feedback_terms`` heaviest words
(normalized to sum 1) become extra BM25F terms, and the query's own terms keep
``1 - feedback_weight`` of the total. Only the order of the result set changes: the
expansion words score the articles that matched the query, they do not add articles.

Words are the index's own terms of those few articles' titles and bodies, in each
article's language (stemmed, stopwords out), stored in each article's record by the build
(``searchsvc.index.termlists``); an index built before they were stored (schema version 3)
has them read from the stored text with the same analysis. As in ``related``, numbers
and words in more than ``feedback_max_share`` of the collection (a tenth; or in one
article only) are left out: they describe the collection, not the topic.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from searchsvc.analysis import (
    NewsAnalysis,
    analysis_language,
    normalize_word,
    stemmer_for,
    stopwords_for,
)
from searchsvc.index.termlists import FEEDBACK_TERMS_FIELD, WORD_BREAK, may_expand
from searchsvc.search.docsets import DocSet, located
from searchsvc.search.languages import language_docs
from searchsvc.search.postings import (
    TermFrequencies,
    TermPostings,
    read_frequencies_together,
    tfs_together,
)
from searchsvc.search.query import TEXT_FIELDS
from searchsvc.search.snapshot import Reading

#: Entries of one :func:`term_memo` before it is emptied (about 12 MB at most).
TERM_MEMO_LIMIT = 100_000
#: :func:`postings_within` searches a word's docnums for the scored articles when these
#: are fewer than one in this many of its postings.
_SEARCH_SHARE = 16
_TERM_MEMOS: dict[tuple[bool, str], dict[str, str]] = {}
#: A word's postings in one field as feedback reads them: both give ``ids`` and ``tfs_at``.
Frequencies = TermPostings | TermFrequencies


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
    Its article count needs all its documents, once per commit; after that, only the
    blocks that may hold one of ``every`` are read.
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
    found = expansion_occurrences(reading, [word for word, _ in words], languages, scored)
    for (_, weight), (doc_frequency, occurrences) in zip(words, found, strict=True):
        reading.bm25.add_term_scores(totals, occurrences, share * weight, doc_frequency, doc_count)
    return totals[every]


def expansion_occurrences(
    reading: Reading, words: Sequence[str], languages: tuple[str, ...], scored: DocSet
) -> list[tuple[int, list[tuple[str, np.ndarray, np.ndarray]]]]:
    """Each of ``words``' article count (:func:`expansion_doc_frequency`) and, in each text
    field, the articles of ``scored`` it is in with its frequency in each.

    A word's count needs all its documents, once per commit; after that, only the blocks
    that may hold one of ``scored`` are read. The words' postings in a field are read
    together and their frequencies too (:func:`read_frequencies_together`): each word
    read alone cost mostly the same fixed steps, twenty times for a new query.
    """
    keys = [_doc_frequency_key(word, languages) for word in words]
    counts = [reading.known(key) for key in keys]
    nears = [None if count is None else scored.ids for count in counts]
    by_field = [expansion_postings_together(reading, name, words, nears) for name in TEXT_FIELDS]
    for number, (key, count) in enumerate(zip(keys, counts, strict=True)):
        if count is None:
            title, body = (postings[number].ids for postings in by_field)
            counts[number] = reading.derived(
                key, lambda t=title, b=body: _doc_frequency_of(reading, t, b, languages)
            )
    within = [_within(postings, scored) for postings in by_field]
    return [
        (count, [(name, *field[number]) for name, field in zip(TEXT_FIELDS, within, strict=True)])
        for number, count in enumerate(counts)
    ]


def _within(found: Sequence[Frequencies], scored: DocSet) -> list[tuple[np.ndarray, np.ndarray]]:
    """The docnums of ``scored`` among each of ``found``'s, with the frequencies there;
    the frequencies left in the blocks read by one call (:func:`tfs_together`)."""
    insides = [postings_within(postings.ids, scored) for postings in found]
    frequencies = [
        (postings, inside)
        for postings, inside in zip(found, insides, strict=True)
        if isinstance(postings, TermFrequencies)
    ]
    read = iter(tfs_together(*zip(*frequencies, strict=True))) if frequencies else iter(())
    return [
        (
            postings.ids.take(inside),
            next(read) if isinstance(postings, TermFrequencies) else postings.tfs_at(inside),
        )
        for postings, inside in zip(found, insides, strict=True)
    ]


def postings_within(ids: np.ndarray, scored: DocSet) -> np.ndarray:
    """The indexes of those of ``ids`` (a word's sorted docnums) that are members of
    ``scored``, in order. Where ``scored`` has far fewer members than the word has
    postings, each member is looked up among them (a search per member is cheaper than a
    lookup per posting there: a query of a few thousand matches meets words in a hundred
    thousand articles); else each posting in its mask. Indexes, not a mask: picking the
    postings' docnums and frequencies by a mask cost several times as much."""
    if len(scored) * _SEARCH_SHARE >= len(ids):
        return np.flatnonzero(scored.mask.take(ids))  # take: a third faster than [ids]
    at, found = located(ids, scored.ids)
    return at[found]


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
    # On a cold page cache, the disk fetches the articles side by side, not one by one.
    reading.will_read_stored(doc for doc, _ in top)
    words, weights = relevance_model(
        [article_terms(reading, doc) for doc, _ in top], [score / total for _, score in top]
    )
    chosen = []
    for word, weight in heaviest_first(words, weights):
        if is_distinctive(reading, word):
            chosen.append((word, weight))
            if len(chosen) == count:
                break
    mass = sum(weight for _, weight in chosen)
    return [(word, weight / mass) for word, weight in chosen]


def relevance_model(
    articles: Sequence[tuple[str, np.ndarray]], shares: Sequence[float]
) -> tuple[list[str], np.ndarray]:
    """Each word of ``articles`` (:func:`article_terms` values) and its weight: the sum over
    the articles of their ``shares`` times the word's share of the article's words.

    Added article after article, in their order, as a sum word by word would add them (the
    same float, bit for bit); the words are numbered by C-level dictionary passes and the
    products summed by one ``bincount``, where a Python step per word and article cost more
    than reading the articles."""
    word_lists = list(map(term_list, articles))
    numbers = dict(zip(dict.fromkeys(itertools.chain.from_iterable(word_lists)), itertools.count()))
    parts = [
        share * counts / max(1, int(counts.sum()))
        for (_, counts), share in zip(articles, shares, strict=True)
    ]
    every = itertools.chain.from_iterable(word_lists)
    which = np.fromiter(map(numbers.__getitem__, every), np.int64, sum(map(len, word_lists)))
    values = np.concatenate(parts)
    return list(numbers), np.bincount(which, weights=values, minlength=len(numbers))


def heaviest_first(words: list[str], weights: np.ndarray) -> Iterator[tuple[str, float]]:
    """(word, weight) pairs by weight descending, equal weights by word: the order expansion
    words are chosen in. Sorted as far as it is read, one weight at a time: most of an
    article's words are never reached."""
    if not len(weights):
        return
    order = np.argsort(-weights, kind="stable")
    ordered = weights[order]
    start = 0
    for end in [*(np.flatnonzero(ordered[1:] != ordered[:-1]) + 1).tolist(), len(order)]:
        weight = float(ordered[start])
        for word in sorted(words[i] for i in order[start:end].tolist()):
            yield word, weight
        start = end


def article_terms(reading: Reading, doc: int) -> tuple[str, np.ndarray]:
    """The stemmed index terms of one article's title and body that may expand a query
    (numbers and short words left out), with their counts.

    Held compactly, cached per commit: the terms as one string (joined by
    :data:`WORD_BREAK`, which no term holds) and their counts as one array, in the
    order the title and then the body first has them.
    """
    key = ("feedback-terms", doc)
    return reading.derived(key, lambda: _article_terms(reading, doc))


def _article_terms(reading: Reading, doc: int) -> tuple[str, np.ndarray]:
    stored = reading.stored(doc)
    kept = stored.get(FEEDBACK_TERMS_FIELD)
    if kept is not None:
        return stored_terms(kept)
    words = text_terms(
        reading.searcher.schema["body"].analyzer,
        [stored.get(name) or "" for name in TEXT_FIELDS],
        (stored.get("article") or {}).get("language"),
    )
    return WORD_BREAK.join(words), np.fromiter(words.values(), np.int32, len(words))


def stored_terms(kept: tuple[str, list[int]]) -> tuple[str, np.ndarray]:
    """An article's terms as its record stores them (``searchsvc.index.termlists``) in the
    shape of :func:`article_terms`."""
    words, counts = kept
    return words, np.array(counts, dtype=np.int32)


def text_terms(
    analyzer: NewsAnalysis, texts: Sequence[str], language: str | None
) -> dict[str, int]:
    """The terms of ``texts`` that may expand a query, with their counts: as
    :meth:`~searchsvc.index.schema.NewsText.term_counts` counts each text in ``language``,
    added up (without positions: only the counts weigh a word), and in the order the
    texts first have them.

    The texts are read as one (joined by :data:`WORD_BREAK`, which no token spans), their
    tokens counted in C and each distinct token looked up once in :func:`term_memo`, so
    the Python work is one step per distinct token: a separate pass normalizing tokens and
    then one stemming words cost twice that, and most of an article's tokens are known
    from the articles before it."""
    key = analysis_language(language or None)
    memo = term_memo(analyzer, key)
    known = memo.get
    words: dict[str, int] = {}
    counted = Counter(analyzer.tokenizer.tokens(WORD_BREAK.join(texts)))
    for token, count in counted.items():
        term = known(token)
        if term is None:
            term = _remember_term(memo, analyzer, key, token)
        if term:
            words[term] = words.get(term, 0) + count
    return words


def term_memo(analyzer: NewsAnalysis, language: str) -> dict[str, str]:
    """Token as written -> the term it may expand a query as ("" for none), in
    ``language`` (an analysis key) for ``analyzer``'s stemming: one per process, emptied
    when it reaches :data:`TERM_MEMO_LIMIT` (news vocabulary repeats, and an entry costs
    about 120 bytes)."""
    key = (analyzer.stemmer is not None, language)
    memo = _TERM_MEMOS.get(key)
    if memo is None or len(memo) >= TERM_MEMO_LIMIT:
        memo = _TERM_MEMOS[key] = {}
    return memo


def _remember_term(memo: dict[str, str], analyzer: NewsAnalysis, language: str, token: str) -> str:
    """The term of a token new to ``memo`` (normalized, not a stopword of ``language``, then
    stemmed by :func:`article_stemmer`; "" when a stopword, or a term that may not expand
    a query: :func:`~searchsvc.index.termlists.may_expand`), remembered. The stem comes
    from the process-wide stemmer of the language, so the stems found here are known to
    the highlighting of the same articles, which comes next."""
    word = normalize_word(token)
    term = ""
    if word and word not in stopwords_for(language):
        term = article_stemmer(analyzer, language)(word)
        if not may_expand(term):
            term = ""
    memo[token] = term
    return term


def article_stemmer(analyzer: NewsAnalysis, language: str) -> Callable[[str], str]:
    """The stem function of ``language`` (an analysis key) where ``analyzer`` stems: the
    process-wide one that queries and highlights use. The field's own English stemmer
    gives the same stems but keeps a memo of its own (for indexing), and a word new to the
    process then went through the stemmer twice in one search."""
    if analyzer.stemmer is None:
        return _unstemmed
    return stemmer_for(language)


def _unstemmed(word: str) -> str:
    return word


def term_list(terms: tuple[str, np.ndarray]) -> list[str]:
    """The terms of an :func:`article_terms` value, in the order of its counts."""
    words, counts = terms
    return words.split(WORD_BREAK) if len(counts) else []


def is_distinctive(reading: Reading, word: str) -> bool:
    """In more than one article and in at most ``feedback_max_share`` of them.

    The index's statistics answer without decoding postings (an article with the word
    in title and body counts twice in the sum, which only matters for the floor of 2).
    """
    ceiling = max(2, int(len(reading.columns.live) * reading.ranking.feedback_max_share))
    frequencies = reading.derived(("doc-frequencies", word), lambda: doc_frequencies(reading, word))
    return sum(frequencies) >= 2 and max(frequencies) <= ceiling


def doc_frequencies(reading: Reading, word: str) -> tuple[int, ...]:
    """The word's article count in each text field: a term lookup in every segment, so
    cached per commit (the same common words are weighed for query after query)."""
    return tuple(reading.reader.doc_frequency(name, word) for name in TEXT_FIELDS)


def expansion_postings(
    reading: Reading, field: str, word: str, near: np.ndarray | None = None
) -> Frequencies:
    """The live articles with ``word`` in ``field``, their frequencies read for those
    asked for: the word's postings with positions where a query of this commit read them
    already (the query's own words are often among its expansion words), else its
    documents read from the index, its frequencies left in the blocks
    (:class:`~searchsvc.search.postings.TermFrequencies`; only the blocks that may hold
    one of ``near``, sorted docnums, when given). Not cached: expansion words are many
    and common, a query's matches few of their postings, and keeping each word's postings
    (about 5 bytes each) crowded out what queries repeat."""
    return expansion_postings_together(reading, field, [word], [near])[0]


def expansion_postings_together(
    reading: Reading, field: str, words: Sequence[str], nears: Sequence[np.ndarray | None]
) -> list[Frequencies]:
    """:func:`expansion_postings` of each of ``words`` near the docnums of the ``nears``
    beside it, those not read by a query yet read together
    (:func:`~searchsvc.search.postings.read_frequencies_together`)."""
    found: list[Frequencies | None] = [reading.cached_postings(field, word) for word in words]
    unread = [number for number, postings in enumerate(found) if postings is None]
    if unread:
        read = read_frequencies_together(
            reading.searcher, field, [words[n] for n in unread], [nears[n] for n in unread]
        )
        for number, postings in zip(unread, read, strict=True):
            found[number] = postings
    return found  # type: ignore[return-value]  # every None was replaced


def expansion_doc_frequency(reading: Reading, word: str, languages: tuple[str, ...]) -> int:
    """The live articles of ``languages`` (all when empty) with ``word`` in title or body:
    the count its IDF is taken from, as for a query's word. Cached per commit; counting
    reads the word's title and body :func:`expansion_postings`."""

    def count() -> int:
        title, body = (expansion_postings(reading, name, word).ids for name in TEXT_FIELDS)
        return _doc_frequency_of(reading, title, body, languages)

    return reading.derived(_doc_frequency_key(word, languages), count)


def _doc_frequency_key(word: str, languages: tuple[str, ...]) -> tuple:
    return ("expansion-doc-frequency", word, languages)


def _doc_frequency_of(
    reading: Reading, title: np.ndarray, body: np.ndarray, languages: tuple[str, ...]
) -> int:
    """Articles with a word in the title (``title``: their docnums) plus those with it in
    the body, less those with it in both: the articles in both are found by looking the
    shorter list up in the longer one (titles are short), with no merge of the two lists."""
    both = shared_ids(title, body)
    if not languages:
        return len(title) + len(body) - len(both)
    within = language_docs(reading, languages)  # one per commit and languages
    return members(title, within) + members(body, within) - members(both, within)


def members(ids: np.ndarray, docs: DocSet) -> int:
    """How many of ``ids`` (sorted docnums of live articles) are in ``docs`` (live
    articles). Where the commit holds far fewer documents outside ``docs`` than there are
    ``ids`` (an archive's few articles in other languages), those are looked up among the
    ids, else each id in the set's mask."""
    if not len(ids):
        return 0
    if (docs.size - len(docs)) * _SEARCH_SHARE < len(ids):
        return len(ids) - int(np.count_nonzero(located(ids, docs.outside)[1]))
    return int(np.count_nonzero(docs.mask.take(ids)))


def shared_ids(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The docnums in both ``first`` and ``second`` (each sorted and distinct), sorted."""
    if len(first) > len(second):
        first, second = second, first
    if not len(first):
        return first
    return first[located(second, first)[1]]
