"""Build progress: articles counted, the total estimated from bytes read, shown as a
tqdm bar on a terminal, recorded in the status file and passed to a callback."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from searchsvc.index.status import StatusWriter

ProgressCallback = Callable[[dict[str, Any]], None]


class _Bar(tqdm):
    """A bar without tqdm's monitor thread (started by the first bar, shown or not).

    The bar is updated on every progress message anyway, and a build that runs no other
    thread starts its workers by ``fork`` (see ``parallel``): they begin at once instead
    of importing everything again.
    """

    monitor_interval = 0


class ProgressTracker:
    """Counts articles, estimates the total from bytes read, feeds bar/status/callback."""

    def __init__(
        self,
        files: list[Path],
        status: StatusWriter,
        show_progress: bool | None,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.sizes = {str(path): file_size(path) for path in files}
        self.total_bytes = sum(self.sizes.values())
        self.bytes_done = 0
        self.files_done = 0
        self.done = 0
        self.started = time.monotonic()
        self.status = status
        self.on_progress = on_progress
        self._last_callback = 0.0
        if show_progress is None:
            show_progress = sys.stderr.isatty()
        self.bar = _Bar(
            unit=" articles", disable=not show_progress, file=sys.stderr, dynamic_ncols=True
        )
        status.update(force=True, phase="indexing", files_total=len(files), files_done=0)

    def advance(self, articles: int, finished_file: str | None = None) -> None:
        self.done += articles
        self.bar.update(articles)
        if finished_file is not None:
            self.files_done += 1
            self.bytes_done += self.sizes.get(finished_file, 0)
        self.tick()

    def tick(self) -> None:
        elapsed = time.monotonic() - self.started
        total = None
        if self.bytes_done and self.total_bytes:
            total = max(self.done, round(self.done * self.total_bytes / self.bytes_done))
        if self.files_done == len(self.sizes):
            total = self.done
        if total is not None and self.bar.total != total:
            self.bar.total = total
            self.bar.refresh()
        self.status.update(
            done=self.done,
            total=total,
            rate=round(self.done / elapsed, 1) if elapsed > 0 else None,
            files_done=self.files_done,
        )
        now = time.monotonic()
        if self.on_progress is not None and now - self._last_callback >= 0.5:
            self._last_callback = now
            self.on_progress(dict(self.status.status))

    def close(self) -> None:
        self.bar.close()


def file_size(path: Path) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0
