"""The OpenSearch engine: the same searches, facets and rebuilds on a cluster.

Split by stage like the embedded engine: ``connection`` (client from settings),
``documents`` (the mapping and articles sent pre-analysed by our own analyzer),
``translate`` (the parser's tree as query DSL, with the same matching rules),
``searching`` (one request: hits in tiers, facets as aggregations, highlights,
suggestions, related stories), ``generations`` (a physical index per build behind one
alias, the rebuild lock kept in the cluster, incremental bulk updates) and ``engine``
(the class with :class:`~searchsvc.search.SearchEngine`'s public calls).
"""

from __future__ import annotations

from searchsvc.opensearch.engine import OpenSearchEngine

__all__ = ["OpenSearchEngine"]
