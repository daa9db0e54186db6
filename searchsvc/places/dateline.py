"""The place a story was filed from, as its dateline writes it.

Datelines are terse and old-fashioned ("ARMONK, N.Y.", "PEKING", "CALGARY,
Alberta"): the first comma-separated part is the town, the rest narrows it to a
state, province or country. A town the gazetteer lacks is still kept, under a
``raw:`` key, with whatever country its qualifiers give away.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence

from searchsvc.articles.model import Place
from searchsvc.config import cache_dir_from_env
from searchsvc.places.gazetteer import CITY, COUNTRY, REGION, Candidate, Gazetteer, alias_key
from searchsvc.places.mentions import countries_named, has_rivals, scan_mentions
from searchsvc.places.names import PROVINCES, US_STATES

_MONTH = (
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|January|February|March|April"
    r"|June|July|August|September|October|November|December)\.?"
)
#: A date that a caller left on the end: "SALVADOR, Feb 26 -". ``(?<!\s)``: a match starts
#: only where a run of spaces does, so a long run costs linear time, not quadratic.
_DATE_TAIL = re.compile(rf"(?:,\s*|(?<!\s)\s+){_MONTH}\s+\d{{1,2}}\b.*$", re.IGNORECASE | re.DOTALL)
#: A bare dateline names a well-known place: a namesake must be at least a
#: quarter its size to win on the story's countries (SAN JOSE, Costa Rica, yes;
#: GENEVA, Illinois, in a GATT story that mentions the U.S., no).
_RIVAL_SHARE = 0.25
#: ... and its country must be named at least this often, and more than the other's.
_RIVAL_MIN_MENTIONS = 2
_SLUG_WORD = re.compile(r"[^\W_]+")
_EDGE_JUNK = " \t\r\n-\u2013\u2014,:;*"


def split_dateline(dateline: str) -> tuple[str, list[str]]:
    """``"ARMONK, N.Y., March 2 -"`` → ``("ARMONK", ["N.Y."])``."""
    text = _DATE_TAIL.sub("", dateline).strip(_EDGE_JUNK)
    parts = [part.strip(_EDGE_JUNK) for part in text.split(",")]
    parts = [part for part in parts if part]
    if not parts:
        return "", []
    return parts[0], parts[1:]


def qualifier_country(qualifier: str, gazetteer: Gazetteer) -> tuple[str | None, str | None]:
    """Country (and US state) that a dateline qualifier like "N.Y." or "Bangladesh" names."""
    key = alias_key(qualifier)
    if key in US_STATES:
        return "US", US_STATES[key]
    if key in PROVINCES:
        return PROVINCES[key], None
    for candidate in gazetteer.lookup(key):
        if candidate.kind != CITY:
            return candidate.country, candidate.admin1
    return _country_from_other_spellings(qualifier, gazetteer), None


def _country_from_other_spellings(name: str, gazetteer: Gazetteer) -> str | None:
    """Last resort for rare spellings ("Netherlands", "Deutschland", "UdSSR")."""
    code = load_country_names()(name)
    if code and gazetteer.country(code) is not None:
        return code
    return None


@functools.cache
def load_country_names() -> Callable[[str], str | None]:
    """The country-name fallback (name to ISO code), ready to use.

    Loaded late, on first call (or by :func:`searchsvc.places.load_places` before a
    build forks): a process that never meets a rare spelling never reads it.
    """
    from searchsvc.places.countries import load_country_table

    return load_country_table(cache_dir_from_env()).to_code


def resolve_in(dateline: str, story_text: str, gazetteer: Gazetteer) -> Place | None:
    place, rivals = _read_dateline(dateline, gazetteer)
    if rivals and story_text:
        return _settle_by_story(rivals, story_text, gazetteer).place
    return place


@functools.lru_cache(maxsize=16_384)
def _read_dateline(
    dateline: str, gazetteer: Gazetteer
) -> tuple[Place | None, tuple[Candidate, ...] | None]:
    """The place a dateline names without its story, and the namesakes the story must
    choose between when there are rivals (else None).

    Remembered: most stories are filed from a few places, and everything here depends on
    the dateline alone. Every caller is handed the same answer, so it is immutable all
    through (a tuple of frozen candidates): a caller that changed it would change the
    answer for every later story from that dateline.
    """
    town, qualifiers = split_dateline(dateline)
    if not town:
        return None, None
    country, state = None, None
    for qualifier in qualifiers:
        country, state = qualifier_country(qualifier, gazetteer)
        if country:
            break
    candidates = _town_candidates(gazetteer.lookup(alias_key(town)))
    if country:
        candidates = _in_country(candidates, country, state)
    elif candidates and has_rivals(candidates, _RIVAL_SHARE):
        return candidates[0].place, tuple(candidates)
    if candidates:
        return candidates[0].place, None
    return _raw_place(town, qualifiers, country, gazetteer), None


def _settle_by_story(
    candidates: Sequence[Candidate], story: str, gazetteer: Gazetteer
) -> Candidate:
    """The namesake whose country the story names most, if clearly more than the first's.

    SAN JOSE in a story that names Costa Rica three times and the U.S. once is
    San José; a VANCOUVER story that mentions "U.S. dlrs" once stays in Canada.
    """
    named = countries_named(scan_mentions(story, gazetteer))
    best = candidates[0]
    floor = best.population * _RIVAL_SHARE
    for rival in candidates[1:]:
        if rival.kind != CITY or rival.population < floor or rival.country == best.country:
            continue
        votes = named[rival.country] if rival.country else 0
        if votes >= _RIVAL_MIN_MENTIONS and votes > named[best.country or ""]:
            return rival
    return best


def _town_candidates(candidates: Sequence[Candidate]) -> list[Candidate]:
    """A dateline names a town or a country; a state only when nothing else fits."""
    towns = [c for c in candidates if c.kind in (COUNTRY, CITY)]
    return towns or [c for c in candidates if c.kind == REGION]


def _in_country(candidates: list[Candidate], country: str, state: str | None) -> list[Candidate]:
    local = [c for c in candidates if c.country == country]
    if state:
        in_state = [c for c in local if c.admin1 == state]
        return in_state or local
    return local


def _raw_place(
    town: str, qualifiers: list[str], country: str | None, gazetteer: Gazetteer
) -> Place | None:
    """A town the gazetteer lacks, kept as written so its stories still share a facet.

    Without a single letter or digit it is no town ("<", "---"): no place.
    """
    written = [_as_written(part) for part in (town, *qualifiers)]
    slug = _slug(", ".join(written))
    if not _slug(town):
        return None
    country_name = gazetteer.country_name(country)
    shown = list(written)
    if country_name and alias_key(shown[-1]) != alias_key(country_name):
        shown.append(country_name)
    return Place(
        key=f"raw:{slug}",
        name=written[0],
        country=country,
        country_name=country_name,
        display=", ".join(shown),
    )


def _slug(text: str) -> str:
    """``"ARMONK, N.Y."`` → ``"armonk-ny"``; letters of any script are kept, accents folded."""
    text = unicodedata.normalize("NFKD", text.replace(".", "").replace("'", "")).casefold()
    return "-".join(_SLUG_WORD.findall("".join(c for c in text if not unicodedata.combining(c))))


def _as_written(part: str) -> str:
    """Title-case shouting capitals ("ARMONK" → "Armonk", "CONN." → "Conn."), keep "N.Y."."""
    letters = part.replace(".", "")
    if part.isupper() and len(letters) > 2:
        return part.title()
    return part
