"""First-pass and warm search latency of this tree against a baseline commit, same index,
same run.

Each tree runs in a fresh interpreter (``searchsvc`` imported from a ``git archive`` of
``--baseline``, or from this tree): open the index, one pass over the query set (every
term seen for the first time), then a second pass (warm caches). Prints p50/p99 per pass
and this tree's ratio to the baseline:

    python benchmarks/bench_first_pass.py --index DIR [--baseline main] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench_open import extract_tree
from measuring import REPO

PASSES = """
import json, sys, time
sys.path.insert(0, {benchmarks!r})
from pathlib import Path
from query_set import QUERY_SET, load_query_set
from searchsvc.config import Settings
from searchsvc.engines import open_engine
queries = load_query_set(QUERY_SET)[: {limit}]
engine = open_engine(Settings(index_dir=Path({index!r})), prepare_lexicon=True)
engine.generation
passes = []
for _ in range(2):
    times = []
    for query in queries:
        start = time.perf_counter()
        engine.search(query.to_request(with_filters=False))
        times.append(time.perf_counter() - start)
    times.sort()
    passes.append([times[len(times) // 2], times[min(len(times) - 1, len(times) * 99 // 100)]])
print(json.dumps(passes))
"""


def passes(tree: Path, index: Path, limit: int) -> list[list[float]]:
    """[[p50, p99] of the first pass, [p50, p99] of the warm one], in seconds."""
    code = PASSES.format(benchmarks=str(REPO / "benchmarks"), index=str(index), limit=limit)
    return run_in_tree(tree, code)


def run_in_tree(tree: Path, code: str) -> Any:
    """The JSON that ``code`` prints last, run in a fresh interpreter importing ``tree``."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--baseline", default="main")
    parser.add_argument("--limit", type=int, default=10_000, help="first N queries of the set")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="searchsvc-baseline-") as scratch:
        trees = {args.baseline: extract_tree(args.baseline, Path(scratch)), "this tree": REPO}
        results = {name: passes(tree, args.index, args.limit) for name, tree in trees.items()}
    print("| code | first p50 ms | first p99 ms | warm p50 ms | warm p99 ms |")
    print("|---|---|---|---|---|")
    for name, ((first50, first99), (warm50, warm99)) in results.items():
        cells = [first50, first99, warm50, warm99]
        print(f"| {name} | " + " | ".join(f"{1000 * cell:.1f}" for cell in cells) + " |")
    base, this = results[args.baseline], results["this tree"]
    ratios = [this[p][q] / base[p][q] for p in (0, 1) for q in (0, 1)]
    print("| ratio | " + " | ".join(f"{ratio:.2f}x" for ratio in ratios) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
