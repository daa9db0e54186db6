"""Articles an index already holds as they are given, which an update leaves out.

A watch started on the folder a build read, or ``index-add`` of an export added before,
gives the index articles it holds already: replacing each by itself cost as much as adding
it (analysis, postings, a new segment, and a deleted document left behind). An article is
held as it is when the stored record of the index's article with its id gives back the
same :meth:`~searchsvc.articles.model.Article.content_digest`
(:func:`~searchsvc.index.schema.stored_content_digest`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from searchsvc.articles.model import Article
from searchsvc.index.schema import stored_content_digest


class HeldRead(NamedTuple):
    """An article left out because the index holds it as it is, and where it was read:
    its unit's place in the reading order (``WorkUnit.order``), and the number of the
    document its reader wrote next (so it sorts between the documents written around it,
    see :class:`~searchsvc.index.verify.ReadingOrder`)."""

    id: str
    order: int
    position: int
    origin: str


class UnchangedArticles:
    """Leaves out of the articles given those ``searcher``'s index holds as they are,
    and keeps a record of each (:attr:`left`).

    ``compare_once``: an id given again after a version that was not left out is written
    again rather than compared, for an update that replaces as it goes (the later
    version must win). Build workers compare every copy: the update settles the copies
    left out against those written afterwards, in reading order.
    """

    def __init__(self, searcher: Any, *, compare_once: bool = True) -> None:
        self._searcher = searcher
        self._compare_once = compare_once
        self._passed: set[str] = set()
        self._written = 0
        self.left: list[HeldRead] = []

    def left_out(self, articles: Iterable[Article], order: int = 0) -> Iterator[Article]:
        """``articles`` (read in the unit of reading order ``order``) but those held."""
        for article in articles:
            passed = self._compare_once and article.id in self._passed
            if not passed and self._held_as_is(article):
                self.left.append(HeldRead(article.id, order, self._written, article.origin or ""))
                continue
            if self._compare_once:
                self._passed.add(article.id)
            self._written += 1
            yield article

    def _held_as_is(self, article: Article) -> bool:
        number = self._searcher.document_number(id=article.id)
        if number is None:
            return False
        held = stored_content_digest(self._searcher.stored_fields(number))
        return held is not None and held == article.content_digest()
