"""Text analysis: how article text and query text become index terms.

The same analyzer object turns text into terms when the index is built and when a
query is parsed, so the two can never disagree; :func:`analysis_config` describes it
and is recorded in every index generation, and opening an index built with a
different configuration is refused (see ``searchsvc.index``).

The pipeline is a chain of Whoosh components so Whoosh's highlighter and query
parser use it unchanged: :class:`NewsTokenizer` (an NLTK ``RegexpTokenizer``, which
needs no downloaded data, keeping character offsets and the combining marks inside
words) → :class:`NormalizeFilter` (lowercase, accents folded, Arabic diacritics, tatweel
and letter variants folded, ``U.S.`` → ``us``, possessive ``'s`` dropped) →
:class:`NewsStopFilter` (a deliberately short stopword list) →
:class:`CachedStemFilter` (a Snowball stemmer behind a cache, because stemming is the
hot loop of indexing).

Normalization is the same for every word whatever its language, so a query meets an
article whatever language either is guessed to be in. Stopwords and the stemmer are
chosen by the article's language (:func:`stopwords_for`, :func:`stemmer_for`): NLTK's
Snowball stemmers for the languages NLTK has, PySastrawi for Indonesian and Malay
(chosen by ``benchmarks/bench_indonesian_stemmers.py``), and for any other language
words are folded but neither stemmed nor stopped. An article whose language is not
known is analysed as English, the archive's analysis before languages were recorded
(:data:`UNDETERMINED_LANGUAGE`).

Indexing does not walk Token objects: :meth:`NewsAnalysis.surface_words` runs the
same component methods in one tight loop and returns plain strings, which
``searchsvc.index`` turns into postings for both the stemmed and the unstemmed
fields from a single tokenization.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from whoosh.analysis import CompositeAnalyzer, Filter, Token, Tokenizer

from searchsvc.nltk_parts import RegexpTokenizer, SnowballStemmer
from searchsvc.stopwords import STOPWORDS_BY_LANGUAGE

#: Bumped whenever the analysis changes in a way that changes the terms produced;
#: an index built by another version must be rebuilt.
ANALYSIS_VERSION = 2


def _combining_marks() -> str:
    """A regex character class body for the combining marks of the scripts in use.

    ``\\w`` does not match a mark, so "كِتَاب" (with its vowel marks) or "हिन्दी" would
    split at every mark. The marks of the Latin, Greek, Cyrillic, Hebrew, Arabic, Indic
    and South-East Asian blocks (U+0300-U+1DFF) and of the combining-symbol blocks are
    listed from Unicode's own categories, as escapes so the pattern stays plain ASCII.
    """
    blocks = ((0x0300, 0x1DFF), (0x20D0, 0x20FF), (0xFE20, 0xFE2F))
    marks = [
        code
        for first, last in blocks
        for code in range(first, last + 1)
        if unicodedata.category(chr(code)).startswith("M")
    ]
    ranges: list[list[int]] = []
    for code in marks:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(
        f"\\u{first:04x}" if first == last else f"\\u{first:04x}-\\u{last:04x}"
        for first, last in ranges
    )


#: A word: a word character, then word characters and combining marks.
_WORD = rf"\w[\w{_combining_marks()}]*"
#: Acronyms with dots (``U.S.``, ``U.K.``), numbers with separators (``1,275``,
#: ``3.5``), words with inner apostrophes (``company's``, ``O'Neill``).
TOKEN_PATTERN = rf"(?:[^\W\d_]\.){{2,}}|\d+(?:[.,]\d+)*|{_WORD}(?:['\u2019]{_WORD})*"
#: :data:`TOKEN_PATTERN` for ASCII text (compiled with ``re.ASCII``): the same tokens with
#: no combining marks or typographic apostrophe to look for, a third faster. Numbers are
#: tried first (an acronym cannot start with a digit), and ``(?:L\.){2,}`` is written
#: ``L(?:\.L)+\.``, which gives up at once when the second character is not a dot.
ASCII_TOKEN_PATTERN = r"\d+(?:[.,]\d+)*|[A-Za-z](?:\.[A-Za-z])+\.|\w+(?:'\w+)*"

#: Only function words that never carry meaning on their own in news text.
#: Kept searchable on purpose: "us" (U.S. folds to it), "new" (New York, New Delhi),
#: "may" (the month), "will", "can", "not"/"no" (negation matters in phrases),
#: "who" (WHO), "i" (World War I), "all", "more", "over", "after", "said".
STOPWORDS: frozenset[str] = frozenset(
    (
        *("a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "for", "from"),
        *("had", "has", "have", "he", "her", "his", "if", "in", "into", "is", "it", "its"),
        *("of", "on", "or", "she", "than", "that", "the", "their", "them", "there"),
        *("these", "they", "this", "those", "to", "was", "were", "which", "with"),
    )
)

#: Letters that Unicode decomposition does not split into base letter + accent.
_EXTRA_FOLDING = str.maketrans(
    {
        "\u00f8": "o",  # o with stroke
        "\u0142": "l",  # l with stroke
        "\u0111": "d",  # d with stroke
        "\u00f0": "d",  # eth
        "\u00fe": "th",  # thorn
        "\u00e6": "ae",
        "\u0153": "oe",
        "\u00df": "ss",  # sharp s
        "\u0131": "i",  # dotless i
        # Arabic: tatweel (a stretching stroke, no letter) goes; alef wasla, alef maqsura
        # and taa marbuta become the letters they are written for (hamzated alefs and
        # the vowel marks are split off by NFKD and dropped as combining marks).
        "\u0640": None,
        "\u0671": "\u0627",
        "\u0649": "\u064a",
        "\u0629": "\u0647",
    }
)
#: Scripts whose combining marks are vowels and consonant joiners, not accents: a
#: word in them keeps its marks (composed), or "हिन्दी" would fold to another word.
_MARKS_ARE_LETTERS = re.compile("[\u0900-\u0dff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")
_RIGHT_QUOTE = "\u2019"  # typographic apostrophe
_POSSESSIVE_ENDINGS = ("'s", _RIGHT_QUOTE + "s")
_STEM_CACHE_LIMIT = 200_000


def fold_word(word: str) -> str:
    """Lowercase ``word`` and strip accents, so ``Zürich`` and ``zurich`` meet.

    Arabic words lose their diacritics and tatweel and have their alef, yaa and taa
    marbuta variants folded, so "الكِتَاب" and "الكتاب", "أحمد" and "احمد" meet.
    """
    word = word.lower()
    if word.isascii():
        return word
    if _MARKS_ARE_LETTERS.search(word):
        return unicodedata.normalize("NFKC", word)
    decomposed = unicodedata.normalize("NFKD", word.translate(_EXTRA_FOLDING))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize_word(word: str) -> str:
    """The searchable form of one token as written (before stopwords and stemming)."""
    word = fold_word(word)
    if word.endswith(_POSSESSIVE_ENDINGS):
        word = word[:-2]
    if "." in word and not word[0].isdigit():
        word = word.replace(".", "")  # acronym: u.s. -> us
    elif "," in word:
        word = word.replace(",", "")  # number: 1,275 -> 1275
    if "'" in word or _RIGHT_QUOTE in word:
        word = word.replace("'", "").replace(_RIGHT_QUOTE, "")  # o'neill -> oneill
    return word


class _PickledAsConfig:
    """Pickled, compared and hashed by one configuration value.

    The schema, with its analysis components, is pickled into every index: only the
    configuration is kept (caches and compiled objects are rebuilt on load), and two
    components are equal when configured alike.
    """

    _config_attribute: str

    def __getstate__(self) -> dict[str, str]:
        return {self._config_attribute: getattr(self, self._config_attribute)}

    def __setstate__(self, state: dict[str, str]) -> None:
        self.__init__(state[self._config_attribute])

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__getstate__() == self.__getstate__()

    def __hash__(self) -> int:
        return hash((type(self).__name__, getattr(self, self._config_attribute)))


class NewsTokenizer(_PickledAsConfig, Tokenizer):
    """Splits text into word tokens with positions and character offsets."""

    _config_attribute = "pattern"

    def __init__(self, pattern: str = TOKEN_PATTERN) -> None:
        self.pattern = pattern
        self._nltk = RegexpTokenizer(pattern)
        # The same expression and flags RegexpTokenizer uses, for the indexing fast path.
        self.regexp = re.compile(pattern, re.UNICODE | re.MULTILINE | re.DOTALL)
        self._ascii_regexp = (
            re.compile(ASCII_TOKEN_PATTERN, re.ASCII) if pattern == TOKEN_PATTERN else self.regexp
        )

    def tokens(self, text: str) -> list[str]:
        """The tokens of ``text`` as written, in order: what :attr:`regexp` finds, found
        with :data:`ASCII_TOKEN_PATTERN` when the text is ASCII (most news in English)."""
        return (self._ascii_regexp if text.isascii() else self.regexp).findall(text)

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        return self._nltk.span_tokenize(text)

    def __call__(
        self,
        value: str | list[str],
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: object,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            # Whoosh passes pre-split words (a list value) with tokenize=False.
            words = [value] if isinstance(value, str) else value
            for pos, word in enumerate(words, start_pos):
                token.text = token.original = word
                token.stopped = False
                token.boost = 1.0
                if positions:
                    token.pos = pos
                yield token
            return
        for pos, (start, end) in enumerate(self.spans(value), start_pos):
            token.text = value[start:end]
            token.stopped = False
            token.boost = 1.0
            if keeporiginal:
                token.original = token.text
            if positions:
                token.pos = pos
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token


class NormalizeFilter(Filter):
    """Lowercases, folds accents and evens out acronyms, numbers and possessives."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            token.text = normalize_word(token.text)
            if token.text:
                yield token


class NewsStopFilter(Filter):
    """Drops the few function words in :data:`STOPWORDS`.

    Positions are renumbered over the kept words, as Whoosh's own StopFilter does,
    so the phrase "bank of america" matches text with and without the "of".

    Pickled (into every table of contents, with the schema) as a sorted tuple: a set
    pickles in the order of its string hashes, which ``PYTHONHASHSEED`` changes from
    process to process, so the same build would not write the same bytes twice.
    """

    def __init__(self, stopwords: frozenset[str] = STOPWORDS) -> None:
        self.stopwords = frozenset(stopwords)

    def __getstate__(self) -> dict[str, tuple[str, ...]]:
        return {"stopwords": tuple(sorted(self.stopwords))}

    def __setstate__(self, state: dict[str, Iterable[str]]) -> None:
        """Takes the sorted tuple, and the frozenset that indexes written before hold."""
        self.stopwords = frozenset(state["stopwords"])

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        stopwords = self.stopwords
        next_pos: int | None = None
        for token in tokens:
            if token.positions and next_pos is None:
                next_pos = token.pos  # the stream's start position
            if token.text in stopwords:
                if not token.removestops:
                    token.stopped = True
                    yield token
                continue
            if token.positions:
                token.pos = next_pos
                next_pos += 1
            yield token


class CachedStemFilter(_PickledAsConfig, Filter):
    """Stemming in one language (a Snowball name, or ``indonesian``), memoized: news
    vocabulary repeats endlessly."""

    is_morph = True
    _config_attribute = "language"

    def __init__(self, language: str = "english") -> None:
        self.language = language
        self._stemmer = _word_stemmer(language)
        self._cache: dict[str, str] = {}

    @property
    def cache(self) -> dict[str, str]:
        """Word -> stem for the words seen so far (callers may read, not write)."""
        return self._cache

    def stem(self, word: str) -> str:
        cache = self._cache
        stem = cache.get(word)
        if stem is None:
            if len(cache) >= _STEM_CACHE_LIMIT:
                cache.clear()
            stem = cache[word] = self._stemmer(word)
        return stem

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        stem = self.stem
        for token in tokens:
            if not token.stopped:
                token.text = stem(token.text)
            yield token


class NewsAnalysis(CompositeAnalyzer):
    """The analyzer chain, plus a fast path for indexing that gives the same terms."""

    def __getstate__(self) -> dict[str, object]:
        return {"items": self.items}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)

    @property
    def tokenizer(self) -> NewsTokenizer:
        return self.items[0]

    @property
    def stemmer(self) -> CachedStemFilter | None:
        last = self.items[-1]
        return last if isinstance(last, CachedStemFilter) else None

    def surface_words(self, text: str, stopwords: frozenset[str] | None = None) -> list[str]:
        """Normalized, stopword-free words of ``text`` in order; index ``i`` is position ``i``.

        The same words the Whoosh chain yields before stemming, computed without Token
        objects because indexing calls this for every article: each distinct token is
        normalized once and remembered. ``stopwords`` replaces the chain's own list (an
        article's language's list, see :func:`stopwords_for`).
        """
        cache, stopwords = self._surface_cache(stopwords)
        words = []
        append = words.append
        for token in self.tokenizer.tokens(text):
            word = cache.get(token)
            if word is None:
                word = _remember_surface(cache, stopwords, token)
            if word:
                append(word)
        return words

    def surface_positions(
        self, text: str, stopwords: frozenset[str] | None = None
    ) -> tuple[int, dict[str, list[int]]]:
        """:meth:`surface_words` as (word count, each word's positions), in one pass."""
        cache, stopwords = self._surface_cache(stopwords)
        positions: dict[str, list[int]] = {}
        pos = 0
        for token in self.tokenizer.tokens(text):
            word = cache.get(token)
            if word is None:
                word = _remember_surface(cache, stopwords, token)
            if word:
                found = positions.get(word)
                if found is None:
                    positions[word] = [pos]
                else:
                    found.append(pos)
                pos += 1
        return pos, positions

    def surface_counts(self, text: str, stopwords: frozenset[str] | None = None) -> dict[str, int]:
        """:meth:`surface_words` as each word's count, for readers that need no positions
        (feedback's word counts): the tokens are counted in C first, so the Python work is
        per distinct token, not per token."""
        cache, stopwords = self._surface_cache(stopwords)
        counts: dict[str, int] = {}
        for token, count in Counter(self.tokenizer.tokens(text)).items():
            word = cache.get(token)
            if word is None:
                word = _remember_surface(cache, stopwords, token)
            if word:
                counts[word] = counts.get(word, 0) + count
        return counts

    def _surface_cache(
        self, stopwords: frozenset[str] | None
    ) -> tuple[dict[str, str], frozenset[str]]:
        """(token -> surface word, the stopwords it applies) for one stopword list.

        Each list has its own memo, since a token is a stopword in one language only.
        """
        if stopwords is None:
            stopwords = self._stopwords()
        caches = self.__dict__.get("_surface_caches")
        if caches is None:
            caches = self.__dict__["_surface_caches"] = {}
        cache = caches.get(stopwords)
        if cache is None or len(cache) > _STEM_CACHE_LIMIT:
            cache = caches[stopwords] = {}
        return cache, stopwords

    def _stopwords(self) -> frozenset[str]:
        for item in self.items:
            if isinstance(item, NewsStopFilter):
                return item.stopwords
        return frozenset()


def _remember_surface(cache: dict[str, str], stopwords: frozenset[str], token: str) -> str:
    """The surface word of a token not yet in ``cache`` ("" for a stopword), remembered."""
    word = normalize_word(token)
    if word in stopwords:
        word = ""
    cache[token] = word
    return word


def make_analyzer(stem: bool = True) -> NewsAnalysis:
    """The news analyzer: stemmed for the main text fields, unstemmed for their companions."""
    chain = [NewsTokenizer(), NormalizeFilter(), NewsStopFilter()]
    if stem:
        chain.append(CachedStemFilter())
    return NewsAnalysis(*chain)


# --- languages -------------------------------------------------------------------------

#: The analysis of an article whose language is not known: English, as every article
#: was analysed before languages were recorded, so such archives keep their terms.
UNDETERMINED_LANGUAGE = "en"
#: The analysis key of a language that has no stemmer and no stopwords here.
UNSTEMMED = ""

#: ISO 639-1 code -> stemmer name (a Snowball language of NLTK's, or ``indonesian``).
STEMMERS: dict[str, str] = {
    "ar": "arabic",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "hu": "hungarian",
    "it": "italian",
    "no": "norwegian",
    "nb": "norwegian",
    "nn": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "es": "spanish",
    "sv": "swedish",
    "id": "indonesian",
    "ms": "indonesian",
}
#: Stopword lists of the codes that share another code's list.
_STOPWORDS_OF = {"nb": "no", "nn": "no"}
_INDONESIAN = "indonesian"
_ARABIC_TAA_MARBUTA, _ARABIC_HAA = "\u0629", "\u0647"


def analysis_language(code: str | None) -> str:
    """The key of the analysis an article in language ``code`` gets.

    A supported code is its own key; ``None`` (not known) is :data:`UNDETERMINED_LANGUAGE`;
    any other code is :data:`UNSTEMMED` (folded words, no stopwords, no stemming). A key
    is its own key.
    """
    if code is None:
        return UNDETERMINED_LANGUAGE
    return code if code in STEMMERS else UNSTEMMED


@functools.cache
def stopwords_for(language: str | None) -> frozenset[str]:
    """The stopwords of ``language`` (a code or analysis key), normalized as words are."""
    key = analysis_language(language)
    if key == "en":
        return STOPWORDS
    listed = STOPWORDS_BY_LANGUAGE.get(_STOPWORDS_OF.get(key, key), ())
    return frozenset(normalize_word(word) for word in listed)


@functools.cache
def stem_filter_for(language: str | None) -> CachedStemFilter | None:
    """The (cached) stemmer of ``language``, one per process; None for no stemming."""
    name = STEMMERS.get(analysis_language(language))
    return CachedStemFilter(name) if name else None


def stemmer_for(language: str | None) -> Callable[[str], str]:
    """The stem function of ``language``: the word itself where nothing is stemmed."""
    stem_filter = stem_filter_for(language)
    return stem_filter.stem if stem_filter is not None else _unchanged


def strips_prefixes(language: str | None) -> bool:
    """Whether ``language``'s stemmer may remove letters at the start of a word."""
    return STEMMERS.get(analysis_language(language)) in (_INDONESIAN, "arabic")


def _unchanged(word: str) -> str:
    return word


def _word_stemmer(name: str) -> Callable[[str], str]:
    """A function stemming one normalized word with the stemmer ``name``."""
    if name == _INDONESIAN:
        return _indonesian_stemmer()
    stem = SnowballStemmer(name).stem
    return _arabic_stemmer(stem) if name == "arabic" else _numbers_kept(stem)


def _numbers_kept(stem: Callable[[str], str]) -> Callable[[str], str]:
    """``stem``, with words of ASCII digits given back as they are without calling it.

    Every rule of a Snowball stemmer removes or changes letters, so a number comes out
    unchanged (a test holds each language's stemmer to that); news is full of them (a
    fifth of the distinct words of Reuters), and Snowball takes about 7 µs a word to
    find that nothing applies.
    """

    def stem_word(word: str) -> str:
        if word.isdigit() and word.isascii():
            return word
        return stem(word)

    return stem_word


def _indonesian_stemmer() -> Callable[[str], str]:
    """PySastrawi's dictionary stemmer, without its own unbounded cache (ours bounds it).

    Imported here: loading its dictionary costs a few hundred milliseconds that archives
    without Indonesian or Malay never pay.
    """
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer().delegatedStemmer.stem_word


def _arabic_stemmer(stem: Callable[[str], str]) -> Callable[[str], str]:
    """Snowball Arabic on folded words: a final haa is given back as taa marbuta first.

    Normalization folds taa marbuta into haa; Snowball reads a final haa as the pronoun
    "his" and strips it only when no article precedes, so "مدرسه" and "المدرسه" would part.
    As taa marbuta both lose it, and a real pronoun ending is stripped as before.
    """

    def stem_folded(word: str) -> str:
        if word.endswith(_ARABIC_HAA):
            word = word[:-1] + _ARABIC_TAA_MARBUTA
        return stem(word).replace(_ARABIC_TAA_MARBUTA, _ARABIC_HAA)

    return stem_folded


def _stoplist_digest(stopwords: frozenset[str]) -> str:
    return hashlib.sha256("\n".join(sorted(stopwords)).encode()).hexdigest()[:16]


def _stemmer_description(name: str) -> str:
    if name == _INDONESIAN:
        return "pysastrawi(indonesian)"
    return f"nltk.SnowballStemmer({name})"


def analysis_config() -> dict[str, object]:
    """What an index records about its analysis; a different value forces a rebuild."""
    languages = {
        code: {
            "stemmer": _stemmer_description(name),
            "stopwords_sha256": _stoplist_digest(stopwords_for(code)),
            "stopwords_count": len(stopwords_for(code)),
        }
        for code, name in sorted(STEMMERS.items())
    }
    return {
        "version": ANALYSIS_VERSION,
        "tokenizer": f"nltk.RegexpTokenizer({TOKEN_PATTERN})",
        "folding": "lowercase+nfkd+arabic",
        "stopwords_sha256": _stoplist_digest(STOPWORDS),
        "stopwords_count": len(STOPWORDS),
        "stemmer": "nltk.SnowballStemmer(english)",
        "languages": languages,
        "undetermined_language": UNDETERMINED_LANGUAGE,
        "other_languages": "folded, not stemmed, no stopwords",
    }
