"""Where index generations live on disk, which one is current, and when old ones go.

Layout of ``index_dir``::

    CURRENT                    name of the serving generation (replaced atomically)
    build.lock                 held (flock, exclusive) by the running full build
    build-status.json          progress of the running or last build
    build-files.jsonl          the files the last build read, for a watch to take over
    generations/<name>/        one complete Whoosh index plus meta.json
    generations/<name>.lock    readers hold it shared while a searcher is open

A generation is complete once its ``meta.json`` exists: the build writes it last,
after verifying the index, and only then points ``CURRENT`` at it. Anything else in
``generations/`` is a build in progress or the leftover of one that died; stale
generations are deleted only by a process that wins the exclusive lock on their
lock file, so nothing is removed while a searcher or a build still uses it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CURRENT_FILE = "CURRENT"
GENERATIONS_DIR = "generations"
META_FILE = "meta.json"
#: Written into a generation found damaged after it was opened; it never serves again.
DAMAGED_FILE = ".damaged"
#: The current generation and the newest complete one before it (a fallback when
#: the current one turns out unreadable).
KEEP_COMPLETE = 2


def generations_dir(index_dir: Path) -> Path:
    return Path(index_dir) / GENERATIONS_DIR


def generation_path(index_dir: Path, name: str) -> Path:
    return generations_dir(index_dir) / name


def lock_path(index_dir: Path, name: str) -> Path:
    return generations_dir(index_dir) / f"{name}.lock"


def new_generation_name(now: dt.datetime | None = None) -> str:
    """Names sort by creation time; the random suffix keeps two builds apart."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%S.%f}-{secrets.token_hex(3)}"


def read_current(index_dir: Path) -> str | None:
    """The name of the serving generation, or ``None`` before the first build.

    A damaged ``CURRENT`` yields a name no generation has (see :func:`is_generation_name`).
    """
    try:
        raw = (Path(index_dir) / CURRENT_FILE).read_bytes()
    except FileNotFoundError:
        return None
    name = raw.decode("utf-8", errors="replace").strip()
    return name or None


_NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z.\-]{0,80}")


def is_generation_name(name: str) -> bool:
    """Whether ``name`` can name a generation directory (no paths, no odd bytes)."""
    return bool(_NAME.fullmatch(name)) and ".." not in name


def switch_current(index_dir: Path, name: str) -> None:
    """Point ``CURRENT`` at ``name``: readers see the old name or the new one, never half."""
    index_dir = Path(index_dir)
    atomic_write_text(index_dir / CURRENT_FILE, name + "\n")


def atomic_write_text(path: Path, text: str, *, durable: bool = True) -> None:
    """Write to a temporary sibling and rename it over ``path``: readers see the old file
    or the new one, never part of one. ``durable``: the file and the directory are fsynced
    too (a record replaced again within a second, such as build progress, can do without)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    if durable:
        fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_meta(gen_dir: Path) -> dict[str, Any] | None:
    """The generation's metadata, or ``None`` when it is not complete (or unreadable)."""
    try:
        meta = json.loads((Path(gen_dir) / META_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, ValueError, UnicodeDecodeError):
        return None
    return meta if isinstance(meta, dict) else None


def write_meta(gen_dir: Path, meta: dict[str, Any]) -> None:
    atomic_write_text(Path(gen_dir) / META_FILE, json.dumps(meta, indent=2, sort_keys=True))


def mark_damaged(gen_dir: Path, reason: str) -> None:
    """Record that a full verification found ``gen_dir`` damaged, so no process opens it
    again (the damage may lie where opening only samples)."""
    atomic_write_text(Path(gen_dir) / DAMAGED_FILE, reason + "\n")


def damage_mark(gen_dir: Path) -> str | None:
    """Why the generation was marked damaged, or ``None`` when it was not."""
    try:
        return (Path(gen_dir) / DAMAGED_FILE).read_text(encoding="utf-8", errors="replace").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None


class GenerationLock:
    """An flock on a generation's lock file: shared for readers and builds, exclusive
    for deletion. The lock file is created on demand and outlives nothing it guards."""

    def __init__(self, index_dir: Path, name: str) -> None:
        self.path = lock_path(index_dir, name)
        self._fd: int | None = None

    def acquire_shared(self) -> None:
        """Block until shared; retry if a deletion unlinked the file meanwhile."""
        while True:
            self._open()
            fcntl.flock(self._fd, fcntl.LOCK_SH)
            if self._still_linked():
                return
            self.release()

    def try_exclusive(self) -> bool:
        self._open()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.release()
            return False
        if not self._still_linked():
            self.release()
            return False
        return True

    def _still_linked(self) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(self._fd).st_ino
        except FileNotFoundError:
            return False

    def fileno(self) -> int | None:
        return self._fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def _open(self) -> None:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)

    def __enter__(self) -> GenerationLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def reading_generation(index_dir: Path, name: str) -> Iterator[GenerationLock]:
    """Hold the shared lock on generation ``name`` for the duration of the block."""
    lock = GenerationLock(index_dir, name)
    lock.acquire_shared()
    try:
        yield lock
    finally:
        lock.release()


def list_generation_names(index_dir: Path) -> list[str]:
    """All generation directories, oldest first (complete or not)."""
    root = generations_dir(index_dir)
    if not root.is_dir():
        return []
    return sorted(entry.name for entry in root.iterdir() if entry.is_dir())


def complete_generations(index_dir: Path) -> list[str]:
    """Names of complete generations, oldest first."""
    return [
        name
        for name in list_generation_names(index_dir)
        if read_meta(generation_path(index_dir, name)) is not None
    ]


def generations_to_keep(index_dir: Path) -> set[str]:
    """The current generation and the newest complete ones before it that are not
    known to be damaged (those could not stand in for it)."""
    current = read_current(index_dir)
    complete = complete_generations(index_dir)
    older = complete[: complete.index(current)] if current in complete else complete
    older = [name for name in older if damage_mark(generation_path(index_dir, name)) is None]
    keep = set(older[-(KEEP_COMPLETE - 1) :]) if KEEP_COMPLETE > 1 else set()
    if current:
        keep.add(current)
    return keep


def remove_stale_generations(index_dir: Path) -> list[str]:
    """Delete generations nobody needs or uses; returns the names removed.

    Safe from any process at any time: a generation being built or read is locked
    (shared) and is skipped; one that is neither current, nor the fallback, is gone
    for good once deleted.
    """
    root = generations_dir(index_dir)
    if not root.is_dir():
        return []
    keep = generations_to_keep(index_dir)
    names = set(list_generation_names(index_dir))
    names |= {p.name[: -len(".lock")] for p in root.glob("*.lock")}
    removed = []
    for name in sorted(names - keep):
        lock = GenerationLock(index_dir, name)
        if not lock.try_exclusive():
            continue
        try:
            if name in generations_to_keep(index_dir):
                continue  # became current meanwhile
            gen_dir = generation_path(index_dir, name)
            # Incomplete first, so a reader that slips in sees a generation to skip.
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                (gen_dir / META_FILE).unlink()
            shutil.rmtree(gen_dir, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                lock.path.unlink()
            removed.append(name)
        finally:
            lock.release()
    return removed


def directory_size(path: Path) -> int:
    """Bytes used by the files under ``path`` (0 if it is gone)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total
