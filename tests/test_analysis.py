"""The news analyzer: what becomes a term, and that indexing and querying agree."""

from __future__ import annotations

import pickle
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchsvc.analysis import STOPWORDS, NewsTokenizer, analysis_config, make_analyzer

STEMMED = make_analyzer()
PLAIN = make_analyzer(stem=False)


def terms(text: str, analyzer=STEMMED) -> list[str]:
    return [token.text for token in analyzer(text)]


@pytest.mark.parametrize(
    ("indexed", "queried"),
    [
        ("massacres", "massacre"),
        ("commemorated", "commemorate"),
        ("Commemorative", "commemorate"),
        ("elections", "election"),
        ("company's", "companies"),
    ],
)
def test_stemming_joins_word_forms(indexed: str, queried: str) -> None:
    assert terms(indexed) == terms(queried)


def test_unstemmed_analyzer_keeps_surface_words() -> None:
    assert terms("Massacres commemorated", PLAIN) == ["massacres", "commemorated"]


@pytest.mark.parametrize("word", ["the", "of", "and", "to", "in", "was", "with"])
def test_function_words_are_dropped(word: str) -> None:
    assert word in STOPWORDS
    assert terms(f"bank {word} baku") == ["bank", "baku"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("US troops", ["us", "troop"]),  # the country, not only the pronoun
        ("talks with us", ["talk", "us"]),
        ("New York", ["new", "york"]),
        ("in May", ["may"]),
        ("WHO officials", ["who", "offici"]),
        ("will vote", ["will", "vote"]),
        ("not guilty", ["not", "guilti"]),
        ("no deal", ["no", "deal"]),
        ("World War I", ["world", "war", "i"]),
    ],
)
def test_words_news_needs_are_not_stopwords(text: str, expected: list[str]) -> None:
    assert terms(text) == expected


def test_stopword_list_stays_short() -> None:
    assert len(STOPWORDS) < 60
    assert not {"us", "new", "may", "will", "who", "not", "no", "can", "said"} & STOPWORDS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Zürich", ["zurich"]),
        ("São Paulo", ["sao", "paulo"]),
        ("Ørsted Łódź", ["orsted", "lodz"]),
        ("ÉLYSÉE", ["elysee"]),
        ("Straße", ["strasse"]),
    ],
)
def test_accents_fold_to_plain_letters(text: str, expected: list[str]) -> None:
    assert terms(text, PLAIN) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the U.S. said", ["us", "said"]),
        ("U.K.-based", ["uk", "based"]),
        ("1,275 people", ["1275", "people"]),
        ("rose 3.5 pct.", ["rose", "3.5", "pct"]),
        ("Azerbaijan\u2019s ministry", ["azerbaijan", "ministry"]),
        ("O'Neill", ["oneill"]),
    ],
)
def test_acronyms_numbers_and_apostrophes(text: str, expected: list[str]) -> None:
    assert terms(text, PLAIN) == expected


def test_tokens_carry_positions_and_character_offsets() -> None:
    text = "The Khojaly massacre of 1992, commemorated in Baku."
    tokens = [
        (t.text, t.pos, t.startchar, t.endchar) for t in STEMMED(text, positions=True, chars=True)
    ]
    assert [(text_, pos) for text_, pos, _, _ in tokens] == [
        ("khojali", 0),
        ("massacr", 1),
        ("1992", 2),
        ("commemor", 3),
        ("baku", 4),
    ]
    assert [text[start:end] for _, _, start, end in tokens] == [
        "Khojaly",
        "massacre",
        "1992",
        "commemorated",
        "Baku",
    ]


def test_stopwords_are_kept_as_stopped_when_asked() -> None:
    tokens = [(t.text, t.stopped) for t in STEMMED("the bank", removestops=False)]
    assert tokens == [("the", True), ("bank", False)]


news_text = st.lists(
    st.sampled_from([*"abcXYZéüøß019 .,'\u2019-\n", "U.S.", " the ", " of ", "\u01c5", "İ"]),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(news_text)
def test_indexing_fast_path_matches_the_whoosh_chain(text: str) -> None:
    chain = [(t.text, t.pos) for t in PLAIN(text, positions=True)]
    fast = [(word, pos) for pos, word in enumerate(PLAIN.surface_words(text))]
    assert chain == fast
    count, positions = PLAIN.surface_positions(text)
    assert count == len(fast)
    assert sorted((pos, word) for word, found in positions.items() for pos in found) == [
        (pos, word) for word, pos in fast
    ]


#: ASCII text dense in what the ASCII token pattern must read alike: acronyms with and
#: without a final dot, numbers with separators, inner apostrophes, underscores.
ascii_news_text = st.lists(
    st.sampled_from([*"aZk_09 .,'\n-", "U.S.", "A.b", "1,275", "3.5.", "O'", "'s", " of "]),
    max_size=40,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(ascii_news_text | st.text(st.characters(max_codepoint=127), max_size=40))
def test_ascii_text_is_split_as_the_token_pattern_splits_it(text: str) -> None:
    tokenizer = PLAIN.tokenizer
    assert tokenizer.tokens(text) == tokenizer.regexp.findall(text)


def test_a_tokenizer_with_another_pattern_keeps_it_for_ascii_text() -> None:
    tokenizer = NewsTokenizer(r"[a-z]+")
    assert tokenizer.tokens("U.S. rate cut 1,275") == ["rate", "cut"]


@settings(max_examples=300, deadline=None)
@given(news_text)
def test_surface_counts_are_the_surface_words_counted(text: str) -> None:
    for analyzer in (PLAIN, STEMMED):
        assert analyzer.surface_counts(text) == Counter(analyzer.surface_words(text))


def test_analyzers_survive_pickling_into_the_schema() -> None:
    STEMMED.surface_words("warm the caches: massacres")
    restored = pickle.loads(pickle.dumps(STEMMED))
    assert restored == STEMMED
    assert terms("massacres", restored) == ["massacr"]
    assert b"_cache" not in pickle.dumps(STEMMED)


def test_config_identifies_the_analysis() -> None:
    config = analysis_config()
    assert config == analysis_config()
    assert config["stopwords_count"] == len(STOPWORDS)
    assert "Snowball" in str(config["stemmer"])
