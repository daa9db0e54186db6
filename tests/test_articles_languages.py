"""Each article's language: tags normalized, declared by the source, else detected."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_index_support import index_settings, story, write_jsonl

from searchsvc.articles import IngestReport
from searchsvc.articles.feeds import entry_article, parse_feed
from searchsvc.articles.languages import (
    ENGLISH_MARKER_SHARE,
    ENGLISH_MARKERS,
    detect_language,
    detection_sample,
    language_label,
    normalize_language_tag,
    plainly_english,
)
from searchsvc.articles.model import Article, Place
from searchsvc.articles.pages import article_from_page
from searchsvc.articles.sources import read_articles
from searchsvc.cli import main
from searchsvc.config import ConfigError, Settings
from searchsvc.index import build_index, open_index

INDONESIAN = (
    "Warga desa di lereng gunung mulai kembali ke rumah mereka setelah status gunung "
    "api diturunkan oleh badan geologi. Petugas masih meminta masyarakat untuk tidak "
    "mendekati kawah dan tetap waspada terhadap hujan abu."
)
#: Malay that fastText alone takes for Indonesian.
MALAY = (
    "Harga sayur-sayuran di pasar borong naik sejak awal bulan ini kerana cuaca buruk "
    "menjejaskan bekalan dari tanah tinggi, kata peniaga. Mereka menjangka harga akan "
    "kembali stabil selepas musim tengkujuh berakhir."
)
ARABIC = (
    "أعلنت وزارة الصحة عن افتتاح مستشفى جديد في المدينة يضم مئتي سرير، وقال الوزير "
    "إن المستشفى سيخدم سكان القرى المجاورة الذين كانوا يقطعون مسافات طويلة للحصول "
    "على العلاج."
)
ENGLISH = (
    "Fishermen along the coast stayed in harbour for a third day as storms churned the "
    "sea, and the coast guard warned small boats not to leave port before the weekend. "
    "Markets in the town ran short of fresh fish."
)
SWAHILI = (
    "Wakulima wa kahawa katika mkoa huo wamesema mvua za mwaka huu zimechelewa, na "
    "wanahofia mavuno yatapungua. Serikali imeahidi kuwapatia mbegu bora na mbolea kwa "
    "bei nafuu kabla ya msimu ujao."
)
#: A Reuters-style earnings brief: a headline in capitals over a table of figures.
EARNINGS_BRIEF = (
    "ACME TOOL CORP <ACMT> 4TH QTR NET",
    "Shr 31 cts vs 28 cts\n\nNet 1,204,000 vs 1,090,000\n\nRevs 18.2 mln vs 16.9 mln",
)


@pytest.mark.parametrize(
    ("tag", "code"),
    [
        ("en", "en"),
        ("en-US", "en"),
        ("EN_gb", "en"),
        ("id_ID", "id"),
        ("in", "id"),  # withdrawn code for Indonesian
        ("ind", "id"),
        ("ara", "ar"),
        ("ar-EG", "ar"),
        ("eng", "en"),
        ("zsm", "ms"),  # Standard Malay: the macrolanguage's code
        ("pt-BR", "pt"),
        ("zh-Hant-TW", "zh"),
        ("iw", "he"),
        ("fil", "fil"),  # no two-letter code: the three-letter one
        ("id, en", "id"),  # a Content-Language list: its first
        ("fr-FR;q=0.8", "fr"),
        ("Indonesian", "id"),
        ("arabic", "ar"),
        (" Bahasa Indonesia ", "id"),
    ],
)
def test_tags_and_names_become_iso_639_codes(tag: str, code: str) -> None:
    assert normalize_language_tag(tag) == code


@pytest.mark.parametrize("tag", [None, "", "  ", "und", "xx", "not a language", "*"])
def test_what_names_no_language_is_none(tag: str | None) -> None:
    assert normalize_language_tag(tag) is None


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("id", "Indonesian"),
        ("ar", "Arabic"),
        ("en", "English"),
        ("ms", "Malay"),
        ("fil", "Filipino"),
        ("", "Unknown language"),
        (None, "Unknown language"),
        ("xx", "xx"),
        ("not a code", "not a code"),
    ],
)
def test_labels_are_english_names(code: str | None, label: str) -> None:
    assert language_label(code) == label


@pytest.mark.parametrize(
    ("title", "body", "language"),
    [
        ("Warga kembali ke rumah", INDONESIAN, "id"),
        ("Harga sayur naik", MALAY, "ms"),
        ("افتتاح مستشفى جديد", ARABIC, "ar"),
        ("Storms keep boats in harbour", ENGLISH, "en"),
        ("Mvua zachelewa", SWAHILI, "sw"),
        (*EARNINGS_BRIEF, "en"),
    ],
)
def test_detected_from_headline_and_opening(title: str, body: str, language: str) -> None:
    assert detect_language(title, body) == language


@pytest.mark.parametrize(
    ("title", "body", "english"),
    [
        ("Storms keep boats in harbour", ENGLISH, True),
        ("Warga kembali ke rumah", INDONESIAN, False),
        ("Harga sayur naik", MALAY, False),
        ("Mvua zachelewa", SWAHILI, False),
        # Dutch and German share "in", "is" and "was" with English: no marker of theirs.
        (
            "De haven is open",
            "De haven is in het weekend open, zei de directie.",
            False,
        ),
        ("Der Hafen", "Der Hafen war in der Nacht geschlossen, was die Reeder ärgerte.", False),
    ],
)
def test_plain_english_is_told_without_the_model(title: str, body: str, english: bool) -> None:
    """The shortcut answers only for English prose; the others go to the model."""
    assert plainly_english(detection_sample(title, body)) is english


def plainly_english_by_pattern(sample: str) -> bool:
    """The shortcut's rule with the ``[a-z]+`` words of the lowercased sample: the reference."""
    words = re.findall("[a-z]+", sample.lower())
    markers = sum(word in ENGLISH_MARKERS for word in words)
    return markers >= 3 and markers >= ENGLISH_MARKER_SHARE * len(words)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["The", "OF", "Said", "and", "x", "haven", "ü", "İ", "_", "9", "'"]),
        max_size=20,
    ).map(" ".join)
    | st.lists(st.sampled_from([*"aZ_9 .-'\n\x7f", "The", "OF", "ü"]), max_size=40).map("".join)
)
def test_the_english_shortcut_reads_words_as_the_pattern_does(sample: str) -> None:
    assert plainly_english(sample) is plainly_english_by_pattern(sample)


@pytest.mark.parametrize(
    ("title", "body"),
    [("", ""), ("Jakarta", "Jakarta"), ("", "12,5 % 1.200 -- 3/4"), ("OK", "Yes.")],
)
def test_too_little_text_is_not_guessed(title: str, body: str) -> None:
    assert detect_language(title, body) is None


def read_one(path: Path) -> Article:
    [article] = read_articles([path], IngestReport(), max_file_bytes=1 << 20)
    return article


@pytest.mark.parametrize(
    ("declared", "language"),
    [
        ({}, "id"),  # detected
        ({"language": "ms"}, "ms"),  # declared wins over what the text shows
        ({"lang": "ms-MY"}, "ms"),
        ({"inLanguage": "zsm"}, "ms"),
        ({"inLanguage": {"@type": "Language", "name": "Malay", "alternateName": "ms"}}, "ms"),
        ({"language": "xx-unknown"}, "id"),  # names no language: detected
        ({"language": 7}, "id"),
    ],
)
def test_json_lines_declare_or_leave_it_to_the_text(
    tmp_path: Path, declared: dict, language: str
) -> None:
    path = write_jsonl(
        tmp_path / "cms.jsonl", [story("a", "Warga kembali", INDONESIAN, **declared)]
    )
    assert read_one(path).language == language


def test_wire_front_matter_declares_language(tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    path.write_text(f"---\nlanguage: ara\n---\nStorms keep boats in harbour\n\n{ENGLISH}\n")
    assert read_one(path).language == "ar"


def page(head: str, body: str = INDONESIAN, html_attributes: str = "") -> str:
    return (
        f"<!DOCTYPE html><html{html_attributes}><head><title>Warga kembali</title>{head}</head>"
        f"<body><article><h1>Warga kembali</h1><p>{body}</p></article></body></html>"
    )


def json_ld(**fields: object) -> str:
    data = {"@context": "https://schema.org", "@type": "NewsArticle", **fields}
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


@pytest.mark.parametrize(
    ("html", "language"),
    [
        (page(""), "id"),  # declares nothing: detected
        (page("", html_attributes=' lang="ms-MY"'), "ms"),
        (page("", html_attributes=" dir=rtl lang=ar"), "ar"),
        (page('<meta property="og:locale" content="ms_MY">'), "ms"),
        (page("<meta content='ms' http-equiv='Content-Language'>"), "ms"),
        (page(json_ld(inLanguage="ms")), "ms"),
        # The article's own statement comes before the site template's.
        (page(json_ld(inLanguage="ms"), html_attributes=' lang="en"'), "ms"),
        (page('<meta property="og:locale" content="en_US">', html_attributes=' lang="ms"'), "ms"),
    ],
)
def test_pages_declare_language_in_their_head(html: str, language: str) -> None:
    article = article_from_page(html, origin="page.html")
    assert article is not None
    assert article.language == language


def rss(channel_language: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Kabar</title>'
        f"<link>https://kabar.example/</link>{channel_language}"
        "<item><title>Warga kembali</title><guid>https://kabar.example/1</guid>"
        f"<description>{INDONESIAN}</description></item></channel></rss>"
    ).encode()


def feed_languages(data: bytes) -> list[str | None]:
    report = IngestReport()
    records = parse_feed(data, "feed.xml", report)
    return [entry_article(r, origin="feed.xml", report=report).language for r in records]


def test_rss_channel_language_or_detection() -> None:
    assert feed_languages(rss("<language>ms-my</language>")) == ["ms"]
    assert feed_languages(rss("")) == ["id"]


def test_atom_entry_language_overrides_the_feed() -> None:
    atom = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:lang="ms">'
        "<title>Berita</title><id>urn:feed</id>"
        f'<entry xml:lang="ar"><title>Warga</title><id>urn:1</id><content>{INDONESIAN}</content>'
        f"</entry><entry><title>Warga</title><id>urn:2</id><summary>{INDONESIAN}</summary>"
        "</entry></feed>"
    ).encode()
    assert feed_languages(atom) == ["ar", "ms"]


def test_default_language_replaces_detection_not_declarations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEARCHSVC_DEFAULT_LANGUAGE", "English")
    path = write_jsonl(
        tmp_path / "cms.jsonl",
        [story("a", "Warga kembali", INDONESIAN), story("b", "Jalan", MALAY, language="ms")],
    )
    articles = list(read_articles([path], IngestReport(), max_file_bytes=1 << 20))
    assert [a.language for a in articles] == ["en", "ms"]


def test_default_language_setting_must_name_a_language() -> None:
    assert Settings.from_env({"SEARCHSVC_DEFAULT_LANGUAGE": "id-ID"}).default_language == "id"
    with pytest.raises(ConfigError, match="SEARCHSVC_DEFAULT_LANGUAGE"):
        Settings.from_env({"SEARCHSVC_DEFAULT_LANGUAGE": "Elvish-ish"})


def test_language_round_trips_through_to_dict() -> None:
    place = Place("id-jakarta", "Jakarta", "ID", "Indonesia", "Jakarta, Indonesia")
    article = Article("a", "Warga", INDONESIAN, dateline_place=place, places=(place,))
    article = Article.from_dict({**article.to_dict(), "language": "id"})
    assert article.language == "id"
    assert Article.from_dict(article.to_dict()) == article
    older = {k: v for k, v in article.to_dict().items() if k != "language"}
    assert Article.from_dict(older).language is None


MIXED = [
    story("kabar", "Warga kembali ke rumah", INDONESIAN),
    story("khabar", "Hospital baru", ARABIC, language="ar-SA"),
    story("harbour", "Storms keep boats in harbour", ENGLISH),
    story("short", "Jakarta", "12 June"),
]


def test_ingest_json_shows_each_language(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write_jsonl(tmp_path / "mixed.jsonl", MIXED)
    assert main(["ingest", "--json", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    shown = {record["id"]: record["language"] for record in map(json.loads, lines)}
    assert shown == {"kabar": "id", "khabar": "ar", "harbour": "en", "short": None}


@pytest.mark.parametrize("procs", [1, 2])
def test_build_stores_each_articles_language(tmp_path: Path, procs: int) -> None:
    corpus = tmp_path / "corpus"
    write_jsonl(corpus / "one.jsonl", MIXED[:2])
    write_jsonl(corpus / "two.jsonl", MIXED[2:])
    settings = index_settings(tmp_path, build_procs=procs)
    result = build_index([corpus], settings)
    assert result.report.languages == {"id": 1, "ar": 1, "en": 1, "": 1}
    assert "languages: " in result.format_text()
    with open_index(settings.index_dir) as opened, opened.searcher() as searcher:
        stored = {f["id"]: f["article"]["language"] for f in searcher.all_stored_fields()}
    assert stored == {"kabar": "id", "khabar": "ar", "harbour": "en", "short": None}
