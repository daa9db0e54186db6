"""The HTML pages: the search page and the article page.

A view turns the request into a call on the engine and hands the plain result to a template;
all markup, including the facet links and the timeline, is rendered on the server.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, render_template, request
from markupsafe import Markup

from searchsvc.search import QueryError, SearchRequest, SearchResult
from searchsvc.search.model import text_direction
from searchsvc.web.links import SearchLinks, page_window
from searchsvc.web.params import FILTER_PARAMETERS, facet_key, parse_search_args
from searchsvc.web.state import get_state

blueprint = Blueprint("pages", __name__)

FACET_TITLES = {
    "place": "Dateline",
    "places": "Places mentioned",
    "source": "Source",
    "language": "Language",
}
FILTER_TITLES = {
    "place": "Dateline",
    "places": "Mentions",
    "source": "Source",
    "language": "Language",
}
SORT_LABELS = {"relevance": "Relevance", "newest": "Newest", "oldest": "Oldest"}
RELATED_LIMIT = 5
# About this many bars get a visible label; every bar keeps one for screen readers.
TIMELINE_LABELS = 6
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n|\n(?=[ \t]{2,}\S)")


@dataclass(frozen=True)
class ActiveFilter:
    """A chip above the results: what is filtered on, and the link that removes it."""

    kind: str
    label: str
    remove_url: str


@blueprint.get("/")
def search() -> tuple[str, int]:
    state = get_state()
    links = SearchLinks(request.args)
    query = request.args.get("q", "").strip()
    result: SearchResult | None = None
    search_request: SearchRequest | None = None
    error: QueryError | None = None
    try:
        search_request = parse_search_args(request.args, state.settings)
        result = state.engine.search(search_request)
    except QueryError as problem:
        error = problem
    context: dict[str, Any] = {
        "query": query,
        "sort": search_request.sort if search_request else "relevance",
        "sort_choices": SORT_LABELS.items(),
        "max_query_length": state.settings.max_query_length,
        "result": result,
        "error": error,
        "links": links,
        "facet_titles": FACET_TITLES,
        "active_filters": _active_filters(links, result),
        "date_range": _date_range(search_request),
        "date_inputs": {
            "from": search_request.date_from if search_request and search_request.date_from else "",
            "to": search_request.date_to if search_request and search_request.date_to else "",
        },
    }
    if result is not None:
        context["pages"] = _pages(result, state.settings.max_page)
        context["timeline"] = timeline_bars(result.dates, links)
    return render_template("search.html", **context), 400 if error else 200


@blueprint.get("/articles/<path:article_id>")
def article(article_id: str) -> str:
    engine = get_state().engine
    story = engine.article(article_id)
    related = engine.related(article_id, limit=RELATED_LIMIT)
    return render_template(
        "article.html",
        article=story,
        paragraphs=_paragraphs(story.body),
        related=related,
        versions=engine.versions(article_id),
        links=SearchLinks(request.args),
    )


def _active_filters(links: SearchLinks, result: SearchResult | None) -> list[ActiveFilter]:
    chips = []
    for name in FILTER_PARAMETERS:
        labels = _facet_labels(result, name)
        for value in links.values(name):
            label = f"{FILTER_TITLES[name]}: {labels.get(facet_key(name, value), value)}"
            chips.append(ActiveFilter(name, label, links.without(name, value)))
    return chips


def _facet_labels(result: SearchResult | None, name: str) -> dict[str, str]:
    if result is None or name not in result.facets:
        return {}
    return {value.key: value.label for value in result.facets[name].values}


def _date_range(search_request: SearchRequest | None) -> dict[str, str] | None:
    """The active date filter as a chip label, in the page's date style."""
    if search_request is None:
        return None
    date_from, date_to = search_request.date_from, search_request.date_to
    if date_from and date_to:
        label = f"{nice_date(date_from)} to {nice_date(date_to)}"
    elif date_from:
        label = f"from {nice_date(date_from)}"
    elif date_to:
        label = f"until {nice_date(date_to)}"
    else:
        return None
    return {"label": label}


def _pages(result: SearchResult, max_page: int) -> dict[str, Any]:
    last = max(1, min(math.ceil(result.total / result.per_page), max_page))
    return {
        "current": result.page,
        "last": last,
        "window": page_window(result.page, last),
        "first_shown": (result.page - 1) * result.per_page + 1 if result.hits else 0,
        "last_shown": (result.page - 1) * result.per_page + len(result.hits),
    }


def timeline_bars(dates: Any, links: SearchLinks) -> dict[str, Any] | None:
    """Bars for the timeline chart, heights in percent of the busiest bucket."""
    if dates is None or not dates.buckets:
        return None
    peak = max(bucket.count for bucket in dates.buckets) or 1
    step = math.ceil(len(dates.buckets) / TIMELINE_LABELS)
    bars = [
        {
            "label": bucket.label,
            "count": bucket.count,
            "url": links.dates(bucket.date_from, bucket.date_to),
            "height": max(3, round(100 * bucket.count / peak)) if bucket.count else 0,
            "selected": bucket.selected,
            "show_label": index % step == 0,
            # Every other label gives way on narrow screens.
            "minor_label": index % (2 * step) != 0,
        }
        for index, bucket in enumerate(dates.buckets)
    ]
    return {"granularity": dates.granularity, "bars": bars, "undated": dates.undated}


def _paragraphs(body: str) -> list[str]:
    """Paragraphs as the sources mark them: a blank line, or (newswire) an indented line."""
    blocks = (" ".join(block.split()) for block in _PARAGRAPH_BREAK.split(body))
    return [block for block in blocks if block]


@blueprint.app_template_filter("language_attributes")
def language_attributes(language: str | None) -> Markup:
    """``lang`` and ``dir`` for an element holding text in ``language``, so a right-to-left
    title or snippet runs right to left inside the left-to-right page; text of an unknown
    language takes its direction from its first strong character (``dir="auto"``)."""
    if not language:
        return Markup(' dir="auto"')
    return Markup(' lang="{}" dir="{}"').format(language, text_direction(language))


@blueprint.app_template_filter("web_link")
def web_link(url: str | None) -> str | None:
    """Only http(s) links from the sources become links; ``javascript:`` and the like do not."""
    if url and urlsplit(url.strip()).scheme.lower() in ("http", "https"):
        return url.strip()
    return None


@blueprint.app_template_filter("nice_date")
def nice_date(value: str | dt.date | None) -> str:
    """``2024-02-26`` → ``26 Feb 2024``, so dates read the same everywhere on the page."""
    if not value:
        return ""
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{day.day} {day:%b %Y}"
