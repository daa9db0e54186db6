"""The words of the unstemmed fields, grouped for finding close spellings quickly.

Fuzzy terms (``khojali~``) and "did you mean" both ask: which indexed words are within
one or two edits of this one, and how common are they? Whoosh answers by walking the
whole term list and its term records (half a second on Reuters). Here each field's words
are listed once per commit, one first letter at a time as queries need them (the term
list alone is quick to read; frequencies are looked up only for the few words that come
close), and only words of a compatible length are compared, with an edit distance that
works in a band around the diagonal and gives up as soon as the limit is passed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

from whoosh.reading import IndexReader


@dataclass(frozen=True)
class WordCount:
    word: str
    docs: int
    occurrences: float


class Lexicon:
    """Words of some fields of one commit, bucketed by (field, first letter) and length."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], dict[int, list[str]]] = {}
        self._lock = threading.Lock()

    def near(
        self, reader: IndexReader, field: str, word: str, maxdist: int
    ) -> Iterator[tuple[WordCount, int]]:
        """Indexed words within ``maxdist`` edits of ``word`` sharing its first letter."""
        if not word:
            return
        by_length = self._bucket(reader, field, word[0])
        boost = reader.schema[field].format.field_boost or 1.0
        for length in range(len(word) - maxdist, len(word) + maxdist + 1):
            for candidate in by_length.get(length, ()):
                distance = edit_distance(word, candidate, maxdist)
                if distance <= maxdist:
                    count = WordCount(
                        candidate,
                        reader.doc_frequency(field, candidate),
                        reader.frequency(field, candidate) / boost,
                    )
                    yield count, distance

    def _bucket(self, reader: IndexReader, field: str, letter: str) -> dict[int, list[str]]:
        key = (field, letter)
        bucket = self._buckets.get(key)
        if bucket is not None:
            return bucket
        bucket = {}
        for raw in reader.expand_prefix(field, letter):
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            bucket.setdefault(len(text), []).append(text)
        with self._lock:
            self._buckets.setdefault(key, bucket)
        return bucket


def edit_distance(a: str, b: str, limit: int) -> int:
    """Edits (insert, delete, substitute, swap neighbours) from ``a`` to ``b``, or ``limit + 1``.

    The optimal-string-alignment variant of Damerau-Levenshtein, row by row, computing only
    the cells within ``limit`` of the diagonal (the others cannot lead to a distance within
    the limit) and stopping as soon as no cell of the next row can come back within it.
    """
    if a == b:
        return 0
    la, lb = len(a), len(b)
    over = limit + 1
    if abs(la - lb) > limit:
        return over
    before: list[int] | None = None
    previous = [j if j <= limit else over for j in range(lb + 1)]
    for i in range(1, la + 1):
        current = [over] * (lb + 1)
        if i <= limit:
            current[0] = i
        char_a = a[i - 1]
        best = current[0]
        for j in range(max(1, i - limit), min(lb, i + limit) + 1):
            char_b = b[j - 1]
            value = previous[j - 1] + (char_a != char_b)
            if previous[j] + 1 < value:
                value = previous[j] + 1
            if current[j - 1] + 1 < value:
                value = current[j - 1] + 1
            if (
                before is not None
                and j > 1
                and char_a == b[j - 2]
                and a[i - 2] == char_b
                and before[j - 2] + 1 < value
            ):
                value = before[j - 2] + 1
            current[j] = value if value < over else over
            if value < best:
                best = value
        # Past the limit for good: a later swap could only build on the previous row.
        if best > limit and min(previous) >= limit:
            return over
        before, previous = previous, current
    return min(previous[lb], over)
