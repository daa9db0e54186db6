"""The JSON API: search, articles, related articles, and the OpenAPI document describing them."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from searchsvc.search import ArticleNotFound, QueryError
from searchsvc.search.model import to_dict
from searchsvc.web.openapi import openapi_document as build_openapi_document
from searchsvc.web.params import parse_search_args
from searchsvc.web.state import get_state

blueprint = Blueprint("api", __name__, url_prefix="/api")

DEFAULT_RELATED = 5
MAX_RELATED = 20


@blueprint.get("/search")
def search() -> Response:
    state = get_state()
    search_request = parse_search_args(request.args, state.settings)
    return jsonify(state.engine.search(search_request).to_dict())


@blueprint.get("/articles/<path:article_id>/related")
def related(article_id: str) -> Response:
    """Related articles; or the article itself when its own id ends in ``/related``."""
    engine = get_state().engine
    limit = _limit(request.args.get("limit", ""))
    try:
        hits = engine.related(article_id, limit=limit)
    except ArticleNotFound as missing:
        try:
            return article(f"{article_id}/related")
        except ArticleNotFound:
            raise missing from None
    return jsonify({"id": article_id, "related": [to_dict(hit) for hit in hits]})


@blueprint.get("/articles/<path:article_id>/versions")
def versions(article_id: str) -> Response:
    """Other copies of the story; or the article itself when its own id ends in ``/versions``."""
    try:
        hits = get_state().engine.versions(article_id)
    except ArticleNotFound as missing:
        try:
            return article(f"{article_id}/versions")
        except ArticleNotFound:
            raise missing from None
    return _versions_answer(article_id, hits)


@blueprint.get("/versions")
def versions_by_parameter() -> Response:
    """Other copies of any article's story by ``?id=``, whatever its id ends in."""
    article_id = _id_parameter("/api/versions")
    return _versions_answer(article_id, get_state().engine.versions(article_id))


def _versions_answer(article_id: str, hits: list) -> Response:
    return jsonify({"id": article_id, "versions": [to_dict(hit) for hit in hits]})


@blueprint.get("/articles/<path:article_id>")
def article(article_id: str) -> Response:
    return jsonify(get_state().engine.article(article_id).to_dict())


@blueprint.get("/articles")
def article_by_parameter() -> Response:
    """Any article by ``?id=``, whatever its id ends in."""
    return article(_id_parameter("/api/articles"))


def _id_parameter(path: str) -> str:
    article_id = request.args.get("id", "")
    if not article_id:
        raise QueryError(f"id is required: {path}?id=ARTICLE-ID", parameter="id")
    return article_id


@blueprint.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(build_openapi_document(get_state().settings))


def _limit(raw: str) -> int:
    text = raw.strip()
    if not text:
        return DEFAULT_RELATED
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_RELATED:
        raise QueryError(
            f"limit must be a whole number from 1 to {MAX_RELATED}, got {raw!r}", parameter="limit"
        )
    return limit
