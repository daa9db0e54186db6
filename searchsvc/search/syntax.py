"""Splitting what people type into the tokens of the query language.

One left-to-right pass over the characters, no regular expressions, so no input can make
it slow and every input has a defined split:

* ``(`` and ``)`` group; ``"``, ``“``, ``”`` and ``„`` quote a phrase (an unclosed quote
  runs to the end of the text);
* ``-`` directly before a word, phrase, group or field excludes it (a lone ``-`` is
  punctuation); ``+`` before a word is accepted and means nothing more than the default;
* ``OR`` (or ``|``), ``AND`` (or ``&``) and ``NOT`` are operators only in capitals;
* ``name:`` for a known field name starts a field; ``date:[... TO ...]`` reads up to the
  closing bracket;
* anything else up to whitespace, a bracket or a quote is a word (with any trailing ``*``
  or ``~`` still attached: the parser reads them).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

TokenKind = Literal["(", ")", "OR", "AND", "NOT", "-", "FIELD", "WORD", "PHRASE", "RANGE"]

#: Field names people may type, and the example shown when one is given nothing to search.
FIELD_EXAMPLES: dict[str, str] = {
    "title": "title:baku",
    "body": "body:massacre",
    "place": "place:baku",
    "source": "source:reuters",
    "date": "date:2024-02 or date:[2024-01-01 TO 2024-03-31]",
}
QUOTES = frozenset('"“”„')
_STOPS = QUOTES | {"(", ")"}
_OPERATORS: dict[str, TokenKind] = {
    "OR": "OR",
    "|": "OR",
    "||": "OR",
    "AND": "AND",
    "&": "AND",
    "&&": "AND",
    "NOT": "NOT",
}
_RANGE_CLOSERS = {"[": "]", "{": "}"}


@dataclass(frozen=True)
class Token:
    """One token; ``start``/``end`` locate its text in the cleaned query."""

    kind: TokenKind
    text: str
    start: int
    end: int
    #: For a RANGE token: False when the closing bracket was missing.
    closed: bool = True


def clean_query_text(text: str) -> str:
    """Control, format and unassigned characters become spaces; nothing else changes.

    Keeps offsets meaningful (one character in, one out) and keeps lone surrogates and
    similar debris from reaching the index, whose terms are UTF-8.
    """
    if text.isprintable():
        return text
    return "".join(" " if unicodedata.category(ch)[0] in "CZ" and ch != " " else ch for ch in text)


def tokenize_query(text: str) -> list[Token]:
    """Tokens of ``text`` (already cleaned) in order."""
    tokens: list[Token] = []
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(Token(ch, ch, i, i + 1))  # type: ignore[arg-type]
            i += 1
        elif ch in QUOTES:
            i = _read_phrase(text, i, tokens)
        elif ch in "-+" and i + 1 < n and not text[i + 1].isspace():
            if ch == "-":
                tokens.append(Token("-", ch, i, i + 1))
            i += 1
        else:
            i = _read_chunk(text, i, tokens)
    return tokens


def _read_phrase(text: str, start: int, tokens: list[Token]) -> int:
    end = start + 1
    while end < len(text) and text[end] not in QUOTES:
        end += 1
    tokens.append(Token("PHRASE", text[start + 1 : end], start, min(end + 1, len(text))))
    return end + 1


def _read_chunk(text: str, start: int, tokens: list[Token]) -> int:
    n = len(text)
    end = start
    while end < n and not text[end].isspace() and text[end] not in _STOPS:
        end += 1
    chunk = text[start:end]
    operator = _OPERATORS.get(chunk)
    if operator is not None:
        tokens.append(Token(operator, chunk, start, end))
        return end
    colon = chunk.find(":")
    name = chunk[:colon].lower() if colon > 0 else ""
    if name not in FIELD_EXAMPLES:
        tokens.append(Token("WORD", chunk, start, end))
        return end
    value_start = start + colon + 1
    tokens.append(Token("FIELD", name, start, value_start))
    if name == "date" and value_start < n and text[value_start] in _RANGE_CLOSERS:
        return _read_range(text, value_start, tokens)
    if value_start < end:
        tokens.append(Token("WORD", text[value_start:end], value_start, end))
    return end


def _read_range(text: str, start: int, tokens: list[Token]) -> int:
    closer = _RANGE_CLOSERS[text[start]]
    end = text.find(closer, start + 1)
    closed = end >= 0
    if not closed:
        end = len(text)
    tokens.append(Token("RANGE", text[start + 1 : end], start, end + 1, closed))
    return end + 1
