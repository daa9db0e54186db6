"""Highlighting: escaped fragments with only our <mark> tags, the right words marked,
snippets that never cut a word."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_search_corpus import corpus_settings

from searchsvc.analysis import make_analyzer
from searchsvc.search import SearchEngine, SearchRequest
from searchsvc.search.highlight import (
    Highlighter,
    WordForms,
    ascii_token_starts,
    candidate_pattern,
)
from searchsvc.search.matching import HighlightTerms

_PLAIN = make_analyzer(stem=False)
_STEM = make_analyzer(stem=True).stemmer.stem
ONLY_MARKS = re.compile(r"<(?!/?mark>)")


def highlighter(
    *, stems=(), words=(), prefixes=(), phrases=(), chars: int = 60, fragments: int = 2
) -> Highlighter:
    terms = HighlightTerms()
    for target in ("title", "body"):
        terms.stems[target].update(stems)
        terms.words[target].update(words)
        terms.prefixes[target].update(prefixes)
        terms.phrases[target].update(phrases)
    return Highlighter(
        terms,
        token_pattern=_PLAIN.tokenizer.regexp,
        forms=WordForms(_STEM),
        snippet_chars=chars,
        snippet_fragments=fragments,
    )


def plain_words(fragment: str) -> list[str]:
    text = html.unescape(re.sub(r"</?mark>", "", fragment)).replace("…", " ")
    return text.split()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):
    with SearchEngine(corpus_settings(tmp_path_factory).replace(snippet_chars=80)) as engine:
        yield engine


def hit(engine: SearchEngine, query: str, article_id: str):
    result = engine.search(SearchRequest(query=query, per_page=50))
    return next(h for h in result.hits if h.id == article_id)


@pytest.mark.parametrize("query", ["script", "alert", "amp", "quoted", "single", "", "img"])
def test_article_text_is_escaped_in_every_fragment(engine: SearchEngine, query: str) -> None:
    found = hit(engine, query, "x1") if query else hit(engine, 'source:"example & co"', "x1")
    for fragment in (found.title, found.snippet):
        assert ONLY_MARKS.search(fragment) is None, fragment
        assert '"' not in fragment and "'" not in fragment
    assert "&lt;script&gt;" in found.title.replace("<mark>", "").replace("</mark>", "")
    assert "&amp;" in found.title
    related_titles = [h.title for h in engine.related("n1", limit=10)]
    for title in related_titles:
        assert ONLY_MARKS.search(title) is None


def test_escaped_entities_and_markup_in_the_body(tmp_path_factory: pytest.TempPathFactory) -> None:
    with SearchEngine(corpus_settings(tmp_path_factory).replace(snippet_chars=400)) as engine:
        found = hit(engine, "reader comment", "x1")
    assert "&lt;img src=x onerror=alert(1)&gt;" in found.snippet
    assert "&amp;amp;" in found.snippet
    assert "&#x27;single&#x27;" in found.snippet and "&quot;double&quot;" in found.snippet


@pytest.mark.parametrize(
    ("query", "article_id", "title", "snippet_marks"),
    [
        (
            "massacres",
            "k1",
            "Azerbaijan marks anniversary of Khojaly <mark>massacre</mark>",
            ["massacre"],
        ),
        ("massacres", "k2", "Victims remembered in Baku", ["massacres"]),
        (
            '"bank of america"',
            "b1",
            "<mark>Bank of America</mark> reports higher profit",
            ["Bank of America"],
        ),
        ("massac*", "u1", "<mark>Massachusetts</mark> governor signs budget", ["Massachusetts"]),
        (
            "khojali~",
            "k1",
            "Azerbaijan marks anniversary of <mark>Khojaly</mark> massacre",
            ["Khojaly"],
        ),
        ("oil prices", "o2", "Fuel retailers cut pump charges", ["prices", "price", "oil"]),
        ("title:fuel", "o2", "<mark>Fuel</mark> retailers cut pump charges", []),
        # excluded words are never marked, even where they occur
        ("yen OR -tariffs", "t1", "Japan and United States open trade talks", ["yen"]),
    ],
)
def test_what_gets_marked(
    engine: SearchEngine, query: str, article_id: str, title: str, snippet_marks: list[str]
) -> None:
    found = hit(engine, query, article_id)
    assert found.title == title
    assert re.findall(r"<mark>(.*?)</mark>", found.snippet) == snippet_marks


def test_title_only_match_shows_the_opening_of_the_body(engine: SearchEngine) -> None:
    found = hit(engine, "title:fuel", "o2")
    assert found.snippet.startswith("Retail prices for petrol fell for a third week.")
    assert found.snippet.endswith("…")


def test_snippet_windows_size_and_count() -> None:
    body = " ".join(
        ["alpha"] + ["filler"] * 40 + ["target", "beta"] + ["filler"] * 40 + ["target"] + ["end"]
    )
    two = highlighter(stems={"target"}, chars=30, fragments=2).snippet(body)
    assert two.count("<mark>target</mark>") == 2
    assert two == (
        "… filler filler <mark>target</mark> beta filler … filler filler <mark>target</mark> end"
    )
    for piece in two.split("…"):
        assert len(html.unescape(re.sub(r"</?mark>", "", piece)).strip()) <= 30 + 6
    one = highlighter(stems={"target"}, chars=30, fragments=1).snippet(body)
    assert one.count("<mark>") == 1


def test_best_window_has_the_most_distinct_words() -> None:
    body = "oil " + "filler " * 30 + "oil prices rose " + "filler " * 30
    snippet = highlighter(stems={"oil", "price"}, chars=40, fragments=1).snippet(body)
    assert "<mark>oil</mark> <mark>prices</mark>" in snippet


def test_phrase_marks_only_the_whole_phrase() -> None:
    text = "Bank of America and America's bank; bank america"
    marked = highlighter(phrases={("bank", "america")}).title(text)
    assert (
        marked == "<mark>Bank of America</mark> and America&#x27;s bank; <mark>bank america</mark>"
    )


def test_opening_of_a_body_without_spaces_is_not_cut() -> None:
    body = "x" * 500
    assert highlighter(chars=40).snippet(body) == body


WORDS = st.sampled_from(["oil", "prices", "rose", "the", "Bank", "massacres", "a&b", "<b>", "x"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(WORDS, st.text(min_size=1, max_size=12)), min_size=1, max_size=120),
    st.integers(min_value=20, max_value=120),
    st.integers(min_value=1, max_value=3),
)
def test_snippets_never_cut_inside_a_word(words: list[str], chars: int, fragments: int) -> None:
    body = " ".join(words)
    marker = highlighter(
        stems={"oil", "price", "massacr"}, words={"bank"}, chars=chars, fragments=fragments
    )
    snippet = marker.snippet(body)
    assert ONLY_MARKS.search(snippet) is None
    whole_words = set(body.split())
    for word in plain_words(snippet):
        assert word in whole_words, (word, body)


def listed_letters_pattern(letters: set[str]) -> re.Pattern[str]:
    """The candidate pattern spelled the direct way: the letters, then every non-ASCII one."""
    listed = "".join(re.escape(letter) for letter in sorted(letters))
    return re.compile(rf"[{listed}\u0080-\U0010ffff](?<!\w.)(?<!\w[.,'\u2019].)")


@settings(max_examples=200, deadline=None)
@given(
    letters=st.sets(st.characters(max_codepoint=0x2FF), min_size=1, max_size=8),
    text=st.text(
        st.sampled_from([*"abcxyzABCXYZ019 .,'-_\u2019\n\t", "é", "Ω", "\u017f", "\u00a0", "中"]),
        max_size=80,
    ),
)
def test_candidate_pattern_finds_what_the_listed_letters_find(letters: set[str], text: str) -> None:
    pattern = candidate_pattern(frozenset(ord(char) for char in letters if char.isascii()))
    expected = [m.start() for m in listed_letters_pattern(letters).finditer(text)]
    assert [m.start() for m in pattern.finditer(text)] == expected


ASCII_PIECES = st.sampled_from(
    [
        *"abcxyzABCXYZ019 .,'-_\n\t",
        "oil",
        "Oil",
        "oils",
        "turmoil",
        "price",
        "prices",
        "U.S.",
        "U.S.A",
        "1,275.5",
        "bank's",
        "O'Neill",
        "pri",
        "massacres",
        "said",
        "the",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(ASCII_PIECES, max_size=60).map("".join),
    stems=st.sets(st.sampled_from(["oil", "price", "massacr", "u.s", "1,275.5", "x", "o'neil"])),
    words=st.sets(st.sampled_from(["bank's", "said", "a", "z"]), max_size=2),
    prefixes=st.sets(st.sampled_from(["pri", "tur", "1"]), max_size=1),
    phrases=st.sets(st.sampled_from([("oil", "prices"), ("bank's", "oil"), ("u.s", "oil")])),
)
def test_ascii_text_marks_what_reading_each_candidate_marks(
    text: str, stems: set[str], words: set[str], prefixes: set[str], phrases: set[tuple]
) -> None:
    """The ASCII path lists tokens in one pass and finds the marking ones by searching the
    text; it must mark exactly what reading the candidates one by one marks."""
    marker = highlighter(stems=stems, words=words, prefixes=prefixes, phrases=phrases)
    singles = bool(stems or words or prefixes)
    grouped = marker._phrases_by_first_word("body")
    if singles or grouped:
        scanned = marker._scanned_spans(text, "body", singles, grouped)
        assert marker._ascii_spans(text, "body", singles, grouped) == scanned


@settings(max_examples=300, deadline=None)
@given(
    letters=st.sets(st.sampled_from("abcmopstuxyzABCMOPSTUXYZ019_'.-"), min_size=1, max_size=16),
    text=st.lists(ASCII_PIECES, max_size=60).map("".join),
)
@example(letters={"_", "U", "1"}, text=" _ U.S.A 1,275.5 _x U.S. 1.")
def test_ascii_token_starts_lists_the_tokens_at_the_candidates(
    letters: set[str], text: str
) -> None:
    """The one expression finds, in order, the token the index's pattern reads at each
    candidate that is not inside the token before it."""
    codes = frozenset(map(ord, letters))
    expected, covered = [], 0
    for candidate in candidate_pattern(codes).finditer(text):
        token = _PLAIN.tokenizer.regexp.match(text, candidate.start())
        if candidate.start() >= covered and token is not None:
            expected.append(token.group())
            covered = token.end()
    assert ascii_token_starts(codes).findall(text) == expected
