"""Document masks, key columns and a cache squeezed to nothing: the same answers as the
plain Python they replace."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from test_index_support import index_settings, write_corpus
from test_search_corpus import corpus_settings
from whoosh.columns import VarBytesColumn
from whoosh.filedb.filestore import RamStorage

from searchsvc.articles.model import Article
from searchsvc.index import build_index, open_index
from searchsvc.index.updates import delete_articles, update_articles
from searchsvc.search import SearchEngine, SearchRequest, columns, docsets
from searchsvc.search.columns import (
    DocumentColumns,
    KeyColumn,
    MultiKeyColumn,
    Strings,
    VarBytes,
    _keys,
    _multi_keys,
    _parse_var_bytes,
)
from searchsvc.search.docsets import DocSet
from searchsvc.search.facets import top_keys
from searchsvc.search.ranking import TermScores, sum_scores, top_scored

SIZE = 40
members = st.frozensets(st.integers(min_value=0, max_value=SIZE - 1))


def docset(found: frozenset[int]) -> DocSet:
    return DocSet.from_ids(np.array(sorted(found), dtype=np.int64), SIZE)


@pytest.mark.parametrize("sparse_share", [0.0, docsets.SPARSE_SHARE, 0.5, 2.0])
@given(members, members, members)
def test_set_arithmetic_matches_frozensets(
    sparse_share: float, a: frozenset, b: frozenset, c: frozenset
) -> None:
    """The same answers whether sets work on masks, on docnums or on both."""
    kept, docsets.SPARSE_SHARE = docsets.SPARSE_SHARE, sparse_share
    try:
        check_set_arithmetic(a, b, c)
    finally:
        docsets.SPARSE_SHARE = kept


def check_set_arithmetic(a: frozenset, b: frozenset, c: frozenset) -> None:
    x, y, z = docset(a), docset(b), docset(c)
    assert (x & y) == a & b
    assert (x | y) == a | b
    assert (x - y) == a - b
    assert DocSet.union(SIZE, [x, y, z]) == a | b | c
    assert DocSet.union(SIZE, []) == frozenset()
    assert len((x & y) | z) == len((a & b) | c)
    assert bool(x - y) == bool(a - b)
    assert list(x) == sorted(a)
    assert all((n in x) == (n in a) for n in range(-1, SIZE + 1))
    for member in a:
        assert x.without(member) == a - {member}
    # Sets of a mask beside sets of docnums (a mask made from docnums holds them).
    x, y, z = docset(a), docset(b), docset(c)
    assert (x & DocSet(y.mask)) == (DocSet(x.mask) & y) == a & b
    assert (x - DocSet(y.mask)) == (DocSet(x.mask) - y) == a - b
    assert DocSet.union(SIZE, [x, DocSet(y.mask), z]) == a | b | c


@pytest.mark.parametrize("mask_share", [0.0, docsets.DIGEST_MASK_SHARE, 2.0])
@given(members, members)
def test_digests_name_the_members_however_they_are_held(
    mask_share: float, a: frozenset, b: frozenset
) -> None:
    """Equal sets have one digest (from docnums of either width or from a mask), and
    different sets different ones."""
    kept, docsets.DIGEST_MASK_SHARE = docsets.DIGEST_MASK_SHARE, mask_share
    try:
        narrow = DocSet.from_ids(np.array(sorted(a), dtype=np.int32), SIZE)
        forms = [docset(a), narrow, DocSet(docset(a).mask)]
        assert len({members.digest() for members in forms}) == 1
        assert (docset(b).digest() == docset(a).digest()) == (a == b)
    finally:
        docsets.DIGEST_MASK_SHARE = kept


@given(st.lists(st.lists(st.integers(0, 5), max_size=4), min_size=1, max_size=12), st.data())
def test_multi_key_counts_match_a_counter(keys_per_doc: list[list[int]], data) -> None:
    """The same counts for any documents, some without keys, and for sets of most
    documents (counted through their complement)."""
    offsets = np.concatenate(([0], np.cumsum([len(k) for k in keys_per_doc])))
    codes = np.array([code for keys in keys_per_doc for code in keys], dtype=np.int32)
    column = MultiKeyColumn(offsets, codes, [f"k{n}" for n in range(6)])
    docs = sorted(data.draw(st.sets(st.integers(0, len(keys_per_doc) - 1))))
    counts = column.count(np.array(docs, dtype=np.int64))
    expected = Counter(code for doc in docs for code in keys_per_doc[doc])
    assert {code: int(n) for code, n in enumerate(counts) if n} == dict(expected)
    as_set = DocSet.from_ids(np.array(docs, dtype=np.int64), len(keys_per_doc))
    for members in (as_set, DocSet(as_set.mask)):
        assert column.count_set(members).tolist() == counts.tolist()


@given(
    st.lists(st.tuples(st.integers(0, 2**40), st.integers(0, 5)), max_size=30),
    st.sampled_from([np.int32, np.int64]),
)
@example([(2**31 - 3, 3), (5, 2)], np.int64).via("the last position that int32 holds")
@example([(2**31 - 3, 4), (5, 2)], np.int64).via("one past it")
def test_joined_ranges_list_every_position_of_every_range(
    ranges: list[tuple[int, int]], dtype: type
) -> None:
    """Ranges in any order, empty ones included, near and beyond 2**31."""
    if dtype is np.int32:
        ranges = [(start % (2**31 - 5), length) for start, length in ranges]
    starts = np.array([start for start, _ in ranges], dtype=dtype)
    ends = np.array([start + length for start, length in ranges], dtype=np.int64).astype(dtype)
    expected = [n for start, length in ranges for n in range(start, start + length)]
    assert columns.joined_ranges(starts, ends).tolist() == expected


@given(st.lists(st.integers(0, 4), min_size=1, max_size=40), st.data())
def test_key_counts_of_a_set_match_a_counter(codes_per_doc: list[int], data) -> None:
    """Sets of most documents are counted through their complement: the same counts."""
    column = KeyColumn(np.array(codes_per_doc, dtype=np.int32), [f"k{n}" for n in range(5)])
    docs = sorted(data.draw(st.sets(st.integers(0, len(codes_per_doc) - 1))))
    as_set = DocSet.from_ids(np.array(docs, dtype=np.int64), len(codes_per_doc))
    expected = Counter(codes_per_doc[doc] for doc in docs)
    for members in (as_set, DocSet(as_set.mask)):
        counts = column.count_set(members)
        assert {code: int(n) for code, n in enumerate(counts) if n} == dict(expected)


@given(st.sets(st.integers(0, 999), max_size=40), st.lists(st.integers(0, 999), max_size=20))
def test_a_set_of_narrow_docnums_finds_wide_ones(members: set[int], asked: list[int]) -> None:
    """Members held as int32 (as columns store them) answer int64 docnums alike."""
    narrow = DocSet.from_ids(np.array(sorted(members), dtype=np.int32), 1000)
    wide = DocSet.from_ids(np.array(sorted(set(asked)), dtype=np.int64), 1000)
    assert set(narrow & wide) == members & set(asked)
    assert set(wide - narrow) == set(asked) - members
    assert all((docnum in narrow) == (docnum in members) for docnum in asked)


def test_top_keys_break_ties_by_key_and_skip_zeros() -> None:
    counts = np.array([0, 3, 5, 3, 0, 3, 1])
    keys = ["", "delta", "alpha", "charlie", "zero", "bravo", "one"]
    assert top_keys(counts, keys, 3) == [("alpha", 5), ("bravo", 3), ("charlie", 3)]
    assert top_keys(counts, keys, 10)[-1] == ("one", 1)
    assert top_keys(np.zeros(3, dtype=np.int64), keys[:3], 2) == []


def test_scores_add_up_per_document_and_ties_go_by_id_rank() -> None:
    parts = [
        TermScores(np.array([1, 3, 4]), np.array([1.0, 2.0, 0.5]), 1.0),
        TermScores(np.array([0, 3]), np.array([2.0, 0.5]), 1.0),
    ]
    docs = np.array([0, 1, 3, 4])
    assert sum_scores(docs, parts, 5).tolist() == [2.0, 1.0, 2.5, 0.5]
    id_rank = np.array([4, 3, 2, 1, 0])  # doc 4 has the smallest id
    scores = np.array([1.0, 1.0, 2.5, 1.0])
    assert top_scored(docs, scores, 3, id_rank) == [(3, 2.5), (4, 1.0), (1, 1.0)]
    assert top_scored(docs, scores, 10, id_rank)[-1] == (0, 1.0)
    assert top_scored(docs[:0], scores[:0], 3, id_rank) == []


QUERIES = [
    "massacre",
    "oil prices",
    '"oil prices"',
    "(oil OR wheat) -crude",
    "bank*",
    "aniversary",
    "title:bank",
    "",
]


@pytest.mark.parametrize("query", QUERIES)
def test_a_cache_that_keeps_nothing_gives_the_same_answers(tmp_path_factory, query: str) -> None:
    settings = corpus_settings(tmp_path_factory)
    request = SearchRequest(query=query, per_page=50, sort="relevance")
    with SearchEngine(settings) as roomy, SearchEngine(settings) as tight:
        tight._serving.cache_bytes = 0  # below any value's size: every lookup recomputes
        for engine in (roomy, tight):  # the second pass meets whatever the cache kept
            engine.search(request)
        first, second = roomy.search(request), tight.search(request)
        assert len(tight._serving._current().cache) == 0
    assert [hit.id for hit in first.hits] == [hit.id for hit in second.hits]
    assert first.facets == second.facets
    assert first.dates == second.dates
    assert first.total == second.total


def test_columns_read_whole_equal_whooshs_per_document_values(tmp_path) -> None:
    """Several segments, one with a deletion: the bulk reading agrees with Whoosh's API."""
    settings = index_settings(tmp_path)
    build_index([write_corpus(tmp_path / "corpus")], settings)
    extra = Article(id="late", title="Late story", body="Harbour news.", source="Desk")
    update_articles(settings, [extra])
    delete_articles(settings, [extra.id])
    update_articles(settings, [Article(id="later", title="Later", body="Quay.", source="Desk")])
    with open_index(settings.index_dir) as opened, opened.searcher() as searcher:
        reader = searcher.reader()
        assert len(searcher.leaf_searchers()) > 1 and reader.has_deletions()
        columns = DocumentColumns.load(searcher, ("title", "body"))
        size = reader.doc_count_all()

        def per_document(name: str) -> list:
            # Segment by segment: a segment without the column reads as its default.
            values = []
            for leaf, _ in searcher.leaf_searchers():
                values.extend(leaf.reader().column_reader(name))
            return values

        assert columns.size == size
        assert columns.live == frozenset(reader.all_doc_ids())
        assert [columns.ids[doc] for doc in range(size)] == per_document("id")
        by_id = sorted(range(size), key=lambda doc: columns.ids[doc])
        assert columns.id_rank[by_id].tolist() == list(range(size))
        for doc in range(size):
            expected = doc if doc in columns.live else None
            assert columns.docnum_of(columns.ids[doc]) == expected
        assert columns.docnum_of("late") is None  # deleted
        assert columns.docnum_of("no such id") is None
        for name in ("place", "source"):
            column = getattr(columns, name)
            assert [column.keys[code] for code in column.codes] == per_document(name)
        places = [raw.decode().split() for raw in per_document("places_column")]
        assert [list(columns.places.keys_of(doc)) for doc in range(size)] == places
        assert columns.ordinal.tolist() == per_document("date_ordinal")
        for name in ("title", "body"):
            lengths = [reader.doc_field_length(doc, name) or 0 for doc in range(size)]
            assert columns.lengths[name].tolist() == lengths
        assert "" in per_document("place")[-2:]  # the added articles have no dateline


@given(
    st.lists(st.lists(st.sampled_from([b"a", b"geo:1", b"country:US", b" ", b"  "]), max_size=5))
)
def test_multi_keys_split_like_each_value_on_its_own(parts: list[list[bytes]]) -> None:
    """Single-space values (what the index writes) and any other spacing give the keys a
    value-by-value split gives."""
    values = [b" ".join(part) for part in parts]
    column = _multi_keys(VarBytes.of(values))
    for docnum, raw in enumerate(values):
        assert column.keys_of(docnum) == tuple(key.decode() for key in raw.split())


@given(
    st.lists(st.sampled_from(["", "Baku", "Bakü", "Port Louis", "Ab"]), max_size=40),
    st.booleans(),
)
def test_var_bytes_and_keys_read_as_whoosh_writes_them(values: list[str], offsets: bool) -> None:
    """Both of Whoosh's layouts (offsets stored or derived); keys coded in order of first
    appearance after the empty key."""
    raw = [value.encode() for value in values]
    column = VarBytesColumn(write_offsets_cutoff=0 if offsets else 2**15)
    storage = RamStorage()
    with storage.create_file("column") as out:
        writer = column.writer(out)
        for docnum, value in enumerate(raw):
            writer.add(docnum, value)
        writer.finish(len(raw))
    data = storage.open_file("column").read()
    parsed = _parse_var_bytes(data, len(raw))
    assert parsed.values() == raw
    keys = _keys(parsed)
    assert keys.keys == ["", *dict.fromkeys(value for value in values if value)]
    assert [keys.keys[code] for code in keys.codes.tolist()] == values


@given(
    st.lists(st.text(alphabet="ab-é", max_size=3), max_size=30),
    st.text(alphabet="ab-é", max_size=4),
)
def test_strings_find_every_docnum_holding_a_value(values: list[str], value: str) -> None:
    width = max([1, *(len(v.encode("utf-8")) for v in values)])
    strings = Strings(np.array([v.encode("utf-8") for v in values], dtype=f"S{width}"))
    expected = [docnum for docnum, held in enumerate(values) if held == value]
    assert strings.docnums_of(value).tolist() == expected


def test_the_date_histogram_of_most_documents_leaves_deleted_ones_out(tmp_path) -> None:
    """A set of most documents is counted by day through the fewer outside it, deleted
    ones among them: the counts are those of the live articles, as a narrow set's are."""
    settings = index_settings(tmp_path)
    years = [2019, 2021, 2021, 2021, 2022, None, 2023, 2023]
    records = [
        {
            "id": f"a{n}",
            "title": f"Harbour story {n}",
            "body": "Dockers at the harbour." if n % 2 else "Ferries at the harbour.",
            **({} if year is None else {"date": f"{year}-03-0{1 + n}"}),
        }
        for n, year in enumerate(years)
    ]
    build_index([write_corpus(tmp_path / "corpus", records)], settings)
    delete_articles(settings, ["a2"])
    live = [n for n in range(len(years)) if n != 2]
    with SearchEngine(settings) as engine:
        for query, kept in (("harbour", live), ("dockers", [n for n in live if n % 2])):
            dates = engine.search(SearchRequest(query=query, per_page=50)).dates
            by_year: Counter[str] = Counter()
            for bucket in dates.buckets:
                by_year[bucket.date_from[:4]] += bucket.count
            expected = Counter(str(years[n]) for n in kept if years[n] is not None)
            assert +by_year == expected
            assert dates.undated == sum(years[n] is None for n in kept)
