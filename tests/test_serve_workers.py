"""``searchsvc serve --workers N``: worker processes over one port, supervised by gunicorn."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import ServeProcess, child_environment
from test_index_support import generations_held_open
from test_web_support import shared_fixture_index

from searchsvc.config import Settings
from searchsvc.index import build_index
from searchsvc.index.generations import GenerationLock
from searchsvc.search.allocator import SETTINGS

# Safety nets for a hung process, not measurements.
START_DEADLINE = 60
CHANGE_DEADLINE = 30


class WorkerServer(ServeProcess):
    """``searchsvc serve --workers N`` over a built index."""

    START_DEADLINE = START_DEADLINE

    def __init__(self, index_dir: Path, log: Path, workers: int) -> None:
        env = {"SEARCHSVC_INDEX_DIR": str(index_dir), "SEARCHSVC_THREADS": "2"}
        super().__init__(log, env, args=("--workers", f"{workers}"))

    def search(self, query: str) -> dict:
        status, body = self.request(f"/api/search?q={query}")
        assert status == 200, body
        return body

    def workers(self) -> set[int]:
        return {child.pid for child in psutil.Process(self.process.pid).children()}

    def wait_for_workers(self, count: int, other_than: set[int] = frozenset()) -> set[int]:
        deadline = time.monotonic() + CHANGE_DEADLINE
        while True:
            pids = self.workers()
            if len(pids) == count and not pids & other_than:
                return pids
            assert time.monotonic() < deadline, f"workers {pids}:\n{self.output()}"
            time.sleep(0.1)


@pytest.fixture
def index_dir(tmp_path_factory):
    return shared_fixture_index(tmp_path_factory).index_dir


@pytest.mark.slow
def test_workers_open_the_index_as_they_start_and_let_go_of_a_rebuilt_one(tmp_path):
    """Each worker opens the index as it starts, so its first request finds it open; after
    a rebuild, each lets the replaced generation go without waiting for a request (one a
    proxy keeps no connection to may get none for hours): its files and lock are closed,
    and cleanup may delete it. No request is made but the one that shows it answers."""
    corpus = tmp_path / "articles.jsonl"
    settings = Settings(index_dir=tmp_path / "index", corpus=(corpus,), build_procs=1)
    _write_stories(corpus, "harbour")
    first = build_index(None, settings, show_progress=False).generation
    server = WorkerServer(settings.index_dir, tmp_path / "serve.log", workers=2)
    try:
        workers = server.wait_for_workers(2)
        _wait(
            lambda: _each_holds(workers, settings.index_dir, first), "each worker to open the index"
        )
        assert server.search("harbour")["total"] == 1
        _write_stories(corpus, "lighthouse")
        second = build_index(None, settings, show_progress=False).generation
        _wait(lambda: _each_holds(workers, settings.index_dir, second), "the workers to let go")
        with GenerationLock(settings.index_dir, first) as old:
            assert old.try_exclusive()
    finally:
        server.stop()


def _write_stories(corpus: Path, word: str) -> None:
    story = {"id": word, "title": f"The {word}", "body": f"A {word} story.", "source": "Wire"}
    corpus.write_text(json.dumps(story) + "\n", encoding="utf-8")


def _each_holds(workers: set[int], index_dir: Path, generation: str) -> bool:
    """Every worker holds ``generation`` open, and no other."""
    return all(generations_held_open(index_dir, pid) == {generation} for pid in workers)


@pytest.mark.slow
def test_workers_share_the_port_and_a_dead_one_is_replaced(index_dir, tmp_path):
    server = WorkerServer(index_dir, tmp_path / "serve.log", workers=2)
    try:
        assert "with 2 workers of 2 threads" in server.output()
        first = server.wait_for_workers(2)
        totals = {server.search("harbour")["total"] for _ in range(10)}
        assert len(totals) == 1 and totals.pop() > 0

        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        server.wait_for_workers(2, other_than={victim})
        assert f"Worker (pid:{victim}) was sent SIGKILL" in server.output()
        assert server.search("harbour")["total"] > 0
        workers = server.workers()
    finally:
        exit_code = server.stop()
    assert exit_code == 0, server.output()
    assert "stopping" in server.output()
    assert not any(_alive(pid) for pid in workers)


@pytest.mark.slow
def test_an_aborted_worker_logs_its_threads_and_is_replaced(index_dir, tmp_path):
    """gunicorn aborts a worker that stopped answering it (SIGABRT); the log then says
    where each of the worker's threads was, and a new worker takes its place."""
    server = WorkerServer(index_dir, tmp_path / "serve.log", workers=2)
    try:
        victim = min(server.wait_for_workers(2))
        os.kill(victim, signal.SIGABRT)
        server.wait_for_workers(2, other_than={victim})
        log = server.output()
        assert f"worker {victim} aborted; its threads were at:" in log
        stacks = log.split(f"worker {victim} aborted", 1)[1]
        assert "Current thread" in stacks and "gunicorn/workers/" in stacks, log
        assert server.search("harbour")["total"] > 0
    finally:
        exit_code = server.stop()
    assert exit_code == 0, server.output()


@pytest.mark.slow
def test_each_worker_reports_the_allocator_setting_it_serves_with(index_dir, tmp_path):
    """The setting is made where the worker serves from, and each worker says so."""
    server = WorkerServer(index_dir, tmp_path / "serve.log", workers=1)
    try:
        status, health = server.request("/healthz")
    finally:
        assert server.stop() == 0, server.output()
    assert status == 200
    glibc = hasattr(os, "confstr") and os.confstr("CS_GNU_LIBC_VERSION") is not None
    assert health["allocator"] == (SETTINGS if glibc else None)


@pytest.mark.slow
def test_a_stop_answers_the_request_under_way(index_dir, tmp_path):
    """SIGTERM while a request is half sent: the stopping worker still answers it."""
    server = WorkerServer(index_dir, tmp_path / "serve.log", workers=2)
    try:
        workers = server.wait_for_workers(2)
        with socket.create_connection(("127.0.0.1", server.port), timeout=CHANGE_DEADLINE) as sock:
            sock.sendall(b"GET /api/search?q=harbour HTTP/1.1\r\nHost: searchsvc\r\n")
            _wait(lambda: _held_by(workers, sock.getsockname()[1]), "a worker to accept")
            server.process.send_signal(signal.SIGTERM)
            # The parent closes its listening socket just before it tells the workers to stop.
            _wait(lambda: not _listening(server.process.pid, server.port), "the stop")
            sock.sendall(b"\r\n")
            head, _, body = _read_all(sock).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert json.loads(body)["total"] > 0
    finally:
        exit_code = server.stop()
    assert exit_code == 0, server.output()


@pytest.mark.slow
def test_workers_that_keep_dying_make_the_server_give_up(index_dir, tmp_path):
    server = WorkerServer(index_dir, tmp_path / "serve.log", workers=2)
    killed: set[int] = set()
    try:
        deadline = time.monotonic() + START_DEADLINE
        while server.process.poll() is None:
            assert time.monotonic() < deadline, server.output()
            for pid in server.workers() - killed:
                killed.add(pid)
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
    finally:
        exit_code = server.stop()
    log = server.output()
    assert exit_code == 2, log
    assert "giving up" in log and "Traceback" not in log
    assert len(killed) >= 5


@pytest.mark.slow
def test_workers_stop_when_the_parent_is_killed(index_dir, tmp_path):
    server = WorkerServer(index_dir, tmp_path / "serve.log", workers=2)
    # Taken before the kill: orphaned workers that exit may be reaped at any moment.
    workers = [psutil.Process(pid) for pid in server.wait_for_workers(2)]
    server.process.kill()
    server.process.wait(timeout=30)
    _gone, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive


def test_workers_on_a_taken_port_say_so(index_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        finished = subprocess.run(
            [sys.executable, "-m", "searchsvc", "serve", "--port", str(port), "--workers", "2"],
            env=child_environment(SEARCHSVC_INDEX_DIR=str(index_dir)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert finished.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in finished.stderr
    assert "Traceback" not in finished.stderr


def test_workers_must_be_a_positive_number(capsys):
    from searchsvc.cli import main

    with pytest.raises(SystemExit) as raised:
        main(["serve", "--workers", "0"])
    assert raised.value.code == 2
    assert "at least 1" in capsys.readouterr().err


def _wait(condition, what: str) -> None:
    deadline = time.monotonic() + CHANGE_DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _held_by(workers: set[int], client_port: int) -> bool:
    return any(
        connection.raddr and connection.raddr.port == client_port
        for pid in workers
        for connection in psutil.Process(pid).net_connections()
    )


def _listening(pid: int, port: int) -> bool:
    return any(
        connection.status == psutil.CONN_LISTEN and connection.laddr.port == port
        for connection in psutil.Process(pid).net_connections()
    )


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
