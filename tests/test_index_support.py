"""Tiny corpora for the index tests, written as real JSON Lines files."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

from searchsvc.config import Settings
from searchsvc.index.generations import generations_dir

STORIES: list[dict[str, Any]] = [
    {
        "id": "khojaly",
        "title": "Azerbaijan marks anniversary of Khojaly massacres",
        "body": "Azerbaijan on Monday commemorated the 32nd anniversary of the Khojaly "
        "massacre. Events took place across the country, including the capital.",
        "date": "2024-02-26",
        "source": "MINA",
        "place": "Baku",
    },
    {
        "id": "volcano",
        "title": "Volcano erupts in Iceland",
        "body": "A volcano erupted near Grindavik on Saturday, the Icelandic Met Office "
        "said. Residents of the town were evacuated in May.",
        "date": "2024-03-16",
        "source": "Nordic Wire",
        "place": "Reykjavik",
    },
    {
        "id": "cocoa",
        "title": "Cocoa prices climb",
        "body": "Cocoa futures rose 3.5 pct in New York as the U.S. dollar weakened and "
        "traders said supplies from Ivory Coast would stay tight.",
        "date": "2024-04-02",
        "source": "Reuters",
    },
    {
        "id": "zurich",
        "title": "Zürich bank results",
        "body": "The Zürich-based bank said profit fell. Analysts had expected results "
        "to be weaker after the merger talks with us failed, one executive joked.",
        "source": "Reuters",
    },
]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def story(article_id: str, title: str, body: str, **extra: Any) -> dict[str, Any]:
    return {"id": article_id, "title": title, "body": body, **extra}


def write_corpus(root: Path, records: list[dict[str, Any]] | None = None) -> Path:
    """The four stories above (or ``records``), one file, in ``root``."""
    write_jsonl(root / "stories.jsonl", STORIES if records is None else records)
    return root


def index_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values = {"index_dir": tmp_path / "index", "build_procs": 1, **overrides}
    return Settings.from_env({}, **values)


def generated_corpus(root: Path, files: int, per_file: int) -> Path:
    """Many invented articles, for builds that must take a while."""
    words = [
        *("market", "government", "election", "minister", "trade", "oil", "prices"),
        *("bank", "talks", "troops", "weather", "harvest", "exports", "strike"),
        *("court", "ruling", "budget", "inflation", "currency", "port"),
    ]
    for number in range(files):
        records = []
        for item in range(per_file):
            seed = number * per_file + item
            body = " ".join(words[(seed * 7 + k * 3) % len(words)] for k in range(120))
            records.append(story(f"gen-{seed}", f"Report {seed} on {words[seed % 20]}", body))
        write_jsonl(root / f"part-{number:03d}.jsonl", records)
    return root


def breaking_reader(path: Path, report: Any, *, max_file_bytes: int) -> Iterator[Any]:
    """Reads a file with the real reader, then fails as a disk error would."""
    from searchsvc.articles.sources import read_file

    yield from read_file(path, report, max_file_bytes=max_file_bytes)
    raise OSError(f"reader broke after {path.name}")


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll ``condition`` until it holds; ``timeout`` is a hang guard, not a measurement."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def generations_held_open(index_dir: Path, pid: int | None = None) -> set[str]:
    """The generations of ``index_dir`` whose files (or lock files) the process ``pid``
    (this one by default) holds open."""
    prefix = f"{generations_dir(index_dir)}/"
    return {
        held.path[len(prefix) :].split("/")[0].removesuffix(".lock")
        for held in psutil.Process(pid).open_files()
        if held.path.startswith(prefix)
    }
