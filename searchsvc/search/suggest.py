""" "Did you mean": a corrected query when a typed word is rare and a close word is common.

A word is a candidate for correction when it occurs at most :data:`RARE_OCCURRENCES`
times in titles and bodies (or the query found nothing). Its replacement is the indexed
word within one edit (two for words over five letters) that is clearly more common
(at least twice as frequent, or present when the typed word is absent), preferring fewer
edits, then more occurrences. The suggestion is only offered if it finds results.

Frequencies count occurrences, not documents: in a one-article corpus whose title says
"Aniversary" and whose body says "anniversary" twice, the body's spelling still wins.
"""

from __future__ import annotations

from collections.abc import Callable

from searchsvc.search.matching import positive_leaves, split_clauses
from searchsvc.search.query import TEXT_FIELDS, WORD_FIELDS, Node, ParsedQuery, Term
from searchsvc.search.snapshot import Reading

RARE_OCCURRENCES = 3
#: A very common word beats an uncommon one even when the typed word is not rare.
DOMINANT_RATIO = 20
MIN_WORD_LENGTH = 3


def suggest_query(
    parsed: ParsedQuery,
    reading: Reading,
    *,
    found_nothing: bool,
    stem: Callable[[str], str],
    reparse: Callable[[str], ParsedQuery],
    finds_results: Callable[[tuple[Node, ...]], bool],
) -> str | None:
    """The corrected query text, or None when no word needs (or has) a correction."""
    positive, _, _ = split_clauses(parsed.clauses)
    replacements: dict[tuple[int, int], str] = {}
    for clause in positive:
        for leaf in positive_leaves(clause):
            if not isinstance(leaf, Term) or leaf.fields not in (TEXT_FIELDS, WORD_FIELDS):
                continue
            better = correct_word(reading, leaf.word, stem, found_nothing=found_nothing)
            if better is not None:
                replacements[leaf.span] = better
    if not replacements:
        return None
    text = _apply(parsed.text, replacements)
    try:
        corrected = reparse(text)
    except ValueError:
        return None
    return text if corrected.clauses and finds_results(corrected.clauses) else None


def correct_word(
    reading: Reading, word: str, stem: Callable[[str], str], *, found_nothing: bool
) -> str | None:
    """A clearly more common spelling of ``word`` (not merely another form of it), or None."""
    if len(word) < MIN_WORD_LENGTH or not word.isalpha():
        return None
    return (
        reading.derived(
            ("correct", word, found_nothing),
            lambda: _correct_word(reading, word, stem, found_nothing=found_nothing) or "",
        )
        or None
    )


def _correct_word(
    reading: Reading, word: str, stem: Callable[[str], str], *, found_nothing: bool
) -> str | None:
    typed = occurrences(reading, word)
    if typed > RARE_OCCURRENCES and not found_nothing:
        return None
    maxdist = 1 if len(word) <= 5 else 2
    own_stem = stem(word)  # "massacres" is not a misspelling of "massacre"
    candidates: dict[str, tuple[int, float]] = {}
    lexicon = reading.snapshot.lexicon
    for field in WORD_FIELDS:
        for entry, distance in lexicon.near(reading.reader, field, word, maxdist):
            if entry.word == word or not entry.word.isalpha() or stem(entry.word) == own_stem:
                continue
            best_distance, count = candidates.get(entry.word, (distance, 0.0))
            candidates[entry.word] = (min(best_distance, distance), count + entry.occurrences)
    good = [
        (distance, -count, candidate)
        for candidate, (distance, count) in candidates.items()
        if _clearly_better(count, typed)
    ]
    return min(good)[2] if good else None


def occurrences(reading: Reading, word: str) -> float:
    """How often ``word`` is written in titles and bodies (field boosts divided out)."""
    total = 0.0
    for field in WORD_FIELDS:
        boost = reading.reader.schema[field].format.field_boost or 1.0
        total += reading.reader.frequency(field, word) / boost
    return total


def _clearly_better(candidate: float, typed: float) -> bool:
    if typed == 0:
        return candidate >= 1
    if typed <= RARE_OCCURRENCES:
        return candidate >= 2 * typed
    return candidate >= DOMINANT_RATIO * typed


def _apply(text: str, replacements: dict[tuple[int, int], str]) -> str:
    """Replace each span, keeping a capital first letter where one was typed."""
    out = []
    cursor = 0
    for (start, end), word in sorted(replacements.items()):
        if start < cursor:
            continue
        typed = text[start:end]
        out.append(text[cursor:start])
        out.append(word.capitalize() if typed[:1].isupper() else word)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)
