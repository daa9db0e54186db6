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
    # builds below it as written.
    merge_min_articles: int = 1
    # Serving. Threads per worker process: searching is CPU work under one interpreter
    # lock, so threads beyond one per process only interleave searches and slow each down
    # (Reuters, 16 clients on 2 cores: p99 141-148 ms with 8 threads, 80-118 with 2,
    # 63-78 with 1, and the most queries/s with 1). Raise it where the index is read from
    # a slow disk, so that one search's reads overlap another's work.
    threads: int = 1
    # Memory each serving process may spend on decoded postings, term scores and phrase
    # matches of the index it serves (more: fewer terms decoded again; see search/snapshot).
    cache_mb: int = 1024
    # Worker processes for `serve`, each with `threads` threads: one per core, because one
    # process cannot use more than about one core for Python code.
    workers: int = field(default_factory=lambda: max(1, min(2, os.cpu_count() or 1)))

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


_PATH_FIELDS = {"index_dir", "cache_dir"}
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
    "threads",
    "workers",
    "cache_mb",
}
_FLOAT_FIELDS = {"writer_lock_timeout"}


def _coerce_all(values: Mapping[str, Any]) -> dict[str, Any]:
    known = {f.name for f in dataclasses.fields(Settings)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(sorted(unknown))}; "
            f"known settings: {', '.join(sorted(known))}"
        )
    return {name: _coerce(name, value) for name, value in values.items()}


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
    if name == "admin_token":
        return value or None
    if name in _INT_FIELDS or name in _FLOAT_FIELDS:
        kind = int if name in _INT_FIELDS else float
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{variable} must be a number, got {value!r}") from None
        if number <= 0:
            raise ConfigError(f"{variable} must be greater than 0, got {value!r}")
        return number
    return value
