"""What a full build read, file by file, so that a watch of the same folders takes it over
instead of reading every file again.

A desk builds its archive, then keeps it current with ``searchsvc watch`` on the same
folder. A watch knows a file by its signature (inode, size, modification time) and the
ids of its articles (:mod:`searchsvc.index.watchstate`); of a file it has no record of,
its first poll read every article, and the update then found each one held as it is:
30 CPU s for 100,000 one-story files that a two-worker build had indexed in 39 s.

So each build worker notes, for every unit of work it reads, the file's signature taken
before reading and the ids it read, in order; the build writes them beside the index
(:data:`BUILT_FILES`) with the generation they went into. A watch takes a file's record
over, unread, only when all of these hold, and reads the file as before otherwise:

- the generation still serves, and no update has changed it since the build;
- the file's signature and its name in the collection (which its articles' ids may come
  from) are those the build saw, and the ids are made as the watch makes them;
- every part of it was read with nothing skipped (a skip may depend on settings, such as
  the size cap, that the watch's may not share), and none of its ids was read anywhere
  else in the build (which copy a build keeps is its reading order's business).
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from searchsvc.articles.files import WorkUnit
from searchsvc.articles.model import Article, IngestReport
from searchsvc.index.generations import atomic_write_text, generation_path, read_current, read_meta
from searchsvc.index.watchstate import FILE_IDS

#: Beside the index: a line naming the generation and the way ids were made, then one
#: line holding every file's record, read only once the first says it still applies.
BUILT_FILES = "build-files.jsonl"

Signature = list[int]


def file_signature(status: os.stat_result | None) -> Signature | None:
    """How a watch tells a file changed: its inode, size and modification time."""
    if status is None:
        return None
    return [status.st_ino, status.st_size, status.st_mtime_ns]


class FileRead(NamedTuple):
    """What a build worker read of one unit of work (a file, or one part of a big one)."""

    #: The file's path made absolute, its links kept, as a watch lists it.
    path: str
    #: Where the part began; 0 for a whole file.
    start: int
    #: The file's signature before reading; None when it could not be looked at, or
    #: when something of it was skipped.
    signature: Signature | None
    #: The file's name in the collection (:attr:`WorkUnit.name`).
    name: str | None
    #: The ids read, each once, in the order first read.
    ids: list[str]

    def to_json(self) -> str:
        """As a worker sends it: the build process holds every file's until the build
        ends, and as objects 100,000 one-story files added 56 MiB to the build's peak,
        as texts about 20."""
        return json.dumps(list(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> FileRead:
        return cls(*json.loads(text))


class UnitNote:
    """Notes one unit's read in a build worker: :meth:`passing` the articles as they are
    read, then :meth:`read` once they all were."""

    def __init__(self, unit: WorkUnit, report: IngestReport) -> None:
        self._unit = unit
        try:
            self._signature = file_signature(os.stat(unit.path))
        except OSError:
            self._signature = None
        self._skipped_before = report.skipped.total()
        self._ids: dict[str, None] = {}

    def passing(self, articles: Iterable[Article]) -> Iterator[Article]:
        for article in articles:
            self._ids[article.id] = None
            yield article

    def read(self, report: IngestReport) -> str:
        """The unit's :class:`FileRead`, as :meth:`FileRead.to_json` gives it."""
        skipped = report.skipped.total() != self._skipped_before
        unit = self._unit
        return FileRead(
            path=os.path.abspath(unit.path),
            start=0 if unit.part is None else unit.part.start,
            signature=None if skipped else self._signature,
            name=unit.name,
            ids=list(self._ids),
        ).to_json()


def write_built_files(
    index_dir: Path,
    generation: str,
    units: list[WorkUnit],
    reads: list[str],
    *,
    ids_repeated: bool,
) -> None:
    """Record, beside the index, the files of ``generation``'s build a watch may take over
    (see the module's docstring): the others are left out, and a watch reads them.
    ``reads`` are the workers' :class:`FileRead` texts, read one at a time.
    ``ids_repeated``: the build found an id read twice; only then are the ids counted
    (a million of them take a Counter of 100 MB)."""
    cut = Counter(os.path.abspath(unit.path) for unit in units if unit.part is not None)
    read_where: Counter[str] = Counter()
    if ids_repeated:
        for text in reads:
            read_where.update(FileRead.from_json(text).ids)
    records: list[str] = []
    parts: dict[str, list[FileRead]] = defaultdict(list)
    for text in reads:
        read = FileRead.from_json(text)
        if read.path in cut:  # the few big files cut into parts, put together below
            parts[read.path].append(read)
        else:
            records.extend(_record_text(read.path, [read], 1, read_where))
    for path, read_parts in parts.items():
        records.extend(_record_text(path, read_parts, cut[path], read_where))
    header = {"generation": generation, "file_ids": FILE_IDS}
    text = json.dumps(header) + "\n{" + ",".join(records) + "}\n"
    # Not durable: one lost to a power cut only makes a watch read the files again.
    atomic_write_text(Path(index_dir) / BUILT_FILES, text, durable=False)


def _record_text(
    path: str, parts: list[FileRead], expected_parts: int, read_where: Counter[str]
) -> list[str]:
    """``"path": record`` of the JSON object of files, if the file has a record."""
    record = _file_record(parts, expected_parts, read_where)
    if record is None:
        return []
    return [json.dumps(path, ensure_ascii=False) + ":" + json.dumps(record, ensure_ascii=False)]


def _file_record(
    parts: list[FileRead], expected_parts: int, read_where: Counter[str]
) -> list[Any] | None:
    """``[inode, size, time, name, ids]`` of a file read in ``parts``, or None when a
    watch must read it itself."""
    signatures = {tuple(part.signature or ()) for part in parts}
    if len(parts) != expected_parts or len(signatures) != 1 or () in signatures:
        return None
    parts = sorted(parts, key=lambda part: part.start)
    ids = [article_id for part in parts for article_id in part.ids]
    if any(read_where[article_id] > 1 for article_id in ids):
        return None
    return [*parts[0].signature, parts[0].name, ids]


class BuiltFiles:
    """The files the serving generation's build read, as a watch may take them over."""

    def __init__(self, files: dict[str, list[Any]]) -> None:
        self._files = files

    @classmethod
    def of_serving(cls, index_dir: Path) -> BuiltFiles:
        """The record of the serving generation's build; an empty one where there is none,
        or where an update changed the generation since (its ids may then be elsewhere)."""
        try:
            with open(Path(index_dir) / BUILT_FILES, encoding="utf-8") as record:
                header = json.loads(record.readline())
                serving = read_current(index_dir)
                if header != {"generation": serving, "file_ids": FILE_IDS}:
                    return cls({})
                meta = read_meta(generation_path(index_dir, serving))
                if meta is None or (meta.get("updates") or {}).get("last_update_at"):
                    return cls({})
                files = json.loads(record.readline())
        except (OSError, ValueError, UnicodeDecodeError):
            return cls({})
        return cls(files if isinstance(files, dict) else {})

    def entry(self, path: str, signature: Signature | None, name: str) -> dict[str, Any] | None:
        """A watch's entry for the file ``path`` (as it lists it, with ``signature``, named
        ``name`` in the collection), when the build read it so; None otherwise."""
        record = self._files.get(path)
        if not isinstance(record, list) or len(record) != 5 or signature is None:
            return None
        if record[:3] != signature or record[3] != name:
            return None
        return {"signature": signature, "ids": record[4]}

    def __bool__(self) -> bool:
        return bool(self._files)
