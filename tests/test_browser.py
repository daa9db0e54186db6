"""The search page in a real headless Chromium (Debian's, never a downloaded one).

The app runs under waitress in a thread over the fixture index; the browser types, clicks and
pages like a reader. Screenshots land in ``test-artifacts/`` for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import serve_on_loopback
from test_web_support import build_fixture_index, fixture_articles, shared_fixture_index
from versions_support import versions_articles

from searchsvc.web import close_app, create_app

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory) -> Iterator[str]:
    app = create_app(shared_fixture_index(tmp_path_factory))
    yield from serve_on_loopback(app)
    close_app(app)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    yield page
    context.close()


def result_count(page) -> int:
    text = page.locator("#results-heading").inner_text()
    match = re.match(r"([\d,]+) results?", text)
    return int(match.group(1).replace(",", "")) if match else 0


def test_search_filter_page_and_open_an_article(page, base_url):
    page.goto(base_url + "/")
    page.get_by_label("Search articles").fill("harbour")
    page.get_by_label("Search articles").press("Enter")
    page.wait_for_url(re.compile(r"q=harbour"))
    assert result_count(page) == 15
    assert page.locator(".hit mark").count() >= 10
    assert page.locator(".hit__title mark").first.is_visible()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search-results.png"), full_page=True)

    baku = page.locator(".facet__value", has_text="Baku, Azerbaijan").first
    count = int(baku.locator(".facet__count").inner_text().split()[0])
    baku.click()
    page.wait_for_url(re.compile(r"place=geo"))
    assert result_count(page) == count
    chip = page.locator(".chip", has_text="Baku, Azerbaijan")
    assert chip.is_visible()
    chip.click()
    page.wait_for_url(lambda url: "place=" not in url)
    assert result_count(page) == 15
    assert page.locator(".chip").count() == 0

    page.get_by_role("link", name="Next").click()
    page.wait_for_url(re.compile(r"page=2"))
    assert page.locator(".hit").count() == 5
    assert "Showing 11\u201315 of 15" in page.locator(".pager__summary").inner_text()

    first = page.locator(".hit__title a").first
    title = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/articles/"))
    assert page.locator("h1#story-title").inner_text() == title
    assert page.locator(".related__item").count() > 0
    assert page.console_errors == []


def test_timeline_click_narrows_the_dates(page, base_url):
    page.goto(base_url + "/?q=harbour")
    bar = page.locator("a.timeline__link").first
    expected = int(re.search(r": (\d+) article", bar.get_attribute("title")).group(1))
    bar.click()
    page.wait_for_url(re.compile(r"date_from="))
    assert result_count(page) == expected
    assert page.locator(".chip", has_text="Dates:").is_visible()


def test_keyboard_reaches_the_skip_link_and_shows_focus(page, base_url):
    page.goto(base_url + "/?q=harbour")
    page.locator("body").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    assert page.locator(".skip-link").is_visible()


def test_script_in_an_article_stays_text(page, base_url):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(base_url + "/?q=notice+board")
    page.goto(base_url + "/articles/xss-1")
    assert '<script>alert("title")</script>' in page.locator("h1#story-title").inner_text()
    assert dialogs == []
    assert page.console_errors == []


def test_reads_well_on_a_phone(browser, base_url):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(base_url + "/?q=harbour")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"page is {width}px wide on a 390px screen"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "search-results-phone.png"), full_page=False)
    finally:
        context.close()


def test_everything_works_without_javascript(browser, base_url):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(base_url + "/")
        page.get_by_label("Search articles").fill("harbour")
        page.get_by_role("button", name="Search").click()
        page.wait_for_url(re.compile(r"q=harbour"))
        assert result_count(page) == 15
        oslo = page.locator(".facet__value", has_text="Oslo, Norway").first
        count = int(oslo.locator(".facet__count").inner_text().split()[0])
        oslo.click()
        page.wait_for_url(re.compile(r"place=geo"))
        assert result_count(page) == count
        page.get_by_role("link", name="Newest").click()
        page.wait_for_url(re.compile(r"sort=newest"))
        dates = page.locator(".hit time").evaluate_all("els => els.map(e => e.dateTime)")
        assert dates == sorted(dates, reverse=True) and len(dates) == count
    finally:
        context.close()


@pytest.fixture(scope="module")
def versions_url(tmp_path_factory) -> Iterator[str]:
    records = fixture_articles() + versions_articles()
    app = create_app(build_fixture_index(tmp_path_factory.mktemp("versions-web"), records))
    yield from serve_on_loopback(app)
    close_app(app)


def test_a_story_with_copies_shows_more_versions_and_lists_them(page, versions_url):
    page.goto(versions_url + "/?q=copper+valparaiso")
    link = page.locator(".hit__versions")
    assert link.count() == 1
    assert link.inner_text() == "3 more versions"
    assert "copies of one story are listed once" in page.locator(".counting").inner_text()
    assert "every copy of a story counts" in page.locator(".sidebar__note").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search-versions.png"), full_page=True)

    link.click()
    page.wait_for_url(re.compile(r"/articles/.+#versions"))
    versions = page.locator("#versions .related__item")
    assert versions.count() == 3
    assert page.locator("#versions").is_visible()
    assert page.console_errors == []
