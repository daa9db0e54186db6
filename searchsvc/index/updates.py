"""Incremental changes to the serving generation: add, replace and delete by id.

One writer at a time: Whoosh's own write lock is waited on for at most
``settings.writer_lock_timeout`` seconds, and so is the build lock, because an
update applied to a generation that a running full build is about to replace
would be lost. Searchers opened after the commit see the change.

Whoosh's writer deletes the replaced articles, merges small segments and commits; the
added articles become one new segment written as a build writes its own
(:class:`_NewSegments`), which does not handle each posting in Python: through Whoosh's
writer, adding an export of 40,000 articles to an index took 2.7 times the CPU it takes
with this one (``benchmarks/bench_update.py``). Files added (:func:`add_sources`) are
read by the build's workers too, side by side.
"""

from __future__ import annotations

import fcntl
import gc
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whoosh.fields import Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, LockError
from whoosh.writing import MERGE_SMALL, NO_MERGE

from searchsvc.articles.files import WorkUnit
from searchsvc.articles.model import Article, IngestReport
from searchsvc.config import Settings
from searchsvc.index.build import BUILD_LOCK, INDEX_NAME, PIECE_BYTES
from searchsvc.index.codec import CompactCodec
from searchsvc.index.errors import WriterBusy
from searchsvc.index.generations import write_meta
from searchsvc.index.held import HeldRead, UnchangedArticles
from searchsvc.index.manifest import build_chunks, build_manifest
from searchsvc.index.merging import merge_index
from searchsvc.index.opening import open_index
from searchsvc.index.parallel import as_build_failure, run_workers, workers_for
from searchsvc.index.progress import ProgressTracker
from searchsvc.index.schema import SCHEMA_VERSION, documents_for
from searchsvc.index.segments import BLOCK_COMPRESSION, BulkSegmentWriter
from searchsvc.index.status import now_iso, read_build_status
from searchsvc.index.verify import (
    SKIP_DUPLICATE,
    ReadingOrder,
    delete_documents,
    remove_duplicate_ids,
    stored_origin,
)
from searchsvc.index.workers import ADDING, WorkerConfig, cyclic_collector_off
from searchsvc.search.copy_pairs import remove_stale_pairs, write_copy_pairs
from searchsvc.search.lexicon_file import remove_stale_lexicons

#: Up to this many segments, commits add a segment and delete nothing on disk, so
#: searchers opened before the commit keep every file they may still read.
MAX_SEGMENTS_BEFORE_MERGE = 8
#: The scratch index an update writes its new segments in, inside the generation's folder.
SCRATCH_PREFIX = "update-scratch-"
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class UpdateResult:
    generation: str
    added: int = 0
    replaced: int = 0
    deleted: int = 0
    article_count: int = 0
    #: Articles given that the index held as they were, so left as they are.
    unchanged: int = 0


def add_sources(
    settings: Settings,
    paths: Sequence[Path],
    report: IngestReport,
    *,
    roots: Sequence[Path] = (),
    show_progress: bool | None = None,
    piece_bytes: int = PIECE_BYTES,
) -> UpdateResult:
    """Add the articles of the files under ``paths`` to the serving generation, replacing
    any with the same id; what could not be read is in ``report``.

    Read as a full build reads them: by ``settings.build_procs`` workers sharing the
    files and the parts of big streaming ones, each writing segments of its own (read by
    one process, an export of 40,000 articles took 2.2 times a two-worker build's time).
    An id read twice keeps the version read last, as a build keeps it, and the others
    are reported as duplicates. The workers leave out the articles the index holds as
    they are read (:mod:`searchsvc.index.held`): an export added again costs its reading.
    Files are named within the first of ``roots``, then of ``paths``, that holds them
    (the collection's folders, as a rebuild names them). ``piece_bytes``: the size of the
    parts big streaming files are cut into.
    """
    from searchsvc.articles.sources import list_source_files, work_units

    units = work_units(list_source_files(paths), piece_bytes, roots=[*roots, *paths])
    try:
        with _writer(settings) as (opened, writer):
            tracker = ProgressTracker(units, None, show_progress, None)
            try:
                writer.new_segments.write_units(
                    units, settings, report, tracker, writer.lock_fds, held_in=opened.path
                )
            finally:
                tracker.close()
            added = replaced = 0
            new_ids = writer.new_segments.ids(report)
            unchanged = writer.new_segments.settle_held(report)
            searcher = writer.searcher()
            for article_id in new_ids:
                if article_id in unchanged:
                    continue
                if _delete_indexed(writer, searcher, article_id):
                    replaced += 1
                else:
                    added += 1
            return _commit(opened, writer, added=added, replaced=replaced, unchanged=len(unchanged))
    except OSError as error:  # a full disk, say: one line, as a build's
        raise as_build_failure(error, Path(settings.index_dir), ADDING) from error


def update_articles(settings: Settings, articles: Iterable[Article]) -> UpdateResult:
    """Add ``articles`` to the serving generation, replacing any with the same id.

    Streams: a batch of any size goes through one writer, its articles into new
    segments of at most ``settings.segment_postings`` postings each (the bound on the
    update's memory, as on a build worker's). An id repeated within the batch commits
    what came before it, so the later article wins. An article the index holds as it
    is given is left as it is (:mod:`searchsvc.index.held`), and an update that finds
    nothing else commits nothing.
    """
    with _writer(settings) as (opened, writer), cyclic_collector_off():
        schema = opened.schema  # read from the table of contents at each call
        plain = schema["title_words"].analyzer
        added = replaced = 0
        pending: set[str] = set()
        searcher = writer.searcher()
        unchanged = UnchangedArticles(searcher)
        for document in documents_for(unchanged.left_out(articles), plain, schema):
            article_id = document["id"]
            if article_id in pending:
                writer = _recommit(opened, writer)
                searcher = writer.searcher()
                pending.clear()
            if _delete_indexed(writer, searcher, article_id):
                replaced += 1
            else:
                added += 1
            writer.new_segments.add(document, settings.segment_postings)
            pending.add(article_id)
        held = len(unchanged.left)
        return _commit(opened, writer, added=added, replaced=replaced, unchanged=held)


def _delete_indexed(writer: Any, searcher: Any, article_id: str) -> bool:
    """Delete the index's article with this id, if it holds one: whether the update
    then replaces it (or adds it)."""
    if searcher.document_number(id=article_id) is None:
        return False
    writer.delete_by_term("id", article_id, searcher=searcher)
    return True


def delete_articles(settings: Settings, ids: Iterable[str]) -> UpdateResult:
    """Delete the articles with these ids; ids not in the index are ignored."""
    with _writer(settings) as (opened, writer):
        deleted = 0
        searcher = writer.searcher()
        for article_id in ids:
            deleted += writer.delete_by_term("id", article_id, searcher=searcher)
        return _commit(opened, writer, deleted=deleted)


@contextmanager
def _writer(settings: Settings) -> Iterator[tuple]:
    index_dir = Path(settings.index_dir)
    deadline = time.monotonic() + settings.writer_lock_timeout
    with _build_lock_until(index_dir, deadline) as build_fd:
        opened = open_index(index_dir)
        try:
            ix = FileStorage(str(opened.path)).open_index(INDEX_NAME)
            remaining = max(0.0, deadline - time.monotonic())
            try:
                writer = ix.writer(timeout=remaining, delay=_POLL_SECONDS, codec=CompactCodec())
            except LockError:
                raise WriterBusy(
                    f"the index writer stayed locked for {settings.writer_lock_timeout:g} s "
                    "(another update is running); try again later"
                ) from None
            holder = _WriterHolder(writer, opened.path, (build_fd, writer.writelock.fd))
            try:
                yield opened, holder
            except BaseException:
                if not holder.is_closed:
                    holder.cancel()
                raise
        finally:
            opened.close()


class _WriterHolder:
    """The current Whoosh writer of an update, which an intermediate commit replaces, and
    the new segment it will commit. ``lock_fds``: the update's locks, which workers it
    forks close."""

    def __init__(self, writer, gen_dir: Path, lock_fds: tuple[int, ...]) -> None:
        self.writer = writer
        self.lock_fds = lock_fds
        self.new_segments = _NewSegments(gen_dir, writer.schema)

    def __getattr__(self, name: str):
        return getattr(self.writer, name)

    def commit(self, **options) -> None:
        """Commit the deletions and the new segment (the holder then needs a new writer)."""
        self.writer.segments.extend(self.new_segments.finish())
        self.writer.commit(**options)

    def cancel(self) -> None:
        """Leave the generation as it was: Whoosh's cancel keeps the empty files its
        writer made for a segment at the start, which no commit will ever list."""
        self.new_segments.cancel()
        self.writer.cancel()
        storage, unwritten = self.writer.storage, self.writer.newsegment.segment_id() + "."
        for name in storage.list():
            if name.startswith(unwritten):
                storage.delete_file(name)


class _NewSegments:
    """The update's added articles as one new segment of the generation.

    They are written as a build's workers write theirs, a segment every ``limit``
    postings (the bound on the update's memory), in a scratch index of their own in the
    generation's folder: here one at a time (:meth:`add`), or by the build's workers
    (:meth:`write_units`). Those segments are then merged into one, as a build's are
    (:func:`merge_index`), joined into one compound file and moved beside the
    generation's others. A big export added adds one segment, so queries look each term
    up in one more place only.
    """

    def __init__(self, gen_dir: Path, schema: Schema) -> None:
        self._gen_dir = gen_dir
        self._schema = schema
        self._scratch: FileStorage | None = None
        self._writer: BulkSegmentWriter | None = None
        self._written: list = []
        self._order: ReadingOrder | None = None
        self._held: list[HeldRead] = []
        self._segment: Any = None
        for left in gen_dir.glob(f"{SCRATCH_PREFIX}*"):  # by an update that was killed
            shutil.rmtree(left, ignore_errors=True)

    def add(self, document: dict, limit: int) -> None:
        if self._writer is None:
            ix = self._scratch_storage().open_index(INDEX_NAME)
            self._writer = BulkSegmentWriter(ix, compression=BLOCK_COMPRESSION)
        self._writer.add_document(**document)
        if self._writer.posting_count >= limit:
            self._finish_one()
            gc.collect()  # the finished writer (see cyclic_collector_off)

    def write_units(
        self,
        units: list[WorkUnit],
        settings: Settings,
        report: IngestReport,
        tracker: ProgressTracker,
        lock_fds: tuple[int, ...],
        *,
        held_in: Path | None = None,
    ) -> None:
        """Read ``units`` with the build's workers, into segments of the scratch index,
        leaving out the articles the generation ``held_in`` holds as they are read."""
        folder = Path(self._scratch_storage().folder)
        held = None if held_in is None else str(held_in)
        config = WorkerConfig.writing_to(folder, settings, task=ADDING, held_in=held)
        procs = workers_for(units, settings.build_procs)
        outcomes = run_workers(units, config, procs, tracker, lock_fds=lock_fds)
        first = 0  # the number of each worker's first document, its segments laid end to end
        for outcome in outcomes:
            self._written += outcome.segments
            report.merge(IngestReport.from_dict(outcome.report))
            self._held += [read._replace(position=first + read.position) for read in outcome.held]
            first += outcome.written
        self._order = ReadingOrder(unit for outcome in outcomes for unit in outcome.units)

    def ids(self, report: IngestReport) -> list[str]:
        """The ids of the articles added, each once: of those read more than once, all but
        the last read are deleted from the new segment and reported as duplicates."""
        segment = self._settled(report)
        if segment is None:
            return []
        with self._scratch_storage().open_index(INDEX_NAME).reader() as reader:
            return [term.decode("utf-8") for term in reader.lexicon("id")]

    def settle_held(self, report: IngestReport) -> set[str]:
        """The ids whose article read last is one the index holds as it is (left out by
        the workers), after :meth:`ids`: copies of them written from earlier reads are
        dropped from the new segment. Every copy of an id but the last read is reported
        as a duplicate, as a build reports it."""
        last: dict[str, HeldRead] = {}
        for read in sorted(self._held, key=lambda held: (held.order, held.position)):
            if read.id in last:
                report.skip(SKIP_DUPLICATE, last[read.id].origin or read.id)
            last[read.id] = read
        if not last:
            return set()
        unchanged: set[str] = set()
        dropped: list[int] = []
        with self.searcher() as written:
            for article_id, read in last.items():
                number = written.document_number(id=article_id)
                if number is not None and self._read_at(number) >= (read.order, read.position):
                    report.skip(SKIP_DUPLICATE, read.origin or article_id)  # read after
                    continue
                if number is not None:
                    report.skip(SKIP_DUPLICATE, stored_origin(written, number) or article_id)
                    dropped.append(number)
                unchanged.add(article_id)
        if dropped:
            storage = self._scratch_storage()
            delete_documents(storage, INDEX_NAME, dropped)
            [self._segment] = storage.open_index(INDEX_NAME)._segments()
        return unchanged

    def searcher(self) -> Any:
        """A searcher of the articles added, once :meth:`ids` settled them."""
        return self._scratch_storage().open_index(INDEX_NAME).searcher()

    def _read_at(self, docnum: int) -> tuple[int, int]:
        return self._order.read_at(docnum) if self._order is not None else (0, docnum)

    def finish(self) -> list:
        """The new segment, its files in the generation's folder (none when nothing was
        added); the scratch index is removed."""
        segment = self._settled(IngestReport())
        if segment is None:
            self.cancel()  # the scratch index workers found nothing to write in
            return []
        storage = self._scratch_storage()
        # One file, as Whoosh's writer leaves an update's segment: the generation's
        # updates then add a file each, not one per column.
        segment.create_compound_file(storage)
        for name in segment.list_files(storage):
            os.replace(Path(storage.folder, name), self._gen_dir / name)
        self.cancel()
        return [segment]

    def _settled(self, report: IngestReport) -> Any:
        """What was written as one segment of the scratch index, without repeated ids
        (``None`` when nothing was written)."""
        if self._writer is not None:
            self._finish_one()
        if self._segment is None and self._written:
            storage = self._scratch_storage()
            TOC(self._schema, self._written, 1).write(storage, INDEX_NAME)
            if len(self._written) > 1:
                merge_index(storage, INDEX_NAME, compression=BLOCK_COMPRESSION)
            if self._order is not None:  # written by workers, who cannot see each other's ids
                remove_duplicate_ids(storage, INDEX_NAME, report, self._order)
            [self._segment] = storage.open_index(INDEX_NAME)._segments()
        return self._segment

    def _scratch_storage(self) -> FileStorage:
        if self._scratch is None:
            folder = tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=self._gen_dir)
            self._scratch = FileStorage(folder)
            self._scratch.create_index(self._schema, indexname=INDEX_NAME)
        return self._scratch

    def _finish_one(self) -> None:
        assert self._writer is not None
        self._written.append(self._writer._finalize_segment())
        self._writer = None

    def cancel(self) -> None:
        """Drop what was written: the unfinished segment's files closed, the scratch index
        removed."""
        if self._writer is not None and not self._writer.is_closed:
            self._writer._close_segment()
        if self._scratch is not None:
            shutil.rmtree(self._scratch.folder, ignore_errors=True)
        self._writer, self._written, self._scratch = None, [], None
        self._order = self._segment = None


def _recommit(opened, holder: _WriterHolder) -> _WriterHolder:
    """Commit what is pending and continue with a fresh writer (the lock is re-taken)."""
    ix = holder.writer.storage.open_index(INDEX_NAME)
    holder.commit(mergetype=NO_MERGE)
    holder.writer = ix.writer(timeout=10.0, delay=_POLL_SECONDS, codec=CompactCodec())
    return holder


@contextmanager
def _build_lock_until(index_dir: Path, deadline: float) -> Iterator[int]:
    fd = os.open(index_dir / BUILD_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WriterBusy(_busy_message(index_dir)) from None
                time.sleep(_POLL_SECONDS)
        yield fd
    finally:
        os.close(fd)


def _busy_message(index_dir: Path) -> str:
    status = read_build_status(index_dir)
    if status["state"] == "building":
        return (
            f"a full index build is running (pid {status['pid']}, {status['done']} articles "
            "so far); changes made now would be lost when it switches, try again after it"
        )
    return "another index update is running; try again later"


def _commit(
    opened, writer, *, added: int = 0, replaced: int = 0, deleted: int = 0, unchanged: int = 0
) -> UpdateResult:
    """Commit the update and record it in the generation's metadata; an update that
    changes nothing (articles all unchanged, ids to delete all absent) is cancelled
    instead, and the generation left as it was."""
    if not (added or replaced or deleted):
        writer.cancel()
        count = opened.meta.get("article_count", 0)
        return UpdateResult(opened.generation, article_count=count, unchanged=unchanged)
    many = len(writer.segments) >= MAX_SEGMENTS_BEFORE_MERGE
    writer.commit(mergetype=MERGE_SMALL if many else NO_MERGE)
    ix = FileStorage(str(opened.path)).open_index(INDEX_NAME)
    count = ix.doc_count()
    with ix.searcher() as searcher:
        copy_pairs = write_copy_pairs(searcher, opened.meta.get("copy_pairs"))
        # An update stores no lexicon of its own: its readers extend the one stored for
        # the build's segment, which is kept, with the other segments' terms.
        remove_stale_lexicons(opened.path, searcher.reader())
    # Before the manifest is taken, which lists only the files that are there. Should
    # the update stop before its manifest is written, the old one is still right: it
    # checks only the pairs file and lexicon of the latest commit's segments, which it
    # does not list.
    remove_stale_pairs(opened.path, copy_pairs)
    meta = dict(opened.meta)
    updates = dict(meta.get("updates") or {})
    updates["added"] = updates.get("added", 0) + added
    updates["replaced"] = updates.get("replaced", 0) + replaced
    updates["deleted"] = updates.get("deleted", 0) + deleted
    updates["last_update_at"] = now_iso()
    meta["updates"] = updates
    # The commit wrote this version's postings blocks, which older programs cannot read.
    meta["schema_version"] = SCHEMA_VERSION
    meta["article_count"] = count
    meta["copy_pairs"] = copy_pairs
    meta["files"] = build_manifest(opened.path, meta.get("files"))
    meta["chunks"] = build_chunks(opened.path, meta["files"], meta.get("chunks"))
    write_meta(opened.path, meta)
    return UpdateResult(
        generation=opened.generation,
        added=added,
        replaced=replaced,
        deleted=deleted,
        article_count=count,
        unchanged=unchanged,
    )
