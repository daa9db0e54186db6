"""What opening checks, what only a full verification reads, and what a query does in between.

Opening compares sizes and the small files whole, and a few 64 KiB chunks of the big ones
(term dictionaries, postings, stored articles, the other columns and the column caches).
A byte flipped where opening does not look is found by ``index-info --verify``, by the
verification a build runs before it switches, and by the first read of its chunk: the
query that would have read it answers with an error, not a result, the generation is
marked damaged and the previous one serves.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import child_environment
from test_reliability_corruption import (
    WORDS,
    build_two_generations,
    copy_two_generations,
    write_corpus,
)

import searchsvc.index.build as build_module
from searchsvc.articles.model import Article
from searchsvc.config import Settings
from searchsvc.index import BuildFailed, build_index, open_index, read_current
from searchsvc.index.checked import CheckedStorage, ChunkDamaged
from searchsvc.index.generations import damage_mark, read_meta
from searchsvc.index.manifest import (
    CHUNK_BYTES,
    build_chunks,
    build_manifest,
    is_sampled,
    sample_offsets,
)
from searchsvc.index.updates import update_articles
from searchsvc.web import close_app, create_app

pytestmark = pytest.mark.slow  # builds with real worker processes

#: Big enough that B's term dictionary, postings and stored articles are only sampled.
COUNT_A, COUNT_B = 30, 3000


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A (small) then B (big enough that its postings are only sampled at open)."""
    return build_two_generations(tmp_path_factory.mktemp("open-checks"), COUNT_A, COUNT_B)


@pytest.fixture
def index(tmp_path: Path, built: dict[str, object]) -> dict[str, object]:
    return copy_two_generations(built, tmp_path)


def flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


def only(gen_dir: Path, pattern: str) -> Path:
    (path,) = gen_dir.glob(pattern)
    return path


def sampled_chunks(path: Path) -> list[range]:
    return [range(start, start + CHUNK_BYTES) for start in sample_offsets(path.stat().st_size)]


def unsampled_postings_end(gen_dir: Path, field: str = "body") -> tuple[str, int]:
    """A word whose postings end outside every sampled chunk of the postings file, and
    the offset of that last byte: the Adler-32 check of its last compressed block."""
    postings = only(gen_dir, "*.pst")
    chunks = sampled_chunks(postings)
    with open_index(gen_dir.parent.parent) as opened, opened.searcher() as searcher:
        (reader,) = [leaf.reader() for leaf, _offset in searcher.leaf_searchers()]
        for word in WORDS:
            if (field, word) not in reader:  # a word the stemmer changed
                continue
            info = reader.term_info(field, word)
            if info.is_inlined():
                continue
            offset, length = info.extent()
            (length,) = length if isinstance(length, tuple) else (length,)  # as Whoosh reads it
            end = offset + length - 1
            if not any(end in chunk for chunk in chunks):
                return word, end
    raise AssertionError("every word's postings end in a sampled chunk")


def test_generation_b_has_a_postings_file_that_opening_only_samples(
    index: dict[str, object],
) -> None:
    postings = only(index["b_dir"], "*.pst")
    assert is_sampled(postings.name, postings.stat().st_size)
    meta = read_meta(index["b_dir"])
    assert (
        meta["chunks"][postings.name] == build_chunks(index["b_dir"], meta["files"])[postings.name]
    )
    assert len(meta["chunks"][postings.name]) == -(-postings.stat().st_size // CHUNK_BYTES)
    assert len(sample_offsets(postings.stat().st_size)) < len(meta["chunks"][postings.name])


def test_a_reader_checks_each_chunk_it_reads_against_the_build(index: dict[str, object]) -> None:
    """Where opening did not look, the first read of a chunk compares it: a damaged chunk
    raises, and the chunks around it still read."""
    postings = only(index["b_dir"], "*.pst")
    sampled = {offset // CHUNK_BYTES for offset in sample_offsets(postings.stat().st_size)}
    damaged = min(set(range(len(read_meta(index["b_dir"])["chunks"][postings.name]))) - sampled)
    flip_byte(postings, damaged * CHUNK_BYTES + 100)
    storage = CheckedStorage(str(index["b_dir"]), read_meta(index["b_dir"])["chunks"])
    with storage.open_file(postings.name) as handle:
        assert len(handle.get((damaged - 1) * CHUNK_BYTES, 10)) == 10
        with pytest.raises(ChunkDamaged, match=postings.name):
            handle.get(damaged * CHUNK_BYTES + 5000, 10)
        with pytest.raises(ChunkDamaged):  # not remembered as checked
            handle.get_uint(damaged * CHUNK_BYTES)


def test_a_long_read_checks_the_whole_chunks_it_holds(index: dict[str, object]) -> None:
    """A read spanning chunks (a long postings list) compares the chunks it holds whole in
    the bytes it read, and still refuses a damaged one among them."""
    postings = only(index["b_dir"], "*.pst")
    chunks = read_meta(index["b_dir"])["chunks"][postings.name]
    sampled = {offset // CHUNK_BYTES for offset in sample_offsets(postings.stat().st_size)}
    damaged = min(set(range(1, len(chunks) - 1)) - sampled)
    flip_byte(postings, damaged * CHUNK_BYTES + CHUNK_BYTES // 2)
    storage = CheckedStorage(str(index["b_dir"]), read_meta(index["b_dir"])["chunks"])
    with storage.open_file(postings.name) as handle:
        before = (damaged - 1) * CHUNK_BYTES
        assert len(handle.get(before, CHUNK_BYTES)) == CHUNK_BYTES  # one whole, intact chunk
        with pytest.raises(ChunkDamaged, match=postings.name):
            handle.get(before + 7, 2 * CHUNK_BYTES)  # the damaged chunk whole, inside the read
        with pytest.raises(ChunkDamaged):
            handle.get(damaged * CHUNK_BYTES, CHUNK_BYTES)


@pytest.mark.parametrize("pattern", ["*.pst", "*._stored.col", "*.trm", "*.places_column.col"])
def test_a_file_cut_short_by_one_byte_is_refused_at_open(
    index: dict[str, object], pattern: str
) -> None:
    path = only(index["b_dir"], pattern)
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size - 1)
    with open_index(index["index_dir"]) as opened:
        assert opened.generation == index["a"]
        assert opened.fallback_from == index["b"]


@pytest.mark.parametrize(
    ("pattern", "where"),
    [
        ("*.pst", "first"),
        ("*.pst", "middle sample"),
        ("*.pst", "last"),
        ("*._stored.col", "last"),
        ("*.trm", "first"),
        ("*.trm", "last"),
        # Small files (here, every column), checked whole: a flip anywhere is refused.
        ("*.id.col", "middle"),
        ("*.date_ordinal.col", "middle"),
        ("*._body_len.col", "middle"),
        ("_MAIN_*.toc", "middle"),
        ("*.zdict", "middle"),
    ],
)
def test_a_flipped_byte_where_opening_looks_is_refused(
    index: dict[str, object], pattern: str, where: str
) -> None:
    path = sorted(index["b_dir"].glob(pattern))[-1]
    size = path.stat().st_size
    offsets = sample_offsets(size)
    at = {
        "first": 5,
        "middle sample": offsets[len(offsets) // 2] + CHUNK_BYTES // 2,
        "last": size - 3,
        "middle": size // 2,
    }[where]
    flip_byte(path, at)
    with open_index(index["index_dir"]) as opened:
        assert opened.generation == index["a"]
        assert opened.fallback_from == index["b"]


def verify_command(index_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "searchsvc", "index-info", "--verify"],
        env=child_environment(SEARCHSVC_INDEX_DIR=str(index_dir)),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_full_verification_passes_an_intact_index(index: dict[str, object]) -> None:
    result = verify_command(index["index_dir"])
    assert result.returncode == 0, result.stderr
    assert "verified: every byte" in result.stdout
    assert damage_mark(index["b_dir"]) is None


def test_a_flipped_byte_outside_the_sample_is_found_by_full_verification(
    index: dict[str, object],
) -> None:
    postings = only(index["b_dir"], "*.pst")
    _word, offset = unsampled_postings_end(index["b_dir"])
    flip_byte(postings, offset)
    with open_index(index["index_dir"]) as opened:
        assert opened.generation == index["b"]  # the price of a flat open: not seen yet
    result = verify_command(index["index_dir"])
    assert result.returncode == 1
    assert f"DAMAGED: {postings.name} does not hold the bytes that were written" in result.stdout
    assert postings.name in damage_mark(index["b_dir"])
    with open_index(index["index_dir"]) as opened:
        assert opened.generation == index["a"]
        assert opened.fallback_from == index["b"]


def test_a_query_reading_unsampled_damage_errors_then_the_previous_generation_serves(
    index: dict[str, object],
) -> None:
    word, offset = unsampled_postings_end(index["b_dir"])
    app = create_app({"index_dir": index["index_dir"]})
    try:
        client = app.test_client()
        assert client.get("/healthz").get_json()["generation"] == index["b"]
        flip_byte(only(index["b_dir"], "*.pst"), offset)
        response = client.get(f"/api/search?q={word}")
        assert response.status_code == 503
        assert "cannot be read" in response.get_json()["message"]
        assert "checksum differs" in damage_mark(index["b_dir"])
        again = client.get(f"/api/search?q={word}")
        assert again.status_code == 200
        assert again.get_json()["total"] > 0
        assert client.get("/healthz").get_json()["generation"] == index["a"]
    finally:
        close_app(app)


def test_a_query_error_with_intact_files_is_not_blamed_on_the_index(
    index: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    from searchsvc.search.snapshot import Reading

    def broken(self: Reading, field: str, text: str) -> None:
        raise RuntimeError("a bug, not damage")

    app = create_app({"index_dir": index["index_dir"]})
    try:
        client = app.test_client()
        monkeypatch.setattr(Reading, "postings", broken)
        assert client.get("/api/search?q=oil").status_code == 500
        monkeypatch.undo()
        assert damage_mark(index["b_dir"]) is None
        assert client.get("/api/search?q=oil").status_code == 200
        assert client.get("/healthz").get_json()["generation"] == index["b"]
    finally:
        close_app(app)


def test_a_build_whose_file_changes_before_the_switch_does_not_switch(
    index: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A byte flipped after the checksums were taken, while the build verifies its searches
    (say, by a failing disk), where opening would not look: the switch is refused."""
    real_verify = build_module.verify_generation

    def verify_then_damage(storage, indexname: str, expected: int) -> int:
        count = real_verify(storage, indexname, expected)
        postings = only(Path(storage.folder), "*.pst")
        chunks = sampled_chunks(postings)
        outside = next(
            at for at in range(postings.stat().st_size) if not any(at in c for c in chunks)
        )
        flip_byte(postings, outside)
        return count

    monkeypatch.setattr(build_module, "verify_generation", verify_then_damage)
    corpus = write_corpus(index["index_dir"].parent / "c", COUNT_B, 3)
    with pytest.raises(BuildFailed, match=r"\.pst does not hold the bytes that were written"):
        build_index([corpus], Settings(index_dir=index["index_dir"]), show_progress=False)
    assert read_current(index["index_dir"]) == index["b"]


def test_incremental_updates_keep_the_manifest_whole(index: dict[str, object]) -> None:
    settings = Settings(index_dir=index["index_dir"])
    before = set(read_meta(index["b_dir"])["files"])
    articles = [
        Article(id=f"new-{n}", title=f"copper tanker {n}", body="zinc freight " * 40)
        for n in range(5)
    ]
    update_articles(settings, articles)
    meta = read_meta(index["b_dir"])
    assert meta["files"] == build_manifest(index["b_dir"])
    assert meta["chunks"] == build_chunks(index["b_dir"], meta["files"])
    with open_index(index["index_dir"]) as opened:
        assert opened.generation == index["b"]
        assert opened.verify_files() is None
        latest = f"_MAIN_{opened.index.latest_generation()}.toc"
        segments = [f"MAIN_{segment.segid}." for segment in opened.index._segments()]
    assert latest in meta["files"]
    for prefix in segments:  # every segment of the latest commit is listed
        assert any(name.startswith(prefix) for name in meta["files"])
    # A flipped byte in the update's own segment is refused at the next open.
    added = max(
        (index["b_dir"] / name for name in set(meta["files"]) - before if name != latest),
        key=lambda path: path.stat().st_size,
    )
    flip_byte(added, added.stat().st_size // 2)
    with open_index(index["index_dir"]) as opened:
        assert opened.generation == index["a"]


def test_a_build_after_damage_was_found_keeps_the_good_generation_as_fallback(
    index: dict[str, object],
) -> None:
    _word, offset = unsampled_postings_end(index["b_dir"])
    flip_byte(only(index["b_dir"], "*.pst"), offset)
    assert verify_command(index["index_dir"]).returncode == 1
    corpus = write_corpus(index["index_dir"].parent / "c", 12, 3)
    build_index([corpus], Settings(index_dir=index["index_dir"]), show_progress=False)
    remaining = {path.name for path in (index["index_dir"] / "generations").iterdir()}
    assert str(index["a"]) in remaining
    assert str(index["b"]) not in remaining
