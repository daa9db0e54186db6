"""The engine a process uses, chosen by ``settings.engine`` (``SEARCHSVC_ENGINE``).

Both answer the same public calls (search, article, related, generation, close) with
the same model objects, so the web app and the command line need not know which runs.
"""

from __future__ import annotations

from typing import Any

from searchsvc.config import Settings
from searchsvc.search import SearchEngine


def open_engine(settings: Settings, **options: Any) -> Any:
    """:class:`SearchEngine` over ``settings.index_dir``, or the OpenSearch engine over
    ``settings.opensearch_url`` (imported only then: its client is an optional extra).
    ``options`` are :class:`SearchEngine`'s keywords (``ranking``, ``prepare_lexicon``)."""
    if settings.engine == "opensearch":
        from searchsvc.opensearch import OpenSearchEngine

        return OpenSearchEngine(settings, **options)
    return SearchEngine(settings, **options)
