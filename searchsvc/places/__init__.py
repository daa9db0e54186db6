"""Place names normalized against a real gazetteer.

Two entry points for the article readers: :func:`resolve_dateline_place` for
where a story was filed, :func:`find_places` for what places it talks about.
Both return :class:`~searchsvc.articles.model.Place` values with stable keys:
``geo:<geonameid>`` for cities, ``country:<ISO2>`` for countries and
``raw:<slug>`` for dateline towns the gazetteer does not know. The gazetteer is
loaded once per process, on first use.
"""

from __future__ import annotations

from searchsvc.articles.model import Place
from searchsvc.places.dateline import load_country_names, resolve_in
from searchsvc.places.gazetteer import Gazetteer, get_gazetteer
from searchsvc.places.mentions import find_places_in

__all__ = [
    "Gazetteer",
    "find_places",
    "get_gazetteer",
    "load_places",
    "resolve_dateline_place",
]


def resolve_dateline_place(dateline: str, story_text: str = "") -> Place | None:
    """The place a dateline names ("Baku", "ARMONK, N.Y.", "PEKING"), or None if empty.

    ``story_text`` settles towns that share a name: SALVADOR in a story about
    Brazil is Salvador, Bahia.
    """
    return resolve_in(dateline, story_text, get_gazetteer())


def find_places(text: str, dateline_place: Place | None = None) -> tuple[Place, ...]:
    """Places mentioned in ``text`` (title and body), deduplicated, dateline place first."""
    return find_places_in(text, dateline_place, get_gazetteer())


def load_places() -> None:
    """Load now what resolving places reads: the gazetteer and the country-name fallback.

    A build calls this before it forks its workers, so that they share one copy
    instead of each loading its own.
    """
    get_gazetteer()
    load_country_names()
