"""A real ``searchsvc serve`` on a real three-node cluster (one replica) while nodes die.

The cluster is this module's own (three nodes in a private state folder),
never the one ``SEARCHSVC_OPENSEARCH_URL`` names: these tests kill its nodes. Every wait
is bounded by a deadline and every client by a number of requests; all on loopback.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import ServeProcess
from opensearch_cluster import (
    ClusterFailed,
    LocalCluster,
    cluster_state_dir,
    unique_alias,
)
from test_web_support import write_corpus

from searchsvc.articles.model import Article

pytestmark = pytest.mark.slow

TOKEN = "faults-admin-token"
CLIENTS = 16
SEARCHES_PER_CLIENT = 12
QUERIES = ("harbour", "ferry strike", "oil OR yen", "massacre", "date:2024", "harb*")
#: Hang guards, not measurements.
HEAL_DEADLINE_S = 240
REQUEST_TIMEOUT_S = 60
#: Articles added for the rebuild that a node dies during (long enough to kill in).
REBUILD_EXTRA_ARTICLES = 4000


class FaultCluster(LocalCluster):
    """This module's three nodes, and which of them holds what."""

    def node_holding(self, index: str, primary: bool = True) -> str:
        """The name of a node holding a started copy of ``index``'s first shard."""
        shards = self.get(f"/_cat/shards/{index}?format=json&h=index,shard,prirep,state,node")
        wanted = "p" if primary else "r"
        return next(s["node"] for s in shards if s["prirep"] == wanted and s["state"] == "STARTED")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultCluster]:
    with FaultCluster(cluster_state_dir(tmp_path_factory, "fault-cluster"), 3) as faults:
        yield faults


@pytest.fixture(scope="module")
def service(cluster: FaultCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """``searchsvc serve`` on the cluster; its first start builds the alias's generation."""
    root = tmp_path_factory.mktemp("fault-service")
    write_corpus(root / "corpus")
    alias = unique_alias("faults")
    env = {
        "SEARCHSVC_ENGINE": "opensearch",
        "SEARCHSVC_OPENSEARCH_URL": ",".join(cluster.urls),
        "SEARCHSVC_OPENSEARCH_INDEX": alias,
        "SEARCHSVC_OPENSEARCH_REPLICAS": "1",
        "SEARCHSVC_CORPUS": str(root / "corpus"),
        "SEARCHSVC_INDEX_DIR": str(root / "index"),
        "SEARCHSVC_ADMIN_TOKEN": TOKEN,
        "SEARCHSVC_THREADS": str(CLIENTS),
        "SEARCHSVC_WORKERS": "1",
    }
    server = ServeProcess(root / "serve.log", env, cwd=root)
    try:
        yield {"server": server, "alias": alias, "root": root}
    finally:
        server.stop()


def get(base: str, path: str) -> tuple[int, dict | str, dict]:
    """(status, JSON body or text, headers) of one GET; error statuses are returned."""
    try:
        with urllib.request.urlopen(base + path, timeout=REQUEST_TIMEOUT_S) as answer:
            return answer.status, _body(answer), dict(answer.headers)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, _body(error), dict(error.headers)


def _body(answer) -> dict | str:
    text = answer.read().decode("utf-8")
    kind = answer.headers.get("Content-Type", "")
    return json.loads(text) if kind.startswith("application/json") else text


def serving_index(cluster: FaultCluster, alias: str) -> str:
    return next(iter(cluster.get(f"/_alias/{alias}")))


def test_a_node_killed_under_16_clients_costs_at_most_the_requests_in_flight(cluster, service):
    server = service["server"]
    cluster.wait_for("green", HEAL_DEADLINE_S)
    victim = cluster.node_holding(serving_index(cluster, service["alias"]))
    answers: list[tuple[bool, int, dict | str]] = []  # (started after the kill, status, body)
    killed = threading.Event()
    started = threading.Semaphore(0)

    def client(number: int) -> None:
        for turn in range(SEARCHES_PER_CLIENT):
            after_kill = killed.is_set()
            started.release()
            query = QUERIES[(number + turn) % len(QUERIES)].replace(" ", "+")
            status, body, _ = get(server.base, f"/api/search?q={query}")
            answers.append((after_kill, status, body))

    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(client, number) for number in range(CLIENTS)]
        for _ in range(2 * CLIENTS):  # every client is searching
            started.acquire(timeout=REQUEST_TIMEOUT_S)
        cluster.kill_node(victim)
        killed.set()
        for future in futures:
            future.result()

    assert len(answers) == CLIENTS * SEARCHES_PER_CLIENT
    print(f"killed {victim}: {Counter(status for _, status, _ in answers)} of {len(answers)}")
    refused = [(after, body) for after, status, body in answers if status != 200]
    assert all(status in (200, 503) for _, status, _ in answers), answers
    for after_kill, body in refused:
        assert not after_kill, f"a search started after the kill failed: {body}"
        assert "cluster" in body["message"], body
    assert len(refused) <= CLIENTS
    assert any(after for after, _, _ in answers)  # searches did run on the wounded cluster

    status, health, _ = get(server.base, "/healthz")
    assert status == 200 and health["cluster"] in ("yellow", "green"), health
    cluster.restart_dead_nodes()
    status, health, _ = get(server.base, "/healthz")
    assert (status, health["cluster"]) == (200, "green"), health
    assert get(server.base, "/api/search?q=harbour")[0] == 200


def test_a_node_killed_during_a_rebuild_leaves_a_serving_generation(cluster, service):
    server, alias = service["server"], service["alias"]
    cluster.wait_for("green", HEAL_DEADLINE_S)
    _, before, _ = get(server.base, "/healthz")
    write_corpus(
        service["root"] / "corpus" / "more",
        [
            {
                "id": f"bulk-{number:05d}",
                "title": f"Harbour report number {number}",
                "body": f"The ferry timetable for pier {number % 97} changed again this week. " * 4,
                "place": "Oslo",
                "date": f"2024-0{1 + number % 9}-1{number % 10}",
                "source": "bulk",
            }
            for number in range(REBUILD_EXTRA_ARTICLES)
        ],
    )
    rebuild = urllib.request.Request(server.base + "/api/index/rebuild", method="POST")
    rebuild.add_header("Authorization", f"Bearer {TOKEN}")
    with urllib.request.urlopen(rebuild, timeout=REQUEST_TIMEOUT_S) as answer:
        assert answer.status == 202
    new_index = _wait_for_new_generation(cluster, alias, before["generation"])
    victim = cluster.node_holding(new_index) if new_index is not None else None
    if victim is not None:
        cluster.kill_node(victim)
    searched = [get(server.base, "/api/search?q=harbour")[0] for _ in range(5)]
    _wait_until_no_build(cluster, alias)

    status, after, _ = get(server.base, "/healthz")
    assert status == 200, after
    assert set(searched) == {200}
    outcome = "kept" if after["generation"] == before["generation"] else "switched to"
    print(f"killed {victim} while loading {new_index}: {outcome} {after}")
    if after["generation"] == before["generation"]:  # failed cleanly: the old one serves
        assert after["article_count"] == before["article_count"]
    else:  # completed: every article, none lost with the node
        assert after["article_count"] == before["article_count"] + REBUILD_EXTRA_ARTICLES
    indices = cluster.get(f"/_cat/indices/{alias}-gen-*?format=json&h=index")
    assert [row["index"] for row in indices] == [serving_index(cluster, alias)]
    cluster.restart_dead_nodes()


def _wait_for_new_generation(cluster: FaultCluster, alias: str, serving: str) -> str | None:
    """The index the running rebuild loads, once its shards have started; None when the
    build was over before one was seen (then the test checks the outcome alone)."""
    deadline = time.monotonic() + HEAL_DEADLINE_S
    while time.monotonic() < deadline:
        rows = cluster.get(f"/_cat/shards/{alias}-gen-*?format=json&h=index,prirep,state")
        loading = {
            row["index"]
            for row in rows
            if not row["index"].endswith(serving) and row["state"] == "STARTED"
        }
        if loading:
            return sorted(loading)[-1]
        if not _lock_held(cluster, alias) and len({row["index"] for row in rows}) == 1:
            return None
        time.sleep(0.1)
    raise AssertionError("the rebuild never created its index")


def _lock_held(cluster: FaultCluster, alias: str) -> bool:
    try:
        cluster.get(f"/{alias}-locks/_doc/rebuild")
    except ClusterFailed:  # no node answers 200: the lock document is gone
        return False
    return True


def _wait_until_no_build(cluster: FaultCluster, alias: str) -> None:
    deadline = time.monotonic() + HEAL_DEADLINE_S
    while _lock_held(cluster, alias):
        assert time.monotonic() < deadline, "the rebuild never ended"
        time.sleep(0.5)


def test_a_cluster_that_is_down_gives_503_and_the_service_recovers_without_a_restart(
    cluster, service
):
    server = service["server"]
    cluster.wait_for("green", HEAL_DEADLINE_S)
    pid = server.process.pid
    assert get(server.base, "/api/search?q=harbour")[0] == 200
    for node in cluster.nodes():
        cluster.kill_node(node["name"])

    status, body, headers = get(server.base, "/api/search?q=harbour")
    assert status == 503 and "cluster" in body["message"], body
    assert headers.get("Retry-After")
    for path in ("/api/articles/harbour-01", "/api/articles/harbour-01/related"):
        status, body, _ = get(server.base, path)
        assert status == 503 and "cluster" in body["message"], (path, body)
    status, page, _ = get(server.base, "/?q=harbour")
    assert status == 503 and "cluster is not answering" in page
    status, health, _ = get(server.base, "/healthz")
    assert status == 503, health
    assert health["engine"] == "opensearch" and "cannot be reached" in health["reason"], health

    cluster.restart_dead_nodes()
    deadline = time.monotonic() + HEAL_DEADLINE_S
    while (status := get(server.base, "/api/search?q=harbour")[0]) != 200:
        assert time.monotonic() < deadline, f"still {status} after the cluster came back"
        time.sleep(1)
    assert get(server.base, "/healthz")[0] == 200
    assert server.process.pid == pid and server.process.poll() is None


def test_a_shard_with_no_live_copy_gives_503_not_fewer_results(cluster, tmp_path):
    """Three shards, no replica, one per node: with a node gone a third of the matches
    has no copy anywhere, and the answer is a 503 saying so, never a shorter list."""
    from searchsvc.config import Settings
    from searchsvc.opensearch import OpenSearchEngine
    from searchsvc.web import close_app, create_app

    cluster.wait_for("green", HEAL_DEADLINE_S)
    settings = Settings(
        engine="opensearch",
        opensearch_url=tuple(cluster.urls),
        opensearch_index=unique_alias("partial"),
        opensearch_shards=3,
        opensearch_replicas=0,
        index_dir=tmp_path / "index",
    )
    stories = [
        Article(id=f"p{number:02d}", title=f"Harbour report {number}", body="Cranes idle.")
        for number in range(30)
    ]
    with OpenSearchEngine(settings) as engine:
        engine.build(stories)
        spread = {"index.routing.allocation.total_shards_per_node": 1}
        engine.client.indices.put_settings(index=settings.opensearch_index, body=spread)
        cluster.wait_for("green", HEAL_DEADLINE_S)
        shards = cluster.get(
            f"/_cat/shards/{serving_index(cluster, settings.opensearch_index)}"
            "?format=json&h=node,state"
        )
        assert len({shard["node"] for shard in shards if shard["state"] == "STARTED"}) == 3
        app = create_app(settings)
        web = app.test_client()
        try:
            assert web.get("/api/search?q=harbour").get_json()["total"] == 30
            cluster.kill_node(
                cluster.node_holding(serving_index(cluster, settings.opensearch_index))
            )
            answers = [web.get(path) for path in ("/api/search?q=harbour", "/api/search?q=")]
            cluster.restart_dead_nodes()
            healed = web.get("/api/search?q=harbour")
        finally:
            close_app(app)
            engine.client.indices.delete(index=f"{settings.opensearch_index}-*")
    for answer in answers:
        body = answer.get_json()
        assert answer.status_code == 503, body
        assert "cluster is not answering" in body["message"] and "shards" in body["reason"], body
    assert healed.status_code == 200 and healed.get_json()["total"] == 30
