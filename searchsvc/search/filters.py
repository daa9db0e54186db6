"""Facet selections as document sets: separate parameters, never edits to the query text.

Several values of one facet combine with OR (the union of their postings); facets combine
with AND. Each facet's own set is kept apart so its counts can be computed with the other
facets' selections applied but not its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from searchsvc.search.docsets import DocSet
from searchsvc.search.snapshot import Reading

#: Facet name -> the index field its keys are terms of.
FACET_FIELDS = {"place": "place", "places": "places", "source": "source", "language": "language"}
#: Facets whose articles without a value form a bucket of their own, keyed ``""``.
FACETS_WITH_MISSING = frozenset({"language"})
#: How a request names the language facet's ``""`` bucket (ISO 639-2 "undetermined").
UNKNOWN_LANGUAGE = "und"


@dataclass(frozen=True)
class Selection:
    """What a request selected: facet keys, and a date range (either end may be open)."""

    place: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    language: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def keys(self, facet: str) -> tuple[str, ...]:
        return getattr(self, facet)

    @property
    def has_dates(self) -> bool:
        return self.date_from is not None or self.date_to is not None


def normalize_keys(facet: str, values: tuple[str, ...]) -> tuple[str, ...]:
    """Keys as the index holds them: sources and languages are lowercased, place keys kept
    as given; ``und`` (or ``""``) selects the articles without a language."""
    cleaned = (value.strip() for value in values)
    if facet == "source":
        cleaned = (value.lower() for value in cleaned)
    if facet == "language":
        keys = ("" if value.lower() == UNKNOWN_LANGUAGE else value.lower() for value in cleaned)
        return tuple(dict.fromkeys(keys))
    return tuple(dict.fromkeys(value for value in cleaned if value))


@dataclass(frozen=True)
class FacetSets:
    """Per facet, the documents its selection allows (``None``: no selection)."""

    by_facet: dict[str, DocSet | None]
    dates: DocSet | None

    def allowed_except(self, facet: str | None) -> list[DocSet]:
        """The sets of every selected facet other than ``facet``."""
        return [docs for name, docs in self.by_facet.items() if name != facet and docs is not None]


def facet_sets(selection: Selection, reading: Reading) -> FacetSets:
    by_facet: dict[str, DocSet | None] = {}
    for facet, field in FACET_FIELDS.items():
        keys = selection.keys(facet)
        if not keys:
            by_facet[facet] = None
        elif facet in FACETS_WITH_MISSING:  # "" has no postings: read the column
            by_facet[facet] = reading.columns.live & getattr(reading.columns, facet).docs_with(keys)
        else:
            by_facet[facet] = reading.union(reading.docs(field, key) for key in keys)
    dates = (
        reading.columns.docs_dated(selection.date_from, selection.date_to)
        if selection.has_dates
        else None
    )
    return FacetSets(by_facet, dates)


def restrict(docs: DocSet, sets: list[DocSet]) -> DocSet:
    """``docs`` limited to every set in ``sets`` (smallest first, stopping when empty)."""
    for allowed in sorted(sets, key=len):
        if not docs:
            break
        docs = docs & allowed
    return docs
