"""Rebuilding on demand: the token, one build at a time, and searches moving to the new index.

The builds here are real ``searchsvc build-index`` processes started by the app.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from test_web_support import (
    assert_documented,
    build_fixture_index,
)

from searchsvc.index import read_build_status
from searchsvc.web import close_app, create_app
from searchsvc.web.rebuild import build_running

TOKEN = "test-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# A safety net for a hung build, not a measurement: the fixture index builds in seconds.
BUILD_DEADLINE = 180


@pytest.fixture(scope="module")
def rebuild_settings(tmp_path_factory):
    return build_fixture_index(tmp_path_factory.mktemp("rebuild"))


@pytest.fixture
def rebuild_app(rebuild_settings):
    app = create_app(rebuild_settings)
    yield app
    wait_until_idle(app.test_client())
    close_app(app)


@pytest.fixture(autouse=True)
def no_build_left_running(request):
    """Each test starts and ends with no build of the shared rebuild index running.

    A build's status says "idle" a moment before its process lets go of the build lock;
    a test that posted a rebuild in that moment would be refused with 409, not its answer.
    """
    if "rebuild_settings" not in request.fixturenames:
        yield
        return
    index_dir = Path(request.getfixturevalue("rebuild_settings").index_dir)
    wait_until_no_build(index_dir)
    yield
    wait_until_no_build(index_dir)


def wait_until_no_build(index_dir: Path) -> None:
    deadline = time.monotonic() + BUILD_DEADLINE
    while read_build_status(index_dir)["state"] == "building" or build_running(index_dir):
        assert time.monotonic() < deadline, f"build still running: {read_build_status(index_dir)}"
        time.sleep(0.1)


def wait_until_idle(client) -> dict:
    deadline = time.monotonic() + BUILD_DEADLINE
    while True:
        response = client.get("/api/index/status")
        assert_documented(client, response, "/api/index/status")
        status = response.get_json()
        if status["state"] != "building":
            return status
        assert time.monotonic() < deadline, f"build still running: {status}"
        time.sleep(0.1)


def nothing_started(settings) -> bool:
    index_dir = Path(settings.index_dir)
    return not (index_dir / "rebuild.log").exists()


def test_rebuild_without_configured_token_is_disabled(tmp_path, web_settings):
    app = create_app(web_settings.replace(admin_token=None))
    try:
        client = app.test_client()
        response = client.post("/api/index/rebuild", headers=AUTH)
    finally:
        close_app(app)
    assert response.status_code == 403
    assert "SEARCHSVC_ADMIN_TOKEN" in response.get_json()["message"]
    assert_documented(client, response, "/api/index/rebuild", "post")
    assert nothing_started(web_settings)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer Ünïcode"},
    ],
)
def test_missing_or_wrong_token_is_a_401_and_starts_nothing(client, web_settings, headers):
    response = client.post("/api/index/rebuild", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_documented(client, response, "/api/index/rebuild", "post")
    assert nothing_started(web_settings)
    assert client.get("/api/index/status").get_json()["state"] == "idle"


def test_status_needs_no_token_and_shows_the_serving_generation(client):
    response = client.get("/api/index/status")
    assert response.status_code == 200
    assert_documented(client, response, "/api/index/status")
    status = response.get_json()
    assert status["state"] == "idle"
    assert status["serving"]["article_count"] == 16
    assert status["report"]["articles"] == 16


def test_rebuild_serves_the_new_generation_without_restart(rebuild_app, rebuild_settings):
    client = rebuild_app.test_client()
    before = client.get("/api/index/status").get_json()["serving"]["generation"]
    assert client.get("/api/search?q=zeppelin").get_json()["total"] == 0
    extra = Path(rebuild_settings.corpus[0]) / "zeppelin.jsonl"
    extra.write_text(
        json.dumps(
            {
                "id": "zeppelin-1",
                "title": "Zeppelin moors at Oslo harbour",
                "body": "An airship moored above the harbour in Oslo.",
                "date": "2024-06-01",
                "place": "Oslo",
            }
        )
        + "\n"
    )

    started = client.post("/api/index/rebuild", headers=AUTH)
    assert started.status_code == 202, started.get_json()
    assert_documented(client, started, "/api/index/rebuild", "post")
    job = started.get_json()["job"]
    assert job["pid"] and started.headers["Location"].endswith("/api/index/status")

    # The build is a separate process that has just taken the build lock: a second
    # request sees it and names it.
    refused = client.post("/api/index/rebuild", headers=AUTH)
    assert refused.status_code == 409
    assert_documented(client, refused, "/api/index/rebuild", "post")
    assert refused.get_json()["job"]["pid"] == job["pid"]
    assert str(job["pid"]) in refused.get_json()["message"]

    status = wait_until_idle(client)
    assert status["error"] is None, status["error"]
    assert status["serving"]["generation"] != before
    assert status["serving"]["article_count"] == 17
    assert status["report"]["articles"] == 17
    assert client.get("/api/search?q=zeppelin").get_json()["total"] == 1
    assert client.get("/healthz").get_json()["generation"] == status["serving"]["generation"]


def test_only_one_build_across_apps(rebuild_settings):
    """Two apps over one index stand for two server processes: one build starts."""
    apps = [create_app(rebuild_settings) for _ in range(2)]
    answers: list[int] = []

    def post(app):
        answers.append(app.test_client().post("/api/index/rebuild", headers=AUTH).status_code)

    try:
        threads = [threading.Thread(target=post, args=(app,)) for app in apps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(answers) == [202, 409]
        wait_until_idle(apps[0].test_client())
    finally:
        for app in apps:
            close_app(app)


def test_build_that_cannot_start_says_why(rebuild_settings, tmp_path):
    app = create_app(rebuild_settings.replace(corpus=str(tmp_path / "missing")))
    try:
        response = app.test_client().post("/api/index/rebuild", headers=AUTH)
        assert response.status_code == 500
        assert "missing" in response.get_json()["message"]
        assert_documented(app.test_client(), response, "/api/index/rebuild", "post")
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        close_app(app)
