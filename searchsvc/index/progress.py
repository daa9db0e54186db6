"""Build progress: articles counted, the total estimated from bytes read, shown as a
tqdm bar on a terminal, recorded in the status file and passed to a callback.

Work arrives in units (a file, or a part of a big one); a file is done when all of
its units are."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

from searchsvc.articles.files import WorkUnit
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
    """Counts articles, estimates the total from bytes read, feeds bar/status/callback.

    ``status`` is ``None`` for work that is not a full build (``index-add``), which the
    build status file does not describe.
    """

    def __init__(
        self,
        units: list[WorkUnit],
        status: StatusWriter | None,
        show_progress: bool | None,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.units = {unit.key: unit for unit in units}
        self.units_left = Counter(unit.path for unit in units)
        self.files_total = len(self.units_left)
        self.total_bytes = sum(unit.size for unit in units)
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
        if status is not None:
            status.update(force=True, phase="indexing", files_total=self.files_total, files_done=0)

    def advance(self, articles: int, finished_unit: str | None = None) -> None:
        self.done += articles
        self.bar.update(articles)
        unit = self.units.get(finished_unit or "")
        if unit is not None:
            self.bytes_done += unit.size
            self.units_left[unit.path] -= 1
            if not self.units_left[unit.path]:
                self.files_done += 1
        self.tick()

    def tick(self) -> None:
        elapsed = time.monotonic() - self.started
        total = None
        if self.bytes_done and self.total_bytes:
            total = max(self.done, round(self.done * self.total_bytes / self.bytes_done))
        if self.files_done == self.files_total:
            total = self.done
        if total is not None and self.bar.total != total:
            self.bar.total = total
            self.bar.refresh()
        if self.status is None:
            return
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
