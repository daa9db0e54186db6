"""Feedback's relevance model computed in bulk gives exactly what a word-by-word count and
sum give: the same terms and counts from an article's text, the same weights bit for bit
and the same order of expansion words, ties included."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from searchsvc.analysis import stem_filter_for
from searchsvc.index.schema import make_schema
from searchsvc.index.termlists import MIN_WORD_LENGTH
from searchsvc.search import feedback
from searchsvc.search.docsets import DocSet
from searchsvc.search.feedback import (
    heaviest_first,
    postings_within,
    relevance_model,
    shared_ids,
    text_terms,
)

#: Words whose forms share stems, stopwords of several languages, short words, numbers,
#: accents, acronyms and apostrophes, and the separators between them.
PIECES = [
    *("ships ", "shipping ", "shipped ", "Shipments ", "the ", "The ", "die ", "Schiffe "),
    *("Schiff ", "les ", "navires ", "navire ", "1987 ", "3.5 ", "U.S. ", "café ", "cafe "),
    *("ab ", "ox ", "don't ", "O'Neill's ", "hafenarbeiter ", "dockers ", "docked "),
    *(", ", ".\n", "\n", "-", "  "),
]
texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
languages = st.sampled_from([None, "", "en", "de", "fr", "id", "ar", "xx"])


def counted_field_by_field(texts: list[str], language: str | None) -> dict[str, int]:
    """Each text's terms as the index field counts them, added up text after text, short
    words and numbers left out: what feedback counted before."""
    field = make_schema()["body"]
    words: dict[str, int] = {}
    for text in texts:
        for term, count in field.term_counts(text, language).items():
            if len(term) >= MIN_WORD_LENGTH and not term.isdigit():
                words[term] = words.get(term, 0) + count
    return words


@settings(max_examples=300, deadline=None)
@given(title=texts, body=texts, language=languages)
def test_text_terms_are_each_fields_term_counts_added_up(title, body, language) -> None:
    analyzer = make_schema()["body"].analyzer
    found = text_terms(analyzer, [title, body], language)
    expected = counted_field_by_field([title, body], language)
    assert list(found.items()) == list(expected.items())  # the same order too


@contextlib.contextmanager
def memo_limit(entries: int) -> Iterator[None]:
    """:data:`~searchsvc.search.feedback.TERM_MEMO_LIMIT` set to ``entries`` for a block."""
    before = feedback.TERM_MEMO_LIMIT
    feedback.TERM_MEMO_LIMIT = entries
    try:
        yield
    finally:
        feedback.TERM_MEMO_LIMIT = before


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(texts, min_size=1, max_size=6), language=languages)
def test_text_terms_are_the_same_when_the_memo_empties_between_texts(texts, language) -> None:
    """The memo of terms, emptied at its limit while articles are read, gives each article
    the terms it gives without the limit."""
    analyzer = make_schema()["body"].analyzer
    expected = [counted_field_by_field([text], language) for text in texts]
    with memo_limit(3):
        found = [text_terms(analyzer, [text], language) for text in texts]
    assert [list(words.items()) for words in found] == [list(words.items()) for words in expected]


def test_text_terms_leave_their_stems_where_queries_and_highlights_find_them() -> None:
    analyzer = make_schema()["body"].analyzer
    text_terms(analyzer, ["Dockworkers unloading", "unloaded grainships"], "en")
    known = stem_filter_for("en").cache
    assert {"dockwork", "unload", "grainship"} <= {known.get(word) for word in known}
    assert "grainships" not in analyzer.stemmer.cache  # the field's own memo is not used


def summed_word_by_word(
    articles: list[dict[str, int]], shares: list[float]
) -> list[tuple[str, float]]:
    """Every word with its weight, summed article by article in a Counter, sorted by weight
    descending and then by word: the relevance model as feedback computed it before."""
    model: Counter[str] = Counter()
    for words, share in zip(articles, shares, strict=True):
        length = max(1, sum(words.values()))
        for word, frequency in words.items():
            model[word] += share * frequency / length
    return sorted(model.items(), key=lambda item: (-item[1], item[0]))


#: Few words and small counts, so that many weights tie.
articles = st.lists(
    st.dictionaries(
        st.sampled_from(["lava", "ash", "coast", "ferry", "volcano", "eruption", "zinc"]),
        st.integers(1, 3),
        max_size=7,
    ),
    min_size=1,
    max_size=10,
)


@settings(max_examples=400, deadline=None)
@given(articles=articles, data=st.data())
def test_relevance_model_is_the_word_by_word_sum_bit_for_bit(articles, data) -> None:
    shares = data.draw(
        st.lists(
            st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.1, 1 / 3, 0.5])),
            min_size=len(articles),
            max_size=len(articles),
        )
    )
    compact = [
        ("\n".join(words), np.fromiter(words.values(), np.int32, len(words))) for words in articles
    ]
    words, weights = relevance_model(compact, shares)
    found = list(heaviest_first(words, weights))
    expected = summed_word_by_word(articles, shares)
    assert [word for word, _ in found] == [word for word, _ in expected]
    assert np.array([w for _, w in found]).tobytes() == np.array([w for _, w in expected]).tobytes()


#: Sorted, distinct docnums below 300: a word's postings, or the articles scored.
docnums = st.sets(st.integers(0, 299), max_size=300).map(
    lambda ids: np.array(sorted(ids), np.int32)
)


#: A word's postings: about every other docnum below 300.
postings_ids = st.lists(st.booleans(), min_size=300, max_size=300).map(
    lambda present: np.flatnonzero(present).astype(np.int32)
)
#: Scored articles: a handful (searched for among the postings) or any number.
scored_ids = st.one_of(
    st.sets(st.integers(0, 299), max_size=12).map(lambda ids: np.array(sorted(ids), np.int64)),
    docnums,
)


@settings(max_examples=300, deadline=None)
@given(ids=postings_ids, members=scored_ids, as_mask=st.booleans())
def test_postings_within_pick_the_postings_the_mask_picks(ids, members, as_mask) -> None:
    """Few articles scored (looked up among the postings) or many (a mask), held as docnums
    or as a mask: the same postings, in the same order."""
    scored = DocSet.from_ids(members.astype(np.int64), 300)
    if as_mask:
        scored = DocSet(scored.mask)
    picked = postings_within(ids, scored)
    assert ids[picked].tolist() == sorted(set(ids.tolist()) & set(members.tolist()))
    weights = np.arange(len(ids), dtype=np.uint8)
    assert weights[picked].tolist() == weights[scored.mask[ids]].tolist()


@settings(max_examples=300, deadline=None)
@given(first=docnums, second=docnums)
def test_shared_ids_are_the_intersection(first, second) -> None:
    assert shared_ids(first, second).tolist() == np.intersect1d(first, second).tolist()
