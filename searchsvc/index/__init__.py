"""The search index: building generations, opening the serving one, small updates.

Public API (everything else in this package is an implementation detail)::

    build_index(sources, settings, *, show_progress=None, on_progress=None) -> BuildResult
    open_index(index_dir) -> OpenedIndex
    read_build_status(index_dir) -> dict
    update_articles(settings, articles) / delete_articles(settings, ids)
    index_info(index_dir) -> dict
"""

from searchsvc.index.build import BuildResult, build_index
from searchsvc.index.errors import (
    AnalyzerMismatch,
    BuildFailed,
    BuildInProgress,
    ClusterUnavailable,
    IndexCorrupt,
    IndexNotFound,
    IndexOutdated,
    SearchIndexError,
    WriterBusy,
)
from searchsvc.index.generations import read_current
from searchsvc.index.opening import OpenedIndex, open_index
from searchsvc.index.schema import make_schema
from searchsvc.index.status import read_build_status

__all__ = [
    "AnalyzerMismatch",
    "BuildFailed",
    "BuildInProgress",
    "BuildResult",
    "ClusterUnavailable",
    "IndexCorrupt",
    "IndexNotFound",
    "IndexOutdated",
    "OpenedIndex",
    "SearchIndexError",
    "WriterBusy",
    "build_index",
    "make_schema",
    "open_index",
    "read_build_status",
    "read_current",
]
