"""Shared fixtures: where the real corpora are, and tiny corpora written by the tests."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from opensearch_cluster import opensearch_settings, opensearch_urls  # noqa: F401 (fixtures)

from searchsvc.config import Settings
from searchsvc.index import build_index

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPORA_DIR = REPO_ROOT.parent / "shared" / "corpora"
SEEDS_DIR = REPO_ROOT / "seeds"


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    """The shared real corpora; tests that need them skip cleanly where they are absent."""
    if not CORPORA_DIR.is_dir():
        pytest.skip(f"real corpora not found at {CORPORA_DIR}")
    return CORPORA_DIR


@pytest.fixture(scope="session")
def reuters_dir(corpora_dir: Path) -> Path:
    path = corpora_dir / "reuters21578"
    if not any(path.glob("reut2-*.sgm")):
        pytest.skip(f"Reuters-21578 not found at {path}")
    return path


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook, which reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put each test module in a group of its own for ``--dist loadgroup`` (the README's
    test command), so that its module fixtures (indexes, servers, clusters) are made once,
    on one worker; the OpenSearch modules form one group, so that its fault tests' clusters
    never start beside the others' work on the same cores."""
    for item in items:
        module = item.path.stem
        group = "opensearch" if module.startswith("test_opensearch_") else module
        item.add_marker(pytest.mark.xdist_group(group))


def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder the whole test run shares: the parent of each worker's temporary folder
    under pytest-xdist, this process's own temporary folder otherwise."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def reuters_index(reuters_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The settings of an embedded index of all of Reuters-21578, built once for the
    test run (a build takes most of half a minute; the first worker to ask builds it while
    the others wait); tests only read it."""
    root = run_folder(tmp_path_factory) / "reuters-index"
    root.mkdir(exist_ok=True)
    settings = Settings(index_dir=root / "index", corpus=(reuters_dir,))
    with open(root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "built").exists():
            build_index(None, settings, show_progress=False)
            (root / "built").touch()
    return settings


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS_DIR


# Debian's chromium, driven by Playwright; never a browser that Playwright downloads.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for the module's tests; skips, saying why, where none is installed."""
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.skip("no chromium installed (Debian package `chromium`); browser tests need it")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def child_environment(**settings: str) -> dict[str, str]:
    """The environment of a ``searchsvc`` child process: this one's without its
    ``SEARCHSVC_*`` variables (a developer's own must not change what a test sees), this
    checkout first on ``PYTHONPATH`` (whatever the child's working directory), and
    ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEARCHSVC_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return {**env, **settings}


class ServeProcess:
    """``searchsvc serve --port 0`` as a child process, its output in ``log``.

    The child sees none of this environment's ``SEARCHSVC_*`` variables, only ``env``
    (:func:`child_environment`); it runs in its own session, so signals meant for the
    test run do not reach it. The port comes from the banner it prints once listening.
    """

    #: A hang guard, not a measurement: a first start builds the index before serving.
    START_DEADLINE = 180
    STOP_DEADLINE = 60

    def __init__(
        self, log: Path, env: Mapping[str, str], args: Sequence[str] = (), cwd: Path | None = None
    ) -> None:
        self.log = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "searchsvc", "serve", "--port", "0", *args],
                env=child_environment(**env),
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                start_new_session=True,
            )
        self.port = self._wait_for_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def request(
        self, path: str, method: str = "GET", token: str | None = None, timeout: float = 60
    ) -> tuple[int, dict]:
        """(status, JSON body) of one request; error statuses are returned, not raised."""
        request = urllib.request.Request(self.base + path, method=method)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.load(error)

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + self.START_DEADLINE
        while time.monotonic() < deadline:
            match = re.search(r"on http://[^:/]+:(\d+)/", self.output())
            if match:
                return int(match.group(1))
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.output()}")
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"server did not start:\n{self.output()}")

    def stop(self) -> int:
        """SIGTERM, as a service manager would; the exit code (negative if it had to be
        killed after ``STOP_DEADLINE`` seconds)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=self.STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def serve_on_loopback(app) -> Iterator[str]:
    """Run ``app`` under waitress on a free loopback port for as long as the generator lives."""
    import waitress

    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def web_settings(tmp_path_factory: pytest.TempPathFactory):
    """Settings over one index of the fixture articles, shared by the web tests."""
    from test_web_support import shared_fixture_index

    return shared_fixture_index(tmp_path_factory)


@pytest.fixture
def app(web_settings):
    from test_web_support import running_app

    yield from running_app(web_settings)


@pytest.fixture
def client(app):
    return app.test_client()
