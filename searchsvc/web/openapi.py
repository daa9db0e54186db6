"""The OpenAPI 3.1 description of the JSON API, built from the same limits the app enforces.

Response schemas close their objects (``additionalProperties: false``), so the test that
validates real responses against them notices any field the document forgets.
"""

from __future__ import annotations

from typing import Any

from searchsvc.config import Settings
from searchsvc.search.model import SORT_ORDERS

Schema = dict[str, Any]


def openapi_document(settings: Settings) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "searchsvc",
            "version": "1",
            "description": (
                "Full-text search over news articles. Title and snippet are HTML-safe "
                "fragments: text is escaped and matches are wrapped in <mark>. Errors are "
                "JSON objects with status, error, message and, for a bad parameter, its name."
            ),
        },
        "paths": {
            "/api/search": {"get": _search_operation(settings)},
            "/api/articles": {"get": _article_by_parameter_operation()},
            "/api/articles/{id}": {"get": _article_operation()},
            "/api/articles/{id}/related": {"get": _related_operation()},
            "/api/articles/{id}/versions": {"get": _versions_operation()},
            "/api/versions": {"get": _versions_by_parameter_operation()},
            "/api/index/rebuild": {"post": _rebuild_operation()},
            "/api/index/status": {"get": _status_operation()},
            "/healthz": {"get": _health_operation()},
            "/api/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": _json("The OpenAPI document", {"type": "object"})},
                }
            },
        },
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The value of SEARCHSVC_ADMIN_TOKEN.",
                }
            },
        },
    }


def _search_operation(settings: Settings) -> dict[str, Any]:
    def filter_parameter(name: str, description: str) -> dict[str, Any]:
        return _query(
            name,
            {"type": "array", "items": {"type": "string"}},
            description + " Repeat the parameter for several values (any of them matches).",
            explode=True,
        )

    return {
        "summary": "Search articles",
        "parameters": [
            _query(
                "q",
                {"type": "string", "maxLength": settings.max_query_length},
                'Words to find; "quoted phrases", -exclusions, OR, and field:value '
                "(title, body, place, source) work. Empty: every article.",
            ),
            filter_parameter("place", "Dateline place key, e.g. geo:587084 or country:AZ."),
            filter_parameter("places", "Key of a place mentioned in the story."),
            filter_parameter("source", "Source or agency, e.g. reuters."),
            filter_parameter(
                "language",
                "Article language, an ISO 639-1 code such as en, id or ar; und selects the "
                'articles whose language is unknown (the facet bucket keyed "").',
            ),
            _query(
                "date_from",
                {"type": "string"},
                "First day, YYYY-MM-DD (YYYY-MM or YYYY mean the start of that month or year).",
            ),
            _query(
                "date_to",
                {"type": "string"},
                "Last day, YYYY-MM-DD (YYYY-MM or YYYY mean the end of that month or year).",
            ),
            _query("sort", {"type": "string", "enum": list(SORT_ORDERS), "default": "relevance"}),
            _query(
                "page",
                {"type": "integer", "minimum": 1, "maximum": settings.max_page, "default": 1},
            ),
            _query(
                "per_page",
                {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": settings.max_per_page,
                    "default": settings.default_per_page,
                },
            ),
            _query(
                "collapse",
                {"type": "boolean", "default": True},
                "One hit per story: copies of one story (republished, updated, shortened) are "
                "listed once, as their best-ranked copy, and totals count stories. false lists "
                "every copy and totals count articles.",
            ),
            _query(
                "lang",
                {"type": "array", "items": {"type": "string"}},
                "ISO 639-1 codes of the languages to read the query in (each word is "
                "stemmed as each of them), comma-separated or repeated, e.g. id,ar. "
                "Default: every language the index holds.",
                explode=True,
            ),
        ],
        "responses": {
            "200": _json("Results", _ref("SearchResult")),
            "400": _error("A parameter is invalid; `parameter` names it"),
            "414": _error("The URL is too long"),
            "503": _error("No index has been built yet"),
        },
    }


def _article_operation() -> dict[str, Any]:
    return {
        "summary": "One article in full",
        "parameters": [_article_id()],
        "responses": {
            "200": _json("The article", _ref("Article")),
            "404": _error("No article with this id"),
            "503": _error("No index has been built yet"),
        },
    }


def _article_by_parameter_operation() -> dict[str, Any]:
    return _by_parameter(
        _article_operation(),
        "One article in full, its id given as a parameter",
        description=(
            "The same answer as /api/articles/{id} for any id, including one that ends in "
            "/related (which the path form reads as the related-articles call when an "
            "article has the id before it)."
        ),
    )


def _by_parameter(by_path: dict[str, Any], summary: str, **changes: Any) -> dict[str, Any]:
    """The operation ``by_path`` with its id as the ``id`` query parameter instead."""
    responses = {**by_path["responses"], "400": _error("id is missing")}
    return {
        **by_path,
        "summary": summary,
        "parameters": [{**_query("id", {"type": "string"}, "The article id"), "required": True}],
        **changes,
        "responses": {**responses, **changes.get("responses", {})},
    }


def _related_operation() -> dict[str, Any]:
    return {
        "summary": "Articles similar to this one",
        "parameters": [
            _article_id(),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 20, "default": 5}),
        ],
        "responses": {
            "200": _json(
                "Related articles, most similar first; or, when no article has this id but "
                "one has it followed by /related, that article",
                {
                    "oneOf": [
                        _object(
                            {
                                "id": {"type": "string"},
                                "related": {"type": "array", "items": _ref("Hit")},
                            }
                        ),
                        _ref("Article"),
                    ]
                },
            ),
            "400": _error("limit is invalid"),
            "404": _error("No article with this id"),
            "503": _error("No index has been built yet"),
        },
    }


def _versions_operation() -> dict[str, Any]:
    return {
        "summary": "The other copies of this article's story",
        "description": (
            "Articles grouped with this one as copies of one story (the same text "
            "republished, updated, shortened or retitled; SEARCHSVC_VERSIONS_THRESHOLD sets "
            "how similar), newest first. A hit's `versions` is their number."
        ),
        "parameters": [_article_id()],
        "responses": {
            "200": _json(
                "The other copies; or, when no article has this id but one has it followed "
                "by /versions, that article",
                {"oneOf": [_versions_schema(), _ref("Article")]},
            ),
            "404": _error("No article with this id"),
            "503": _error("No index has been built yet"),
        },
    }


def _versions_by_parameter_operation() -> dict[str, Any]:
    return _by_parameter(
        _versions_operation(),
        "The other copies of an article's story, its id given as a parameter",
        responses={"200": _json("The other copies, newest first", _versions_schema())},
    )


def _versions_schema() -> Schema:
    return _object({"id": {"type": "string"}, "versions": {"type": "array", "items": _ref("Hit")}})


def _rebuild_operation() -> dict[str, Any]:
    return {
        "summary": "Rebuild the index from SEARCHSVC_CORPUS in the background",
        "description": (
            "Starts `searchsvc build-index` as a separate process and answers once it runs. "
            "Searches keep being answered from the current generation and move to the new "
            "one when it is complete. One build at a time, across all server processes."
        ),
        "security": [{"adminToken": []}],
        "responses": {
            "202": {
                **_json(
                    "The build started; follow its progress at status_url",
                    _object({"job": _ref("Job"), "status_url": {"type": "string"}}),
                ),
                "headers": {"Location": {"schema": {"type": "string"}}},
            },
            "401": _error("The admin token is missing or wrong; nothing was started"),
            "403": _error("Admin endpoints are disabled: SEARCHSVC_ADMIN_TOKEN is not set"),
            "409": _error("A build is already running; `job` describes it"),
            "500": _error("The build process exited before it started"),
        },
    }


def _status_operation() -> dict[str, Any]:
    return {
        "summary": "Progress of the running or last index build, and the serving generation",
        "description": "Read-only; needs no token.",
        "responses": {"200": _json("Build status", _ref("BuildStatus"))},
    }


def _health_operation() -> dict[str, Any]:
    return {
        "summary": "Readiness: an index is open and searches can be answered",
        "responses": {
            "200": _json(
                "Ready",
                _object(
                    {
                        "status": {"type": "string", "enum": ["ok"]},
                        "engine": {"type": "string", "enum": ["whoosh", "opensearch"]},
                        "generation": {"type": "string"},
                        "article_count": {"type": "integer"},
                        "allocator": {
                            "type": ["object", "null"],
                            "properties": {"arena_max": {"type": "integer"}},
                            "description": "What this worker set in the C allocator (glibc: "
                            "the most arenas); null where nothing was set",
                        },
                        "cluster": {
                            "type": "string",
                            "enum": ["green", "yellow"],
                            "description": "OpenSearch only: yellow still answers every search",
                        },
                    },
                    required=["status", "engine", "generation", "article_count"],
                ),
            ),
            "503": _error(
                "No index (yet), it cannot be read, or the cluster is unreachable or red "
                "(`engine` and `reason` say which)"
            ),
        },
    }


def _schemas() -> dict[str, Schema]:
    string = {"type": "string"}
    optional_string = {"type": ["string", "null"]}
    integer = {"type": "integer"}
    return {
        "Place": _object(
            {
                "key": string,
                "name": string,
                "country": optional_string,
                "country_name": optional_string,
                "display": string,
            }
        ),
        "Hit": _object(
            {
                "id": string,
                "title": {**string, "description": "HTML-safe fragment with <mark>"},
                "snippet": {**string, "description": "HTML-safe fragment with <mark>"},
                "place": _nullable(_ref("Place")),
                "places": {"type": "array", "items": _ref("Place")},
                "date": {**optional_string, "description": "YYYY-MM-DD"},
                "source": optional_string,
                "url": optional_string,
                "score": {"type": "number"},
                "versions": {
                    **integer,
                    "description": "Other copies of this story in the index "
                    "(/api/articles/{id}/versions lists them)",
                },
                "language": {**optional_string, "description": "ISO 639-1 code, or null"},
                "dir": {
                    "type": "string",
                    "enum": ["ltr", "rtl"],
                    "description": "Direction of the language's script (title and snippet)",
                },
            }
        ),
        "FacetValue": _object(
            {"key": string, "label": string, "count": integer, "selected": {"type": "boolean"}}
        ),
        "Facet": _object(
            {
                "name": string,
                "values": {"type": "array", "items": _ref("FacetValue")},
                "other": {**integer, "description": "Articles with values not listed"},
            }
        ),
        "DateBucket": _object(
            {
                "key": string,
                "label": string,
                "count": integer,
                "date_from": string,
                "date_to": string,
                "selected": {"type": "boolean"},
            }
        ),
        "DateHistogram": _object(
            {
                "granularity": {"type": "string", "enum": ["year", "month", "day"]},
                "buckets": {"type": "array", "items": _ref("DateBucket")},
                "undated": integer,
            }
        ),
        "SearchResult": _object(
            {
                "query": {**string, "description": "The query as searched (trimmed)"},
                "sort": {"type": "string", "enum": list(SORT_ORDERS)},
                "total": {
                    **integer,
                    "description": "Stories listed (articles when collapse is false): the "
                    "required parts and at least one word; copies of one story count once",
                },
                "all_words_total": {
                    **integer,
                    "description": "Of those, the stories (articles when collapse is false) "
                    "with a copy that has every word (listed first)",
                },
                "copies_total": {
                    **integer,
                    "description": "Every article listed or collapsed into a listed story",
                },
                "collapse": {
                    "type": "boolean",
                    "description": "One hit per story, its best-ranked copy in the list's order",
                },
                "total_counts": {
                    "type": "string",
                    "enum": ["stories", "copies"],
                    "description": "What total and all_words_total count",
                },
                "facet_counts": {
                    "type": "string",
                    "enum": ["stories", "copies"],
                    "description": "What facet and timeline counts count: every copy",
                },
                "page": integer,
                "per_page": integer,
                "took_ms": {"type": "number"},
                "suggestion": optional_string,
                "fallback": {
                    "type": "boolean",
                    "description": "No article had every word; these have some of them",
                },
                "message": optional_string,
                "hits": {"type": "array", "items": _ref("Hit")},
                "facets": _object(
                    {
                        "place": _ref("Facet"),
                        "places": _ref("Facet"),
                        "source": _ref("Facet"),
                        "language": {
                            **_ref("Facet"),
                            "description": 'Keys are ISO 639-1 codes; "" counts the articles '
                            "whose language is unknown",
                        },
                    }
                ),
                "dates": _ref("DateHistogram"),
            }
        ),
        "Article": _object(
            {
                "id": string,
                "title": string,
                "body": string,
                "dateline": optional_string,
                "place": _nullable(_ref("Place")),
                "places": {"type": "array", "items": _ref("Place")},
                "date": optional_string,
                "source": optional_string,
                "url": optional_string,
                "author": optional_string,
                "language": {**optional_string, "description": "ISO 639-1 code, or null"},
            }
        ),
        "Job": _object(
            {
                "pid": {"type": ["integer", "null"]},
                "generation": optional_string,
                "state": {"type": "string", "enum": ["idle", "building", "failed"]},
                "started_at": optional_string,
                "finished_at": optional_string,
            }
        ),
        "BuildStatus": _object(
            {
                "state": {"type": "string", "enum": ["idle", "building", "failed"]},
                "phase": optional_string,
                "job": _nullable(_ref("Job")),
                "progress": _object(
                    {
                        "done": integer,
                        "total": {"type": ["integer", "null"]},
                        "rate": {"type": ["number", "null"], "description": "articles/s"},
                        "files_done": {"type": ["integer", "null"]},
                        "files_total": {"type": ["integer", "null"]},
                    }
                ),
                "serving": _nullable(
                    _object({"generation": string, "article_count": integer}),
                ),
                "report": {
                    "type": ["object", "null"],
                    "description": "The last build's ingest report",
                },
                "error": {**optional_string, "description": "Why the last build failed"},
                "lock": {
                    **_nullable(
                        _object(
                            {
                                "owner": string,
                                "pid": {"type": ["integer", "null"]},
                                "purpose": {"type": "string", "enum": ["build", "update"]},
                                "started_at": optional_string,
                                "expires_at": optional_string,
                                "expired": {"type": "boolean"},
                            }
                        )
                    ),
                    "description": "OpenSearch only: who holds the cluster's build lock "
                    "now (a build or an update, from any replica), and until when",
                },
                "watch": _nullable(_ref("WatchStatus")),
            }
        ),
        "WatchStatus": _object(
            {
                "last_poll": {
                    "type": ["object", "null"],
                    "description": "started_at, finished_at, added, replaced, deleted, "
                    "unchanged (articles read again that the index held as they are), "
                    "from_build (watched files new to the watch that the serving "
                    "generation's build read as they are now, taken over unread), "
                    "skipped and repaired (by reason), error (why its changes were not "
                    "applied) and each source's state",
                },
                "totals": {
                    "type": "object",
                    "description": "added, replaced, deleted, unchanged, polls, failed_polls "
                    "since the first poll",
                },
                "feeds": integer,
                "feed_entries": integer,
                "files": integer,
            }
        ),
        "Error": _object(
            {
                "status": integer,
                "error": string,
                "message": string,
                "parameter": string,
                "job": _ref("Job"),
                "engine": {**string, "description": "the engine that could not answer"},
                "reason": {**string, "description": "why the cluster could not answer"},
            },
            required=["status", "error", "message"],
        ),
    }


def _object(properties: dict[str, Schema], required: list[str] | None = None) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


def _nullable(schema: Schema) -> Schema:
    return {"oneOf": [schema, {"type": "null"}]}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: Schema) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(description, _ref("Error"))


def _query(
    name: str, schema: Schema, description: str = "", *, explode: bool = False
) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        parameter["description"] = description
    if explode:
        parameter.update(style="form", explode=True)
    return parameter


def _article_id() -> dict[str, Any]:
    return {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
