"""What a flipped byte that opening does not sample does to answers: error, nothing, or wrong.

Opening compares sizes, small files, columns and fixed chunks of the term dictionaries,
postings and stored articles (``searchsvc/index/manifest.py``). This flips one byte at a
random unsampled offset of those three kinds of file, asks the committed query set plus
words drawn from the index's own lexicon (mostly rare: their postings live in the term
dictionary), compares each answer (total and first page of ids) with the undamaged one,
and flips the byte back. Each trial counts as "error" when some query failed (the
search then verifies the generation and refuses it), "wrong" when some answer differed
before any failure, and "unseen" when every answer was the same.

    python benchmarks/measure_damage.py --index DIR [--trials 100] [--words 300]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from query_set import load_query_set

from searchsvc.config import Settings
from searchsvc.index import IndexCorrupt, open_index
from searchsvc.index.generations import DAMAGED_FILE
from searchsvc.index.manifest import SAMPLE_BYTES, is_sampled, sample_offsets
from searchsvc.search import SearchEngine, SearchRequest

KINDS = (".trm", ".pst", "._stored.col")


def lexicon_words(index_dir: Path, count: int, rnd: random.Random) -> list[str]:
    with open_index(index_dir) as opened, opened.searcher() as searcher:
        words = [term.decode("utf-8") for term in searcher.reader().lexicon("body_words")]
    return rnd.sample(words, min(count, len(words)))


def answers(engine: SearchEngine, queries: Sequence[str]) -> list[Any]:
    """Each query's (total, ids of the first page), or the error it raised."""
    found: list[Any] = []
    for query in queries:
        try:
            result = engine.search(SearchRequest(query=query))
        except Exception as error:  # a failure is an outcome to count
            found.append(error)
            break  # the generation is refused from here on
        found.append((result.total, [hit.id for hit in result.hits]))
    return found


def unsampled_offset(gen_dir: Path, rnd: random.Random) -> tuple[Path, int]:
    """A byte, uniform over the sampled kinds' bytes that opening does not read."""
    files = [p for p in gen_dir.iterdir() if p.name.endswith(KINDS)]
    files = [p for p in files if is_sampled(p.name, p.stat().st_size)]
    weights = [p.stat().st_size for p in files]
    while True:
        path = rnd.choices(files, weights)[0]
        offset = rnd.randrange(path.stat().st_size)
        if not any(
            start <= offset < start + SAMPLE_BYTES
            for start in sample_offsets(weights[files.index(path)])
        ):
            return path, offset


def flip(path: Path, offset: int) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)[0]
        handle.seek(offset)
        handle.write(bytes([byte ^ 0xFF]))


def trial(
    index_dir: Path, gen_dir: Path, queries: Sequence[str], expected: list[Any], rnd: random.Random
) -> tuple[str, str]:
    path, offset = unsampled_offset(gen_dir, rnd)
    kind = next(kind for kind in KINDS if path.name.endswith(kind))
    flip(path, offset)
    try:
        with SearchEngine(Settings(index_dir=index_dir)) as engine:
            got = answers(engine, queries)
    except IndexCorrupt:
        got = [IndexCorrupt()]
    finally:
        flip(path, offset)
        (gen_dir / DAMAGED_FILE).unlink(missing_ok=True)
    for mine, theirs in zip(got, expected, strict=False):
        if isinstance(mine, Exception):
            return kind, "error"
        if mine != theirs:
            return kind, "wrong"
    return kind, "unseen"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--words", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rnd = random.Random(args.seed)
    queries = [q.query for q in load_query_set()] + lexicon_words(args.index, args.words, rnd)
    with SearchEngine(Settings(index_dir=args.index)) as engine:
        expected = answers(engine, queries)
        gen_dir = open_index(args.index).path
    outcomes = Counter(
        trial(args.index, gen_dir, queries, expected, rnd) for _ in range(args.trials)
    )
    print(f"{args.trials} trials, {len(queries)} queries each")
    print("| file | trials | error (refused) | unseen | wrong answer |")
    print("|---|---|---|---|---|")
    for kind in KINDS:
        counts = [outcomes[kind, outcome] for outcome in ("error", "unseen", "wrong")]
        print(f"| {kind} | {sum(counts)} | " + " | ".join(map(str, counts)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
