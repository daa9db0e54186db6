"""The real server under faults: killed mid-rebuild, started on a damaged index, and a
short load run (``benchmarks/load_test.py --quick``) with a rebuild landing under load."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import ServeProcess
from test_index_parallel import still_running
from test_reliability_faults import write_corpus as write_fault_corpus

from searchsvc.config import Settings
from searchsvc.index import build_index, read_build_status, read_current

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
TOKEN = "server-fault-token-4242"
BIG_FILES, BIG_PER_FILE = 6, 1500


def write_corpus(root: Path, *, files: int, per_file: int, seed: int) -> Path:
    """The fault tests' invented stories, shorter: a server test builds several corpora."""
    return write_fault_corpus(root, files=files, per_file=per_file, seed=seed, words=50)


class RunningServer(ServeProcess):
    """``searchsvc serve`` over ``index_dir``, rebuilding from ``corpus`` on request; its
    output goes to ``log_name`` beside the index."""

    START_DEADLINE = 120  # hang guard; a first start may build the index

    def __init__(self, index_dir: Path, corpus: Path, log_name: str = "serve.log") -> None:
        env = {
            "SEARCHSVC_INDEX_DIR": str(index_dir),
            "SEARCHSVC_CORPUS": str(corpus),
            "SEARCHSVC_ADMIN_TOKEN": TOKEN,
            "SEARCHSVC_BUILD_PROCS": "2",
        }
        super().__init__(index_dir.parent / log_name, env)


def wait_until(condition, what: str, timeout: float = 120.0):
    """Poll ``condition`` until it returns something true (hang guard: ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def served(tmp_path: Path) -> dict[str, object]:
    """A complete generation of 20 articles; the server's corpus is a bigger one."""
    index_dir = tmp_path / "index"
    small = write_corpus(tmp_path / "small", files=1, per_file=20, seed=1)
    first = build_index([small], Settings(index_dir=index_dir), show_progress=False)
    # Big enough that the build is still running when the test freezes and kills it.
    big = write_corpus(tmp_path / "big", files=BIG_FILES, per_file=BIG_PER_FILE, seed=2)
    return {"index_dir": index_dir, "generation": first.generation, "big": big}


def test_sigkill_server_mid_rebuild_then_restart_serves_and_rebuilds(served) -> None:
    index_dir = served["index_dir"]
    server = RunningServer(index_dir, served["big"])
    try:
        status, started = server.request("/api/index/rebuild", "POST", TOKEN, timeout=90)
        assert status == 202, started
        build_pid = started["job"]["pid"]
        killed_generation = started["job"]["generation"]
        wait_until(lambda: (read_build_status(index_dir).get("done") or 0) >= 50, "build progress")
        # Freeze the build where it is, so it cannot finish between looking and killing.
        os.killpg(build_pid, signal.SIGSTOP)
        assert read_current(index_dir) == served["generation"], "the build finished too soon"
        # Taken before the kill: once orphaned, the dead build may be reaped at any moment.
        build = psutil.Process(build_pid)
        workers = build.children(recursive=True)
        # The whole service at once: the server and the build's process group.
        os.kill(server.process.pid, signal.SIGKILL)
        os.killpg(build_pid, signal.SIGKILL)
        server.process.wait(timeout=30)
        _gone, alive = psutil.wait_procs([build, *workers], timeout=30)
        assert not alive
    finally:
        server.stop()

    assert read_current(index_dir) == served["generation"]
    restarted = RunningServer(index_dir, served["big"], "restart.log")
    try:
        status, health = restarted.request("/healthz")
        assert status == 200
        assert health["generation"] == served["generation"]
        assert health["article_count"] == 20
        status, body = restarted.request("/api/search?q=oil")
        assert status == 200 and body["total"] > 0
        status, info = restarted.request("/api/index/status")
        assert info["state"] == "failed" and "killed" in info["error"]

        status, again = restarted.request("/api/index/rebuild", "POST", TOKEN, timeout=90)
        assert status == 202, again
        wait_until(
            lambda: restarted.request("/healthz")[1]["generation"] == again["job"]["generation"],
            "the new generation to serve",
        )
        assert restarted.request("/healthz")[1]["article_count"] == BIG_FILES * BIG_PER_FILE
        assert restarted.request("/api/index/status")[1]["state"] == "idle"
        assert killed_generation not in os.listdir(index_dir / "generations")
    finally:
        restarted.stop()
    assert restarted.process.returncode == 0, restarted.output()


def test_server_starts_on_a_damaged_index_without_crash_looping(tmp_path: Path) -> None:
    """Damaged current generation, no fallback: the first start rebuilds and serves."""
    index_dir = tmp_path / "index"
    corpus = write_corpus(tmp_path / "corpus", files=2, per_file=15, seed=3)
    result = build_index([corpus], Settings(index_dir=index_dir), show_progress=False)
    for segment_terms in result.path.glob("*.trm"):
        segment_terms.write_bytes(b"\0" * 64)
    server = RunningServer(index_dir, corpus)
    try:
        status, health = server.request("/healthz")
        assert status == 200
        assert health["article_count"] == 30
        assert health["generation"] != result.generation
        assert any(
            "cannot be read" in line or "rebuild" in line or "building" in line
            for line in server.output().splitlines()
        ), server.output()
    finally:
        server.stop()


def test_server_serves_previous_generation_when_current_is_damaged(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    older = write_corpus(tmp_path / "older", files=1, per_file=12, seed=4)
    newer = write_corpus(tmp_path / "newer", files=1, per_file=18, seed=5)
    first = build_index([older], Settings(index_dir=index_dir), show_progress=False)
    second = build_index([newer], Settings(index_dir=index_dir), show_progress=False)
    (second.path / "meta.json").write_text("{ truncated", encoding="utf-8")
    server = RunningServer(index_dir, newer)
    try:
        status, health = server.request("/healthz")
        assert status == 200
        assert health["generation"] == first.generation
        assert health["article_count"] == 12
        assert server.request("/api/search?q=oil")[0] == 200
    finally:
        server.stop()
    assert read_current(index_dir) == second.generation  # nothing rewritten behind our back
    shutil.rmtree(index_dir)


def test_quick_load_run_holds(tmp_path: Path) -> None:
    """The load test's --quick mode: 4 clients x 5 s with a rebuild landing under load."""
    out = tmp_path / "load.json"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "benchmarks" / "load_test.py"),
            "--quick",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,  # hang guard
    )
    assert out.exists(), done.stdout + done.stderr
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert summary["requests"] > 0
    assert summary["server_errors_5xx"] == 0
    assert summary["connection_errors"] == 0, summary["error_examples"]
    assert summary["invalid_json"] == 0
    assert summary["rebuild"]["generation_after"] not in (
        None,
        summary["rebuild"]["generation_before"],
    )
    failed = [name for name, ok in summary["checks"].items() if not ok]
    assert not failed, (failed, summary["server"], done.stderr[-20_000:])
    # The figures are those of the processes that answer: they hold the index open.
    assert summary["server"]["processes"] >= 2
    assert summary["server"]["index_files_end"] > 0
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_load_run_stopped_with_sigterm_stops_its_server() -> None:
    """The load test's server runs in a session of its own, out of reach of a stop meant
    for the load test: SIGTERM to the load test mid-run must still end the server, or it
    stays up on its port (it did, until the load test turned SIGTERM into an exit)."""
    load_run = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "load_test.py"), "--quick"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = None
    try:
        server = working_child(psutil.Process(load_run.pid), timeout=120)
        its_processes = [server, *server.children(recursive=True)]
        load_run.send_signal(signal.SIGTERM)
        assert load_run.wait(timeout=60) == 128 + signal.SIGTERM
        assert still_running(its_processes, timeout=30) == []
        assert b"Traceback" not in load_run.stderr.read()  # a stop, not a failure
    finally:
        load_run.kill()
        load_run.wait()
        load_run.stderr.close()
        if server is not None and server.is_running():
            os.killpg(server.pid, signal.SIGKILL)  # its session: the server and its workers


def working_child(parent: psutil.Process, timeout: float) -> psutil.Process:
    """``parent``'s ``searchsvc serve`` child once it has children of its own: the workers
    building its index, or later those serving it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in parent.children():
            try:
                if "serve" in child.cmdline() and child.children():
                    return child
            except psutil.Error:
                pass  # a child that has just ended
        time.sleep(0.1)
    raise AssertionError(f"no serving child of {parent.pid} within {timeout:.0f} s")
