"""A cluster nobody answers at (a loopback port with nothing listening): the app says 503
and why, the command line says so, and nothing hangs. The fault tests do the same with a
real cluster that dies and comes back (tests/test_opensearch_faults.py)."""

from __future__ import annotations

import socket

import pytest
from opensearch_cluster import unique_alias
from test_web_support import assert_documented

from searchsvc.cli import main
from searchsvc.config import Settings
from searchsvc.web import close_app, create_app
from searchsvc.web.rebuild import build_environment

pytest.importorskip("opensearchpy", reason="opensearch-py is not installed")


@pytest.fixture
def nowhere() -> tuple[str, ...]:
    """Two node URLs on loopback ports nothing listens on."""
    sockets = [socket.socket() for _ in range(2)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return tuple(f"http://127.0.0.1:{port}" for port in ports)


@pytest.fixture
def client(nowhere, tmp_path):
    app = create_app(
        Settings(engine="opensearch", opensearch_url=nowhere, index_dir=tmp_path / "index")
    )
    yield app.test_client()
    close_app(app)


@pytest.mark.parametrize(
    "path", ["/api/search?q=harbour", "/api/articles/k1", "/api/articles/k1/related"]
)
def test_the_api_answers_503_naming_the_cluster(client, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 503
    body = answer.get_json()
    assert "cluster is not answering" in body["message"]
    assert body["engine"] == "opensearch" and "cannot be reached" in body["reason"]
    assert int(answer.headers["Retry-After"]) > 0


@pytest.mark.parametrize("path", ["/?q=harbour", "/articles/k1"])
def test_the_pages_answer_503_saying_so(client, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 503
    page = answer.get_data(as_text=True)
    assert "cluster is not answering" in page and "Traceback" not in page


def test_the_health_check_says_why(client) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert_documented(client, answer, "/healthz")
    body = answer.get_json()
    assert body["engine"] == "opensearch"
    assert "cannot be reached" in body["reason"] and "Connection refused" in body["reason"]


def test_the_command_line_says_the_cluster_cannot_be_reached(
    nowhere, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SEARCHSVC_ENGINE", "opensearch")
    monkeypatch.setenv("SEARCHSVC_OPENSEARCH_URL", ",".join(nowhere))
    assert main(["search", "harbour"]) == 2
    assert "the OpenSearch cluster cannot be reached" in capsys.readouterr().err


def test_a_rebuild_process_gets_the_node_urls_comma_separated(nowhere, tmp_path) -> None:
    settings = Settings(engine="opensearch", opensearch_url=nowhere)
    env = build_environment(settings, tmp_path)
    assert env["SEARCHSVC_OPENSEARCH_URL"] == ",".join(nowhere)
    assert Settings.from_env(env).opensearch_url == nowhere


def test_an_index_with_no_live_copy_answers_503_and_health_says_so(opensearch_settings) -> None:
    """A generation whose only shard can be placed on no node (a red index): the cluster
    answers, the index cannot, and the app says so instead of serving nothing."""
    from searchsvc.opensearch.connection import connect

    settings = opensearch_settings.replace(opensearch_index=unique_alias("red"))
    client = connect(settings)
    red = f"{settings.opensearch_index}-gen-red"
    placement = {"index.routing.allocation.require._name": "no-such-node"}
    try:
        client.indices.create(
            index=red,
            body={"settings": {"number_of_replicas": 0, **placement}},
            wait_for_active_shards=0,
        )
        client.indices.put_alias(index=red, name=settings.opensearch_index)
        app = create_app(settings)
        try:
            web = app.test_client()
            search = web.get("/api/search?q=harbour")
            health = web.get("/healthz")
        finally:
            close_app(app)
    finally:
        client.indices.delete(index=red, ignore_unavailable=True)
        client.close()
    assert search.status_code == 503, search.get_json()
    assert health.status_code == 503
    assert "cannot serve the index" in health.get_json()["reason"], health.get_json()
