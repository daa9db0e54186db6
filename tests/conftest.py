"""Shared fixtures: where the real corpora are, and tiny corpora written by the tests."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

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
