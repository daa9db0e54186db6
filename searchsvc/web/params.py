"""Query-string parameters → a :class:`SearchRequest`, shared by the page and the JSON API.

Harmless things are forgiven (empty optional parameters, repeated filter values, a date given
as just a year or a month); what cannot be understood is one :class:`QueryError` naming the
parameter.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from werkzeug.datastructures import MultiDict

from searchsvc.config import Settings
from searchsvc.search import QueryError, SearchRequest
from searchsvc.search.filters import UNKNOWN_LANGUAGE

FILTER_PARAMETERS = ("place", "places", "source", "language")
SEARCH_PARAMETERS = (
    "q",
    *FILTER_PARAMETERS,
    "date_from",
    "date_to",
    "sort",
    "page",
    "per_page",
    "collapse",
    "lang",
)
# More values than this for one filter is not a person clicking facets.
MAX_FILTER_VALUES = 50

_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


def parse_search_args(args: MultiDict[str, str], settings: Settings) -> SearchRequest:
    """Turn request arguments into a search request, or raise :class:`QueryError`."""
    return SearchRequest(
        query=args.get("q", "").strip(),
        place=_filter_values(args, "place"),
        places=_filter_values(args, "places"),
        source=_filter_values(args, "source"),
        language=_filter_values(args, "language"),
        date_from=parse_date(args.get("date_from", ""), "date_from", end_of_period=False),
        date_to=parse_date(args.get("date_to", ""), "date_to", end_of_period=True),
        sort=_sort(args.get("sort", "")),
        page=_whole_number(args, "page", default=1, maximum=settings.max_page),
        per_page=_whole_number(
            args, "per_page", default=settings.default_per_page, maximum=settings.max_per_page
        ),
        collapse=_flag(args, "collapse", default=True),
        lang=_filter_values(args, "lang"),
    )


def parse_date(raw: str, parameter: str, *, end_of_period: bool) -> dt.date | None:
    """``2024``, ``2024-02`` or ``2024-02-26``; a partial date covers its whole year or month."""
    text = raw.strip()
    if not text:
        return None
    match = _PARTIAL_DATE.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        year, month, day = (int(part) if part else None for part in match.groups())
        if month is None:
            month = 12 if end_of_period else 1
        if day is None:
            day = calendar.monthrange(year, month)[1] if end_of_period else 1
        return dt.date(year, month, day)
    except ValueError:
        raise QueryError(
            f"{parameter} must be a date like 2024-02-26 (or 2024-02, or 2024), got {raw!r}",
            parameter=parameter,
        ) from None


def _filter_values(args: MultiDict[str, str], name: str) -> tuple[str, ...]:
    values = tuple(dict.fromkeys(v.strip() for v in args.getlist(name) if v.strip()))
    if len(values) > MAX_FILTER_VALUES:
        raise QueryError(
            f"{name} may be given at most {MAX_FILTER_VALUES} times, got {len(values)}",
            parameter=name,
        )
    return values


def parameter_value(facet: str, key: str) -> str:
    """How a link names a facet key: the language facet's ``""`` bucket is ``und``."""
    return UNKNOWN_LANGUAGE if facet == "language" and not key else key


def facet_key(facet: str, value: str) -> str:
    """The facet key a parameter value selects (the inverse of :func:`parameter_value`)."""
    return "" if facet == "language" and value.lower() == UNKNOWN_LANGUAGE else value


_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def _flag(args: MultiDict[str, str], name: str, *, default: bool) -> bool:
    raw = args.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE or raw in _FALSE:
        return raw in _TRUE
    raise QueryError(f"{name} must be true or false, got {args.get(name)!r}", parameter=name)


def _sort(raw: str) -> str:
    """Any case; the engine checks the value against the orders it knows."""
    return raw.strip().lower() or "relevance"


def _whole_number(args: MultiDict[str, str], name: str, *, default: int, maximum: int) -> int:
    """The number as typed; the engine checks its range (and says the same thing)."""
    raw = args.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise QueryError(
            f"{name} must be a whole number from 1 to {maximum:,}, got {raw!r}", parameter=name
        ) from None
