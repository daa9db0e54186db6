"""Links that change one thing about the current search: the page's facets, chips and pager.

Every link is a plain GET URL, so the whole page works without JavaScript and any state can be
bookmarked or shared.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from flask import url_for
from werkzeug.datastructures import MultiDict

from searchsvc.web.params import SEARCH_PARAMETERS, parameter_value


class SearchLinks:
    """URLs for the search page derived from the current arguments.

    Any change other than turning the page starts again from page 1, since the old page
    number means nothing once the results change.
    """

    def __init__(self, args: MultiDict[str, str]) -> None:
        self._pairs = [
            (name, value.strip())
            for name in SEARCH_PARAMETERS
            for value in args.getlist(name)
            if value.strip()
        ]

    def values(self, name: str) -> list[str]:
        return [value for key, value in self._pairs if key == name]

    def toggle(self, name: str, value: str) -> str:
        """Add a filter value, or remove it if it is already active."""
        value = parameter_value(name, value)
        if value in self.values(name):
            return self.without(name, value)
        return self._url([*self._without_page(), (name, value)])

    def without(self, name: str, value: str | None = None) -> str:
        kept = [
            (k, v)
            for k, v in self._without_page()
            if not (k == name and (value is None or v == value))
        ]
        return self._url(kept)

    def dates(self, date_from: str | dt.date | None, date_to: str | dt.date | None) -> str:
        kept = [(k, v) for k, v in self._without_page() if k not in ("date_from", "date_to")]
        for name, value in (("date_from", date_from), ("date_to", date_to)):
            if value:
                kept.append((name, str(value)))
        return self._url(kept)

    def without_dates(self) -> str:
        return self.dates(None, None)

    def query(self, text: str) -> str:
        """The same filters with another query (for "did you mean")."""
        kept = [(k, v) for k, v in self._without_page() if k != "q"]
        return self._url([("q", text), *kept])

    def with_sort(self, sort: str) -> str:
        kept = [(k, v) for k, v in self._without_page() if k != "sort"]
        if sort != "relevance":
            kept.append(("sort", sort))
        return self._url(kept)

    def hidden_fields(self, exclude: tuple[str, ...]) -> list[tuple[str, str]]:
        """The current arguments a form must carry along so submitting it keeps them."""
        return [(k, v) for k, v in self._pairs if k not in exclude]

    def page(self, number: int) -> str:
        kept = self._without_page()
        if number > 1:
            kept.append(("page", str(number)))
        return self._url(kept)

    def without_filters(self) -> str:
        return self._url([(k, v) for k, v in self._pairs if k in ("q", "sort", "per_page")])

    def _without_page(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self._pairs if k != "page"]

    def _url(self, pairs: list[tuple[str, str]]) -> str:
        base = url_for("pages.search")
        return f"{base}?{urlencode(pairs)}" if pairs else base


def page_window(current: int, last: int, *, radius: int = 2) -> list[int | None]:
    """Page numbers to show around ``current``: first, last, neighbours; ``None`` marks a gap."""
    wanted = {1, last, *range(current - radius, current + radius + 1)}
    shown = sorted(n for n in wanted if 1 <= n <= last)
    window: list[int | None] = []
    for number in shown:
        if window and window[-1] is not None and number - window[-1] > 1:
            window.append(None)
        window.append(number)
    return window
