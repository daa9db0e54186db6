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
"""

from __future__ import annotations

import re
import zlib

import numpy as np
from datasketch import MinHash

#: Words per shingle: three keeps a changed word from touching more than three shingles,
#: while different stories on one topic rarely share three words in a row.
SHINGLE_WORDS = 3
#: MinHash values per signature, one byte each; a multiple of :data:`BAND_BYTES`.
SIGNATURE_BYTES = 72
#: Bytes per band when looking for candidate pairs (see ``search.collapse``).
BAND_BYTES = 3
_SEED = 20261129
_WORD = re.compile(r"\w+")
#: The random permutations are drawn once; every signature must use the same ones.
_PERMUTATIONS = MinHash(num_perm=SIGNATURE_BYTES, seed=_SEED).permutations
#: Chance that the low bytes of two unrelated MinHash values agree.
_CHANCE = 1 / 256


def shingles(text: str) -> set[bytes]:
    """The distinct runs of :data:`SHINGLE_WORDS` lowercased words of ``text``.

    A text shorter than that is one shingle of all its words.
    """
    words = _WORD.findall(text.lower())
    if len(words) <= SHINGLE_WORDS:
        return {" ".join(words).encode("utf-8")} if words else set()
    return {
        " ".join(words[start : start + SHINGLE_WORDS]).encode("utf-8")
        for start in range(len(words) - SHINGLE_WORDS + 1)
    }


def signature(title: str, body: str) -> bytes:
    """The article's b-bit MinHash signature, or ``b""`` when it has no words.

    CRC-32 hashes the shingles: datasketch's default SHA-1 costs twice the time per
    article, and the permutations mix the values anyway.
    """
    found = shingles(f"{title}\n{body}")
    if not found:
        return b""
    minhash = MinHash(
        num_perm=SIGNATURE_BYTES,
        seed=_SEED,
        hashfunc=zlib.crc32,
        permutations=_PERMUTATIONS,
        scheme="affine32",
    )
    minhash.update_batch(list(found))
    return (minhash.hashvalues & 0xFF).astype(np.uint8).tobytes()


def estimated_similarity(agreeing: np.ndarray) -> np.ndarray:
    """Jaccard similarity estimated from how many signature bytes agree, per pair."""
    share = agreeing / SIGNATURE_BYTES
    return np.clip((share - _CHANCE) / (1 - _CHANCE), 0.0, 1.0)
