"""Faults during a build, with real processes: killed builds, a full disk, sources that change.

In every case the generation that served before keeps serving, the failure is stated in
the build status, nothing half-written is left for long, and the next build succeeds.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from conftest import child_environment

from searchsvc.articles.sources import list_source_files
from searchsvc.config import Settings
from searchsvc.index import build_index, open_index, read_build_status, read_current
from searchsvc.index.build import build_generation

pytestmark = pytest.mark.slow

# Vocabulary of the invented stories.
_WORD_LIST = (
    "oil grain wheat bank rate strike port harbour market shares profit loss tanker "
    "crude export import minister election vote tariff steel coal gold silver "
    "currency dollar"
)
WORDS = tuple(_WORD_LIST.split())
BIG_PER_FILE = 1500


def write_corpus(root: Path, *, files: int, per_file: int, seed: int, words: int = 80) -> Path:
    """JSON Lines files of invented stories; ids ``s<seed>-<file>-<n>``."""
    root.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    for number in range(files):
        with open(root / f"part{number:02d}.jsonl", "w", encoding="utf-8") as handle:
            for item in range(per_file):
                record = {
                    "id": f"s{seed}-{number}-{item}",
                    "title": " ".join(rnd.choice(WORDS) for _ in range(6)),
                    "body": "LONDON, March 3 - "
                    + " ".join(rnd.choice(WORDS) for _ in range(words)),
                    "date": f"1987-{1 + item % 12:02d}-{1 + item % 28:02d}",
                    "source": "Reuters",
                }
                handle.write(json.dumps(record) + "\n")
    return root


def build_env(index_dir: Path, corpus: Path) -> dict[str, str]:
    return child_environment(
        SEARCHSVC_INDEX_DIR=str(index_dir),
        SEARCHSVC_CORPUS=str(corpus),
        SEARCHSVC_BUILD_PROCS="2",
    )


def start_build(index_dir: Path, corpus: Path, **popen: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "searchsvc", "build-index"],
        env=build_env(index_dir, corpus),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **popen,
    )


def wait_for_progress(index_dir: Path, process: subprocess.Popen[str], done: int) -> dict:
    """Wait until the build ``process`` reports ``done`` articles (hang guard: 60 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = read_build_status(index_dir)
        if status.get("pid") == process.pid and (status.get("done") or 0) >= done:
            return status
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError(f"build made no progress: {read_build_status(index_dir)}")


def generation_names(index_dir: Path) -> set[str]:
    root = index_dir / "generations"
    return {p.name for p in root.iterdir() if p.is_dir()} if root.is_dir() else set()


def leftover_temporaries(index_dir: Path) -> list[Path]:
    return [p for p in index_dir.rglob("*") if p.name.endswith(".tmp")]


@pytest.fixture
def served(tmp_path: Path) -> dict[str, object]:
    """An index with one complete generation (20 articles) serving."""
    index_dir = tmp_path / "index"
    small = write_corpus(tmp_path / "small", files=1, per_file=20, seed=1)
    result = build_index(None, Settings(index_dir=index_dir, corpus=(small,)), show_progress=False)
    return {"index_dir": index_dir, "generation": result.generation, "count": 20}


def assert_still_serving(served: dict[str, object]) -> None:
    with open_index(served["index_dir"]) as opened:
        assert opened.generation == served["generation"]
        assert opened.fallback_from is None
        assert opened.doc_count() == served["count"]


@pytest.mark.parametrize("victims", ["build process", "build and its workers"])
def test_sigkill_mid_build_keeps_previous_generation_and_next_build_succeeds(
    tmp_path: Path, served: dict[str, object], victims: str
) -> None:
    index_dir = served["index_dir"]
    # Big enough that the build is still running when the test freezes it.
    big = write_corpus(tmp_path / "big", files=6, per_file=BIG_PER_FILE, seed=2, words=30)
    build = start_build(index_dir, big)
    try:
        status = wait_for_progress(index_dir, build, done=50)
        # Freeze the build where it is, so it cannot finish between looking and killing.
        os.killpg(build.pid, signal.SIGSTOP)
        assert read_current(index_dir) == served["generation"], "the build finished too soon"
    except BaseException:
        os.killpg(build.pid, signal.SIGKILL)
        build.communicate(timeout=30)
        raise
    workers = psutil.Process(build.pid).children(recursive=True)
    assert workers, "the build runs worker processes"
    if victims == "build process":
        os.kill(build.pid, signal.SIGKILL)
        os.killpg(build.pid, signal.SIGCONT)  # the orphaned workers run on
    else:
        os.killpg(build.pid, signal.SIGKILL)
    build.communicate(timeout=30)

    # Orphaned workers notice their parent is gone and stop on their own.
    _gone, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, f"workers outlived the killed build: {alive}"
    assert status["generation"] in generation_names(index_dir)  # the unfinished one
    assert read_current(index_dir) == served["generation"]
    assert_still_serving(served)
    after = read_build_status(index_dir)
    assert after["state"] == "failed"
    assert "killed" in after["error"]

    rebuilt = subprocess.run(
        [sys.executable, "-m", "searchsvc", "build-index"],
        env=build_env(index_dir, big),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"articles indexed: {6 * BIG_PER_FILE}" in rebuilt.stdout
    with open_index(index_dir) as opened:
        assert opened.doc_count() == 6 * BIG_PER_FILE
        assert opened.generation not in {served["generation"], status["generation"]}
    # The killed build's directory is cleaned up; the previous one stays as the fallback.
    assert status["generation"] not in generation_names(index_dir)
    assert served["generation"] in generation_names(index_dir)
    assert read_build_status(index_dir)["state"] == "idle"


@contextlib.contextmanager
def small_tmpfs(directory: Path, size: str) -> Iterator[None]:
    directory.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({mounted.stderr.strip()}); the rlimit case covers it"
        )
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)


def limit_file_size(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a core dump

    return apply


def fill_disk_during_build(tmp_path: Path, how: str) -> Iterator[dict[str, object]]:
    """Serve a small generation, then run a build that runs out of room (1 MB in all
    on a tmpfs, or 256 KB a file under RLIMIT_FSIZE); yields what happened."""
    index_dir = tmp_path / "mnt" / "index"
    with contextlib.ExitStack() as stack:
        if how == "tmpfs":
            stack.enter_context(small_tmpfs(tmp_path / "mnt", "1m"))
        small = write_corpus(tmp_path / "small", files=1, per_file=20, seed=1)
        result = build_index(
            None, Settings(index_dir=index_dir, corpus=(small,)), show_progress=False
        )
        big = write_corpus(tmp_path / "big", files=2, per_file=600, seed=2)
        popen = {"preexec_fn": limit_file_size(256 * 1024)} if how == "rlimit" else {}
        build = start_build(index_dir, big, **popen)
        _out, err = build.communicate(timeout=120)
        yield {
            "index_dir": index_dir,
            "generation": result.generation,
            "count": 20,
            "big": big,
            "returncode": build.returncode,
            "stderr": err,
        }


DISK_FULL = pytest.mark.parametrize("how", ["tmpfs", "rlimit"])


@DISK_FULL
def test_disk_full_during_build_keeps_previous_generation_serving(tmp_path: Path, how: str) -> None:
    for outcome in fill_disk_during_build(tmp_path, how):
        assert outcome["returncode"] != 0
        assert (
            "No space left on device" in outcome["stderr"] or "File too large" in outcome["stderr"]
        )
        assert read_current(outcome["index_dir"]) == outcome["generation"]
        assert_still_serving(outcome)
        status = read_build_status(outcome["index_dir"])
        assert status["state"] == "failed"
        assert status["error"]
        if how == "rlimit":  # once there is room again the same build succeeds
            again = build_index(
                [outcome["big"]], Settings(index_dir=outcome["index_dir"]), show_progress=False
            )
            assert again.article_count == 1200


@DISK_FULL
def test_disk_full_during_build_fails_clearly_and_leaves_nothing(tmp_path: Path, how: str) -> None:
    for outcome in fill_disk_during_build(tmp_path, how):
        err = outcome["stderr"]
        assert outcome["returncode"] == 2
        assert "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
        assert err.startswith("searchsvc: error: ")
        assert "Traceback" not in read_build_status(outcome["index_dir"])["error"]
        assert generation_names(outcome["index_dir"]) == {outcome["generation"]}
        assert leftover_temporaries(outcome["index_dir"]) == []


def test_source_files_that_vanish_or_change_after_listing(tmp_path: Path) -> None:
    """The build lists its files first and reads them later; in between, files go away,
    shrink, grow (with zeros), turn into directories or change their stories."""
    corpus = write_corpus(tmp_path / "corpus", files=6, per_file=10, seed=3)
    listed = list(list_source_files([corpus]))
    assert len(listed) == 6
    (corpus / "part00.jsonl").unlink()
    (corpus / "part01.jsonl").write_bytes(b"")
    with open(corpus / "part02.jsonl", "ab") as handle:
        handle.truncate(3 * 1024 * 1024)
    (corpus / "part03.jsonl").unlink()
    (corpus / "part03.jsonl").mkdir()
    changed = {"id": "changed", "title": "Changed story", "body": "A new story about tin."}
    (corpus / "part04.jsonl").write_text(json.dumps(changed) + "\n", encoding="utf-8")

    settings = Settings(index_dir=tmp_path / "index", corpus=(corpus,), max_file_bytes=1024 * 1024)
    result = build_generation([corpus], settings, list_files=lambda: listed, show_progress=False)
    report = result.report.to_dict()
    assert result.article_count == 11  # part05's ten and the changed story
    assert report["skipped"].get("unreadable file", 0) >= 2  # vanished, now a directory
    assert report["skipped"].get("empty file", 0) == 1
    # JSON Lines has no size cap: what part02 grew by (zeros) makes it a binary file.
    assert report["skipped"].get("binary file", 0) == 1
    with open_index(settings.index_dir) as opened, opened.searcher() as searcher:
        ids = {fields["id"] for fields in searcher.all_stored_fields()}
    assert "changed" in ids
    assert not any(i.startswith("s3-4-") for i in ids)


def test_source_directory_removed_before_build_fails_clearly(
    tmp_path: Path, served: dict[str, object]
) -> None:
    gone = tmp_path / "gone"
    completed = subprocess.run(
        [sys.executable, "-m", "searchsvc", "build-index"],
        env=build_env(served["index_dir"], gone),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert "source not found" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert_still_serving(served)


def test_single_source_file_with_many_articles_builds(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "one", files=1, per_file=120, seed=6, words=20)
    result = build_index(None, Settings(index_dir=tmp_path / "index", corpus=(corpus,)))
    assert result.article_count == 120
