"""Adding an export to a serving index (``searchsvc index-add``): this code against
another checkout, alternated, each in a child process (CPU and peak memory of the whole
process tree), with the same answers afterwards::

    git archive main | tar -x -C /tmp/base
    python benchmarks/bench_update.py EXPORT.jsonl --baseline /tmp/base --repeat 3

Each run builds an index of the seed stories, adds ``EXPORT`` to it, then adds the first
``--replace`` lines of it again (every one replacing an article). The index's answers to
a few queries must be the same for both checkouts; the table shows each one's median run
and the ratio this code / baseline.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_build import REPO, run_measured

SEEDS = REPO / "seeds"
QUERIES = ["oil prices", "minister talks", "harbour", "strike OR court", '"trade exports"']


def run(tree: Path, export: Path, replacing: Path, workdir: Path) -> dict[str, Any]:
    """Build the seeds' index with ``tree``'s code, then add ``export`` and ``replacing``."""
    index_dir = Path(tempfile.mkdtemp(prefix="index-", dir=workdir))
    env = {**os.environ, "PYTHONPATH": str(tree), "SEARCHSVC_INDEX_DIR": str(index_dir)}
    searchsvc = [sys.executable, "-m", "searchsvc"]
    run_measured([*searchsvc, "build-index", str(SEEDS)], env, tree)
    added = run_measured([*searchsvc, "index-add", str(export)], env, tree)
    replaced = run_measured([*searchsvc, "index-add", str(replacing)], env, tree)
    answers = run_measured([sys.executable, __file__, "--answers", str(index_dir)], env, REPO)[3]
    return {
        "add_seconds": added[0],
        "add_cpu": added[1],
        "add_peak": added[2],
        "replace_cpu": replaced[1],
        "answers": answers,
    }


def print_answers(index_dir: Path) -> None:
    """The answers compared: each query's total and ranked ids with scores (a child)."""
    from searchsvc.config import Settings
    from searchsvc.search import SearchEngine, SearchRequest

    with SearchEngine(Settings(index_dir=index_dir)) as engine:
        results = [engine.search(SearchRequest(query=q, per_page=100)) for q in QUERIES]
    print(json.dumps([[r.total, [[h.id, round(h.score, 9)] for h in r.hits]] for r in results]))


def print_table(export: Path, runs: dict[str, list[dict[str, Any]]]) -> None:
    lines = sum(1 for _ in export.open("rb"))
    print(f"\n{export}: {lines:,} lines, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    header = f"{'code':10} {'add s':>7} {'add CPU s':>9} {'articles/s':>10} {'peak RSS':>9}"
    header += f" {'replace CPU s':>13}"
    print(header)
    print("-" * len(header))
    medians = {}
    for name, rows in runs.items():
        row = medians[name] = sorted(rows, key=lambda r: r["add_cpu"])[len(rows) // 2]
        print(
            f"{name:10} {row['add_seconds']:7.1f} {row['add_cpu']:9.1f} "
            f"{lines / row['add_seconds']:10.0f} {row['add_peak'] / 2**20:6.0f} MB "
            f"{row['replace_cpu']:13.1f}"
        )
    ours, base = medians["this code"], medians["baseline"]
    print()
    for step in ("add", "replace"):
        ratio = ours[f"{step}_cpu"] / base[f"{step}_cpu"]
        print(f"this code / baseline, CPU of the {step}: {ratio:.2f}x")
    same = all(row["answers"] == ours["answers"] for rows in runs.values() for row in rows)
    print(f"same answers in every run: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path, nargs="?", help="a JSON Lines export")
    parser.add_argument("--baseline", type=Path, help="another checkout of the project")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--replace", type=int, default=1000, help="lines added again")
    parser.add_argument("--answers", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.answers:
        print_answers(args.answers)
        return
    if args.export is None or args.baseline is None:
        parser.error("give an export and --baseline DIR")
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "this code": []}
    with tempfile.TemporaryDirectory(prefix="bench-update-") as tmp:
        workdir = Path(tmp)
        replacing = workdir / "replacing.jsonl"
        with args.export.open("rb") as source:
            replacing.write_bytes(b"".join(itertools.islice(source, args.replace)))
        for number in range(args.repeat):
            for name, tree in (("baseline", args.baseline), ("this code", REPO)):
                row = run(tree, args.export, replacing, workdir)
                runs[name].append(row)
                print(f"round {number + 1}: {name:9} add {row['add_cpu']:6.1f} CPU s")
    print_table(args.export, runs)


if __name__ == "__main__":
    main()
