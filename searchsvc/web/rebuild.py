"""Starting index rebuilds from the web server, one at a time across every server process.

A rebuild runs as its own process (``python -m searchsvc build-index``) so a crash or an
out-of-memory kill during a build cannot take the server down. Who may start one is decided
by the index's build lock, which every build (from here or from a terminal) holds while it
runs; launches from several server processes are serialized by a small launch lock, and each
launch waits until its build holds the build lock (or has failed) before answering, so a
second request always sees the first build. On an OpenSearch cluster the build lock is the
cluster's lock document, which every service replica sharing the cluster sees.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from searchsvc.config import ENV_PREFIX, Settings
from searchsvc.index import read_build_status
from searchsvc.index.build import BUILD_LOCK

LAUNCH_LOCK = "rebuild-launch.lock"
BUILD_LOG = "rebuild.log"
# How long a launch waits for its build process to take the build lock; the process only
# has to import the package and open two files, so this is generous.
STARTUP_TIMEOUT = 60.0
_POLL_SECONDS = 0.05


class RebuildRunning(Exception):
    """A build already holds the build lock; ``status`` describes it."""

    def __init__(self, status: dict[str, Any]) -> None:
        super().__init__(describe_running_build(status))
        self.status = status


class RebuildFailedToStart(Exception):
    """The build process exited before it began building; the message says why."""


class RebuildLauncher:
    """Starts ``searchsvc build-index`` for one app's settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index_dir = Path(settings.index_dir).resolve()

    def start(self) -> dict[str, Any]:
        """Start a build of ``settings.corpus``; returns its status record once it runs.

        Raises :class:`RebuildRunning` when a build is already running (started by any
        process) and :class:`RebuildFailedToStart` when the new one died at once.
        """
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with self._launch_lock():
            # The lock held by anything but a build is an incremental update (a watch's
            # poll): the new build waits it out (``writer_lock_timeout``) instead of failing.
            running = self.running_build()
            if running is not None:
                raise RebuildRunning(running)
            process = self._spawn()
            return self._wait_until_started(process)

    def running_build(self) -> dict[str, Any] | None:
        """The status record of the build running now (from any process), or None."""
        if self.settings.engine == "opensearch":
            record = _cluster_build(self.settings)
            return {**record, "state": "building"} if record else None
        status = read_build_status(self.index_dir)
        return status if status["state"] == "building" and build_running(self.index_dir) else None

    def _status_of(self, pid: int) -> dict[str, Any] | None:
        """The status record of the build process ``pid`` once it holds the build lock."""
        if self.settings.engine == "opensearch":
            record = _cluster_build(self.settings)
            return {**record, "state": "building"} if record and record.get("pid") == pid else None
        status = read_build_status(self.index_dir)
        return status if status.get("pid") == pid else None

    @contextlib.contextmanager
    def _launch_lock(self) -> Iterator[None]:
        fd = os.open(self.index_dir / LAUNCH_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _spawn(self) -> subprocess.Popen[bytes]:
        log_path = self.index_dir / BUILD_LOG
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "searchsvc", "build-index"],
                env=build_environment(self.settings, self.index_dir),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: stopping the server with Ctrl-C does not kill a build
                # half-way; the build finishes and the next start serves it.
                start_new_session=True,
                close_fds=True,
            )
        threading.Thread(target=process.wait, name="rebuild-reaper", daemon=True).start()
        return process

    def _wait_until_started(self, process: subprocess.Popen[bytes]) -> dict[str, Any]:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            status = self._status_of(process.pid)
            if status is not None:
                return status
            exit_code = process.poll()
            if exit_code is not None:
                # It may have written its status just before exiting.
                status = self._status_of(process.pid)
                if status is not None:
                    return status
                if exit_code == 0 and self.settings.engine == "opensearch":
                    return {"state": "done", "pid": process.pid}  # done before it was seen
                raise self._startup_failure(exit_code)
            if time.monotonic() > deadline:
                return {"state": "building", "pid": process.pid, "phase": "starting"}
            time.sleep(_POLL_SECONDS)

    def _startup_failure(self, exit_code: int) -> Exception:
        running = self.running_build()
        if running is not None:
            return RebuildRunning(running)
        try:
            output = (self.index_dir / BUILD_LOG).read_text(encoding="utf-8", errors="replace")
        except OSError:
            output = ""
        last_line = output.strip().splitlines()[-1] if output.strip() else ""
        return RebuildFailedToStart(
            f"the build process exited with status {exit_code} before it started"
            + (f": {last_line}" if last_line else "")
        )


def build_running(index_dir: Path) -> bool:
    """Whether some process holds the build lock right now (a probe, not a claim)."""
    path = Path(index_dir) / BUILD_LOCK
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's lock, if it got one
    return False


def build_environment(settings: Settings, index_dir: Path) -> dict[str, str]:
    """The server's environment with every setting spelled out, so the build process
    indexes exactly what this app serves, whatever overrides created it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if value is None or field.name == "admin_token":
            continue
        if field.name == "corpus":
            value = ":".join(str(Path(path).resolve()) for path in value)
        elif field.name == "opensearch_url":
            value = ",".join(value)
        elif field.name == "index_dir":
            value = str(index_dir)
        env[ENV_PREFIX + field.name.upper()] = str(value)
    # The package must import from the same place in the child as here.
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    return env


def _cluster_build(settings: Settings) -> dict[str, Any] | None:
    """The lock record of a full build holding the cluster's lock (an update holding it
    is waited out by the new build, as on the embedded index)."""
    from searchsvc.opensearch.connection import cluster_errors, connect
    from searchsvc.opensearch.generations import running_build

    client = connect(settings)
    try:
        with cluster_errors():
            record = running_build(client, settings.opensearch_index)
    finally:
        client.close()
    return record if record and record.get("purpose") == "build" else None


def describe_running_build(status: dict[str, Any]) -> str:
    done = status.get("done") or 0
    total = status.get("total")
    progress = f"{done} of {total} articles" if total else f"{done} articles so far"
    return (
        f"an index build is already running (pid {status.get('pid')}, "
        f"generation {status.get('generation')}, started {status.get('started_at')}, "
        f"{progress}); wait for it to finish"
    )
