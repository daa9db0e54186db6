"""Real build processes: killed mid-build, and two at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import child_environment
from test_index_support import generated_corpus, index_settings, write_corpus

from searchsvc.index import build_index, open_index, read_build_status, read_current
from searchsvc.index.generations import complete_generations, generations_dir

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def start_build(index_dir: Path, corpus: Path) -> subprocess.Popen:
    env = child_environment(SEARCHSVC_INDEX_DIR=str(index_dir), SEARCHSVC_BUILD_PROCS="2")
    return subprocess.Popen(
        [sys.executable, "-m", "searchsvc", "build-index", str(corpus)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_progress(index_dir: Path, process: subprocess.Popen, articles: int) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = read_build_status(index_dir)
        if status["state"] == "building" and (status["done"] or 0) >= articles:
            return status
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError(f"no build progress: {read_build_status(index_dir)}")


def body_hits(index_dir: Path, word: str) -> set[str]:
    with open_index(index_dir) as opened, opened.searcher() as searcher:
        from whoosh.qparser import QueryParser

        query = QueryParser("body", opened.schema).parse(word)
        return {hit["id"] for hit in searcher.search(query, limit=None)}


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_corpus(tmp_path_factory.mktemp("big"), files=16, per_file=600)


def test_killed_build_leaves_old_generation_serving(tmp_path: Path, big_corpus: Path) -> None:
    settings = index_settings(tmp_path)
    old = build_index([write_corpus(tmp_path / "small")], settings).generation

    process = start_build(settings.index_dir, big_corpus)
    wait_for_progress(settings.index_dir, process, articles=500)
    workers = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    _gone, alive = psutil.wait_procs(workers, timeout=30)
    for worker in alive:
        worker.kill()
    assert not alive, "build workers outlived their killed parent"

    assert read_current(settings.index_dir) == old
    assert body_hits(settings.index_dir, "volcano") == {"volcano"}
    status = read_build_status(settings.index_dir)
    assert status["state"] == "failed" and "ended without finishing" in status["error"]
    unfinished = [p for p in generations_dir(settings.index_dir).iterdir() if p.is_dir()]
    assert len(unfinished) == 2  # the old generation and the killed build's leftovers

    new = build_index([write_corpus(tmp_path / "small")], settings).generation
    assert read_current(settings.index_dir) == new
    assert complete_generations(settings.index_dir) == [old, new]
    assert sorted(p.name for p in generations_dir(settings.index_dir).iterdir() if p.is_dir()) == [
        old,
        new,
    ]


def test_two_builds_at_once_cannot_both_switch(tmp_path: Path, big_corpus: Path) -> None:
    settings = index_settings(tmp_path)
    first = start_build(settings.index_dir, big_corpus)
    status = wait_for_progress(settings.index_dir, first, articles=50)

    second = start_build(settings.index_dir, write_corpus(tmp_path / "small"))
    _out, err = second.communicate(timeout=60)
    assert second.returncode == 2
    assert f"another index build is running (pid {first.pid}" in err

    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert read_current(settings.index_dir) == status["generation"]
    assert complete_generations(settings.index_dir) == [status["generation"]]
    assert "articles indexed: 9600" in out
