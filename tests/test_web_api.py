"""The JSON API over a real index of the fixture articles, through Flask's test client.

Every successful and failing answer is also checked against /api/openapi.json.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from test_web_support import (
    HARBOUR_IDS,
    assert_documented,
    build_fixture_index,
    running_app,
)

from searchsvc.articles.model import Article
from searchsvc.engines import delete_articles, update_articles


def search(client, query_string="", **params):
    response = client.get(
        "/api/search" + (f"?{query_string}" if query_string else ""), query_string=params or None
    )
    assert_documented(client, response, "/api/search")
    return response


def facet_key(client, facet: str, label_start: str) -> tuple[str, int]:
    """The key and count of the facet value whose label starts with ``label_start``."""
    body = search(client, q="harbour").get_json()
    for value in body["facets"][facet]["values"]:
        if value["label"].startswith(label_start):
            return value["key"], value["count"]
    raise AssertionError(f"no {facet} value starting {label_start!r}: {body['facets'][facet]}")


def test_search_answers_the_documented_shape(client):
    body = search(client, q="harbour").get_json()
    assert body["total"] == len(HARBOUR_IDS) + 2  # plus the undated story and the injection
    assert (body["page"], body["per_page"]) == (1, 10)
    assert len(body["hits"]) == 10
    assert isinstance(body["took_ms"], int | float) and body["took_ms"] >= 0
    hit = body["hits"][0]
    assert {"id", "title", "snippet", "place", "date", "source", "score"} <= set(hit)
    assert "<mark>" in hit["title"] + hit["snippet"]
    assert set(body["facets"]) == {"place", "places", "source", "language"}
    assert body["suggestion"] is None


def test_title_and_snippet_are_html_safe_fragments(client):
    body = search(client, q="notice board").get_json()
    injected = next(hit for hit in body["hits"] if hit["id"] == "xss-1")
    for fragment in (injected["title"], injected["snippet"]):
        assert "<script" not in fragment and "<img" not in fragment
        assert fragment.replace("<mark>", "").replace("</mark>", "").count("<") == 0
    assert "&lt;script&gt;" in injected["title"]


def test_one_place_filter_narrows_to_its_count(client):
    baku, count = facet_key(client, "place", "Baku")
    body = search(client, q="harbour", place=baku).get_json()
    assert body["total"] == count
    assert {hit["place"]["key"] for hit in body["hits"]} == {baku}
    selected = [v for v in body["facets"]["place"]["values"] if v["selected"]]
    assert [v["key"] for v in selected] == [baku]


def test_repeated_place_means_any_of_them(client):
    baku, baku_count = facet_key(client, "place", "Baku")
    oslo, oslo_count = facet_key(client, "place", "Oslo")
    body = search(client, f"q=harbour&place={baku}&place={oslo}&per_page=50").get_json()
    assert body["total"] == baku_count + oslo_count
    assert {hit["place"]["key"] for hit in body["hits"]} == {baku, oslo}


def test_places_mentioned_filter(client):
    mombasa, count = facet_key(client, "places", "Mombasa")
    body = search(client, q="harbour", places=mombasa).get_json()
    assert body["total"] == count == 3
    assert {hit["id"] for hit in body["hits"]} == {"harbour-07", "harbour-08", "harbour-09"}


def test_source_filter_repeats_too(client):
    both = search(client, "q=harbour&source=Harbor Times&source=caspian wire").get_json()
    one = search(client, q="harbour", source="Harbor Times").get_json()
    assert 0 < one["total"] < both["total"]
    assert {hit["source"] for hit in one["hits"]} == {"Harbor Times"}


@pytest.mark.parametrize(
    ("date_from", "date_to", "expected"),
    [
        (
            "2024-01-01",
            "2024-12-31",
            {"harbour-03", "harbour-06", "harbour-09", "harbour-12", "harbour-13"},
        ),
        ("2024", "2024", {"harbour-03", "harbour-06", "harbour-09", "harbour-12", "harbour-13"}),
        ("2023-06", "2023-07", {"harbour-02", "harbour-10"}),
        ("2024-04-18", "", {"harbour-12", "harbour-13"}),
        ("", "2022-12-31", {"xss-1"}),
    ],
)
def test_date_range(client, date_from, date_to, expected):
    body = search(client, q="harbour", date_from=date_from, date_to=date_to).get_json()
    assert {hit["id"] for hit in body["hits"]} == expected


@pytest.mark.parametrize(("sort", "newest_first"), [("newest", True), ("oldest", False)])
def test_sort_by_date(client, sort, newest_first):
    body = search(client, q="harbour", sort=sort, per_page=50).get_json()
    dates = [hit["date"] for hit in body["hits"] if hit["date"]]
    assert dates == sorted(dates, reverse=newest_first)
    assert len(dates) == len(HARBOUR_IDS) + 1


def test_pages_split_the_results(client):
    first = search(client, q="harbour", per_page=6).get_json()
    second = search(client, q="harbour", per_page=6, page=2).get_json()
    third = search(client, q="harbour", per_page=6, page=3).get_json()
    ids = [hit["id"] for page in (first, second, third) for hit in page["hits"]]
    assert len(ids) == len(set(ids)) == first["total"]
    assert (second["page"], second["per_page"]) == (2, 6)


def test_empty_optional_parameters_are_ignored(client):
    plain = search(client, q="harbour").get_json()
    padded = search(
        client, "q=harbour&place=&places=&source=&date_from=&date_to=&sort=&page=&per_page="
    ).get_json()
    assert [h["id"] for h in padded["hits"]] == [h["id"] for h in plain["hits"]]
    assert padded["total"] == plain["total"]


def test_misspelling_gets_a_suggestion(client):
    body = search(client, q="lisbn").get_json()
    assert body["suggestion"] == "lisbon"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"page": "100000"}, "page"),
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "101"}, "per_page"),
        ({"per_page": "ten"}, "per_page"),
        ({"sort": "popular"}, "sort"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_to": "2024-02-30"}, "date_to"),
        ({"date_from": "2024-05-01", "date_to": "2024-01-01"}, "date_to"),
        ({"q": "harbour " * 200}, "q"),
    ],
)
def test_bad_parameter_is_a_400_naming_it(client, params, parameter):
    response = search(client, **{"q": "harbour", **params})
    assert response.status_code == 400
    body = response.get_json()
    assert body["parameter"] == parameter
    assert parameter in body["message"] or parameter == "q"
    assert "Traceback" not in response.get_data(as_text=True)


def test_article_in_full(client):
    response = client.get("/api/articles/khojaly-1")
    assert response.status_code == 200
    assert_documented(client, response, "/api/articles/{id}")
    body = response.get_json()
    assert body["id"] == "khojaly-1"
    assert body["title"] == "Azerbaijan marks anniversary of Khojaly massacre"
    assert body["body"].startswith("Azerbaijan on Monday commemorated")
    assert body["place"]["display"] == "Baku, Azerbaijan"
    assert (body["date"], body["source"]) == ("2024-02-26", "Caspian Wire")


def test_article_text_comes_back_as_written(client):
    body = client.get("/api/articles/xss-1").get_json()
    assert body["title"] == 'Harbour <script>alert("title")</script> notice'


def test_unknown_article_is_a_404(client):
    for path, documented in [
        ("/api/articles/no-such-story", "/api/articles/{id}"),
        ("/api/articles/no-such-story/related", "/api/articles/{id}/related"),
    ]:
        response = client.get(path)
        assert response.status_code == 404
        assert_documented(client, response, documented)
        assert "no-such-story" in response.get_json()["message"]


def test_related_articles(client):
    response = client.get("/api/articles/harbour-04/related")
    assert response.status_code == 200
    assert_documented(client, response, "/api/articles/{id}/related")
    related = response.get_json()["related"]
    assert 0 < len(related) <= 5
    assert "harbour-04" not in {hit["id"] for hit in related}


def test_related_limit(client):
    response = client.get("/api/articles/harbour-04/related?limit=2")
    assert len(response.get_json()["related"]) == 2
    response = client.get("/api/articles/harbour-04/related?limit=0")
    assert response.status_code == 400
    assert response.get_json()["parameter"] == "limit"
    assert_documented(client, response, "/api/articles/{id}/related")


def test_health(client, web_settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert_documented(client, response, "/healthz")
    body = response.get_json()
    assert body["article_count"] == len(HARBOUR_IDS) + 3
    assert body["generation"]


def test_no_index_is_a_503_everywhere(tmp_path):
    from searchsvc.config import Settings
    from searchsvc.web import close_app, create_app

    app = create_app(Settings.from_env(environ={}, index_dir=tmp_path / "empty"))
    client = app.test_client()
    try:
        for path, documented in [("/healthz", "/healthz"), ("/api/search?q=x", "/api/search")]:
            response = client.get(path)
            assert response.status_code == 503
            assert_documented(client, response, documented)
            assert "build-index" in response.get_json()["message"]
        page = client.get("/")
        assert page.status_code == 503
        assert "build-index" in page.get_data(as_text=True)
    finally:
        close_app(app)


def test_oversized_url_is_a_414(client):
    response = client.get("/api/search", query_string={"q": "harbour", "place": "x" * 9000})
    assert response.status_code == 414
    assert_documented(client, response, "/api/search")


def test_oversized_body_is_a_413(client):
    response = client.post(
        "/api/index/rebuild",
        data=b"x" * 100_000,
        headers={"Authorization": "Bearer test-admin-token"},
    )
    assert response.status_code == 413
    assert response.get_json()["status"] == 413


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/search"),
        ("delete", "/api/articles/harbour-01"),
        ("get", "/api/index/rebuild"),
        ("put", "/healthz"),
    ],
)
def test_wrong_method_is_a_json_405(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert response.is_json
    assert response.get_json()["status"] == 405
    assert response.headers["Allow"]


def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"] == "Not Found"


def test_unexpected_error_is_a_500_without_a_trace(web_settings):
    from searchsvc.web import close_app, create_app

    app = create_app(web_settings)

    def broken_view():
        raise RuntimeError("secret internal detail")

    app.add_url_rule("/api/broken", "broken", broken_view)
    try:
        response = app.test_client().get("/api/broken")
    finally:
        close_app(app)
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "secret internal detail" not in text and "Traceback" not in text
    assert response.get_json()["status"] == 500


def test_json_answers_carry_the_security_headers(client):
    response = client.get("/api/search?q=harbour")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


@pytest.fixture(scope="module")
def slash_client(tmp_path_factory: pytest.TempPathFactory):
    """An index whose ids end in /related: one beside an article with the shorter id."""
    stories = [
        ("brief", "Harbour brief", "A short note about the harbour and its ferries."),
        ("brief/related", "Harbour brief, related notes", "Notes on ferries beside the brief."),
        ("memo/related", "Dock memo", "A memo about the dock and the harbour cranes."),
    ]
    records = [{"id": id_, "title": title, "body": body} for id_, title, body in stories]
    root = tmp_path_factory.mktemp("slash-ids")
    settings = build_fixture_index(root, records)
    for app in running_app(settings):
        yield app.test_client()


def test_an_id_ending_in_related_is_reachable(slash_client):
    # Nothing is called "memo": the path can only mean the article "memo/related".
    response = slash_client.get("/api/articles/memo/related")
    assert response.status_code == 200
    assert_documented(slash_client, response, "/api/articles/{id}/related")
    assert response.get_json()["id"] == "memo/related"
    # "brief" exists, so the path form means its related articles; ?id= reaches the other.
    related = slash_client.get("/api/articles/brief/related").get_json()
    assert related["id"] == "brief" and "related" in related
    response = slash_client.get("/api/articles", query_string={"id": "brief/related"})
    assert_documented(slash_client, response, "/api/articles")
    assert response.get_json()["title"] == "Harbour brief, related notes"
    # The related articles of an id ending in /related: one more /related.
    response = slash_client.get("/api/articles/brief/related/related")
    assert response.get_json()["id"] == "brief/related"


def test_an_id_too_long_to_keep_whole_is_found_and_deleted_by_the_id_as_given(
    tmp_path: Path,
) -> None:
    """A feed GUID of tracking parameters, 3,000 characters: its article is listed under a
    shortened id, and the id as given fetches and deletes it, on the page and the API."""
    given = "https://harbour.example/story?" + "&".join(f"utm_{n}=x" for n in range(340))
    assert len(given) > 3000
    records = [{"id": given, "title": "Harbour tracking", "body": "Ferries were tracked."}]
    settings = build_fixture_index(tmp_path, records)
    for app in running_app(settings):
        client = app.test_client()
        [hit] = client.get("/api/search?q=ferries").get_json()["hits"]
        assert len(hit["id"]) == 512 and hit["id"][:400] == given[:400]
        for url in (
            f"/api/articles/{quote(given, safe='')}",
            f"/articles/{quote(hit['id'], safe='')}",
        ):
            assert client.get(url).status_code == 200, url
        response = client.get("/api/articles", query_string={"id": given})
        assert response.get_json()["id"] == hit["id"]
        assert delete_articles(settings, [given]).deleted == 1


def test_a_long_id_of_an_index_built_before_ids_were_fitted_is_still_found(
    tmp_path: Path,
) -> None:
    settings = build_fixture_index(tmp_path)
    given = "urn:harbour:" + "b" * 700
    article = Article(id="placeholder", title="Old long id", body="Dredgers at work.")
    object.__setattr__(article, "id", given)  # as an earlier version indexed it: whole
    update_articles(settings, [article])
    for app in running_app(settings):
        response = app.test_client().get("/api/articles", query_string={"id": given})
        assert response.get_json()["title"] == "Old long id"


def test_article_by_parameter_needs_an_id(slash_client):
    response = slash_client.get("/api/articles")
    assert response.status_code == 400
    assert_documented(slash_client, response, "/api/articles")
    assert response.get_json()["parameter"] == "id"
