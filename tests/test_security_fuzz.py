"""Property-based fuzzing of the HTTP API: whatever the parameters, never a 5xx, never a
stack trace, and always JSON (HTML for the pages) with a status that matches the body."""

from __future__ import annotations

import contextlib
import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchsvc.config import Settings
from searchsvc.index import build_index
from searchsvc.web import close_app, create_app

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

STORIES = [
    ("oil-1", "Oil prices rise in London", "LONDON, March 3 - Crude oil rose on supply fears."),
    ("oil-2", "Tanker seized near Hormuz", "DUBAI, March 4 - A tanker carrying crude was held."),
    ("grain-1", "Wheat exports fall", "CHICAGO, March 5 - U.S. wheat exports fell this week."),
    ("bank-1", "Bundesbank holds rates", "FRANKFURT, March 6 - The Bundesbank left rates alone."),
]

# Text a person or a script might send: any printable or control character, no lone
# surrogates (they cannot be put in a URL at all).
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
QUERY_SYNTAX = st.lists(
    st.sampled_from(
        [
            '"',
            "(",
            ")",
            "-",
            "OR",
            "AND",
            "NOT",
            "*",
            "~",
            "~2",
            "title:",
            "body:",
            "place:",
            "source:",
            "date:",
            "date:[",
            " TO ",
            "]",
            "2024",
            "1987-03",
            "oil",
            "crude",
            "wheat",
            "geo:2643743",
            "\\",
            ":",
            "^2",
            "+",
            "!",
            "{",
            "}",
            "?",
            "%",
            "\x00",
            "é",
            "東京",
        ]
    ),
    max_size=25,
).map(" ".join)
NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["", " ", "1e9", "0x10", "1.5", "NaN", "-0", "\uff11", "\u0663", "9" * 5000]),
    ANY_TEXT,
)
DATES = st.one_of(
    st.dates().map(str),
    st.sampled_from(["2024", "2024-02", "2024-13", "2024-02-30", "0000", "99999", "1987-3-4"]),
    ANY_TEXT,
)
PARAMETERS = st.fixed_dictionaries(
    {},
    optional={
        "q": st.one_of(ANY_TEXT, QUERY_SYNTAX),
        "place": st.lists(ANY_TEXT, max_size=4),
        "places": st.lists(st.one_of(ANY_TEXT, st.just("country:US")), max_size=4),
        "source": st.lists(st.one_of(ANY_TEXT, st.just("reuters")), max_size=4),
        "date_from": DATES,
        "date_to": DATES,
        "sort": st.one_of(st.sampled_from(["relevance", "newest", "oldest", "NEWEST"]), ANY_TEXT),
        "page": NUMBERS,
        "per_page": NUMBERS,
        ANY_TEXT.filter(bool): ANY_TEXT,  # parameters nobody asked for
    },
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("fuzz")
    corpus = base / "corpus"
    corpus.mkdir()
    with open(corpus / "stories.jsonl", "w", encoding="utf-8") as handle:
        for number, (article_id, title, body) in enumerate(STORIES):
            record = {
                "id": article_id,
                "title": title,
                "body": body,
                "source": "Reuters",
                "date": f"1987-03-0{number + 3}",
            }
            handle.write(json.dumps(record) + "\n")
    settings_ = Settings(index_dir=base / "index", corpus=(corpus,), admin_token="fuzz-token")
    build_index(None, settings_, show_progress=False)
    app = create_app(settings_)
    yield app.test_client()
    close_app(app)


def check_json(response) -> dict:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text
    body = json.loads(text)
    if response.status_code >= 400:
        assert body["status"] == response.status_code
        assert isinstance(body["message"], str) and body["message"]
    return body


def check_html(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text


def to_query_string(parameters: dict) -> list[tuple[str, str]]:
    pairs = []
    for name, value in parameters.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, item))
    return pairs


@FUZZ
@given(parameters=PARAMETERS)
def test_search_api_never_fails_on_any_parameters(client, parameters) -> None:
    response = client.get("/api/search", query_string=to_query_string(parameters))
    body = check_json(response)
    if response.status_code == 200:
        assert body["total"] >= len(body["hits"])
    else:
        assert response.status_code in (400, 414)


@FUZZ
@given(parameters=PARAMETERS)
def test_search_page_never_fails_on_any_parameters(client, parameters) -> None:
    check_html(client.get("/", query_string=to_query_string(parameters)))


@FUZZ
@given(raw=st.binary(max_size=400))
def test_raw_query_string_bytes(client, raw: bytes) -> None:
    """Whatever bytes follow the ``?``, percent-encoded or not."""
    encoded = "".join(f"%{b:02x}" if b < 0x21 or b > 0x7E or b in b"#%" else chr(b) for b in raw)
    check_json(client.get("/api/search?" + encoded))
    check_html(client.get("/?" + encoded))


@FUZZ
@given(article_id=ANY_TEXT.filter(lambda s: s.strip("/")), limit=st.one_of(st.none(), NUMBERS))
def test_article_and_related_never_fail(client, article_id: str, limit) -> None:
    path = quote(article_id, safe="")
    check_json(client.get(f"/api/articles/{path}", follow_redirects=True))
    query = {} if limit is None else {"limit": limit}
    check_json(
        client.get(f"/api/articles/{path}/related", query_string=query, follow_redirects=True)
    )
    check_json(client.get("/api/articles/oil-1/related", query_string=query))
    check_html(client.get(f"/articles/{path}", follow_redirects=True))


@FUZZ
@given(
    authorization=st.one_of(ANY_TEXT, st.just("Bearer fuzz-token ").map(lambda s: s + "x")),
    body=st.binary(max_size=2000),
    content_type=st.sampled_from(
        [
            "",
            "application/json",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "text/plain",
        ]
    ),
)
def test_admin_endpoints_never_fail(
    client, authorization: str, body: bytes, content_type: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    # HTTP header values are Latin-1; other text cannot be sent at all.
    with contextlib.suppress(UnicodeEncodeError):
        headers["Authorization"] = authorization.encode("latin-1").decode("latin-1")
    if "\n" in headers.get("Authorization", "") or "\r" in headers.get("Authorization", ""):
        del headers["Authorization"]
    response = client.post("/api/index/rebuild", data=body, headers=headers)
    check_json(response)
    assert response.status_code in (401, 413), response.get_json()
    check_json(client.get("/api/index/status"))


@FUZZ
@given(
    path=ANY_TEXT,
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
)
def test_any_path_and_method(client, path: str, method: str) -> None:
    # "//x" would name a host to the test client itself; one leading slash is the server's.
    url = "/" + quote(path.lstrip("/"), safe="/")
    response = client.open(url, method=method, follow_redirects=True)
    assert response.status_code < 500, (method, url, response.get_data(as_text=True)[:300])
    if method != "HEAD":
        assert "Traceback" not in response.get_data(as_text=True)
