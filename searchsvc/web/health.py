"""Readiness: is an index open, which generation, how many articles."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from searchsvc.index import SearchIndexError
from searchsvc.search import SearchEngine
from searchsvc.web.state import get_state

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    """200 with the serving generation once searches can be answered; 503 before that."""
    info = get_state().engine.generation
    return jsonify({"status": "ok", "generation": info.id, "article_count": info.article_count})


def serving_generation(engine: SearchEngine) -> dict[str, Any] | None:
    """The generation searches are answered from, or ``None`` while there is none."""
    try:
        info = engine.generation
    except SearchIndexError:
        return None
    return {"generation": info.id, "article_count": info.article_count}
