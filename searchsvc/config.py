"""All settings in one place: defaults, then ``SEARCHSVC_*`` environment variables, then overrides.

Every other module takes a :class:`Settings` (or the few values it needs) as an argument;
nothing reads the environment on its own.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "SEARCHSVC_"


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/searchsvc``, else ``~/.cache/searchsvc``."""
    environ = os.environ if environ is None else environ
    home = environ.get("HOME") or os.path.expanduser("~")
    return Path(environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")) / "searchsvc"


def cache_dir_from_env(environ: Mapping[str, str] | None = None) -> Path:
    """:attr:`Settings.cache_dir` as the environment sets it, read on its own: the places
    code that needs it (for the prebuilt gazetteer) is reached from article readers,
    which take no settings."""
    environ = os.environ if environ is None else environ
    configured = environ.get(ENV_PREFIX + "CACHE_DIR")
    return Path(configured) if configured else default_cache_dir(environ)


class ConfigError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    index_dir: Path = Path("index")
    corpus: tuple[Path, ...] = (Path("seeds"),)
    admin_token: str | None = None
    # Query limits: enforced with a clear message rather than by slowing down.
    max_query_length: int = 1000
    max_query_terms: int = 64
    max_page: int = 1000
    max_per_page: int = 100
    default_per_page: int = 10
    # Highlighting.
    snippet_chars: int = 200
    snippet_fragments: int = 2
    # Facets: how many values each facet lists before the "other" count.
    facet_top_n: int = 10
    # Ingest: the most bytes a reader holds at once. Formats read whole (wire text, Reuters
    # SGML) skip and report larger files; JSON Lines streams with no file-size cap and
    # skips and reports a longer line (one record).
    max_file_bytes: int = 50 * 1024 * 1024
    # Derived data kept between runs: the prebuilt gazetteer (see places/gazetteer.py).
    cache_dir: Path = field(default_factory=default_cache_dir)
    # Index writing.
    writer_lock_timeout: float = 30.0
    build_procs: int = field(default_factory=lambda: max(1, min(2, os.cpu_count() or 1)))
    # A build of at least this many articles ends with its segments merged into one, so
    # that a term is looked up and decoded once, not once per segment (1M synthetic
    # articles: 80 segments). The merge copies postings blocks instead of re-adding each
    # posting (benchmarks/bench_merge.py times it); a larger value keeps the segments of
    # builds below it as written. Even a small build merges by default: Reuters left as
    # its two workers' segments built in 0.85x the time, but its first-time queries took
    # 1.2-1.35x as long (p50, four rounds each).
    merge_min_articles: int = 1
    # Postings a build worker holds in memory before it writes them out as a segment:
    # the bound on a worker's memory (about 100 bytes a posting).
    segment_postings: int = 4_000_000
    # Copies of one story (agency copies, updates) are one result when the MinHash
    # estimate of their shingles' Jaccard similarity reaches this (0-1]; see
    # benchmarks/measure_versions.py for precision and recall at other values.
    versions_threshold: float = 0.4
    # Serving. Threads per worker process: searching is CPU work under one interpreter
    # lock, so threads beyond one per process only interleave searches and slow each down
    # (Reuters, 16 clients on 2 cores: p99 141-148 ms with 8 threads, 80-118 with 2,
    # 63-78 with 1, and the most queries/s with 1). Raise it where the index is read from
    # a slow disk, so that one search's reads overlap another's work.
    threads: int = 1
    # Memory each serving process may spend on decoded postings, term scores and phrase
    # matches of the index it serves, counted in real bytes (more: fewer terms decoded
    # again; see search/snapshot). Each worker has its own, beside its code, columns and
    # lexicon (205 MiB at 100,000 articles, growing with the archive): 128 is what a worker
    # over a million articles can spend within 600 MiB. The benchmark query set's terms
    # take 255 MiB at 100,000 articles and more at a million, so no budget that fits holds
    # a whole varied workload; 128 holds a query's own terms many times over (64 answers
    # the first pass as fast) and the most repeated ones (benchmarks/bench_memory.py).
    cache_mb: int = 128
    # Worker processes for `serve`, each with `threads` threads: one per core, because one
    # process cannot use more than about one core for Python code.
    workers: int = field(default_factory=lambda: max(1, min(2, os.cpu_count() or 1)))
    # Which engine answers: "whoosh" (the embedded index in index_dir) or "opensearch".
    engine: str = "whoosh"
    # OpenSearch: node URLs (comma-separated), the alias searches go through, the shape of
    # each generation's index, and optional basic auth and CA bundle for https.
    opensearch_url: tuple[str, ...] = ("http://127.0.0.1:9200",)
    opensearch_index: str = "searchsvc"
    opensearch_shards: int = 1
    opensearch_replicas: int = 0
    opensearch_user: str | None = None
    opensearch_password: str | None = None
    opensearch_ca_file: Path | None = None
    # `searchsvc watch`: seconds between polls of its feeds and folders (a new article is
    # searchable within one interval and a second), and the most a feed or page fetch may
    # take before that source counts as failed for this poll.
    watch_interval: float = 60.0
    feed_timeout: float = 10.0
    # The language of every article whose source declares none, for an archive known to
    # be in one language: its articles are not run through the detector. Any tag or name
    # (`en`, `id-ID`, `Indonesian`), kept as its ISO 639 code. The article readers read
    # it from the environment themselves (articles/languages.py), as they take no settings.
    default_language: str | None = None

    def replace(self, **overrides: Any) -> Settings:
        return dataclasses.replace(self, **_coerce_all(overrides))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``SEARCHSVC_<FIELD>`` variables, then ``overrides``."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, raw)
        values.update(_coerce_all(overrides))
        return cls(**values)


_PATH_FIELDS = {"index_dir", "cache_dir", "opensearch_ca_file"}
ENGINES = ("whoosh", "opensearch")
_INT_FIELDS = {
    "max_query_length",
    "max_query_terms",
    "max_page",
    "max_per_page",
    "default_per_page",
    "snippet_chars",
    "snippet_fragments",
    "facet_top_n",
    "max_file_bytes",
    "build_procs",
    "merge_min_articles",
    "segment_postings",
    "threads",
    "workers",
    "cache_mb",
    "opensearch_shards",
}
_FLOAT_FIELDS = {"writer_lock_timeout", "watch_interval", "feed_timeout", "versions_threshold"}
#: Settings that are shares: at most 1.
_SHARE_FIELDS = {"versions_threshold"}


def _coerce_all(values: Mapping[str, Any]) -> dict[str, Any]:
    known = {f.name for f in dataclasses.fields(Settings)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(sorted(unknown))}; "
            f"known settings: {', '.join(sorted(known))}"
        )
    return {name: _coerce(name, value) for name, value in values.items()}


def _language_code(variable: str, value: str | None) -> str | None:
    from searchsvc.articles.languages import normalize_language_tag

    code = normalize_language_tag(value)
    if value and code is None:
        raise ConfigError(
            f"{variable} names no known language (a code such as en or id, "
            f"or a name such as Indonesian), got {value!r}"
        )
    return code


def _coerce(name: str, value: Any) -> Any:
    """Turn an environment string (or a test's override) into the field's type."""
    variable = ENV_PREFIX + name.upper()
    if name in _PATH_FIELDS:
        return Path(value)
    if name == "corpus":
        parts = value.split(":") if isinstance(value, str) else list(value)
        paths = tuple(Path(p) for p in parts if str(p))
        if not paths:
            raise ConfigError(f"{variable} names no path; give one or more paths joined with ':'")
        return paths
    if name in ("admin_token", "opensearch_user", "opensearch_password"):
        return value or None
    if name == "default_language":
        return _language_code(variable, value)
    if name == "engine":
        if value not in ENGINES:
            raise ConfigError(f"{variable} must be one of {', '.join(ENGINES)}, got {value!r}")
        return value
    if name == "opensearch_url":
        parts = value.split(",") if isinstance(value, str) else list(value)
        urls = tuple(str(p).strip() for p in parts if str(p).strip())
        if not urls:
            raise ConfigError(f"{variable} names no URL; give one or more joined with ','")
        return urls
    if name == "opensearch_replicas":
        try:
            replicas = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{variable} must be a number, got {value!r}") from None
        if replicas < 0:
            raise ConfigError(f"{variable} must be 0 or more, got {value!r}")
        return replicas
    if name in _INT_FIELDS or name in _FLOAT_FIELDS:
        kind = int if name in _INT_FIELDS else float
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{variable} must be a number, got {value!r}") from None
        if number <= 0:
            raise ConfigError(f"{variable} must be greater than 0, got {value!r}")
        if name in _SHARE_FIELDS and number > 1:
            raise ConfigError(f"{variable} must be at most 1, got {value!r}")
        return number
    return value
