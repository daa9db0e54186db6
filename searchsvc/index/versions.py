"""Signatures that tell copies of one story apart from different stories.

The same agency story republished by several outlets, or a story updated through the
day, shares most of its runs of words even when the headline, the lede or the
boilerplate changes. Each article's text is cut into shingles (every run of
:data:`SHINGLE_WORDS` words) and summarised by a MinHash signature: the share of
positions where two signatures agree estimates the Jaccard similarity of the two
shingle sets. A signature depends on its own article only, so build workers compute
them in parallel and an incremental add computes one; grouping them is the search
side's job (``searchsvc.search.collapse``), done once per index commit.

Each of the :data:`SIGNATURE_BYTES` MinHash values is kept to its lowest byte
(b-bit MinHash): 72 bytes an article instead of 288, at the price of a 1/256 chance that
two unrelated values agree, which :func:`estimated_similarity` takes back out.

The signature is datasketch's ``MinHash(scheme="affine32", hashfunc=zlib.crc32)`` of the
shingles, byte for byte (a test holds it to that, and datasketch stays the reference), but
computed here in a few NumPy operations over all of an article's shingles at once: building
a ``MinHash`` object per article and hashing a set of shingle bytes through it cost as much
CPU as the rest of an article's analysis, and importing datasketch loads SciPy in every
build worker.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from typing import AnyStr

import numpy as np

#: Words per shingle: three keeps a changed word from touching more than three shingles,
#: while different stories on one topic rarely share three words in a row.
SHINGLE_WORDS = 3
#: MinHash values per signature, one byte each; a multiple of :data:`BAND_BYTES`.
SIGNATURE_BYTES = 72
#: Bytes per band when looking for candidate pairs (see ``search.collapse``).
BAND_BYTES = 3
_SEED = 20261129
_WORD = re.compile(r"\w+")
_ASCII_WORD = re.compile(rb"\w+")
#: Chance that the low bytes of two unrelated MinHash values agree.
_CHANCE = 1 / 256


def word_runs(text: str) -> Iterable[str]:
    """Each run of :data:`SHINGLE_WORDS` lowercased words of ``text``, joined by spaces, in order
    and with repeats; a text shorter than that is one run of all its words.

    The runs come from ``map`` over built-ins, with no Python-level step per run.
    """
    return _runs(_WORD.findall(text.lower()), " ")


def _runs(words: list[AnyStr], space: AnyStr) -> Iterable[AnyStr]:
    if len(words) <= SHINGLE_WORDS:
        return [space.join(words)] if words else []
    return map(space.join, zip(*(words[start:] for start in range(SHINGLE_WORDS)), strict=False))


def encoded_runs(text: str) -> Iterable[bytes]:
    """The :func:`word_runs` of ``text``, UTF-8 encoded.

    An ASCII text (most news in English) is lowercased and encoded once and split as
    bytes, where ``\\w`` means the same characters, rather than each run being encoded
    on its own: a fifth of a signature's cost.
    """
    if not text.isascii():
        return map(str.encode, word_runs(text))
    return _runs(_ASCII_WORD.findall(text.lower().encode("ascii")), b" ")


def shingles(text: str) -> set[bytes]:
    """The distinct shingles of ``text``: its :func:`word_runs`, UTF-8 encoded."""
    return set(encoded_runs(text))


def affine32_permutations(seed: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``(a, b)`` of ``count`` permutations ``h -> a*h + b mod 2**32``, as datasketch draws
    them for ``MinHash(num_perm=count, seed=seed, scheme="affine32")``: odd ``a`` makes each
    one a bijection, so the permutations add no collisions."""
    generator = np.random.RandomState(seed)
    a = generator.randint(0, 1 << 31, count, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, count, dtype=np.uint32)
    return a, b


#: The permutations are drawn once, as columns: every signature must use the same ones.
_A, _B = (column[:, np.newaxis] for column in affine32_permutations(_SEED, SIGNATURE_BYTES))
#: MurmurHash3's 32-bit finalizer, which datasketch applies to each input hash first.
_FMIX_SHIFTS = (np.uint32(16), np.uint32(13), np.uint32(16))
_FMIX_MULTIPLIERS = (np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35))


def shingle_hashes(text: str) -> np.ndarray:
    """CRC-32 of each of the :func:`word_runs` of ``text``, UTF-8 encoded.

    Repeated runs are hashed again rather than deduplicated: a minimum does not change
    with repeats, and hashing is cheaper than building a set of strings.
    """
    return np.fromiter(map(zlib.crc32, encoded_runs(text)), dtype=np.uint32)


def _premix(hashes: np.ndarray) -> np.ndarray:
    """datasketch's pre-mix of input hashes (a bijection that spreads weak hashes like CRC-32)."""
    first, second, third = _FMIX_SHIFTS
    hashes = hashes ^ (hashes >> first)
    hashes = hashes * _FMIX_MULTIPLIERS[0]
    hashes = hashes ^ (hashes >> second)
    hashes = hashes * _FMIX_MULTIPLIERS[1]
    return hashes ^ (hashes >> third)


def signature(title: str, body: str) -> bytes:
    """The article's b-bit MinHash signature, or ``b""`` when it has no words.

    CRC-32 hashes the shingles: datasketch's default SHA-1 costs twice the time per
    article, and the permutations mix the values anyway. All permutations of all shingles
    are one ``(SIGNATURE_BYTES, shingles)`` array whose rows' minima are the MinHash values;
    uint32 arithmetic wraps, which is the ``mod 2**32`` of the affine32 scheme.
    """
    hashes = shingle_hashes(f"{title}\n{body}")
    if not hashes.size:
        return b""
    permuted = _A * _premix(hashes)
    permuted += _B
    return (permuted.min(axis=1) & 0xFF).astype(np.uint8).tobytes()


def estimated_similarity(agreeing: np.ndarray) -> np.ndarray:
    """Jaccard similarity estimated from how many signature bytes agree, per pair."""
    share = agreeing / SIGNATURE_BYTES
    return np.clip((share - _CHANCE) / (1 - _CHANCE), 0.0, 1.0)


def linked_groups(size: int, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """A label per node of ``size``: nodes joined by the links ``first[i]``-``second[i]``
    share one. Labels count the groups in the order of their smallest node, the numbering
    of SciPy's ``connected_components`` (a test holds it to that).

    Done in NumPy rather than with SciPy: whenever SciPy is installed, importing NLTK loads
    ``scipy.stats``, over a second of every process start, so the service does not depend
    on it. Each round hooks the root of every link's larger side under the smaller root and
    then points every node at its root; the roots only ever decrease, and each round joins
    at least one pair of groups, so the loop ends (in a few rounds for groups of copies).
    """
    parent = np.arange(size, dtype=np.int64)
    first = np.asarray(first, dtype=np.int64)
    second = np.asarray(second, dtype=np.int64)
    while True:
        roots_of_first, roots_of_second = parent[first], parent[second]
        apart = roots_of_first != roots_of_second
        if not apart.any():
            break
        lower = np.minimum(roots_of_first[apart], roots_of_second[apart])
        np.minimum.at(parent, roots_of_first[apart], lower)
        np.minimum.at(parent, roots_of_second[apart], lower)
        parent = _to_roots(parent)
    roots = parent == np.arange(size)
    return (np.cumsum(roots) - 1)[parent]


def _to_roots(parent: np.ndarray) -> np.ndarray:
    """``parent`` with every node pointing at its root (parents never exceed their node)."""
    while True:
        grandparent = parent[parent]
        if np.array_equal(grandparent, parent):
            return parent
        parent = grandparent
