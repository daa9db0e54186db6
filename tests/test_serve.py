"""``searchsvc serve`` as a real process: first start builds the index, a rebuild through the
API while another thread keeps searching, and a clean shutdown."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from conftest import ServeProcess, child_environment
from test_web_support import shared_fixture_index, write_corpus

from searchsvc.cli import main
from searchsvc.config import Settings
from searchsvc.web.server import describe_serving, ensure_index

TOKEN = "serve-test-token"
# A safety net for a hung build, not a measurement.
BUILD_DEADLINE = 180


class Server(ServeProcess):
    """One ``searchsvc serve`` over ``root/corpus``, indexing into ``root/index``."""

    def __init__(self, root: Path, name: str = "server") -> None:
        env = {
            "SEARCHSVC_INDEX_DIR": str(root / "index"),
            "SEARCHSVC_CORPUS": str(root / "corpus"),
            "SEARCHSVC_ADMIN_TOKEN": TOKEN,
            "SEARCHSVC_BUILD_PROCS": "1",
            "SEARCHSVC_THREADS": "4",
        }
        super().__init__(root / f"{name}.log", env, cwd=root)

    def wait_until_idle(self) -> dict:
        deadline = time.monotonic() + BUILD_DEADLINE
        while True:
            _, status = self.request("/api/index/status")
            if status["state"] != "building":
                return status
            assert time.monotonic() < deadline, f"build still running: {status}"
            time.sleep(0.2)


@pytest.fixture
def corpus_root(tmp_path):
    write_corpus(tmp_path / "corpus")
    return tmp_path


@pytest.mark.slow
def test_first_start_builds_then_rebuild_while_searching(corpus_root):
    server = Server(corpus_root)
    try:
        status, health = server.request("/healthz")
        assert status == 200 and health["article_count"] == 16
        first_generation = health["generation"]
        assert "building one from" in server.output()

        (corpus_root / "corpus" / "zeppelin.jsonl").write_text(
            json.dumps(
                {
                    "id": "zeppelin-1",
                    "title": "Zeppelin moors at Oslo harbour",
                    "body": "An airship moored above the harbour.",
                    "place": "Oslo",
                }
            )
            + "\n"
        )

        answers: list[tuple[int, int]] = []
        new_generation_seen = threading.Event()

        def keep_searching():
            deadline = time.monotonic() + BUILD_DEADLINE
            while not new_generation_seen.is_set() and time.monotonic() < deadline:
                code, body = server.request("/api/search?q=harbour&per_page=5")
                answers.append((code, body.get("total", -1)))
                if body.get("total") == 16:
                    new_generation_seen.set()

        code, started = server.request("/api/index/rebuild", "POST", token=TOKEN)
        assert code == 202, started
        searcher = threading.Thread(target=keep_searching)
        searcher.start()
        build = server.wait_until_idle()
        searcher.join()

        assert build["error"] is None and build["state"] == "idle"
        assert all(code == 200 for code, _ in answers), answers
        totals = [total for _, total in answers]
        # Answered from the old generation during the build, then from the new one.
        assert totals[0] == 15 and totals[-1] == 16
        assert totals == sorted(totals) and set(totals) == {15, 16}
        assert build["serving"]["generation"] != first_generation
        _, found = server.request("/api/search?q=zeppelin")
        assert found["total"] == 1
        _, health = server.request("/healthz")
        assert health["generation"] == build["serving"]["generation"]

        # The old generation is no longer held open: only the new one's files are.
        open_paths = {f.path for f in psutil.Process(server.process.pid).open_files()}
        assert not [p for p in open_paths if first_generation in p], open_paths
    finally:
        exit_code = server.stop()
    assert exit_code == 0, server.output()
    assert "stopping" in server.output()


@pytest.mark.slow
def test_two_server_processes_allow_one_build(corpus_root):
    first = Server(corpus_root, "first")
    second = Server(corpus_root, "second")
    try:
        answers: list[int] = []

        def rebuild(server):
            answers.append(server.request("/api/index/rebuild", "POST", token=TOKEN)[0])

        threads = [threading.Thread(target=rebuild, args=(s,)) for s in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(answers) == [202, 409]
        first.wait_until_idle()
        assert (
            first.request("/healthz")[1]["generation"]
            == second.request("/healthz")[1]["generation"]
        )
    finally:
        assert first.stop() == 0
        assert second.stop() == 0


def test_describing_the_index_before_the_fork_leaves_no_thread_running(tmp_path_factory):
    """``serve`` describes the index, then forks its workers: a thread still running then
    (one reading a lexicon, importing a codec) left the module's lock held in every
    worker, whose first misspelled query hung until gunicorn aborted the worker."""
    settings = shared_fixture_index(tmp_path_factory)
    before = set(threading.enumerate())
    assert describe_serving(settings).endswith(")")  # "N articles (generation ...)"
    assert set(threading.enumerate()) - before == set()


def test_the_banner_tells_what_ensuring_the_index_learned_as_an_engine_would(
    tmp_path, tmp_path_factory, capsys
):
    """``serve`` describes the index it opened, or built, to make sure of it, rather than
    opening it once more to ask (0.35 s at a million articles)."""
    built = shared_fixture_index(tmp_path_factory)
    assert describe_serving(built, ensure_index(built)) == describe_serving(built)
    fresh = Settings(index_dir=tmp_path / "index", corpus=(write_corpus(tmp_path / "corpus"),))
    serving = ensure_index(fresh)
    assert "building one from" in capsys.readouterr().err
    assert describe_serving(fresh, serving) == describe_serving(fresh)
    assert serving["generation"] in describe_serving(fresh)


def test_serve_help_names_its_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--host" in out and "--port" in out and "127.0.0.1" in out


def test_serve_refuses_a_port_that_is_not_one(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--port", "70000"])
    assert exit_info.value.code == 2
    assert "port number from 0 to 65535" in capsys.readouterr().err


@pytest.mark.slow
def test_serve_on_a_taken_port_says_so(tmp_path_factory):
    settings = shared_fixture_index(tmp_path_factory)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        finished = subprocess.run(
            [sys.executable, "-m", "searchsvc", "serve", "--port", str(port)],
            env=child_environment(SEARCHSVC_INDEX_DIR=str(settings.index_dir)),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert finished.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in finished.stderr
    assert "--port" in finished.stderr and "Traceback" not in finished.stderr
