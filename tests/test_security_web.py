"""Hostile input over HTTP: stored and reflected XSS, odd ids, huge parameters, admin tokens.

The index holds articles written to attack the pages: script tags, event handlers and
``javascript:`` links in the title, body, dateline place, source, url and even the id.
Every page and every HTML fragment of the JSON API must carry them as text.
"""

from __future__ import annotations

import inspect
import json
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

import pytest

from searchsvc.config import Settings
from searchsvc.index import build_index
from searchsvc.web import admin, close_app, create_app
from searchsvc.web.rebuild import build_running

ADMIN_TOKEN = "correct-horse-battery-staple-7f3a"
MARKER = "zanzibarite"  # a word only the hostile articles contain
PAYLOADS = [
    '<script>alert("xss-1")</script>',
    '<img src=x onerror=alert("xss-2")>',
    '<svg onload=alert("xss-3")>',
    '"><script>alert("xss-4")</script>',
    "'><a href=javascript:alert('xss-5')>x</a>",
    '<iframe src="javascript:alert(`xss-6`)"></iframe>',
    "</mark><script>alert(7)</script><mark>",
    "<body onload=alert(8)>",
    "&lt;script&gt;alert(9)&lt;/script&gt;",
    "{{ 7*7 }}{% if 1 %}injected{% endif %}",
    "<style>body{display:none}</style>",
    '<a href="&#106;avascript:alert(10)">x</a>',
]
HOSTILE_URLS = [
    "javascript:alert(11)",
    " JaVaScRiPt:alert(12)",
    "java\tscript:alert(13)",
    "data:text/html,<script>alert(14)</script>",
    'https://example.com/"><script>alert(15)</script>',
    "vbscript:msgbox(16)",
]
HOSTILE_IDS = ['x"><script>alert(17)</script>', "<img src=x onerror=alert(18)>", "a/../../b"]


def hostile_records() -> list[dict[str, str]]:
    records = []
    for number, payload in enumerate(PAYLOADS):
        records.append(
            {
                "id": f"hostile-{number}",
                "title": f"{MARKER} {payload} headline",
                "body": f"{payload} LONDON - The {MARKER} story {payload} goes on.\n\n{payload}",
                "place": payload,
                "source": payload,
                "url": HOSTILE_URLS[number % len(HOSTILE_URLS)],
                "date": f"1987-03-{number + 1:02d}",
            }
        )
    for number, article_id in enumerate(HOSTILE_IDS):
        records.append(
            {
                "id": article_id,
                "title": f"{MARKER} odd id {number}",
                "body": f"An ordinary {MARKER} story with an odd identifier {number}.",
            }
        )
    records.append(
        {"id": "plain-1", "title": "Harbour strike ends", "body": "Dockers returned to work."}
    )
    return records


@pytest.fixture(scope="module")
def hostile_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    base = tmp_path_factory.mktemp("hostile")
    corpus = base / "corpus"
    corpus.mkdir()
    with open(corpus / "hostile.jsonl", "w", encoding="utf-8") as handle:
        for record in hostile_records():
            handle.write(json.dumps(record) + "\n")
    settings = Settings(index_dir=base / "index", corpus=(corpus,), admin_token=ADMIN_TOKEN)
    build_index(None, settings, show_progress=False)
    return settings


@pytest.fixture(scope="module")
def client(hostile_settings: Settings):
    app = create_app(hostile_settings)
    yield app.test_client()
    close_app(app)


class MarkupAudit(HTMLParser):
    """Collects everything in a page that could run script."""

    ALLOWED_SCRIPT_PREFIX = "/static/"
    # Inline <svg> icons are part of the templates; any handler on one is caught below.
    DANGEROUS_TAGS: ClassVar[set[str]] = {
        "iframe",
        "object",
        "embed",
        "base",
        "frame",
        "math",
        "style",
    }
    URL_ATTRIBUTES: ClassVar[set[str]] = {
        "href",
        "src",
        "action",
        "formaction",
        "xlink:href",
        "data",
        "poster",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.bodies = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and not (values.get("src") or "").startswith(self.ALLOWED_SCRIPT_PREFIX):
            self.problems.append(f"script tag {attrs}")
        if tag in self.DANGEROUS_TAGS:
            self.problems.append(f"<{tag}> {attrs}")
        if tag == "img" and not (values.get("src") or "").startswith(("/static/", "data:image")):
            self.problems.append(f"img {attrs}")
        if tag == "body":
            self.bodies += 1
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            if name in self.URL_ATTRIBUTES and value is not None:
                squashed = "".join(value.split()).lower()
                if squashed.startswith(("javascript:", "vbscript:", "data:text")):
                    self.problems.append(f"{name}={value!r} on <{tag}>")

    handle_startendtag = handle_starttag


def audit_html(html: str) -> list[str]:
    parser = MarkupAudit()
    parser.feed(html)
    parser.close()
    if parser.bodies > 1:
        parser.problems.append("a second <body>")
    return parser.problems


def audit_fragment(fragment: str) -> list[str]:
    """An API fragment (title, snippet) may contain <mark> and nothing else."""
    problems = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list) -> None:
            if tag != "mark" or attrs:
                problems.append(f"<{tag} {attrs}> in fragment {fragment[:80]!r}")

    Tags().feed(fragment)
    return problems


def assert_html_safe(response) -> str:
    html = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert audit_html(html) == [], html
    assert "Traceback" not in html
    assert "49injected" not in html and ">injected<" not in html  # no template evaluation
    return html


# --- stored XSS ------------------------------------------------------------------------


def test_search_page_renders_stored_payloads_as_text(client) -> None:
    for sort in ("relevance", "newest"):
        response = client.get("/", query_string={"q": MARKER, "per_page": 50, "sort": sort})
        assert response.status_code == 200
        html = assert_html_safe(response)
        assert (
            "&lt;script&gt;alert(&#34;xss-1&#34;)" in html
            or "&lt;script&gt;alert(&quot;xss-1" in html
        )


def test_article_pages_render_stored_payloads_as_text(client) -> None:
    ids = [f"hostile-{n}" for n in range(len(PAYLOADS))] + HOSTILE_IDS
    for article_id in ids:
        response = client.get("/articles/" + quote(article_id, safe=""))
        assert response.status_code == 200, article_id
        assert_html_safe(response)


def test_facet_and_filter_links_carry_payload_places_and_sources_as_text(client) -> None:
    body = client.get("/api/search", query_string={"q": MARKER, "per_page": 50}).get_json()
    keys = [value["key"] for facet in body["facets"].values() for value in facet["values"]]
    assert keys
    for name in ("place", "places", "source"):
        for value in body["facets"][name]["values"][:5]:
            response = client.get("/", query_string={"q": MARKER, name: value["key"]})
            assert response.status_code == 200
            assert_html_safe(response)


def test_api_fragments_contain_only_mark_tags(client) -> None:
    for query in (MARKER, f'"{MARKER} story"', "script", "alert", "onerror", "javascript"):
        body = client.get("/api/search", query_string={"q": query, "per_page": 50}).get_json()
        for hit in body["hits"]:
            assert audit_fragment(hit["title"]) == []
            assert audit_fragment(hit["snippet"]) == []
    related = client.get("/api/articles/hostile-0/related").get_json()["related"]
    for hit in related:
        assert audit_fragment(hit["title"]) == [] and audit_fragment(hit["snippet"]) == []


# --- reflected XSS -----------------------------------------------------------------------

REFLECTED_PARAMETERS = [
    "q",
    "place",
    "places",
    "source",
    "date_from",
    "date_to",
    "sort",
    "page",
    "per_page",
]


@pytest.mark.parametrize("parameter", REFLECTED_PARAMETERS)
@pytest.mark.parametrize("payload", PAYLOADS[:8])
def test_parameters_are_reflected_as_text(client, parameter: str, payload: str) -> None:
    response = client.get("/", query_string={"q": "harbour", parameter: payload})
    assert response.status_code in (200, 400)
    assert_html_safe(response)
    api = client.get("/api/search", query_string={"q": "harbour", parameter: payload})
    assert api.status_code in (200, 400)
    assert api.mimetype == "application/json"


@pytest.mark.parametrize("payload", PAYLOADS[:8])
def test_article_id_in_the_path_is_reflected_as_text(client, payload: str) -> None:
    response = client.get("/articles/" + quote(payload, safe=""))
    assert response.status_code == 404
    assert_html_safe(response)
    api = client.get("/api/articles/" + quote(payload, safe=""))
    assert api.status_code == 404
    assert api.mimetype == "application/json"


# --- headers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/", f"/?q={MARKER}", "/articles/hostile-0", "/articles/nope", "/nowhere", "/?page=x"]
)
def test_html_responses_carry_strict_security_headers(client, url: str) -> None:
    response = client.get(url)
    assert response.mimetype == "text/html"
    policy = {
        part.strip().split(" ", 1)[0]: part.strip()
        for part in response.headers["Content-Security-Policy"].split(";")
    }
    assert policy["default-src"] == "default-src 'none'"
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
    assert policy["script-src"] == "script-src 'self'"
    assert "frame-ancestors" in policy and "base-uri" in policy and "form-action" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"]
    assert "Access-Control-Allow-Origin" not in response.headers


def test_json_responses_are_not_sniffable(client) -> None:
    for url in ("/api/search?q=<script>", "/api/articles/<x>", "/healthz", "/api/index/status"):
        response = client.get(url)
        assert response.mimetype == "application/json"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "Access-Control-Allow-Origin" not in response.headers


# --- odd ids and oversized input --------------------------------------------------------------

TRAVERSALS = [
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/etc/passwd",
    "....//....//etc/passwd",
    "/etc/passwd",
    "..\\..\\windows\\win.ini",
    "a%00b",
    "%00",
    "%ff%fe%fd",
    "%c0%ae%c0%ae/etc/passwd",
    "x" * 5000,
    "\u202e\u0000\ufeff",
    "CON",
    "hostile-0/../hostile-1",
]


@pytest.mark.parametrize("article_id", TRAVERSALS)
def test_odd_article_ids_are_plain_not_found(client, article_id: str) -> None:
    for prefix in ("/api/articles/", "/articles/"):
        for suffix in ("", "/related") if prefix.startswith("/api") else ("",):
            # A doubled slash is merged by a redirect; the target must fail the same way.
            response = client.get(prefix + article_id + suffix, follow_redirects=True)
            assert response.status_code in (404, 400, 414), (
                prefix,
                article_id,
                response.status_code,
            )
            text = response.get_data(as_text=True)
            assert "root:" not in text and "[fonts]" not in text
            assert "Traceback" not in text
            if prefix.startswith("/api"):
                assert response.get_json()["status"] == response.status_code


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"per_page": "1000000"}, "per_page"),
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "-5"}, "per_page"),
        ({"page": str(10**9)}, "page"),
        ({"page": "9" * 4000}, "page"),
        ({"page": "1e3"}, "page"),
        ({"q": "harbour " * 130}, "q"),
        ({"q": "(" * 300 + "a" + ")" * 300}, "q"),
        ({"date_from": "99999-01-01"}, "date_from"),
        ({"date_to": "0000-00-00"}, "date_to"),
        ({"sort": "random()"}, "sort"),
    ],
)
def test_oversized_and_impossible_parameters_are_one_clear_400(client, params, parameter) -> None:
    response = client.get("/api/search", query_string=params)
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["parameter"] == parameter
    assert body["message"]
    page = client.get("/", query_string=params)
    assert page.status_code == 400
    assert_html_safe(page)


def test_query_string_beyond_any_search_is_refused(client) -> None:
    response = client.get("/api/search", query_string={"q": "a" * 20000})
    assert response.status_code == 414
    assert response.get_json()["status"] == 414


# --- admin endpoints --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {ADMIN_TOKEN[:-1]}"},
        {"Authorization": f"Bearer {ADMIN_TOKEN}x"},
        {"Authorization": f"Basic {ADMIN_TOKEN}"},
        {"Authorization": ADMIN_TOKEN},
        {"Authorization": f"Bearer {ADMIN_TOKEN.upper()}"},
        {"Authorization": "Bearer \u00e9\u00e8"},
        {"X-Admin-Token": ADMIN_TOKEN},
        {"Cookie": f"token={ADMIN_TOKEN}"},
    ],
    ids=lambda h: repr(h)[:40],
)
def test_rebuild_refuses_missing_wrong_and_empty_tokens(client, headers: dict[str, str]) -> None:
    response = client.post("/api/index/rebuild", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["status"] == 401
    assert "Bearer" in response.headers.get("WWW-Authenticate", "")
    assert not build_running(client.application.extensions["searchsvc"].settings.index_dir)


def test_rebuild_token_in_query_or_form_is_not_accepted(client) -> None:
    for response in (
        client.post(f"/api/index/rebuild?token={ADMIN_TOKEN}"),
        client.post("/api/index/rebuild", data={"token": ADMIN_TOKEN}),
        client.post("/api/index/rebuild", json={"token": ADMIN_TOKEN}),
    ):
        assert response.status_code == 401


def test_cross_site_form_post_cannot_start_a_rebuild(client) -> None:
    """A page elsewhere can post a form here, but cannot add an Authorization header,
    and the server uses no cookies: the request is refused."""
    response = client.post(
        "/api/index/rebuild",
        data={"go": "1"},
        headers={"Origin": "https://evil.example", "Referer": "https://evil.example/x"},
    )
    assert response.status_code == 401
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Set-Cookie" not in client.get("/").headers
    for url in ("/", "/articles/hostile-0", f"/?q={MARKER}"):
        html = client.get(url).get_data(as_text=True)
        assert 'method="post"' not in html.lower() and "rebuild" not in html.lower()


def test_rebuild_is_post_only(client) -> None:
    response = client.get("/api/index/rebuild", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 405
    assert response.get_json()["status"] == 405


def test_admin_disabled_without_a_configured_token(hostile_settings: Settings) -> None:
    for token in (None, ""):
        app = create_app(hostile_settings.replace(admin_token=token))
        try:
            for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer None"}):
                response = app.test_client().post("/api/index/rebuild", headers=headers)
                assert response.status_code == 403
                assert "SEARCHSVC_ADMIN_TOKEN" in response.get_json()["message"]
        finally:
            close_app(app)


def test_token_comparison_is_constant_time() -> None:
    source = inspect.getsource(admin)
    assert "hmac.compare_digest(" in source
    check = inspect.getsource(admin.require_admin_token)
    assert "== expected" not in check and "expected ==" not in check
    assert "!= expected" not in check and "expected !=" not in check


@pytest.mark.slow
def test_right_token_starts_one_rebuild(tmp_path: Path, hostile_settings: Settings) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "story.jsonl").write_text(
        json.dumps({"id": "one", "title": "Tin prices", "body": "Tin rose in London."}) + "\n",
        encoding="utf-8",
    )
    settings = hostile_settings.replace(index_dir=tmp_path / "index", corpus=(corpus,))
    app = create_app(settings)
    try:
        client = app.test_client()
        auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        started = client.post("/api/index/rebuild", headers=auth)
        assert started.status_code == 202, started.get_json()
        deadline = time.monotonic() + 120  # hang guard
        while build_running(settings.index_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        status = client.get("/api/index/status").get_json()
        assert status["state"] == "idle", status
        assert client.get("/api/search?q=tin").get_json()["total"] == 1
    finally:
        close_app(app)
