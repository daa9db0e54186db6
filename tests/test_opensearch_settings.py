"""The engine settings as the environment gives them."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchsvc.config import ConfigError, Settings


def test_whoosh_is_the_default_engine() -> None:
    settings = Settings.from_env({})
    assert (settings.engine, settings.opensearch_index) == ("whoosh", "searchsvc")


def test_the_cluster_settings_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "SEARCHSVC_ENGINE": "opensearch",
            "SEARCHSVC_OPENSEARCH_URL": "http://127.0.0.1:9201, http://127.0.0.1:9202,",
            "SEARCHSVC_OPENSEARCH_INDEX": "news",
            "SEARCHSVC_OPENSEARCH_SHARDS": "3",
            "SEARCHSVC_OPENSEARCH_REPLICAS": "0",
            "SEARCHSVC_OPENSEARCH_USER": "reader",
            "SEARCHSVC_OPENSEARCH_PASSWORD": "secret",
            "SEARCHSVC_OPENSEARCH_CA_FILE": "/etc/ssl/cluster-ca.pem",
        }
    )
    assert settings.engine == "opensearch"
    assert settings.opensearch_url == ("http://127.0.0.1:9201", "http://127.0.0.1:9202")
    assert (settings.opensearch_index, settings.opensearch_shards) == ("news", 3)
    assert settings.opensearch_replicas == 0
    assert (settings.opensearch_user, settings.opensearch_password) == ("reader", "secret")
    assert settings.opensearch_ca_file == Path("/etc/ssl/cluster-ca.pem")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SEARCHSVC_ENGINE", "solr", "must be one of whoosh, opensearch"),
        ("SEARCHSVC_OPENSEARCH_URL", " , ", "names no URL"),
        ("SEARCHSVC_OPENSEARCH_REPLICAS", "-1", "0 or more"),
        ("SEARCHSVC_OPENSEARCH_SHARDS", "0", "greater than 0"),
    ],
)
def test_unusable_values_are_refused_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        Settings.from_env({variable: value})
    assert variable in str(refused.value)
