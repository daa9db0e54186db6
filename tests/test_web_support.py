"""Support for the web tests (no tests live here): articles written for them, the index built
from them, and a check of responses against the OpenAPI document.

Thirteen harbour stories (more than one page of ten), spread over two years, four datelines
and two sources; one undated story; one story whose text is an attempted script injection.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from searchsvc.config import Settings
from searchsvc.index import build_index
from searchsvc.web import close_app, create_app

HARBOUR_STORIES = [
    (
        "harbour-01",
        "Baku",
        "2023-03-14",
        "Caspian Wire",
        "Baku harbour opens new ferry terminal",
        "The harbour authority in Baku opened a ferry terminal on the Caspian shore. "
        "Officials said the terminal doubles passenger capacity.",
    ),
    (
        "harbour-02",
        "Baku",
        "2023-06-02",
        "Caspian Wire",
        "Fishing fleet returns to Baku harbour",
        "Dozens of trawlers returned to the harbour after a season on the Caspian. "
        "Catches of sturgeon were lower than last year.",
    ),
    (
        "harbour-03",
        "Baku",
        "2024-02-26",
        "Harbor Times",
        "Baku harbour lights dimmed for anniversary",
        "Lights along the Baku harbour were dimmed to mark the anniversary. "
        "Residents gathered on the boulevard in silence.",
    ),
    (
        "harbour-04",
        "Lisbon",
        "2023-04-11",
        "Harbor Times",
        "Lisbon harbour dredging begins",
        "Dredgers began deepening the Lisbon harbour so that larger container ships can dock. "
        "The work on the Tagus is expected to take two years.",
    ),
    (
        "harbour-05",
        "Lisbon",
        "2023-09-19",
        "Harbor Times",
        "Cruise season ends at Lisbon harbour",
        "The last cruise ship of the season left the harbour in Lisbon. "
        "Tourism officials reported a record number of visitors from Brazil.",
    ),
    (
        "harbour-06",
        "Lisbon",
        "2024-01-08",
        "Caspian Wire",
        "Storm closes Lisbon harbour",
        "A winter storm closed the harbour for two days. Ferries across the Tagus were cancelled.",
    ),
    (
        "harbour-07",
        "Nairobi",
        "2023-05-23",
        "Harbor Times",
        "Kenya plans inland harbour link",
        "Planners in Nairobi presented a rail link between the capital and the Mombasa harbour. "
        "Kenya hopes to cut freight times to Uganda.",
    ),
    (
        "harbour-08",
        "Nairobi",
        "2023-11-30",
        "Caspian Wire",
        "Mombasa harbour fees to fall",
        "The ports authority announced lower fees at the Mombasa harbour from January. "
        "Importers in Nairobi welcomed the decision.",
    ),
    (
        "harbour-09",
        "Nairobi",
        "2024-03-05",
        "Harbor Times",
        "Harbour workers strike over pay",
        "Harbour workers walked out over pay, union leaders said in Nairobi. "
        "Cargo piled up on the quays of Mombasa.",
    ),
    (
        "harbour-10",
        "Oslo",
        "2023-07-07",
        "Harbor Times",
        "Oslo harbour swimming area reopens",
        "A swimming area in the Oslo harbour reopened after the water was declared clean. "
        "Norway has spent years cleaning the fjord.",
    ),
    (
        "harbour-11",
        "Oslo",
        "2023-12-12",
        "Caspian Wire",
        "Electric ferries for Oslo harbour",
        "Two electric ferries entered service in the Oslo harbour, cutting emissions. "
        "The ferries charge at the quay in ten minutes.",
    ),
    (
        "harbour-12",
        "Oslo",
        "2024-04-18",
        "Harbor Times",
        "Oslo harbour festival draws crowds",
        "Thousands attended the harbour festival in Oslo. Boats from Sweden and Denmark joined.",
    ),
    (
        "harbour-13",
        "Baku",
        "2024-05-21",
        "Caspian Wire",
        "Caspian harbour cooperation agreed",
        "Ministers meeting in Baku agreed to coordinate harbour inspections on the Caspian Sea. "
        "Kazakhstan and Turkmenistan signed the agreement.",
    ),
]

OTHER_STORIES = [
    {
        "id": "undated-1",
        "title": "Lighthouse keepers remember the old harbour",
        "body": "Retired lighthouse keepers shared memories of the old harbour and its fog horns.",
        "source": "Harbor Times",
    },
    {
        "id": "khojaly-1",
        "title": "Azerbaijan marks anniversary of Khojaly massacre",
        "body": "Azerbaijan on Monday commemorated the anniversary of the Khojaly massacre. "
        "Events took place across the country, including the capital Baku.",
        "date": "2024-02-26",
        "source": "Caspian Wire",
        "place": "Baku",
        "url": "https://news.example/khojaly",
    },
    {
        "id": "xss-1",
        "title": 'Harbour <script>alert("title")</script> notice',
        "body": 'Attackers wrote <script>alert("body")</script> and <img src=x onerror=alert(1)> '
        "into the harbour notice board. <b>Bold</b> claims were made.\n\n"
        "A second paragraph mentions Lisbon.",
        "date": "2022-08-01",
        "source": "<i>Evil</i> Source",
        "place": "Lisbon",
        "url": "javascript:alert(1)",
    },
]

HARBOUR_IDS = {story[0] for story in HARBOUR_STORIES}


def fixture_articles() -> list[dict[str, str]]:
    records = [
        {"id": id_, "place": place, "date": date, "source": source, "title": title, "body": body}
        for id_, place, date, source, title, body in HARBOUR_STORIES
    ]
    return records + OTHER_STORIES


def write_corpus(directory: Path, records: list[dict[str, str]] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "stories.jsonl"
    lines = (json.dumps(r, ensure_ascii=False) for r in (records or fixture_articles()))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


def build_fixture_index(root: Path, records: list[dict[str, str]] | None = None) -> Settings:
    """Write the corpus (the fixture articles unless ``records``) under ``root`` and build an
    index beside it; the settings for both."""
    settings = Settings.from_env(
        environ={},
        index_dir=root / "index",
        corpus=str(write_corpus(root / "corpus", records)),
        admin_token="test-admin-token",
        build_procs=1,
    )
    build_index(None, settings, show_progress=False)
    return settings


_BUILT: dict[str, Settings] = {}


def shared_fixture_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One index over the fixture articles for all read-only web tests of the session."""
    if "shared" not in _BUILT:
        _BUILT["shared"] = build_fixture_index(tmp_path_factory.mktemp("web-index"))
    return _BUILT["shared"]


def running_app(settings: Settings) -> Iterator[Flask]:
    """An app over ``settings`` for a fixture to yield; its engine is closed afterwards."""
    app = create_app(settings)
    yield app
    close_app(app)


# A validator for the part of JSON Schema the OpenAPI document uses: type (one or a list),
# enum, properties, required, additionalProperties: false, items, oneOf, $ref, minimum,
# maximum, maxLength. Anything else in a schema is an error, so the subset cannot drift.
_KNOWN_KEYWORDS = {
    "type",
    "enum",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "oneOf",
    "$ref",
    "minimum",
    "maximum",
    "maxLength",
    "default",
    "description",
}
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def schema_errors(
    value: Any, schema: dict[str, Any], document: dict[str, Any], path: str = "$"
) -> list[str]:
    """Every way ``value`` breaks ``schema`` (empty when it conforms)."""
    unknown = set(schema) - _KNOWN_KEYWORDS
    if unknown:
        return [f"{path}: schema uses unsupported keywords {sorted(unknown)}"]
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        return schema_errors(value, document["components"]["schemas"][name], document, path)
    if "oneOf" in schema:
        matching = [s for s in schema["oneOf"] if not schema_errors(value, s, document, path)]
        if len(matching) != 1:
            return [f"{path}: matches {len(matching)} of the oneOf schemas, not exactly one"]
        return []
    errors: list[str] = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](value) for t in types):
            return [f"{path}: {value!r} is not of type {types}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        errors += [
            f"{path}: missing {name!r}" for name in schema.get("required", []) if name not in value
        ]
        if schema.get("additionalProperties") is False:
            errors += [
                f"{path}: undocumented property {name!r}"
                for name in value
                if name not in properties
            ]
        for name, item in value.items():
            if name in properties:
                errors += schema_errors(item, properties[name], document, f"{path}.{name}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors += schema_errors(item, schema["items"], document, f"{path}[{index}]")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: {value} > maximum {schema['maximum']}")
    if isinstance(value, str) and "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(f"{path}: longer than {schema['maxLength']}")
    return errors


def documented_schema(
    document: dict[str, Any], path: str, method: str, status: int
) -> dict[str, Any]:
    """The response schema the OpenAPI document gives for this path, method and status."""
    responses = document["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} answers {status}, which is undocumented"
    return responses[str(status)]["content"]["application/json"]["schema"]


def assert_documented(
    client: FlaskClient, response: TestResponse, path: str, method: str = "get"
) -> None:
    """The response's status and JSON body are what /api/openapi.json says they are."""
    document = client.get("/api/openapi.json").get_json()
    assert response.is_json, f"{method} {path} answered {response.content_type}, not JSON"
    schema = documented_schema(document, path, method, response.status_code)
    errors = schema_errors(response.get_json(), schema, document)
    assert not errors, "\n".join(errors)
