"""Dates as people type them after ``date:``: a year, a month, a day, or a range of them.

Each partial date stands for the whole period it names (``2024-02`` is 1 to 29 February),
so a range from one partial date to another runs from the first day of the one to the
last day of the other. Either end of a range may be left open.
"""

from __future__ import annotations

import calendar
import datetime as dt

from searchsvc.search.model import QueryError

Span = tuple[dt.date | None, dt.date | None]

_DATE_HINT = "use date:2024, date:2024-02, date:2024-02-26 or date:[2024-01-01 TO 2024-03-31]"


def parse_date_value(raw: str) -> Span:
    """``2024``, ``2024-02``, ``2024-02-26``, or two of them joined by ``..``."""
    text = raw.strip()
    if ".." in text:
        left, _, right = text.partition("..")
        return _date_span(left.strip() or None, right.strip() or None, raw)
    return _period(text, raw)


def parse_date_range(inner: str) -> Span:
    """The inside of ``[... TO ...]``: either end may be missing or ``*``."""
    parts = inner.split()
    upper = [part.upper() for part in parts]
    if "TO" in upper:
        at = upper.index("TO")
        left, right = parts[:at], parts[at + 1 :]
        if len(left) > 1 or len(right) > 1:
            raise QueryError(f"date:[{inner}] is not a date range; {_DATE_HINT}", parameter="q")
        return _date_span(left[0] if left else None, right[0] if right else None, inner)
    if len(parts) == 1:
        return parse_date_value(parts[0])
    if len(parts) == 2:
        return _date_span(parts[0], parts[1], inner)
    raise QueryError(f"date:[{inner}] is not a date range; {_DATE_HINT}", parameter="q")


def _date_span(left: str | None, right: str | None, raw: str) -> Span:
    start = None if left in (None, "*") else _period(left, raw)[0]
    end = None if right in (None, "*") else _period(right, raw)[1]
    if start is not None and end is not None and start > end:
        raise QueryError(
            f"the date range {raw.strip()} ends before it starts; put the earlier date first",
            parameter="q",
        )
    return start, end


def _period(text: str, raw: str) -> tuple[dt.date, dt.date]:
    """First and last day of a year, month or day written as ISO digits."""
    parts = text.split("-")
    try:
        if not (1 <= len(parts) <= 3) or not all(p.isdigit() and p.isascii() for p in parts):
            raise ValueError
        if len(parts[0]) != 4 or any(len(p) > 2 for p in parts[1:]):
            raise ValueError
        year = int(parts[0])
        if len(parts) == 1:
            return dt.date(year, 1, 1), dt.date(year, 12, 31)
        month = int(parts[1])
        if len(parts) == 2:
            last_day = calendar.monthrange(year, month)[1]
            return dt.date(year, month, 1), dt.date(year, month, last_day)
        day = dt.date(year, month, int(parts[2]))
        return day, day
    except (ValueError, OverflowError):
        raise QueryError(f"{raw.strip()!r} is not a date; {_DATE_HINT}", parameter="q") from None
