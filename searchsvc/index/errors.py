"""The index's domain errors: each says what is wrong and what to do about it.

The CLI and the web layer translate these once, at their edge.
"""

from __future__ import annotations


class SearchIndexError(Exception):
    """Base class: anything that stops the index from being read or written."""


class IndexNotFound(SearchIndexError):
    """No complete index generation exists yet."""

    def __init__(self, index_dir: object) -> None:
        super().__init__(f"no search index in {index_dir}; run `searchsvc build-index` first")


class IndexCorrupt(SearchIndexError):
    """The current generation cannot be read and no earlier complete one can either."""


class IndexOutdated(SearchIndexError):
    """The index was built by code whose schema or analysis differ from this code's."""


class AnalyzerMismatch(IndexOutdated):
    """The index was built with a different text analysis than this code uses."""


class BuildInProgress(SearchIndexError):
    """Another full build holds the build lock; ``status`` is its build-status record."""

    def __init__(self, message: str, status: dict | None = None) -> None:
        super().__init__(message)
        self.status = status or {}


class BuildFailed(SearchIndexError):
    """A build stopped before switching; the previous generation keeps serving."""


class WriterBusy(SearchIndexError):
    """The index writer stayed locked longer than ``writer_lock_timeout``."""


class ClusterUnavailable(SearchIndexError):
    """The search cluster did not answer (down, unreachable, timing out, or red for the
    alias): a temporary state the service reports as 503 and recovers from by itself."""
