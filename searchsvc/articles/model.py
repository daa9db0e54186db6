"""The clean records every later stage works from.

Readers turn source files into :class:`Article` values; nothing downstream ever
looks at a source file again, so everything the index, the search page and the
JSON API need must be carried here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

DateSource = Literal["metadata", "source", "dateline", "none"]
SourceFormat = Literal["wire", "jsonl", "reuters", "html", "feed"]
#: The longest article id kept as given, in UTF-8 bytes: OpenSearch refuses a longer
#: document id, and both engines must know an article by the same id (see :func:`fitted_id`).
MAX_ID_BYTES = 512
_ID_DIGEST_BYTES = 8


def fitted_id(article_id: str) -> str:
    """``article_id``, or, when longer than :data:`MAX_ID_BYTES`, its start and a digest of
    the whole: the same id for the same text, whoever asks (a build, a watch, a lookup, a
    delete) and whichever engine answers. A feed's GUID may be a URL full of tracking
    parameters; its article must still be indexed, fetched, linked and deleted."""
    if len(article_id) * 4 <= MAX_ID_BYTES:  # short enough in any encoding: the usual case
        return article_id
    whole = article_id.encode("utf-8", "surrogatepass")
    if len(whole) <= MAX_ID_BYTES:
        return article_id
    digest = hashlib.blake2b(whole, digest_size=_ID_DIGEST_BYTES).hexdigest()
    kept = whole[: MAX_ID_BYTES - len(digest) - 1].decode("utf-8", "ignore")  # whole characters
    return f"{kept}-{digest}"


@dataclass(frozen=True)
class Place:
    """A place normalized against the gazetteer.

    ``key`` is the stable facet key (it must not change between builds for the
    same place), ``display`` is what people read (``Baku, Azerbaijan``).
    ``country`` is an ISO 3166 alpha-2 code, or ``None`` when unknown.
    """

    key: str
    name: str
    country: str | None
    country_name: str | None
    display: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "country": self.country,
            "country_name": self.country_name,
            "display": self.display,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Place:
        return cls(
            key=data["key"],
            name=data["name"],
            country=data.get("country"),
            country_name=data.get("country_name"),
            display=data["display"],
        )


@dataclass(frozen=True)
class Article:
    """One news story, cleaned of boilerplate and with its facets resolved.

    ``origin`` says where it came from (``path:line`` for a line-based source,
    ``path#N`` for the Nth record of a file) so a bad record can be found again.
    """

    id: str
    title: str
    body: str
    dateline: str | None = None
    dateline_place: Place | None = None
    places: tuple[Place, ...] = ()
    date: dt.date | None = None
    date_source: DateSource = "none"
    source: str | None = None
    author: str | None = None
    #: ISO 639-1 code, lowercase ("en", "id", "ar"), as the source declares it or as
    #: detected (articles/languages.py); None when not known.
    language: str | None = None
    url: str | None = None
    origin: str = ""
    format: SourceFormat = "wire"

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", fitted_id(self.id))

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape printed by ``searchsvc ingest --json``."""
        return {
            "id": self.id,
            "title": self.title,
            "body": self.body,
            "dateline": self.dateline,
            "dateline_place": self.dateline_place.to_dict() if self.dateline_place else None,
            "places": [place.to_dict() for place in self.places],
            "date": self.date.isoformat() if self.date else None,
            "date_source": self.date_source,
            "source": self.source,
            "author": self.author,
            "language": self.language,
            "url": self.url,
            "origin": self.origin,
            "format": self.format,
        }

    def content_digest(self) -> str:
        """What tells an article changed from the one indexed: all it holds but where it
        was read (its ``origin``, which a line added above it moves, is not searched)."""
        return digest_of_fields(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        """The article :meth:`to_dict` printed (a record written before languages were
        kept has none)."""
        place = data.get("dateline_place")
        date = data.get("date")
        return cls(
            id=data["id"],
            title=data["title"],
            body=data["body"],
            dateline=data.get("dateline"),
            dateline_place=Place.from_dict(place) if place else None,
            places=tuple(Place.from_dict(p) for p in data.get("places", ())),
            date=dt.date.fromisoformat(date) if date else None,
            date_source=data.get("date_source", "none"),
            source=data.get("source"),
            author=data.get("author"),
            url=data.get("url"),
            origin=data.get("origin", ""),
            format=data.get("format", "wire"),
            language=data.get("language"),
        )


@dataclass
class IngestReport:
    """What happened while reading a corpus: nothing is skipped or repaired silently.

    Readers call :meth:`skip` and :meth:`repair` with a short, stable reason
    (``"binary file"``, ``"undecodable bytes"``…); a few example origins are kept per
    reason so a user can go and look.
    """

    read_by_format: Counter[str] = field(default_factory=Counter)
    #: Articles by language code; "" counts those whose language is unknown.
    languages: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    repaired: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    files: int = 0
    places_found: int = 0
    articles_with_place: int = 0

    max_examples = 3

    @property
    def articles(self) -> int:
        return sum(self.read_by_format.values())

    def count_article(self, article: Article) -> None:
        self.read_by_format[article.format] += 1
        self.languages[article.language or ""] += 1
        self.places_found += len(article.places)
        if article.dateline_place is not None:
            self.articles_with_place += 1
        if not article.title:
            self.repair("missing title", article.origin)

    def skip(self, reason: str, origin: str) -> None:
        self.skipped[reason] += 1
        self._remember(reason, origin)

    def repair(self, reason: str, origin: str) -> None:
        self.repaired[reason] += 1
        self._remember(reason, origin)

    def _remember(self, reason: str, origin: str) -> None:
        kept = self.examples.setdefault(reason, [])
        if len(kept) < self.max_examples:
            kept.append(origin)

    def merge(self, other: IngestReport) -> None:
        """Fold in a report produced elsewhere (e.g. by a worker process)."""
        self.read_by_format.update(other.read_by_format)
        self.languages.update(other.languages)
        self.skipped.update(other.skipped)
        self.repaired.update(other.repaired)
        self.files += other.files
        self.places_found += other.places_found
        self.articles_with_place += other.articles_with_place
        for reason, origins in other.examples.items():
            for origin in origins:
                self._remember(reason, origin)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "articles": self.articles,
            "read_by_format": dict(sorted(self.read_by_format.items())),
            "languages": dict(sorted(self.languages.items())),
            "skipped": dict(sorted(self.skipped.items())),
            "repaired": dict(sorted(self.repaired.items())),
            "examples": {reason: list(v) for reason, v in sorted(self.examples.items())},
            "places_found": self.places_found,
            "articles_with_place": self.articles_with_place,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IngestReport:
        report = cls(
            read_by_format=Counter(data.get("read_by_format", {})),
            languages=Counter(data.get("languages", {})),
            skipped=Counter(data.get("skipped", {})),
            repaired=Counter(data.get("repaired", {})),
            examples={k: list(v) for k, v in data.get("examples", {}).items()},
            files=data.get("files", 0),
            places_found=data.get("places_found", 0),
            articles_with_place=data.get("articles_with_place", 0),
        )
        return report

    def format_text(self) -> str:
        """The human-readable report the CLI prints."""
        lines = [f"files read: {self.files}", f"articles read: {self.articles}"]
        lines += [f"  {fmt}: {n}" for fmt, n in sorted(self.read_by_format.items())]
        if self.languages:
            languages = (f"{code or 'unknown'} {n}" for code, n in self.languages.most_common())
            lines.append(f"languages: {', '.join(languages)}")
        lines.append(f"skipped: {sum(self.skipped.values())}")
        lines += [self._reason_line(r, n) for r, n in sorted(self.skipped.items())]
        lines.append(f"repaired: {sum(self.repaired.values())}")
        lines += [self._reason_line(r, n) for r, n in sorted(self.repaired.items())]
        lines.append(
            f"places found: {self.places_found} "
            f"({self.articles_with_place} articles with a dateline place)"
        )
        return "\n".join(lines)

    def _reason_line(self, reason: str, count: int) -> str:
        examples = ", ".join(self.examples.get(reason, []))
        return f"  {reason}: {count}" + (f" (e.g. {examples})" if examples else "")


def digest_of_fields(fields: dict[str, Any]) -> str:
    """:meth:`Article.content_digest` of an article's :meth:`~Article.to_dict` fields (an
    index's stored record gives them back), its ``origin`` left out."""
    fields = {key: value for key, value in fields.items() if key != "origin"}
    text = json.dumps(fields, sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()
