"""Articles finished a batch at a time: places and language found stage by stage.

A reader parses a record into a :class:`Pending` article; finding its places (the
gazetteer) and its language (the language model) is left to :func:`finish_articles`, which
runs each of those stages over a whole batch of articles in a row. Taking turns with the
rest of a build article by article, each stage found its tables cold in the processor's
caches and cost about twice as much (``benchmarks/bench_build.py --stages``). The articles
are the same either way: each stage looks at one article at a time.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

from searchsvc.articles.languages import article_language
from searchsvc.articles.model import Article
from searchsvc.articles.placing import locate

#: Articles a reader parses before their places and languages are found.
BATCH_ARTICLES = 256


@dataclass(frozen=True, slots=True)
class Pending:
    """An article as its reader parsed it, before its places and language are found.

    ``fields`` are the :class:`Article`'s other fields (``title`` and ``body`` among
    them); ``place_text`` is the dateline place as written, ``declared_language`` the
    language tag the source gives, if any.
    """

    fields: dict[str, Any]
    place_text: str | None = None
    declared_language: str | None = None


def finish_articles(pending: list[Pending], with_places: bool) -> Iterator[Article]:
    """The articles of ``pending``, in order; ``with_places=False`` finds no places."""
    languages = [
        article_language(item.declared_language, item.fields["title"], item.fields["body"])
        for item in pending
    ]
    located = [
        locate(item.fields["title"], item.fields["body"], item.place_text)
        if with_places
        else (None, ())
        for item in pending
    ]
    for item, language, (dateline_place, places) in zip(pending, languages, located, strict=True):
        yield Article(
            **item.fields, dateline_place=dateline_place, places=places, language=language
        )


def finished_in_batches(
    pending: Iterator[Pending], with_places: bool, batch_size: int | None = None
) -> Generator[Article, None, Any]:
    """The articles of a reader's ``pending`` ones, finished ``batch_size`` at a time
    (default :data:`BATCH_ARTICLES`); returns what ``pending`` returns (a reader's count of
    lines, say). A reader that fails (a file that cannot be read further) first has the
    articles it parsed before failing finished, as if they had come one by one."""
    batch_size = batch_size or BATCH_ARTICLES
    batch: list[Pending] = []
    while True:
        try:
            batch.append(next(pending))
        except StopIteration as end:
            yield from finish_articles(batch, with_places)
            return end.value
        except Exception:
            yield from finish_articles(batch, with_places)
            raise
        if len(batch) >= batch_size:
            yield from finish_articles(batch, with_places)
            batch = []
