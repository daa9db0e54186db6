"""Readiness: is an index open, which generation, how many articles; on a cluster, is it
reachable and can it serve every shard (``/healthz`` says which engine and why not)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from searchsvc.index import ClusterUnavailable, SearchIndexError
from searchsvc.search import SearchEngine
from searchsvc.search.allocator import allocator_settings
from searchsvc.web.state import get_state

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    """200 with the serving generation once searches can be answered; 503 before that,
    and 503 naming the reason while the cluster is unreachable or red."""
    state = get_state()
    info = state.engine.generation
    body: dict[str, Any] = {
        "status": "ok",
        "engine": state.settings.engine,
        "generation": info.id,
        "article_count": info.article_count,
        "allocator": allocator_settings(),
    }
    if state.settings.engine == "opensearch":
        body["cluster"] = state.engine.cluster_status()
        if body["cluster"] == "red":
            raise ClusterUnavailable(
                "the OpenSearch cluster is red: some shard of the index has no copy on a live node"
            )
    return jsonify(body)


def serving_generation(engine: SearchEngine) -> dict[str, Any] | None:
    """The generation searches are answered from, or ``None`` while there is none."""
    try:
        info = engine.generation
    except SearchIndexError:
        return None
    return {"generation": info.id, "article_count": info.article_count}
