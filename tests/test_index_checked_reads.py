"""Checked reads of a big file, straight from a file and its chunk checksums.

A read that touches a chunk nobody has read yet reaches out to that chunk's bounds and
checks it in the same bytes; what the caller gets must still be exactly the bytes it
asked for, wherever the read starts and ends (inside a chunk, across chunks, past the
file's shorter last chunk), and damage anywhere in a chunk it touches must still raise.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from searchsvc.index.checked import CheckedStorage, ChunkDamaged
from searchsvc.index.manifest import CHUNK_BYTES, chunk_checksums

NAME = "segment.pst"
#: Five whole chunks and a short last one.
SIZE = 5 * CHUNK_BYTES + 1234


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / NAME
    path.write_bytes(random.Random(7).randbytes(SIZE))
    return path


def checked_storage(path: Path, checksums: list[int] | None = None) -> CheckedStorage:
    return CheckedStorage(str(path.parent), {NAME: checksums or chunk_checksums(path)})


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


READS = [
    (100, 50),  # inside the first chunk
    (CHUNK_BYTES - 10, 20),  # across two chunks
    (CHUNK_BYTES // 2, 3 * CHUNK_BYTES),  # holding two chunks whole, two in part
    (2 * CHUNK_BYTES, CHUNK_BYTES),  # exactly one chunk
    (5 * CHUNK_BYTES + 1000, 100),  # inside the short last chunk
    (SIZE - 50, 500),  # past the end of the file
    (SIZE + 10, 20),  # wholly past the end
    (300, 0),
]


@pytest.mark.parametrize(("position", "length"), READS)
def test_a_checked_read_returns_exactly_the_bytes_asked_for(
    big_file: Path, position: int, length: int
) -> None:
    data = big_file.read_bytes()
    with checked_storage(big_file).open_file(NAME) as handle:
        assert handle.get(position, length) == data[position : position + length]
        assert handle.get(position, length) == data[position : position + length]  # checked


def test_reads_in_any_order_return_the_files_bytes(big_file: Path) -> None:
    data = big_file.read_bytes()
    rng = random.Random(3)
    with checked_storage(big_file).open_file(NAME) as handle:
        for _ in range(300):
            position = rng.randrange(SIZE)
            length = rng.choice([1, 7, 300, 5000, CHUNK_BYTES, 2 * CHUNK_BYTES + 9])
            assert handle.get(position, length) == data[position : position + length]


@pytest.mark.parametrize(("position", "length"), READS)
def test_a_read_from_the_file_position_returns_the_files_bytes(
    big_file: Path, position: int, length: int
) -> None:
    """Whoosh's other way in (``seek`` and ``read``), checking what it reads the same way."""
    data = big_file.read_bytes()
    with checked_storage(big_file).open_file(NAME) as handle:
        handle.seek(position)
        assert handle.read(length) == data[position : position + length]


@pytest.mark.parametrize(
    ("damaged", "position", "length"),
    [
        (100, 60_000, 10),  # a few bytes of the chunk, far from the damage
        (2 * CHUNK_BYTES + 100, 2 * CHUNK_BYTES, CHUNK_BYTES),  # exactly the damaged chunk
        (CHUNK_BYTES + 5, CHUNK_BYTES - 10, 8),  # a read ending just before the next chunk
        (2 * CHUNK_BYTES + 70, 2 * CHUNK_BYTES - 4, 8),  # ending just inside the damaged one
        (3 * CHUNK_BYTES + 9, CHUNK_BYTES, 4 * CHUNK_BYTES),  # damaged chunk held whole
        (SIZE - 3, 5 * CHUNK_BYTES + 10, 5),  # the short last chunk
    ],
)
def test_damage_anywhere_in_a_chunk_a_read_touches_raises(
    big_file: Path, damaged: int, position: int, length: int
) -> None:
    checksums = chunk_checksums(big_file)
    flip_byte(big_file, damaged)
    touched = range(position // CHUNK_BYTES, (position + length - 1) // CHUNK_BYTES + 1)
    with checked_storage(big_file, checksums).open_file(NAME) as handle:
        if damaged // CHUNK_BYTES in touched:
            with pytest.raises(ChunkDamaged, match=NAME):
                handle.get(position, length)
            with pytest.raises(ChunkDamaged):  # not remembered as checked
                handle.get(position, length)
        else:
            assert len(handle.get(position, length)) == length


def test_a_file_cut_short_is_refused_where_its_last_chunk_was(big_file: Path) -> None:
    checksums = chunk_checksums(big_file)
    os.truncate(big_file, SIZE - 100)
    with checked_storage(big_file, checksums).open_file(NAME) as handle:
        assert len(handle.get(0, 10)) == 10
        with pytest.raises(ChunkDamaged):
            handle.get(5 * CHUNK_BYTES, 10)


def test_a_record_in_an_unread_chunk_takes_one_read(
    big_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chunk is read once, with the record in it, not the record and then the chunk."""
    reads: list[tuple[int, int]] = []
    real_pread = os.pread

    def counted_pread(fd: int, length: int, position: int) -> bytes:
        reads.append((position, length))
        return real_pread(fd, length, position)

    with checked_storage(big_file).open_file(NAME) as handle:
        monkeypatch.setattr(os, "pread", counted_pread)
        handle.get(3 * CHUNK_BYTES + 500, 2000)
        assert reads == [(3 * CHUNK_BYTES, CHUNK_BYTES)]
        handle.get(3 * CHUNK_BYTES + 9000, 100)  # checked now: only the bytes asked for
        assert reads[1:] == [(3 * CHUNK_BYTES + 9000, 100)]
