"""The query language: tokens in, a small tree of what must match out.

Grammar (loosest first; every other input is read leniently, see below)::

    query    := clause*                      words rank, syntax filters (AND is optional)
    clause   := any ( "OR" any )*            OR binds tighter: ``a b OR c`` = a AND (b OR c)
    any      := ("-" | "NOT")* primary       excluded
    primary  := "(" query ")" | FIELD ":" primary | "phrase" | word | date-range

Words run through the index's own analyzers: plain words match the stemmed ``title`` and
``body`` fields; quoted phrases, ``massac*`` prefixes and ``khojali~`` fuzzy words match
the unstemmed ``*_words`` fields (exact surface forms). ``place:`` searches the dateline
place's name, ``source:`` the source exactly (case-insensitive), ``date:`` takes
``2024``, ``2024-02``, ``2024-02-26`` or a range ``[2024-01-01 TO 2024-03-31]`` with
either end open.

Broken input has a defined meaning: a stray ``)`` is ignored, an unclosed ``(`` or quote
closes at the end, an operator with nothing to work on is dropped (a final ``NOT`` is
the word "not"), and words that analyze to nothing (punctuation, stopwords) vanish.
What cannot be given a meaning (``title:`` with nothing after it, an impossible date, a
one-letter wildcard, nesting or length past the limits) raises :class:`QueryError`
with a message that says what to change.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from searchsvc.analysis import normalize_word
from searchsvc.search.dates import parse_date_range, parse_date_value
from searchsvc.search.model import QueryError
from searchsvc.search.syntax import FIELD_EXAMPLES, Token, clean_query_text, tokenize_query

#: Deeper nesting than this is not a search anyone types; refusing it keeps recursion small.
MAX_NESTING = 20
MIN_PREFIX_LENGTH = 2
MAX_FUZZY_DISTANCE = 2

TEXT_FIELDS = ("title", "body")
WORD_FIELDS = ("title_words", "body_words")
_STEMMED_FIELDS = {None: TEXT_FIELDS, "title": ("title",), "body": ("body",)}
_SURFACE_FIELDS = {None: WORD_FIELDS, "title": ("title_words",), "body": ("body_words",)}
_PLACE_KEY_PREFIXES = ("geo:", "country:", "raw:")
#: Punctuation that can sit inside a word (U.S., 1,275, O'Neill, with either apostrophe).
_INNER_PUNCTUATION = ".,'\u2019"


# --- the tree --------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One index term in any of ``fields``; ``word`` is the surface form, for display.

    ``languages`` (analysis keys) limits it to the articles in those languages: one
    stem of a word read in several languages (see ``search/languages``); empty = all.
    """

    fields: tuple[str, ...]
    text: str
    word: str
    span: tuple[int, int] = (0, 0)
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Phrase:
    """Consecutive surface words (stopwords skipped, as the index skips them).

    ``quoted`` is False for one typed word that analyzes to several (``U.S.-Soviet``,
    ``three-dimensional``): such a phrase ranks like a word instead of being required.
    """

    fields: tuple[str, ...]
    words: tuple[str, ...]
    span: tuple[int, int] = (0, 0)
    quoted: bool = True
    #: As :attr:`Term.languages`: the languages whose stopwords left these words.
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Prefix:
    fields: tuple[str, ...]
    prefix: str
    span: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class Fuzzy:
    """Words within ``maxdist`` edits of ``word``, whatever their first letter."""

    fields: tuple[str, ...]
    word: str
    maxdist: int
    span: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class DateSpan:
    """Articles dated from ``start`` to ``end`` inclusive; ``None`` leaves that end open."""

    start: dt.date | None
    end: dt.date | None


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Term | Phrase | Prefix | Fuzzy | DateSpan | And | Or | Not
Leaf = Term | Phrase | Prefix | Fuzzy


@dataclass(frozen=True)
class ParsedQuery:
    """The whole query: ``clauses`` must all match. No clauses and no ``text`` = browse all."""

    text: str
    clauses: tuple[Node, ...]
    term_count: int
    #: Nothing but whitespace was typed (as opposed to only stopwords or symbols).
    is_blank: bool = False


@dataclass(frozen=True)
class QueryAnalysis:
    """The analyzer functions parsing needs: surface words and the stemmer.

    For a query read in several languages, ``alternatives`` gives a word's distinct stems
    with the languages producing each, and ``phrase_variants`` a phrase's distinct word
    sequences with the languages (whose stopwords differ) producing each; None when the
    query is read in one language.
    """

    surface_words: Callable[[str], list[str]]
    stem: Callable[[str], str]
    alternatives: Callable[[str], tuple[tuple[str, tuple[str, ...]], ...]] | None = None
    phrase_variants: Callable[[str], tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]] | None = (
        None
    )


# --- parsing ---------------------------------------------------------------------------


def parse_query(
    text: str, analysis: QueryAnalysis, *, max_length: int, max_terms: int
) -> ParsedQuery:
    """Parse what was typed, or raise :class:`QueryError` saying what to change."""
    if len(text) > max_length:
        raise QueryError(
            f"the query is {len(text):,} characters long; the limit is {max_length:,}. Shorten it.",
            parameter="q",
        )
    cleaned = clean_query_text(text)
    parser = _Parser(tokenize_query(cleaned), analysis)
    clauses = tuple(parser.parse_sequence(top=True))
    count = sum(count_terms(clause) for clause in clauses)
    if count > max_terms:
        raise QueryError(
            f"the query has {count} search terms; the limit is {max_terms}. Remove some words.",
            parameter="q",
        )
    return ParsedQuery(cleaned, clauses, count, is_blank=not text.strip())


def count_terms(node: Node) -> int:
    if isinstance(node, Phrase):
        return len(node.words)
    if isinstance(node, (And, Or)):
        return sum(count_terms(child) for child in node.children)
    if isinstance(node, Not):
        return count_terms(node.child)
    return 1


class _Parser:
    def __init__(self, tokens: list[Token], analysis: QueryAnalysis) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        self.analysis = analysis

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse_sequence(self, *, top: bool, field: str | None = None) -> list[Node]:
        nodes: list[Node] = []
        while (token := self.peek()) is not None:
            if token.kind == ")":
                if not top:
                    break
                self.advance()  # a stray ")" means nothing
            elif token.kind == "AND":
                self.advance()  # AND is what juxtaposition already means
            else:
                node = self.parse_any_of(field)
                if isinstance(node, And) and top:
                    nodes.extend(node.children)  # "(a b) c" is three words, each ranking
                elif node is not None:
                    nodes.append(node)
        return nodes

    def parse_any_of(self, field: str | None) -> Node | None:
        operands = [self.parse_unary(field)]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.advance()
            following = self.peek()
            if following is None or following.kind in (")", "AND"):
                break  # a dangling OR
            operands.append(self.parse_unary(field))
        kept = [node for node in operands if node is not None]
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else Or(tuple(kept))

    def parse_unary(self, field: str | None) -> Node | None:
        negated = False
        while (token := self.peek()) is not None and token.kind in ("-", "NOT"):
            self.advance()
            following = self.peek()
            if token.kind == "NOT" and (following is None or following.kind in (")", "OR", "AND")):
                word = self.word_node(token, field)  # a final NOT is just the word "not"
                return Not(word) if negated and word is not None else word
            negated = True
        node = self.parse_primary(field)
        if node is None:
            return None
        return Not(node) if negated else node

    def parse_primary(self, field: str | None) -> Node | None:
        token = self.peek()
        if token is None or token.kind == ")":
            return None
        if token.kind in ("-", "NOT"):
            return self.parse_unary(field)
        self.advance()
        if token.kind == "(":
            return self.parse_group(field)
        if token.kind == "FIELD":
            following = self.peek()
            if following is None or following.kind in (")", "OR", "AND"):
                raise QueryError(
                    f"{token.text}: needs something to search for after it, "
                    f"e.g. {FIELD_EXAMPLES[token.text]}",
                    parameter="q",
                )
            return self.parse_unary(token.text)
        if token.kind == "PHRASE":
            return self.phrase_node(token, field)
        if token.kind == "RANGE":
            return self.range_node(token)
        if token.kind == "WORD":
            return self.word_node(token, field)
        return None  # an operator with nothing before it

    def parse_group(self, field: str | None) -> Node | None:
        if self.depth >= MAX_NESTING:
            raise QueryError(
                f"the query nests parentheses more than {MAX_NESTING} deep; remove some",
                parameter="q",
            )
        self.depth += 1
        nodes = self.parse_sequence(top=False, field=field)
        self.depth -= 1
        token = self.peek()
        if token is not None and token.kind == ")":
            self.advance()
        if not nodes:
            return None
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    # --- leaves ------------------------------------------------------------------------

    def word_node(self, token: Token, field: str | None) -> Node | None:
        raw = token.text
        span = (token.start, token.end)
        if field == "date":
            return DateSpan(*parse_date_value(raw))
        if field == "source":
            return _source_node(raw, span)
        if field == "place" and raw.lower().startswith(_PLACE_KEY_PREFIXES):
            return Term(("place",), raw, raw, span)
        core, fuzzy_distance = _split_fuzzy(raw)
        is_prefix = core.endswith("*")
        core = core.rstrip("*")
        if is_prefix:
            return self.prefix_node(core, field, span)
        if fuzzy_distance is not None:
            return self.fuzzy_node(core, fuzzy_distance, field, span)
        words = self.analysis.surface_words(core)
        if not words:
            return None
        if field == "place":
            return _words_node(("place_name",), words, span)
        if len(words) > 1:
            return Phrase(_SURFACE_FIELDS[field], tuple(words), span, quoted=False)
        return self.stemmed_node(_STEMMED_FIELDS[field], words[0], span)

    def stemmed_node(self, fields: tuple[str, ...], word: str, span: tuple[int, int]) -> Node:
        """One word: a term, or one alternative per distinct stem in the query's languages
        (an OR that ranks and counts as the one word it is)."""
        alternatives = self.analysis.alternatives
        if alternatives is None:
            return Term(fields, self.analysis.stem(word), word, span)
        found = alternatives(word)
        if len(found) == 1:
            return Term(fields, found[0][0], word, span)
        return Or(tuple(Term(fields, stem, word, span, keys) for stem, keys in found))

    def phrase_node(self, token: Token, field: str | None) -> Node | None:
        span = (token.start, token.end)
        if field == "date":
            return DateSpan(*parse_date_value(token.text))
        if field == "source":
            return _source_node(token.text, span)
        fields = ("place_name",) if field == "place" else _SURFACE_FIELDS[field]
        variants = self.analysis.phrase_variants
        if variants is not None and field != "place":
            found = variants(token.text)
            if len(found) > 1:
                return Or(tuple(_words_node(fields, list(w), span, keys) for w, keys in found))
        words = self.analysis.surface_words(token.text)
        if not words:
            return None
        return _words_node(fields, words, span)

    def prefix_node(self, core: str, field: str | None, span: tuple[int, int]) -> Node | None:
        words = _plain_words(core)
        if not words:
            return None
        prefix = words[-1]
        if len(prefix) < MIN_PREFIX_LENGTH:
            raise QueryError(
                f"a wildcard needs at least {MIN_PREFIX_LENGTH} letters before the *, e.g. massac*",
                parameter="q",
            )
        fields = ("place_name",) if field == "place" else _SURFACE_FIELDS[field]
        node = Prefix(fields, prefix, span)
        return self._with_leading_words(words[:-1], node, field, span)

    def fuzzy_node(
        self, core: str, distance: int, field: str | None, span: tuple[int, int]
    ) -> Node | None:
        words = _plain_words(core)
        if not words:
            return None
        word = words[-1]
        fields = ("place_name",) if field == "place" else _SURFACE_FIELDS[field]
        node = Fuzzy(
            fields, word, distance if distance >= 0 else default_fuzzy_distance(word), span
        )
        return self._with_leading_words(words[:-1], node, field, span)

    def _with_leading_words(
        self, leading: list[str], node: Node, field: str | None, span: tuple[int, int]
    ) -> Node:
        """``u.s-sov*``: the words before the wildcard must match too."""
        kept = self.analysis.surface_words(" ".join(leading))
        if not kept:
            return node
        fields = ("place_name",) if field == "place" else _SURFACE_FIELDS[field]
        return And((*(Term(fields, word, word, span) for word in kept), node))

    def range_node(self, token: Token) -> Node:
        if not token.closed:
            raise QueryError(
                f"the date range date:[{token.text} needs a closing ], "
                "e.g. date:[2024-01-01 TO 2024-03-31]",
                parameter="q",
            )
        return DateSpan(*parse_date_range(token.text))


def _words_node(
    fields: tuple[str, ...],
    words: list[str],
    span: tuple[int, int],
    languages: tuple[str, ...] = (),
) -> Node:
    if len(words) == 1:
        return Term(fields, words[0], words[0], span, languages)
    return Phrase(fields, tuple(words), span, languages=languages)


def _source_node(raw: str, span: tuple[int, int]) -> Node | None:
    value = " ".join(raw.lower().split())
    if value.endswith("*"):
        value = value.rstrip("*")
        return Prefix(("source",), value, span) if value else None
    return Term(("source",), value, value, span) if value else None


def _split_fuzzy(raw: str) -> tuple[str, int | None]:
    """``khojali~`` → (``khojali``, -1 meaning "default"); ``khojali~1`` → (``khojali``, 1)."""
    tilde = raw.rfind("~")
    if tilde <= 0:
        return raw, None
    tail = raw[tilde + 1 :]
    if tail == "":
        return raw[:tilde], -1
    if tail.isdecimal() and len(tail) <= 2:
        return raw[:tilde], min(int(tail), MAX_FUZZY_DISTANCE)
    return raw, None


def _plain_words(text: str) -> list[str]:
    """Normalized words without stopword removal (``the*`` is a fine prefix)."""
    words = []
    kept = _INNER_PUNCTUATION
    for piece in "".join(ch if _inside_word(ch) or ch in kept else " " for ch in text).split():
        word = normalize_word(piece.strip(kept))
        if word:
            words.append(word)
    return words


def _inside_word(ch: str) -> bool:
    """A letter, digit or combining mark (Arabic vowel marks, Indic vowel signs)."""
    return ch.isalnum() or unicodedata.category(ch).startswith("M")


def default_fuzzy_distance(word: str) -> int:
    """One edit for short words, two for longer ones (where two typos are common)."""
    return 1 if len(word) <= 5 else 2
