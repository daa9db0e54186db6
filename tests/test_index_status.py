"""The build status file: progress records and state changes, as readers see them."""

from __future__ import annotations

import os
from pathlib import Path

from searchsvc.index.status import StatusWriter, read_build_status


def test_progress_and_state_records_replace_the_file_whole(tmp_path: Path) -> None:
    status = StatusWriter(tmp_path, state="building", pid=os.getpid(), done=0)
    status.update(force=True, phase="starting")
    assert read_build_status(tmp_path)["phase"] == "starting"
    status._last_write = 0.0  # as if the last record were old enough to replace
    status.update(done=120, phase="indexing")
    record = read_build_status(tmp_path)
    assert (record["state"], record["done"], record["phase"]) == ("building", 120, "indexing")
    status.update(done=240)  # within the interval: kept for the next record
    assert read_build_status(tmp_path)["done"] == 120
    status.update(force=True, state="idle", done=300)
    assert read_build_status(tmp_path)["state"] == "idle"
    assert read_build_status(tmp_path)["done"] == 300
    assert sorted(path.name for path in tmp_path.iterdir()) == ["build-status.json"]
