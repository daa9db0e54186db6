"""The OpenAPI document describes exactly the JSON endpoints the app has.

Responses themselves are checked against it in the API and admin tests
(``assert_documented``); here: every route is documented, every documented path exists, and
the document only uses the JSON Schema the validator understands.
"""

from __future__ import annotations

import re

import pytest
from test_web_support import running_app, schema_errors, shared_fixture_index


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    yield from running_app(shared_fixture_index(tmp_path_factory))


@pytest.fixture(scope="module")
def document(app):
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def json_routes(app) -> set[tuple[str, str]]:
    """(path in OpenAPI spelling, method) for every JSON endpoint the app serves."""
    routes = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule).replace("{article_id}", "{id}")
        if path.startswith("/api/") or path == "/healthz":
            routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def documented_operations(document) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items() for method in item}


def test_every_route_is_documented_and_nothing_else(app, document):
    assert json_routes(app) == documented_operations(document)


def test_every_operation_documents_its_answers(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation["summary"], (path, method)
            assert any(code.startswith("2") for code in operation["responses"]), (path, method)
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert "{" + parameter["name"] + "}" in path


def schemas_in(node, where="#"):
    """Every schema object in the document: components and each ``schema`` of a parameter,
    header or response, with the schemas nested inside them."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}/{key}"
            if key == "schema" or where == "#/components/schemas":
                yield from nested_schemas(value, here)
            else:
                yield from schemas_in(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from schemas_in(value, f"{where}/{index}")


def nested_schemas(schema, where):
    yield schema, where
    for name, value in schema.get("properties", {}).items():
        yield from nested_schemas(value, f"{where}/properties/{name}")
    if isinstance(schema.get("items"), dict):
        yield from nested_schemas(schema["items"], f"{where}/items")
    for index, value in enumerate(schema.get("oneOf", [])):
        yield from nested_schemas(value, f"{where}/oneOf/{index}")


def test_schemas_use_only_the_validated_subset(document):
    schemas = list(schemas_in(document))
    assert len(schemas) > 50
    for schema, where in schemas:
        if "$ref" in schema:
            name = schema["$ref"].removeprefix("#/components/schemas/")
            assert name in document["components"]["schemas"], f"{where}: dangling {name}"
            continue
        # Whatever the value, an unsupported keyword is reported first.
        problems = [e for e in schema_errors(None, schema, document) if "keyword" in e]
        assert not problems, f"{where}: {problems}"


def test_documented_limits_are_the_settings(document, app):
    from searchsvc.web.state import get_state

    settings = get_state(app).settings
    parameters = {
        p["name"]: p["schema"] for p in document["paths"]["/api/search"]["get"]["parameters"]
    }
    assert parameters["per_page"]["maximum"] == settings.max_per_page
    assert parameters["page"]["maximum"] == settings.max_page
    assert parameters["q"]["maxLength"] == settings.max_query_length
    assert parameters["sort"]["enum"] == ["relevance", "newest", "oldest"]


def test_the_validator_catches_a_wrong_answer(document):
    """The check the other tests rely on is not vacuous."""
    hit = {
        "id": "a",
        "title": "t",
        "snippet": "s",
        "place": None,
        "places": [],
        "date": None,
        "source": None,
        "url": None,
        "score": 1.0,
        "versions": 0,
        "language": None,
        "dir": "ltr",
    }
    schema = {"$ref": "#/components/schemas/Hit"}
    assert schema_errors(hit, schema, document) == []
    assert schema_errors({**hit, "score": "high"}, schema, document)
    assert schema_errors({**hit, "extra": 1}, schema, document)
    assert schema_errors({k: v for k, v in hit.items() if k != "id"}, schema, document)
    assert schema_errors({**hit, "place": {"key": "x"}}, schema, document)
    assert schema_errors({**hit, "dir": "up"}, schema, document)
