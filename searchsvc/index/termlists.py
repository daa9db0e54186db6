"""Each article's feedback terms, worked out as it is indexed and stored in its record.

Pseudo-relevance feedback (``searchsvc.search.feedback``) weighs the words of a query's
first articles: their stemmed title and body terms that may expand a query (stopwords,
numbers and words shorter than :data:`MIN_WORD_LENGTH` left out), with their counts, in
the order the title and then the body first have them. Worked out from the stored text
at query time (tokens, normalized, stemmed, counted), that cost about 1.25 ms an article,
most of feedback's reading on a freshly opened index, whose process has stemmed nothing
yet. The build has split the title and body into their surface words already
(:class:`~searchsvc.index.schema.AnalyzedText`), so :func:`feedback_terms` takes the
terms from those words, one memo lookup a distinct word.

They are a field of the article's stored record (:data:`FEEDBACK_TERMS_FIELD`): compressed
with it against the segment's preset dictionary (440 bytes an article of the synthetic
corpus, 220 of Reuters; a column of records compressed one by one took 530 and 270), read
with it through the generation's checked reads, and carried with it by merges and updates.
The first page shows mostly the same first articles, whose records the search reads anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

from searchsvc.analysis import stemmer_for

#: The stored field with an article's feedback terms: the terms joined by
#: :data:`WORD_BREAK`, and their counts. Indexes of schema version 3 and before have none.
FEEDBACK_TERMS_FIELD = "feedback_terms"
#: Terms shorter than this never expand a query (nor do numbers).
MIN_WORD_LENGTH = 3
#: Between the terms of one article: a separator the tokenizer never keeps.
WORD_BREAK = "\n"
#: Words of one language in :func:`word_memo` before it is emptied (a few MB at most).
WORD_MEMO_LIMIT = 200_000
_WORD_MEMOS: dict[str, dict[str, str]] = {}


def may_expand(term: str) -> bool:
    """Whether an index term may expand a query: neither a number nor a short word."""
    return len(term) >= MIN_WORD_LENGTH and not term.isdigit()


def feedback_terms(texts: Sequence[dict[str, list[int]]], language: str) -> tuple[str, list[int]]:
    """The terms of an article's ``texts`` that may expand a query, joined by
    :data:`WORD_BREAK`, and their counts; what feedback reads from the stored title and
    body (``searchsvc.search.feedback.text_terms``).

    ``texts`` are the title's and then the body's surface words with their positions
    (:attr:`AnalyzedText.positions`: tokens normalized, the stopwords of ``language``, an
    analysis key, left out), in the order the text first has them; a word's count is its
    number of positions, and a term's the sum over its words, title and body.
    """
    memo = word_memo(language)
    counts: dict[str, int] = {}
    for positions in texts:
        tally = _text_tally(memo, language, positions)
        # A title's words mostly recur in the body: the dictionaries are joined in C and
        # the few shared terms added up afterwards (a joined key keeps its first place).
        shared = {term: counts[term] for term in counts.keys() & tally.keys()}
        counts |= tally
        for term, count in shared.items():
            counts[term] = count + tally[term]
    return WORD_BREAK.join(counts), list(counts.values())


def _text_tally(
    memo: dict[str, str], language: str, positions: dict[str, list[int]]
) -> dict[str, int]:
    """One text's terms that may expand a query, each with its words' count, in order.

    Counted by one C-level pass; where two words share a term (or several have none, ""),
    that pass would keep one of them, and the text is counted word by word instead."""
    words = list(positions)
    terms = list(map(memo.get, words))
    if None in terms:
        terms = _remembered(memo, language, words, terms)
    tally = dict(zip(terms, map(len, positions.values()), strict=True))
    unnamed = terms.count("")
    if len(tally) - ("" in tally) < len(terms) - unnamed:
        tally = {}
        for term, found in zip(terms, positions.values(), strict=True):
            tally[term] = tally.get(term, 0) + len(found)
    if unnamed:
        del tally[""]
    return tally


def _remembered(
    memo: dict[str, str], language: str, words: list[str], terms: list[str | None]
) -> list[str]:
    """``terms`` with the term of each word not in ``memo`` yet (None there) worked out
    and remembered: its stem in ``language``, "" when that may not expand a query."""
    stem = stemmer_for(language)
    for at, (word, term) in enumerate(zip(words, terms, strict=True)):
        if term is None:
            stemmed = stem(word)
            terms[at] = memo[word] = stemmed if may_expand(stemmed) else ""
    return terms


def word_memo(language: str) -> dict[str, str]:
    """Surface word -> the term it may expand a query as ("" for none) in ``language``
    (an analysis key): one per process and language, emptied when it reaches
    :data:`WORD_MEMO_LIMIT` (news vocabulary repeats from article to article)."""
    memo = _WORD_MEMOS.get(language)
    if memo is None or len(memo) >= WORD_MEMO_LIMIT:
        memo = _WORD_MEMOS[language] = {}
    return memo
