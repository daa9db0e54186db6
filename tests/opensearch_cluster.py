"""The OpenSearch cluster the engine tests run against, for the whole test session.

``SEARCHSVC_OPENSEARCH_URL`` set (``.ci/run`` starts a three-node cluster and sets it,
or a developer exports the URLs ``cluster/start`` printed): that cluster is used and left
running. Unset: one node is started by ``cluster/cluster.py``'s :class:`LocalCluster`
(what ``cluster/start --nodes 1`` runs) in a state folder of this session's own, and
stopped (its data removed) when the session ends, so a cluster started by hand is never
stopped by the tests. Where Java or Maven is missing (the launcher needs both) the tests
that need a cluster skip, saying so.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cluster"))
from cluster import (  # the launcher: a script folder, not a package
    ClusterFailed,
    LocalCluster,
    unavailable_reason,
)

REPO_ROOT = Path(__file__).resolve().parents[1]

__all__ = ["ClusterFailed", "LocalCluster"]


@pytest.fixture(scope="session")
def opensearch_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ...]]:
    """Node URLs of a running cluster (the given one, or one started for this session)."""
    given = os.environ.get("SEARCHSVC_OPENSEARCH_URL", "")
    urls = tuple(url.strip() for url in given.split(",") if url.strip())
    if urls:
        yield urls
        return
    with LocalCluster(cluster_state_dir(tmp_path_factory, "opensearch-cluster"), 1) as cluster:
        yield tuple(cluster.urls)


def cluster_state_dir(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A state folder for a cluster of the tests' own; skips where none can start."""
    pytest.importorskip("opensearchpy", reason="opensearch-py is not installed")
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    return tmp_path_factory.mktemp(name)


@pytest.fixture(scope="session")
def opensearch_settings(opensearch_urls: tuple[str, ...], tmp_path_factory):
    """Settings for the cluster (each test module picks its own alias, see
    :func:`unique_alias`). Shards and replicas come from ``SEARCHSVC_OPENSEARCH_SHARDS``
    and ``_REPLICAS`` when set; else one shard, and a replica when there are several nodes.
    The local index folder (build status, a watch's state, which a cluster build reads
    too) is a fresh one, not the checkout's ``index/``."""
    from searchsvc.config import Settings

    shape = {
        key: value
        for key, value in os.environ.items()
        if key in ("SEARCHSVC_OPENSEARCH_SHARDS", "SEARCHSVC_OPENSEARCH_REPLICAS")
    }
    shape.setdefault("SEARCHSVC_OPENSEARCH_REPLICAS", "1" if len(opensearch_urls) > 1 else "0")
    return Settings.from_env(
        shape,
        engine="opensearch",
        opensearch_url=opensearch_urls,
        index_dir=tmp_path_factory.mktemp("cluster-index"),
    )


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
