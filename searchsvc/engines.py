"""The engine a process uses, chosen by ``settings.engine`` (``SEARCHSVC_ENGINE``).

Both answer the same public calls (search, article, related, generation, close) with
the same model objects, and build, add and delete the same way from the caller's side,
so the web app and the command line need not know which runs. The OpenSearch engine is
imported only when chosen: its client is an optional extra.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from searchsvc.articles.model import Article, IngestReport, fitted_id
from searchsvc.config import Settings
from searchsvc.index.errors import BuildFailed, BuildInProgress, IndexNotFound
from searchsvc.index.updates import UpdateResult
from searchsvc.search import SearchEngine


def open_engine(settings: Settings, **options: Any) -> Any:
    """:class:`SearchEngine` over ``settings.index_dir``, or the OpenSearch engine over
    ``settings.opensearch_url``; ``options`` are :class:`SearchEngine`'s keywords
    (``ranking``, ``prepare_lexicon``, ``follow_index``), which the cluster engine accepts
    and ignores."""
    if settings.engine == "opensearch":
        from searchsvc.opensearch import OpenSearchEngine

        return OpenSearchEngine(settings, **options)
    return SearchEngine(settings, **options)


def build_index(sources: Sequence[Path] | None, settings: Settings, **options: Any) -> Any:
    """A new generation from ``sources`` (default ``settings.corpus``), served once
    complete; ``options`` go to the embedded build (progress display and callback)."""
    if settings.engine == "opensearch":
        from searchsvc.index.watchstate import with_kept_sources

        with open_engine(settings) as engine:
            return engine.build_from(
                with_kept_sources(sources or settings.corpus, settings.index_dir)
            )
    from searchsvc.index import build_index as build_embedded

    return build_embedded(sources, settings, **options)


def update_articles(settings: Settings, articles: Iterable[Article]) -> UpdateResult:
    """Add ``articles`` to the serving generation, replacing any with the same id."""
    if settings.engine == "opensearch":
        with open_engine(settings) as engine:
            return engine.add(articles)
    from searchsvc.index.updates import update_articles as update_embedded

    return update_embedded(settings, articles)


def add_sources(
    settings: Settings, paths: Sequence[Path], report: IngestReport, *, roots: Sequence[Path] = ()
) -> UpdateResult:
    """Add the articles of the files under ``paths`` to the serving generation, replacing
    any with the same id; files are named within the first of ``roots``, then of
    ``paths``, that holds them. What could not be read is in ``report``."""
    if settings.engine == "opensearch":
        from searchsvc.articles.sources import read_articles

        articles = read_articles(paths, report, max_file_bytes=settings.max_file_bytes, roots=roots)
        return update_articles(settings, articles)
    from searchsvc.index.updates import add_sources as add_embedded

    return add_embedded(settings, paths, report, roots=roots)


def delete_articles(settings: Settings, ids: Iterable[str]) -> UpdateResult:
    """Delete articles by id from the serving generation (an id too long to keep whole
    names the article indexed under its :func:`~searchsvc.articles.model.fitted_id`)."""
    ids = [fitted_id(article_id) for article_id in ids]
    if settings.engine == "opensearch":
        with open_engine(settings) as engine:
            return engine.delete(ids)
    from searchsvc.index.updates import delete_articles as delete_embedded

    return delete_embedded(settings, ids)


def index_info(settings: Settings, *, verify: bool = False) -> dict[str, Any]:
    """What ``searchsvc index-info`` shows of the serving generation; ``verify`` checks
    the embedded index's files against their checksums (a cluster checks its own)."""
    if settings.engine == "opensearch":
        if verify:
            raise BuildFailed(
                "--verify checks the embedded index's files; the OpenSearch cluster "
                "checks its own shards (see its _cat/shards and _cluster/health)"
            )
        with open_engine(settings) as engine:
            return engine.index_info()
    from searchsvc.index.info import index_info as embedded_info

    return embedded_info(settings.index_dir, verify=verify)


def ensure_cluster_generation(settings: Settings, say: Callable[[str], None]) -> None:
    """Before ``searchsvc serve`` on a cluster: build a generation from ``settings.corpus``
    when the alias has none, or wait for the build another process (another replica of
    the service) is running on the cluster, so the server never starts empty."""
    from searchsvc.index.watchstate import with_kept_sources
    from searchsvc.opensearch import generations

    with open_engine(settings) as engine:
        if _has_generation(engine):
            return
        corpus = ", ".join(str(path) for path in settings.corpus)
        say(
            f"the alias {settings.opensearch_index!r} has no generation; building one from {corpus}"
        )
        try:
            result = engine.build_from(with_kept_sources(settings.corpus, settings.index_dir))
        except BuildInProgress:
            say("another process is building on the cluster; waiting for it")
            while generations.running_build(engine.client, settings.opensearch_index):
                time.sleep(0.5)
            if not _has_generation(engine):
                raise BuildFailed("the other build on the cluster made no generation") from None
            return
    say(f"indexed {result.article_count} articles in {result.seconds:.1f} s")


def _has_generation(engine: Any) -> bool:
    try:
        return engine.generation is not None
    except IndexNotFound:
        return False
