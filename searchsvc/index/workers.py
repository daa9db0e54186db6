"""Worker processes of a full build: each reads units of work (whole source files, or
parts of a big streaming one), analyzes the articles and writes its own Whoosh segments
into the new generation.

Parsing, place resolution, analysis and posting-writing all happen in the worker,
so the parent only hands out units and collects finished segments; nothing
but small messages crosses a process boundary. A worker whose parent dies stops
on its own, leaving only files inside the unfinished generation.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from whoosh.filedb.filestore import FileStorage

from searchsvc.articles.files import WorkUnit
from searchsvc.articles.model import Article, IngestReport
from searchsvc.config import Settings
from searchsvc.index.builtfiles import UnitNote
from searchsvc.index.held import HeldRead, UnchangedArticles
from searchsvc.index.schema import documents_for
from searchsvc.index.segments import BLOCK_COMPRESSION, BulkSegmentWriter

#: Messages a worker sends on the results queue: (kind, worker number, payload).
PROGRESS, FILE_DONE, FINISHED, FAILED = "progress", "file", "finished", "failed"
PROGRESS_EVERY = 50
#: The tasks workers do, as their failures name them.
BUILDING, ADDING = "index build", "adding to the index"
#: Seconds a worker waits for its next job before it checks that the build still runs
#: (and a pool worker of the merge sleeps between those checks).
JOB_WAIT_SECONDS = 0.5

ReadFile = Callable[..., Iterator[Article]]


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs, picklable for a spawned process."""

    gen_dir: str
    max_file_bytes: int
    #: ``module:function`` reading one source file, as ``sources.read_file``.
    read_file: str = "searchsvc.articles.sources:read_file"
    #: ``module:function`` loading, once, read-only data the reader needs (the places'
    #: gazetteer); a build that forks its workers calls it first, so they share it.
    preload: str | None = "searchsvc.places:load_places"
    #: A segment is closed and a new one started after this many postings, which bounds
    #: a worker's memory (roughly 40 bytes a posting: ~160 MB) whatever the corpus size.
    segment_postings: int = 4_000_000
    #: zlib level for postings blocks.
    compression: int = BLOCK_COMPRESSION
    parent_pid: int = 0
    #: Descriptors a forked worker closes first: the build's locks, which must go
    #: with the build process.
    close_fds: tuple[int, ...] = ()
    #: What the workers do, as a failure names it ("index build failed: ...").
    task: str = BUILDING
    #: The index folder a full disk is reported in.
    index_dir: str | None = None
    #: For an update, the serving generation: an article read that it holds as it is
    #: is left out (see :mod:`searchsvc.index.held`). None: nothing is left out.
    held_in: str | None = None
    #: Note what each unit of work read, for a watch to take over
    #: (:mod:`searchsvc.index.builtfiles`): a full build's workers do.
    note_files: bool = False

    @classmethod
    def writing_to(cls, gen_dir: Path, settings: Settings, **options: Any) -> WorkerConfig:
        """Workers of this process writing into the index in ``gen_dir`` as ``settings`` say."""
        return cls(
            gen_dir=str(gen_dir),
            max_file_bytes=settings.max_file_bytes,
            segment_postings=settings.segment_postings,
            parent_pid=os.getpid(),
            index_dir=str(settings.index_dir),
            **options,
        )


def load_function(spec: str) -> Callable[..., Any]:
    """The function a ``module:function`` spec names."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def run_worker(number: int, config: WorkerConfig, jobs: Any, results: Any) -> tuple:
    """Process entry point: take :class:`WorkUnit` jobs from ``jobs`` until ``None``.

    The outcome is put on ``results`` (and returned): ``(FINISHED, number,``
    :class:`WorkerOutcome` ``)`` or ``(FAILED, number, (one-line summary, traceback,
    errno or None))``.
    """
    for fd in config.close_fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    # Also when the build runs this in its own process.
    with cyclic_collector_off():
        try:
            outcome: tuple = (FINISHED, number, _write_segments(number, config, jobs, results))
        except _ParentGone:
            # Nobody reads the queue any more: do not wait at exit to flush it.
            cancel = getattr(results, "cancel_join_thread", None)
            if cancel is not None:
                cancel()
            return (FAILED, number, ("the build process is gone", "", None))
        except BaseException as error:
            outcome = (FAILED, number, (_summary(error), traceback.format_exc(), _errno(error)))
    results.put(outcome)
    return outcome


@contextlib.contextmanager
def cyclic_collector_off() -> Iterator[None]:
    """The cyclic garbage collector off meanwhile, and back as it was after.

    A segment writer keeps millions of small objects alive and creates no cycles, so the
    collector would only rescan them over and over, more often the more of them there
    are. Whoosh's writer objects do refer to each other: whoever finishes a writer and
    goes on writing collects it (``gc.collect()``), or its postings stay in memory.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _ParentGone(Exception):
    pass


def _summary(error: BaseException) -> str:
    """One line for the user; the traceback goes to the log."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror + (f" ({error.filename})" if error.filename else "")
    return f"{type(error).__name__}: {error}".splitlines()[0]


def _errno(error: BaseException) -> int | None:
    return error.errno if isinstance(error, OSError) else None


class WorkerOutcome(NamedTuple):
    """What a worker did: the segments it wrote, what it read and how many documents."""

    segments: list
    #: :meth:`IngestReport.to_dict` of what the worker read, skipped and repaired.
    report: dict[str, Any]
    written: int
    #: ``(unit order, documents written)`` of each unit in the order the worker wrote
    #: them, so the build knows where each of its documents was read (see
    #: :attr:`~searchsvc.articles.files.WorkUnit.order`).
    units: list[tuple[int, int]]
    #: The articles left out as :attr:`WorkerConfig.held_in` holds them, where read.
    held: list[HeldRead]
    #: What each unit read (:meth:`~searchsvc.index.builtfiles.FileRead.to_json`), where
    #: :attr:`WorkerConfig.note_files` asks for it.
    files: list[str]


def _write_segments(number: int, config: WorkerConfig, jobs: Any, results: Any) -> WorkerOutcome:
    with _held_articles(config) as held:
        return _write_units(number, config, jobs, results, held)


@contextlib.contextmanager
def _held_articles(config: WorkerConfig) -> Iterator[UnchangedArticles | None]:
    """What leaves out the articles :attr:`WorkerConfig.held_in` holds as they are."""
    if config.held_in is None:
        yield None
        return
    with FileStorage(config.held_in).open_index().searcher() as searcher:
        yield UnchangedArticles(searcher, compare_once=False)


def _write_units(
    number: int, config: WorkerConfig, jobs: Any, results: Any, held: UnchangedArticles | None
) -> WorkerOutcome:
    read_file: ReadFile = load_function(config.read_file)
    ix = FileStorage(config.gen_dir).open_index()
    schema = ix.schema  # read from the table of contents at each call
    plain = schema["title_words"].analyzer
    report = IngestReport()
    segments: list = []
    units: list[tuple[int, int]] = []
    files: list[str] = []
    writer: BulkSegmentWriter | None = None
    count = unreported = 0
    try:
        while (unit := _next_job(jobs, config)) is not None:
            before = count
            note = UnitNote(unit, report) if config.note_files else None
            articles = _read_unit(read_file, unit, report, config.max_file_bytes)
            if note is not None:
                articles = note.passing(articles)
            if held is not None:
                articles = held.left_out(articles, unit.order)
            for document in documents_for(articles, plain, schema):
                if writer is None:
                    writer = BulkSegmentWriter(ix, compression=config.compression)
                writer.add_document(**document)
                count += 1
                unreported += 1
                if unreported >= PROGRESS_EVERY:
                    _check_parent(config)
                    results.put((PROGRESS, number, unreported))
                    unreported = 0
                if writer.posting_count >= config.segment_postings:
                    segments.append(_finish_segment(writer))
                    writer = None
                    gc.collect()  # see cyclic_collector_off
            units.append((unit.order, count - before))
            if note is not None:
                files.append(note.read(report))
            results.put((FILE_DONE, number, (unreported, unit.key)))
            unreported = 0
        if writer is not None:
            segments.append(_finish_segment(writer))
    except BaseException:
        if writer is not None and not writer.is_closed:
            _close_files(writer)
        raise
    left = held.left if held else []
    return WorkerOutcome(segments, report.to_dict(), count, units, left, files)


def _next_job(jobs: Any, config: WorkerConfig) -> WorkUnit | None:
    """The next unit of work, ``None`` at the end. Waited for only while the build runs:
    every forked worker holds the jobs pipe's write end too, so the pipe never reports
    the end of a build killed before it queued every job, and a plain wait for it then
    lasted for good (orphans of a stopped ``serve`` that was building stayed up)."""
    while True:
        try:
            return jobs.get(timeout=JOB_WAIT_SECONDS)
        except queue.Empty:
            _check_parent(config)


def _read_unit(
    read_file: ReadFile, unit: WorkUnit, report: IngestReport, max_file_bytes: int
) -> Iterator[Article]:
    options: dict[str, Any] = {} if unit.part is None else {"part": unit.part}
    if unit.name is not None:  # a reader of one's own gets neither
        options["name"] = unit.name
    return read_file(Path(unit.path), report, max_file_bytes=max_file_bytes, **options)


def _close_files(writer: BulkSegmentWriter) -> None:
    """Close an abandoned writer's files, and only its own.

    Not writer.cancel(): that also deletes the temporary folder all the build's workers
    write their columns in, so the others would fail with "No such file or directory",
    an error that could reach the user before this worker's own. The parent removes the
    failed generation's folder; a second error while closing must not hide the first.
    """
    with contextlib.suppress(Exception):
        writer._close_segment()


def _finish_segment(writer: BulkSegmentWriter) -> Any:
    # Not writer._finish(): that deletes the temporary directory other workers share.
    return writer._finalize_segment()


def _check_parent(config: WorkerConfig) -> None:
    if config.parent_pid and os.getppid() != config.parent_pid:
        raise _ParentGone


def exit_when_orphaned(parent_pid: int) -> None:
    """A process pool's initializer (the merge's): end this worker once ``parent_pid`` is
    no longer its parent. A pool's workers wait for their next job on a pipe whose write
    end they hold too, so the workers of a killed build waited for good, each holding a
    process and its memory. Checked by a thread of its own: a job may run for minutes."""
    watch = threading.Thread(target=_exit_after, args=(parent_pid,), name="orphan-watch")
    watch.daemon = True
    watch.start()


def _exit_after(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(JOB_WAIT_SECONDS)
    os._exit(1)
