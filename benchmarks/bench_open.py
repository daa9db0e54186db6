"""Opening a big index: this tree against a baseline commit, on the same index, same run.

Measures what ``serve`` does before its first answer (``bench_worker.py open``: open the
serving generation with its corruption checks, then load the columns), in a fresh
interpreter each time, with a warm page cache and, when the system lets us drop it, a
cold one. The baseline is the same benchmark worker importing ``searchsvc`` from a
``git archive`` of ``--baseline``. Indexes are the ones ``run_all.py --keep-builds`` keeps:

    python benchmarks/run_all.py --only scale --sizes 100k --work DIR --keep-builds
    python benchmarks/bench_open.py --work DIR --sizes 100k [--baseline main] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from measuring import REPO, run_child
from scale import size_label
from synthetic import parse_count

DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def drop_page_cache() -> bool:
    """Empty the page cache (needs root); False when the system does not allow it."""
    subprocess.run(["sync"], check=True)
    try:
        DROP_CACHES.write_text("3\n")
    except OSError:
        return False
    return True


def extract_tree(ref: str, into: Path) -> Path:
    """The source of ``ref`` (a commit or branch of this repository) under ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", ref, "searchsvc"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def time_open(index_dir: Path, tree: Path, *, cold: bool) -> dict[str, Any]:
    """One open of ``index_dir`` by the code in ``tree``; a warm run opens once before."""
    env = {"PYTHONPATH": str(tree)}
    if cold:
        drop_page_cache()
    else:
        run_child(["open", "--index", str(index_dir)], timeout=3600, env=env)
    return run_child(["open", "--index", str(index_dir)], timeout=3600, env=env).result


def measure(
    index_dir: Path, trees: dict[str, Path], *, repeat: int, cold: bool
) -> dict[str, dict[str, Any]]:
    """Median phase seconds per tree; the trees take turns so drift hits both alike."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for _ in range(repeat):
        for name, tree in trees.items():
            runs[name].append(time_open(index_dir, tree, cold=cold))
    return {
        name: {
            phase: statistics.median(run[phase] for run in results)
            for phase in ("open_index", "columns", "total")
        }
        | {"articles": results[0]["articles"]}
        for name, results in runs.items()
    }


def table(rows: list[list[Any]]) -> str:
    header = ["size", "page cache", "code", "open + checks s", "columns s", "total s", "ratio"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [f"{cell:.3f}" if isinstance(cell, float) else str(cell) for cell in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="run_all.py's --work folder")
    parser.add_argument("--sizes", default="100k", help="comma-separated, e.g. 100k,1m")
    parser.add_argument("--baseline", default="main", help="commit or branch to compare with")
    parser.add_argument("--repeat", type=int, default=3)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cold_allowed = drop_page_cache()
    if not cold_allowed:
        print(f"cannot write {DROP_CACHES}: warm page cache only", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory(prefix="searchsvc-baseline-") as scratch:
        trees = {args.baseline: extract_tree(args.baseline, Path(scratch)), "this tree": REPO}
        for size in (parse_count(s) for s in args.sizes.split(",") if s.strip()):
            index_dir = args.work / f"index-synthetic-{size_label(size)}"
            for cold in (False, True) if cold_allowed else (False,):
                medians = measure(index_dir, trees, repeat=args.repeat, cold=cold)
                base = medians[args.baseline]["total"]
                for name, phases in medians.items():
                    rows.append(
                        [
                            f"{size_label(size)} ({phases['articles']:,})",
                            "cold" if cold else "warm",
                            name,
                            phases["open_index"],
                            phases["columns"],
                            phases["total"],
                            f"{phases['total'] / base:.2f}x",
                        ]
                    )
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
