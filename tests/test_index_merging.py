"""A build's segments merged into one answer every search as the segments did."""

from __future__ import annotations

import datetime as dt
import json
import random
import struct
from contextlib import nullcontext
from pathlib import Path

import pytest
from whoosh import query as wq
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC
from whoosh.qparser import QueryParser
from whoosh.writing import NO_MERGE

from searchsvc.config import Settings
from searchsvc.index import build_index, open_index
from searchsvc.index.codec import BLOCK_MAGIC, VALUES_COMPRESSED, WHOLE_COMPRESSED, read_run
from searchsvc.index.merging import _moved_blocks, merge_index
from searchsvc.index.schema import article_document, make_schema
from searchsvc.index.segments import BulkSegmentWriter
from searchsvc.search import SearchEngine, SearchRequest
from searchsvc.search.postings import read_postings

PLACES = ["Baku", "Tokyo", "Lagos", "Lima", "Oslo"]
SOURCES = ["Reuters", "AP", "Trend", "Kyodo"]
WORDS = [
    *("oil", "prices", "harbour", "crude", "tanker", "strike", "bank", "yen", "trade"),
    *("ministers", "minister", "election", "harvest", "grain", "court", "ruling", "budget"),
]


def invented_records(count: int, seed: int = 11) -> list[dict]:
    """Articles of a few common words, each with a rare word of its own and a scarcer one
    (repeated up to three times), some undated."""
    rnd = random.Random(seed)
    records = []
    for number in range(count):
        body = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(5, 60)))
        # In a few articles of every segment: postings inlined in each segment's term record.
        scarce = " ".join([f"scarce{number % 97}word"] * rnd.randint(1, 3))
        record = {
            "id": f"m{number}",
            "title": " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 6))),
            "body": f"{rnd.choice(PLACES).upper()} - {body} rare{number % 23}word {scarce}.",
            "source": SOURCES[number % len(SOURCES)],
        }
        if number % 7:
            record["date"] = (dt.date(2023, 1, 1) + dt.timedelta(days=number * 3)).isoformat()
        records.append(record)
    return records


def write_corpus(corpus: Path, files: int) -> Path:
    """:func:`invented_records` in ``files`` files, for builds by several workers."""
    corpus.mkdir(parents=True)
    records = invented_records(600)
    for part in range(files):
        lines = [json.dumps(record) for record in records[part::files]]
        (corpus / f"part-{part}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return corpus


def build(corpus: Path, index_dir: Path, **overrides) -> Settings:
    settings = Settings(index_dir=index_dir, corpus=(corpus,), build_procs=2, **overrides)
    build_index(None, settings, show_progress=False)
    return settings


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Settings]:
    """The same articles built with their segments merged, and left as written."""
    root = tmp_path_factory.mktemp("merging")
    corpus = write_corpus(root / "corpus", files=5)
    merged = build(corpus, root / "merged", merge_min_articles=1)
    unmerged = build(corpus, root / "unmerged", merge_min_articles=10**9)
    return merged, unmerged


def test_a_merged_build_has_one_segment(builds) -> None:
    merged, unmerged = builds
    merged_meta = open_index(merged.index_dir).meta
    unmerged_meta = open_index(unmerged.index_dir).meta
    assert merged_meta["segments"] == 1 < merged_meta["segments_written"]
    assert unmerged_meta["segments"] == unmerged_meta["segments_written"] > 1
    assert merged_meta["article_count"] == unmerged_meta["article_count"] == 600


QUERIES = [
    SearchRequest(query="oil"),
    SearchRequest(query="oil prices", per_page=50),
    SearchRequest(query='"crude oil"', per_page=100),
    SearchRequest(query="rare7word tanker"),
    SearchRequest(query="scarce5word OR scarce40word OR scarce96word", per_page=50),
    SearchRequest(query="minister*", sort="newest"),
    SearchRequest(query="harbour -strike", source=("ap",)),
    SearchRequest(query="title:bank OR yen", date_from=dt.date(2023, 6, 1)),
    SearchRequest(query="grain", place=("tokyo",), page=2),
    SearchRequest(query="ministr~", per_page=30),
    SearchRequest(query="", per_page=100, sort="oldest"),
]


@pytest.mark.parametrize("request_", QUERIES, ids=lambda r: r.query or "everything")
def test_same_results_totals_facets_and_scores(builds, request_: SearchRequest) -> None:
    merged, unmerged = builds
    with SearchEngine(merged) as engine:
        got = engine.search(request_)
    with SearchEngine(unmerged) as engine:
        expected = engine.search(request_)
    assert [hit.id for hit in got.hits] == [hit.id for hit in expected.hits]
    assert [hit.score for hit in got.hits] == pytest.approx([hit.score for hit in expected.hits])
    assert (got.total, got.all_words_total) == (expected.total, expected.all_words_total)
    assert got.facets == expected.facets
    assert got.dates == expected.dates
    assert got.suggestion == expected.suggestion
    assert [hit.snippet for hit in got.hits] == [hit.snippet for hit in expected.hits]


@pytest.mark.parametrize(
    "query",
    [
        "oil",
        "crude tanker",
        '"oil prices"',
        "rare3word",
        "grain OR yen",
        "ministers",
        "scarce9word",
    ],
)
def test_whoosh_own_searcher_agrees(builds, query: str) -> None:
    results = []
    for settings in builds:
        opened = open_index(settings.index_dir)
        with opened.searcher() as searcher:
            parsed = QueryParser("body", opened.schema).parse(query)
            hits = searcher.search(parsed, limit=None)
            results.append([(hit["id"], hit.score) for hit in hits])
        opened.close()
    merged, unmerged = (dict(hits) for hits in results)
    assert merged
    # Equal scores rank by docnum, and which worker wrote which file varies between builds.
    assert merged == pytest.approx(unmerged)


def test_whoosh_reads_every_document_and_column_alike(builds) -> None:
    documents = []
    for settings in builds:
        opened = open_index(settings.index_dir)
        with opened.index.reader() as reader:
            schema = opened.schema
            # A column no document has a value for (``language`` when none is known) has no
            # file in any segment, and Whoosh reads it across segments as empty: skip it.
            columns = [
                list(reader.column_reader(name, translate=False))
                for name in schema.names()
                if schema[name].column_type is not None and name != "id" and reader.has_column(name)
            ]
            # By id: which worker wrote which file, so the docnum order, varies by build.
            documents.append(
                {
                    stored["id"]: (stored, [column[docnum] for column in columns])
                    for docnum, stored in enumerate(reader.all_stored_fields())
                }
            )
        opened.close()
    assert documents[0] == documents[1]
    assert len(documents[0]) == 600


def segmented_index(path: Path, articles_per_segment: int, count: int, old_layout: int = 0):
    """An index written as several bulk segments, as build workers write them; the first
    ``old_layout`` segments with their blocks compressed whole, as they once were."""
    from test_index_codec import writing_old_layout
    from test_index_segments import invented

    path.mkdir()
    storage = FileStorage(str(path))
    ix = storage.create_index(make_schema())
    plain = ix.schema["title_words"].analyzer
    articles = invented(count)
    segments = []
    for number, start in enumerate(range(0, count, articles_per_segment)):
        with writing_old_layout() if number < old_layout else nullcontext():
            writer = BulkSegmentWriter(ix)
            for article in articles[start : start + articles_per_segment]:
                writer.add_document(**article_document(article, plain))
            segments.append(writer._finalize_segment())
    TOC(ix.schema, segments, 1).write(storage, "MAIN")
    return storage


def search_ids(storage: FileStorage, query: wq.Query) -> list[tuple[str, float]]:
    ix = storage.open_index()
    with ix.searcher() as searcher:
        return [(hit["id"], round(hit.score, 6)) for hit in searcher.search(query, limit=None)]


def test_deleted_documents_stay_deleted(tmp_path: Path) -> None:
    storage = segmented_index(tmp_path / "ix", articles_per_segment=90, count=400)
    with storage.open_index().writer() as writer:
        for article_id in ("a3", "a95", "a200", "a399"):
            writer.delete_by_term("id", article_id)
        writer.mergetype = NO_MERGE  # keep every segment
    queries = [wq.Term("body", "oil"), wq.Term("body_words", "massacres"), wq.Every()]
    before = [search_ids(storage, query) for query in queries]
    result = merge_index(storage, "MAIN", procs=2)
    assert (result.segments_before, result.doc_count, result.deleted) == (5, 400, 4)
    assert len(storage.open_index()._segments()) == 1
    assert [search_ids(storage, query) for query in queries] == before
    assert "a95" not in {hit_id for hit_id, _ in before[2]} and len(before[2]) == 396


def test_one_segment_is_left_as_it_is(tmp_path: Path) -> None:
    storage = segmented_index(tmp_path / "ix", articles_per_segment=500, count=60)
    names = sorted(storage.list())
    result = merge_index(storage, "MAIN")
    assert (result.segments_before, result.doc_count) == (1, 60)
    assert sorted(storage.list()) == names


def test_segments_of_both_block_layouts_merge(tmp_path: Path) -> None:
    """Blocks compressed whole (an index written before their heads were kept plain) and
    blocks with plain heads are copied side by side into one term, and read as before."""
    storage = segmented_index(tmp_path / "ix", articles_per_segment=100, count=400, old_layout=2)
    queries = [wq.Term("body", "oil"), wq.Phrase("body", ["crude", "oil"]), wq.Every()]
    terms = [("body", "oil"), ("body", "tanker"), ("title", "grain")]
    before = [search_ids(storage, query) for query in queries]
    before_postings = array_postings(storage, terms)
    merge_index(storage, "MAIN", procs=2)
    assert [search_ids(storage, query) for query in queries] == before
    assert array_postings(storage, terms) == before_postings
    with storage.open_index().reader() as reader:
        matcher = reader.postings("body", "oil")
        extent = matcher._postfile.get(matcher._startoffset, matcher._length[0])
    assert {WHOLE_COMPRESSED, VALUES_COMPRESSED} <= set(read_run(extent).layouts.tolist())


@pytest.mark.parametrize("procs", [1, 2])
def test_a_field_that_cannot_be_merged_stops_the_merge(tmp_path: Path, procs: int) -> None:
    """Damaged postings in one segment fail their field's job; the error reaches the
    caller, whose index is left at its commit, with its segments."""
    storage = segmented_index(tmp_path / "ix", articles_per_segment=100, count=300)
    generation = storage.open_index().latest_generation()
    last = storage.open_index()._segments()[-1]
    postings = Path(storage.folder) / f"MAIN_{last.segid}.pst"
    postings.write_bytes(postings.read_bytes().replace(BLOCK_MAGIC, b"Bad!"))
    with pytest.raises(ValueError, match="postings start with"):
        merge_index(storage, "MAIN", procs=procs)
    ix = storage.open_index()
    assert (ix.latest_generation(), len(ix._segments())) == (generation, 3)
    assert not list(Path(storage.folder).glob("MAIN.merge.*"))


def array_postings(storage: FileStorage, terms: list[tuple[str, str]]) -> list[tuple]:
    """Ids, frequencies and positions of ``terms`` as the NumPy postings reader reads them."""
    found = []
    with storage.open_index().searcher() as searcher:
        for field, text in terms:
            read = read_postings(searcher, field, text)
            positions = [read.positions(docnum) for docnum in read.ids.tolist()]
            found.append((read.ids.tolist(), read.tfs.tolist(), positions))
    return found


@pytest.mark.parametrize("offset", [0, 40])
def test_a_block_shorter_than_its_header_stops_the_merge(offset: int) -> None:
    """Damaged postings (a block of 5 bytes, short of its 17-byte header) are refused,
    not copied with a docnum written into the next block."""
    short = struct.pack("!i", 5) + bytes(5)
    whole = struct.pack("!i", -17) + struct.pack("<HIIfBBB", 1, 7, 7, 1.0, 0, 1, 1)
    with pytest.raises(ValueError, match="shorter than its header"):
        _moved_blocks(BLOCK_MAGIC + short + whole, offset, last=False)
