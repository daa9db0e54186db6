"""Languages on the page and in the JSON API: the facet, its links, and text direction.

The page itself stays left to right; each title, snippet and story carries its own
``lang`` and ``dir``, so an Arabic snippet runs right to left beside English ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from conftest import serve_on_loopback
from language_corpus import IDS_BY_LANGUAGE, LANGUAGE_ARTICLES
from test_web_support import assert_documented, build_fixture_index, running_app

from searchsvc.web import close_app, create_app


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return build_fixture_index(tmp_path_factory.mktemp("web-languages"), LANGUAGE_ARTICLES)


@pytest.fixture(scope="module")
def app(settings) -> Iterator:
    yield from running_app(settings)


@pytest.fixture
def client(app):
    return app.test_client()


class Elements(HTMLParser):
    """Every start tag's attributes, by class name."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.by_class: dict[str, list[dict[str, str | None]]] = {}
        self.root: dict[str, str | None] = {}
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.root = attributes
        for name in (attributes.get("class") or "").split():
            self.by_class.setdefault(name, []).append(attributes)


def test_the_api_answers_the_facet_and_each_hits_language(client) -> None:
    answer = client.get("/api/search?per_page=50")
    assert answer.status_code == 200
    assert_documented(client, answer, "/api/search")
    body = answer.get_json()
    facet = {value["key"]: value for value in body["facets"]["language"]["values"]}
    assert {key: value["count"] for key, value in facet.items()} == {
        key: len(ids) for key, ids in IDS_BY_LANGUAGE.items()
    }
    assert facet[""]["label"] == "Unknown language"
    hits = {hit["id"]: hit for hit in body["hits"]}
    assert hits["ar-mina"]["language"] == "ar" and hits["ar-mina"]["dir"] == "rtl"
    assert hits["en-port"]["language"] == "en" and hits["en-port"]["dir"] == "ltr"


@pytest.mark.parametrize(
    ("query_string", "expected"),
    [
        ("language=ar", IDS_BY_LANGUAGE["ar"]),
        ("language=id&language=sw", IDS_BY_LANGUAGE["id"] | IDS_BY_LANGUAGE["sw"]),
        ("language=und", IDS_BY_LANGUAGE[""]),
        ("language=", {record["id"] for record in LANGUAGE_ARTICLES}),
    ],
)
def test_the_language_parameter_selects(client, query_string: str, expected: set[str]) -> None:
    body = client.get(f"/api/search?per_page=50&{query_string}").get_json()
    assert {hit["id"] for hit in body["hits"]} == expected


def test_lang_is_accepted_comma_separated_or_repeated(client) -> None:
    for query_string in ("lang=id,ar", "lang=id&lang=ar"):
        answer = client.get(f"/api/search?q=khojaly&{query_string}")
        assert answer.status_code == 200, answer.get_json()


def test_the_article_api_says_the_language(client) -> None:
    answer = client.get("/api/articles/id-peringatan")
    assert_documented(client, answer, "/api/articles/{id}")
    body = answer.get_json()
    assert body["language"] == "id"


def test_the_page_lists_the_language_facet_and_marks_each_hit(client) -> None:
    html = client.get("/?per_page=50").get_data(as_text=True)
    page = Elements(html)
    assert page.root.get("dir") in (None, "ltr")
    keys = {
        a["data-key"]: a for a in page.by_class["facet__value"] if a["data-facet"] == "language"
    }
    assert set(keys) == set(IDS_BY_LANGUAGE)
    assert "language=und" in keys[""]["href"]
    assert "language=ar" in keys["ar"]["href"]
    assert ">Unknown language<" in html and ">Indonesian<" in html
    snippets = page.by_class["hit__snippet"]
    assert {(s.get("lang"), s.get("dir")) for s in snippets} == {
        ("ar", "rtl"),
        ("en", "ltr"),
        ("id", "ltr"),
        ("sw", "ltr"),
        (None, "auto"),
    }
    titles = page.by_class["hit__title"]
    assert sum(1 for t in titles if t.get("dir") == "rtl") == len(IDS_BY_LANGUAGE["ar"])


def test_the_unknown_language_chip_is_labelled_and_removable(client) -> None:
    html = client.get("/?language=und").get_data(as_text=True)
    chip = re.search(r'<a class="chip" href="([^"]*)" data-kind="language">\s*<span>([^<]*)', html)
    assert chip is not None
    assert chip.group(2) == "Language: Unknown language"
    assert "language" not in chip.group(1)


def test_an_arabic_story_runs_right_to_left_in_a_left_to_right_page(client) -> None:
    page = Elements(client.get("/articles/ar-dhikra").get_data(as_text=True))
    assert page.root.get("dir") in (None, "ltr")
    for name in ("story__title", "story__body"):
        (element,) = page.by_class[name]
        assert (element.get("lang"), element.get("dir")) == ("ar", "rtl")
    (back,) = page.by_class["story__back"]
    assert back.get("dir") is None


@pytest.fixture(scope="module")
def base_url(settings) -> Iterator[str]:
    app = create_app(settings)
    yield from serve_on_loopback(app)
    close_app(app)


@pytest.mark.browser
def test_a_browser_lays_out_arabic_snippets_rtl_and_english_ltr(base_url, browser) -> None:
    page = browser.new_page()
    try:
        page.goto(base_url + "/?per_page=50")
        direction = "element => getComputedStyle(element).direction"
        assert page.locator(".hit__snippet[lang=ar]").first.evaluate(direction) == "rtl"
        assert page.locator(".hit__snippet[lang=en]").first.evaluate(direction) == "ltr"
        assert page.locator(".hit__title[lang=ar]").first.evaluate(direction) == "rtl"
        assert page.locator(".hit__title[lang=en]").first.evaluate(direction) == "ltr"
        assert page.locator(".hits").evaluate(direction) == "ltr"
        page.goto(base_url + "/articles/ar-dhikra")
        assert page.locator(".story__body").evaluate(direction) == "rtl"
        assert page.locator(".story__back").evaluate(direction) == "ltr"
    finally:
        page.close()
