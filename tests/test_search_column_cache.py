"""Each segment's derived columns are kept in a file beside it and read back at open.

The values must be exactly those derived from the segments (checked against Whoosh's own
per-document readers), whether they come from cache files or not, across several
segments and deletions; a cache file that is damaged, of another format or of another
segment is derived again, and one that cannot be written only costs time.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import os
import resource
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_index_support import index_settings, story, write_corpus
from whoosh.filedb.filestore import FileStorage

from searchsvc.articles.model import Article, Place
from searchsvc.index import build_index, read_current
from searchsvc.index.build import INDEX_NAME
from searchsvc.index.generations import generation_path, read_meta
from searchsvc.index.updates import delete_articles, update_articles
from searchsvc.search import SearchEngine, SearchRequest
from searchsvc.search.column_cache import (
    SUFFIX,
    SegmentArrays,
    cache_name,
    decode,
    encode,
    read_cache,
)
from searchsvc.search.columns import (
    LENGTH_FIELDS,
    DocumentColumns,
    VarBytes,
    derive_segment,
    segment_array_names,
    segment_arrays,
)

STORIES = [
    story("tanker", "Tanker runs aground", "An oil tanker ran aground.", date="2024-01-03",
          source="Harbour Wire", place="Rotterdam"),
    story("grain", "Grain exports rise", "Grain exports rose in March.", date="2024-03-09",
          source="Farm Desk"),
    story("match", "Cup final tonight", "The cup final is played tonight.", source="Sport Desk"),
    story("budget", "Budget passes", "The budget passed after a long night.", date="2024-03-09",
          source="Harbour Wire", place="Rotterdam"),
]  # fmt: skip


def place(key: str) -> Place:
    name = key.split(":")[-1].title()
    return Place(key=key, name=name, country=None, country_name=None, display=name)


def article(article_id: str, source: str, places: tuple[str, ...], day: int | None) -> Article:
    return Article(
        id=article_id,
        title=f"Report {article_id} from the desk",
        body=f"The {source} desk filed report {article_id} " + "with more words " * len(places),
        source=source,
        dateline_place=place(places[0]) if places else None,
        places=tuple(place(key) for key in places),
        date=dt.date(2024, 6, day) if day else None,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build, then updates that add segments with new keys, replace one article (a
    deletion in the first segment) and delete another."""
    root = tmp_path_factory.mktemp("column-cache")
    settings = index_settings(root)
    build_index([write_corpus(root / "corpus", STORIES)], settings)
    update_articles(
        settings,
        [
            article("ferry", "Coast Radio", ("gr:piraeus", "it:bari"), 4),
            article("grain", "Farm Desk", ("ua:odesa",), 9),  # replaces the built one
            article("zz-late", "Coast Radio", (), None),
        ],
    )
    update_articles(
        settings,
        [
            article("aa-early", "Night Desk", ("it:bari", "mt:valletta", "gr:piraeus"), 1),
            article("harbour", "Harbour Wire", ("nl:rotterdam",), 30),
        ],
    )
    delete_articles(settings, ["match"])
    return settings.index_dir


@pytest.fixture
def index_dir(tmp_path: Path, built: Path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(built, copy)
    return copy


def gen_dir(index_dir: Path) -> Path:
    return generation_path(index_dir, read_current(index_dir))


def load(index_dir: Path) -> DocumentColumns:
    """The columns as a search loads them, through a plain Whoosh searcher."""
    ix = FileStorage(str(gen_dir(index_dir))).open_index(INDEX_NAME)
    with ix.searcher() as searcher:
        return DocumentColumns.load(searcher)


def cache_files(index_dir: Path) -> list[Path]:
    return sorted(gen_dir(index_dir).glob(f"*{SUFFIX}"))


def expected_values(index_dir: Path) -> dict[str, list]:
    """Every document's values as Whoosh's own readers give them, one document at a time."""
    ix = FileStorage(str(gen_dir(index_dir))).open_index(INDEX_NAME)
    with ix.searcher() as searcher:
        reader = searcher.reader()
        size = reader.doc_count_all()

        def column(name: str) -> list:
            values = list(reader.column_reader(name))
            return [value.decode() if isinstance(value, bytes) else value for value in values]

        return {
            "ids": [searcher.stored_fields(doc)["id"] for doc in range(size)],
            "live": [not reader.is_deleted(doc) for doc in range(size)],
            "place": column("place"),
            "source": column("source"),
            "places": [tuple(value.split()) for value in column("places_column")],
            "ordinal": column("date_ordinal"),
            **{
                f"length.{name}": [reader.doc_field_length(doc, name) for doc in range(size)]
                for name in LENGTH_FIELDS
            },
        }


def values_of(columns: DocumentColumns) -> dict[str, list]:
    size = columns.size
    return {
        "ids": [columns.ids[doc] for doc in range(size)],
        "live": columns.live.mask.tolist(),
        "place": [columns.place.keys[code] for code in columns.place.codes.tolist()],
        "source": [columns.source.keys[code] for code in columns.source.codes.tolist()],
        "places": [columns.places.keys_of(doc) for doc in range(size)],
        "ordinal": columns.ordinal.tolist(),
        **{f"length.{name}": columns.lengths[name].tolist() for name in LENGTH_FIELDS},
    }


def assert_same_columns(a: DocumentColumns, b: DocumentColumns) -> None:
    """Equal in every array and key list, the derived ones included."""
    assert values_of(a) == values_of(b)
    for name in ("place", "source", "language", "places"):
        assert getattr(a, name).keys == getattr(b, name).keys
        assert np.array_equal(getattr(a, name).codes, getattr(b, name).codes)
    assert np.array_equal(a.places.offsets, b.places.offsets)
    assert np.array_equal(a.ids.order, b.ids.order)
    assert np.array_equal(a.id_rank, b.id_rank)
    assert np.array_equal(a.days, b.days)
    assert np.array_equal(a.day_codes, b.day_codes)
    assert all(np.array_equal(a.period_starts[k], b.period_starts[k]) for k in a.period_starts)
    assert a.average_length == b.average_length


def test_the_fixture_has_several_segments_with_deletions(index_dir: Path) -> None:
    ix = FileStorage(str(gen_dir(index_dir))).open_index(INDEX_NAME)
    with ix.reader() as reader:
        segments = [leaf for leaf, _offset in reader.leaf_readers()]
        assert len(segments) == 3
        assert segments[0].has_deletions()
        assert any(segment.segment().is_compound() for segment in segments)


def test_columns_equal_whoosh_values_with_and_without_cache_files(index_dir: Path) -> None:
    expected = expected_values(index_dir)
    built_caches = cache_files(index_dir)
    assert len(built_caches) == 1  # the build wrote its segment's; updates write none
    derived = load(index_dir)  # derives the updates' segments, writing their caches
    assert len(cache_files(index_dir)) == 3
    cached = load(index_dir)
    assert values_of(derived) == expected
    assert_same_columns(cached, derived)
    ids = expected["ids"]
    assert cached.ids.order.tolist() == sorted(range(len(ids)), key=lambda d: (ids[d], d))
    assert cached.docnum_of("grain") == ids.index("grain", ids.index("grain") + 1)
    assert cached.docnum_of("match") is None


def test_each_cache_file_holds_what_its_segment_derives(index_dir: Path) -> None:
    load(index_dir)
    names = segment_array_names(LENGTH_FIELDS)
    ix = FileStorage(str(gen_dir(index_dir))).open_index(INDEX_NAME)
    with ix.reader() as reader:
        for segment, _offset in reader.leaf_readers():
            segment_id = segment.segment().segment_id()
            path = gen_dir(index_dir) / cache_name(segment_id, names)
            cached = read_cache(path, segment_id, segment.doc_count_all(), names)
            derived = derive_segment(segment, LENGTH_FIELDS)
            assert cached is not None
            assert cached.keys == derived.keys
            assert sorted(cached.arrays) == sorted(derived.arrays) == sorted(names)
            for name, array in derived.arrays.items():
                assert np.array_equal(cached.arrays[name], array), name


def test_a_build_caches_before_its_manifest_and_opening_writes_nothing(index_dir: Path) -> None:
    generation = gen_dir(index_dir)
    meta = read_meta(generation)
    (built_cache,) = cache_files(index_dir)
    assert built_cache.name in meta["files"]
    # The updates' segments are cached by the first load, and listed by the next update.
    with SearchEngine(index_settings(index_dir.parent)) as engine:
        assert engine.search(SearchRequest(query="report")).total == 5
    listing = sorted(path.name for path in generation.iterdir())
    assert len(cache_files(index_dir)) == 3
    with SearchEngine(index_settings(index_dir.parent)) as engine:
        assert engine.search(SearchRequest(query="report", places=("mt:valletta",))).total == 1
    assert sorted(path.name for path in generation.iterdir()) == listing
    update_articles(index_settings(index_dir.parent), [article("new", "Desk", (), 2)])
    assert {path.name for path in cache_files(index_dir)} <= set(read_meta(generation)["files"])


def test_an_incremental_commit_derives_only_its_new_segment(index_dir: Path) -> None:
    load(index_dir)
    before = {path.name: path.stat().st_ino for path in cache_files(index_dir)}
    update_articles(index_settings(index_dir.parent), [article("extra", "Desk", ("it:bari",), 5)])
    columns = load(index_dir)
    after = {path.name: path.stat().st_ino for path in cache_files(index_dir)}
    assert len(after) == len(before) + 1
    assert all(after[name] == inode for name, inode in before.items())  # not rewritten
    assert values_of(columns) == expected_values(index_dir)


def damage_truncate(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def damage_flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def damage_format(path: Path) -> None:
    """A cache of another format, intact: its own checksum matches."""
    data = bytearray(path.read_bytes())
    (header_bytes,) = struct.unpack_from("<I", data, 8)
    header = data[16 : 16 + header_bytes]
    assert b'"format":1' in header
    data[16 : 16 + header_bytes] = header.replace(b'"format":1', b'"format":7')
    struct.pack_into("<I", data, 12, zlib.crc32(memoryview(data)[16:]))
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [damage_truncate, damage_flip, damage_format])
def test_an_unusable_cache_is_derived_again_and_rewritten(
    index_dir: Path, damage, caplog: pytest.LogCaptureFixture
) -> None:
    good = load(index_dir)
    target = cache_files(index_dir)[-1]
    written = target.read_bytes()
    damage(target)
    with caplog.at_level(logging.WARNING, logger="searchsvc.search.column_cache"):
        again = load(index_dir)
    assert_same_columns(again, good)
    [message] = caplog.messages
    assert message.startswith(f"the column cache {target} ")
    assert message.endswith("; deriving the columns again")
    assert target.read_bytes() == written  # the same bytes: a manifest stays true


def test_a_cache_of_another_segment_is_not_used(
    index_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = load(index_dir)
    first, second = cache_files(index_dir)[:2]
    written = second.read_bytes()
    shutil.copyfile(first, second)
    with caplog.at_level(logging.WARNING, logger="searchsvc.search.column_cache"):
        again = load(index_dir)
    assert_same_columns(again, good)
    assert any("was written for segment" in record.getMessage() for record in caplog.records)
    assert second.read_bytes() == written


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_directory_only_costs_deriving(index_dir: Path) -> None:
    expected = expected_values(index_dir)
    generation = gen_dir(index_dir)
    generation.chmod(0o555)
    try:
        assert values_of(load(index_dir)) == expected
        assert len(cache_files(index_dir)) == 1
        with SearchEngine(index_settings(index_dir.parent)) as engine:
            assert engine.search(SearchRequest(query="report")).total == 5
    finally:
        generation.chmod(0o755)


def test_a_failing_write_leaves_no_file_and_the_columns_still_load(index_dir: Path) -> None:
    """Writes past the file size limit fail as on a full disk (and for root too)."""
    expected = expected_values(index_dir)
    generation = gen_dir(index_dir)
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64, limits[1]))
    try:
        columns = load(index_dir)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
    assert values_of(columns) == expected
    assert len(cache_files(index_dir)) == 1
    assert not [path for path in generation.iterdir() if path.name.startswith(".")]


keys = st.sampled_from(["", "nl:rotterdam", "gr:piraeus", "it:bari", "ua:odesa", "é:ü"])
documents = st.lists(
    st.tuples(
        st.text("abcé-", min_size=1, max_size=6),  # ids, some repeated
        keys,
        keys,
        st.lists(keys.filter(bool), max_size=3, unique=True),
        st.integers(0, 255),
        st.sampled_from([0, 738000, 738001, 738100, 738400]),
        st.sampled_from(["", "en", "id", "ar"]),  # language
    ),
    max_size=40,
)


def arrays_of(docs: list[tuple]) -> SegmentArrays:
    def var_bytes(values: tuple[str, ...]) -> VarBytes:
        return VarBytes.of([value.encode("utf-8") for value in values])

    ids, place, source, places, length, ordinal, language = (
        zip(*docs, strict=True) if docs else [()] * 7
    )
    return segment_arrays(
        ids=var_bytes(ids),
        keyed={
            "place": var_bytes(place),
            "source": var_bytes(source),
            "language": var_bytes(language),
        },
        multi={"places": var_bytes([" ".join(keys) for keys in places])},
        lengths=dict.fromkeys(LENGTH_FIELDS, np.array(length, dtype=np.uint8)),
        ordinal=np.array(ordinal, dtype=np.int64),
    )


@settings(max_examples=150, deadline=None)
@given(documents, st.lists(st.integers(0, 40), max_size=4))
def test_joining_cached_segments_equals_one_segment_of_all_documents(
    docs: list[tuple], cuts: list[int]
) -> None:
    bounds = [0, *sorted(min(cut, len(docs)) for cut in cuts), len(docs)]
    parts = [docs[start:end] for start, end in itertools.pairwise(bounds)]
    names = segment_array_names(LENGTH_FIELDS)
    cached = []
    for number, part in enumerate(parts):
        data = bytearray(b"".join(encode(f"MAIN_s{number}", len(part), arrays_of(part))))
        cached.append(decode(data, f"MAIN_s{number}", len(part), names))
    live = np.ones(len(docs), dtype=bool)
    average = dict.fromkeys(LENGTH_FIELDS, 1.0)
    assert_same_columns(
        DocumentColumns.join(cached, live, average),
        DocumentColumns.join([arrays_of(docs)], live, average),
    )


def test_the_encoding_is_deterministic() -> None:
    docs = [("b", "x", "", ["p", "q"], 3, 738000, "id"), ("a", "", "y", [], 0, 0, "")]
    first = b"".join(encode("MAIN_x", 2, arrays_of(docs)))
    assert first == b"".join(encode("MAIN_x", 2, arrays_of(docs)))
    header = json.loads(first[16 : 16 + struct.unpack_from("<I", first, 8)[0]])
    assert header["segment"] == "MAIN_x"
    assert header["keys"]["places"] == ["p", "q"]


def _arrays_held(value: object, seen: set[int] | None = None) -> list[np.ndarray]:
    """Every array the columns hold, through their attributes, dicts and tuples."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return []
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, dict):
        parts = list(value.values())
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    elif type(value).__module__.startswith("searchsvc."):
        parts = [getattr(value, name, None) for name in dir(value) if not name.startswith("__")]
        parts = [part for part in parts if not callable(part)]
    else:
        return []
    return [array for part in parts for array in _arrays_held(part, seen)]


def test_loaded_columns_keep_no_view_of_the_cache_bytes_and_narrow_their_integers() -> None:
    # 40,000 distinct places: their codes need 32 bits, the other key columns' fit 16.
    docs = [
        (f"id{n:05}", f"p{n}", "wire", [f"p{n}", "p1"], 7, 738000 + n % 3, "en")
        for n in range(40_000)
    ]
    segment = arrays_of(docs)
    names = segment_array_names(LENGTH_FIELDS)
    data = bytearray(b"".join(encode("MAIN_big", len(docs), segment)))
    columns = DocumentColumns.join(
        [decode(data, "MAIN_big", len(docs), names)],
        np.ones(len(docs), dtype=bool),
        dict.fromkeys(LENGTH_FIELDS, 1.0),
    )
    columns.date_order(newest_first=True)  # derived arrays are held too
    held = _arrays_held(columns)
    assert len(held) > 10
    assert not any(np.shares_memory(array, data) for array in held)
    assert columns.ids.order.dtype == columns.places.offsets.dtype == np.int32
    assert columns.place.codes.dtype == columns.places.codes.dtype == np.int32
    assert columns.source.codes.dtype == columns.day_codes.dtype == np.int16
    assert columns.ids.order.tolist() == segment.arrays["ids.order"].tolist()
    assert columns.places.offsets.tolist() == segment.arrays["places.offsets"].tolist()
    assert columns.places.keys_of(39_999) == ("p39999", "p1")
    assert columns.place.keys[columns.place.codes[39_999]] == "p39999"
    assert columns.docnum_of("id12345") == 12345
