""" "Did you mean": a corrected query when a typed word is rare and a close word is common.

A word is a candidate for correction when it occurs at most :data:`RARE_OCCURRENCES`
times in titles and bodies, counting the other forms of its stem (or the query found
nothing). Its replacements are the words
written at least twice within one edit (two for words of six letters or more), with any
first letter, swaps of neighbours counting as one edit, that are clearly more common (at
least twice as frequent, or present when the typed word is absent) and not another form
of its stem: "massacres" is not a misspelling of "massacre", and even where a typo shares
the stem of the word meant ("equipent", "equipment"), the search already finds what the
word would.

They are ranked as a noisy channel would: each edit costs a factor :data:`EDIT_FACTOR` in
likelihood, which the word's occurrences must make up for, so a frequent word two edits
away beats a rare one one edit away (``tarrifs`` gives ``tariffs``, not the ``tarriffs``
misspelled twice in Reuters). The commonest misspellings cost half an edit: a doubled or
undoubled letter, and a letter swapped for one that sounds alike (``opek`` gives ``opec``,
not the more frequent ``oper`` or ``open``).

In a query of several words, each word keeps its few best replacements (and itself, when
it is written at all) and the combinations are tried cheapest first: the first whose words
all occur together in an article within the query's filters is offered, so each word is
corrected in the context of the others where that finds something. When no combination
does, the cheapest one whose corrected words each find articles on their own is offered
(``opek embargo`` gives ``opec embargo``, though no Reuters story has both words: the
search lists articles with any of them).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA, Editop, Indel, Levenshtein

from searchsvc.search.matching import positive_leaves, split_clauses
from searchsvc.search.query import TEXT_FIELDS, WORD_FIELDS, Node, ParsedQuery, Term
from searchsvc.search.snapshot import Reading

RARE_OCCURRENCES = 3
#: A very common word beats an uncommon one even when the typed word is not rare.
DOMINANT_RATIO = 20
MIN_WORD_LENGTH = 3
#: Words up to this long are corrected by one edit only (two would reach too many words).
SHORT_WORD = 5
#: How many times more often a word must be written to make up for one more edit.
EDIT_FACTOR = 30
EDIT_COST = math.log(EDIT_FACTOR)
#: Letters often written for one another because they sound alike.
SOUND_ALIKE = frozenset(frozenset(pair) for pair in ("ck", "cs", "cq", "kq", "sz", "iy", "fv"))
#: The closest spellings by whole edits that are weighed again with half-edits.
WEIGHED = 8
CHOICES_PER_WORD = 3
#: Combinations of corrections checked for results, at most.
MAX_TRIED = 6


@dataclass(frozen=True, order=True)
class Choice:
    """One way to write a query word; ``word`` None keeps what was typed."""

    cost: float
    word: str | None = field(compare=False)


def suggest_query(
    parsed: ParsedQuery,
    reading: Reading,
    *,
    found_nothing: bool,
    stems: Callable[[str], tuple[str, ...]],
    reparse: Callable[[str], ParsedQuery],
    finds_results: Callable[[tuple[Node, ...]], bool],
) -> str | None:
    """The corrected query text, or None when no word needs (or has) a correction."""
    positive, _, _ = split_clauses(parsed.clauses)
    options: list[tuple[tuple[int, int], tuple[Choice, ...]]] = []
    for clause in positive:
        for leaf in positive_leaves(clause):
            if not isinstance(leaf, Term) or leaf.fields not in (TEXT_FIELDS, WORD_FIELDS):
                continue
            choices = spelling_choices(reading, leaf.word, stems, found_nothing=found_nothing)
            if choices:
                options.append((leaf.span, choices))

    def finds(text: str) -> bool:
        try:
            corrected = reparse(text)
        except ValueError:
            return False
        return bool(corrected.clauses) and finds_results(corrected.clauses)

    apart = None
    for replacements in _cheapest_combinations(options):
        text = _apply(parsed.text, replacements)
        if finds(text):
            return text
        if apart is None and all(finds(word) for word in replacements.values()):
            apart = text
    return apart


def spelling_choices(
    reading: Reading,
    word: str,
    stems: Callable[[str], tuple[str, ...]],
    *,
    found_nothing: bool,
) -> tuple[Choice, ...]:
    """Clearly more common spellings of ``word``, cheapest first, with ``word`` itself
    among them when it is written at all; empty when there is none to offer.

    ``stems`` gives a word's stems in the languages the query is read in (one for one
    language): a form of any of them is no misspelling.
    """
    if len(word) < MIN_WORD_LENGTH or not word.isalpha():
        return ()
    own_stems = stems(word)
    return reading.derived(
        ("spelling", word, own_stems, found_nothing),
        lambda: _spelling_choices(reading, word, stems, found_nothing=found_nothing),
    )


def _spelling_choices(
    reading: Reading,
    word: str,
    stems: Callable[[str], tuple[str, ...]],
    *,
    found_nothing: bool,
) -> tuple[Choice, ...]:
    lexicon = reading.snapshot.lexicon
    own_stems = set(stems(word))
    # A word written nowhere whose stem is common ("tariff" beside "tariffs") is no typo:
    # the search finds it, so it counts as often as its stem does.
    typed = max(
        lexicon.occurrences(reading.reader, word),
        *(lexicon.occurrences(reading.reader, stem, TEXT_FIELDS) for stem in own_stems),
    )
    if typed > RARE_OCCURRENCES and not found_nothing:
        return ()
    maxdist = 1 if len(word) <= SHORT_WORD else 2
    found = [
        (other, count, distance)
        for other, count, distance in lexicon.corrections(reading.reader, word, maxdist)
        if other != word and _clearly_better(count, typed)
    ]
    # Another form of the typed word's stem finds the same articles: "massacres" is no
    # misspelling of "massacre", nor "tariff" of "tariffs", written or not.
    found = [item for item in found if own_stems.isdisjoint(stems(item[0]))]
    closest = heapq.nsmallest(WEIGHED, found, key=lambda item: _cost(item[2], item[1]))
    corrections = sorted(
        Choice(_cost(weighted_distance(word, other), count), other) for other, count, _ in closest
    )[:CHOICES_PER_WORD]
    if not corrections:
        return ()
    keep = [Choice(_cost(0, typed), None)] if typed else []
    return tuple(sorted(corrections + keep))


def _cost(edits: float, occurrences: float) -> float:
    """Minus the log-likelihood of a spelling, up to a constant."""
    return EDIT_COST * edits - math.log(occurrences)


def _clearly_better(candidate: float, typed: float) -> bool:
    if typed == 0:
        return candidate >= 1
    if typed <= RARE_OCCURRENCES:
        return candidate >= 2 * typed
    return candidate >= DOMINANT_RATIO * typed


def weighted_distance(typed: str, meant: str) -> float:
    """Edits from ``meant`` to ``typed`` (optimal string alignment), where doubling or
    undoubling a letter and writing a letter that sounds alike cost half an edit.

    The half-edits are read off two alignments rapidfuzz computes, one with substitutions
    (Levenshtein) and one with insertions and deletions only (``tarrifs`` for ``tariffs``
    undoubles one letter and doubles another); an alignment longer than the distance (a
    swap of neighbours is shorter) earns no discount."""
    edits = OSA.distance(typed, meant)
    discount = 0
    for alignment in (Levenshtein, Indel):
        operations = alignment.editops(typed, meant)
        if len(operations) == edits:
            discount = max(discount, sum(_is_common(op, typed, meant) for op in operations))
    return edits - 0.5 * discount


def _is_common(operation: Editop, typed: str, meant: str) -> bool:
    if operation.tag == "replace":
        pair = frozenset((typed[operation.src_pos], meant[operation.dest_pos]))
        return pair in SOUND_ALIKE
    if operation.tag == "delete":
        return _doubles(typed, operation.src_pos)
    return _doubles(meant, operation.dest_pos)


def _doubles(word: str, at: int) -> bool:
    """Whether the letter at ``at`` repeats a neighbour."""
    letter = word[at]
    return (at > 0 and word[at - 1] == letter) or (at + 1 < len(word) and word[at + 1] == letter)


def _cheapest_combinations(
    options: list[tuple[tuple[int, int], tuple[Choice, ...]]],
) -> Iterator[dict[tuple[int, int], str]]:
    """Replacements (span -> word) that change something, cheapest in total first;
    long queries keep only each word's best choice so the product stays small."""
    width = CHOICES_PER_WORD + 1 if len(options) <= 3 else 1
    spans = [span for span, _ in options]
    combinations = itertools.product(*(choices[:width] for _, choices in options))
    ranked = sorted(combinations, key=lambda combination: sum(c.cost for c in combination))
    tried = 0
    for combination in ranked:
        replacements = {
            span: choice.word
            for span, choice in zip(spans, combination, strict=True)
            if choice.word is not None
        }
        if replacements:
            yield replacements
            tried += 1
            if tried == MAX_TRIED:
                return


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
