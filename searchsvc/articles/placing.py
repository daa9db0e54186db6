"""Where readers hand place names to the gazetteer.

Readers extract the dateline place as written; :mod:`searchsvc.places` turns it (and the
story's mentions) into normalized places. The gazetteer is imported on first use, so
reading without places (a parse-only benchmark) never pays for loading it.
"""

from __future__ import annotations

from searchsvc.articles.model import Place


def locate(title: str, body: str, place_text: str | None) -> tuple[Place | None, tuple[Place, ...]]:
    """The dateline place (if ``place_text`` names one) and the places the story mentions."""
    from searchsvc.places import find_places, resolve_dateline_place

    story = f"{title}\n\n{body}" if title else body
    dateline_place = resolve_dateline_place(place_text, story) if place_text else None
    return dateline_place, find_places(story, dateline_place)


def is_known_place(place_text: str) -> bool:
    """True when the gazetteer knows the place itself (not only as an unknown-but-kept name)."""
    from searchsvc.places import resolve_dateline_place

    place = resolve_dateline_place(place_text)
    return place is not None and not place.key.startswith("raw:")
