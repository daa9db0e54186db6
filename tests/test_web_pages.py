"""The search page and the article page, rendered over a real index, read as HTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from test_web_support import HARBOUR_IDS


class Page(HTMLParser):
    """Just enough of a DOM for the assertions: links with their text, inputs, scripts."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str, dict[str, str]]] = []
        self.inputs: list[dict[str, str]] = []
        self.scripts: list[dict[str, str]] = []
        self._open_links: list[tuple[dict[str, str], list[str]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        if tag == "a":
            self._open_links.append((attributes, []))
        elif tag == "input":
            self.inputs.append(attributes)
        elif tag == "script":
            self.scripts.append(attributes)

    def handle_endtag(self, tag):
        if tag == "a" and self._open_links:
            attributes, text = self._open_links.pop()
            self.links.append(
                (" ".join("".join(text).split()), attributes.get("href", ""), attributes)
            )

    def handle_data(self, data):
        for _, text in self._open_links:
            text.append(data)

    def link(self, starting: str) -> tuple[str, str]:
        for text, href, _ in self.links:
            if text.startswith(starting):
                return text, href
        raise AssertionError(f"no link starting {starting!r} in {[t for t, _, _ in self.links]}")

    def links_with(self, attribute: str, value: str) -> list[tuple[str, str]]:
        return [(t, h) for t, h, a in self.links if a.get(attribute) == value]


def get_page(client, url: str, status: int = 200) -> tuple[str, Page]:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    return html, Page(html)


def result_count(html: str) -> int:
    match = re.search(r'id="results-heading"[^>]*>\s*([\d,]+) results?', html)
    return int(match.group(1).replace(",", "")) if match else 0


def hit_ids(page: Page) -> list[str]:
    return [href.rsplit("/", 1)[-1] for _, href, _ in page.links if href.startswith("/articles/")]


def test_search_box_keeps_the_query(client):
    html, page = get_page(client, "/?q=lisbon+harbour")
    box = next(i for i in page.inputs if i.get("name") == "q")
    assert box["value"] == "lisbon harbour"
    assert '<label class="visually-hidden" for="q">Search articles</label>' in html


def test_results_show_highlights_place_date_and_source(client):
    html, page = get_page(client, "/?q=dredging")
    assert result_count(html) == 1
    assert hit_ids(page) == ["harbour-04"]
    assert "<mark>Dredging</mark>" in html or "<mark>dredging</mark>" in html
    assert "Lisbon, Portugal" in html
    assert '<time datetime="2023-04-11">11 Apr 2023</time>' in html
    assert "Harbor Times" in html


def test_place_facet_link_adds_then_removes_the_filter(client):
    html, page = get_page(client, "/?q=harbour")
    total = result_count(html)
    text, href = page.link("Baku, Azerbaijan")
    count = int(re.search(r"(\d+) articles", text).group(1))
    assert count < total
    filtered_html, filtered = get_page(client, href)
    assert result_count(filtered_html) == count
    chip_text, chip_href = filtered.link("Dateline: Baku, Azerbaijan")
    assert "remove filter" in chip_text
    # The same facet value, now selected, is the other way to remove it.
    _, toggle_href = filtered.link("Baku, Azerbaijan")
    for undo in (chip_href, toggle_href):
        undone_html, _ = get_page(client, undo)
        assert result_count(undone_html) == total


def test_two_facets_combine_and_clear_all_removes_both(client):
    _, page = get_page(client, "/?q=harbour")
    _, with_place = get_page(client, page.link("Oslo, Norway")[1])
    source_text, source_href = with_place.link("Harbor Times")
    both_html, both = get_page(client, source_href)
    assert result_count(both_html) == int(re.search(r"(\d+) articles", source_text).group(1))
    assert len(both.links_with("class", "chip")) == 2
    cleared_html, _ = get_page(client, both.link("Clear all")[1])
    assert result_count(cleared_html) == len(HARBOUR_IDS) + 2


def test_timeline_bars_link_to_their_dates(client):
    html, page = get_page(client, "/?q=harbour")
    assert 'class="timeline"' in html and "<svg" in html
    bars = page.links_with("class", "timeline__link")
    assert len(bars) >= 2
    text, href = bars[0]
    assert "date_from=" in href and "date_to=" in href
    count = int(re.search(r": (\d+) articles?", text).group(1))
    narrowed_html, narrowed = get_page(client, href)
    assert result_count(narrowed_html) == count
    assert narrowed.link("Dates:")
    assert "undated article" in html


def test_sort_choice(client):
    _, page = get_page(client, "/?q=harbour")
    _, newest = get_page(client, page.link("Newest")[1])
    assert hit_ids(newest)[0] == "harbour-13"
    _, oldest = get_page(client, page.link("Oldest")[1])
    assert hit_ids(oldest)[0] == "xss-1"


def test_pagination(client):
    html, page = get_page(client, "/?q=harbour")
    first_ids = hit_ids(page)
    assert len(first_ids) == 10
    assert "Showing 1\u201310 of 15" in html
    next_html, next_page = get_page(client, page.link("Next")[1])
    assert "Showing 11\u201315 of 15" in next_html
    assert not set(first_ids) & set(hit_ids(next_page))
    assert 'aria-current="page"><span class="visually-hidden">Page </span>2' in next_html


def test_did_you_mean_is_a_link(client):
    _, page = get_page(client, "/?q=lisbn")
    _, href = page.link("lisbon")
    html, _ = get_page(client, href)
    assert result_count(html) > 0


def test_nothing_found_is_a_friendly_empty_state(client):
    html, _ = get_page(client, "/?q=zeppelin")
    assert "Nothing matched" in html and "“zeppelin”" in html
    assert "Check the spelling" in html


def test_bad_parameter_shows_a_message_and_keeps_the_form(client):
    html, page = get_page(client, "/?q=harbour&page=abc", status=400)
    assert "That search could not be run" in html
    assert "page must be a whole number" in html
    assert any(i.get("name") == "q" and i.get("value") == "harbour" for i in page.inputs)


def test_article_page_has_story_places_and_related(client):
    html, page = get_page(client, "/articles/harbour-08")
    assert "<h1" in html and "Mombasa harbour fees to fall" in html
    assert "The ports authority announced lower fees" in html
    _, href = page.link("Mombasa, Kenya")
    assert "places=geo" in href
    related = [h for h in hit_ids(page) if h != "harbour-08"]
    assert related
    assert 'id="related-title"' in html


def test_article_paragraphs(client):
    html, _ = get_page(client, "/articles/xss-1")
    assert html.count("<p>") >= 2


def test_unknown_article_page_is_a_404(client):
    html, _ = get_page(client, "/articles/no-such-story", status=404)
    assert "Back to search" in html


@pytest.mark.parametrize("url", ["/?q=notice+board", "/articles/xss-1"])
def test_stored_script_renders_as_text(client, url):
    html, page = get_page(client, url)
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>Bold" not in html
    assert "&lt;script&gt;alert(" in html
    assert [s.get("src") for s in page.scripts] == ["/static/app.js"]
    assert "javascript:" not in html


def test_reflected_query_renders_as_text(client):
    html, page = get_page(client, '/?q=%3Cscript%3Ealert(1)%3C/script%3E"><b>x')
    assert "<script>alert(1)" not in html and '"><b>x' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert [s.get("src") for s in page.scripts] == ["/static/app.js"]


def test_html_security_headers(client):
    response = client.get("/?q=harbour")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_page_is_accessible_and_responsive(client):
    html, page = get_page(client, "/?q=harbour")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert page.link("Skip to content")[1] == "#content"
    assert 'id="content"' in html and '<html lang="en">' in html
    assert 'style="' not in html and "onclick" not in html  # the CSP allows neither
    with client.get("/static/style.css") as css:
        assert css.status_code == 200
        stylesheet = css.get_data(as_text=True)
    assert ":focus-visible" in stylesheet and "@media (max-width" in stylesheet


def test_first_visit_shows_the_latest_articles(client):
    html, page = get_page(client, "/")
    assert result_count(html) == len(HARBOUR_IDS) + 3
    assert hit_ids(page)


def test_page_says_how_many_have_all_the_words(client):
    body = client.get("/api/search", query_string={"q": "harbour ferry"}).get_json()
    assert 0 < body["all_words_total"] < body["total"]
    html = client.get("/", query_string={"q": "harbour ferry"}).get_data(as_text=True)
    more = body["total"] - body["all_words_total"]
    sentence = re.compile(
        rf"{body['all_words_total']:,} articles? ha(s|ve) all of these words; "
        rf"{more:,} more ha(s|ve) some\."
    )
    assert sentence.search(html)


def test_page_explains_the_query_language(client):
    html = client.get("/", query_string={"q": "harbour"}).get_data(as_text=True)
    tips = html[html.index('id="search-tips"') :]
    assert "oil prices OR tariffs" in tips and "oil, and prices or tariffs" in tips
    assert "quoted, it is required" in tips
