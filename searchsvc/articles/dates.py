"""Dates as sources write them: ISO 8601 in metadata, ``Feb 26`` in datelines.

A story's date is only as good as its weakest part: a month and day without a year is
not a date, so callers get the year separately and decide whether it can be known.
"""

from __future__ import annotations

import datetime as dt
import re

MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
# Full names, three-letter abbreviations, "Sept", and the "Apri" a wire once typed.
MONTH_PATTERN = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il?)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)

_YEAR_ONLY = re.compile(r"^\d{4}$")
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# Digits that typists confuse with letters: "March 2O", "April l".
_DIGIT_LOOKALIKES = str.maketrans("lIO", "110")


class BadDate(ValueError):
    """A date string that names no real day; the article is kept without a date."""


def month_number(name: str) -> int | None:
    return MONTHS.get(name[:3].lower())


def parse_day(text: str) -> int | None:
    digits = text.translate(_DIGIT_LOOKALIKES)
    return int(digits) if digits.isdecimal() else None


def parse_iso_date(value: object) -> tuple[dt.date | None, int | None]:
    """A metadata date: ``2024-02-26``, a full ISO timestamp, or a bare year.

    Returns ``(date, year)``; a bare year (``"2024"`` or ``2024``) gives ``(None, 2024)``
    so a dateline's month and day can complete it. Raises :class:`BadDate` otherwise.
    """
    if isinstance(value, bool) or value is None:
        raise BadDate(f"not a date: {value!r}")
    if isinstance(value, int):
        return _year_only(value)
    if not isinstance(value, str):
        raise BadDate(f"not a date: {value!r}")
    text = value.strip()
    if _YEAR_ONLY.match(text):
        return _year_only(int(text))
    if _YEAR_MONTH.match(text):
        return None, int(text[:4])
    try:
        if len(text) == 10:
            date = dt.date.fromisoformat(text)
        else:
            date = dt.datetime.fromisoformat(text.replace("z", "Z")).date()
    except ValueError:
        raise BadDate(f"not an ISO 8601 date: {value!r}") from None
    return date, date.year


def _year_only(year: int) -> tuple[None, int]:
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise BadDate(f"year out of range: {year}")
    return None, year


def make_date(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise BadDate(f"no such day: {year}-{month:02d}-{day:02d}") from None
