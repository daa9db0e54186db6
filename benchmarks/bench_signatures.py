"""CPU per article of a story signature: this code's NumPy MinHash next to datasketch's.

The reference is what the index computed before: a ``datasketch.MinHash`` per article
(affine32, CRC-32 of each distinct shingle). Both run over the same Reuters-21578 articles,
alternating round by round in one process, so both see the same load; the table shows the
median round of each, their ratio, and how many signatures differ (it must be 0)::

    python benchmarks/bench_signatures.py [--reuters DIR] [--rounds 5]

Skips (exit 0, saying so) when the collection is absent.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from datasketch import MinHash
from measuring import DEFAULT_REUTERS, read_reuters

from searchsvc.index.versions import SIGNATURE_BYTES, shingles, signature

Texts = Sequence[tuple[str, str]]
_SEED = 20261129
#: Drawn once and shared, as the index did, so no MinHash draws its own.
_PERMUTATIONS = MinHash(num_perm=SIGNATURE_BYTES, seed=_SEED).permutations


def datasketch_signature(title: str, body: str) -> bytes:
    """The signature as a ``datasketch.MinHash`` per article computes it."""
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


def cpu_per_article(compute: Callable[[str, str], bytes], texts: Texts) -> float:
    """Process CPU seconds per article of ``compute`` over ``texts``."""
    start = time.process_time()
    for title, body in texts:
        compute(title, body)
    return (time.process_time() - start) / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuters", type=Path, default=DEFAULT_REUTERS)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    try:
        texts = [(article.title, article.body) for article in read_reuters(args.reuters)]
    except FileNotFoundError:
        print(f"skipped: no Reuters-21578 in {args.reuters}")
        return
    kinds = {"datasketch MinHash": datasketch_signature, "this code": signature}
    rounds: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(args.rounds):
        for name, compute in kinds.items():
            rounds[name].append(cpu_per_article(compute, texts))
    differ = sum(signature(*text) != datasketch_signature(*text) for text in texts)
    reference = statistics.median(rounds["datasketch MinHash"])
    print(f"{len(texts):,} Reuters articles, median of {args.rounds} alternating rounds")
    print("| signature | CPU µs / article | vs datasketch |")
    print("|---|---|---|")
    for name, values in rounds.items():
        median = statistics.median(values)
        print(f"| {name} | {median * 1e6:.1f} | {median / reference:.2f}x |")
    print(f"signatures that differ: {differ} of {len(texts):,}")


if __name__ == "__main__":
    sys.exit(main())
