"""The index schema, and how one :class:`Article` becomes one index document.

Field names are shared with ``searchsvc.search`` and ``searchsvc.web``:

``id``            unique id, stored, sortable column
``title``/``body``  stemmed news analysis, stored as written, positions; title boosted
``title_words``/``body_words``  the same words unstemmed (phrases, highlighting,
                  fuzzy terms, spelling), positions, not stored
``place``         dateline place key (exact), sortable column
``place_name``    words of the dateline place's display name, unstemmed
``places``        keys of all places mentioned (exact, multi-valued)
``places_column`` column only: the ``places`` keys joined by spaces, UTF-8 bytes
``source``        source/agency lowercased (exact), sortable column
``language``      the article's ISO 639-1 code (exact), sortable column; absent when not
                  known. The stemmed fields use that language's stopwords and stemmer,
                  the ``*_words`` fields its stopwords (``searchsvc.analysis``)
``date``          DATETIME terms (Whoosh's own date queries); absent when undated
``date_ordinal``  column only: ``date.toordinal()``, 0 when undated; the one date column
                  (searching, sorting and the histogram read it)
``versions``      column only: the MinHash signature that groups copies of a story
``article``       stored dict with what a result needs beyond title and body
``feedback_terms`` stored: the title and body terms feedback weighs, with their counts
                  (``searchsvc.index.termlists``); absent from indexes of version 3
"""

from __future__ import annotations

import datetime as dt
import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

import numpy as np
from whoosh import columns
from whoosh.fields import COLUMN, DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.formats import Positions

from searchsvc.analysis import (
    CachedStemFilter,
    NewsAnalysis,
    analysis_language,
    make_analyzer,
    stem_filter_for,
    stopwords_for,
)
from searchsvc.articles.batches import BATCH_ARTICLES
from searchsvc.articles.model import Article, digest_of_fields
from searchsvc.index.termlists import FEEDBACK_TERMS_FIELD, feedback_terms
from searchsvc.index.versions import signature, signatures

#: Bumped when fields or files change in a way an existing program cannot read: an older
#: program refuses an index of a newer version. 3: postings blocks whose ids and weights are
#: stored plain (``searchsvc.index.codec.VALUES_COMPRESSED``), small weight multiples two a
#: byte. 4: each article's record stores its feedback terms (``feedback_terms``).
SCHEMA_VERSION = 4
#: Versions this program reads: version 2 differs only in how postings blocks are
#: compressed, which every block's header records, and in weight encodings it never wrote;
#: feedback reads the articles of versions 2 and 3, which store no terms, from their text.
READABLE_SCHEMA_VERSIONS = (2, 3, SCHEMA_VERSION)
TITLE_BOOST = 2.0


class AnalyzedText:
    """Text already split into surface words, ready for any news field.

    Building tokenizes each title and body once and hands the result to the stemmed
    field and to its unstemmed companion. ``positions`` maps each surface word to
    its positions, in order; ``language`` is the analysis key of the text's language
    (:func:`searchsvc.analysis.analysis_language`), whose stemmer the stemmed field uses.
    """

    __slots__ = ("language", "length", "positions")

    def __init__(self, length: int, positions: dict[str, list[int]], language: str = "en") -> None:
        self.length = length
        self.positions = positions
        self.language = language

    @classmethod
    def of(cls, text: str, analyzer: NewsAnalysis, language: str | None = None) -> AnalyzedText:
        """``text`` analysed with ``language``'s stopwords (an unknown one: see
        :func:`~searchsvc.analysis.analysis_language`)."""
        key = analysis_language(language or None)
        return cls(*analyzer.surface_positions(text, stopwords_for(key)), key)


#: The widths of a position value: its first byte names the array type of the rest.
_WIDE, _WIDEST = b"H", b"I"
_ITEM_SIZES = {ord(code): array(code).itemsize for code in ("B", "H", "I")}
#: The same sizes by type byte for NumPy (0: not a type byte of a position value).
_SPAN_ITEM_SIZES = np.zeros(256, dtype=np.int64)
_SPAN_ITEM_SIZES[list(_ITEM_SIZES)] = list(_ITEM_SIZES.values())
#: The type byte of each item width (0: no such width).
_TYPE_BYTES = np.zeros(5, dtype=np.uint8)
_TYPE_BYTES[list(_ITEM_SIZES.values())] = list(_ITEM_SIZES)
_BIG_ENDIAN = sys.byteorder == "big"


class CompactPositions(Positions):
    """Positions as one type byte and the absolute positions as little-endian integers.

    Whoosh's ``Positions`` writes a 4-byte count and a pickled list of deltas: 13 bytes
    for one position, and most postings of news text are one position below 65,536
    (2 or 3 bytes here: the narrowest of 8, 16 or 32 bits that holds the last position).
    Decoding is one ``array`` copy, in C; the frequency is the value's length over the
    width, without decoding.
    """

    def encode(self, poslist: list[int]) -> bytes:
        last = poslist[-1] if poslist else 0
        if last <= 0xFF:
            return b"B" + bytes(poslist)
        code = _WIDE if last <= 0xFFFF else _WIDEST
        values = array(code.decode(), poslist)
        if _BIG_ENDIAN:
            values.byteswap()
        return code + values.tobytes()

    def encode_spans(
        self, counts: np.ndarray, positions: np.ndarray
    ) -> tuple[bytes, np.ndarray, np.ndarray]:
        """:meth:`encode` of many sorted position lists at once, laid end to end in
        ``positions`` (``counts[i]`` of them for the ``i``-th): the values end to end, and
        where each starts and how long it is. A segment writer encodes a field's postings
        so at its close, where one call per posting cost more than the rest of the writing."""
        counts = counts.astype(np.int64)
        positions = positions.astype(np.int64)
        firsts = np.cumsum(counts) - counts
        last = np.zeros(len(counts), dtype=np.int64)
        written = counts > 0
        last[written] = positions[firsts[written] + counts[written] - 1]
        widths = np.where(last <= 0xFF, 1, np.where(last <= 0xFFFF, 2, 4))
        lengths = 1 + counts * widths
        starts = np.cumsum(lengths) - lengths
        buffer = np.zeros(int(lengths.sum()), dtype=np.uint8)
        buffer[starts] = _TYPE_BYTES[widths]
        owner = np.repeat(np.arange(len(counts)), counts)
        width = widths[owner]
        at = starts[owner] + 1 + (np.arange(len(positions)) - firsts[owner]) * width
        for byte in range(4):  # little-endian, as written on every machine
            wide = np.flatnonzero(width > byte)
            buffer[at[wide] + byte] = (positions[wide] >> (8 * byte)) & 0xFF
        return buffer.tobytes(), starts, lengths

    def decode_positions(self, valuestring: bytes) -> list[int]:
        values = array(chr(valuestring[0]), valuestring[1:])
        if _BIG_ENDIAN:
            values.byteswap()
        return values.tolist()

    def decode_frequency(self, valuestring: bytes) -> int:
        return (len(valuestring) - 1) // _ITEM_SIZES[valuestring[0]]

    def decode_spans(
        self, buffer: np.ndarray, starts: np.ndarray, ends: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`decode_positions` of the values at ``starts:ends`` of ``buffer`` (bytes)
        at once: how many positions each has (none for an empty span), and all of them
        value after value. A phrase reads the positions of every article with all its
        words, and one ``array`` and one list per value cost more than the reading."""
        sizes = ends - starts
        written = np.flatnonzero(sizes > 0)
        widths = _SPAN_ITEM_SIZES[buffer[starts[written]]]
        if not widths.all() or ((sizes[written] - 1) % widths).any():
            raise ValueError("position value of an unknown type or a partial item")
        counts = np.zeros(len(starts), dtype=np.int64)
        counts[written] = (sizes[written] - 1) // widths
        owner = np.repeat(np.arange(len(written)), counts[written])
        first_item = np.cumsum(counts[written]) - counts[written]
        width = widths[owner]
        at = starts[written][owner] + 1 + (np.arange(len(owner)) - first_item[owner]) * width
        positions = buffer[at].astype(np.int64)
        for byte in (1, 2, 3):  # little-endian, as written on every machine
            wide = np.flatnonzero(width > byte)
            positions[wide] += buffer[at[wide] + byte].astype(np.int64) << (8 * byte)
        return counts, positions


class NewsText(TEXT):
    """A TEXT field whose postings come from the analyzer's fast path.

    Query parsing and highlighting go through the ordinary Whoosh analyzer chain;
    only indexing takes the shortcut, which yields the same terms and positions.
    Positions are written in :class:`CompactPositions`.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(self.format, Positions):
            self.format = CompactPositions(field_boost=self.format.field_boost)

    def term_positions(self, value: str | AnalyzedText) -> dict[str, list[int]]:
        """Each indexed term of ``value`` with its (sorted) positions."""
        if not isinstance(value, AnalyzedText):
            value = AnalyzedText.of(value, self.analyzer)
        terms = self.surface_terms(value)
        if terms is None:
            return value.positions
        return merged_positions(terms, value.positions.values())

    def surface_terms(self, value: AnalyzedText) -> list[str] | None:
        """The term of each of ``value``'s surface words, in the order of its positions;
        None where the terms are the words themselves (an unstemmed field or language).

        The stems are read from the stemmer's memo by one C-level ``map``; only words it
        has not seen reach the stemmer.
        """
        stemmer = self._stemmer(value.language)
        if stemmer is None:
            return None
        terms = list(map(stemmer.cache.get, value.positions))
        if None in terms:
            stem = stemmer.stem
            terms = [
                stem(word) if term is None else term
                for word, term in zip(value.positions, terms, strict=True)
            ]
        return terms

    def term_counts(self, text: str, language: str | None = None) -> dict[str, int]:
        """Each indexed term of ``text`` (as :meth:`term_positions` reads it in
        ``language``) with its count: the same terms, without building positions."""
        key = analysis_language(language or None)
        counts = self.analyzer.surface_counts(text, stopwords_for(key))
        stemmer = self._stemmer(key)
        if stemmer is None:
            return counts
        stem = stemmer.stem
        known = stemmer.cache
        stemmed: dict[str, int] = {}
        for word, count in counts.items():
            term = known.get(word) or stem(word)
            stemmed[term] = stemmed.get(term, 0) + count
        return stemmed

    def _stemmer(self, language: str) -> CachedStemFilter | None:
        """The process-wide stemmer of ``language`` (an analysis key) where the field
        stems: the one whose memo an article's feedback terms fill first
        (``searchsvc.index.termlists``), so a word new to the process is stemmed once."""
        if self.analyzer.stemmer is None:
            return None
        return stem_filter_for(language)

    def index(self, value: str | AnalyzedText | list | tuple, **kwargs: Any) -> Iterator[tuple]:
        if isinstance(value, (list, tuple)) or not isinstance(self.analyzer, NewsAnalysis):
            yield from super().index(value, **kwargs)
            return
        encode = self.format.encode
        boost = self.format.field_boost
        for word, poslist in self.term_positions(value).items():
            yield word.encode("utf-8"), len(poslist), len(poslist) * boost, encode(poslist)


def merged_positions(terms: list[str], lists: Iterable[list[int]]) -> dict[str, list[int]]:
    """Each term with the sorted positions of the words it stands for (``terms[i]`` for the
    words whose positions are the ``i``-th of ``lists``); the lists are not changed.

    Most articles have no two words with one stem, and then the lists are taken as they are.
    """
    lists = list(lists)
    by_term = dict(zip(terms, lists, strict=True))
    if len(by_term) == len(lists):
        return by_term
    by_term = {}
    merged = []
    for term, positions in zip(terms, lists, strict=True):
        found = by_term.get(term)
        if found is None:
            by_term[term] = positions
        else:
            by_term[term] = found + positions
            merged.append(term)
    for term in merged:
        by_term[term].sort()
    return by_term


def make_schema() -> Schema:
    stemmed = make_analyzer(stem=True)
    plain = make_analyzer(stem=False)
    return Schema(
        id=ID(stored=True, unique=True, sortable=True),
        title=NewsText(analyzer=stemmed, stored=True, field_boost=TITLE_BOOST),
        body=NewsText(analyzer=stemmed, stored=True),
        title_words=NewsText(analyzer=plain, field_boost=TITLE_BOOST),
        body_words=NewsText(analyzer=plain),
        place=ID(sortable=True),
        place_name=NewsText(analyzer=plain),
        places=KEYWORD(scorable=False),
        places_column=COLUMN(columns.VarBytesColumn()),
        source=ID(sortable=True),
        language=ID(sortable=True),
        date=DATETIME(),
        date_ordinal=COLUMN(columns.NumericColumn("i", default=0)),
        versions=COLUMN(columns.VarBytesColumn()),
        article=STORED(),
        feedback_terms=STORED(),
    )


def article_documents(articles: Sequence[Article], plain: NewsAnalysis) -> list[dict[str, Any]]:
    """:func:`article_document` of each of ``articles``, their copy signatures computed
    together (a few NumPy calls for many articles rather than for each)."""
    texts = [(article.title, article.body) for article in articles]
    return [
        article_document(article, plain, versions=found)
        for article, found in zip(articles, signatures(texts), strict=True)
    ]


def documents_for(
    articles: Iterable[Article], plain: NewsAnalysis, schema: Schema
) -> Iterator[dict[str, Any]]:
    """The documents of ``articles`` for an index of ``schema``, made
    :data:`BATCH_ARTICLES` at a time so that their copy signatures are computed together
    (one at a time, signatures took a tenth of an update's CPU)."""
    articles = iter(articles)
    while batch := list(islice(articles, BATCH_ARTICLES)):
        for document in article_documents(batch, plain):
            yield fitted_document(document, schema)


def fitted_document(document: dict[str, Any], schema: Schema) -> dict[str, Any]:
    """``document`` for an index of ``schema``: one built before articles stored their
    feedback terms (schema version 3) has no field for them, and feedback reads its
    articles' terms from their text, added ones too."""
    if FEEDBACK_TERMS_FIELD not in schema:
        document.pop(FEEDBACK_TERMS_FIELD, None)
    return document


def article_document(
    article: Article, plain: NewsAnalysis, versions: bytes | None = None
) -> dict[str, Any]:
    """The keyword arguments for ``writer.add_document`` for one article.

    ``plain`` is the unstemmed analyzer of the schema being written; each text is
    split once and shared by the stemmed field and its unstemmed companion.
    ``versions``: the article's copy signature, if already computed.
    """
    title = AnalyzedText.of(article.title, plain, article.language)
    body = AnalyzedText.of(article.body, plain, article.language)
    doc: dict[str, Any] = {
        "id": article.id,
        "title": title,
        "_stored_title": article.title,
        "title_words": title,
        "body": body,
        "_stored_body": article.body,
        "body_words": body,
        "article": display_record(article),
        "versions": signature(article.title, article.body) if versions is None else versions,
        FEEDBACK_TERMS_FIELD: feedback_terms((title.positions, body.positions), title.language),
    }
    if article.dateline_place is not None:
        doc["place"] = article.dateline_place.key
        doc["place_name"] = article.dateline_place.display
    if article.places:
        keys = " ".join(dict.fromkeys(place.key for place in article.places))
        doc["places"] = keys
        doc["places_column"] = keys.encode("utf-8")
    if article.source:
        doc["source"] = article.source.lower()
    if article.language:
        doc["language"] = article.language
    if article.date is not None:
        doc["date"] = dt.datetime(article.date.year, article.date.month, article.date.day)
        doc["date_ordinal"] = article.date.toordinal()
    return doc


def display_record(article: Article) -> dict[str, Any]:
    """The stored ``article`` dict: what a search result shows besides title and body."""
    shown = article.to_dict()
    for indexed_separately in ("id", "title", "body"):
        del shown[indexed_separately]
    return shown


def stored_content_digest(stored: dict[str, Any]) -> str | None:
    """:meth:`Article.content_digest` of the article whose stored fields are ``stored``
    (from :func:`article_document`), None for a record that does not hold one whole."""
    if not {"id", "title", "body"} <= stored.keys():
        return None
    return kept_content_digest(stored["id"], stored["title"], stored["body"], stored.get("article"))


def kept_content_digest(article_id: str, title: str, body: str, record: Any) -> str | None:
    """:meth:`Article.content_digest` of an indexed article from what an index kept of
    it: its text and its :func:`display_record` (None where that is not one)."""
    if not isinstance(record, dict):
        return None
    return digest_of_fields({**record, "id": article_id, "title": title, "body": body})
