"""Shared measuring tools: the Reuters files, latency percentiles, and memory of a process tree.

Every build and query run happens in its own child process (see ``bench_worker.py``), so
peak memory is that run's alone and one engine's caches never help another.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psutil

from searchsvc.articles.model import Article

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
DEFAULT_REUTERS = REPO.parent / "shared" / "corpora" / "reuters21578"
MAX_FILE_BYTES = 1 << 30


def reuters_paths(reuters_dir: Path = DEFAULT_REUTERS) -> list[Path]:
    """The 22 SGML files; the collection's other files are lists, not stories."""
    paths = sorted(Path(reuters_dir).glob("reut2-*.sgm"))
    if not paths:
        raise FileNotFoundError(f"no reut2-*.sgm files in {reuters_dir}")
    return paths


def read_reuters(
    reuters_dir: Path = DEFAULT_REUTERS, *, with_places: bool = True
) -> Iterator[Article]:
    return read_sources(reuters_paths(reuters_dir), with_places=with_places)


def read_sources(paths: Sequence[Path], *, with_places: bool = True) -> Iterator[Article]:
    """Articles exactly as the index build reads them (same readers, same places)."""
    from searchsvc.articles import IngestReport
    from searchsvc.articles.sources import read_articles

    return read_articles(
        list(paths), IngestReport(), max_file_bytes=MAX_FILE_BYTES, with_places=with_places
    )


T = TypeVar("T")


def taking_turns(items: Sequence[T], rounds: int) -> Iterator[T]:
    """``items`` ``rounds`` times over, every other round in reverse (a, b, b, a, a, b...):
    a machine whose speed drifts during a comparison weighs on each alike."""
    for number in range(rounds):
        yield from items if number % 2 == 0 else items[::-1]


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: a value that was really observed."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean in milliseconds over one run of latencies."""
    return {
        "p50": percentile(seconds, 0.50) * 1000,
        "p95": percentile(seconds, 0.95) * 1000,
        "p99": percentile(seconds, 0.99) * 1000,
        "max": max(seconds) * 1000 if seconds else float("nan"),
        "mean": statistics.fmean(seconds) * 1000 if seconds else float("nan"),
        "count": len(seconds),
    }


def median_of(runs: Sequence[dict[str, float]]) -> dict[str, float]:
    """Each statistic's median over repeated runs (the targets are medians of runs)."""
    keys = runs[0].keys()
    return {key: statistics.median(run[key] for run in runs) for key in keys}


def tree_rss(process: psutil.Process) -> int:
    """Resident memory of a process and all its children (build workers included)."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for member in members:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += member.memory_info().rss
    return total


class MemorySampler:
    """Polls a process tree's resident memory in a thread and keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.process))
            self._stop.wait(self.interval)


@dataclass(frozen=True)
class ChildRun:
    """A finished child: what it printed as JSON, its wall time and peak tree memory."""

    result: dict[str, Any]
    wall_seconds: float
    peak_rss: int
    #: User + system CPU of the child and every process it waited for (its workers):
    #: unlike wall time, barely moved by other programs competing for the cores.
    cpu_seconds: float


class ChildFailed(RuntimeError):
    pass


def run_child(
    args: Sequence[str], *, timeout: float, env: dict[str, str] | None = None
) -> ChildRun:
    """Run ``bench_worker.py ARGS`` in a fresh interpreter; its last stdout line is JSON."""
    command = [sys.executable, str(BENCHMARKS / "bench_worker.py"), *args]
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )
    with MemorySampler(child.pid) as sampler:
        try:
            out, err = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            raise ChildFailed(f"{' '.join(args)} took more than {timeout:.0f} s") from None
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if child.returncode != 0:
        raise ChildFailed(f"{' '.join(args)} failed ({child.returncode}):\n{err[-3000:]}")
    lines = [line for line in out.splitlines() if line.strip()]
    return ChildRun(json.loads(lines[-1]), wall, sampler.peak, cpu)


def machine_facts() -> dict[str, str]:
    import platform
    import sqlite3

    import whoosh

    memory = psutil.virtual_memory().total
    return {
        "cpus": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "memory": f"{memory / 2**30:.1f} GiB",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "whoosh": whoosh.versionstring(),
        "os": f"{platform.system()} {platform.release()}",
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def directory_bytes(path: Path) -> int:
    return sum(entry.stat().st_size for entry in Path(path).rglob("*") if entry.is_file())
