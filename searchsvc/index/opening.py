"""Opening the serving generation for reading, with clear errors when it cannot be.

An :class:`OpenedIndex` holds a shared lock on its generation, so cleanup leaves
it alone until :meth:`OpenedIndex.close`; searchers opened from it see incremental
commits. Compare :attr:`OpenedIndex.generation` with :func:`read_current` to notice
that a rebuild switched generations and reopen.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whoosh.index import FileIndex
from whoosh.searching import Searcher

from searchsvc.analysis import analysis_config
from searchsvc.index.checked import CheckedStorage
from searchsvc.index.errors import AnalyzerMismatch, IndexCorrupt, IndexNotFound, IndexOutdated
from searchsvc.index.generations import (
    GenerationLock,
    complete_generations,
    damage_mark,
    generation_path,
    is_generation_name,
    mark_damaged,
    read_current,
    read_meta,
    remove_stale_generations,
)
from searchsvc.index.manifest import find_damage, latest_commit
from searchsvc.index.schema import READABLE_SCHEMA_VERSIONS

log = logging.getLogger(__name__)

_OPEN_ATTEMPTS = 5


@dataclass
class OpenedIndex:
    """One generation opened for reading; close it (or use ``with``) when done."""

    generation: str
    path: Path
    index: FileIndex
    meta: dict[str, Any]
    #: The unreadable generation ``CURRENT`` names, when this one serves instead.
    fallback_from: str | None = None
    _lock: GenerationLock | None = field(default=None, repr=False)
    _verified_commit: int | None = field(default=None, repr=False)
    _verifying: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def schema(self):
        return self.index.schema

    def searcher(self, **kwargs: Any) -> Searcher:
        """A Whoosh searcher over the latest commit of this generation."""
        return self.index.searcher(**kwargs)

    def doc_count(self) -> int:
        return self.index.doc_count()

    def verify_files(self) -> str | None:
        """Compare every byte of the latest commit's files with the manifest (what opening
        only samples); a damaged generation is marked so that it never opens again.

        Returns what is wrong, or ``None``. A clean result is remembered until the next
        commit: the files of a commit never change, so a later failure cannot be explained
        by them.
        """
        with self._verifying:
            for _ in range(_OPEN_ATTEMPTS):
                commit = latest_commit(self.path)
                if self._verified_commit == commit:
                    return None
                meta = read_meta(self.path) or self.meta  # updates since the open add files
                problem = find_damage(self.path, self.index, meta.get("files"), full=True)
                if problem is None:
                    self._verified_commit = commit
                    return None
                if latest_commit(self.path) == commit:
                    break  # the files of a settled commit: damage
            else:
                return None  # updates kept replacing the files checked: nothing to blame
        with contextlib.suppress(OSError):
            mark_damaged(self.path, problem)
        return problem

    def close(self) -> None:
        """Release the generation; if it no longer serves, old generations may go now."""
        self.index.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None
            index_dir = self.path.parent.parent
            if read_current(index_dir) != self.generation:
                with contextlib.suppress(OSError):
                    remove_stale_generations(index_dir)

    def __enter__(self) -> OpenedIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _OpenAgain(Exception):
    """The generation changed while it was being opened: it was replaced and removed
    between reading CURRENT and locking it, or an update committed to it and removed the
    files of the commit being checked (which is not damage). Opening it again sees a
    settled state."""


def open_index(index_dir: Path, *, fallback: bool = True) -> OpenedIndex:
    """Open the serving generation of the index in ``index_dir``.

    Raises :class:`IndexNotFound` before the first build, :class:`IndexOutdated`
    (:class:`AnalyzerMismatch`) when the code's schema or analysis changed since the
    build, and :class:`IndexCorrupt` when the current generation is unreadable and
    no earlier complete one can stand in (when one can, it is returned with
    ``fallback_from`` set and a warning logged). Without ``fallback`` none is looked
    for: a server that already answers from the earlier one tries the current again.
    """
    index_dir = Path(index_dir)
    for _ in range(_OPEN_ATTEMPTS):
        current = read_current(index_dir)
        if current is None:
            raise IndexNotFound(index_dir)
        try:
            return open_generation(index_dir, current)
        except _OpenAgain:
            continue
        except IndexCorrupt as problem:
            stand_in = _open_fallback(index_dir, current) if fallback else None
            if stand_in is None:
                raise
            log.warning("%s; serving generation %s instead", problem, stand_in.generation)
            return stand_in
    raise IndexCorrupt(f"{index_dir}: the current generation kept changing while opening it")


def open_generation(index_dir: Path, name: str) -> OpenedIndex:
    """Open one named generation (holding its shared lock until closed)."""
    if not is_generation_name(name):
        raise IndexCorrupt(
            f"{index_dir}/CURRENT names no valid generation ({name!r}); run `searchsvc build-index`"
        )
    gen_dir = generation_path(index_dir, name)
    lock = GenerationLock(index_dir, name)
    lock.acquire_shared()
    try:
        commit = latest_commit(gen_dir)  # before the manifest that describes it
        meta = read_meta(gen_dir)
        if meta is None:
            if read_current(index_dir) != name:
                raise _OpenAgain(name)
            raise IndexCorrupt(
                f"index generation {name} in {index_dir} is missing or incomplete; "
                "run `searchsvc build-index`"
            )
        check_compatible(meta, name)
        refused = damage_mark(gen_dir)
        if refused is not None:
            raise IndexCorrupt(
                f"index generation {name} in {index_dir} was found damaged ({refused}); "
                "run `searchsvc build-index`"
            )
        ix = _open_whoosh_index(gen_dir, name, index_dir, meta, commit)
        return OpenedIndex(generation=name, path=gen_dir, index=ix, meta=meta, _lock=lock)
    except BaseException:
        lock.release()
        raise


def _open_whoosh_index(
    gen_dir: Path, name: str, index_dir: Path, meta: dict, commit: int
) -> FileIndex:
    """Open and probe the Whoosh index; any failure to read it means corruption, unless
    an update committed since ``commit`` (the newest when the open began)."""
    with warnings.catch_warnings():
        # Whoosh leaves a file open when a truncated file fails to parse; it is
        # closed (and its warning dropped) here rather than at some later collection.
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            chunks = meta.get("chunks") or {}
            ix = CheckedStorage(str(gen_dir), chunks).open_index()
            problem = find_damage(gen_dir, ix, meta.get("files"), chunks)
            if problem is None:
                with ix.reader() as reader:
                    reader.doc_count()
                    if reader.doc_count_all():
                        reader.stored_fields(0)
                return ix
        except Exception as error:
            problem = f"{type(error).__name__}: {error}"
        gc.collect()
    if latest_commit(gen_dir) != commit:
        raise _OpenAgain(name)
    raise IndexCorrupt(
        f"index generation {name} in {index_dir} cannot be read ({problem}); "
        "run `searchsvc build-index`"
    )


def check_compatible(meta: dict[str, Any], name: str) -> None:
    """Refuse an index whose analysis or schema differ from this code's."""
    built_with = meta.get("analysis")
    if built_with != analysis_config():
        raise AnalyzerMismatch(
            f"index generation {name} was built with a different text analysis "
            f"({built_with}) than this version uses ({analysis_config()}); "
            "rebuild it with `searchsvc build-index`"
        )
    if meta.get("schema_version") not in READABLE_SCHEMA_VERSIONS:
        raise IndexOutdated(
            f"index generation {name} has schema version {meta.get('schema_version')}, "
            f"this version reads {' and '.join(map(str, READABLE_SCHEMA_VERSIONS))}; "
            "rebuild it with `searchsvc build-index`"
        )


def _open_fallback(index_dir: Path, broken: str) -> OpenedIndex | None:
    """The newest other complete generation that opens cleanly, if any."""
    for name in reversed(complete_generations(index_dir)):
        if name == broken:
            continue
        try:
            opened = open_generation(index_dir, name)
        except (IndexCorrupt, IndexOutdated, _OpenAgain):
            continue
        opened.fallback_from = broken
        return opened
    return None
