"""Feedback scores an expansion word over the matched articles alone, from its postings
kept without positions, and gets exactly the scores the word has over the whole index:
the same frequencies, the same IDF, bit for bit, with several segments, deleted articles
and words read in some languages only."""

from __future__ import annotations

import json
from collections import Counter
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchsvc.articles.model import Article
from searchsvc.config import Settings
from searchsvc.index import build_index
from searchsvc.index.termlists import MIN_WORD_LENGTH
from searchsvc.index.updates import delete_articles, update_articles
from searchsvc.search import RankingConfig
from searchsvc.search import postings as postings_module
from searchsvc.search.docsets import located
from searchsvc.search.feedback import (
    article_terms,
    expansion_doc_frequency,
    expansion_postings,
    expansion_terms,
    term_list,
)
from searchsvc.search.languages import index_languages, language_docs
from searchsvc.search.matching import QueryMatcher
from searchsvc.search.postings import (
    read_frequencies,
    read_frequencies_together,
    read_postings,
    tfs_together,
)
from searchsvc.search.query import TEXT_FIELDS, Term
from searchsvc.search.serving import ServingIndex

#: Sentences per language; "{port}" is a port name, the same word in every language.
SENTENCES = {
    "en": "The ships reached {port} with grain and the dockers unloaded the cargo.",
    "de": "Die Schiffe erreichten {port} mit Getreide und die Hafenarbeiter entluden sie.",
    "fr": "Les navires ont atteint {port} avec du grain et les dockers ont vidé la cargaison.",
}
LANGUAGES = tuple(SENTENCES)
#: Ports and the step of the stories that name them: the rarer ones (under a tenth of the
#: stories) are distinctive enough to expand a query.
PORTS = {
    "rotterdam": 2,
    "hamburg": 3,
    "marseille": 5,
    "antwerp": 7,
    "gdansk": 13,
    "valletta": 17,
    "piraeus": 19,
}


def port_story(number: int) -> dict[str, str]:
    """A story naming the ports whose step divides ``number``, some in the title only; the
    sentence repeated a varying number of times, so lengths and frequencies differ."""
    language = LANGUAGES[number % len(LANGUAGES)]
    ports = [port for port, step in PORTS.items() if number % step == 0]
    title_only = list(PORTS)[number % len(PORTS)] if number % 4 == 1 else ""
    sentence = SENTENCES[language].format(port=" ".join(ports) or "the coast")
    return {
        "id": f"p{number}",
        "title": f"Bulletin {number} {title_only}".strip(),
        "body": " ".join([sentence] * (1 + number % 5)),
        "date": "2024-05-02",
        "source": "Port Bulletin",
        "language": language,
    }


@pytest.fixture(scope="module")
def serving(tmp_path_factory: pytest.TempPathFactory):
    """Two segments whose common words span several postings blocks, deletions in both."""
    root = tmp_path_factory.mktemp("feedback-bounded")
    source = root / "articles.jsonl"
    source.write_text("".join(json.dumps(port_story(n)) + "\n" for n in range(700)))
    built = Settings(index_dir=root / "index", corpus=(source,), build_procs=1)
    build_index(None, built, show_progress=False)
    later = [Article(**{**port_story(n), "date": None}) for n in range(650, 950)]
    update_articles(built, later)
    delete_articles(built, [f"p{n}" for n in range(0, 950, 11)])
    opened = ServingIndex(built.index_dir, RankingConfig())
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def reading(serving):
    with serving.reading() as reading:
        assert len(reading.searcher.leaf_searchers()) >= 2
        assert len(index_languages(reading)) == len(LANGUAGES)
        yield reading


@pytest.fixture(scope="module")
def words(reading) -> list[str]:
    """Every indexed word of title or body in at least two articles."""
    reader = reading.reader
    found = {
        raw.decode("utf-8") if isinstance(raw, bytes) else raw
        for field, raw in reader.all_terms()
        if field in TEXT_FIELDS
    }
    return sorted(w for w in found if sum(reader.doc_frequency(f, w) for f in TEXT_FIELDS) > 1)


language_choices = st.sampled_from([(), ("en",), ("de",), ("de", "en"), ("fr",), LANGUAGES])


def test_port_words_span_several_blocks(reading) -> None:
    assert len(reading.postings("body", "rotterdam")) > 2 * 128


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_frequencies_are_those_of_the_postings(reading, words, field: str) -> None:
    """Every word's documents, and the frequencies of any of them, read from the blocks
    as the postings with positions give them (deleted articles left out)."""
    for number, word in enumerate(words):
        postings = read_postings(reading.searcher, field, word)
        frequencies = read_frequencies(reading.searcher, field, word)
        assert frequencies.ids.tolist() == postings.ids.tolist()
        picked = np.arange(number % 3, len(postings), 1 + number % 4)
        assert frequencies.tfs_at(picked).tolist() == postings.tfs[picked].tolist()
        assert frequencies.tfs_at(picked[:0]).tolist() == []


def test_frequencies_near_some_articles_are_those_of_their_blocks(reading, words) -> None:
    """Read near a few articles, a word's documents are those of the blocks that may hold
    them: all of theirs among them, fewer than all of the word's where it spans several
    blocks, and their frequencies the postings' own."""
    near = reading.columns.live.ids[::97]
    for word in words:
        postings = read_postings(reading.searcher, "body", word)
        frequencies = read_frequencies(reading.searcher, "body", word, near)
        if not len(postings):
            assert not len(frequencies)
            continue
        at, found = located(postings.ids, frequencies.ids)
        assert found.all()
        assert set(near.tolist()) & set(postings.ids.tolist()) <= set(frequencies.ids.tolist())
        every = np.arange(len(frequencies))
        assert frequencies.tfs_at(every).tolist() == postings.tfs[at].tolist()
    rotterdam = read_postings(reading.searcher, "body", "rotterdam")
    assert len(read_frequencies(reading.searcher, "body", "rotterdam", near[:2])) < len(rotterdam)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_words_read_together_are_each_read_alone(reading, words, data) -> None:
    """Words read together (their blocks decoded as one run in each segment, their
    frequencies read by one call) give each word's documents and frequencies as reading
    it alone does: any words (the same one twice, one the index lacks, words of one block
    and of several, inlined ones), each read whole or near some articles."""
    live = reading.columns.live.ids
    chosen = data.draw(st.lists(st.sampled_from([*words, "zanzibar"]), min_size=1, max_size=12))
    step = data.draw(st.sampled_from([1, 7, 97]))
    nears = [data.draw(st.sampled_from([None, live[::step]])) for _ in chosen]
    field = data.draw(st.sampled_from(TEXT_FIELDS))
    # A small limit has the longer runs decoded apart from the short ones joined.
    limit = data.draw(st.sampled_from([postings_module.JOINED_POSTINGS, 60]))
    with patch.object(postings_module, "JOINED_POSTINGS", limit):
        together = read_frequencies_together(reading.searcher, field, chosen, nears)
    alone = [
        read_frequencies(reading.searcher, field, w, n) for w, n in zip(chosen, nears, strict=True)
    ]
    picks = [
        np.flatnonzero(
            np.array(
                data.draw(st.lists(st.booleans(), min_size=len(found), max_size=len(found))),
                dtype=bool,
            )
        )
        for found in alone
    ]
    assert [found.ids.tolist() for found in together] == [found.ids.tolist() for found in alone]
    expected = [found.tfs_at(at).tolist() for found, at in zip(alone, picks, strict=True)]
    assert [tfs.tolist() for tfs in tfs_together(together, picks)] == expected
    assert [
        found.tfs_at(at).tolist() for found, at in zip(together, picks, strict=True)
    ] == expected


def test_expansion_postings_are_the_query_words_own_when_read(reading) -> None:
    assert expansion_postings(reading, "body", "hamburg") is not reading.postings("body", "hamburg")
    assert expansion_postings(reading, "body", "hamburg") is reading.postings("body", "hamburg")


def test_article_terms_are_what_the_index_holds_for_the_article(reading, words) -> None:
    """Each live article's title and body terms, counted as its postings count them (words
    in one article only, numbers and short words aside)."""
    indexed: dict[int, Counter[str]] = {}
    for field in TEXT_FIELDS:
        for word in words:
            postings = read_postings(reading.searcher, field, word)
            for doc, tf in zip(postings.ids.tolist(), postings.tfs.tolist(), strict=True):
                indexed.setdefault(doc, Counter())[word] += int(tf)
    for doc in reading.columns.live.ids.tolist():
        found = article_terms(reading, doc)
        terms = dict(zip(term_list(found), found[1].tolist(), strict=True))
        kept = {
            w: n
            for w, n in indexed.get(doc, {}).items()
            if len(w) >= MIN_WORD_LENGTH and not w.isdigit()
        }
        assert {w: n for w, n in terms.items() if w in words} == kept
        assert all(len(word) >= MIN_WORD_LENGTH and not word.isdigit() for word in terms)


@settings(max_examples=60, deadline=None)
@given(word_index=st.integers(0, 10_000), languages=language_choices)
def test_expansion_doc_frequency_is_the_matched_count(reading, words, word_index, languages):
    word = words[word_index % len(words)]
    term = Term(TEXT_FIELDS, word, word, languages=languages)
    expected = len(QueryMatcher(reading).docs(term))
    assert expansion_doc_frequency(reading, word, languages) == expected


@pytest.mark.parametrize("languages", [(), ("de",)])
def test_every_words_expansion_doc_frequency_is_its_matched_count(reading, words, languages):
    """Words in titles and bodies both, in one of them only, in several languages."""
    matcher = QueryMatcher(reading)
    for word in words:
        expected = len(matcher.docs(Term(TEXT_FIELDS, word, word, languages=languages)))
        assert expansion_doc_frequency(reading, word, languages) == expected


def occurrences_in(reading, word: str, languages: tuple[str, ...]) -> list:
    """(field, docnums, term frequencies) of ``word`` in the articles of ``languages``
    (all when empty)."""
    found = []
    for field in TEXT_FIELDS:
        postings = read_postings(reading.searcher, field, word)
        inside = language_docs(reading, languages).mask[postings.ids] if languages else ...
        found.append((field, postings.ids[inside], postings.tfs[inside]))
    return found


@settings(max_examples=60, deadline=None)
@given(indexes=st.lists(st.integers(0, 10_000), min_size=1, max_size=4), languages=language_choices)
def test_added_term_scores_are_each_words_scores_times_its_weight(
    reading, words, indexes, languages
):
    """Word after word (the same one twice too), each word's scores where it occurs are
    its whole-index scores times its weight, bit for bit."""
    matcher = QueryMatcher(reading)
    totals = np.zeros(reading.columns.size)
    expected = np.zeros(reading.columns.size)
    doc_count = len(language_docs(reading, languages)) if languages else None
    for number, index in enumerate(indexes, start=1):
        word = words[index % len(words)]
        term = Term(TEXT_FIELDS, word, word, languages=languages)
        weight = 1.0 / (number + 2)
        part = matcher.leaf_scores(term)
        expected[part.ids] += weight * part.scores
        found = occurrences_in(reading, word, languages)
        reading.bm25.add_term_scores(totals, found, weight, len(matcher.docs(term)), doc_count)
    assert totals.tobytes() == expected.tobytes()


def whole_index_feedback(matcher: QueryMatcher, every, top, query_terms: int) -> np.ndarray:
    """What feedback adds to each of ``every``, from the expansion words' scores over the
    whole index (every posting read, as for a query's own word)."""
    reading = matcher.reading
    config = reading.ranking
    share = config.feedback_weight / (1.0 - config.feedback_weight) * query_terms
    languages = matcher._languages_of([doc for doc, _ in top])
    added = np.zeros(reading.columns.size)
    for word, weight in expansion_terms(reading, top, config.feedback_terms):
        part = matcher.leaf_scores(Term(TEXT_FIELDS, word, word, languages=languages))
        added[part.ids] += share * weight * part.scores
    return added[every]


@pytest.mark.parametrize("languages", [(), ("en",), ("de", "fr")])
def test_feedback_adds_what_whole_index_scores_add(reading, languages) -> None:
    matcher = QueryMatcher(reading)
    rare = reading.docs("body", "gdansk") | reading.docs("body", "piraeus")
    every = (rare | reading.docs("body", "rotterdam") | reading.docs("title", "hamburg")).ids
    column = reading.columns.language
    top = [
        (doc, 1.0 + doc % 3)
        for doc in rare.ids.tolist()
        if not languages or column.keys[column.codes[doc]] in languages
    ][:10]
    added = matcher._feedback(every, top, 2)
    assert added.any()
    assert added.tobytes() == whole_index_feedback(matcher, every, top, 2).tobytes()
    assert matcher._feedback(every, top, 2) is added  # cached for the next page


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_feedback_equals_whole_index_scores_bit_for_bit(reading, data) -> None:
    """Any matched articles, any first articles among them (of one language or several)."""
    matcher = QueryMatcher(reading)
    live = reading.columns.live.ids
    rare = (reading.docs("body", "gdansk") | reading.docs("body", "valletta")).ids.tolist()
    first = data.draw(st.lists(st.sampled_from(rare), min_size=1, max_size=4, unique=True))
    first += data.draw(st.lists(st.sampled_from(live.tolist()), max_size=6, unique=True))
    scores = st.floats(0.1, 20.0, allow_nan=False)
    top = [(doc, data.draw(scores)) for doc in dict.fromkeys(first)]
    chosen = data.draw(st.lists(st.booleans(), min_size=len(live), max_size=len(live)))
    step = data.draw(st.sampled_from([1, 3, 40]))  # 40: fewer than a sixteenth of the index
    every = np.union1d(live[np.array(chosen, dtype=bool)][::step], [doc for doc, _ in top])
    query_terms = data.draw(st.integers(1, 5))
    added = matcher._feedback(every, top, query_terms)
    assert added.tobytes() == whole_index_feedback(matcher, every, top, query_terms).tobytes()


@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_words_counted_before_are_read_near_the_matches_and_score_the_same(serving, data):
    """A new commit's first feedback reads its words whole (to count their articles);
    the next query's, over other matches, reads only the blocks near those: the same
    scores bit for bit, as the whole-index scores read afterwards give them."""
    fresh = ServingIndex(serving.index_dir, RankingConfig())
    try:
        with fresh.reading() as reading:
            matcher = QueryMatcher(reading)
            live = reading.columns.live.ids
            rare = read_postings(reading.searcher, "body", "valletta").ids.tolist()
            top = [(doc, 1.0 + doc % 4) for doc in data.draw(st.permutations(rare))[:5]]
            step = data.draw(st.sampled_from([2, 37, 150]))
            later = np.union1d(live[data.draw(st.integers(0, step - 1)) :: step], [top[0][0]])
            first = matcher._feedback(live, top, 2)
            words = [
                word for word, _ in expansion_terms(reading, top, RankingConfig().feedback_terms)
            ]
            assert not any(reading.cached_postings(f, w) for f in TEXT_FIELDS for w in words)
            added = matcher._feedback(later, top, 2)
            assert added.tobytes() == whole_index_feedback(matcher, later, top, 2).tobytes()
            assert first.tobytes() == whole_index_feedback(matcher, live, top, 2).tobytes()
    finally:
        fresh.close()
