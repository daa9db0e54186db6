"""What ``searchsvc index-info`` shows: the serving generation and how it came to be."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from searchsvc.articles.model import IngestReport
from searchsvc.index.generations import directory_size, list_generation_names
from searchsvc.index.opening import OpenedIndex, open_index
from searchsvc.index.status import read_build_status


def index_info(index_dir: Path, *, verify: bool = False) -> dict[str, Any]:
    """A JSON-ready description of the serving generation (raises like :func:`open_index`).

    ``verify`` also compares every byte of its files with the checksums taken when they
    were written (opening only samples the big ones); a damaged generation is marked so
    that it no longer serves.
    """
    with open_index(index_dir) as opened:
        meta = opened.meta
        verification = _verification(opened) if verify else None
        return {
            "index_dir": str(index_dir),
            "generation": opened.generation,
            "fallback_from": opened.fallback_from,
            "path": str(opened.path),
            "article_count": opened.doc_count(),
            "sources": meta.get("sources", []),
            "built_at": meta.get("completed_at"),
            "build_seconds": meta.get("build_seconds"),
            "build_procs": meta.get("procs"),
            "segments": len(opened.index._segments()),
            "index_bytes": directory_size(opened.path),
            "duplicates_removed": meta.get("duplicates_removed", 0),
            "updates": meta.get("updates", {}),
            "analysis": meta.get("analysis"),
            "report": meta.get("report", {}),
            "generations": list_generation_names(index_dir),
            "build_status": read_build_status(index_dir),
            "verification": verification,
        }


def _verification(opened: OpenedIndex) -> dict[str, Any]:
    started = time.monotonic()
    problem = opened.verify_files()
    return {
        "ok": problem is None,
        "problem": problem,
        "files": len(opened.meta.get("files") or {}),
        "bytes": directory_size(opened.path),
        "seconds": round(time.monotonic() - started, 3),
    }


def format_index_info(info: dict[str, Any]) -> str:
    """The human-readable form of :func:`index_info`."""
    lines = [f"generation: {info['generation']}"]
    if info.get("alias"):
        lines.append(
            f"  (index {info['index']} behind the alias {info['alias']}: "
            f"{info['shards']} shard(s), {info['replicas']} replica(s), cluster {info['health']})"
        )
    if info["fallback_from"]:
        lines.append(f"  (serving instead of unreadable generation {info['fallback_from']})")
    seconds = info["build_seconds"] or 0
    lines += [
        f"articles: {info['article_count']}",
        f"sources: {', '.join(info['sources']) or '-'}",
        f"built at: {info['built_at']} in {seconds:.1f} s",
        f"size: {info['index_bytes'] / 1_048_576:.1f} MiB in {info['segments']} segment(s)",
    ]
    updates = info["updates"] or {}
    if updates.get("last_update_at"):
        lines.append(
            f"updates since the build: {updates.get('added', 0)} added, "
            f"{updates.get('replaced', 0)} replaced, {updates.get('deleted', 0)} deleted "
            f"(last at {updates['last_update_at']})"
        )
    verification = info.get("verification")
    if verification is not None:
        lines.append(_format_verification(verification))
    status = info["build_status"]
    if status.get("state") == "building":
        lines.append(f"a rebuild is running: {status.get('done')} articles so far")
        lock = status.get("lock") or {}
        if lock:
            lines.append(f"  (by {lock['owner']}, its lock expires at {lock['expires_at']})")
    elif status.get("state") == "failed":
        lines.append(f"the last build failed: {status.get('error')}")
    lines.append("ingest report:")
    report = IngestReport.from_dict(info["report"] or {})
    lines += [f"  {line}" for line in report.format_text().splitlines()]
    return "\n".join(lines)


def _format_verification(verification: dict[str, Any]) -> str:
    if verification["ok"]:
        return (
            f"verified: every byte of {verification['bytes'] / 1_048_576:.1f} MiB matches "
            f"the checksums taken at build time ({verification['seconds']:.1f} s)"
        )
    return (
        f"DAMAGED: {verification['problem']}; this generation will not serve again, "
        "run `searchsvc build-index`"
    )
