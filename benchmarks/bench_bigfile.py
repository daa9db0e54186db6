"""One big JSON Lines export (or RSS / Atom file) built with 1, then 2 worker processes:
a single file read by every worker (in parts cut at line or entry starts), and the same
index and report each time::

    python benchmarks/synthetic.py /tmp/big --count 100k --shard-size 100000  # one file
    python benchmarks/bench_bigfile.py /tmp/big/stories-00000.jsonl --procs 1,2

Each build runs ``searchsvc build-index`` in a child process (CPU and peak memory of
the whole process tree, workers included); ratios are against the first ``--procs``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_build import run_measured


def build(export: Path, procs: int, workdir: Path) -> dict[str, Any]:
    index_dir = workdir / f"procs-{procs}"
    env = {**os.environ, "SEARCHSVC_INDEX_DIR": str(index_dir)}
    env["SEARCHSVC_BUILD_PROCS"] = str(procs)
    command = [sys.executable, "-m", "searchsvc", "build-index", str(export)]
    seconds, cpu, peak, _out = run_measured(command, env)
    generation = (index_dir / "CURRENT").read_text().strip()
    meta = json.loads((index_dir / "generations" / generation / "meta.json").read_text())
    return {
        "procs": meta["procs"],
        "units": meta["work_units"],
        "articles": meta["article_count"],
        "report": meta["report"],
        "seconds": seconds,
        "cpu": cpu,
        "peak_rss": peak,
    }


def print_table(export: Path, rows: list[dict[str, Any]]) -> None:
    size = export.stat().st_size / 2**20
    print(f"{export}: {size:.0f} MiB, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}\n")
    header = f"{'procs':>5} {'parts':>5} {'articles':>8} {'seconds':>7} {'articles/s':>10} "
    header += f"{'vs first':>8} {'CPU s':>6} {'peak RSS':>9}"
    print(header)
    print("-" * len(header))
    first = rows[0]["articles"] / rows[0]["seconds"]
    for row in rows:
        rate = row["articles"] / row["seconds"]
        print(
            f"{row['procs']:5d} {row['units']:5d} {row['articles']:8d} {row['seconds']:7.1f} "
            f"{rate:10.0f} {rate / first:7.2f}x {row['cpu']:6.1f} "
            f"{row['peak_rss'] / 2**20:6.0f} MB"
        )
    same = all(row["report"] == rows[0]["report"] for row in rows)
    print(f"\nsame ingest report with every number of processes: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path, help="one JSON Lines or feed file")
    parser.add_argument("--procs", default="1,2", help="worker processes, comma-separated")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-bigfile-") as tmp:
        rows = [build(args.export, int(n), Path(tmp)) for n in args.procs.split(",")]
    print_table(args.export, rows)


if __name__ == "__main__":
    main()
