"""Build workers run in processes: what they leave behind in the build process."""

from __future__ import annotations

import multiprocessing
import os
import threading
from pathlib import Path

from test_index_support import STORIES, write_jsonl
from whoosh.filedb.filestore import FileStorage

from searchsvc.articles.files import WorkUnit
from searchsvc.index.parallel import run_workers
from searchsvc.index.progress import ProgressTracker
from searchsvc.index.schema import make_schema
from searchsvc.index.status import StatusWriter
from searchsvc.index.workers import WorkerConfig


def test_workers_leave_no_thread_behind(tmp_path: Path) -> None:
    """The merge that follows forks its workers only from an unthreaded process: the
    jobs queue's feeder thread must be gone when the workers' outcomes are returned
    (it outlived the queue's close about one time in three, so a few rounds)."""
    for round_number in range(5):
        gen_dir = tmp_path / f"generation-{round_number}"
        gen_dir.mkdir()
        FileStorage(str(gen_dir)).create_index(make_schema(), indexname="MAIN")
        units = []
        for number, record in enumerate(STORIES):
            path = write_jsonl(tmp_path / f"round-{round_number}" / f"{number}.jsonl", [record])
            units.append(WorkUnit(str(path), path.stat().st_size))
        config = WorkerConfig(gen_dir=str(gen_dir), max_file_bytes=1 << 20, preload=None)
        tracker = ProgressTracker(units, StatusWriter(tmp_path), False, None)
        try:
            before = set(threading.enumerate())
            outcomes = run_workers(units, config, 2, tracker)
            left = [thread.name for thread in set(threading.enumerate()) - before]
        finally:
            tracker.close()
        assert sum(written for _segments, _report, written in outcomes) == len(STORIES)
        assert left == []


def test_the_build_process_works_meanwhile_while_the_workers_run(tmp_path: Path) -> None:
    """What the build needs after its workers runs in the build process once, while the
    workers are at work, and the workers' outcomes still come back whole."""
    gen_dir = tmp_path / "generation"
    gen_dir.mkdir()
    FileStorage(str(gen_dir)).create_index(make_schema(), indexname="MAIN")
    units = []
    for number, record in enumerate(STORIES):
        path = write_jsonl(tmp_path / "corpus" / f"{number}.jsonl", [record])
        units.append(WorkUnit(str(path), path.stat().st_size))
    config = WorkerConfig(gen_dir=str(gen_dir), max_file_bytes=1 << 20, preload=None)
    seen: list[tuple[int, int]] = []

    def meanwhile() -> None:
        seen.append((os.getpid(), len(multiprocessing.active_children())))

    tracker = ProgressTracker(units, StatusWriter(tmp_path), False, None)
    try:
        outcomes = run_workers(units, config, 2, tracker, meanwhile=meanwhile)
    finally:
        tracker.close()
    [(pid, workers_running)] = seen
    assert pid == os.getpid()
    assert workers_running > 0
    assert sum(written for _segments, _report, written in outcomes) == len(STORIES)
