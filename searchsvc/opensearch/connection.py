"""A client for the configured cluster: node URLs, optional basic auth and CA bundle,
bounded timeouts and retries, and the one place where the client's transport errors
become :class:`~searchsvc.index.errors.ClusterUnavailable`."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

from opensearchpy import OpenSearch
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
    }
    if settings.opensearch_user:
        options["http_auth"] = (settings.opensearch_user, settings.opensearch_password or "")
    if settings.opensearch_ca_file:
        options["ca_certs"] = str(settings.opensearch_ca_file)
        options["verify_certs"] = True
    return OpenSearch(**options)


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
