"""Dateline shapes: what the wire reader finds at the start of a story, and Reuters tags."""

from __future__ import annotations

import datetime as dt

import pytest

from searchsvc.articles.datelines import (
    has_marker,
    looks_like_place,
    parse_tag_dateline,
    split_opening_dateline,
)
from searchsvc.articles.dates import BadDate, parse_iso_date
from searchsvc.articles.text import normalize_unicode


@pytest.mark.parametrize(
    ("paragraph", "place", "agency", "month_day_year", "rest"),
    [
        (
            "Baku, MINA \u2013 Azerbaijan on Monday commemorated",
            "Baku",
            "MINA",
            (None, None, None),
            "Azerbaijan on Monday commemorated",
        ),
        (
            "JAKARTA (ANTARA) - The government said",
            "JAKARTA",
            "ANTARA",
            (None, None, None),
            "The government said",
        ),
        (
            "WASHINGTON, Feb 26 (Reuters) - The Fed",
            "WASHINGTON",
            "Reuters",
            (2, 26, None),
            "The Fed",
        ),
        (
            "DHAKA, Bangladesh \u2014 Floods rose",
            "DHAKA, Bangladesh",
            None,
            (None, None, None),
            "Floods rose",
        ),
        (
            "SALVADOR, Feb 26 - Showers continued",
            "SALVADOR",
            None,
            (2, 26, None),
            "Showers continued",
        ),
        (
            "BAKU, Azerbaijan, Feb. 26, 2024 (AP) \u2014 Crowds",
            "BAKU, Azerbaijan",
            "AP",
            (2, 26, 2024),
            "Crowds",
        ),
        ("ARMONK, N.Y., March 2 - IBM said", "ARMONK, N.Y.", None, (3, 2, None), "IBM said"),
        ("AMSTERDAM, 2 March - Shell said", "AMSTERDAM", None, (3, 2, None), "Shell said"),
        (
            "Rio de Janeiro, AFP - Rain fell",
            "Rio de Janeiro",
            "AFP",
            (None, None, None),
            "Rain fell",
        ),
        ("SAO PAULO (Reuters)-Brazil's", "SAO PAULO", "Reuters", (None, None, None), "Brazil's"),
    ],
)
def test_opening_dateline_shapes(paragraph, place, agency, month_day_year, rest):
    found = split_opening_dateline(normalize_unicode(paragraph))
    assert found is not None
    dateline, remainder = found
    assert (dateline.place, dateline.agency) == (place, agency)
    assert (dateline.month, dateline.day, dateline.year) == month_day_year
    assert remainder == rest
    assert has_marker(dateline)


@pytest.mark.parametrize(
    "paragraph",
    [
        "The company said on Monday - and repeated on Tuesday - that it would",
        "UPDATE 1 - Oil prices rise",
        "EXCLUSIVE - Bank plans merger",
        "In 2023 - a record year - sales rose",
        "Azerbaijan on Monday commemorated the anniversary of the massacre",
        "A very long opening sentence that runs on well past the length any dateline has - x",
    ],
)
def test_not_datelines(paragraph):
    assert split_opening_dateline(paragraph) is None


def test_mixed_case_place_without_marker_is_found_but_unmarked():
    dateline, rest = split_opening_dateline("Baku - Azerbaijan on Monday")
    assert dateline.place == "Baku"
    assert not has_marker(dateline)
    assert rest == "Azerbaijan on Monday"


def test_dateline_date_uses_a_given_year_only_when_it_has_none():
    dateline, _ = split_opening_dateline("SALVADOR, Feb 26 - Showers")
    assert dateline.date() is None
    assert dateline.date(1987) == dt.date(1987, 2, 26)
    dateline, _ = split_opening_dateline("BAKU, Feb 26, 2024 (AP) - Crowds")
    assert dateline.date(1999) == dt.date(2024, 2, 26)


def test_dateline_with_impossible_day_raises_bad_date():
    dateline, _ = split_opening_dateline("BAKU, Feb 30, 2024 (AP) - Crowds")
    with pytest.raises(BadDate):
        dateline.date()


@pytest.mark.parametrize(
    ("tag", "place"),
    [
        ("    SALVADOR, Feb 26 - ", "SALVADOR"),
        ("    TAUPO, New Zealand, March 23, Reuter - ", "TAUPO, New Zealand"),
        ("c    LONDON, April 9 - ", "LONDON"),
        ("    NEW YORK, Narch 2 - ", "NEW YORK"),
        ("    BOSTON, March 187 - ", "BOSTON"),
        ("    LOUISVILLE, Colo. - March 16 - ", "LOUISVILLE, Colo."),
        ("    Mexico city, april 1 - ", "Mexico city"),
        ("    omaha, april 7 - ", "omaha"),
        ("    GRONINGEN, the Netherlands, March 31 - ", "GRONINGEN, the Netherlands"),
        ("****SANTO DOMINGO, March 4 - ", "SANTO DOMINGO"),
        ("    SAN JOSE, Calif., June 2- ", "SAN JOSE, Calif."),
        ("    OKLAHOMA CITY, Okla. March 11, Reuter - ", "OKLAHOMA CITY, Okla."),
        ("    Hauppauge, N.Y,. March 13 - ", "Hauppauge, N.Y"),
        ("    DALLAS/FORT WORTH, Texas, March 3 - ", "DALLAS/FORT WORTH, Texas"),
        ("    TAFT, Calif., Apri l7 - ", "TAFT, Calif."),
        ("    CAPE MAY, N.J., March 3 - ", "CAPE MAY, N.J."),
    ],
)
def test_reuters_tag_datelines(tag, place):
    assert parse_tag_dateline(tag).place == place


@pytest.mark.parametrize(
    "tag",
    [" MAR8  --     --", " APRIL 7  - ", " us        7.8015 - ", "    LEAD - ", " Jun   ---  "],
)
def test_reuters_tag_junk_names_no_place(tag):
    dateline = parse_tag_dateline(tag)
    assert dateline is None or dateline.place is None


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("NEW YORK", True),
        ("Winston-Salem, N.C.", True),
        ("Coeur d'Alene, Idaho", True),
        ("São Paulo", True),
        ("Fob Gulf edible oils", False),
        ("Route 66", False),
        ("March", False),
        ("Monday", False),
        ("", False),
    ],
)
def test_looks_like_place(text, ok):
    assert looks_like_place(text) is ok


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-02-26", (dt.date(2024, 2, 26), 2024)),
        ("2024-02-26T09:30:00Z", (dt.date(2024, 2, 26), 2024)),
        ("2024-02-26T23:30:00+05:00", (dt.date(2024, 2, 26), 2024)),
        ("2024", (None, 2024)),
        (2024, (None, 2024)),
        ("2024-02", (None, 2024)),
    ],
)
def test_iso_dates(value, expected):
    assert parse_iso_date(value) == expected


@pytest.mark.parametrize("value", ["26/02/2024", "2024-02-30", "yesterday", 3.5, True, [2024]])
def test_bad_iso_dates(value):
    with pytest.raises(BadDate):
        parse_iso_date(value)
