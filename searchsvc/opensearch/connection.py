"""A client for the configured cluster: node URLs, optional basic auth and CA bundle,
bounded timeouts and retries, and the one place where the client's transport errors
become :class:`~searchsvc.index.errors.ClusterUnavailable`, and where a search some
shards could not answer is refused instead of served short."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

from opensearchpy import OpenSearch, Transport
from opensearchpy.exceptions import ConnectionError as ClientConnectionError
from opensearchpy.exceptions import TransportError

from searchsvc.config import Settings
from searchsvc.index.errors import ClusterUnavailable

#: Seconds one request may take on one node before the client tries another; a search
#: that takes longer is a sick node, and a web request must not hang on it.
REQUEST_TIMEOUT_S = 10
#: Further nodes tried for one request (a node killed mid-request is retried elsewhere).
MAX_RETRIES = 2
#: Seconds a node that failed is left out before it is tried again (doubling on each
#: further failure, up to ``DEAD_TIMEOUT_CAP_S``): short, so a restarted node serves soon.
DEAD_TIMEOUT_S = 2
DEAD_TIMEOUT_CAP_S = 30
#: Answers meaning "this node cannot serve now, another may": retried on another node.
RETRY_STATUSES = (502, 503, 504)
#: The endpoints whose answers count matches: one missing shard would make them short.
_READS = ("_search", "_msearch", "_count")

P = ParamSpec("P")
R = TypeVar("R")


def connect(settings: Settings) -> OpenSearch:
    """A client spreading requests over every configured node and retrying on another
    node when one stops answering (the cluster's replicas hold the same data)."""
    options: dict = {
        "hosts": list(settings.opensearch_url),
        "timeout": REQUEST_TIMEOUT_S,
        "retry_on_timeout": True,
        "retry_on_status": RETRY_STATUSES,
        "max_retries": MAX_RETRIES,
        "dead_timeout": DEAD_TIMEOUT_S,
        "timeout_cutoff": DEAD_TIMEOUT_CAP_S // DEAD_TIMEOUT_S,
        # One pooled connection per serving thread, and a few for builds beside them.
        "pool_maxsize": settings.threads + 4,
        "transport_class": WholeAnswers,
    }
    if settings.opensearch_user:
        options["http_auth"] = (settings.opensearch_user, settings.opensearch_password or "")
    if settings.opensearch_ca_file:
        options["ca_certs"] = str(settings.opensearch_ca_file)
        options["verify_certs"] = True
    return OpenSearch(**options)


class WholeAnswers(Transport):
    """The client's transport, refusing what would quietly be a partial result.

    OpenSearch answers a search whose shards are not all reachable (a node died holding
    the only copy) with the matches of the others, and says so only in ``_shards``. Such
    a list, total or facet count would be wrong without a sign, so searches ask for no
    partial results and every search, multi-search and count answer that still reports
    a failed shard raises :class:`ClusterUnavailable` (a 503 for the user)."""

    def perform_request(
        self, method: str, url: str, params: Any = None, body: Any = None, **options: Any
    ) -> Any:
        endpoint = url.rstrip("/").rsplit("/", 1)[-1]
        if endpoint == "_search":
            params = {**(params or {}), "allow_partial_search_results": "false"}
        answer = super().perform_request(method, url, params=params, body=body, **options)
        if endpoint in _READS and isinstance(answer, dict):
            for part in answer.get("responses") or [answer]:
                _check_shards(part)
        return answer


def _check_shards(answer: dict[str, Any]) -> None:
    """Refuse an answer some shard is missing from: one that failed, or one with no live
    copy at all (a red index), which is left out of ``successful`` without a failure."""
    shards = answer.get("_shards") or {}
    if not shards.get("failed") and shards.get("successful", 0) >= shards.get("total", 0):
        return
    failures = shards.get("failures") or [{}]
    reason = (failures[0].get("reason") or {}).get("type") or "no live copy"
    raise ClusterUnavailable(
        f"the OpenSearch cluster answered from {shards.get('successful')} of "
        f"{shards.get('total')} shards ({reason}); a partial result is not served"
    )


@contextlib.contextmanager
def cluster_errors() -> Iterator[None]:
    """Raise :class:`ClusterUnavailable` for what the cluster cannot answer now: no node
    reachable, a timeout, or a 503 (no copy of a shard available: a red cluster).

    Other errors (a 404, a refused request) keep their meaning for the caller."""
    try:
        yield
    except ClientConnectionError as error:  # also ConnectionTimeout
        raise ClusterUnavailable(
            f"the OpenSearch cluster cannot be reached ({_cause(error)})"
        ) from error
    except TransportError as error:
        if error.status_code in RETRY_STATUSES:
            raise ClusterUnavailable(
                f"the OpenSearch cluster cannot serve the index now ({_cause(error)})"
            ) from error
        raise


def translating_cluster_errors(call: Callable[P, R]) -> Callable[P, R]:
    """``call`` under :func:`cluster_errors` (for the engine's public calls)."""

    @functools.wraps(call)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with cluster_errors():
            return call(*args, **kwargs)

    return wrapper


def _cause(error: TransportError) -> str:
    """A short reason: the status or connection error, without the client's repr noise."""
    if isinstance(error, ClientConnectionError):
        return f"{type(error).__name__}: {error.info or error.error}"
    return f"{error.status_code} {error.error}"
