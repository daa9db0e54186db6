"""Places mentioned in running text: capitalized word runs looked up in the gazetteer.

One precompiled regex finds runs of capitalized words ("Rio de Janeiro",
"Bank of Japan", "U.S."), then each run is matched against the alias dict,
longest phrase first. What keeps ordinary words out: the stoplist (applied when
the dict is built), the shape of short all-capitals codes, and the company a
word keeps — a town name inside a longer capitalized name ("Morgan Stanley",
"Nigel Lawson") counts only for a big city ("Tokyo Stock Exchange"), a name
followed by "said" is a person, one followed by "dlrs" is a currency, and a
name ending in "Corp" or "Plc" is a company's.

Nationality adjectives ("Brazilian exporters") help read ambiguous town names
but are not returned as places themselves: "American Express", "Swiss francs"
and "French fries" are not about those countries often enough.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from searchsvc.articles.model import Place
from searchsvc.places.gazetteer import (
    CITY,
    COUNTRY,
    NATIONALITY,
    REGION,
    Candidate,
    Gazetteer,
    fold_accents,
)

_CONNECTOR_WORDS = "de|da|do|dos|das|del|di|la|le|el|of|and|upon|on|am|an|der|sur|en|y"
_CONNECTORS = frozenset(_CONNECTOR_WORDS.split("|"))
_APOSTROPHE = "\u2019"


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_WORD = r"[A-Z][\w'\u2019.]*"
_CAPITALIZED_RUN = rf"{_WORD}(?:(?:\s+|-)(?:(?:{_CONNECTOR_WORDS})(?:\s+|-))?{_WORD})*"
#: A capitalized run and the lowercase word after it ("U.S. dlrs", "Lawson said"), if one
#: follows past spaces and commas: the lookahead takes nothing from the text, so the runs
#: are the ones the run pattern alone finds, and ``findall`` gives both as strings.
_RUN_AND_NEXT_WORD = re.compile(rf"({_CAPITALIZED_RUN})(?:(?=[\s,]*([a-z]+)))?")
_TOKEN_SPLIT = re.compile(r"\s+|-")
_SEPARATOR = re.compile(r"\s|-")
_ABBREVIATION = re.compile(r"(?:[A-Za-z]\.)+|[A-Z][a-z]\.")
#: Short capitalized forms that are places ("U.S.", "UK"); other short ones are codes.
_SHORT_ALLOWED = frozenset({"us", "uk", "usa", "uae", "gdr", "frg"})
#: After a place name these make it a currency ("U.S. dlrs") or a person ("Lawson said").
_CURRENCY_WORDS = _word_set(
    "dlr dlrs dollar dollars franc francs mark marks yen guilder guilders lira lire peso "
    "pesos crown crowns kronor kroner krona rand schilling schillings cents currency "
    "currencies stg sterling pound pounds "
)
#: A name ending in one of these is a company's: "British Petroleum Co Plc" is
#: not a mention of Britain, "Hanover Corp" none of Hannover.
_COMPANY_WORDS = _word_set(
    "co cos corp corporation inc incorporated ltd limited plc llc ag sa nv bv spa bhd "
    "gmbh kk pty holdings group company "
)
#: Capitalized only because a sentence starts with them: "The Hanover plant"
#: still mentions Hanover on its own.
_SENTENCE_OPENERS = _word_set(
    "the a an in at on for but and or if as by from to with he she it they we this that "
    "these those its his her their our after before while when since under about among "
    "during both all some many most such there here meanwhile however also"
)
_SPEECH_WORDS = frozenset({"said", "says", "told", "added", "stated"})
#: "Moscow said" is a government speaking; "Lawson said" a person.
_SPEAKING_CITY = 1_000_000
#: A story's own country must be at least this share of the biggest namesake to win.
_HOME_COUNTRY_SHARE = 0.05
#: Inside a longer capitalized name, a town counts only if it is this big.
_NAME_PART_MIN_POPULATION = 1_000_000
_MAX_PHRASE = 4


@dataclass(frozen=True, slots=True)
class Mention:
    """Candidates for one place-like phrase; ``alone`` if not part of a longer name."""

    candidates: Sequence[Candidate]
    alone: bool


def _clean_token(token: str) -> tuple[str, bool]:
    """Drop a possessive and a full stop (but keep "U.S."); say if a sentence ended."""
    if token.endswith(("'s", _APOSTROPHE + "s")):
        token = token[:-2]
    if token.endswith(".") and not _ABBREVIATION.fullmatch(token):
        return token.rstrip("."), True
    return token, False


def _token_key(token: str) -> str:
    """The alias key of one token; the same as ``alias_key`` but cheaper for one word."""
    if not token.isascii():
        token = fold_accents(token)
    key = token.lower()
    if "." in key or "'" in key:
        key = key.replace(".", "").replace("'", "")
    return key


def _shape_allowed(raw: str, key: str) -> bool:
    """Short all-capitals tokens are codes ("BAK", "IMF"), save a few country forms."""
    if len(key) > 3:
        return True
    shouting = raw.replace(".", "").isupper()
    if key in _SHORT_ALLOWED:
        return shouting
    return len(key) == 3 and not shouting


def _sentences_of(run: str) -> Iterable[tuple[list[str], list[str]]]:
    """Tokens (as written, and as keys) of a run, cut where a sentence ends."""
    raw: list[str] = []
    keys: list[str] = []
    readings = _token_readings
    for token in _TOKEN_SPLIT.split(run):
        cleaned, key, ends_sentence = readings.get(token) or _read_token(token)
        raw.append(cleaned)
        keys.append(key)
        if ends_sentence:
            yield raw, keys
            raw, keys = [], []
    if raw:
        yield raw, keys


#: Each token's (cleaned form, alias key, whether a sentence ends with it), as
#: :func:`_clean_token` and :func:`_token_key` give them: capitalized words repeat
#: endlessly ("The", "U.S.", "Reuters"), and a dict hit costs less than the two calls.
_token_readings: dict[str, tuple[str, str, bool]] = {}
_TOKEN_READINGS_LIMIT = 200_000


def _read_token(token: str) -> tuple[str, str, bool]:
    if len(_token_readings) >= _TOKEN_READINGS_LIMIT:
        _token_readings.clear()
    cleaned, ends_sentence = _clean_token(token)
    reading = _token_readings[token] = (cleaned, _token_key(cleaned), ends_sentence)
    return reading


def _match_tokens(
    raw: list[str], keys: list[str], gazetteer: Gazetteer
) -> tuple[list[Sequence[Candidate]], bool]:
    """Place phrases in one stretch of capitalized tokens, and whether they cover it all."""
    aliases = gazetteer.mention_aliases
    first_words = gazetteer.first_words
    found: list[Sequence[Candidate]] = []
    covered = True
    i, n_tokens = 0, len(keys)
    if keys[0] in _SENTENCE_OPENERS:
        i = 1
    while i < n_tokens:
        key = keys[i]
        if key in _CONNECTORS or not key:
            i += 1
            continue
        width = _longest_phrase(keys, i, aliases) if key in first_words else 0
        if width:
            candidates = aliases[" ".join(keys[i : i + width])]
        else:
            width = 1
            candidates = aliases.get(key)
            if candidates is None or not _shape_allowed(raw[i], key):
                covered = False
                candidates = []
        i += width
        if candidates and not (i < n_tokens and keys[i] in _CURRENCY_WORDS):
            found.append(candidates)
    if keys[-1] in _COMPANY_WORDS:
        return [], False
    return found, covered


def _longest_phrase(keys: list[str], start: int, aliases: dict[str, tuple[Candidate, ...]]) -> int:
    for width in range(min(_MAX_PHRASE, len(keys) - start), 1, -1):
        if keys[start + width - 1] in _CONNECTORS:
            continue
        if " ".join(keys[start : start + width]) in aliases:
            return width
    return 0


def scan_mentions(text: str, gazetteer: Gazetteer) -> list[Mention]:
    """Place-like phrases in ``text``, in order of appearance."""
    readings = _readings_for(gazetteer)
    mentions: list[Mention] = []
    for words, following in _RUN_AND_NEXT_WORD.findall(text):
        reading = readings.get(words)
        if reading is None:
            if len(readings) >= _READINGS_LIMIT:
                readings.clear()
            reading = readings[words] = _read_run(words, gazetteer)
        for found, covered, last, ready in reading:
            if last and following:
                kept = _drop_currency_and_speaker(found, covered, following)
                if kept is not found:
                    mentions.extend(Mention(candidates, covered) for candidates in kept)
                    continue
            mentions.extend(ready)
    return mentions


#: What a capitalized run says on its own: (phrases found, whether they cover the
#: stretch, whether it is the run's last stretch, the phrases' mentions) for each stretch
#: that has any. Mentions are immutable, so every article naming the run shares them.
RunReading = tuple[tuple[list[Sequence[Candidate]], bool, bool, tuple[Mention, ...]], ...]
#: Runs remembered per process: news repeats its names ("Reuters", "U.S.", "The
#: company") endlessly, and reading a run depends on nothing but the run.
_READINGS_LIMIT = 200_000
_readings: dict[str, RunReading] = {}
_readings_gazetteer: list[Gazetteer] = []


def _readings_for(gazetteer: Gazetteer) -> dict[str, RunReading]:
    """The memo of run readings made with ``gazetteer``: emptied when another one comes."""
    if not _readings_gazetteer or _readings_gazetteer[0] is not gazetteer:
        _readings.clear()
        _readings_gazetteer[:] = [gazetteer]
    return _readings


def _read_run(words: str, gazetteer: Gazetteer) -> RunReading:
    """The place phrases of one capitalized run, before the word after it is seen."""
    if _SEPARATOR.search(words) is None:
        # Most runs are one word ("The", "Reuters"): the short way round.
        token = _clean_token(words)[0]
        key = _token_key(token)
        candidates = gazetteer.mention_aliases.get(key)
        if candidates and key not in _CONNECTORS and _shape_allowed(token, key):
            return (([candidates], True, True, (Mention(candidates, True),)),)
        return ()
    sentences = list(_sentences_of(words))
    reading = []
    for index, (raw, keys) in enumerate(sentences):
        found, covered = _match_tokens(raw, keys, gazetteer)
        if found:
            mentions = tuple(Mention(candidates, covered) for candidates in found)
            reading.append((found, covered, index == len(sentences) - 1, mentions))
    return tuple(reading)


def _drop_currency_and_speaker(
    found: list[Sequence[Candidate]], covered: bool, following: str
) -> list[Sequence[Candidate]]:
    """ "U.S. dlrs" is money, "Lawson said" a person: the word after a run tells."""
    if following in _CURRENCY_WORDS:
        return found[:-1]
    if following in _SPEECH_WORDS and covered and len(found) == 1:
        speakers = [c for c in found[0] if c.kind != CITY or c.population >= _SPEAKING_CITY]
        return [speakers] if speakers else []
    return found


def countries_named(mentions: Iterable[Mention]) -> Counter[str]:
    """How often a story names each country outright, for reading its towns.

    Only names that mean one country count: "Georgia" (the country or the US
    state) settles nothing by itself.
    """
    named: Counter[str] = Counter()
    for mention in mentions:
        candidates = mention.candidates
        if not candidates or candidates[0].kind == CITY:
            continue
        countries = {c.country for c in candidates if c.kind != CITY}
        if len(countries) == 1:
            named[countries.pop()] += 1
    return named


def choose(
    candidates: Sequence[Candidate], home_countries: set[str], share: float = _HOME_COUNTRY_SHARE
) -> Candidate:
    """The best namesake, unless the story's own countries have a sizeable one.

    "Georgia" in an American story is the state; "Hanover" in one is the
    American town, not Hannover; "Paris" stays Paris, France.
    """
    best = candidates[0]
    if len(candidates) == 1 or not home_countries or best.country in home_countries:
        return best
    if best.kind == COUNTRY:
        for candidate in candidates[1:]:
            if candidate.kind == REGION and candidate.country in home_countries:
                return candidate
        return best
    floor = best.population * share
    for candidate in candidates[1:]:
        local = candidate.kind == CITY and candidate.country in home_countries
        if local and candidate.population >= floor:
            return candidate
    return best


def has_rivals(candidates: Sequence[Candidate], share: float = _HOME_COUNTRY_SHARE) -> bool:
    """Whether the story's countries could make :func:`choose` pass over the first candidate.

    Lets a caller skip reading the story when the answer cannot change
    ("LONDON": no other London is a twentieth of its size).
    """
    best = candidates[0]
    if best.kind == COUNTRY:
        return any(c.kind == REGION for c in candidates[1:])
    floor = best.population * share
    return any(
        c.kind == CITY and c.country != best.country and c.population >= floor
        for c in candidates[1:]
    )


def _credible(mention: Mention) -> Sequence[Candidate]:
    if mention.alone:
        return mention.candidates
    return [
        c
        for c in mention.candidates
        if c.kind != CITY or (not c.weak and c.population >= _NAME_PART_MIN_POPULATION)
    ]


def find_places_in(
    text: str, dateline_place: Place | None, gazetteer: Gazetteer
) -> tuple[Place, ...]:
    mentions = scan_mentions(text, gazetteer)
    home = set(countries_named(mentions))
    if dateline_place is not None and dateline_place.country:
        home.add(dateline_place.country)
    places: dict[str, Place] = {}
    if dateline_place is not None:
        places[dateline_place.key] = dateline_place
    for mention in mentions:
        candidates = _credible(mention)
        if candidates:
            chosen = choose(candidates, home)
            if chosen.kind != NATIONALITY:
                places.setdefault(chosen.place.key, chosen.place)
    return tuple(places.values())
