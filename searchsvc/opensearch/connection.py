"""A client for the configured cluster: node URLs, optional basic auth and CA bundle."""

from __future__ import annotations

from opensearchpy import OpenSearch

from searchsvc.config import Settings

#: Seconds one request may take before the client tries another node or gives up.
REQUEST_TIMEOUT_S = 30


def connect(settings: Settings) -> OpenSearch:
    """A client spreading requests over every configured node and retrying on another
    node when one stops answering (the cluster's replicas hold the same data)."""
    options: dict = {
        "hosts": list(settings.opensearch_url),
        "timeout": REQUEST_TIMEOUT_S,
        "retry_on_timeout": True,
        "max_retries": 2,
    }
    if settings.opensearch_user:
        options["http_auth"] = (settings.opensearch_user, settings.opensearch_password or "")
    if settings.opensearch_ca_file:
        options["ca_certs"] = str(settings.opensearch_ca_file)
        options["verify_certs"] = True
    return OpenSearch(**options)
