"""Stored records hinted to the system before a page reads them.

The hint is only that (nothing is read, no answer changes); what it must get right is
where: each record read afterwards lies in a range hinted in its own segment's file.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from test_index_support import index_settings, write_jsonl

from searchsvc.config import Settings
from searchsvc.index import build_index
from searchsvc.index.manifest import WHOLE_FILE_BYTES
from searchsvc.search import SearchEngine

#: Articles per segment: with bodies of invented words, enough that each segment's
#: stored records outgrow the files compared whole, so they are read chunk by chunk.
PER_SEGMENT = 700


def invented_records(rng: random.Random, prefix: str) -> list[dict[str, str]]:
    """Articles of made-up words, which compress about as little as real prose."""
    letters = "abcdefghijklmnopqrstuvwxyz"

    def word() -> str:
        return "".join(rng.choice(letters) for _ in range(rng.randint(3, 9)))

    return [
        {
            "id": f"{prefix}-{n}",
            "title": " ".join(word() for _ in range(6)),
            "body": " ".join(word() for _ in range(120)),
            "date": "2024-05-01",
        }
        for n in range(PER_SEGMENT)
    ]


@pytest.fixture(scope="module")
def two_segments(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two segments (one per build worker, left unmerged), each with its own stored file."""
    root = tmp_path_factory.mktemp("stored-reads")
    rng = random.Random(11)
    for name in ("first", "second"):
        write_jsonl(root / "corpus" / f"{name}.jsonl", invented_records(rng, name))
    build_index([root / "corpus"], segmented_settings(root))
    return root


def segmented_settings(root: Path) -> Settings:
    return index_settings(root, build_procs=2, merge_min_articles=10**9)


def test_each_record_read_after_a_hint_was_hinted_in_its_own_segment(
    two_segments: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = segmented_settings(two_segments)
    with SearchEngine(settings) as engine, engine._serving.reading() as reading:
        leaves = list(reading.reader.leaf_readers())
        assert len(leaves) == 2
        stored_files = sorted(Path(settings.index_dir).glob("generations/*/*_stored.col"))
        assert all(path.stat().st_size > WHOLE_FILE_BYTES for path in stored_files)
        docs = [3, PER_SEGMENT - 1, PER_SEGMENT + 5, 2 * PER_SEGMENT - 2]
        hinted: list[tuple[str, int, int]] = []
        real_fadvise, real_pread = os.posix_fadvise, os.pread

        def recorded_fadvise(fd: int, offset: int, length: int, advice: int) -> None:
            hinted.append((os.readlink(f"/proc/self/fd/{fd}"), offset, length))
            real_fadvise(fd, offset, length, advice)

        monkeypatch.setattr(os, "posix_fadvise", recorded_fadvise)
        reading.will_read_stored(docs)
        reads: list[tuple[str, int, int]] = []

        def recorded_pread(fd: int, length: int, position: int) -> bytes:
            reads.append((os.readlink(f"/proc/self/fd/{fd}"), position, length))
            return real_pread(fd, length, position)

        monkeypatch.setattr(os, "pread", recorded_pread)
        assert [reading.stored(doc)["id"] for doc in docs] == [
            reading.columns.ids[doc] for doc in docs
        ]
    record_reads = [read for read in reads if read[0].endswith("_stored.col")]
    assert len(record_reads) == len(docs)
    assert len({path for path, _, _ in hinted}) == 2  # both segments' files
    for path, position, length in record_reads:
        assert any(
            path == hinted_path and start <= position and position + length <= start + size
            for hinted_path, start, size in hinted
        )


def test_a_hint_reads_nothing_and_skips_records_read_already(
    two_segments: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        SearchEngine(segmented_settings(two_segments)) as engine,
        engine._serving.reading() as reading,
    ):
        first = reading.stored(10)
        hinted: list[int] = []
        real_fadvise = os.posix_fadvise

        def recorded_fadvise(fd: int, offset: int, length: int, advice: int) -> None:
            hinted.append(offset)
            real_fadvise(fd, offset, length, advice)

        monkeypatch.setattr(os, "posix_fadvise", recorded_fadvise)
        reading.will_read_stored([10, 11, 12])
        assert len(hinted) == 2  # article 10 was read already: only 11 and 12 are hinted
        assert reading.stored(10) is first
