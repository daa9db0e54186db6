"""A watched CMS export that grows: what each poll indexes, and its CPU, with this code
and with another checkout, each in a child process::

    git archive main | tar -x -C /tmp/base
    python benchmarks/bench_watch_growth.py EXPORT.jsonl --baseline /tmp/base --lines 5000

The watched folder holds the first ``--lines`` lines of ``EXPORT`` less one; the watch
polls it once, then after the next line is appended, then after one line's title was
corrected, then with nothing changed. Each poll's articles added and replaced, and its
CPU seconds.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench_build import REPO, printed_records

STEPS = ("first poll", "one line appended", "one line corrected", "nothing changed")


def child(export: Path, lines: int, workdir: Path) -> None:
    """The polls, with the ``searchsvc`` on ``PYTHONPATH``; one JSON line per poll."""
    from searchsvc.config import Settings
    from searchsvc.index import build_index
    from searchsvc.index.watch import Watcher

    with export.open("rb") as source:
        kept = list(itertools.islice(source, lines))
    watched = workdir / "inbox" / "export.jsonl"
    watched.parent.mkdir()
    watched.write_bytes(b"".join(kept[:-1]))
    settings = Settings(index_dir=workdir / "index", corpus=(REPO / "seeds",), build_procs=1)
    build_index(None, settings, show_progress=False)
    watcher = Watcher(settings, [str(watched.parent)])
    for step in STEPS:
        if step == "one line appended":
            watched.write_bytes(b"".join(kept))
        elif step == "one line corrected":
            text = watched.read_text(encoding="utf-8")
            watched.write_text(text.replace('"title": "', '"title": "Corrected: ', 1))
        started = time.process_time()
        poll = watcher.poll()
        seconds = time.process_time() - started
        print(
            json.dumps(
                {"step": step, **{k: poll[k] for k in ("added", "replaced")}, "cpu": seconds}
            )
        )


def measure(tree: Path, export: Path, lines: int) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        command = [sys.executable, __file__, str(export), "--child", tmp, "--lines", str(lines)]
        return printed_records(command, tree)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path, help="a JSON Lines export")
    parser.add_argument("--baseline", type=Path, required=False, help="another checkout")
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.export, args.lines, args.child)
        return
    trees = {"this code": REPO, **({"baseline": args.baseline} if args.baseline else {})}
    runs = {name: measure(tree, args.export, args.lines) for name, tree in trees.items()}
    print(f"\n{args.export}: the first {args.lines:,} lines, {os.cpu_count()} CPUs")
    header = f"{'poll':20} " + " ".join(f"{name + ': added/replaced, CPU s':>38}" for name in runs)
    print(header)
    print("-" * len(header))
    for number, step in enumerate(STEPS):
        cells = []
        for rows in runs.values():
            row = rows[number]
            cells.append(f"{row['added']:>12,} / {row['replaced']:<12,} {row['cpu']:8.1f}")
        print(f"{step:20} " + " ".join(f"{cell:>38}" for cell in cells))


if __name__ == "__main__":
    main()
