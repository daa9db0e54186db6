"""Saved web pages: the article without the site's furniture, its metadata, and bad pages."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from searchsvc.articles import IngestReport
from searchsvc.articles.pages import MAX_PAGE_BYTES, article_from_page, page_id
from searchsvc.articles.sources import read_articles, source_format
from searchsvc.cli import main

PAGES = Path(__file__).parent / "fixtures" / "pages"
EXPECTED = json.loads((PAGES / "expected.json").read_text(encoding="utf-8"))
FIELDS = ("title", "date", "author", "url", "source", "dateline")
MAX_BYTES = 1_000_000


def read_page_file(path: Path) -> tuple[list, IngestReport]:
    report = IngestReport()
    return list(read_articles([path], report, max_file_bytes=MAX_BYTES)), report


def cases(fields: tuple[str, ...]) -> list:
    """Every (page, field); the misses ``expected.json`` admits must still miss (strict)."""
    params = []
    for name, expected in sorted(EXPECTED.items()):
        misses = expected.get("known_misses", {"fields": [], "reason": ""})
        for field in fields:
            known = field in misses["fields"]
            marks = [pytest.mark.xfail(strict=True, reason=misses["reason"])] if known else []
            params.append(pytest.param(name, field, marks=marks, id=f"{name}-{field}"))
    return params


@pytest.fixture(scope="module")
def articles() -> dict:
    return {name: read_page_file(PAGES / name)[0][0] for name in EXPECTED}


@pytest.mark.parametrize(("name", "field"), cases(FIELDS))
def test_page_field(articles, name, field):
    article = articles[name]
    value = getattr(article, field)
    shown = value.isoformat() if field == "date" and value else value
    assert shown == EXPECTED[name][field]
    if field == "date":
        assert article.date_source == ("metadata" if value else "none")


@pytest.mark.parametrize(("name", "field"), cases(("body",)))
def test_page_body_is_the_story_alone(articles, name, field):
    body, expected = articles[name].body, EXPECTED[name]
    assert body.startswith(expected["body_starts"])
    assert body.endswith(expected["body_ends"])
    for passage in expected["body_has"]:
        assert passage in body
    assert [junk for junk in expected["not_in_body"] if junk in body] == []
    assert articles[name].format == "html"


def test_news_site_page_reads_like_its_wire_story(articles):
    article = articles["news_site.html"]
    assert article.dateline_place.name == "Tbilisi"
    assert article.dateline_place.country == "GE"
    assert {place.country for place in article.places} >= {"PL", "LV", "KZ"}
    paragraphs = article.body.split("\n\n")
    assert len(paragraphs) == 6  # nine in the page, less two "Also Read" lines and the footer
    assert article.id == page_id(article.url, article.origin)
    assert article.id.startswith("georgian-vintners-record-harvest-")


def test_page_without_metadata_takes_its_source_from_the_dateline():
    html = (
        "<html><body><div><p>LONDON (Reuters) - The city's buses will run all night on "
        "weekends from June, the transport authority said on Friday, after a trial on two "
        "routes drew more riders than expected.</p><p>Night fares will match day fares, and "
        "the first routes will serve the hospitals and the airport.</p></div></body></html>"
    )
    article = article_from_page(html, origin="night-buses")
    assert article.source == "Reuters"
    assert article.dateline_place.country == "GB"
    assert article.url is None and article.id == "night-buses"


def test_fetched_page_takes_its_url_unless_it_names_its_own():
    no_date = (PAGES / "no_date.html").read_bytes()
    fetched = "https://villagepages.example/news/library-reopens.html"
    article = article_from_page(no_date, url=fetched, origin=fetched)
    assert article.url == fetched
    assert article.id.startswith("library-reopens-")
    json_ld = (PAGES / "jsonld_only.html").read_bytes()
    article = article_from_page(json_ld, url="https://mirror.example/p?id=7", origin="feed#1")
    assert article.url == EXPECTED["jsonld_only.html"]["url"]


def test_page_bytes_are_decoded_by_their_declared_charset():
    html = (
        '<html><head><meta charset="iso-8859-1"><title>Caf\xe9 owners in S\xe3o Paulo '
        "extend opening hours</title></head><body><article><p>Caf\xe9 owners in the centre "
        "of S\xe3o Paulo will keep their doors open until midnight through the summer, the "
        "traders' association said, as evening crowds grow along the avenues.</p><p>The "
        "association said most members had hired extra staff for the late shifts.</p>"
        "</article></body></html>"
    ).encode("latin-1")
    article = article_from_page(html, origin="cafes.html")
    assert article.title == "Caf\xe9 owners in S\xe3o Paulo extend opening hours"
    assert "S\xe3o Paulo" in article.body


def test_crawl_folder_pages_are_named_after_their_folders(tmp_path):
    (tmp_path / "harvest").mkdir()
    (tmp_path / "library").mkdir()
    shutil.copy(PAGES / "no_date.html", tmp_path / "library" / "index.htm")
    shutil.copy(PAGES / "blog.html", tmp_path / "harvest" / "INDEX.HTML")
    articles, report = read_page_file(tmp_path)
    assert sorted(a.id for a in articles) == ["library", articles[0].id]
    assert articles[0].id.startswith("night-ferry-running-late-")  # it names its URL
    assert dict(report.read_by_format) == {"html": 2}
    assert source_format(Path("a.HTM")) == "html"


def test_pages_without_a_url_are_known_by_their_path_in_the_collection(tmp_path):
    """As wire stories are: saved pages kept in dated folders, and crawls of two sites,
    often share their file and folder names."""
    for folder in ("2024-03-01", "2024-03-02", "site-a/News", "site-b/News"):
        (tmp_path / folder).mkdir(parents=True)
        name = "index.html" if folder.startswith("site") else "library.html"
        shutil.copy(PAGES / "no_date.html", tmp_path / folder / name)
    articles, _ = read_page_file(tmp_path)
    assert [a.id for a in articles] == [
        "2024-03-01/library",
        "2024-03-02/library",
        "site-a/news",
        "site-b/news",
    ]
    # Given alone, a page is named by its file, or its folder, as before.
    assert read_page_file(tmp_path / "2024-03-01" / "library.html")[0][0].id == "library"
    assert read_page_file(tmp_path / "site-a" / "News" / "index.html")[0][0].id == "news"


def test_bad_pages_are_skipped_with_a_reason(tmp_path):
    (tmp_path / "menu.html").write_text(
        "<html><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        "<footer>&copy; 2024 Example</footer></body></html>"
    )
    (tmp_path / "photo.html").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "empty.htm").write_bytes(b"")
    (tmp_path / "huge.html").write_text("<p>" + "word " * 300_000 + "</p>")
    shutil.copy(PAGES / "amp.html", tmp_path / "amp.html")
    articles, report = read_page_file(tmp_path)
    assert [a.title for a in articles] == [EXPECTED["amp.html"]["title"]]
    assert report.files == 5
    assert dict(report.skipped) == {
        "binary file": 1,
        "empty file": 1,
        "file too large": 1,
        "no article text": 1,
    }
    assert report.examples["no article text"] == [str(tmp_path / "menu.html")]


def test_pages_beyond_what_the_extractor_takes_are_too_large(tmp_path):
    page = tmp_path / "archive.html"
    page.write_bytes(b"<html><body><p>" + b"a" * MAX_PAGE_BYTES + b"</p></body></html>")
    report = IngestReport()
    assert list(read_articles([page], report, max_file_bytes=50 * MAX_PAGE_BYTES)) == []
    assert dict(report.skipped) == {"file too large": 1}


def test_ingest_counts_pages(tmp_path, capsys):
    shutil.copytree(PAGES, tmp_path / "pages", ignore=shutil.ignore_patterns("*.json"))
    (tmp_path / "pages" / "story.txt").write_text("Title\n\nLONDON (Reuters) - Body.\n")
    assert main(["ingest", str(tmp_path / "pages")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "files read: 8\narticles read: 8\n  html: 7\n  wire: 1\n"
        "languages: en 7, unknown 1\n"  # "Body." tells no language
        "skipped: 0\n"
    )


def test_built_index_finds_a_page_by_its_words(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SEARCHSVC_CORPUS", raising=False)
    monkeypatch.setenv("SEARCHSVC_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("SEARCHSVC_BUILD_PROCS", "1")
    assert main(["build-index", str(PAGES)]) == 0
    assert "  html: 7" in capsys.readouterr().out.splitlines()
    assert main(["search", "--json", "sardines quota"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [hit["id"][:28] for hit in result["hits"]] == ["sardines-return-northern-bay"]


def test_the_article_page_and_api_name_the_author(tmp_path):
    from searchsvc.config import Settings
    from searchsvc.index import build_index
    from searchsvc.web import close_app, create_app

    settings = Settings(index_dir=tmp_path / "index", corpus=(PAGES,), build_procs=1)
    build_index(None, settings, show_progress=False)
    app = create_app(settings)
    client = app.test_client()
    author = EXPECTED["inline_boxes.html"]["author"]
    found = client.get("/api/search?q=sardines+quota").get_json()["hits"][0]
    assert client.get(f"/api/articles/{found['id']}").get_json()["author"] == author
    assert f"By {author}" in client.get(f"/articles/{found['id']}").get_data(as_text=True)
    close_app(app)


def test_measuring_script_misses_what_the_tests_admit():
    spec = importlib.util.spec_from_file_location(
        "measure_pages", Path(__file__).parents[1] / "benchmarks" / "measure_pages.py"
    )
    measure_pages = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(measure_pages)
    scores, misses, _ = measure_pages.measure(
        measure_pages.trafilatura_fields, PAGES, EXPECTED, repeat=1
    )
    admitted = {
        f"{name} {field}"
        for name, expected in EXPECTED.items()
        for field in expected.get("known_misses", {}).get("fields", [])
    }
    assert {miss.split(":")[0] for miss in misses} == admitted
    assert scores["date"] == 1.0
