"""A generation's manifest: file checksums and sampled files' chunk checksums."""

from __future__ import annotations

import random
from pathlib import Path

from searchsvc.index.manifest import CHUNK_BYTES, build_chunks, build_manifest, file_entry


def test_chunk_checksums_taken_with_the_manifest_equal_those_read_apart(tmp_path: Path) -> None:
    noise = random.Random(5)
    sizes = {
        "MAIN_a.pst": 6 * CHUNK_BYTES + 17,  # sampled: chunks taken in the same read
        "MAIN_a.trm": 5 * CHUNK_BYTES,
        "MAIN_a.id.col": 3 * CHUNK_BYTES,  # small: compared whole, no chunks
        "MAIN_a.zdict": 9 * CHUNK_BYTES,  # not a sampled kind
    }
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(noise.randbytes(size))
    chunks: dict[str, list[int]] = {}
    files = build_manifest(tmp_path, chunks=chunks)
    assert files == build_manifest(tmp_path)
    assert files == {name: file_entry(tmp_path / name) for name in sizes}
    assert chunks == build_chunks(tmp_path, files)
    assert sorted(chunks) == ["MAIN_a.pst", "MAIN_a.trm"]
    assert len(chunks["MAIN_a.pst"]) == 7
