"""Decoding, Unicode clean-up and boilerplate removal shared by all readers."""

from __future__ import annotations

import pytest

from searchsvc.articles.text import (
    decode_text,
    is_cross_promotion,
    looks_binary,
    normalize_unicode,
    split_paragraphs,
    strip_boilerplate,
    strip_editor_code,
)


def test_utf8_decodes_without_repair():
    assert decode_text("Düsseldorf \u2013 Baku".encode()) == ("Düsseldorf \u2013 Baku", False)


def test_stray_cp1252_bytes_are_repaired_and_utf8_kept():
    data = "Düsseldorf ".encode() + b"\x93quoted\x94 caf\xe9"
    text, repaired = decode_text(data)
    assert repaired
    assert text == "Düsseldorf \u201cquoted\u201d café"


def test_bytes_undefined_in_cp1252_fall_back_to_latin1():
    text, repaired = decode_text(b"a\x81b")
    assert repaired
    assert text == "a\x81b"


def test_utf8_bom_and_utf16_are_read():
    assert decode_text(b"\xef\xbb\xbfTitle") == ("Title", False)
    assert decode_text("Baku".encode("utf-16")) == ("Baku", False)


@pytest.mark.parametrize(
    ("data", "binary"),
    [
        (b"plain text\n", False),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", True),
        (bytes(range(1, 32)) * 10, True),
        (bytes(range(1, 256)) * 10, True),
        ("Grüße aus Zürich\tand\x1b[1mbold\x1b[0m\f\r\n".encode() * 20, False),
        ("Baku".encode("utf-16"), False),
        (b"", False),
    ],
)
def test_binary_detection(data, binary):
    assert looks_binary(data) is binary


def test_normalize_unicode_maps_spaces_quotes_and_dashes():
    raw = "Also Read:\u00a0\u201cHidden\u201d \u2013 Azerbaijan\u2019s \u2014 e\u0301\u2026\u200b"
    assert normalize_unicode(raw) == 'Also Read: "Hidden" - Azerbaijan\'s - é...'


def test_split_paragraphs_joins_wrapped_lines():
    text = "First line\nwraps here.\n\n\n  Second   paragraph.\r\n"
    assert split_paragraphs(normalize_unicode(text)) == [
        "First line wraps here.",
        "Second paragraph.",
    ]


@pytest.mark.parametrize(
    "paragraph",
    [
        'Also Read: "Hidden is More Immense" Investigative Program',
        "ALSO READ: Indonesian Government to Develop Islamic Finance Industry",
        "Read also: Muslims Can Purchase Animal Sacrifice",
        "Read more: Oil prices rise",
        "See also | Markets",
        "Related Articles: Five things to know",
        "Click here to subscribe to our newsletter.",
    ],
)
def test_cross_promotion_lines(paragraph):
    assert is_cross_promotion(paragraph)


@pytest.mark.parametrize(
    "paragraph",
    [
        "Also, the ministry said more would follow.",
        "Related talks will continue next week.",
        "Readers can find more on the website.",
    ],
)
def test_story_paragraphs_are_not_cross_promotion(paragraph):
    assert not is_cross_promotion(paragraph)


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        ("it added. (T/RE1/P2)", "it added."),
        ("it added. (A/R7/RS2) ", "it added."),
        ("talks with the US/EU (US/EU)", "talks with the US/EU (US/EU)"),
        ("the 9/11 attacks (9/11)", "the 9/11 attacks (9/11)"),
        ("speed (km/h)", "speed (km/h)"),
    ],
)
def test_editor_codes(paragraph, expected):
    assert strip_editor_code(paragraph) == expected


def test_strip_boilerplate_removes_promotion_codes_and_footers():
    paragraphs = [
        "The story begins.",
        "Also Read: Another story",
        "It goes on. (T/RE1/P2)",
        "Mi'raj News Agency (MINA)",
    ]
    kept, agency = strip_boilerplate(paragraphs)
    assert kept == ["The story begins.", "It goes on."]
    assert agency == "MINA"


@pytest.mark.parametrize(
    "footer",
    [
        "Reuters",
        "-- Reuter",
        "(Reporting by Jane Doe; Editing by John Roe)",
        "Copyright 2024 Example Media. All rights reserved.",
        "\u00a9 2024 Example Media",
        "Source: Anadolu Agency",
        "Editor: Sri Astuti",
        "Antara News Agency (ANTARA)",
    ],
)
def test_footer_kinds(footer):
    kept, _ = strip_boilerplate(["The story.", footer])
    assert kept == ["The story."]


def test_footer_acronym_matching_the_dateline_agency():
    kept, _ = strip_boilerplate(["The story.", "Kantor Berita (KB)"], agency="KB")
    assert kept == ["The story."]


def test_a_closing_quote_is_not_a_footer():
    paragraphs = ["The story.", '"We will rebuild," the mayor said (AP).']
    kept, _ = strip_boilerplate(paragraphs)
    assert kept == paragraphs
