"""Datelines: the ``PLACE, Month Day (AGENCY) -`` that opens a wire story.

Wire readers find the dateline at the start of the body; the Reuters reader gets it from
its own tag. Both parse it here, so the same words give the same place whichever format
a story came in. The place is returned as written; :mod:`searchsvc.places` normalizes it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from searchsvc.articles.dates import MONTH_PATTERN, make_date, month_number, parse_day

MAX_DATELINE_CHARS = 90
MAX_PLACE_CHARS = 60
MAX_PLACE_SEGMENTS = 3
MAX_WORDS_PER_SEGMENT = 5

# Agencies named after a comma ("Baku, MINA -"); in parentheses anything counts as one.
KNOWN_AGENCIES = frozenset(
    name.lower()
    for name in (
        "AA", "AFP", "ANI", "ANSA", "ANTARA", "AP", "APA", "APP", "Anadolu", "Anadolu Agency",
        "Associated Press", "BSS", "Bernama", "Bloomberg", "CNA", "DPA", "EFE", "IANS", "IRNA",
        "ITAR-TASS", "Interfax", "Jiji", "KUNA", "Kyodo", "MENA", "MINA", "PNA", "PTI", "QNA",
        "RIA", "RIA Novosti", "Reuter", "Reuters", "SPA", "Sputnik", "TASS", "UNB", "UPI",
        "VNA", "WAFA", "WAM", "Xinhua", "Yonhap",
    )
)  # fmt: skip
# Words a desk puts where a dateline would be; never places.
_SLUGS = frozenset({
    "analysis", "breaking", "bulletin", "column", "commentary", "corrected", "correction",
    "editorial", "exclusive", "explainer", "factbox", "feature", "flash", "insight",
    "interview", "lead", "opinion", "poll", "preview", "refile", "review", "update", "urgent",
    "wrapup",
})  # fmt: skip
_NOT_PLACES = _SLUGS | {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "today",
    "yesterday",
}  # fmt: skip
# Lowercase words inside place names: "Rio de Janeiro", "Stratford upon Avon".
_CONNECTORS = frozenset({
    "al", "am", "an", "and", "au", "aux", "d'", "da", "das", "de", "del", "della", "der",
    "des", "di", "do", "dos", "du", "e", "el", "en", "im", "la", "le", "les", "of", "on",
    "sur", "the", "upon", "van", "von", "y",
})  # fmt: skip

# Where a wire dateline ends: a dash with space before it, or right after "(AGENCY)".
_WIRE_SEPARATOR = re.compile(r"\s+-{1,3}\s*(?=\S)|(?<=\))\s*-{1,3}\s*(?=\S)")
# Where a Reuters <DATELINE> ends: its tags carry typos like "June 2- " and "March 9 --".
# The lookbehinds start a match only at the beginning of a run of spaces or dashes:
# without them a long run costs quadratic time (each start rescans the whole run).
_TAG_SEPARATOR = re.compile(r"(?<!\s)\s+-+|(?<!-)-+\s+|(?<!-)-+$")
_PAREN_AGENCY = re.compile(r"(?<!\s)\s*\(\s*([^()]{1,40}?)\s*\)\s*,?$")
_COMMA_SEGMENT = re.compile(r",\s*([^,]+?)\s*,?$")
_DAY = r"(?:\d{1,2}|(?<=\s)[0-9lIO]{1,2})"
_DATE_TAIL = re.compile(
    rf"(?:^|,|(?<!\s)\s)\s*(?:(?P<m1>{MONTH_PATTERN})\.?,?\s*(?P<d1>{_DAY})"
    rf"|(?P<d2>{_DAY})\s+(?P<m2>{MONTH_PATTERN})\.?)\b(?:,?\s*(?P<y>\d{{4}}))?\s*,?$",
    re.IGNORECASE,
)
_BARE_MONTH_TAIL = re.compile(
    rf"(?:^|,)\s*(?P<m>{MONTH_PATTERN})\.?(?:,?\s*(?P<y>\d{{4}}))?\s*,?$", re.IGNORECASE
)
_ACRONYM = re.compile(r"^[A-Z][A-Z-]{1,7}$")
_WORD = re.compile(r"^[^\W\d_][\w'./-]*$")
_LEADING_JUNK = re.compile(r"^(?:[a-z0-9]\s{2,}|[*-]+\s*)(?=[A-Za-z])")
# A date segment in a dateline's own field, however misspelt: "Marchg 12", "ABR 7".
_TAG_DATE_SEGMENT = re.compile(r",\s*[A-Za-z]{2,9}\.?\s*\d{1,3}\s*,?$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Dateline:
    """A parsed dateline. ``place`` is as written (``"DHAKA, Bangladesh"``) or None."""

    text: str
    place: str | None = None
    agency: str | None = None
    month: int | None = None
    day: int | None = None
    year: int | None = None

    def date(self, year: int | None = None) -> dt.date | None:
        """The dateline's day, with ``year`` standing in when the dateline has none.

        Raises :class:`~searchsvc.articles.dates.BadDate` for a day that does not exist.
        """
        year = self.year or year
        if year is None or self.month is None or self.day is None:
            return None
        return make_date(year, self.month, self.day)


def parse_dateline(text: str) -> Dateline:
    """Split ``PLACE[, Region][, Month Day[, Year]][, AGENCY | (AGENCY)]`` into its parts."""
    text = _SPACES.sub(" ", text).strip(" ,")
    rest = text
    agency = month = day = year = None
    for _ in range(3):
        before = rest
        if agency is None:
            rest, agency = _cut_agency(rest)
        if month is None:
            rest, month, day, year = _cut_date(rest)
        if rest == before:
            break
    place = ", ".join(s.strip() for s in rest.split(",") if any(map(str.isalpha, s)))
    if not looks_like_place(place):
        place = None
    return Dateline(text=text, place=place, agency=agency, month=month, day=day, year=year)


@functools.lru_cache(maxsize=16_384)
def parse_tag_dateline(tag_text: str) -> Dateline | None:
    """A dateline from its own field (Reuters ``<DATELINE>``): everything before the dash.

    Remembered: a wire files many stories a day from one place, so half of the tags of
    a collection repeat one seen before.
    """
    text = _LEADING_JUNK.sub("", tag_text.strip())
    text = _TAG_SEPARATOR.split(text, maxsplit=1)[0].strip(" ,")
    if not text:
        return None
    dateline = parse_dateline(text)
    if dateline.place is None and dateline.month is None:
        misspelt = _TAG_DATE_SEGMENT.search(text)
        if misspelt:
            place = parse_dateline(text[: misspelt.start()]).place
            return Dateline(text=dateline.text, place=place, agency=dateline.agency)
    return dateline


def split_opening_dateline(paragraph: str) -> tuple[Dateline, str] | None:
    """Find the dateline that opens a story's first paragraph; return it and the rest.

    Returns None when the paragraph does not open with one. Callers should accept a
    dateline without a :func:`has_marker` shape ("Officials - ...") only if the gazetteer
    knows its place, so ordinary sentences are not mistaken for datelines.
    """
    match = _WIRE_SEPARATOR.search(paragraph, 0, MAX_DATELINE_CHARS + 4)
    if match is None or match.start() > MAX_DATELINE_CHARS:
        return None
    dateline = parse_dateline(paragraph[: match.start()])
    if dateline.place is None:
        return None
    return dateline, paragraph[match.end() :]


def has_marker(dateline: Dateline) -> bool:
    """True when the dateline's shape alone shows it is one: an agency, a date or capitals."""
    if dateline.agency or dateline.month:
        return True
    first = (dateline.place or "").split(",")[0]
    return first.isupper() and sum(c.isalpha() for c in first) >= 2


def looks_like_place(text: str) -> bool:
    """A few comma segments of capitalized words, no digits.

    Tolerates what wire desks type: an all-lowercase line ("omaha"), one word left in
    lowercase ("Mexico city"), a leading article in a qualifier ("the Netherlands").
    """
    if not text or len(text) > MAX_PLACE_CHARS or any(map(str.isdigit, text)):
        return False
    if text.lower() in _NOT_PLACES or (month_number(text) and _BARE_MONTH_TAIL.match(text)):
        return False
    segments = [s.strip() for s in text.split(",")]
    if len(segments) > MAX_PLACE_SEGMENTS:
        return False
    all_lower = text.islower()
    for number, segment in enumerate(segments):
        words = segment.split()
        if not words or len(words) > MAX_WORDS_PER_SEGMENT:
            return False
        if not all(_WORD.match(word) for word in words):
            return False
        if all_lower:
            continue
        lowercase = [
            position
            for position, word in enumerate(words)
            if not word[0].isupper() and not (word.lower() in _CONNECTORS and (position or number))
        ]
        if lowercase and (lowercase != [len(words) - 1] or len(words) == 1 or len(words) > 3):
            return False
    return True


def _cut_agency(text: str) -> tuple[str, str | None]:
    match = _PAREN_AGENCY.search(text)
    if match:
        return text[: match.start()], match.group(1)
    match = _COMMA_SEGMENT.search(text)
    if match and _is_agency(match.group(1), text[: match.start()]):
        return text[: match.start()], match.group(1)
    return text, None


def _is_agency(candidate: str, place: str) -> bool:
    if candidate.lower() in KNOWN_AGENCIES:
        return True
    return bool(_ACRONYM.match(candidate)) and not place.split(",")[0].isupper()


def _cut_date(text: str) -> tuple[str, int | None, int | None, int | None]:
    match = _DATE_TAIL.search(text)
    if match:
        month = month_number(match.group("m1") or match.group("m2"))
        day = parse_day(match.group("d1") or match.group("d2"))
        year = int(match.group("y")) if match.group("y") else None
        return text[: match.start()], month, day, year
    match = _BARE_MONTH_TAIL.search(text)
    if match and match.start() > 0:
        year = int(match.group("y")) if match.group("y") else None
        return text[: match.start()], month_number(match.group("m")), None, year
    return text, None, None, None
