"""A watched archive of many small files (wire stories in dated folders): the CPU of the
first poll, which adds them all, and of the polls after it, with nothing changed, with
this code and another checkout, each in a child process, rounds alternating::

    git archive main | tar -x -C /tmp/base
    python benchmarks/bench_watch_folder.py --files 100000 --baseline /tmp/base --rounds 2

The folder is written once, a day folder per 1,000 stories; each run builds an index of
the seed stories and watches the folder. An idle poll still lists and checks every file,
reads and writes the watch's state, so its cost grows with the archive; the bytes it
writes are those of the state's files it rewrote.

``--built`` has the index built from the archive itself (two workers), as a desk that
builds its archive and then watches the same folder does; the table then shows the
build's time and CPU (its workers' included) beside the first poll's::

    python benchmarks/bench_watch_folder.py --files 100000 --built --baseline /tmp/base

``--folder PATH`` watches a folder of one's own instead (a CMS's JSON Lines exports, say),
left as it is::

    python benchmarks/bench_watch_folder.py --folder EXPORTS --built --baseline /tmp/base
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_build import REPO, printed_records

PER_FOLDER = 1000


def write_archive(root: Path, files: int) -> None:
    """``files`` short wire stories, :data:`PER_FOLDER` to a day's folder."""
    for number in range(files):
        day, story = divmod(number, PER_FOLDER)
        folder = root / f"2024-{day // 28 + 1:02d}-{day % 28 + 1:02d}"
        if story == 0:
            folder.mkdir(parents=True)
        text = f"Harbour report {day} {story}\n\nBAKU, MINA - Ships {story} left port {day}.\n"
        (folder / f"{story:03d}.txt").write_text(text, encoding="utf-8")


def child(archive: Path, workdir: Path, polls: int, built: bool) -> None:
    """The polls, with the ``searchsvc`` on ``PYTHONPATH``; one JSON line per poll, the
    first with the build's wall and CPU seconds."""
    from searchsvc.config import Settings
    from searchsvc.index import build_index
    from searchsvc.index.watch import Watcher

    corpus, procs = ((archive,), 2) if built else ((REPO / "seeds",), 1)
    settings = Settings(index_dir=workdir / "index", corpus=corpus, build_procs=procs)
    started, cpu = time.monotonic(), all_cpu_seconds()
    build_index(None, settings, show_progress=False)
    build = {"build_s": time.monotonic() - started, "build_cpu": all_cpu_seconds() - cpu}
    watcher = Watcher(settings, [str(archive)])
    for _ in range(polls + 1):
        before = kept_files(settings.index_dir)
        started = time.process_time()
        poll = watcher.poll()
        seconds = time.process_time() - started
        after = kept_files(settings.index_dir)
        state = sum(size for size, _ in after.values())
        written = sum(after[name][0] for name in after if before.get(name) != after[name])
        record = {"added": poll["added"], "cpu": seconds, "state": state, "written": written}
        print(json.dumps({**record, **build}))
        build = {}


def all_cpu_seconds() -> float:
    """CPU seconds of this process and of its children that ended (a build's workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def kept_files(index_dir: Path) -> dict[str, tuple[int, int]]:
    """The size and time of each file the watch keeps its state in (one or two)."""
    found = {}
    for name in ("watch-state.json", "watch-files.json"):
        with contextlib.suppress(FileNotFoundError):
            status = (index_dir / name).stat()
            found[name] = (status.st_size, status.st_mtime_ns)
    return found


def measure(tree: Path, archive: Path, polls: int, built: bool) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-watch-folder-") as tmp:
        command = [sys.executable, __file__, "--child", tmp, "--archive", str(archive)]
        command += ["--polls", str(polls), *(["--built"] if built else [])]
        return printed_records(command, tree)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--baseline", type=Path, help="another checkout")
    parser.add_argument("--polls", type=int, default=3, help="idle polls after the first")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--built", action="store_true", help="build the index from the archive")
    parser.add_argument("--folder", type=Path, help="watch this folder instead of writing one")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--archive", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.archive, args.child, args.polls, args.built)
        return
    trees = {"this code": REPO, **({"baseline": args.baseline} if args.baseline else {})}
    runs: dict[str, list[list[dict]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        archive = args.folder.resolve() if args.folder else Path(tmp) / "archive"
        if not args.folder:
            write_archive(archive, args.files)
        for _ in range(args.rounds):
            for name, tree in trees.items():
                runs[name].append(measure(tree, archive, args.polls, args.built))
    if args.folder:
        print(f"\n{args.folder}, ", end="")
    else:
        print(f"\n{args.files:,} wire stories in {-(-args.files // PER_FOLDER)} folders, ", end="")
    print(f"{os.cpu_count()} CPUs, {args.rounds} round(s) of {args.polls} idle polls (median)")
    header = (
        f"{'code':10} {'build s':>8} {'build CPU s':>11} {'first poll CPU s':>16} "
        f"{'idle poll CPU s':>16} {'state MB':>9} {'MB written, idle poll':>21}"
    )
    print(header)
    print("-" * len(header))
    idle = {}
    for name, rounds in runs.items():
        first = statistics.median(polls[0]["cpu"] for polls in rounds)
        build = statistics.median(polls[0]["build_s"] for polls in rounds)
        build_cpu = statistics.median(polls[0]["build_cpu"] for polls in rounds)
        idle[name] = statistics.median(poll["cpu"] for polls in rounds for poll in polls[1:])
        state = rounds[-1][-1]["state"] / 1e6
        written = statistics.median(poll["written"] for polls in rounds for poll in polls[1:])
        print(
            f"{name:10} {build:8.1f} {build_cpu:11.1f} {first:16.1f} {idle[name]:16.2f} "
            f"{state:9.1f} {written / 1e6:21.2f}"
        )
    if "baseline" in idle:
        print(f"\nthis code / baseline, idle poll CPU: {idle['this code'] / idle['baseline']:.2f}x")


if __name__ == "__main__":
    main()
