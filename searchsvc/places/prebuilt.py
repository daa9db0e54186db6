"""Prebuilt tables: built once from the project's own files, then only loaded.

The gazetteer and the country-name table take a fraction of a second to half a second
of CPU to build from their data packages, and a build loads them before its workers
fork, while every core waits. Each is saved as a pickle in the cache folder, named by
a fingerprint of everything it is built from (our source files, the data package's
version, Python's version), so a change to any of them gives a new name and a stale
file is never read; a missing or unreadable file is built again and saved.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

Table = TypeVar("Table")


def load_prebuilt(
    cache_dir: Path,
    name: str,
    kind: type[Table],
    built_from: Sequence[Path],
    facts: tuple[Any, ...] = (),
) -> Table:
    """A ``kind()`` table, from its file in ``cache_dir`` when that file is whole and holds
    one; built and saved there otherwise. Where the file cannot be written the table is
    only built: slower, never wrong."""
    path = cache_dir / f"{name}-{fingerprint(built_from, facts)}.pickle"
    loaded = _read(path)
    if isinstance(loaded, kind):
        return loaded
    table = kind()
    with contextlib.suppress(OSError):
        _write(table, path)
    return table


def fingerprint(built_from: Sequence[Path], facts: tuple[Any, ...]) -> str:
    """Sources, facts and Python's version: a pickle is read only by its own kind."""
    digest = hashlib.blake2b(digest_size=8)
    for source in built_from:
        digest.update(source.read_bytes())
    digest.update(repr((*facts, pickle.HIGHEST_PROTOCOL, tuple(sys.version_info[:2]))).encode())
    return digest.hexdigest()


def _read(path: Path) -> object | None:
    try:
        with path.open("rb") as stream:
            return pickle.load(stream)
    except FileNotFoundError:
        return None
    except Exception:  # a truncated or foreign file, whatever pickle makes of it: rebuild
        return None


def _write(table: object, path: Path) -> None:
    """Written whole under a temporary name, then renamed: a reader never sees half a file,
    and processes building it at the same moment each leave a whole one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-")
    try:
        with os.fdopen(handle, "wb") as stream:
            pickle.dump(table, stream, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
