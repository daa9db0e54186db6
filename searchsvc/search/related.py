"""More like this: articles sharing an article's most distinctive words.

The article's stored title and body are read as surface words (the unstemmed analysis)
and grouped by stem, so "massacre" here finds "massacres" there; each stem is weighted by
its frequency in the article times its inverse document frequency, stems found in only
this article or in more than a tenth of the collection are skipped, and the top
:data:`KEY_WORDS` become an any-word query over title and body, ranked by BM25F. The
article itself is excluded.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

from searchsvc.search.matching import QueryMatcher
from searchsvc.search.query import TEXT_FIELDS, Term
from searchsvc.search.snapshot import Reading

KEY_WORDS = 20
MAX_DOC_SHARE = 0.1
#: In a small collection a word in a few articles is still distinctive.
MIN_CEILING = 5
MIN_WORD_LENGTH = 3


def related_docs(
    reading: Reading,
    docnum: int,
    limit: int,
    surface_words: Callable[[str], list[str]],
    stem: Callable[[str], str],
    languages: tuple[str, ...] = (),
) -> list[tuple[int, float]]:
    """Up to ``limit`` (docnum, score) pairs most like ``docnum``, best first.

    ``surface_words`` and ``stem`` are the article's language's; ``languages`` (analysis
    keys) limits the stems to articles in those languages, where the index holds others
    whose stems could share a spelling and not a meaning.
    """
    key = ("related", docnum, limit)
    return reading.derived(
        key, lambda: _related(reading, docnum, limit, surface_words, stem, languages)
    )


def _related(
    reading: Reading,
    docnum: int,
    limit: int,
    surface_words: Callable[[str], list[str]],
    stem: Callable[[str], str],
    languages: tuple[str, ...],
) -> list[tuple[int, float]]:
    stored = reading.stored(docnum)
    text = f"{stored.get('title') or ''}\n{stored.get('body') or ''}"
    stems = Counter(stem(word) for word in surface_words(text) if len(word) >= MIN_WORD_LENGTH)
    keys = key_words(reading, stems)
    if not keys:
        return []
    leaves = [Term(TEXT_FIELDS, key, key, languages=languages) for key in keys]
    matcher = QueryMatcher(reading)
    docs = reading.union(matcher.docs(leaf) for leaf in leaves).without(docnum)
    return matcher.rank(docs, leaves, [], limit)


def key_words(reading: Reading, stems: Counter[str]) -> list[str]:
    """The article's most distinctive stems, most distinctive first."""
    doc_count = max(1, len(reading.columns.live))
    ceiling = max(MIN_CEILING, int(doc_count * MAX_DOC_SHARE))
    exact_counts = not reading.reader.has_deletions()
    weighted = []
    for word, count in stems.items():
        if word.isdigit():
            continue
        if exact_counts:
            # Index statistics settle most words without decoding their postings.
            in_field = [reading.reader.doc_frequency(field, word) for field in TEXT_FIELDS]
            if max(in_field) > ceiling or sum(in_field) < 2:
                continue
        docs = len(reading.union(reading.docs(field, word) for field in TEXT_FIELDS))
        if docs < 2 or docs > ceiling:
            continue
        weighted.append((count * math.log(doc_count / docs), word))
    weighted.sort(key=lambda item: (-item[0], item[1]))
    return [word for _, word in weighted[:KEY_WORDS]]
