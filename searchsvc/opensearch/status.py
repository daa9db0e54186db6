"""What the cluster's builds are doing, in the shape of the embedded index's
``build-status.json`` (``GET /api/index/status``, ``searchsvc index-info``).

Every service replica sharing a cluster must see the same answer, so nothing here is
kept on the machine that ran a build: a running build is the lock document (which the
build renews with its progress), and each build's outcome is a second document in the
same small index, ``last-build``, written before the lock is released. A build whose
lock expired without an outcome was killed, as a ``building`` status file whose process
is gone means for the embedded index.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from opensearchpy import OpenSearch

from searchsvc.index.status import IDLE, now_iso

OUTCOME_ID = "last-build"


def record_outcome(client: OpenSearch, lock_index: str, outcome: dict[str, Any]) -> None:
    """Keep a finished or failed build's status record for every replica to read."""
    client.index(index=lock_index, id=OUTCOME_ID, body=outcome, refresh=True)


def finished(lock_record: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The status record of the build ``lock_record`` describes, now over."""
    started = lock_record.get("started_at")
    return {
        **IDLE,
        "pid": lock_record.get("pid"),
        "owner": lock_record.get("owner"),
        "started_at": started,
        "generation": lock_record.get("generation"),
        "done": lock_record.get("done") or 0,
        "finished_at": now_iso(),
        **changes,
    }


def build_status(client: OpenSearch, lock_index: str) -> dict[str, Any]:
    """The embedded engine's build-status keys (state idle / building / failed, job,
    progress, error, report) for the cluster's builds, plus ``lock``: the record of
    whoever holds the cluster's lock now (a build or an update), with its expiry."""
    found = client.mget(index=lock_index, body={"ids": ["rebuild", OUTCOME_ID]}, ignore=404)
    docs = {doc["_id"]: doc["_source"] for doc in found.get("docs", []) if doc.get("found")}
    lock, last = docs.get("rebuild"), docs.get(OUTCOME_ID)
    status = {**IDLE, **(last or {})}
    if lock is not None and lock.get("purpose") == "build":
        if lock.get("expires", 0) > time.time():
            status = _running(lock)
        elif not _outcome_of(last, lock):
            status = finished(lock, state="failed", finished_at=None, error=_expired(lock))
    status["lock"] = _lock_view(lock)
    return status


def _running(lock: dict[str, Any]) -> dict[str, Any]:
    started = _epoch(lock.get("started_at"))
    done = lock.get("done") or 0
    elapsed = time.time() - started if started else 0
    return {
        **IDLE,
        "state": "building",
        "phase": lock.get("phase"),
        "pid": lock.get("pid"),
        "owner": lock.get("owner"),
        "started_at": lock.get("started_at"),
        "generation": lock.get("generation"),
        "done": done,
        "rate": round(done / elapsed, 1) if elapsed > 0 else None,
    }


def _outcome_of(last: dict[str, Any] | None, lock: dict[str, Any]) -> bool:
    """Whether ``last`` is the outcome of the build that held ``lock``."""
    return bool(last) and last.get("owner") == lock.get("owner")


def _expired(lock: dict[str, Any]) -> str:
    return (
        f"the build by {lock.get('owner')} (pid {lock.get('pid')}) started at "
        f"{lock.get('started_at')} stopped renewing the cluster's lock at "
        f"{_iso(lock.get('expires'))} (killed or crashed); the previous generation is "
        "still serving"
    )


def _lock_view(lock: dict[str, Any] | None) -> dict[str, Any] | None:
    if lock is None:
        return None
    expires = lock.get("expires", 0)
    return {
        "owner": lock.get("owner"),
        "pid": lock.get("pid"),
        "purpose": lock.get("purpose"),
        "started_at": lock.get("started_at"),
        "expires_at": _iso(expires),
        "expired": expires <= time.time(),
    }


def _iso(epoch: float | None) -> str | None:
    if not epoch:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")


def _epoch(iso: str | None) -> float | None:
    try:
        return dt.datetime.fromisoformat(iso).timestamp() if iso else None
    except ValueError:
        return None
