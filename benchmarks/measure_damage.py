"""What a flipped byte that opening does not sample does to answers: error, nothing, or wrong.

Opening compares sizes, small files, columns and fixed chunks of the term dictionaries,
postings and stored articles (``searchsvc/index/manifest.py``). This flips one byte at a
random unsampled offset of those three kinds of file, asks the committed query set plus
words drawn from the index's own lexicon (mostly rare: their postings live in the term
dictionary), compares each answer (total and first page of ids) with the undamaged one,
and flips the byte back. Each trial counts as "error" when some query failed (the
search then verifies the generation and refuses it), "wrong" when some answer differed
before any failure, and "unseen" when every answer was the same.

``--terms`` instead aims each flip at one term: a byte of its record in the term
dictionary (key or value, where rare terms keep their postings inline) or of its blocks
in the postings file, and reads that term's postings as a query would
(``search/postings.py``), comparing them with the undamaged ones.

    python benchmarks/measure_damage.py --index DIR [--trials 100] [--words 300]
    python benchmarks/measure_damage.py --index DIR --terms [--trials 300]
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
from searchsvc.index.manifest import CHUNK_BYTES, is_sampled, sample_offsets
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
            start <= offset < start + CHUNK_BYTES
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


TEXT_FIELDS = ("title", "body", "title_words", "body_words")


def term_regions(reader: Any) -> list[tuple[str, str, str, int, int]]:
    """(file kind, field, term, start, end) of every text term's record in the term
    dictionary and, when not inlined, of its blocks in the postings file."""
    terms = reader._terms
    tindex = terms._tindex
    regions = []
    for keypos, keylen, datapos, datalen in tindex._ranges():
        field, text = terms._keydecoder(tindex.dbfile.get(keypos, keylen))
        if field not in TEXT_FIELDS:
            continue
        text = text.decode("utf-8")
        regions.append((".trm", field, text, keypos, datapos + datalen))
        info = reader.term_info(field, text)
        if not info.is_inlined():
            offset, length = info.extent()
            (length,) = length if isinstance(length, tuple) else (length,)
            regions.append((".pst", field, text, offset, offset + length))
    return regions


def postings_of(index_dir: Path, field: str, text: str) -> Any:
    from searchsvc.search.postings import read_postings

    with open_index(index_dir) as opened, opened.searcher() as searcher:
        found = read_postings(searcher, field, text)
        return found.ids.tolist(), found.tfs.tolist()


def term_trials(index_dir: Path, trials: int, rnd: random.Random) -> Counter:
    with open_index(index_dir) as opened, opened.searcher() as searcher:
        gen_dir = opened.path
        leaf = searcher.leaf_searchers()[0][0]
        segment = leaf.reader()._segment.segment_id()
        regions = term_regions(leaf.reader())
    outcomes: Counter = Counter()
    for _ in range(trials):
        kind, field, text, start, end = rnd.choice(regions)
        path = gen_dir / f"{segment}{kind}"
        offset = rnd.randrange(start, end)
        expected = postings_of(index_dir, field, text)
        flip(path, offset)
        try:
            got = postings_of(index_dir, field, text)
            outcome = "unseen" if got == expected else "wrong"
        except IndexCorrupt:
            outcome = "refused at open"
        except Exception:  # the read failed: the search would verify and refuse
            outcome = "error"
        finally:
            flip(path, offset)
        outcomes[kind, outcome] += 1
    return outcomes


def print_term_table(outcomes: Counter, trials: int) -> None:
    names = ("refused at open", "error", "unseen", "wrong")
    print(f"{trials} flips, each in one term's bytes of the first segment")
    print("| file | flips | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for kind in (".trm", ".pst"):
        counts = [outcomes[kind, name] for name in names]
        print(f"| {kind} | {sum(counts)} | " + " | ".join(map(str, counts)) + " |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--words", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--terms", action="store_true", help="aim each flip at one term")
    args = parser.parse_args(argv)
    rnd = random.Random(args.seed)
    if args.terms:
        print_term_table(term_trials(args.index, args.trials, rnd), args.trials)
        return 0
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
