"""What ``GET /api/index/status`` and ``searchsvc index-info`` say of the cluster's builds,
whichever process runs them, and how many requests a search makes of the cluster."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from opensearch_cluster import drop_alias_indices, unique_alias
from test_opensearch_generations import FIRST, SECOND, story, write_harbour_stories
from test_web_support import assert_documented

from searchsvc import engines
from searchsvc.cli import main
from searchsvc.opensearch import OpenSearchEngine, generations
from searchsvc.search import SearchRequest
from searchsvc.web import close_app, create_app


@pytest.fixture
def engine(opensearch_settings, tmp_path) -> Iterator[OpenSearchEngine]:
    settings = opensearch_settings.replace(
        opensearch_index=unique_alias("status"), index_dir=tmp_path / "index"
    )
    with OpenSearchEngine(settings) as opened:
        yield opened
    drop_alias_indices(settings)


@pytest.fixture
def status(engine) -> Iterator[Callable[[], dict]]:
    """``GET /api/index/status`` of a real app on the engine's settings (checked against
    the OpenAPI document)."""
    app = create_app(engine.settings)
    web = app.test_client()

    def read() -> dict:
        answer = web.get("/api/index/status")
        assert answer.status_code == 200
        assert_documented(web, answer, "/api/index/status")
        return answer.get_json()

    yield read
    close_app(app)


def test_a_build_held_by_another_process_shows_its_progress_holder_and_expiry(
    engine, status
) -> None:
    engine.build(FIRST)
    other = generations.ClusterLock(engine.client, engine.alias, "build")
    other.progress.update(generation="20260101t000000000000-abcdef", phase="loading", done=1500)
    assert other.try_acquire() is None
    try:
        running = status()
    finally:
        other.release()
    assert running["state"] == "building" and running["phase"] == "loading"
    assert running["progress"]["done"] == 1500
    assert running["job"]["generation"] == "20260101t000000000000-abcdef"
    lock = running["lock"]
    assert (lock["owner"], lock["purpose"], lock["expired"]) == (other.owner, "build", False)
    assert dt.datetime.fromisoformat(lock["expires_at"]) > dt.datetime.now(dt.UTC)
    assert running["serving"]["article_count"] == 2
    assert status()["state"] == "idle" and status()["lock"] is None


def test_a_failed_build_is_reported_until_the_next_one_succeeds(engine, status) -> None:
    good = engine.build(FIRST)

    def breaks_halfway():
        yield SECOND[0]
        raise OSError("source disk vanished")

    with pytest.raises(OSError):
        engine.build(breaks_halfway())
    failed = status()
    assert failed["state"] == "failed" and "source disk vanished" in failed["error"]
    assert failed["serving"]["generation"] == good.generation
    assert failed["job"]["finished_at"]

    done = engine.build(SECOND)
    succeeded = status()
    assert (succeeded["state"], succeeded["error"]) == ("idle", None)
    assert succeeded["job"]["generation"] == done.generation
    assert succeeded["progress"]["done"] == 2
    assert succeeded["serving"]["generation"] == done.generation


def test_a_build_that_stopped_renewing_its_lock_is_reported_killed(
    engine, status, monkeypatch
) -> None:
    engine.build(FIRST)
    monkeypatch.setattr(generations, "LOCK_TTL_S", 0.2)
    dead = generations.ClusterLock(engine.client, engine.alias, "build")
    assert dead.try_acquire() is None  # its process "dies" holding it
    time.sleep(0.3)
    killed = status()
    assert killed["state"] == "failed" and "stopped renewing" in killed["error"]
    assert killed["lock"]["expired"] is True and killed["lock"]["owner"] == dead.owner


def test_index_info_describes_the_generation_behind_the_alias(
    engine, tmp_path, monkeypatch, capsys
) -> None:
    source = write_harbour_stories(tmp_path / "stories.jsonl")
    settings = engine.settings
    built = engines.build_index([source], settings)
    engines.update_articles(settings, [story("f3", "Harbour crane rebuilt")])
    for key, value in {
        "SEARCHSVC_ENGINE": "opensearch",
        "SEARCHSVC_OPENSEARCH_URL": ",".join(settings.opensearch_url),
        "SEARCHSVC_OPENSEARCH_INDEX": settings.opensearch_index,
        "SEARCHSVC_OPENSEARCH_REPLICAS": str(settings.opensearch_replicas),
    }.items():
        monkeypatch.setenv(key, value)

    assert main(["index-info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["engine"], info["alias"], info["generation"]) == (
        "opensearch",
        settings.opensearch_index,
        built.generation,
    )
    assert (info["article_count"], info["commit"], info["sources"]) == (3, 2, [str(source)])
    assert info["report"]["articles"] == 2 and info["built_at"]
    assert info["generations"] == [built.generation]
    assert (info["shards"], info["replicas"]) == (1, settings.opensearch_replicas)
    assert info["health"] in ("green", "yellow") and info["index_bytes"] > 0
    assert info["build_status"]["state"] == "idle"

    assert main(["index-info"]) == 0
    text = capsys.readouterr().out
    assert f"generation: {built.generation}" in text and "articles: 3" in text
    assert f"behind the alias {settings.opensearch_index}: 1 shard(s)" in text
    assert main(["index-info", "--verify"]) == 2
    assert "the OpenSearch cluster checks its own shards" in capsys.readouterr().err


# --- requests per search -----------------------------------------------------------------


def requests_made(caplog: pytest.LogCaptureFixture, call: Callable[[], object]) -> Counter[str]:
    """The cluster endpoints ``call`` sent requests to (opensearch-py logs each)."""
    caplog.clear()
    call()
    sent: Counter[str] = Counter()
    for record in caplog.records:
        if record.name == "opensearch":
            path = str(record.args[1]).split("://", 1)[-1].split("?", 1)[0].split("/")
            sent[next(part for part in path if part.startswith("_"))] += 1
    return sent


def test_word_counts_are_asked_once_per_generation_and_update(engine, caplog) -> None:
    engine.build([*FIRST, *SECOND])
    caplog.set_level(logging.INFO, logger="opensearch")

    def search(query: str):
        return lambda: engine.search(SearchRequest(query=query))

    first = requests_made(caplog, search("keepers strike"))
    assert first["_msearch"] == 1 and first["_termvectors"] == 1  # every word at once
    assert requests_made(caplog, search("keepers strike")) == {"_msearch": 1}
    assert requests_made(caplog, search("strike keepers")) == {"_msearch": 1}

    typo = "zeppelinn"
    assert engine.search(SearchRequest(query=typo)).suggestion is None
    engine.add([story("z1", "Zeppelin over the lighthouse"), story("z2", "Zeppelin lands")])
    assert engine.search(SearchRequest(query=typo)).suggestion == "zeppelin"
    engine.build(FIRST)  # a new generation: what the words were is asked again
    assert engine.search(SearchRequest(query=typo)).suggestion is None
