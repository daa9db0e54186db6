"""``POST /api/index/rebuild`` on a cluster: 409 while any process holds the cluster's build
lock, else a build process that switches the alias to a new generation."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from opensearch_corpus import fixture_corpus_cluster  # noqa: F401

from searchsvc.config import Settings
from searchsvc.opensearch import generations
from searchsvc.opensearch.connection import connect
from searchsvc.web import close_app, create_app

TOKEN = "cluster-rebuild-token"
#: A hang guard for the build process, not a measurement.
BUILD_DEADLINE_S = 180


@pytest.fixture
def admin(fixture_corpus_cluster: Settings, tmp_path) -> Iterator:  # noqa: F811
    settings = fixture_corpus_cluster.replace(admin_token=TOKEN, index_dir=tmp_path / "index")
    app = create_app(settings)
    client = connect(settings)
    yield app.test_client(), client, settings.opensearch_index
    client.close()
    close_app(app)


def rebuild(web):
    return web.post("/api/index/rebuild", headers={"Authorization": f"Bearer {TOKEN}"})


def test_a_build_holding_the_cluster_lock_means_409(admin) -> None:
    web, client, alias = admin
    with generations.holding_lock(client, alias, "build"):
        answer = rebuild(web)
    assert answer.status_code == 409
    assert "already running" in answer.get_json()["message"]


def test_a_rebuild_switches_the_alias_to_a_new_generation(admin) -> None:
    web, client, alias = admin
    before = web.get("/healthz").get_json()
    answer = rebuild(web)
    assert answer.status_code == 202, answer.get_json()
    deadline = time.monotonic() + BUILD_DEADLINE_S
    while generations.running_build(client, alias) is not None:
        assert time.monotonic() < deadline, "the build never ended"
        time.sleep(0.2)
    while (after := web.get("/healthz").get_json())["generation"] == before["generation"]:
        assert time.monotonic() < deadline, f"the alias never moved: {after}"
        time.sleep(0.2)
    assert after["article_count"] == before["article_count"]
