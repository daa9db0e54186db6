"""One place where errors become responses: JSON under ``/api`` and ``/healthz``, HTML elsewhere.

Domain exceptions from the core are translated here once; nothing that reaches a client
carries a stack trace.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from searchsvc.index import ClusterUnavailable, IndexCorrupt, IndexNotFound
from searchsvc.search import ArticleNotFound, QueryError

NO_INDEX_MESSAGE = (
    "no index has been built yet; run `searchsvc build-index` "
    "or POST /api/index/rebuild with the admin token"
)
CLUSTER_UNAVAILABLE_MESSAGE = (
    "the search cluster is not answering right now; searches resume by themselves when it "
    "is back, try again in a few seconds"
)
#: Seconds a client is told to wait before retrying while the cluster is unavailable.
CLUSTER_RETRY_AFTER_S = 5


class ApiError(Exception):
    """An error a view raises on purpose: a status, a message, and any extra JSON fields."""

    def __init__(self, status: int, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields
        self.headers: dict[str, str] = {}


def register(app: Flask) -> None:
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(QueryError, _query_error)
    app.register_error_handler(ArticleNotFound, _article_not_found)
    app.register_error_handler(IndexNotFound, _index_not_found)
    app.register_error_handler(IndexCorrupt, _index_corrupt)
    app.register_error_handler(ClusterUnavailable, _cluster_unavailable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def wants_json() -> bool:
    path = request.path
    return path.startswith("/api/") or path == "/api" or path == "/healthz"


def error_response(status: int, message: str, **fields: Any) -> Response:
    """A JSON or HTML error page, whichever the requested URL speaks."""
    title = _reason(status)
    if wants_json():
        body = {"status": status, "error": title, "message": message}
        body.update({k: v for k, v in fields.items() if v is not None})
        response = jsonify(body)
    else:
        response = current_app.make_response(
            render_template("error.html", status=status, title=title, message=message)
        )
    response.status_code = status
    return response


def _api_error(error: ApiError) -> Response:
    response = error_response(error.status, error.message, **error.fields)
    response.headers.update(error.headers)
    return response


def _query_error(error: QueryError) -> Response:
    parameter = getattr(error, "parameter", None)
    return error_response(400, str(error), parameter=parameter)


def _article_not_found(error: ArticleNotFound) -> Response:
    return error_response(404, str(error) or "no article with that id")


def _index_not_found(error: IndexNotFound) -> Response:
    return error_response(503, NO_INDEX_MESSAGE)


def _index_corrupt(error: IndexCorrupt) -> Response:
    current_app.logger.error("index cannot be read: %s", error)
    return error_response(503, "the index cannot be read; rebuild it with `searchsvc build-index`")


def _cluster_unavailable(error: ClusterUnavailable) -> Response:
    """503 saying the cluster is away (and, in JSON, why), with a Retry-After: the
    engine's client keeps trying the nodes, so the next request may well be answered."""
    current_app.logger.warning("cluster unavailable on %s: %s", request.path, error)
    response = error_response(
        503, CLUSTER_UNAVAILABLE_MESSAGE, engine="opensearch", reason=str(error)
    )
    response.headers["Retry-After"] = str(CLUSTER_RETRY_AFTER_S)
    return response


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    messages = {
        404: "nothing here; try the search page at /",
        405: f"{request.method} is not allowed here",
        413: "the request body is too large",
        414: "the URL is too long; shorten the query or remove filters",
    }
    response = error_response(status, messages.get(status, error.description or _reason(status)))
    if status == 405 and error.get_response().headers.get("Allow"):
        response.headers["Allow"] = error.get_response().headers["Allow"]
    return response


def _unexpected_error(error: Exception) -> Response:
    current_app.logger.exception("unexpected error on %s %s", request.method, request.path)
    return error_response(500, "something went wrong on our side; the error has been logged")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
