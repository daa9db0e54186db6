"""Sizes and checksums of a generation's files, so damage is found when it is opened.

Whoosh reads most files lazily: a truncated postings or column file would otherwise
pass ``open_index`` and fail later, inside a search. Whoosh never rewrites a file
once written (a commit adds segment files and a new table of contents), so a
manifest in ``meta.json`` only grows with each commit and stays true for every file
it lists; files written by a commit newer than the manifest are simply not checked.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

from searchsvc.index.generations import META_FILE

_CHUNK = 1 << 20


def file_entry(path: Path) -> list[int]:
    """``[size, crc32]`` of one file."""
    crc = 0
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return [size, crc]


def build_manifest(gen_dir: Path, previous: dict[str, list[int]] | None = None) -> dict[str, Any]:
    """The manifest of the files now in ``gen_dir``; entries in ``previous`` are reused
    (files never change), so after an update only the new files are read."""
    previous = previous or {}
    files = {}
    for path in sorted(Path(gen_dir).iterdir()):
        if not path.is_file() or path.name == META_FILE or path.name.startswith("."):
            continue
        files[path.name] = previous.get(path.name) or file_entry(path)
    return files


def find_damage(gen_dir: Path, ix: Any, manifest: dict[str, list[int]] | None) -> str | None:
    """What is wrong with the files the opened commit of ``ix`` reads, or ``None``."""
    if not manifest:
        return None
    toc_name = f"_{ix.indexname}_{ix.latest_generation()}.toc"
    newest_listed = max(
        (_toc_generation(name) for name in manifest if name.endswith(".toc")), default=-1
    )
    if ix.latest_generation() < newest_listed:
        return f"the table of contents of commit {newest_listed} is missing"
    prefixes = tuple(f"{ix.indexname}_{segment.segid}." for segment in ix._segments())
    for name, (size, crc) in manifest.items():
        if name != toc_name and not name.startswith(prefixes):
            continue
        path = Path(gen_dir) / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != size:
            return f"{name} has {path.stat().st_size} bytes, {size} were written"
        if file_entry(path)[1] != crc:
            return f"{name} does not hold the bytes that were written (checksum differs)"
    return None


def _toc_generation(name: str) -> int:
    try:
        return int(name.rsplit("_", 1)[1].split(".")[0])
    except (IndexError, ValueError):
        return -1
