"""What a watch has put in the index, kept beside it so that restarts and rebuilds keep it.

``watch-state.json`` records, for each feed, its ETag / Last-Modified and a digest of
every entry seen, the watched paths, the last poll and the totals. ``watch-files.json``
records, for each watched file, its size and time, the ids it gave and a digest of each
of their articles (``Article.content_digest``; older states have none), and for a JSON
Lines file how far it was read (``ReadMark``, so that a file that only grew is read past
it). Both are rewritten atomically, and only after the index commit they describe, so a
watch that stops anywhere redoes at most its last poll, and replacing by id makes that
harmless. The files' record is the big one (17 MB for 100,000 files) and is written only
when a poll changed it; the status and a rebuild read the small one alone.

Feed entries exist nowhere on disk but here: each feed's records are kept in
``watch-spool/<feed>.feed.jsonl``, and a full build reads that folder and the watched
folders besides its own sources (:func:`with_kept_sources`), so a rebuild keeps everything
the watch added.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from searchsvc.articles.feeds import SPOOL_SUFFIX
from searchsvc.articles.sources import source_format
from searchsvc.index.generations import atomic_write_text

STATE_FILE = "watch-state.json"
#: The watched files' part of the state, apart (see the module's docstring).
FILES_FILE = "watch-files.json"
#: The key of a state whose files are in :data:`FILES_FILE`; a state without it (written
#: before they were kept apart) holds them itself, under ``files``.
FILES_APART = "files_apart"
SPOOL_DIR = "watch-spool"
#: How the ids of the watched files' articles are made: 2 since a wire story without an id
#: of its own is known by its path in its folder (``2024-03-01/001``), not its file name;
#: 3 since a saved page without a URL is too.
FILE_IDS = 3
#: The formats whose ids each version of :data:`FILE_IDS` changed.
_RENAMED_IN = {2: frozenset({"wire"}), 3: frozenset({"html"})}
#: A watched file's signature that matches no file's: it is read at the next poll.
READ_AGAIN = "read again"


def empty_state() -> dict[str, Any]:
    return {
        "feeds": {},
        "files": {},
        "paths": [],
        "last_poll": None,
        "totals": {},
        "file_ids": FILE_IDS,
    }


def read_watch_state(index_dir: Path) -> dict[str, Any]:
    """The last saved state, its files' part too; an empty one before the first poll (or
    if it is unreadable). A files' part that cannot be read is an empty one: the next
    poll reads every file again, and replacing by id makes that harmless.

    The files of a state whose ids were made another way count as changed, so the next
    poll reads them again and replaces the articles under their old ids."""
    state = _read_json(Path(index_dir) / STATE_FILE)
    if state is None:
        return empty_state()
    # Files held in the state itself were written last by a program that keeps them so.
    apart = bool(state.pop(FILES_APART, False)) and "files" not in state
    if apart:
        files = _read_json(Path(index_dir) / FILES_FILE)
        state["files"] = files.get("files", {}) if files is not None else {}
        apart = files is not None
    renamed = _renamed_since(state.get("file_ids"))
    if renamed:  # only then: looking at 100,000 files' formats took 1.4 s of each poll
        apart = False  # the marks below must be saved, whatever the poll does
        for name, known in (state.get("files") or {}).items():
            if source_format(Path(name)) in renamed:
                known["signature"] = READ_AGAIN
    return {**empty_state(), **state, "file_ids": FILE_IDS, FILES_APART: apart}


def _renamed_since(file_ids: Any) -> frozenset[str]:
    """The formats whose ids changed after ``file_ids`` (a saved state's; None before 2)."""
    made = file_ids if isinstance(file_ids, int) else 1
    return frozenset().union(*(formats for v, formats in _RENAMED_IN.items() if v > made))


def read_watch_summary(index_dir: Path) -> dict[str, Any]:
    """The last saved state but its files' part (which a state written before that was
    kept apart still holds): what the status and a rebuild read."""
    state = _read_json(Path(index_dir) / STATE_FILE)
    return {**empty_state(), **state} if state is not None else empty_state()


def write_watch_state(index_dir: Path, state: dict[str, Any], saved: dict[str, Any]) -> None:
    """Save ``state``, the files' part only where it is not ``saved``'s as read (first the
    files: the summary then never names files that are not saved)."""
    files = state["files"]
    if not (saved.get(FILES_APART) and files == saved["files"]):
        atomic_write_text(Path(index_dir) / FILES_FILE, json.dumps({"files": files}))
    summary = {key: value for key, value in state.items() if key != "files"}
    summary.update({FILES_APART: True, "file_count": len(files)})
    atomic_write_text(Path(index_dir) / STATE_FILE, json.dumps(summary, ensure_ascii=False))


def _read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None where it is missing, unreadable or no object."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def spool_path(index_dir: Path, url: str) -> Path:
    digest = hashlib.blake2b(url.encode("utf-8"), digest_size=10).hexdigest()
    return Path(index_dir) / SPOOL_DIR / f"{digest}{SPOOL_SUFFIX}"


def read_spool(path: Path) -> dict[str, dict[str, Any]]:
    """The records kept for one feed, by id."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    records = (json.loads(line) for line in lines if line.strip())
    return {record["id"]: record for record in records}


def write_spool(path: Path, records: dict[str, dict[str, Any]]) -> None:
    """Rewrite one feed's spool atomically: a build reading it sees all or nothing new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records.values())
    atomic_write_text(path, text)


def with_kept_sources(sources: Iterable[Path], index_dir: Path) -> list[Path]:
    """What a full build of ``sources`` reads, in order, on either engine: ``sources``, then
    what the watch keeps beside the index in ``index_dir`` (its feed spool and watched paths).

    Without them a rebuild from the corpus would drop every article a watch added.
    Kept paths that no longer exist are left out (their articles went with them).
    """
    state = read_watch_summary(index_dir)
    kept = [Path(index_dir) / SPOOL_DIR, *(Path(p) for p in state["paths"])]
    return [*sources, *(path for path in kept if path.exists())]


def watch_status(index_dir: Path) -> dict[str, Any] | None:
    """The watch's part of ``GET /api/index/status``; None where no watch ever ran."""
    if not (Path(index_dir) / STATE_FILE).exists():
        return None
    state = read_watch_summary(index_dir)
    return {
        "last_poll": state["last_poll"],
        "totals": state["totals"],
        "feeds": len(state["feeds"]),
        "feed_entries": sum(len(feed.get("entries", {})) for feed in state["feeds"].values()),
        "files": state.get("file_count", len(state["files"])),
    }
