"""What a search asks and what it answers: plain data, no HTTP, no Whoosh objects.

The web page, the JSON API, the command line and the benchmarks all consume these
records; :meth:`to_dict` gives the JSON shape (every value is a str, number, bool,
``None``, list or dict).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

SortOrder = Literal["relevance", "newest", "oldest"]
SORT_ORDERS: tuple[str, ...] = ("relevance", "newest", "oldest")
Granularity = Literal["year", "month", "day"]
#: What a count counts: stories (copies of one story once) or every copy.
CountUnit = Literal["stories", "copies"]


TextDirection = Literal["rtl", "ltr"]
#: Languages written right to left.
RIGHT_TO_LEFT: frozenset[str] = frozenset(
    ("ar", "fa", "he", "ur", "ps", "sd", "ug", "yi", "dv", "ckb")
)


def text_direction(language: str | None) -> TextDirection:
    """How text in ``language`` (an ISO code, None when not known) runs."""
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"


class QueryError(ValueError):
    """Input that cannot be searched; the message says what to change.

    ``parameter`` names the request field at fault (``"q"``, ``"page"``, ``"per_page"``,
    ``"sort"``, ``"date_from"``, ``"date_to"``, ``"place"``...), so an API can point at it.
    """

    def __init__(self, message: str, parameter: str = "q") -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter

    def to_dict(self) -> dict[str, str]:
        return {"message": self.message, "parameter": self.parameter}


class ArticleNotFound(LookupError):
    """No article with that id in the serving index."""

    def __init__(self, article_id: str) -> None:
        super().__init__(f"no article with id {article_id!r}")
        self.article_id = article_id

    def __str__(self) -> str:
        return self.args[0]


@dataclass(frozen=True)
class SearchRequest:
    """One search: the typed query plus facet filters, which are never spliced into the text.

    Within one filter several values mean OR, different filters combine with AND.
    ``date_from``/``date_to`` are inclusive; either may be left open.
    """

    query: str = ""
    place: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 10
    #: One result per story (its best-ranked copy); False lists every copy.
    collapse: bool = True
    #: The languages (ISO 639-1 codes) the query is read in; empty: the language facet's
    #: selection if any, else every language the index holds.
    lang: tuple[str, ...] = ()
    #: The language facet's selection (ISO 639-1 codes; ``und`` or ``""`` for the articles
    #: whose language is not known).
    language: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    """One result. ``title`` and ``snippet`` are HTML-safe: only ``<mark>`` is markup."""

    id: str
    title: str
    snippet: str
    place: dict[str, Any] | None
    places: list[dict[str, Any]]
    date: str | None
    source: str | None
    url: str | None
    score: float
    #: How many other copies of this story the index holds (see ``/versions``).
    versions: int = 0
    #: The article's ISO 639-1 code (None when not known) and its writing direction.
    language: str | None = None
    dir: TextDirection = "ltr"


@dataclass(frozen=True)
class FacetValue:
    key: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Facet:
    """Counts for one facet over the whole result set; ``other`` counts what the top N omit."""

    name: str
    values: list[FacetValue]
    other: int = 0


@dataclass(frozen=True)
class DateBucket:
    """One bar of the timeline; ``date_from``/``date_to`` (ISO, inclusive) select it."""

    key: str
    label: str
    count: int
    date_from: str
    date_to: str
    selected: bool


@dataclass(frozen=True)
class DateHistogram:
    """Result counts over time at the finest useful granularity, plus the undated count."""

    granularity: Granularity
    buckets: list[DateBucket]
    undated: int = 0


@dataclass(frozen=True)
class SearchResult:
    """One page of results plus what describes the whole result set.

    ``total`` counts the list: every article with the query's required parts and at least
    one of its words; ``all_words_total`` counts those with every word, which come first.
    With ``collapse`` both count stories (copies of one story once, as the list shows them)
    and ``copies_total`` counts every copy; ``total_counts`` says which (``"stories"`` or
    ``"copies"``). Facets and the timeline always count copies (``facet_counts``).
    ``fallback`` is True when no article had all the words (``message`` says how many
    have some); ``suggestion`` is a corrected query that finds results, when a word looks
    misspelled.
    """

    query: str
    sort: str
    total: int
    all_words_total: int
    page: int
    per_page: int
    took_ms: float
    hits: list[Hit]
    facets: dict[str, Facet]
    dates: DateHistogram
    suggestion: str | None = None
    fallback: bool = False
    message: str | None = None
    collapse: bool = True
    copies_total: int = 0
    total_counts: CountUnit = "stories"
    facet_counts: CountUnit = "copies"

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


@dataclass(frozen=True)
class ArticleView:
    """A whole story for display, as plain text (the template escapes it)."""

    id: str
    title: str
    body: str
    dateline: str | None
    place: dict[str, Any] | None
    places: list[dict[str, Any]] = field(default_factory=list)
    date: str | None = None
    source: str | None = None
    url: str | None = None
    author: str | None = None
    #: ISO 639-1 code, None when not known.
    language: str | None = None

    @property
    def dir(self) -> TextDirection:
        return text_direction(self.language)

    @classmethod
    def of(cls, article_id: str, title: str, body: str, record: dict[str, Any]) -> ArticleView:
        """The view of a story from its text and its display record (either engine's)."""
        return cls(
            id=article_id,
            title=title,
            body=body,
            dateline=record.get("dateline"),
            place=record.get("dateline_place"),
            places=list(record.get("places") or []),
            date=record.get("date"),
            source=record.get("source"),
            url=record.get("url"),
            author=record.get("author"),
            language=record.get("language"),
        )

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


@dataclass(frozen=True)
class GenerationInfo:
    """Which index generation answers searches, and how big it is."""

    id: str
    article_count: int
    commit: int
    fallback_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


def to_dict(record: Any) -> dict[str, Any]:
    """A result record as a JSON-able dict (nested records included).

    Written out by hand rather than with :func:`dataclasses.asdict`, which deep-copies
    every value and cost the JSON API more time than encoding; the records are frozen
    and built fresh per request, so handing out their lists and dicts shallowly is safe.
    """
    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        raise TypeError(f"not a search record: {record!r}")
    return {name: _plain(getattr(record, name)) for name in _field_names(type(record))}


def _field_names(record_type: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(record_type)
    if names is None:
        names = tuple(field.name for field in dataclasses.fields(record_type))
        _FIELD_NAMES[record_type] = names
    return names


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_SCALARS = (str, int, float, bool, type(None))


def _plain(value: Any) -> Any:
    """``value`` with nested records turned into dicts; everything else is passed as is."""
    if isinstance(value, _SCALARS):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, (list, tuple)):
        if any(_is_record(item) for item in value):
            return type(value)(_plain(item) for item in value)
        return value
    if isinstance(value, dict):
        if any(_is_record(item) for item in value.values()):
            return {key: _plain(item) for key, item in value.items()}
        return value
    return value


def _is_record(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)
