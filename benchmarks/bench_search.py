"""In-process search latency over Reuters-21578: the fixed query mix, p50/p95/p99.

Each search is what the search page does: top 10 with highlighted titles and snippets,
the total, and place / places / source / date counts over the whole result set, with the
query set's facet filters applied. Round 1 meets every query for the first time (postings
are decoded and cached per commit); the later rounds are warm. ``--fts5`` measures the
SQLite FTS5 baseline (``fts5.py``) the same way, in the same process, for the ratio.

    python benchmarks/bench_search.py [--reuters DIR] [--index DIR] [--rounds 5] [--fts5]

Without ``--index`` the index is built into a temporary directory first (a minute or two).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from measuring import DEFAULT_REUTERS, latency_summary, read_reuters, reuters_paths
from query_set import QUERY_SET, BenchQuery, load_query_set

from searchsvc.config import Settings
from searchsvc.index import build_index, read_current
from searchsvc.search import SearchEngine


def measure(
    run: Callable[[BenchQuery], object], queries: Sequence[BenchQuery], rounds: int
) -> dict[str, object]:
    per_round: list[list[float]] = []
    by_kind: dict[str, list[float]] = {}
    for number in range(rounds):
        latencies = []
        for query in queries:
            began = time.perf_counter()
            run(query)
            elapsed = time.perf_counter() - began
            latencies.append(elapsed)
            if number:
                by_kind.setdefault(query.kind, []).append(elapsed)
        per_round.append(latencies)
    warm = [latency for latencies in per_round[1:] for latency in latencies]
    return {
        "cold": latency_summary(per_round[0]),
        "warm": latency_summary(warm or per_round[0]),
        "by_kind": {kind: statistics.median(v) * 1000 for kind, v in sorted(by_kind.items())},
    }


def searchsvc_runner(index_dir: Path) -> tuple[Callable[[BenchQuery], object], Callable[[], None]]:
    engine = SearchEngine(Settings(index_dir=index_dir))
    engine.generation  # noqa: B018 - opens the index and loads its columns before timing
    return (lambda query: engine.search(query.to_request())), engine.close


def fts5_runner(
    work: Path, reuters: Path
) -> tuple[Callable[[BenchQuery], object], Callable[[], None]]:
    from fts5 import Fts5Searcher, build_fts5

    build_fts5(read_reuters(reuters), work)
    searcher = Fts5Searcher(work)
    return (lambda query: searcher.search(query)), searcher.close


def format_table(results: dict[str, dict[str, object]]) -> str:
    header = ("engine", "round", "p50 ms", "p95 ms", "p99 ms", "mean", "n")
    lines = ["{:<10} {:<6} {:>8} {:>8} {:>8} {:>8} {:>6}".format(*header)]
    for engine, result in results.items():
        for phase in ("cold", "warm"):
            s = result[phase]
            lines.append(
                f"{engine:<10} {phase:<6} {s['p50']:8.2f} {s['p95']:8.2f} {s['p99']:8.2f} "
                f"{s['mean']:8.2f} {s['count']:6d}"
            )
    kinds = sorted({kind for result in results.values() for kind in result["by_kind"]})
    lines.append("")
    lines.append("warm median by kind (ms): " + "  ".join(f"{k}" for k in results))
    for kind in kinds:
        values = "  ".join(
            f"{result['by_kind'].get(kind, float('nan')):8.2f}" for result in results.values()
        )
        lines.append(f"  {kind:<12} {values}")
    if "fts5" in results and "searchsvc" in results:
        ours, theirs = results["searchsvc"]["warm"], results["fts5"]["warm"]
        lines.append("")
        lines.append(
            f"warm p50 ratio searchsvc/fts5: {ours['p50'] / theirs['p50']:.2f}x; "
            f"p99 {ours['p99']:.1f} ms vs {theirs['p99']:.1f} ms"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuters", type=Path, default=DEFAULT_REUTERS)
    parser.add_argument("--index", type=Path, help="an existing index directory to search")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--query-set", type=Path, default=QUERY_SET)
    parser.add_argument("--fts5", action="store_true", help="also measure the SQLite FTS5 baseline")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    queries = load_query_set(args.query_set)
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-search-") as work:
        index_dir = args.index
        if index_dir is None or read_current(index_dir) is None:
            index_dir = Path(work) / "index"
            print(f"building the index of {args.reuters} ...", file=sys.stderr)
            build_index(reuters_paths(args.reuters), Settings(index_dir=index_dir))
        run, close = searchsvc_runner(index_dir)
        results["searchsvc"] = measure(run, queries, args.rounds)
        close()
        if args.fts5:
            print("building the FTS5 baseline ...", file=sys.stderr)
            run, close = fts5_runner(Path(work) / "fts5", args.reuters)
            results["fts5"] = measure(run, queries, args.rounds)
            close()
    print(f"{len(queries)} queries x {args.rounds} rounds (round 1 cold, the rest warm)")
    print(format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
