"""Text analysis: how article text and query text become index terms.

The same analyzer object turns text into terms when the index is built and when a
query is parsed, so the two can never disagree; :func:`analysis_config` describes it
and is recorded in every index generation, and opening an index built with a
different configuration is refused (see ``searchsvc.index``).

The pipeline is a chain of Whoosh components so Whoosh's highlighter and query
parser use it unchanged: :class:`NewsTokenizer` (an NLTK ``RegexpTokenizer``, which
needs no downloaded data, keeping character offsets) → :class:`NormalizeFilter`
(lowercase, accents folded, ``U.S.`` → ``us``, possessive ``'s`` dropped) →
:class:`NewsStopFilter` (a deliberately short stopword list) →
:class:`CachedStemFilter` (NLTK's Snowball English stemmer behind a cache, because
stemming is the hot loop of indexing).

Indexing does not walk Token objects: :meth:`NewsAnalysis.surface_words` runs the
same component methods in one tight loop and returns plain strings, which
``searchsvc.index`` turns into postings for both the stemmed and the unstemmed
fields from a single tokenization.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator

from nltk.stem.snowball import SnowballStemmer
from nltk.tokenize import RegexpTokenizer
from whoosh.analysis import CompositeAnalyzer, Filter, Token, Tokenizer

#: Bumped whenever the analysis changes in a way that changes the terms produced;
#: an index built by another version must be rebuilt.
ANALYSIS_VERSION = 1

#: Acronyms with dots (``U.S.``, ``U.K.``), numbers with separators (``1,275``,
#: ``3.5``), words with inner apostrophes (``company's``, ``O'Neill``).
TOKEN_PATTERN = r"(?:[^\W\d_]\.){2,}|\d+(?:[.,]\d+)*|\w+(?:['\u2019]\w+)*"

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
    }
)
_RIGHT_QUOTE = "\u2019"  # typographic apostrophe
_POSSESSIVE_ENDINGS = ("'s", _RIGHT_QUOTE + "s")
_STEM_CACHE_LIMIT = 200_000


def fold_word(word: str) -> str:
    """Lowercase ``word`` and strip accents, so ``Zürich`` and ``zurich`` meet."""
    word = word.lower()
    if word.isascii():
        return word
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
    """

    def __init__(self, stopwords: frozenset[str] = STOPWORDS) -> None:
        self.stopwords = frozenset(stopwords)

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
    """Snowball English stemming, memoized: news vocabulary repeats endlessly."""

    is_morph = True
    _config_attribute = "language"

    def __init__(self, language: str = "english") -> None:
        self.language = language
        self._stemmer = SnowballStemmer(language)
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
            stem = cache[word] = self._stemmer.stem(word)
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

    def surface_words(self, text: str) -> list[str]:
        """Normalized, stopword-free words of ``text`` in order; index ``i`` is position ``i``.

        The same words the Whoosh chain yields before stemming, computed without Token
        objects because indexing calls this for every article: each distinct token is
        normalized once and remembered.
        """
        cache = self.__dict__.get("_surface_cache")
        if cache is None or len(cache) > _STEM_CACHE_LIMIT:
            cache = self.__dict__["_surface_cache"] = {}
        stopwords = self._stopwords()
        words = []
        append = words.append
        for token in self.tokenizer.regexp.findall(text):
            word = cache.get(token)
            if word is None:
                word = normalize_word(token)
                if word in stopwords:
                    word = ""
                cache[token] = word
            if word:
                append(word)
        return words

    def surface_positions(self, text: str) -> tuple[int, dict[str, list[int]]]:
        """:meth:`surface_words` as (word count, each word's positions), in one pass."""
        cache = self.__dict__.get("_surface_cache")
        if cache is None or len(cache) > _STEM_CACHE_LIMIT:
            cache = self.__dict__["_surface_cache"] = {}
        stopwords = self._stopwords()
        positions: dict[str, list[int]] = {}
        pos = 0
        for token in self.tokenizer.regexp.findall(text):
            word = cache.get(token)
            if word is None:
                word = normalize_word(token)
                if word in stopwords:
                    word = ""
                cache[token] = word
            if word:
                found = positions.get(word)
                if found is None:
                    positions[word] = [pos]
                else:
                    found.append(pos)
                pos += 1
        return pos, positions

    def _stopwords(self) -> frozenset[str]:
        for item in self.items:
            if isinstance(item, NewsStopFilter):
                return item.stopwords
        return frozenset()


def make_analyzer(stem: bool = True) -> NewsAnalysis:
    """The news analyzer: stemmed for the main text fields, unstemmed for their companions."""
    chain = [NewsTokenizer(), NormalizeFilter(), NewsStopFilter()]
    if stem:
        chain.append(CachedStemFilter())
    return NewsAnalysis(*chain)


def analysis_config() -> dict[str, object]:
    """What an index records about its analysis; a different value forces a rebuild."""
    stoplist = "\n".join(sorted(STOPWORDS)).encode()
    return {
        "version": ANALYSIS_VERSION,
        "tokenizer": f"nltk.RegexpTokenizer({TOKEN_PATTERN})",
        "folding": "lowercase+nfkd",
        "stopwords_sha256": hashlib.sha256(stoplist).hexdigest()[:16],
        "stopwords_count": len(STOPWORDS),
        "stemmer": "nltk.SnowballStemmer(english)",
    }
