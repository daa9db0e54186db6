"""The OpenSearch cluster the engine tests run against, for the whole test session.

``SEARCHSVC_OPENSEARCH_URL`` set (``.ci/run`` starts a three-node cluster and sets it,
or a developer exports the URLs ``cluster/start`` printed): that cluster is used and left
running. Unset: one node is started with ``cluster/start --nodes 1`` in a state folder
of this session's own, and stopped (its data removed) when the session ends, so a
cluster started by hand is never stopped by the tests. Where Java or Maven is missing
(the launcher needs both) the tests that need a cluster skip, saying so.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CLUSTER_DIR = REPO_ROOT / "cluster"
#: A hang guard for starting one node (the first start also builds the launcher).
START_TIMEOUT_S = 600


@pytest.fixture(scope="session")
def opensearch_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ...]]:
    """Node URLs of a running cluster (the given one, or one started for this session)."""
    given = os.environ.get("SEARCHSVC_OPENSEARCH_URL", "")
    urls = tuple(url.strip() for url in given.split(",") if url.strip())
    if urls:
        yield urls
        return
    pytest.importorskip("opensearchpy", reason="opensearch-py is not installed")
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing and not (CLUSTER_DIR / "target" / "lib").is_dir():
        pytest.skip(f"no OpenSearch cluster: {' and '.join(missing)} not installed")
    state = tmp_path_factory.mktemp("opensearch-cluster")
    env = {**os.environ, "SEARCHSVC_CLUSTER_DIR": str(state)}
    try:
        started = subprocess.run(
            [str(CLUSTER_DIR / "start"), "--nodes", "1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
        )
        if started.returncode != 0:
            raise AssertionError(f"cluster/start failed:\n{started.stderr}")
        yield tuple(started.stdout.split())
    finally:
        subprocess.run([str(CLUSTER_DIR / "stop")], env=env, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def opensearch_settings(opensearch_urls: tuple[str, ...]):
    """Settings for the cluster (each test module picks its own alias, see
    :func:`unique_alias`). Shards and replicas come from ``SEARCHSVC_OPENSEARCH_SHARDS``
    and ``_REPLICAS`` when set; else one shard, and a replica when there are several nodes."""
    from searchsvc.config import Settings

    shape = {
        key: value
        for key, value in os.environ.items()
        if key in ("SEARCHSVC_OPENSEARCH_SHARDS", "SEARCHSVC_OPENSEARCH_REPLICAS")
    }
    shape.setdefault("SEARCHSVC_OPENSEARCH_REPLICAS", "1" if len(opensearch_urls) > 1 else "0")
    return Settings.from_env(shape, engine="opensearch", opensearch_url=opensearch_urls)


def unique_alias(prefix: str) -> str:
    """An alias no other test (or test run sharing the cluster) uses."""
    return f"test-{prefix}-{secrets.token_hex(4)}"


def drop_alias_indices(settings) -> None:
    """Remove every index a test made under ``settings.opensearch_index``."""
    from searchsvc.opensearch.connection import connect

    client = connect(settings)
    try:
        client.indices.delete(index=f"{settings.opensearch_index}-*", ignore_unavailable=True)
    finally:
        client.close()
