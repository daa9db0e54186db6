"""The engine a process uses, chosen by ``settings.engine`` (``SEARCHSVC_ENGINE``).

Both answer the same public calls (search, article, related, generation, close) with
the same model objects, and build, add and delete the same way from the caller's side,
so the web app and the command line need not know which runs. The OpenSearch engine is
imported only when chosen: its client is an optional extra.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from searchsvc.articles.model import Article
from searchsvc.config import Settings
from searchsvc.index.updates import UpdateResult
from searchsvc.search import SearchEngine


def open_engine(settings: Settings, **options: Any) -> Any:
    """:class:`SearchEngine` over ``settings.index_dir``, or the OpenSearch engine over
    ``settings.opensearch_url``; ``options`` are :class:`SearchEngine`'s keywords
    (``ranking``, ``prepare_lexicon``), which the cluster engine accepts and ignores."""
    if settings.engine == "opensearch":
        from searchsvc.opensearch import OpenSearchEngine

        return OpenSearchEngine(settings, **options)
    return SearchEngine(settings, **options)


def build_index(sources: Sequence[Path] | None, settings: Settings, **options: Any) -> Any:
    """A new generation from ``sources`` (default ``settings.corpus``), served once
    complete; ``options`` go to the embedded build (progress display and callback)."""
    if settings.engine == "opensearch":
        with open_engine(settings) as engine:
            return engine.build_from(sources or settings.corpus)
    from searchsvc.index import build_index as build_embedded

    return build_embedded(sources, settings, **options)


def update_articles(settings: Settings, articles: Iterable[Article]) -> UpdateResult:
    """Add ``articles`` to the serving generation, replacing any with the same id."""
    if settings.engine == "opensearch":
        with open_engine(settings) as engine:
            return engine.add(articles)
    from searchsvc.index.updates import update_articles as update_embedded

    return update_embedded(settings, articles)


def delete_articles(settings: Settings, ids: Iterable[str]) -> UpdateResult:
    """Delete articles by id from the serving generation."""
    if settings.engine == "opensearch":
        with open_engine(settings) as engine:
            return engine.delete(ids)
    from searchsvc.index.updates import delete_articles as delete_embedded

    return delete_embedded(settings, ids)
