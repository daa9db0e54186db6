"""Running a build's workers, and saying in one line why one failed.

Workers run as separate processes (``fork`` after loading the read-only data every
worker needs, so they share it; ``spawn`` from a threaded process) or, when there is
one unit of work or one core to use, in the build's own process, where a process would
cost more than it saves.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import multiprocessing
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from searchsvc.articles.files import WorkUnit
from searchsvc.index.errors import BuildFailed
from searchsvc.index.progress import ProgressTracker
from searchsvc.index.workers import (
    BUILDING,
    FAILED,
    FILE_DONE,
    FINISHED,
    PROGRESS,
    WorkerConfig,
    WorkerOutcome,
    load_function,
    run_worker,
)

log = logging.getLogger(__name__)


def workers_for(units: list[WorkUnit], procs: int) -> int:
    """How many of ``procs`` workers to start for ``units``: no more than there are."""
    return max(1, min(procs, len(units)))


def run_workers(
    units: list[WorkUnit],
    config: WorkerConfig,
    procs: int,
    tracker: ProgressTracker,
    *,
    lock_fds: tuple[int, ...] = (),
    meanwhile: Callable[[], object] | None = None,
) -> list[WorkerOutcome]:
    """Start ``procs`` workers over ``units`` (see :func:`workers_for`); their outcomes in
    worker order. One worker runs in this process (:func:`run_in_process`).

    ``meanwhile`` runs here once the workers have started: what the build needs after
    them (imports, say) costs no time of its own while this process would only wait.

    ``fork`` when this process runs no other thread (workers start without importing
    anything again, sharing what ``config.preload`` loaded here once; they close the
    inherited ``lock_fds`` so a killed build's orphans never hold its locks), ``spawn``
    otherwise: forking a threaded process (a web server building in the background)
    can copy a lock some other thread holds. Spawned workers load on first use.
    """
    if procs == 1:
        return [run_in_process(units, config, tracker)]
    if threading.active_count() == 1:
        context = multiprocessing.get_context("fork")
        config = dataclasses.replace(config, close_fds=lock_fds)
        if config.preload:
            load_function(config.preload)()
    else:
        context = multiprocessing.get_context("spawn")
    jobs = context.Queue()
    results = context.Queue()
    workers = [
        context.Process(target=run_worker, args=(n, config, jobs, results), daemon=True)
        for n in range(procs)
    ]
    for worker in workers:
        worker.start()
    outcomes: dict[int, WorkerOutcome] = {}
    drained = False
    try:
        # Only now: the first job put starts the queue's feeder thread, which must not
        # run while the workers are forked.
        for unit in units:
            jobs.put(unit)
        for _ in range(procs):
            jobs.put(None)
        if meanwhile is not None:
            meanwhile()
        while len(outcomes) < procs:
            try:
                kind, number, payload = results.get(timeout=0.5)
            except queue.Empty:
                tracker.tick()
                _check_workers_alive(workers, outcomes)
                continue
            if kind == PROGRESS:
                tracker.advance(payload)
            elif kind == FILE_DONE:
                tracker.advance(payload[0], finished_unit=payload[1])
            elif kind == FINISHED:
                outcomes[number] = payload
            elif kind == FAILED:
                raise _worker_failure(payload, config)
        for worker in workers:
            worker.join()
        drained = True
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join()
        _close_jobs(jobs, drained)
        results.close()
    return [outcomes[n] for n in range(procs)]


def _close_jobs(jobs: Any, drained: bool) -> None:
    """Close the jobs queue and end its feeder thread.

    The thread outlives ``close()`` for a moment; while it runs, this process counts as
    threaded, and the merge that follows a build would start its workers with ``spawn``
    (each importing everything again) instead of forking. Once the workers took every
    job it has nothing left to send and is waited for; after a failure it may be stuck
    on a pipe nobody reads, so it is let go.
    """
    jobs.close()
    if drained:
        jobs.join_thread()
    else:
        jobs.cancel_join_thread()


def run_in_process(
    units: list[WorkUnit], config: WorkerConfig, tracker: ProgressTracker
) -> WorkerOutcome:
    """One worker's job done here: for one unit or one core, a process costs more.

    The cyclic garbage collector is off while it runs, as in a worker process (the
    writer's millions of live objects would be rescanned over and over: a one-worker
    build of Reuters took 1.15-1.25 times the CPU with it on), and back on after.
    """
    jobs: queue.SimpleQueue = queue.SimpleQueue()
    for unit in units:
        jobs.put(unit)
    jobs.put(None)
    here = dataclasses.replace(config, parent_pid=0)  # no parent to watch
    outcome = run_worker(0, here, jobs, _TrackerQueue(tracker))
    kind, _number, payload = outcome
    if kind == FAILED:
        raise _worker_failure(payload, config)
    return payload


def _worker_failure(payload: tuple, config: WorkerConfig) -> BuildFailed:
    summary, details, errno_code = payload
    # An OSError says all in its summary; anything else is a bug worth its traceback.
    log.log(logging.DEBUG if errno_code else logging.ERROR, "build worker failed:\n%s", details)
    if errno_code in DISK_FULL_ERRORS:
        return BuildFailed(
            f"not enough disk space in {config.index_dir or config.gen_dir}: {summary}"
        )
    return BuildFailed(f"{config.task} failed: {summary}")


DISK_FULL_ERRORS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


def as_build_failure(error: BaseException, index_dir: Path, task: str = BUILDING) -> BaseException:
    """The one-line :class:`BuildFailed` an error stands for (the error itself if it is
    one); ``task`` names what failed."""
    if isinstance(error, BuildFailed | KeyboardInterrupt):
        return error
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        if error.errno in DISK_FULL_ERRORS:
            return BuildFailed(f"not enough disk space in {index_dir}: {error.strerror}{where}")
        return BuildFailed(f"{task} failed: {error.strerror or error}{where}")
    log.error("%s failed", task, exc_info=error)
    return BuildFailed(f"{task} failed: {type(error).__name__}: {error}")


class _TrackerQueue:
    """Stands in for the results queue when the worker runs in this process."""

    def __init__(self, tracker: ProgressTracker) -> None:
        self.tracker = tracker

    def put(self, message: tuple) -> None:
        kind, _number, payload = message
        if kind == PROGRESS:
            self.tracker.advance(payload)
        elif kind == FILE_DONE:
            self.tracker.advance(payload[0], finished_unit=payload[1])


def _check_workers_alive(workers: list, outcomes: dict[int, WorkerOutcome]) -> None:
    for number, worker in enumerate(workers):
        if number in outcomes or worker.is_alive():
            continue
        # A worker that exited cleanly may still have its last message in flight.
        worker.join(timeout=0)
        if worker.exitcode or (worker.exitcode == 0 and not _message_may_follow(worker)):
            raise BuildFailed(
                f"index build worker {number} died (exit code {worker.exitcode}); "
                "out of memory or killed?"
            )


def _message_may_follow(worker) -> bool:
    """Give a worker's final message a few seconds to arrive after it exits."""
    first_seen = getattr(worker, "_seen_dead_at", None)
    if first_seen is None:
        worker._seen_dead_at = time.monotonic()
        return True
    return time.monotonic() - first_seen < 5.0
