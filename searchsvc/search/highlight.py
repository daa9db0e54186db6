"""Marking query words in titles and choosing body snippets, as HTML-safe fragments.

The stored text is split with the index's own tokenizer and normalization, so a match
on a stem marks every form written ("massacres" and "massacre" both mark for
"massacres"), an exact word or phrase marks only itself (a phrase as one ``<mark>``),
and a wildcard marks the words it starts. Every character of article text goes through
:func:`html.escape`; the only markup in the output is our ``<mark>`` tags.

Snippets are up to ``fragments`` windows of about ``chars`` characters around the places
with the most distinct query words, in text order, always starting and ending between
words. A body without matches (the hit matched in the title, or there was no query)
shows its opening instead.
"""

from __future__ import annotations

import functools
import html
import itertools
import re
import string
from collections.abc import Callable

from searchsvc.analysis import (
    STOPWORDS,
    TOKEN_PATTERN,
    analysis_language,
    normalize_word,
)
from searchsvc.search.matching import HighlightTerms

#: Longer bodies are only searched for snippet windows in their first part.
MAX_SCAN_CHARS = 50_000
ELLIPSIS = "…"
#: What follows the first character of an ASCII token (:func:`ascii_token_starts`).
_AFTER_FIRST = (
    r"(?:(?<=\d)\d*(?:[.,]\d+)*"
    r"|(?<=[A-Za-z])(?:(?:\.[A-Za-z])+\.|\w*(?:'\w+)*)"
    r"|(?<=_)\w*(?:'\w+)*)"
)
_WHITESPACE = re.compile(r"\s+")


class WordForms:
    """Token as written -> (normalized word, stem), shared by every query of an engine.

    Normalizing and stemming are the same for every query, so each distinct token is
    analyzed once; the cache is simply emptied when it grows past ``limit``. One per
    language: ``stem`` and ``stopwords`` are that language's.
    """

    def __init__(
        self,
        stem: Callable[[str], str],
        limit: int = 200_000,
        stopwords: frozenset[str] = STOPWORDS,
        strips_prefixes: bool = False,
    ) -> None:
        """``strips_prefixes``: the stemmer may remove a word's first letters (Indonesian
        "memperingati" -> "ingat"), so a stem's first letter says nothing of the word's."""
        self.stem = stem
        self.limit = limit
        self.stopwords = stopwords
        self.strips_prefixes = strips_prefixes
        self._forms: dict[str, tuple[str, str]] = {}

    def __call__(self, raw: str) -> tuple[str, str]:
        forms = self._forms.get(raw)
        if forms is None:
            word = normalize_word(raw)
            stopped = not word or word in self.stopwords
            forms = ("", "") if stopped else (word, self.stem(word))
            if len(self._forms) >= self.limit:
                self._forms = {}
            self._forms[raw] = forms
        return forms


class Highlighter:
    """Highlights for one query; reuse it for every hit of the page (it caches words)."""

    def __init__(
        self,
        terms: HighlightTerms,
        *,
        token_pattern: re.Pattern[str],
        forms: WordForms,
        snippet_chars: int,
        snippet_fragments: int,
        forms_of: Callable[[str], WordForms] | None = None,
    ) -> None:
        """``forms_of``: the word forms of a language (an analysis key), for
        :meth:`in_language`; without it every text is read as ``forms`` reads it."""
        self.terms = terms
        self.pattern = token_pattern
        #: The index's own tokens: an ASCII text may take :meth:`_ascii_spans`.
        self._reads_ascii_alike = token_pattern.pattern == TOKEN_PATTERN
        self.forms = forms
        self.forms_of = forms_of
        self.chars = max(20, snippet_chars)
        self.fragments = max(1, snippet_fragments)
        self._hits: dict[str, dict[str, bool]] = {"title": {}, "body": {}}
        self._candidate_patterns: dict[str, re.Pattern[str]] = {}
        self._token_starts: dict[str, re.Pattern[str] | None] = {}
        self._by_language: dict[str, Highlighter] = {}

    def in_language(self, language: str | None) -> Highlighter:
        """The highlighter for a text in ``language`` (an ISO code, None if not known):
        its words are stemmed and stopped as that language's, so the words marked are the
        ones the index matched, as written."""
        if self.forms_of is None:
            return self
        key = analysis_language(language)
        found = self._by_language.get(key)
        if found is None:
            forms = self.forms_of(key)
            found = self
            if forms is not self.forms:
                found = Highlighter(
                    self.terms,
                    token_pattern=self.pattern,
                    forms=forms,
                    snippet_chars=self.chars,
                    snippet_fragments=self.fragments,
                )
                if not forms.strips_prefixes:
                    found._candidate_patterns = self._candidate_patterns
                    found._token_starts = self._token_starts
            self._by_language[key] = found
        return found

    def title(self, text: str) -> str:
        spans = self._spans(text, "title")
        return _render(text, 0, len(text), spans)

    def snippet(self, body: str) -> str:
        spans = self._spans(body[:MAX_SCAN_CHARS], "body")
        if not spans:
            return self.opening(body)
        windows = self._best_windows(body, spans)
        pieces = []
        for start, end in windows:
            inside = [span for span in spans if span[0] >= start and span[1] <= end]
            fragment = _render(body, start, end, inside)
            if start > 0:
                fragment = f"{ELLIPSIS} {fragment}"
            if end < len(body):
                fragment = f"{fragment} {ELLIPSIS}"
            pieces.append(fragment)
        return " ".join(pieces).replace(f"{ELLIPSIS} {ELLIPSIS}", ELLIPSIS)

    def opening(self, body: str) -> str:
        """The first ``chars`` characters, ending between words."""
        end = _word_end_before(body, min(len(body), self.chars), 0)
        fragment = _render(body, 0, end, [])
        return f"{fragment} {ELLIPSIS}" if end < len(body.rstrip()) else fragment

    # --- finding matches ---------------------------------------------------------------

    def _matches(self, raw: str, target: str) -> bool:
        found = self._hits[target].get(raw)
        if found is None:
            terms = self.terms
            word, stem = self.forms(raw)
            found = bool(word) and (
                word in terms.words[target]
                or stem in terms.stems[target]
                or any(word.startswith(prefix) for prefix in terms.prefixes[target])
            )
            self._hits[target][raw] = found
        return found

    def _spans(self, text: str, target: str) -> list[tuple[int, int]]:
        """Character spans to mark, sorted and not overlapping."""
        terms = self.terms
        singles = bool(terms.words[target] or terms.stems[target] or terms.prefixes[target])
        phrases = self._phrases_by_first_word(target)
        if not (singles or phrases):
            return []
        if self._reads_ascii_alike and text.isascii():
            return self._ascii_spans(text, target, singles, phrases)
        return self._scanned_spans(text, target, singles, phrases)

    def _scanned_spans(
        self,
        text: str,
        target: str,
        singles: bool,
        phrases: dict[str, list[tuple[str, ...]]],
    ) -> list[tuple[int, int]]:
        """:meth:`_spans` of any text: each candidate (:meth:`_candidates`) read in turn."""
        spans: list[tuple[int, int]] = []
        token_at = self.pattern.match
        covered = 0  # the end of the last token read: a candidate before it is mid-word
        for candidate in self._candidates(target).finditer(text):
            start = candidate.start()
            if start < covered:
                continue  # e.g. a letter after a vowel mark inside an Arabic word
            match = token_at(text, start)
            if match is None:
                continue
            covered = match.end()
            self._mark(text, match.group(), start, covered, target, singles, phrases, spans)
        return _merge(spans) if phrases else spans

    def _ascii_spans(
        self,
        text: str,
        target: str,
        singles: bool,
        phrases: dict[str, list[tuple[str, ...]]],
    ) -> list[tuple[int, int]]:
        """:meth:`_scanned_spans` of an ASCII text, with no Python step per token.

        The candidates' tokens (the candidate pattern and the token pattern in one
        expression, :func:`ascii_token_starts`) are listed by one C-level pass, and each
        distinct one is looked at once. A long question's words start with most letters,
        so nearly every token is a candidate, and a Python step for each was most of the
        time a snippet took. Where a token that marks stands is then found by searching
        the text for it: a place where the expression matches that token is one of the
        tokens listed, since in ASCII a token's inside always follows a word character,
        or a word character and inner punctuation, which the expression's look-behinds
        refuse.
        """
        if target not in self._token_starts:
            self._token_starts[target] = ascii_token_starts(self._letters(target))
        starts = self._token_starts[target]
        if starts is None:
            return []
        forms = self.forms
        marking = [
            raw
            for raw in set(starts.findall(text))
            if (singles and self._matches(raw, target)) or (phrases and forms(raw)[0] in phrases)
        ]
        spans: list[tuple[int, int]] = []
        token_at = starts.match
        for raw in marking:
            start = text.find(raw)
            while start >= 0:
                match = token_at(text, start)
                if match is not None and match.end() - start == len(raw):
                    self._mark(text, raw, start, match.end(), target, singles, phrases, spans)
                start = text.find(raw, start + 1)
        if phrases:
            return _merge(spans)
        spans.sort()  # tokens do not overlap
        return spans

    def _mark(
        self,
        text: str,
        raw: str,
        start: int,
        end: int,
        target: str,
        singles: bool,
        phrases: dict[str, list[tuple[str, ...]]],
        spans: list[tuple[int, int]],
    ) -> None:
        """Add to ``spans`` what the token ``raw`` at ``start:end`` marks: itself, and
        each phrase that starts with it and follows in the text."""
        if singles and self._matches(raw, target):
            spans.append((start, end))
        if phrases:
            for phrase in phrases.get(self.forms(raw)[0], ()):
                phrase_end = self._phrase_end(text, end, phrase)
                if phrase_end is not None:
                    spans.append((start, phrase_end))

    def _phrase_end(self, text: str, position: int, phrase: tuple[str, ...]) -> int | None:
        """Where ``phrase`` ends if its first word ended at ``position``, else None.

        Stopwords between the words are stepped over, as the index steps over them.
        """
        search = self.pattern.search
        for wanted in phrase[1:]:
            word = ""
            while not word:
                match = search(text, position)
                if match is None:
                    return None
                position = match.end()
                word = self.forms(match.group())[0]
            if word != wanted:
                return None
        return position

    def _phrases_by_first_word(self, target: str) -> dict[str, list[tuple[str, ...]]]:
        grouped: dict[str, list[tuple[str, ...]]] = {}
        for phrase in self.terms.phrases[target]:
            grouped.setdefault(phrase[0], []).append(phrase)
        return grouped

    def _candidates(self, target: str) -> re.Pattern[str]:
        """Where a matching word can start: a first letter of a query word, at a word start.

        Normalization keeps a word's first letter (only lowercased, or folded when it is
        not ASCII, so any non-ASCII start is a candidate too), so most tokens are skipped
        without being looked at; candidates are then checked like any token. The letter
        class comes first so the regex engine scans for it quickly; the look-behinds
        (no word character, nor a word character and inner punctuation, just before)
        only run on candidates.
        """
        found = self._candidate_patterns.get(target)
        if found is None:
            found = self._candidate_patterns[target] = candidate_pattern(self._letters(target))
        return found

    def _letters(self, target: str) -> frozenset[int]:
        """The ASCII code points a word that marks in ``target`` may start with."""
        terms = self.terms
        words = terms.words[target] | terms.stems[target] | terms.prefixes[target]
        words |= {phrase[0] for phrase in terms.phrases[target]}
        letters = {char for word in words if word for case in _cases(word[0]) for char in case}
        if self.forms.strips_prefixes:
            letters = set(string.ascii_letters)  # "memperingati" marks for "ingat"
        return frozenset(ord(char) for char in letters if char.isascii())

    def _best_windows(self, body: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Up to ``fragments`` non-overlapping windows with the most distinct matches."""
        candidates = []
        for i, (start, _) in enumerate(spans):
            words = set()
            last_end = start
            for span_start, span_end in spans[i:]:
                if span_end - start > self.chars:
                    break
                words.add(body[span_start:span_end].lower())
                last_end = span_end
            candidates.append((len(words), -start, start, last_end))
        candidates.sort(reverse=True)
        chosen: list[tuple[int, int]] = []
        for _, _, first, last in candidates:
            window = self._frame(body, first, last)
            if all(window[1] <= s or window[0] >= e for s, e in chosen):
                chosen.append(window)
                if len(chosen) == self.fragments:
                    break
        return sorted(chosen)

    def _frame(self, body: str, first: int, last: int) -> tuple[int, int]:
        """A window of about ``chars`` around the matches from ``first`` to ``last``."""
        spare = max(0, self.chars - (last - first))
        start = max(0, first - spare // 3)
        end = min(len(body), max(last, start + self.chars))
        start = _word_start_at_or_before(body, start)
        end = _word_end_before(body, end, last)
        return start, end


@functools.lru_cache(maxsize=1024)
def candidate_pattern(ascii_letters: frozenset[int]) -> re.Pattern[str]:
    """Any of ``ascii_letters`` (code points) or any non-ASCII character, at a word start.

    Written as one negated class of the other ASCII characters: a class that lists the
    letters beside the range U+0080 to U+10FFFF matches the same, but the regex compiler
    takes milliseconds over it (it charts the whole range), and queries bring new letters.
    """
    others = [code for code in range(128) if code not in ascii_letters]
    runs = []
    for _, group in itertools.groupby(enumerate(others), lambda item: item[1] - item[0]):
        codes = [code for _, code in group]
        runs.append(f"\\x{codes[0]:02x}-\\x{codes[-1]:02x}")
    return re.compile(rf"[^{''.join(runs)}](?<!\w.)(?<!\w[.,'\u2019].)")


@functools.lru_cache(maxsize=1024)
def ascii_token_starts(ascii_letters: frozenset[int]) -> re.Pattern[str] | None:
    """The tokens of an ASCII text that start where :func:`candidate_pattern` finds a
    candidate (None: no ASCII letter can start one).

    :data:`~searchsvc.analysis.ASCII_TOKEN_PATTERN` with its first character taken apart:
    a letter of ``ascii_letters`` and the candidate's look-behinds, then the rest of the
    token that character starts (a number's after a digit; an acronym's, else a word's,
    after a letter; a word's after an underscore). Starting with the letters keeps the
    regex engine's quick scan for them, so a query whose words start with few letters
    steps over most of a text in C, as the candidate pattern does.
    """
    if not ascii_letters:
        return None
    listed = "".join(re.escape(chr(code)) for code in sorted(ascii_letters))
    return re.compile(rf"[{listed}](?<!\w.)(?<!\w[.,'].){_AFTER_FIRST}", re.ASCII)


def _cases(letter: str) -> set[str]:
    return {letter, letter.lower(), letter.upper()}


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _word_start_at_or_before(text: str, position: int) -> int:
    while position > 0 and not text[position - 1].isspace():
        position -= 1
    return position


def _word_end_before(text: str, position: int, floor: int) -> int:
    """Move ``position`` back to the end of a word, but not before ``floor``."""
    if position <= 0 or position >= len(text):
        return max(0, position)
    if text[position].isspace() or text[position - 1].isspace():
        return position
    back = position
    while back > floor and not text[back - 1].isspace():
        back -= 1
    if back > floor:
        return back
    while position < len(text) and not text[position].isspace():
        position += 1  # the word holds the window's last match: finish it
    return position


def _render(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> str:
    """``text[start:end]`` escaped, with ``spans`` wrapped in ``<mark>``."""
    out = []
    cursor = start
    for span_start, span_end in spans:
        if span_start < cursor or span_end > end:
            continue
        out.append(_plain(text[cursor:span_start]))
        out.append(f"<mark>{_plain(text[span_start:span_end])}</mark>")
        cursor = span_end
    out.append(_plain(text[cursor:end]))
    return "".join(out).strip()


def _plain(text: str) -> str:
    return html.escape(_WHITESPACE.sub(" ", text))
