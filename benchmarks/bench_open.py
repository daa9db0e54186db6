"""Opening a big index: this tree against a baseline commit, on the same machine, same run.

Measures what ``serve`` does before its first answer (``bench_worker.py open``: open the
serving generation with its corruption checks, then load the columns), in a fresh
interpreter each time, with a warm page cache and, when the system lets us drop it, a
cold one; the peak resident memory of each open is the median over the runs. The
baseline is the same benchmark worker importing ``searchsvc`` from a ``git archive`` of
``--baseline``. Each tree opens the index its own build made: the baseline the ones in
``--work``, this tree those in ``--this-work`` (the same folder unless given; this tree
writes column caches beside segments that have none, so point it only at indexes it may
write to). Indexes are the ones ``run_all.py --keep-builds`` keeps:

    python benchmarks/run_all.py --only scale --sizes 100k --work DIR --keep-builds
    python benchmarks/bench_open.py --work DIR --sizes 100k [--baseline main] [--repeat 3]

When a build of this tree is too long to wait for (a million articles), ``--finish-copies
DIR`` gives this tree copies of the baseline's indexes finished the way this tree's build
finishes: the segment files hard-linked (Whoosh never changes them, and this branch did
not change how they are written), each segment's column cache written, then the manifest
and its chunk checksums taken again by this tree's code.

The table's "serving open" is the figure the scale run reports as opening the index
(``bench_worker.py query``): a server's engine opened up to its first query, imports
apart, with the reads that opening starts on a background thread (the lexicon, language
names) running meanwhile. They hold the interpreter's lock while the columns load, so
this figure can move while "total" does not.

``--first-answer`` adds what a server started with ``open_engine(...,
prepare_lexicon=True)`` does up to its first answer, phase by phase (warm page cache),
the median of ``--repeat`` fresh processes per tree, the trees taking turns. The first
answer's CPU time is its own thread's: on a machine other people load, its wall time
also counts the waits for a core, and the lexicon thread's share of the interpreter.

    python benchmarks/bench_open.py --work /work/bench-work8 --sizes 1m --warm-only \
        --repeat 5 --first-answer --query prices
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from measuring import REPO, run_child
from scale import size_label
from synthetic import parse_count

DROP_CACHES = Path("/proc/sys/vm/drop_caches")
#: The phases of ``bench_worker.py open``, in seconds.
OPEN_PHASES = ("open_index", "columns", "total")
#: Those and :func:`serving_open`, in seconds.
TABLE_PHASES = (*OPEN_PHASES, "serving_open")
#: The phases of :func:`first_answer`, in seconds.
FIRST_ANSWER_PHASES = (
    "engine",
    "open_and_columns",
    "first_answer",
    "first_answer_cpu",
    "lexicon_ready",
)


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
    """One open of ``index_dir`` by the code in ``tree``, then one :func:`serving_open`;
    a warm run opens once before."""
    env = {"PYTHONPATH": str(tree)}
    if cold:
        drop_page_cache()
    else:
        run_child(["open", "--index", str(index_dir)], timeout=3600, env=env)
    child = run_child(["open", "--index", str(index_dir)], timeout=3600, env=env)
    if cold:
        drop_page_cache()
    command = [sys.executable, __file__, "--serving-open-of", str(index_dir)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    serving = json.loads(done.stdout.splitlines()[-1])
    return {**child.result, **serving, "peak_rss": child.peak_rss}


def serving_open(index_dir: Path) -> dict[str, float]:
    """Seconds from making a server's engine to its generation being ready for the first
    query, as ``bench_worker.py query`` times it; the imports are done before."""
    from searchsvc.config import Settings
    from searchsvc.engines import open_engine

    started = time.perf_counter()
    engine = open_engine(Settings(index_dir=index_dir), prepare_lexicon=True)
    engine.generation  # noqa: B018 - opens the generation and loads its columns
    seconds = time.perf_counter() - started
    engine.close()
    return {"serving_open": seconds}


def measure(
    indexes: dict[str, Path], trees: dict[str, Path], *, repeat: int, cold: bool
) -> dict[str, dict[str, Any]]:
    """Median phase seconds and peak memory per tree; the trees take turns so that
    drift hits both alike."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for _ in range(repeat):
        for name, tree in trees.items():
            runs[name].append(time_open(indexes[name], tree, cold=cold))
    return {
        name: {key: statistics.median(run[key] for run in results) for key in TABLE_PHASES}
        | {"peak_rss": statistics.median(run["peak_rss"] for run in results)}
        | {"articles": results[0]["articles"]}
        for name, results in runs.items()
    }


def first_answer(index_dir: Path, query: str) -> dict[str, float]:
    """A server's start up to its first answer, phase by phase, in this interpreter:
    making the engine (analyzers), opening the generation with its checks and loading
    the columns, the first answer, and when the background lexicon read is done."""
    import psutil

    started = time.perf_counter()
    from searchsvc.config import Settings
    from searchsvc.engines import open_engine
    from searchsvc.search import SearchRequest

    engine = open_engine(Settings(index_dir=index_dir), prepare_lexicon=True)
    made = time.perf_counter()
    engine.generation  # noqa: B018 - opens the generation and loads its columns
    opened = time.perf_counter()
    lexicon = engine._serving._snapshot.lexicon  # read by a thread the open started
    ready: list[float] = []
    watcher = threading.Thread(target=_note_when_loaded, args=(lexicon, ready))
    watcher.start()
    began_cpu = time.thread_time()
    engine.search(SearchRequest(query=query))
    answered = time.perf_counter()
    answer_cpu = time.thread_time() - began_cpu
    watcher.join()
    rss = psutil.Process().memory_info().rss
    engine.close()
    return {
        "engine": made - started,
        "open_and_columns": opened - made,
        "first_answer": answered - opened,
        "first_answer_cpu": answer_cpu,
        "lexicon_ready": ready[0] - started,
        "rss": rss,
    }


def _note_when_loaded(lexicon: Any, ready: list[float]) -> None:
    while not lexicon.loaded:
        time.sleep(0.005)
    ready.append(time.perf_counter())


def time_first_answer(index_dir: Path, tree: Path, query: str) -> dict[str, float]:
    """:func:`first_answer` in a fresh interpreter importing ``searchsvc`` from ``tree``."""
    command = [sys.executable, __file__, "--first-answer-of", str(index_dir), "--query", query]
    done = subprocess.run(
        command, env={"PYTHONPATH": str(tree)}, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


def finish_copy(index_dir: Path, into: Path) -> Path:
    """A copy of ``index_dir`` under ``into`` ended as this tree's build ends its own."""
    copy = into / index_dir.name
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(index_dir, copy, copy_function=_link_segment_files)
    command = [sys.executable, __file__, "--finish-copy-of", str(copy)]
    subprocess.run(command, env={"PYTHONPATH": str(REPO)}, check=True)
    return copy


def _link_segment_files(source: str, target: str) -> None:
    if Path(source).name.startswith("MAIN_"):
        os.link(source, target)
    else:
        shutil.copy2(source, target)  # what opening may write to: locks, CURRENT


def finish_as_built(index_dir: Path) -> None:
    """What this tree's build does after merging: cache the columns, then take the
    manifest and the chunk checksums (so that they list the caches)."""
    from whoosh.filedb.filestore import FileStorage

    from searchsvc.index.build import INDEX_NAME
    from searchsvc.index.generations import generation_path, read_current, read_meta, write_meta
    from searchsvc.index.manifest import build_chunks, build_manifest
    from searchsvc.search.columns import cache_segment_columns

    gen_dir = generation_path(index_dir, read_current(index_dir))
    with FileStorage(str(gen_dir)).open_index(INDEX_NAME).reader() as reader:
        cache_segment_columns(reader)
    meta = read_meta(gen_dir)
    meta["files"] = build_manifest(gen_dir, meta["files"])
    meta["chunks"] = build_chunks(gen_dir, meta["files"], meta.get("chunks"))
    write_meta(gen_dir, meta)


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [f"{cell:.3f}" if isinstance(cell, float) else str(cell) for cell in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="run_all.py's --work folder (baseline)")
    parser.add_argument("--this-work", type=Path, help="indexes this tree built (default: --work)")
    parser.add_argument("--sizes", default="100k", help="comma-separated, e.g. 100k,1m")
    parser.add_argument("--baseline", default="main", help="commit or branch to compare with")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--warm-only",
        action="store_true",
        help="never drop the page cache (a machine others are measuring on)",
    )
    parser.add_argument(
        "--first-answer", action="store_true", help="also time a server's start phases"
    )
    parser.add_argument("--query", default="oil prices", help="the first answer's query")
    parser.add_argument(
        "--finish-copies",
        type=Path,
        help="this tree opens copies of the baseline's indexes made here (see above)",
    )
    parser.add_argument("--first-answer-of", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--serving-open-of", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--finish-copy-of", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    children = (args.first_answer_of, args.finish_copy_of, args.serving_open_of)
    if args.work is None and all(child is None for child in children):
        parser.error("--work is required")
    return args


def open_rows(
    label: str, indexes: dict[str, Path], trees: dict[str, Path], *, repeat: int, cold: bool
) -> list[list[Any]]:
    """The open table's rows for one index size and page cache state."""
    medians = measure(indexes, trees, repeat=repeat, cold=cold)
    base = medians[next(iter(trees))]["total"]
    return [
        [
            f"{label} ({phases['articles']:,})",
            "cold" if cold else "warm",
            tree,
            *(phases[phase] for phase in TABLE_PHASES),
            f"{phases['peak_rss'] / 2**20:,.0f}",
            f"{phases['total'] / base:.2f}x",
        ]
        for tree, phases in medians.items()
    ]


def first_answer_rows(
    label: str, indexes: dict[str, Path], trees: dict[str, Path], query: str, *, repeat: int
) -> list[list[Any]]:
    """Each phase's median over ``repeat`` fresh processes per tree, the trees in turn,
    and each tree's first answer (wall, CPU) as a ratio to the baseline's."""
    runs: dict[str, list[dict[str, float]]] = {tree: [] for tree in trees}
    for _ in range(repeat):
        for tree, path in trees.items():
            runs[tree].append(time_first_answer(indexes[tree], path, query))
    medians = {
        tree: {name: statistics.median(run[name] for run in done) for name in done[0]}
        for tree, done in runs.items()
    }
    base = medians[next(iter(trees))]
    return [
        [
            label,
            tree,
            *(phases[phase] for phase in FIRST_ANSWER_PHASES),
            f"{phases['rss'] / 2**20:,.0f}",
            f"{phases['first_answer'] / base['first_answer']:.2f}x / "
            f"{phases['first_answer_cpu'] / base['first_answer_cpu']:.2f}x",
        ]
        for tree, phases in medians.items()
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.first_answer_of is not None:  # the child of time_first_answer
        print(json.dumps(first_answer(args.first_answer_of, args.query)))
        return 0
    if args.finish_copy_of is not None:  # the child of finish_copy
        finish_as_built(args.finish_copy_of)
        return 0
    if args.serving_open_of is not None:  # the child of time_open
        print(json.dumps(serving_open(args.serving_open_of)))
        return 0
    cold_allowed = not args.warm_only and drop_page_cache()
    if not cold_allowed and not args.warm_only:
        print(f"cannot write {DROP_CACHES}: warm page cache only", file=sys.stderr)
    rows, first_rows = [], []
    with tempfile.TemporaryDirectory(prefix="searchsvc-baseline-") as scratch:
        trees = {args.baseline: extract_tree(args.baseline, Path(scratch)), "this tree": REPO}
        for size in (parse_count(s) for s in args.sizes.split(",") if s.strip()):
            label, name = size_label(size), f"index-synthetic-{size_label(size)}"
            indexes = {
                args.baseline: args.work / name,
                "this tree": (args.this_work or args.work) / name,
            }
            if args.finish_copies is not None:
                indexes["this tree"] = finish_copy(args.work / name, args.finish_copies)
            for cold in (False, True) if cold_allowed else (False,):
                rows += open_rows(label, indexes, trees, repeat=args.repeat, cold=cold)
            if args.first_answer:
                first_rows += first_answer_rows(
                    label, indexes, trees, args.query, repeat=args.repeat
                )
    header = ["size", "page cache", "code", "open + checks s", "columns s", "total s"]
    header += ["serving open s"]
    print(table([*header, "peak RSS MiB", "ratio"], rows))
    if first_rows:
        phases = ["engine s", "open + columns s", "first answer s", "first answer CPU s"]
        phases += ["lexicon ready s"]
        print()
        print(
            table(
                ["size", "code", *phases, "RSS MiB", "first answer ratio (wall / CPU)"], first_rows
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
