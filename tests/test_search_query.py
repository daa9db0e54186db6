"""The query language on its own: what each input parses to, and that no input breaks it."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from searchsvc.analysis import make_analyzer
from searchsvc.search.model import QueryError
from searchsvc.search.query import (
    TEXT_FIELDS,
    WORD_FIELDS,
    And,
    DateSpan,
    Fuzzy,
    Not,
    Or,
    ParsedQuery,
    Phrase,
    Prefix,
    QueryAnalysis,
    Term,
    parse_query,
)
from searchsvc.search.syntax import tokenize_query

_PLAIN = make_analyzer(stem=False)
_STEMMED = make_analyzer(stem=True)
ANALYSIS = QueryAnalysis(_PLAIN.surface_words, _STEMMED.stemmer.stem)


def parse(text: str, *, max_length: int = 1000, max_terms: int = 64) -> ParsedQuery:
    return parse_query(text, ANALYSIS, max_length=max_length, max_terms=max_terms)


def shape(node) -> str:
    """A compact, readable form of a parse tree for the expectations below."""
    if isinstance(node, Term):
        fields = "" if node.fields == TEXT_FIELDS else ",".join(node.fields) + ":"
        return f"{fields}{node.text}"
    if isinstance(node, Phrase):
        fields = "" if node.fields == WORD_FIELDS else ",".join(node.fields) + ":"
        return f'{fields}"{" ".join(node.words)}"'
    if isinstance(node, Prefix):
        return f"{','.join(node.fields)}:{node.prefix}*"
    if isinstance(node, Fuzzy):
        return f"{node.word}~{node.maxdist}"
    if isinstance(node, DateSpan):
        return f"date[{node.start} {node.end}]"
    if isinstance(node, Not):
        return f"-{shape(node.child)}"
    if isinstance(node, And):
        return "(" + " ".join(shape(c) for c in node.children) + ")"
    if isinstance(node, Or):
        return "(" + " | ".join(shape(c) for c in node.children) + ")"
    raise AssertionError(node)


def shapes(text: str) -> list[str]:
    return [shape(clause) for clause in parse(text).clauses]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("khojaly massacre", ["khojali", "massacr"]),
        ("Massacres", ["massacr"]),
        ('"khojaly massacre"', ['"khojaly massacre"']),
        ('"Bank of America"', ['"bank america"']),
        ('"massacres"', ["title_words,body_words:massacres"]),
        ("oil -gas", ["oil", "-gas"]),
        ("oil NOT gas", ["oil", "-gas"]),
        ('-"oil prices"', ['-"oil prices"']),
        ("oil gas OR coal", ["oil", "(gas | coal)"]),
        ("oil OR gas prices", ["(oil | gas)", "price"]),
        ("oil AND gas", ["oil", "gas"]),
        ("(oil gas) coal", ["oil", "gas", "coal"]),
        ("title:(oil gas)", ["title:oil", "title:gas"]),
        ("(oil gas -coal) OR wood", ["((oil gas -coal) | wood)"]),
        ("(oil OR gas) -(coal OR wood)", ["(oil | gas)", "-(coal | wood)"]),
        ("title:baku", ["title:baku"]),
        ("TITLE:Baku", ["title:baku"]),
        ("title: baku", ["title:baku"]),
        ('title:"oil prices"', ['title_words:"oil prices"']),
        ("title:(oil OR gas)", ["(title:oil | title:gas)"]),
        ("body:oil", ["body:oil"]),
        ("place:baku", ["place_name:baku"]),
        ('place:"new york"', ['place_name:"new york"']),
        ("place:geo:587084", ["place:geo:587084"]),
        ("source:Reuters", ["source:reuters"]),
        ('source:"Anadolu Agency"', ["source:anadolu agency"]),
        ("massac*", ["title_words,body_words:massac*"]),
        ("title:massac*", ["title_words:massac*"]),
        ("khojali~", ["khojali~2"]),
        ("khojali~1", ["khojali~1"]),
        ("oil~", ["oil~1"]),
        ("U.S.-Soviet", ['"us soviet"']),
        ("http://example.com", ['"http example com"']),
        ("unknown:field", ['"unknown field"']),
    ],
)
def test_query_forms(text: str, expected: list[str]) -> None:
    assert shapes(text) == expected


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("date:2024", dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
        ("date:2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        ("date:2023-02", dt.date(2023, 2, 1), dt.date(2023, 2, 28)),
        ("date:2024-02-26", dt.date(2024, 2, 26), dt.date(2024, 2, 26)),
        ("date:[2024-01-01 TO 2024-03-31]", dt.date(2024, 1, 1), dt.date(2024, 3, 31)),
        ("date:[2024-01-01 to 2024-03]", dt.date(2024, 1, 1), dt.date(2024, 3, 31)),
        ("date:[2024-01-01 TO]", dt.date(2024, 1, 1), None),
        ("date:[2024-01-01 TO *]", dt.date(2024, 1, 1), None),
        ("date:[TO 2024-03-31]", None, dt.date(2024, 3, 31)),
        ("date:[2023 2024]", dt.date(2023, 1, 1), dt.date(2024, 12, 31)),
        ("date:2023..2024-06", dt.date(2023, 1, 1), dt.date(2024, 6, 30)),
        ('date:"2024-02"', dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
    ],
)
def test_dates(text: str, start: dt.date | None, end: dt.date | None) -> None:
    (clause,) = parse(text).clauses
    assert clause == DateSpan(start, end)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"unclosed phrase', ['"unclosed phrase"']),
        ("((oil gas", ["oil", "gas"]),
        ("oil)) gas", ["oil", "gas"]),
        ("-", []),
        ("- oil", ["oil"]),
        ("--oil", ["-oil"]),
        ("AND OR NOT", ["not"]),
        ("OR oil", ["oil"]),
        ("oil OR", ["oil"]),
        ("oil OR OR gas", ["oil", "gas"]),
        ("NOT", ["not"]),
        ("the of", []),
        ("!!! ???", []),
        ("🙂", []),
        ("~", []),
        ("*", []),
        ("()", []),
        ('""', []),
        ("oil\x00gas", ["oil", "gas"]),
        ("нефть", ["нефть"]),
        ("Zürich", ["zurich"]),
    ],
)
def test_broken_input_has_a_defined_meaning(text: str, expected: list[str]) -> None:
    assert shapes(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("title:", "title: needs something to search for"),
        ("oil date:", "date: needs something"),
        ("title: OR oil", "title: needs something"),
        ("date:2024-13", "is not a date"),
        ("date:24", "is not a date"),
        ("date:[2024-03-01 TO 2024-01-01]", "ends before it starts"),
        ("date:[2024-01-01 TO", "needs a closing ]"),
        ("date:[a b c]", "is not a date range"),
        ("a*", "at least 2 letters"),
        ("(" * 30 + "oil", "nests parentheses"),
    ],
)
def test_errors_say_what_to_change(text: str, fragment: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    assert fragment in str(caught.value)
    assert caught.value.parameter == "q"


def test_length_and_term_limits_are_enforced_with_the_limit_named() -> None:
    with pytest.raises(QueryError, match="limit is 10"):
        parse("x" * 11, max_length=10)
    with pytest.raises(QueryError, match="3 search terms; the limit is 2"):
        parse('oil "gas prices"', max_terms=2)
    assert parse("oil gas", max_terms=2).term_count == 2


def test_spans_point_at_the_typed_words() -> None:
    parsed = parse('Aniversary of "the massacre" title:Baku')
    spans = {
        node.word: parsed.text[slice(*node.span)]
        for node in parsed.clauses
        if isinstance(node, Term)
    }
    assert spans == {"aniversary": "Aniversary", "massacre": '"the massacre"', "baku": "Baku"}


def test_blank_and_nothing_searchable_are_told_apart() -> None:
    assert parse("   ").is_blank
    assert not parse("the").is_blank
    assert parse("the").clauses == ()


def test_tokenizer_reads_a_date_range_as_one_token() -> None:
    kinds = [token.kind for token in tokenize_query('date:[2024 TO 2025] "x y" -(a)')]
    assert kinds == ["FIELD", "RANGE", "PHRASE", "-", "(", "WORD", ")"]


QUERY_ALPHABET = st.sampled_from(
    [
        *"()\"\u201c\u201d-+*~:[]{}|&!?.,'\u2019 \t\n\x00",
        *("OR", "AND", "NOT", "TO", "title:", "date:", "place:", "source:", "body:"),
        *(
            "oil",
            "2024",
            "2024-02",
            "massac",
            "\u00e9",
            "\U0001f642",
            "\u043d\u0435\u0444\u0442\u044c",
        ),
        "\ud800",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(QUERY_ALPHABET, max_size=40).map("".join)))
@example("0~\u00b2")  # a superscript two is a digit to str.isdigit but not to int()
@example("oil~\u0661")  # an Arabic-Indic one is a decimal digit: a fuzzy distance
def test_no_input_raises_anything_but_query_error(text: str) -> None:
    try:
        parsed = parse(text)
    except QueryError as error:
        assert error.parameter == "q"
        assert str(error)
        return
    assert parsed.term_count <= 64
