"""Signatures that tell copies of one story apart from different stories.

The same agency story republished by several outlets, or a story updated through the
day, shares most of its runs of words even when the headline, the lede or the
boilerplate changes. Each article's text is cut into shingles (every run of
:data:`SHINGLE_WORDS` words) and summarised by a MinHash signature: the share of
positions where two signatures agree estimates the Jaccard similarity of the two
shingle sets. A signature depends on its own article only, so build workers compute
them in parallel and an incremental add computes one; grouping them is the search
side's job (``searchsvc.search.collapse``), done once per index commit, with the pair rule
of :func:`candidate_pairs` and :func:`group_signatures` that both engines share.

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
from collections.abc import Iterable, Sequence
from itertools import compress
from typing import AnyStr, NamedTuple

import numpy as np

#: Words per shingle: three keeps a changed word from touching more than three shingles,
#: while different stories on one topic rarely share three words in a row.
SHINGLE_WORDS = 3
#: MinHash values per signature, one byte each; a multiple of :data:`BAND_BYTES`.
SIGNATURE_BYTES = 72
#: Bytes per band when looking for candidate pairs (:func:`candidate_pairs`).
BAND_BYTES = 3
#: A run of rows sharing one band is paired all with all up to this many rows. A longer
#: run (a story republished hundreds of times, or a band that short texts share) pairs
#: each row with the next ``RUN_ROWS - 1`` rows of the run only, in row order: its pairs
#: grow with its length rather than its square, and its copies, each similar to its
#: neighbours, still join one group.
RUN_ROWS = 128
#: Articles whose shingles are permuted in one array: about 10,000 shingles of news, whose
#: permutations (2.6 MB) stay in the processor's cache, where a whole batch's would not.
SIGNATURE_ARTICLES = 64
_SEED = 20261129
_WORD = re.compile(r"\w+")
#: ASCII byte -> itself lowercased where ``\w`` matches it (letters, digits, ``_``), else a
#: space: an ASCII text's words are then what ``bytes.split`` returns.
_ASCII_WORD_BYTES = bytes(
    ord(char.lower()) if char.isalnum() or char == "_" else ord(" ")
    for char in map(chr, range(128))
).ljust(256, b" ")
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

    An ASCII text (most news in English) is encoded once and split as bytes rather than
    each run being encoded on its own (a fifth of a signature's cost), and its words are
    found by one ``translate`` (lowercase letters, a space for every byte that is not in
    ``\\w``) and ``split``, in C: half the time of the regular expression, with the same
    words.
    """
    if not text.isascii():
        return map(str.encode, word_runs(text))
    return _runs(text.encode("ascii").translate(_ASCII_WORD_BYTES).split(), b" ")


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
    """The article's b-bit MinHash signature, or ``b""`` when it has no words."""
    return signatures([(title, body)])[0]


def signatures(texts: Sequence[tuple[str, str]]) -> list[bytes]:
    """The :func:`signature` of each ``(title, body)`` of ``texts``, in order.

    CRC-32 hashes the shingles: datasketch's default SHA-1 costs twice the time per
    article, and the permutations mix the values anyway. All permutations of all shingles
    of :data:`SIGNATURE_ARTICLES` articles are one ``(SIGNATURE_BYTES, shingles)`` array,
    each article's columns a run whose row minima are its MinHash values: a few NumPy calls
    per run of articles rather than per article (over Reuters: 0.7x the CPU).
    uint32 arithmetic wraps, which is the ``mod 2**32`` of the affine32 scheme.
    """
    found: list[bytes] = []
    for start in range(0, len(texts), SIGNATURE_ARTICLES):
        found += _run_signatures(texts[start : start + SIGNATURE_ARTICLES])
    return found


def _run_signatures(texts: Sequence[tuple[str, str]]) -> list[bytes]:
    """:func:`signatures` of one run of articles; those without words are left out of
    the array (an empty run has no minimum)."""
    hashes = [shingle_hashes(f"{title}\n{body}") for title, body in texts]
    sizes = np.fromiter(map(len, hashes), dtype=np.int64, count=len(hashes))
    found = [b""] * len(texts)
    worded = np.flatnonzero(sizes).tolist()
    if not worded:
        return found
    permuted = _A * _premix(np.concatenate(hashes))
    permuted += _B
    starts = np.cumsum(sizes[worded]) - sizes[worded]
    minima = (np.minimum.reduceat(permuted, starts, axis=1) & 0xFF).astype(np.uint8)
    rows = minima.T.tobytes()
    for row, article in enumerate(worded):
        found[article] = rows[row * SIGNATURE_BYTES : (row + 1) * SIGNATURE_BYTES]
    return found


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


def signature_rows(values: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """(one row per value, which rows hold a signature) for signatures already in hand
    (the embedded engine reads its column's bytes in place: ``search.collapse``)."""
    present = np.fromiter((len(value) == SIGNATURE_BYTES for value in values), bool, len(values))
    matrix = np.zeros((len(values), SIGNATURE_BYTES), dtype=np.uint8)
    joined = np.frombuffer(b"".join(compress(values, present)), dtype=np.uint8)
    matrix[present] = joined.reshape(-1, SIGNATURE_BYTES)
    return matrix, present


def commit_key(segments: Iterable[tuple[str, int]]) -> str:
    """The documents of a commit by segment (id and document count, in docnum order).
    Whoosh never rewrites a segment, so commits with one key number the same signatures
    alike and differ only in which documents are deleted."""
    return ",".join(f"{segment_id}:{count}" for segment_id, count in segments)


class SegmentRun(NamedTuple):
    """Consecutive segments of a commit, named as a commit of just them would be."""

    key: str
    documents: int
    start: int
    end: int


def segment_runs(segments: Sequence[tuple[str, int]]) -> list[SegmentRun]:
    """Every run of consecutive ``segments`` short of all of them, the longest first: the
    commits whose segments an update kept (Whoosh adds an update's segments at the end,
    and its merge of small segments keeps the others, sorted by size, before the merged
    one)."""
    counts = [0, *np.cumsum([count for _, count in segments]).tolist()]
    return [
        SegmentRun(commit_key(segments[start:end]), counts[end] - counts[start], start, end)
        for length in range(len(segments) - 1, 0, -1)
        for start in range(len(segments) - length + 1)
        for end in [start + length]
    ]


def copy_pairs_name(key: str) -> str:
    """The file beside the segments holding the candidate pairs of commits of ``key``
    (``search/copy_pairs.py``); not named after a segment, so Whoosh leaves it alone."""
    return f"copies.{zlib.crc32(key.encode('utf-8')):08x}.pairs"


def stored_lexicon_name(key: str) -> str:
    """The file beside the segments holding the spelling lexicon of commits of ``key``
    (``search/lexicon_file.py``); like the pairs file, not named after a segment."""
    return f"lexicon.{zlib.crc32(key.encode('utf-8')):08x}.words"


class CandidatePairs(NamedTuple):
    """Distinct row pairs ``first[i] < second[i]`` that share a whole band."""

    first: np.ndarray
    second: np.ndarray
    #: Whether every run of rows sharing a band was at most :data:`RUN_ROWS` long, so
    #: that the pairs are all the pairs sharing a band: then whether two rows are paired
    #: depends on those two rows alone, not on which other rows are grouped with them.
    complete: bool


def candidate_pairs(signatures: np.ndarray, rows: np.ndarray) -> CandidatePairs:
    """The pairs of ``rows`` (ascending) whose signatures agree on at least one whole band.

    Locality-sensitive hashing: no pair of the million-squared is looked at otherwise.
    Most rows' band is shared by no other row, so each band first finds the rows whose
    key may repeat (:func:`key_buckets`) and sorts only those, by key and then by row,
    with sort values that are all distinct, so the order is the same whatever the sort's
    stability or the machine. Within a run of equal keys every pair is taken, up to
    :data:`RUN_ROWS` rows apart.
    """
    size = len(signatures)
    banded = signatures if len(rows) == size else signatures[rows]
    found = [np.zeros(0, dtype=np.int64)]
    buckets = key_buckets(len(banded))
    complete = True
    for start in range(0, SIGNATURE_BYTES, BAND_BYTES):
        keys = band_keys(banded, start)
        bucket = keys & np.uint32(buckets - 1)
        shared = np.flatnonzero(np.bincount(bucket, minlength=buckets)[bucket] > 1)
        order = shared[np.argsort(keys[shared].astype(np.int64) * len(banded) + shared)]
        complete &= _run_pairs(keys[order], rows[order], size, found)
    pairs = np.sort(np.concatenate(found))
    distinct = np.ones(len(pairs), dtype=bool)
    np.not_equal(pairs[1:], pairs[:-1], out=distinct[1:])
    pairs = pairs[distinct]
    return CandidatePairs(pairs // size, pairs % size, complete)


def _run_pairs(keys: np.ndarray, rows: np.ndarray, size: int, found: list[np.ndarray]) -> bool:
    """Append ``first * size + second`` for the rows of each run of equal ``keys`` (sorted,
    rows ascending within a run) up to ``RUN_ROWS - 1`` places apart; whether no run was
    longer. One step per distance: the positions still inside their run at distance
    ``step`` are the ones that were at ``step - 1`` and whose key still agrees."""
    ahead = np.arange(max(0, len(keys) - 1))
    for step in range(1, RUN_ROWS):
        ahead = ahead[ahead + step < len(keys)]
        ahead = ahead[keys[ahead + step] == keys[ahead]]
        if not len(ahead):
            return True
        found.append(rows[ahead] * size + rows[ahead + step])
    beyond = ahead[ahead + RUN_ROWS < len(keys)]
    return not np.any(keys[beyond + RUN_ROWS] == keys[beyond])


def key_buckets(rows: int) -> int:
    """How many buckets a band's keys are counted in for ``rows`` rows: a power of two, at
    least eight per row (so that few rows whose keys differ share a bucket) and at most
    the keys' own number (a band of three bytes has 16 million; counting in that many
    costs as much as the grouping of a small index).
    """
    return min(1 << (8 * BAND_BYTES), 1 << max(10, (8 * rows).bit_length()))


def band_keys(signatures: np.ndarray, start: int) -> np.ndarray:
    """Each row's band of bytes from ``start`` as one number."""
    keys = np.zeros(len(signatures), dtype=np.uint32)
    for column in range(start, start + BAND_BYTES):
        keys = (keys << 8) | signatures[:, column]
    return keys


def every_band_key(signatures: np.ndarray) -> np.ndarray:
    """Each row's keys of all its bands (a row per signature, a column per band), worked
    out in one pass over the matrix: a band at a time reads every row's bytes once for
    each of the band's bytes (a second at a million articles for all the bands)."""
    bands = signatures.reshape(len(signatures), SIGNATURE_BYTES // BAND_BYTES, BAND_BYTES)
    keys = bands[:, :, 0].astype(np.uint32)
    for column in range(1, BAND_BYTES):
        keys <<= 8
        keys |= bands[:, :, column]
    return keys


def similar_pairs(
    signatures: np.ndarray, pairs: CandidatePairs, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """The candidate pairs whose estimated similarity reaches ``threshold``."""
    agreeing = agreeing_bytes(signatures, pairs.first, pairs.second)
    similar = estimated_similarity(agreeing) >= threshold
    return pairs.first[similar], pairs.second[similar]


def agreeing_bytes(signatures: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """How many signature bytes each pair agrees on."""
    return np.count_nonzero(signatures[first] == signatures[second], axis=1)


def group_signatures(signatures: np.ndarray, present: np.ndarray, threshold: float) -> np.ndarray:
    """A group label per row, the rule of both engines: rows that share a band
    (:func:`candidate_pairs`) and whose similarity reaches ``threshold`` are linked, and
    linked rows share a label (:func:`linked_groups`). Rows not ``present`` (deleted, or
    without words) are alone."""
    pairs = candidate_pairs(signatures, np.flatnonzero(present))
    return linked_groups(len(signatures), *similar_pairs(signatures, pairs, threshold))
