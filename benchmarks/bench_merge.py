"""Merging a built index's segments: this merge against Whoosh's own, on copies of one index.

Copies the serving generation of ``--index`` (an index directory such as the ones
``run_all.py --keep-builds`` keeps) into ``--scratch``, merges the copy's segments with
``searchsvc.index.merging`` and, with ``--whoosh``, a second copy with Whoosh's
``commit(optimize=True)`` (the baseline). Prints the time of each, the ratio, segments and
bytes per file type before and after. The merged copy is then sealed like a build seals a
generation (checksums in ``meta.json``), so ``bench_search.py --index`` serves it:

    python benchmarks/bench_merge.py --index DIR --scratch /tmp/merge [--whoosh] [--procs 2]
    python benchmarks/bench_search.py --index DIR --rounds 1              # unmerged
    python benchmarks/bench_search.py --index /tmp/merge/merged --rounds 1

The copies are left in ``--scratch`` for such reruns; delete them when done.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from whoosh.filedb.filestore import FileStorage

from searchsvc.index.build import INDEX_NAME
from searchsvc.index.generations import (
    CURRENT_FILE,
    directory_size,
    generation_path,
    read_current,
    read_meta,
    write_meta,
)
from searchsvc.index.manifest import build_chunks, build_manifest
from searchsvc.index.merging import merge_index


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="index directory to copy")
    parser.add_argument("--scratch", type=Path, required=True, help="where the copies go")
    parser.add_argument("--procs", type=int, default=2, help="merge worker processes")
    parser.add_argument("--whoosh", action="store_true", help="also time Whoosh's optimize")
    return parser.parse_args(argv)


def copy_generation(index_dir: Path, target: Path) -> Path:
    """A copy of ``index_dir``'s serving generation as an index directory of its own."""
    name = read_current(index_dir)
    if name is None:
        raise SystemExit(f"{index_dir} has no serving generation")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(generation_path(index_dir, name), generation_path(target, name))
    (target / CURRENT_FILE).write_text(name + "\n", encoding="utf-8")
    return generation_path(target, name)


def bytes_by_type(gen_dir: Path) -> Counter:
    """Bytes per file type: ``trm``, ``pst``, ``_stored.col`` and so on."""
    sizes: Counter = Counter()
    for entry in gen_dir.iterdir():
        if entry.is_file():
            kind = entry.name.split(".", 1)[1] if "." in entry.name else entry.name
            sizes[kind] += entry.stat().st_size
    return sizes


def segment_count(gen_dir: Path) -> int:
    return len(FileStorage(str(gen_dir)).open_index(INDEX_NAME)._segments())


def whoosh_optimize(gen_dir: Path) -> None:
    ix = FileStorage(str(gen_dir)).open_index(INDEX_NAME)
    ix.writer().commit(optimize=True)


def seal(gen_dir: Path) -> None:
    """Record the merged files' checksums, as a build does before switching to a generation."""
    meta = read_meta(gen_dir) or {}
    files = build_manifest(gen_dir)
    meta.update(
        files=files,
        chunks=build_chunks(gen_dir, files),
        segments=segment_count(gen_dir),
        index_bytes=directory_size(gen_dir),
    )
    write_meta(gen_dir, meta)


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the machine may be shared)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def peak_mib() -> float:
    """Peak resident memory of this process and of its largest finished child."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    merged_dir = copy_generation(args.index, args.scratch / "merged")
    before = bytes_by_type(merged_dir)
    segments_before = segment_count(merged_dir)
    started, cpu_started = time.monotonic(), cpu_seconds()
    merge_index(FileStorage(str(merged_dir)), INDEX_NAME, procs=args.procs)
    ours, our_cpu = time.monotonic() - started, cpu_seconds() - cpu_started
    seal(merged_dir)
    after = bytes_by_type(merged_dir)
    print(f"index: {args.index} ({segments_before} segments)")
    print("| merge | seconds | CPU seconds | ratio to Whoosh's | segments after | peak MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    row = f"| searchsvc, {args.procs} procs | {ours:.1f} | {our_cpu:.1f} |"
    if args.whoosh:
        whoosh_dir = copy_generation(args.index, args.scratch / "whoosh")
        started, cpu_started = time.monotonic(), cpu_seconds()
        whoosh_optimize(whoosh_dir)
        theirs, their_cpu = time.monotonic() - started, cpu_seconds() - cpu_started
        print(f"{row} {ours / theirs:.3f} | {segment_count(merged_dir)} | {peak_mib():.0f} |")
        print(
            f"| Whoosh optimize | {theirs:.1f} | {their_cpu:.1f} | 1 | "
            f"{segment_count(whoosh_dir)} | |"
        )
    else:
        print(f"{row} | {segment_count(merged_dir)} | {peak_mib():.0f} |")
    print()
    print("| file type | MiB before | MiB after | after / before |")
    print("|---|---:|---:|---:|")
    for kind in sorted(before | after, key=lambda k: -before.get(k, 0)):
        old, new = before.get(kind, 0), after.get(kind, 0)
        ratio = f"{new / old:.3f}" if old else "new"
        print(f"| {kind} | {old / 2**20:,.1f} | {new / 2**20:,.1f} | {ratio} |")
    total_old, total_new = sum(before.values()), sum(after.values())
    print(
        f"| total | {total_old / 2**20:,.1f} | {total_new / 2**20:,.1f} | "
        f"{total_new / total_old:.3f} |"
    )


if __name__ == "__main__":
    main()
