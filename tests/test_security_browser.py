"""Stored and reflected XSS checked where it matters: in a real browser, no script runs.

The hostile articles of ``test_security_web`` are served by waitress on a loopback port
and opened in Debian's Chromium through Playwright. Any ``alert`` would raise a dialog;
an injected script blocked by the Content-Security-Policy would log a console error.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from conftest import serve_on_loopback
from test_security_web import HOSTILE_IDS, MARKER, PAYLOADS, hostile_records

from searchsvc.config import Settings
from searchsvc.index import build_index
from searchsvc.web import close_app, create_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
HTTP_STATUS_LOG = re.compile(
    r"Failed to load resource: the server responded with a status of 4\d\d"
)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed")
    base = tmp_path_factory.mktemp("browser")
    corpus = base / "corpus"
    corpus.mkdir()
    with open(corpus / "hostile.jsonl", "w", encoding="utf-8") as handle:
        for record in hostile_records():
            handle.write(json.dumps(record) + "\n")
    settings = Settings(index_dir=base / "index", corpus=(corpus,))
    build_index(None, settings, show_progress=False)
    app = create_app(settings)
    yield from serve_on_loopback(app)
    close_app(app)
    shutil.rmtree(base, ignore_errors=True)


def visit(browser, url: str) -> dict[str, list[str]]:
    """Open ``url``; what ran that should not have."""
    seen: dict[str, list[str]] = {"dialogs": [], "console_errors": [], "page_errors": []}
    page = browser.new_page()

    def on_dialog(dialog) -> None:
        seen["dialogs"].append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on(
        "console",
        lambda message: message.type == "error" and seen["console_errors"].append(message.text),
    )
    page.on("pageerror", lambda error: seen["page_errors"].append(str(error)))
    try:
        page.goto(url, wait_until="load")
        page.wait_for_timeout(100)  # let deferred scripts and event handlers have their go
        # Focus the box the way a reader would (fires focus handlers, if any were injected).
        if page.query_selector("input[name=q]") is not None:
            page.focus("input[name=q]")
        seen["text"] = [page.inner_text("body")[:200]]
    finally:
        page.close()
    return seen


def assert_nothing_ran(seen: dict[str, list[str]], url: str) -> None:
    assert seen["dialogs"] == [], url
    assert seen["page_errors"] == [], url
    # A 400 or 404 answer is logged by the browser as a failed load; anything else (a
    # script refused by the Content-Security-Policy, say) is a finding.
    errors = [m for m in seen["console_errors"] if not HTTP_STATUS_LOG.match(m)]
    assert errors == [], url


def test_search_results_run_no_stored_script(base_url: str, browser) -> None:
    for query in (MARKER, "alert", "script onerror"):
        url = f"{base_url}/?{urlencode({'q': query, 'per_page': 50})}"
        assert_nothing_ran(visit(browser, url), url)


def test_article_pages_run_no_stored_script(base_url: str, browser) -> None:
    ids = [f"hostile-{number}" for number in range(len(PAYLOADS))] + HOSTILE_IDS
    for article_id in ids:
        url = f"{base_url}/articles/{quote(article_id, safe='')}"
        seen = visit(browser, url)
        assert_nothing_ran(seen, url)
        assert "Not Found" not in seen["text"][0], url


@pytest.mark.parametrize("parameter", ["q", "place", "source", "date_from", "sort", "page"])
def test_reflected_parameters_run_no_script(base_url: str, browser, parameter: str) -> None:
    for payload in PAYLOADS[:5]:
        url = f"{base_url}/?{urlencode({'q': MARKER, parameter: payload})}"
        assert_nothing_ran(visit(browser, url), url)


def test_reflected_article_id_runs_no_script(base_url: str, browser) -> None:
    for payload in PAYLOADS[:8]:
        url = f"{base_url}/articles/{quote(payload, safe='')}"
        assert_nothing_ran(visit(browser, url), url)
