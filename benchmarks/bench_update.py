"""Adding an export to a serving index (``searchsvc index-add``): this code against
another checkout, alternated, each in a child process (CPU and peak memory of the whole
process tree), with the same answers afterwards::

    git archive main | tar -x -C /tmp/base
    python benchmarks/bench_update.py EXPORT.jsonl --baseline /tmp/base --repeat 3

Each run builds an index of the seed stories, adds ``EXPORT`` to it, then adds the first
``--replace`` lines of it again (every one replacing an article). The index's answers to
a few queries must be the same for both checkouts; the table shows each one's median run
and the ratio this code / baseline.

A watch on a big archive adds a few articles at a time, and what each commit costs
besides writing them grows with the index. ``--index DIR`` times that instead::

    python benchmarks/bench_update.py --index DIR --baseline /tmp/base --repeat 3

It copies the index in ``DIR`` (a generation folder holds what one needs) to a temporary
folder and adds one new article at a time, five to a child process, the two checkouts
taking turns on the same copy; the table shows the median seconds of an update
(``update_articles``, in process, as the watch calls it) and the ratio.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench_build import REPO, printed_records, run_measured

SEEDS = REPO / "seeds"
QUERIES = ["oil prices", "minister talks", "harbour", "strike OR court", '"trade exports"']
#: One-article updates a child process makes with ``--index``.
UPDATES_PER_CHILD = 5


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


def time_one_article_updates(index_dir: Path) -> None:
    """Add :data:`UPDATES_PER_CHILD` new articles one at a time (a child); each update's
    seconds, as one JSON object."""
    import datetime as dt

    from searchsvc.articles.model import Article
    from searchsvc.config import Settings
    from searchsvc.index.updates import update_articles

    settings = Settings(index_dir=index_dir)
    seconds = []
    for _ in range(UPDATES_PER_CHILD):
        tag = uuid.uuid4().hex[:12]
        article = Article(
            id=f"bench-update-{tag}",
            title=f"Harvest report {tag}",
            body=f"Farmers said the harvest {tag} doubled this year while prices fell.",
            date=dt.date(2026, 11, 1),
            source="bench",
        )
        started = time.perf_counter()
        update_articles(settings, [article])
        seconds.append(time.perf_counter() - started)
    print(json.dumps({"seconds": seconds}))


def compare_one_article_updates(index_dir: Path, baseline: Path, repeat: int) -> None:
    """Both checkouts' one-article updates, taking turns on one copy of ``index_dir``."""
    seconds: dict[str, list[float]] = {"baseline": [], "this code": []}
    with tempfile.TemporaryDirectory(prefix="bench-update-") as tmp:
        copy = Path(tmp) / "index"
        shutil.copytree(index_dir, copy, ignore=shutil.ignore_patterns("*.lock"))
        for number in range(repeat):
            for name, tree in (("baseline", baseline), ("this code", REPO)):
                command = [sys.executable, str(Path(__file__).resolve()), "--updates-of", str(copy)]
                [record] = printed_records(command, tree)
                seconds[name] += record["seconds"]
                print(f"round {number + 1}: {name:9} {statistics.median(record['seconds']):.2f} s")
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    print(
        f"\n{index_dir}: one-article updates, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'code':10} {'updates':>7} {'median s':>8} {'min s':>6} {'max s':>6}")
    for name, values in seconds.items():
        print(
            f"{name:10} {len(values):7} {medians[name]:8.2f} {min(values):6.2f} {max(values):6.2f}"
        )
    print(
        f"\nthis code / baseline, median update: {medians['this code'] / medians['baseline']:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path, nargs="?", help="a JSON Lines export")
    parser.add_argument("--baseline", type=Path, help="another checkout of the project")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--replace", type=int, default=1000, help="lines added again")
    parser.add_argument("--index", type=Path, help="time one-article updates of this index")
    parser.add_argument("--answers", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--updates-of", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.answers:
        print_answers(args.answers)
        return
    if args.updates_of:
        time_one_article_updates(args.updates_of)
        return
    if args.index and args.baseline:
        compare_one_article_updates(args.index, args.baseline, args.repeat)
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
