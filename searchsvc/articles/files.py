"""Reading a source file's bytes safely: every way a file can be unusable becomes a report line.

A build over a user's corpus must not stop on one bad file, and must not lose one
silently either, so each check here ends in :meth:`IngestReport.skip` or ``repair``.
"""

from __future__ import annotations

from pathlib import Path

from searchsvc.articles.model import IngestReport
from searchsvc.articles.text import decode_text, looks_binary

SKIP_UNREADABLE = "unreadable file"
SKIP_TOO_LARGE = "file too large"
SKIP_EMPTY = "empty file"
SKIP_BINARY = "binary file"
SKIP_UNSUPPORTED = "unsupported file type"
REPAIR_UNDECODABLE = "undecodable bytes"


def check_size(path: Path, report: IngestReport, *, max_file_bytes: int) -> bool:
    """True when the file exists, is not empty and is within ``max_file_bytes``."""
    try:
        size = path.stat().st_size
    except OSError:
        report.skip(SKIP_UNREADABLE, str(path))
        return False
    if size > max_file_bytes:
        report.skip(SKIP_TOO_LARGE, str(path))
        return False
    if size == 0:
        report.skip(SKIP_EMPTY, str(path))
        return False
    return True


def read_text_file(path: Path, report: IngestReport, *, max_file_bytes: int) -> str | None:
    """The whole file as text, or None after reporting why it cannot be used."""
    if not check_size(path, report, max_file_bytes=max_file_bytes):
        return None
    try:
        data = path.read_bytes()
    except OSError:
        report.skip(SKIP_UNREADABLE, str(path))
        return None
    if len(data) > max_file_bytes:  # it grew after the size check
        report.skip(SKIP_TOO_LARGE, str(path))
        return None
    if looks_binary(data):
        report.skip(SKIP_BINARY, str(path))
        return None
    text, repaired = decode_text(data)
    if repaired:
        report.repair(REPAIR_UNDECODABLE, str(path))
    if not text.strip():
        report.skip(SKIP_EMPTY, str(path))
        return None
    return text
