"""First-pass and warm search latency of this tree against a baseline commit, same index,
same run.

Each tree runs in a fresh interpreter (``searchsvc`` imported from a ``git archive`` of
``--baseline``, or from this tree): open the index, one pass over the query set (every
term seen for the first time), then a second pass (warm caches). Prints p50/p99 per pass
and this tree's ratio to the baseline:

    python benchmarks/bench_first_pass.py --index DIR [--baseline main] [--limit N]
        [--rounds N] [--by-kind] [--collection NAME] [--ranking NAME=VALUE ...]

``--rounds`` runs each tree that many times, the trees taking turns (a shared machine's
speed drifts within minutes), and reports medians over the rounds. ``--by-kind`` adds the
first pass kind by kind: p50 and p99 of wall time and of the searching thread's CPU time,
which the other processes of a shared machine disturb less.

``--collection`` (cisi, cranfield, lisa, med, npl) asks a test collection's queries
instead, each a question of one or several sentences, of kind "question", over that
collection's documents: built into ``--index`` first when it holds no index yet, as
``eval_ranking.py`` builds them.

``--ranking NAME=VALUE[,NAME=VALUE...]`` (repeatable; written as ``eval_ranking.py``'s
``--variant``) opens this tree's engine with those fields of ``RankingConfig`` changed (the
baseline keeps its defaults), so that with ``--baseline HEAD`` one run measures what a part
of the ranking costs: ``--ranking feedback_docs=0`` is the same code without
pseudo-relevance feedback.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from bench_open import extract_tree
from bench_tables import table
from eval_ranking import (
    DEFAULT_CORPORA,
    EVALUATION_SETTINGS,
    build_collection_index,
    parse_variant,
    split_variant,
)
from measuring import REPO, percentile, taking_turns
from query_set import QUERY_SET, load_query_set
from relevance import COLLECTION_READERS, read_collection

from searchsvc.config import Settings

#: Opens the index with the code of the tree on the path, and reads the queries: a JSON
#: list of [kind, query text].
OPEN_ENGINE = """
import json, sys, time
from pathlib import Path
from searchsvc.config import Settings
from searchsvc.engines import open_engine
from searchsvc.search import SearchRequest
from searchsvc.search.ranking import RankingConfig
with open({queries!r}) as listed:
    queries = [(kind, SearchRequest(query=text)) for kind, text in json.load(listed)]
settings = Settings(index_dir=Path({index!r})).replace(**{settings!r})
engine = open_engine(settings, prepare_lexicon=True, ranking=RankingConfig(**{ranking!r}))
engine.generation
"""

PASSES = (
    OPEN_ENGINE
    + """
passes = []
for _ in range(2):
    times = []
    for _, request in queries:
        start = time.perf_counter()
        engine.search(request)
        times.append(time.perf_counter() - start)
    times.sort()
    passes.append([times[len(times) // 2], times[min(len(times) - 1, len(times) * 99 // 100)]])
print(json.dumps(passes))
"""
)


#: The first pass query by query: [kind, wall seconds, CPU seconds of the thread].
KIND_PASS = (
    OPEN_ENGINE
    + """
timed = []
for kind, request in queries:
    start, cpu = time.perf_counter(), time.thread_time()
    engine.search(request)
    timed.append([kind, time.perf_counter() - start, time.thread_time() - cpu])
print(json.dumps(timed))
"""
)


class Asked(NamedTuple):
    """What both trees search: the index, and the file of the queries in order."""

    index: Path
    queries: Path
    #: Settings the engine opens with beyond the index (a test collection's query limits).
    settings: dict[str, Any]
    #: ``RankingConfig`` fields this tree's engine opens with (``--ranking``), as pairs.
    ranking: tuple[tuple[str, Any], ...] = ()

    def code(self, template: str) -> str:
        return template.format(
            index=str(self.index),
            queries=str(self.queries),
            settings=self.settings,
            ranking=dict(self.ranking),
        )


def ranking_change(text: str) -> tuple[tuple[str, Any], ...]:
    """One ``--ranking`` value, ``NAME=VALUE[,NAME=VALUE...]`` as ``eval_ranking``'s
    ``--variant`` reads it, each a field of ``RankingConfig``: (name, value) pairs, each
    value of its field's type."""
    variant = parse_variant(text)
    try:
        ranking, others = split_variant(variant)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r}: {error}") from None
    if others:
        raise argparse.ArgumentTypeError(f"not fields of RankingConfig: {', '.join(others)}")
    return tuple((name, getattr(ranking, name)) for name in variant)


def passes(tree: Path, asked: Asked) -> list[list[float]]:
    """[[p50, p99] of the first pass, [p50, p99] of the warm one], in seconds."""
    return run_in_tree(tree, asked.code(PASSES))


def run_in_tree(tree: Path, code: str) -> Any:
    """The JSON that ``code`` prints last, run in a fresh interpreter importing ``tree``."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(tree)},
        cwd=tree,  # ``python -c`` imports from the working directory before PYTHONPATH
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def kind_pass(tree: Path, asked: Asked) -> list[tuple[str, float, float]]:
    """The first pass of the code in ``tree``: (kind, wall s, CPU s) for each query."""
    return [tuple(row) for row in run_in_tree(tree, asked.code(KIND_PASS))]


def write_queries(path: Path, collection: str | None, corpora: Path, limit: int) -> None:
    """The query set's queries (filters left out), or the collection's judged ones, as
    [kind, text] pairs in ``path``."""
    if collection is None:
        pairs = [[query.kind, query.query] for query in load_query_set(QUERY_SET)]
    else:
        asked = read_collection(collection, corpora).judged_queries()
        pairs = [["question", query.text] for query in asked]
    path.write_text(json.dumps(pairs[:limit]))


def collection_index(collection: str, corpora: Path, index: Path, scratch: Path) -> None:
    """Build the collection's documents into ``index`` unless it is there already."""
    if index.exists():
        return
    settings = Settings(index_dir=index).replace(**EVALUATION_SETTINGS)
    build_collection_index(read_collection(collection, corpora), settings, scratch / "docs.jsonl")


def kind_table(rounds: dict[str, list[list[tuple[str, float, float]]]], baseline: str) -> str:
    """First-pass p50/p99 (wall, CPU) per kind, medians over the rounds, and the ratios."""
    kinds = sorted({kind for runs in rounds.values() for run in runs for kind, _, _ in run})
    rows = []
    for kind in [*kinds, "all"]:
        cells: dict[str, list[float]] = {}
        for name, runs in rounds.items():
            stats = []
            for column in (1, 2):
                for share in (0.5, 0.99):
                    stats.append(
                        statistics.median(
                            percentile(
                                [row[column] for row in run if kind in ("all", row[0])], share
                            )
                            for run in runs
                        )
                    )
            cells[name] = stats
        base, this = cells[baseline], cells["this tree"]
        rows.append(
            [kind, *(1000 * value for value in base), *(1000 * value for value in this)]
            + [f"{t / b:.2f}x" for t, b in zip(this, base, strict=True)]
        )
    measures = ["p50 ms", "p99 ms", "CPU p50 ms", "CPU p99 ms"]
    headers = ["kind", *(f"base {m}" for m in measures), *(f"this {m}" for m in measures)]
    return table(headers + [f"ratio {m.removesuffix(' ms')}" for m in measures], rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--baseline", default="main")
    parser.add_argument("--limit", type=int, default=10_000, help="first N queries of the set")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each tree, alternating")
    parser.add_argument("--by-kind", action="store_true", help="the first pass kind by kind")
    parser.add_argument("--collection", choices=sorted(COLLECTION_READERS))
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument(
        "--ranking",
        type=ranking_change,
        action="append",
        default=[],
        metavar="NAME=VALUE[,...]",
        help="RankingConfig fields changed for this tree only (repeatable)",
    )
    args = parser.parse_args(argv)
    results: dict[str, list[list[list[float]]]] = {args.baseline: [], "this tree": []}
    by_kind: dict[str, list[list[tuple[str, float, float]]]] = {args.baseline: [], "this tree": []}
    with tempfile.TemporaryDirectory(prefix="searchsvc-baseline-") as scratch:
        folder = Path(scratch)
        settings: dict[str, Any] = {}
        if args.collection:
            collection_index(args.collection, args.corpora, args.index, folder)
            settings = {
                name: EVALUATION_SETTINGS[name] for name in ("max_query_terms", "max_query_length")
            }
        asked = Asked(args.index, folder / "queries.json", settings)
        write_queries(asked.queries, args.collection, args.corpora, args.limit)
        trees = {args.baseline: extract_tree(args.baseline, folder / "tree"), "this tree": REPO}
        ranking = tuple(pair for pairs in args.ranking for pair in pairs)
        changed = {name: asked for name in trees} | {"this tree": asked._replace(ranking=ranking)}
        for name, tree in taking_turns(list(trees.items()), args.rounds):
            results[name].append(passes(tree, changed[name]))
            if args.by_kind:
                by_kind[name].append(kind_pass(tree, changed[name]))
    medians = {
        name: [[statistics.median(run[p][q] for run in runs) for q in (0, 1)] for p in (0, 1)]
        for name, runs in results.items()
    }
    print("| code | first p50 ms | first p99 ms | warm p50 ms | warm p99 ms |")
    print("|---|---|---|---|---|")
    for name, ((first50, first99), (warm50, warm99)) in medians.items():
        cells = [first50, first99, warm50, warm99]
        print(f"| {name} | " + " | ".join(f"{1000 * cell:.1f}" for cell in cells) + " |")
    base, this = medians[args.baseline], medians["this tree"]
    ratios = [this[p][q] / base[p][q] for p in (0, 1) for q in (0, 1)]
    print("| ratio | " + " | ".join(f"{ratio:.2f}x" for ratio in ratios) + " |")
    if args.by_kind:
        print(f"\nFirst pass by kind (medians over {args.rounds} round(s) of each tree):\n")
        print(kind_table(by_kind, args.baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
