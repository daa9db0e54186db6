"""Country names in other spellings and languages, to ISO codes: the dateline fallback.

A dateline qualifier that neither the US and provincial tables nor the gazetteer
know ("Netherlands", "Deutschland", "UdSSR", "Grand Cayman") is looked up here.
Reading its names in every language costs about a third of a second of CPU, so the
finished table is a prebuilt file beside the gazetteer's (:mod:`searchsvc.places.prebuilt`),
loaded on first use.
The names are pycountry's: ISO 3166-1 names, official and common names, the
withdrawn states of ISO 3166-3, and their translations from the iso-codes
project, plus a few wire-copy forms of ours. pycountry is pure Python, so
installing searchsvc needs no compiler (the library used before pulled in ICU).
"""

from __future__ import annotations

import gettext
from collections import defaultdict
from collections.abc import Iterable, Iterator
from importlib.metadata import version
from pathlib import Path

import pycountry

from searchsvc.places import gazetteer
from searchsvc.places.gazetteer import alias_key
from searchsvc.places.prebuilt import load_prebuilt

#: Withdrawn states whose four-letter code does not end in their successor's code
#: ("HH": split up), keyed like names.COUNTRY_ALIASES: the state holding the capital.
_SUCCESSORS = {"SUHH": "RU", "CSHH": "CZ", "CSXX": "RS", "YUCS": "RS", "BYAA": "BY"}

#: What neither ISO nor its translations spell as datelines do.
_OUR_NAMES = {
    "ddr": "DE",
    "brd": "DE",
    "sowjetunion": "RU",
    "grand cayman": "KY",
    "turkey": "TR",  # ISO's English name is "Türkiye" since 2022
    "norfolk": "GB",  # the English county ("NORWICH, Norfolk"), not Norfolk Island
}
#: Two letters are a code, not a name: "Me." and "Il." in a dateline are US states.
_LONGEST_CODE = 2


class CountryNames:
    """Name to ISO 3166 alpha-2 code, for names in English and in pycountry's languages.

    English names rank above translations, so a translation never takes an English
    name from its country; a name that two countries share within a rank is dropped
    rather than guessed ("Korea" is both Koreas in ISO's English).
    """

    def __init__(self) -> None:
        english = _unambiguous(_english_names())
        translated = _unambiguous(_translated_names())
        self._codes = {**translated, **english, **_OUR_NAMES}

    def to_code(self, name: str) -> str | None:
        """``"Deutschland"`` → ``"DE"``; None for a name no country has."""
        return self._codes.get(alias_key(name))


def load_country_table(cache_dir: Path) -> CountryNames:
    """The table from its prebuilt file in ``cache_dir`` (built and saved when missing).

    Its keys are made by the gazetteer's ``alias_key``, so that file is a source too.
    """
    built_from = (Path(__file__), Path(gazetteer.__file__))
    facts = (version("pycountry"),)
    return load_prebuilt(cache_dir, "country-names", CountryNames, built_from, facts)


def _unambiguous(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """(name, code) pairs as a table of keys, less the keys two countries share."""
    codes: defaultdict[str, set[str]] = defaultdict(set)
    for name, code in pairs:
        key = alias_key(name)
        if len(key) > _LONGEST_CODE:
            codes[key].add(code)
    return {key: found.pop() for key, found in codes.items() if len(found) == 1}


def _countries() -> Iterator[tuple[str, list[str]]]:
    """(code, English names) of today's countries, then of withdrawn ones under their
    successor's code."""
    for country in pycountry.countries:
        names = [getattr(country, field, "") for field in ("name", "official_name", "common_name")]
        yield country.alpha_2, [name for name in names if name]
    for state in pycountry.historic_countries:
        successor = _SUCCESSORS.get(state.alpha_4, state.alpha_4[2:])
        if pycountry.countries.get(alpha_2=successor) is not None:
            yield successor, [state.name]


def _spellings(name: str) -> list[str]:
    """The name as written and as a story writes it: ISO's ``"Korea, Republic of"`` is
    also "Korea" and "Republic of Korea", ``"Virgin Islands, U.S."`` "U.S. Virgin
    Islands"; an abbreviation before the comma is followed by the name in full
    (``"USSR, Union of Soviet Socialist Republics"``)."""
    head, comma, tail = name.partition(", ")
    if not comma:
        return [name]
    turned = [name, head, f"{tail} {head}"]
    return [*turned, tail] if head.isupper() else turned


def _english_names() -> Iterator[tuple[str, str]]:
    for code, names in _countries():
        for name in names:
            yield from ((spelling, code) for spelling in _spellings(name))


def _translated_names() -> Iterator[tuple[str, str]]:
    """Every English name as each of pycountry's languages writes it."""
    countries = list(_countries())
    for language in sorted(path.name for path in Path(pycountry.LOCALES_DIR).iterdir()):
        for domain in ("iso3166-1", "iso3166-3"):
            try:
                catalog = gettext.translation(domain, pycountry.LOCALES_DIR, [language])
            except OSError:
                continue
            for code, names in countries:
                for name in names:
                    translated = catalog.gettext(name)
                    if translated != name:
                        yield from ((spelling, code) for spelling in _spellings(translated))
