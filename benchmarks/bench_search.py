"""Search latency over Reuters-21578 per kind of query, in process and over HTTP.

In process, each search is what the search page does: top 10 with highlighted titles and
snippets, the total, and place / places / source / date counts over the whole result set,
with the query set's facet filters applied. Pass 1 meets every query for the first time
on a freshly opened index (postings, scores and spelling corrections are computed and
cached per commit); the later passes are warm repeats. Both are shown per kind of query.
``--fts5`` measures the SQLite FTS5 baseline (``fts5.py``) the same way, in the same
process, for the ratio. ``--http`` then starts ``searchsvc serve`` on 127.0.0.1 over the
same index and sends the set from ``--clients`` clients: every query once (new to the
server), then repeats for ``--http-seconds``.

    python benchmarks/bench_search.py [--reuters DIR] [--index DIR] [--rounds 5] [--fts5]
        [--http [--clients 16] [--http-seconds 10] [--max-requests 20000]]

Without ``--index`` the index is built into a temporary directory first (a minute or two).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bench_tables as report
from bench_worker import query
from http_load import run_mix
from measuring import DEFAULT_REUTERS, read_reuters, reuters_paths
from query_set import QUERY_SET, load_query_set

from searchsvc.config import Settings
from searchsvc.index import build_index, read_current


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuters", type=Path, default=DEFAULT_REUTERS)
    parser.add_argument("--index", type=Path, help="an existing index directory to search")
    parser.add_argument("--rounds", type=int, default=5, help="passes over the set (1 is cold)")
    parser.add_argument("--query-set", type=Path, default=QUERY_SET)
    parser.add_argument("--fts5", action="store_true", help="also measure the SQLite FTS5 baseline")
    parser.add_argument("--http", action="store_true", help="also load searchsvc serve over HTTP")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--http-seconds", type=float, default=10.0, help="bound of each HTTP pass")
    parser.add_argument("--max-requests", type=int, default=20_000, help="bound of each HTTP pass")
    return parser.parse_args(argv)


def render(results: dict[str, Any], queries: int, rounds: int) -> str:
    ours = results["query"]["searchsvc"]
    parts = [
        f"{queries} queries x {rounds} passes (pass 1: first time on a fresh index; the rest "
        "warm repeats)",
        "",
        report.query_section(results["query"]),
        "",
        "searchsvc by kind of query:",
        "",
        report.kind_latency_section(ours),
    ]
    if "fts5" in results["query"]:
        parts += ["", report.kinds_section(results["query"])]
    if results.get("http"):
        parts += [
            "",
            "HTTP (searchsvc serve, 127.0.0.1):",
            "",
            report.mix_http_section(results["http"]),
            "",
            "HTTP by kind of query:",
            "",
            report.mix_kinds_section(results["http"]),
        ]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    queries = load_query_set(args.query_set)
    results: dict[str, Any] = {"query": {}}
    with tempfile.TemporaryDirectory(prefix="bench-search-") as work:
        index_dir = args.index
        if index_dir is None or read_current(index_dir) is None:
            index_dir = Path(work) / "index"
            print(f"building the index of {args.reuters} ...", file=sys.stderr)
            build_index(reuters_paths(args.reuters), Settings(index_dir=index_dir))
        results["query"]["searchsvc"] = query("searchsvc", index_dir, queries, args.rounds, True)
        if args.fts5:
            from fts5 import build_fts5

            print("building the FTS5 baseline ...", file=sys.stderr)
            build_fts5(read_reuters(args.reuters), Path(work) / "fts5")
            results["query"]["fts5"] = query(
                "fts5", Path(work) / "fts5", queries, args.rounds, True
            )
        if args.http:
            print(f"HTTP load, {args.clients} clients ...", file=sys.stderr)
            results["http"] = run_mix(
                index_dir,
                queries,
                clients=args.clients,
                seconds=args.http_seconds,
                max_requests=args.max_requests,
            )
    print(render(results, len(queries), args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
