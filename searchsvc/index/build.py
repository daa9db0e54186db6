"""Full builds: a complete new generation, verified, then switched to atomically.

Until the switch the previous generation keeps serving; a build that dies leaves an
incomplete directory that the next build (or cleanup) removes. One build at a time:
the second one fails fast with :class:`BuildInProgress` naming the first.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import whoosh
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC

from searchsvc.analysis import analysis_config
from searchsvc.articles.model import IngestReport
from searchsvc.config import Settings
from searchsvc.index.builtfiles import write_built_files
from searchsvc.index.errors import BuildFailed, BuildInProgress
from searchsvc.index.generations import (
    GenerationLock,
    directory_size,
    fsync_dir,
    generation_path,
    new_generation_name,
    remove_stale_generations,
    switch_current,
    write_meta,
)
from searchsvc.index.manifest import build_chunks, build_manifest
from searchsvc.index.merging import merge_index
from searchsvc.index.parallel import as_build_failure, run_workers, workers_for
from searchsvc.index.progress import ProgressCallback, ProgressTracker
from searchsvc.index.schema import SCHEMA_VERSION, make_schema
from searchsvc.index.status import StatusWriter, now_iso, read_build_status
from searchsvc.index.verify import (
    ReadingOrder,
    remove_duplicate_ids,
    verify_files_unchanged,
    verify_generation,
)
from searchsvc.index.workers import WorkerConfig

BUILD_LOCK = "build.lock"
INDEX_NAME = "MAIN"
#: Files of a streaming format (JSON Lines) bigger than this are cut into parts of about
#: this size at line starts, so that several workers share one big export.
PIECE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class BuildResult:
    """What a finished build produced; ``report`` is the merged ingest report."""

    generation: str
    path: Path
    article_count: int
    seconds: float
    report: IngestReport
    index_bytes: int
    duplicates_removed: int
    meta: dict[str, Any]

    @property
    def rate(self) -> float:
        return self.article_count / self.seconds if self.seconds else 0.0

    def format_text(self) -> str:
        return "\n".join(
            [
                self.report.format_text(),
                f"generation: {self.generation}",
                f"articles indexed: {self.article_count}"
                + (
                    f" ({self.duplicates_removed} duplicate ids dropped)"
                    if self.duplicates_removed
                    else ""
                ),
                f"build time: {self.seconds:.1f} s ({self.rate:,.0f} articles/s)",
                f"index size: {self.index_bytes / 1_048_576:.1f} MiB",
            ]
        )


def build_index(
    sources: Sequence[Path] | None,
    settings: Settings,
    *,
    show_progress: bool | None = None,
    on_progress: ProgressCallback | None = None,
) -> BuildResult:
    """Build a new generation from ``sources`` (default ``settings.corpus``) and serve it.

    ``show_progress``: a tqdm bar on stderr (default: only when stderr is a terminal).
    ``on_progress``: called with the status dict at most every half second.
    Raises :class:`BuildInProgress` or :class:`BuildFailed`.
    """
    from searchsvc.articles.sources import list_source_files
    from searchsvc.index.watchstate import with_kept_sources

    paths = [Path(p) for p in (sources or settings.corpus)]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise BuildFailed(f"source not found: {', '.join(missing)}")
    paths = with_kept_sources(paths, settings.index_dir)  # and what `searchsvc watch` added
    return build_generation(
        paths,
        settings,
        list_files=lambda: list_source_files(paths),
        show_progress=show_progress,
        on_progress=on_progress,
    )


def build_generation(
    sources: Sequence[Path],
    settings: Settings,
    *,
    list_files: Callable[[], Iterable[Path]],
    read_file: str | None = None,
    show_progress: bool | None = None,
    on_progress: ProgressCallback | None = None,
    piece_bytes: int = PIECE_BYTES,
) -> BuildResult:
    """:func:`build_index` with the file listing, the file reader and the size of the
    parts big streaming files are cut into spelled out. A reader of one's own
    (``read_file``) gets whole files and no preloaded places."""
    index_dir = Path(settings.index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with hold_build_lock(index_dir, wait=settings.writer_lock_timeout) as build_fd:
        name = new_generation_name()
        status = StatusWriter(
            index_dir, state="building", pid=os.getpid(), started_at=now_iso(), generation=name
        )
        status.update(force=True, phase="starting")
        remove_stale_generations(index_dir)
        gen_lock = GenerationLock(index_dir, name)
        gen_lock.acquire_shared()
        try:
            lock_fds = (build_fd, gen_lock.fileno())
            result = _build(
                name,
                sources,
                settings,
                list_files,
                read_file,
                status,
                show_progress,
                on_progress,
                lock_fds,
                piece_bytes,
            )
        except BaseException as error:
            failure = as_build_failure(error, index_dir)
            # Best effort: on a full disk these writes fail too, and must not hide why.
            with contextlib.suppress(OSError):
                status.update(
                    force=True,
                    state="failed",
                    phase=None,
                    finished_at=now_iso(),
                    error=str(failure),
                )
            gen_lock.release()
            with contextlib.suppress(OSError):
                remove_stale_generations(index_dir)
            if failure is error or isinstance(error, KeyboardInterrupt):
                raise
            raise failure from error
        gen_lock.release()
        # The new generation serves already; bookkeeping that fails now must not say otherwise.
        with contextlib.suppress(OSError):
            status.update(
                force=True,
                state="idle",
                phase=None,
                finished_at=now_iso(),
                done=result.article_count,
                total=result.article_count,
                rate=round(result.rate, 1),
                report=result.report.to_dict(),
            )
            remove_stale_generations(index_dir)
        return result


@contextlib.contextmanager
def hold_build_lock(index_dir: Path, wait: float = 0.0):
    """The exclusive build lock; the loser learns who holds it.

    Another build makes this fail at once; an incremental update (such as a watch's
    poll) holds the lock for a moment, so that is waited out for up to ``wait`` seconds.
    """
    fd = os.open(Path(index_dir) / BUILD_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _take_build_lock(fd, index_dir, time.monotonic() + wait)
        yield fd
    finally:
        os.close(fd)


def _take_build_lock(fd: int, index_dir: Path, deadline: float) -> None:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            status = read_build_status(index_dir)
        if status["state"] == "building":
            raise BuildInProgress(
                f"another index build is running (pid {status.get('pid')}, started "
                f"{status.get('started_at')}, {status.get('done')} articles so far); "
                "wait for it to finish",
                status,
            )
        if time.monotonic() >= deadline:
            raise BuildInProgress(
                "another build or an incremental update holds the index (starting or "
                "finishing); try again in a moment",
                status,
            )
        time.sleep(0.05)


def _build(
    name: str,
    sources: Sequence[Path],
    settings: Settings,
    list_files: Callable[[], Iterable[Path]],
    read_file: str | None,
    status: StatusWriter,
    show_progress: bool | None,
    on_progress: ProgressCallback | None,
    lock_fds: tuple,
    piece_bytes: int,
) -> BuildResult:
    started = time.monotonic()
    index_dir = Path(settings.index_dir)
    gen_dir = generation_path(index_dir, name)
    gen_dir.mkdir(parents=True)
    storage = FileStorage(str(gen_dir))
    schema = make_schema()
    storage.create_index(schema, indexname=INDEX_NAME)

    from searchsvc.articles.sources import work_units

    files = list(list_files())
    if read_file is None:
        units = work_units(files, piece_bytes, roots=sources)
    else:  # a reader of one's own reads whole files, by their paths alone
        units = work_units(files, None)
    # A reader of one's own names no files, so a watch could not tell its ids apart.
    options = {"read_file": read_file, "preload": None} if read_file else {"note_files": True}
    config = WorkerConfig.writing_to(gen_dir, settings, **options)
    procs = workers_for(units, settings.build_procs)
    tracker = ProgressTracker(units, status, show_progress, on_progress)
    try:
        outcomes = run_workers(
            units, config, procs, tracker, lock_fds=lock_fds, meanwhile=_import_checks
        )
    finally:
        tracker.close()

    indexed = time.monotonic()
    segments = [segment for outcome in outcomes for segment in outcome.segments]
    report = IngestReport()
    for outcome in outcomes:
        report.merge(IngestReport.from_dict(outcome.report))
    written = sum(outcome.written for outcome in outcomes)
    if not written:
        raise BuildFailed(
            "no articles found in "
            + ", ".join(str(p) for p in sources)
            + "; the previous index keeps serving\n"
            + report.format_text()
        )
    TOC(schema, segments, 1).write(storage, INDEX_NAME)
    if len(segments) > 1 and written >= settings.merge_min_articles:
        # Phases are shown as progress is, at most every half second: a forced write of
        # the status file costs two fsyncs on the build's own path.
        status.update(phase="merging")
        merge_index(storage, INDEX_NAME, procs=settings.build_procs, compression=config.compression)
    shutil.rmtree(gen_dir / f"{INDEX_NAME}.tmp", ignore_errors=True)
    merged = time.monotonic()
    status.update(phase="verifying")
    with ThreadPoolExecutor(max_workers=1) as flusher:
        # The merged segment goes to disk while its checks run; nothing forks from here on.
        flushed = flusher.submit(_fsync_files, list(gen_dir.iterdir()))
        _cache_columns(storage)
        copy_pairs = _store_copy_pairs(storage)
        _store_lexicon(storage)
        cached = time.monotonic()
        written_chunks: dict[str, list[int]] = {}
        # Checksums of the files as written, and of the sampled files' chunks, in one read.
        written_files = build_manifest(gen_dir, chunks=written_chunks)
        order = ReadingOrder(unit for outcome in outcomes for unit in outcome.units)
        duplicates = remove_duplicate_ids(storage, INDEX_NAME, report, order)
        article_count = verify_generation(storage, INDEX_NAME, written - duplicates)
        verified = time.monotonic()
        flushed.result()
    _fsync_tree(gen_dir)  # what was written since, and the directory
    synced = time.monotonic()
    index_files = build_manifest(gen_dir, written_files)
    verify_files_unchanged(storage, INDEX_NAME, index_files)
    seconds = time.monotonic() - started
    meta = {
        "generation": name,
        "schema_version": SCHEMA_VERSION,
        "analysis": analysis_config(),
        "whoosh_version": whoosh.versionstring(),
        "created_at": status.status["started_at"],
        "completed_at": now_iso(),
        "build_seconds": round(seconds, 3),
        "phase_seconds": {
            "indexing": round(indexed - started, 3),
            "merging": round(merged - indexed, 3),
            "columns": round(cached - merged, 3),
            "verifying": round(verified - cached, 3),
            "syncing": round(synced - verified, 3),
            "checksums": round(seconds - (synced - started), 3),
        },
        "article_count": article_count,
        "sources": [str(p) for p in sources],
        "source_files": len(files),
        "work_units": len(units),
        "procs": procs,
        "segments_written": len(segments),
        "segments": len(storage.open_index(INDEX_NAME)._segments()),
        "duplicates_removed": duplicates,
        "report": report.to_dict(),
        "index_bytes": directory_size(gen_dir),
        "updates": {"added": 0, "replaced": 0, "deleted": 0, "last_update_at": None},
    }
    meta["copy_pairs"] = copy_pairs
    meta["files"] = index_files
    meta["chunks"] = build_chunks(gen_dir, index_files, written_chunks)
    write_meta(gen_dir, meta)
    fsync_dir(gen_dir.parent)
    status.update(phase="switching")
    switch_current(index_dir, name)
    if config.note_files:
        # Bookkeeping of a generation that serves already: a watch reads what it lacks.
        with contextlib.suppress(OSError):
            reads = [read for outcome in outcomes for read in outcome.files]
            write_built_files(index_dir, name, units, reads, ids_repeated=duplicates > 0)
    return BuildResult(
        generation=name,
        path=gen_dir,
        article_count=article_count,
        seconds=seconds,
        report=report,
        index_bytes=meta["index_bytes"],
        duplicates_removed=duplicates,
        meta=meta,
    )


def _import_checks() -> None:
    """Import what the build's end runs (the search side's columns, copy pairs and
    lexicon: 70 modules, 0.1 s of CPU) while the workers index, rather than after them,
    when it is all the build does."""
    import searchsvc.search.columns
    import searchsvc.search.copy_pairs
    import searchsvc.search.lexicon  # noqa: F401


def _cache_columns(storage: FileStorage) -> None:
    """Each segment's search columns in a file beside it, so that opening reads them
    rather than deriving them; written before the manifest, which then checksums them."""
    from searchsvc.search.columns import cache_segment_columns

    with storage.open_index(INDEX_NAME).reader() as reader:
        cache_segment_columns(reader)


def _store_copy_pairs(storage: FileStorage) -> str | None:
    """The candidate pairs of copies, so that no search works them out; written before
    the manifest, which then checksums them. Their commit's key (for the next update)."""
    from searchsvc.search.copy_pairs import write_copy_pairs

    with storage.open_index(INDEX_NAME).searcher() as searcher:
        return write_copy_pairs(searcher)


def _store_lexicon(storage: FileStorage) -> None:
    """The spelling lexicon, so that no reader of this commit reads it from the term
    tables; written before the manifest, which then checksums it."""
    from searchsvc.search.lexicon import store_lexicon

    with storage.open_index(INDEX_NAME).reader() as reader:
        store_lexicon(reader)


def _fsync_tree(path: Path) -> None:
    """Flush the generation's files so a power cut cannot leave a "complete" husk."""
    _fsync_files(Path(path).iterdir())
    fsync_dir(path)


def _fsync_files(paths: Iterable[Path]) -> None:
    """Flush each file; one removed meanwhile (a table of contents a commit replaced) is
    nothing to flush."""
    for entry in paths:
        try:
            fd = os.open(entry, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
