"""What the groups of copies cost, this tree against a baseline commit, same indexes, same run.

Each tree runs in a fresh interpreter (``searchsvc`` imported from a ``git archive`` of
``--baseline``, or from this tree), the trees taking turns index by index:

* ``grouping``: the CPU of grouping the index's signatures from scratch
  (``collapse.group_signatures``, best of ``--repeat``), the groups found, and how many
  of the baseline's groups this tree does not find as they are;
* ``first search``: open the index and answer one query, CPU and wall time, then the
  CPU of the groups the first search worked out (``collapse.version_groups``, with
  whatever the generation stores for it).

    python benchmarks/bench_copy_groups.py --index reuters=DIR --index 100k=DIR [--baseline main]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench_first_pass import run_in_tree
from bench_open import extract_tree
from measuring import REPO

GROUPING = """
import json, time
import numpy as np
from pathlib import Path
from searchsvc.config import Settings
from searchsvc.search import SearchEngine
from searchsvc.search.collapse import SIGNATURE_COLUMN, group_signatures, signature_matrix
from searchsvc.search.columns import read_var_bytes
settings = Settings(index_dir=Path({index!r}))
with SearchEngine(settings) as engine, engine._serving.reading() as reading:
    signatures, present = signature_matrix(read_var_bytes(reading.searcher, SIGNATURE_COLUMN))
    present &= reading.columns.live.mask
best = float("inf")
for _ in range({repeat}):
    start = time.process_time()
    labels = group_signatures(signatures, present, settings.versions_threshold)
    best = min(best, time.process_time() - start)
sizes = np.bincount(labels)
groups = {{}}
for row in np.flatnonzero(sizes[labels] > 1).tolist():
    groups.setdefault(int(labels[row]), []).append(row)
print(json.dumps([best, sorted(groups.values())]))
"""

FIRST_SEARCH = """
import json, time
from pathlib import Path
from searchsvc.config import Settings
from searchsvc.engines import open_engine
from searchsvc.search import SearchRequest
from searchsvc.search.collapse import version_groups
settings = Settings(index_dir=Path({index!r}))
engine = open_engine(settings, prepare_lexicon=True)
engine.generation
cpu, wall = time.process_time(), time.perf_counter()
engine.search(SearchRequest(query={query!r}))
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
with engine._serving.reading() as reading:
    best = float("inf")
    for _ in range({repeat}):
        reading.snapshot._kept.clear()
        start = time.process_time()
        version_groups(reading, settings.versions_threshold)
        best = min(best, time.process_time() - start)
print(json.dumps([cpu, wall, best]))
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", action="append", required=True, help="NAME=DIR")
    parser.add_argument("--baseline", default="main")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--query", default="prices")
    parser.add_argument("--skip", choices=("grouping", "first"), action="append", default=[])
    args = parser.parse_args(argv)
    indexes = dict(item.split("=", 1) for item in args.index)
    with tempfile.TemporaryDirectory(prefix="searchsvc-baseline-") as scratch:
        trees = {args.baseline: extract_tree(args.baseline, Path(scratch)), "this tree": REPO}
        if "grouping" not in args.skip:
            grouping(trees, indexes, args.repeat)
        if "first" not in args.skip:
            first_search(trees, indexes, args.repeat, args.query)
    return 0


def grouping(trees: dict[str, Path], indexes: dict[str, str], repeat: int) -> None:
    print("| index | code | grouping CPU s (best) | ratio | groups | baseline's groups changed |")
    print("|---|---|---|---|---|---|")
    for name, index in indexes.items():
        code = GROUPING.format(index=index, repeat=repeat)
        found = {tree: run_in_tree(path, code) for tree, path in trees.items()}
        base_cpu, base_groups = next(iter(found.values()))
        for tree, (cpu, groups) in found.items():
            changed = len({tuple(g) for g in base_groups} - {tuple(g) for g in groups})
            print(
                f"| {name} | {tree} | {cpu:.4f} | {cpu / base_cpu:.2f} | {len(groups)} "
                f"| {changed} |"
            )


def first_search(trees: dict[str, Path], indexes: dict[str, str], repeat: int, query: str) -> None:
    print("| index | code | first search CPU s | wall s | CPU ratio | the commit's groups CPU s |")
    print("|---|---|---|---|---|---|")
    for name, index in indexes.items():
        code = FIRST_SEARCH.format(index=index, repeat=repeat, query=query)
        found = {tree: run_in_tree(path, code) for tree, path in trees.items()}
        base_cpu = next(iter(found.values()))[0]
        for tree, (cpu, wall, groups) in found.items():
            print(
                f"| {name} | {tree} | {cpu:.3f} | {wall:.3f} | {cpu / base_cpu:.2f} "
                f"| {groups:.4f} |"
            )


if __name__ == "__main__":
    raise SystemExit(main())
