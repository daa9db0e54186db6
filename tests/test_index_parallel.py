"""Build workers run in processes: what they leave behind in the build process."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
from test_index_support import STORIES, write_jsonl
from whoosh.filedb.filestore import FileStorage

from searchsvc.articles.files import WorkUnit
from searchsvc.index.parallel import run_workers
from searchsvc.index.progress import ProgressTracker
from searchsvc.index.schema import make_schema
from searchsvc.index.status import StatusWriter
from searchsvc.index.workers import WorkerConfig


def prepare_build(root: Path) -> tuple[list[WorkUnit], WorkerConfig]:
    """An empty index in ``root/generation`` and one work unit per fixture story."""
    gen_dir = root / "generation"
    gen_dir.mkdir()
    FileStorage(str(gen_dir)).create_index(make_schema(), indexname="MAIN")
    units = []
    for number, record in enumerate(STORIES):
        path = write_jsonl(root / "corpus" / f"{number}.jsonl", [record])
        units.append(WorkUnit(str(path), path.stat().st_size))
    return units, WorkerConfig(gen_dir=str(gen_dir), max_file_bytes=1 << 20, preload=None)


def test_workers_leave_no_thread_behind(tmp_path: Path) -> None:
    """The merge that follows forks its workers only from an unthreaded process: the
    jobs queue's feeder thread must be gone when the workers' outcomes are returned
    (it outlived the queue's close about one time in three, so a few rounds)."""
    for round_number in range(5):
        root = tmp_path / f"round-{round_number}"
        root.mkdir()
        units, config = prepare_build(root)
        tracker = ProgressTracker(units, StatusWriter(root), False, None)
        try:
            before = set(threading.enumerate())
            outcomes = run_workers(units, config, 2, tracker)
            left = [thread.name for thread in set(threading.enumerate()) - before]
        finally:
            tracker.close()
        assert sum(outcome.written for outcome in outcomes) == len(STORIES)
        assert left == []


def test_the_build_process_works_meanwhile_while_the_workers_run(tmp_path: Path) -> None:
    """What the build needs after its workers runs in the build process once, while the
    workers are at work, and the workers' outcomes still come back whole."""
    units, config = prepare_build(tmp_path)
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
    assert sum(outcome.written for outcome in outcomes) == len(STORIES)


# Runs run_workers in a fresh process (no thread left by other tests) and prints, for each
# fork, how many threads the build process ran at that moment.
_COUNT_THREADS_AT_FORKS = """
import json, os, sys, threading
from pathlib import Path
from test_index_parallel import prepare_build
from searchsvc.index.parallel import run_workers
from searchsvc.index.progress import ProgressTracker
from searchsvc.index.status import StatusWriter

root = Path(sys.argv[1])
units, config = prepare_build(root)
threads_at_forks = []
os.register_at_fork(before=lambda: threads_at_forks.append(threading.active_count()))
tracker = ProgressTracker(units, StatusWriter(root), False, None)
try:
    run_workers(units, config, 2, tracker)
finally:
    tracker.close()
print(json.dumps(threads_at_forks))
"""


def test_workers_are_forked_from_an_unthreaded_process(tmp_path: Path) -> None:
    """Forking copies only the thread that forks: a lock another thread held then stays
    held in the worker for good. The jobs queue's feeder thread, started by the first job
    put on it, must therefore not run yet when the workers are forked."""
    done = subprocess.run(
        [sys.executable, "-c", _COUNT_THREADS_AT_FORKS, str(tmp_path)],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        timeout=120,  # hang guard
    )
    assert done.returncode == 0, done.stderr
    threads_at_forks = json.loads(done.stdout.splitlines()[-1])
    assert threads_at_forks == [1, 1]


# Runs run_workers in a fresh process that is killed once its workers run and before it
# queues their first job (the units are read only then); writes the workers' pids first.
_KILLED_BEFORE_THE_FIRST_JOB = """
import dataclasses, os, sys
from pathlib import Path
from test_index_parallel import prepare_build, write_children_and_die
from searchsvc.index.parallel import run_workers
from searchsvc.index.progress import ProgressTracker
from searchsvc.index.status import StatusWriter

root = Path(sys.argv[1])
units, config = prepare_build(root)
config = dataclasses.replace(config, parent_pid=os.getpid())

def killed_before_the_first_job():
    write_children_and_die(root)
    yield from units

tracker = ProgressTracker(units, StatusWriter(root), False, None)
run_workers(killed_before_the_first_job(), config, 2, tracker)
"""

# Starts the merge's pool of 2 processes in a fresh process (an unthreaded one, so they
# are forked), which is killed once they run; writes their pids first.
_KILLED_WHILE_ITS_MERGE_POOL_RUNS = """
import os, sys
from pathlib import Path
from test_index_parallel import write_children_and_die
from searchsvc.index.merging import _job_runner

with _job_runner(2) as submit:
    submit(os.getpid).result()
    submit(os.getpid).result()
    write_children_and_die(Path(sys.argv[1]))
"""


def write_children_and_die(root: Path) -> None:
    """Write this process's children's pids to ``root/workers.json``, then SIGKILL it."""
    pids = [child.pid for child in psutil.Process().children()]
    (root / "workers.json").write_text(json.dumps(pids))
    os.kill(os.getpid(), signal.SIGKILL)


def workers_left_by(script: str, root: Path) -> list[psutil.Process]:
    """The worker processes that ``script`` (killed by :func:`write_children_and_die`)
    left running 15 s after it was killed; each is killed once counted."""
    log = root / "build.log"
    with log.open("w") as output:  # not a pipe: the workers would hold it open
        build = subprocess.run(
            [sys.executable, "-c", script, str(root)],
            cwd=Path(__file__).parent,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=120,  # hang guard
        )
    assert build.returncode == -signal.SIGKILL, log.read_text()
    workers = [psutil.Process(pid) for pid in json.loads((root / "workers.json").read_text())]
    assert len(workers) == 2
    try:
        return still_running(workers, timeout=15)
    finally:
        for worker in workers:
            with contextlib.suppress(psutil.Error):
                worker.kill()


def still_running(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Those of ``processes`` still running after up to ``timeout`` seconds; an ended one
    that whoever adopted it has not reaped yet (a zombie) counts as ended."""
    _ended, running = psutil.wait_procs(processes, timeout=timeout)
    return [process for process in running if not _is_zombie(process)]


def _is_zombie(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_workers_of_a_build_killed_before_queueing_their_jobs_stop(tmp_path: Path) -> None:
    """A build killed between starting its workers and queueing their jobs (a ``serve``
    stopped while it builds its first index) must not leave them waiting for work: each
    forked worker holds the jobs pipe's write end too, so no end of the pipe ever
    comes, and they waited for good."""
    assert workers_left_by(_KILLED_BEFORE_THE_FIRST_JOB, tmp_path) == []


def test_the_merge_pool_of_a_killed_build_stops(tmp_path: Path) -> None:
    """The same for the merge's pool of processes between two jobs: they waited for the
    next job for good."""
    assert workers_left_by(_KILLED_WHILE_ITS_MERGE_POOL_RUNS, tmp_path) == []
