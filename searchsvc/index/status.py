"""``build-status.json``: what the running (or last) full build is doing.

The build rewrites it atomically at most every :data:`MIN_INTERVAL` seconds; any
process may read it (the web page shows progress from it). A record that still
says ``building`` while its process is gone means the build was killed.

Only the records that change the build's state (started, failed, finished) are
flushed to disk; a progress record is replaced without being flushed, since the next
one follows within a second and a power cut loses the build anyway. Flushing each
took two fsyncs on the disk the build is writing its index to.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

from searchsvc.index.generations import atomic_write_text

STATUS_FILE = "build-status.json"
MIN_INTERVAL = 0.5

IDLE: dict[str, Any] = {
    "state": "idle",
    "done": 0,
    "total": None,
    "rate": None,
    "started_at": None,
    "finished_at": None,
    "pid": None,
    "generation": None,
    "error": None,
    "report": None,
}


def status_path(index_dir: Path) -> Path:
    return Path(index_dir) / STATUS_FILE


def read_build_status(index_dir: Path) -> dict[str, Any]:
    """The last recorded build status, ``state`` one of idle / building / failed.

    Keys: state, done (articles indexed), total (estimated articles, ``None`` until
    known), rate (articles/s), files_done, files_total, started_at, finished_at
    (ISO times), pid, generation, error, report (ingest report dict, at the end).
    """
    try:
        status = json.loads(status_path(index_dir).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError, UnicodeDecodeError):
        return dict(IDLE)
    if not isinstance(status, dict):
        return dict(IDLE)
    status = {**IDLE, **status}
    if status["state"] == "building" and not _process_alive(status.get("pid")):
        status["state"] = "failed"
        status["error"] = status["error"] or (
            f"build process {status.get('pid')} ended without finishing (killed or crashed); "
            "the previous generation is still serving"
        )
    return status


def write_build_status(index_dir: Path, status: dict[str, Any], durable: bool = True) -> None:
    """Replace the status file at once; ``durable``: flushed to disk before and after."""
    text = json.dumps(status, indent=2, sort_keys=True)
    atomic_write_text(status_path(index_dir), text, durable=durable)


class StatusWriter:
    """Rewrites the status file, no more often than every :data:`MIN_INTERVAL` seconds."""

    def __init__(self, index_dir: Path, **initial: Any) -> None:
        self.index_dir = Path(index_dir)
        self.status = {**IDLE, **initial}
        self._last_write = 0.0

    def update(self, force: bool = False, **changes: Any) -> None:
        self.status.update(changes)
        now = time.monotonic()
        if force or now - self._last_write >= MIN_INTERVAL:
            write_build_status(self.index_dir, self.status, durable=force)
            self._last_write = now


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _process_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _is_not_zombie(pid)


def _is_not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
