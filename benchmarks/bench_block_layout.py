"""A change of the postings block layout measured against a baseline commit: each tree
reads the index it builds, both built from the same articles, in the same run.

``bench_first_pass.py`` runs both trees on one index; when the baseline cannot read this
tree's index (a new on-disk layout), each tree needs its own build. Per tree, in fresh
interpreters, taking turns (``--rounds`` of each): the postings files' and the index's
sizes; first and warm passes over the query set (p50/p99, as ``bench_first_pass.py``);
the CPU time of decoding every postings list the query set reads (a term's blocks in a
segment, from bytes already read, as a first search decodes them); and whether every
query answers the same on both (all of a response but ``took_ms``):

    python benchmarks/bench_block_layout.py --index DIR --baseline-index DIR [--baseline main]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench_first_pass import passes, run_in_tree
from bench_open import extract_tree
from measuring import REPO

#: Runs in a child with the tree on its path: decoding time and responses, as JSON.
DECODE = """
import json, sys, time
sys.path.insert(0, {benchmarks!r})
from pathlib import Path
from query_set import QUERY_SET, load_query_set
from searchsvc.config import Settings
from searchsvc.engines import open_engine
from searchsvc.index import open_index
from searchsvc.index.codec import CompactTermsReader, decode_run, read_run
from searchsvc.search import postings
queries = load_query_set(QUERY_SET)[: {limit}]
engine = open_engine(Settings(index_dir=Path({index!r})), prepare_lexicon=True)
read = set()
leaf_postings = postings._leaf_postings
def recording(reader, field, text, with_positions):
    read.add((field, text))
    return leaf_postings(reader, field, text, with_positions)
postings._leaf_postings = recording
responses = []
for query in queries:
    result = engine.search(query.to_request(with_filters=False)).to_dict()
    result.pop("took_ms")
    responses.append(result)
postings._leaf_postings = leaf_postings
with open_index(Path({index!r})) as opened, opened.searcher() as searcher:
    lists = []
    for leaf, _offset in searcher.reader().leaf_readers():
        terms = leaf._terms
        if not isinstance(terms, CompactTermsReader):
            continue
        for field, text in sorted(read):
            if field not in leaf.schema or (field, text) not in leaf:
                continue
            info = terms.term_info(field, leaf._text_to_bytes(field, text))
            if info.is_inlined():
                continue
            offset, length = info.extent()
            if isinstance(length, tuple):  # as Whoosh 3's term record reads it back
                (length,) = length
            fixed = leaf.schema[field].format.fixed_value_size()
            lists.append((terms._postfile.get(offset, length), fixed))
seconds = []
for _ in range({repeats}):
    start = time.process_time()
    for extent, fixed in lists:
        decode_run(read_run(extent), fixed)
    seconds.append(time.process_time() - start)
blocks = sum(len(read_run(extent).counts) for extent, _fixed in lists)
print(json.dumps({{"seconds": min(seconds), "lists": len(lists), "blocks": blocks,
                  "postings_bytes": sum(len(extent) for extent, _fixed in lists),
                  "responses": responses}}))
"""


def decoding(tree: Path, index: Path, limit: int, repeats: int) -> dict[str, Any]:
    code = DECODE.format(
        benchmarks=str(REPO / "benchmarks"), index=str(index), limit=limit, repeats=repeats
    )
    return run_in_tree(tree, code)


def sizes(index: Path) -> dict[str, int]:
    files = [path for path in index.rglob("*") if path.is_file()]
    return {
        "postings": sum(path.stat().st_size for path in files if path.suffix == ".pst"),
        "index": sum(path.stat().st_size for path in files),
    }


def median_passes(runs: list[list[list[float]]]) -> list[float]:
    """Per figure (first p50, first p99, warm p50, warm p99), the median over the rounds."""
    return [statistics.median(run[p][q] for run in runs) for p in (0, 1) for q in (0, 1)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="built by this tree")
    parser.add_argument("--baseline-index", type=Path, required=True, help="built by baseline")
    parser.add_argument("--baseline", default="main")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="decoding repeats (min taken)")
    parser.add_argument("--limit", type=int, default=10_000, help="first N queries of the set")
    args = parser.parse_args(argv)
    names = (args.baseline, "this tree")
    indexes = dict(zip(names, (args.baseline_index, args.index), strict=True))
    runs: dict[str, list] = {name: [] for name in names}
    decoded: dict[str, list] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="searchsvc-baseline-") as scratch:
        trees = dict(zip(names, (extract_tree(args.baseline, Path(scratch)), REPO), strict=True))
        for _ in range(args.rounds):
            for name in names:
                runs[name].append(passes(trees[name], indexes[name], args.limit))
                decoded[name].append(decoding(trees[name], indexes[name], args.limit, args.repeats))
    print_tables(names, indexes, runs, decoded)
    return 0


def print_tables(
    names: tuple[str, str],
    indexes: dict[str, Path],
    runs: dict[str, list],
    decoded: dict[str, list],
) -> None:
    """Sizes, passes, decoding and the responses' check, each tree against the baseline."""
    base, this = names
    size = {name: sizes(indexes[name]) for name in names}
    print("| code | .pst MiB | index MiB |")
    print("|---|---|---|")
    for name in names:
        cells = [size[name]["postings"] / 2**20, size[name]["index"] / 2**20]
        print(f"| {name} | " + " | ".join(f"{cell:,.1f}" for cell in cells) + " |")
    ratios = [size[this][part] / size[base][part] for part in ("postings", "index")]
    print("| ratio | " + " | ".join(f"{ratio:.3f}x" for ratio in ratios) + " |\n")
    medians = {name: median_passes(runs[name]) for name in names}
    print(f"median of {len(runs[this])} rounds, each tree on its own index")
    print("| code | first p50 ms | first p99 ms | warm p50 ms | warm p99 ms |")
    print("|---|---|---|---|---|")
    for name in names:
        print(f"| {name} | " + " | ".join(f"{1000 * cell:.1f}" for cell in medians[name]) + " |")
    ratios = [mine / theirs for mine, theirs in zip(medians[this], medians[base], strict=True)]
    print("| ratio | " + " | ".join(f"{ratio:.2f}x" for ratio in ratios) + " |\n")
    cpu = {name: min(run["seconds"] for run in decoded[name]) for name in names}
    first = {name: decoded[name][0] for name in names}
    print("| code | postings lists | blocks | MiB read | decode CPU s (best) |")
    print("|---|---|---|---|---|")
    for name in names:
        row = first[name]
        cells = [f"{row['lists']:,}", f"{row['blocks']:,}", f"{row['postings_bytes'] / 2**20:.1f}"]
        print(f"| {name} | " + " | ".join(cells) + f" | {cpu[name]:.3f} |")
    print(f"| ratio | | | | {cpu[this] / cpu[base]:.2f}x |\n")
    same = first[base]["responses"] == first[this]["responses"]
    print(f"responses of {len(first[this]['responses'])} queries identical: {same}")


if __name__ == "__main__":
    raise SystemExit(main())
