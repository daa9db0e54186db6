"""The bulk segment writer writes the same index Whoosh's own writer would."""

from __future__ import annotations

import datetime as dt
import gc
import random
import tempfile
from itertools import accumulate
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC
from whoosh.qparser import QueryParser

from searchsvc.articles.model import Article, Place
from searchsvc.index.codec import VALUES_COMPRESSED, CompactCodec, read_run
from searchsvc.index.merging import merge_index
from searchsvc.index.schema import CompactPositions, article_document, make_schema
from searchsvc.index.segments import (
    COMPRESS_FROM,
    INLINE_LIMIT,
    BulkSegmentWriter,
    TermPool,
    TextPostings,
    _term_ranks,
)

WORDS = [
    "oil",
    "grain",
    "wheat",
    "bank",
    "rate",
    "strike",
    "port",
    "harbour",
    "market",
    "shares",
    "tanker",
    "crude",
]
BAKU = Place("geo:587084", "Baku", "AZ", "Azerbaijan", "Baku, Azerbaijan")


def invented(count: int) -> list[Article]:
    rnd = random.Random(7)
    articles = []
    for number in range(count):
        body = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(0, 90)))
        if number % 3 == 0:
            body += " The Zürich bankers' massacres were commemorated, the U.S. said."
        articles.append(
            Article(
                id=f"a{number}",
                title=" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(0, 6))),
                body=body + f" unique{number}",
                dateline_place=BAKU if number % 2 else None,
                places=(BAKU,) if number % 2 else (),
                date=dt.date(2024, 1, 1) + dt.timedelta(days=number % 40) if number % 5 else None,
                source="Wire" if number % 4 else None,
            )
        )
    return articles


def write(path: Path, articles: list[Article], bulk: bool, per_segment: int = 0):
    """Whoosh's writer, or the bulk writer in one segment or in segments of ``per_segment``
    articles that are then merged into one (as a build's workers write and merge them)."""
    path.mkdir()
    storage = FileStorage(str(path))
    ix = storage.create_index(make_schema())
    plain = ix.schema["title_words"].analyzer
    if bulk and per_segment:
        segments = []
        for start in range(0, len(articles), per_segment):
            writer = BulkSegmentWriter(ix)
            for article in articles[start : start + per_segment]:
                writer.add_document(**article_document(article, plain))
            segments.append(writer._finalize_segment())
        TOC(ix.schema, segments, 1).write(storage, "MAIN")
        assert merge_index(storage, "MAIN", procs=2).segments_before == len(segments) > 1
    elif bulk:
        writer = BulkSegmentWriter(ix)
        for article in articles:
            writer.add_document(**article_document(article, plain))
        writer.commit()
    else:
        with ix.writer() as writer:
            for article in articles:
                writer.add_document(**article_document(article, plain))
    return FileStorage(str(path)).open_index()


@pytest.fixture(scope="module", params=[0, 70], ids=["one segment", "merged segments"])
def both(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    articles = invented(400)  # common words reach several 128-posting blocks
    root = tmp_path_factory.mktemp("segments")
    bulk = write(root / "bulk", articles, bulk=True, per_segment=request.param)
    return write(root / "whoosh", articles, bulk=False), bulk


def postings(reader) -> list[tuple]:
    rows = []
    for fieldname, text in reader.all_terms():
        matcher = reader.postings(fieldname, text)
        found = []
        while matcher.is_active():
            found.append((matcher.id(), matcher.weight(), matcher.value()))
            matcher.next()
        rows.append((fieldname, text, found))
        info = reader.term_info(fieldname, text)
        rows.append(
            (
                info.weight(),
                info.doc_frequency(),
                info.min_length(),
                info.max_length(),
                info.max_weight(),
                info.min_id(),
                info.max_id(),
            )
        )
    return rows


def test_same_terms_postings_and_statistics(both) -> None:
    plain, bulk = both
    with plain.reader() as a, bulk.reader() as b:
        assert postings(a) == postings(b)
        for name in ("title", "body", "title_words", "body_words", "place_name"):
            assert a.field_length(name) == b.field_length(name)
            assert [a.doc_field_length(n, name) for n in range(400)] == [
                b.doc_field_length(n, name) for n in range(400)
            ]
        assert list(a.all_stored_fields()) == list(b.all_stored_fields())
        for column in ("id", "place", "places_column", "source", "date_ordinal"):
            raw_a = a.column_reader(column, translate=False)
            assert list(raw_a) == list(b.column_reader(column, translate=False))


def test_rare_terms_are_inlined(both) -> None:
    _plain, bulk = both
    with bulk.reader() as reader:
        info = reader.term_info("body_words", "unique7")
        assert info.doc_frequency() < INLINE_LIMIT and info._inlined is not None


@pytest.mark.parametrize(
    ("field", "query"),
    [
        ("body", "oil"),
        ("body", "oil tanker"),
        ("body", '"crude oil"'),
        ("body_words", '"bankers massacres"'),
        ("title", "grain OR wheat"),
        ("body", "massacre"),
        ("body", "unique7"),
        ("place_name", "baku"),
    ],
)
def test_same_search_results_and_scores(both, field: str, query: str) -> None:
    plain, bulk = both
    results = []
    for ix in (plain, bulk):
        with ix.searcher() as searcher:
            hits = searcher.search(QueryParser(field, ix.schema).parse(query), limit=None)
            results.append([(hit["id"], round(hit.score, 6)) for hit in hits])
    assert results[0] == results[1]
    assert results[0]


def test_frequent_terms_have_the_blocks_whoosh_writes_with_the_codec(tmp_path: Path) -> None:
    """Byte for byte: the bulk writer compresses the blocks of terms of
    :data:`COMPRESS_FROM` postings or more as Whoosh's postings writer does with the
    compact codec (heads plain, values compressed)."""
    articles = invented(400)
    bulk = write(tmp_path / "bulk", articles, bulk=True)
    whoosh_ix = FileStorage(str(tmp_path)).create_index(make_schema(), indexname="WHOOSH")
    plain = whoosh_ix.schema["title_words"].analyzer
    with whoosh_ix.writer(codec=CompactCodec()) as writer:
        for article in articles:
            writer.add_document(**article_document(article, plain))
    whoosh_ix = FileStorage(str(tmp_path)).open_index("WHOOSH")
    layouts = set()
    with bulk.reader() as a, whoosh_ix.reader() as b:
        terms = list(a.all_terms())
        assert terms == list(b.all_terms())
        for field, text in terms:
            if a.doc_frequency(field, text) >= COMPRESS_FROM:
                extents = [term_bytes(reader, field, text) for reader in (a, b)]
                assert extents[0] == extents[1]
                layouts |= set(read_run(extents[0]).layouts.tolist())
    assert VALUES_COMPRESSED in layouts


def term_bytes(reader, field: str, text: str) -> bytes:
    """A term's postings blocks as the postings file holds them."""
    matcher = reader.postings(field, text)
    return matcher._postfile.get(matcher._startoffset, matcher._length[0])


def test_worker_closes_segments_to_bound_memory(tmp_path: Path) -> None:
    import queue

    from test_index_support import generated_corpus

    from searchsvc.articles.files import WorkUnit
    from searchsvc.index.workers import FINISHED, WorkerConfig, run_worker

    corpus = generated_corpus(tmp_path / "corpus", files=2, per_file=40)
    storage = FileStorage(str(tmp_path / "gen"))
    storage.create()
    ix = storage.create_index(make_schema(), indexname="MAIN")
    jobs: queue.SimpleQueue = queue.SimpleQueue()
    for path in sorted(corpus.iterdir()):
        jobs.put(WorkUnit(str(path), path.stat().st_size))
    jobs.put(None)
    config = WorkerConfig(
        gen_dir=str(tmp_path / "gen"), max_file_bytes=1 << 20, segment_postings=600
    )
    gc_was_enabled = gc.isenabled()
    gc.disable()  # as in a worker process: no collection this test did not ask for
    try:
        kind, _number, (segments, report, written, _units, _held, _files) = run_worker(
            0, config, jobs, queue.SimpleQueue()
        )
        # Finished segment writers are freed as the build goes, not kept until it ends.
        live_writers = [obj for obj in gc.get_objects() if isinstance(obj, BulkSegmentWriter)]
    finally:
        if gc_was_enabled:
            gc.enable()
    assert kind == FINISHED and written == 80 and report["articles"] == 80
    assert len(segments) > 3
    assert len(live_writers) <= 1  # the last segment's, freed when the worker returns
    assert sum(segment.doc_count_all() for segment in segments) == 80
    TOC(ix.schema, segments, 1).write(storage, "MAIN")
    with storage.open_index("MAIN").searcher() as searcher:
        assert searcher.doc_count() == 80
        assert len(searcher.search(QueryParser("body", ix.schema).parse("harvest"), limit=None)) > 0


def test_a_field_no_article_fills_writes_no_terms(tmp_path: Path) -> None:
    """Collections without titles (NPL's abstracts) once failed the build: a field added
    empty by every article of a segment has postings to group, none of them terms."""
    articles = [Article(id=f"t{n}", title="", body=f"wind tunnel test {n}") for n in range(5)]
    bulk = write(tmp_path / "bulk", articles, bulk=True)
    whoosh = write(tmp_path / "whoosh", articles, bulk=False)
    with bulk.reader() as mine, whoosh.reader() as theirs:
        assert postings(mine) == postings(theirs)
        assert not list(mine.lexicon("title"))


def test_columns_are_the_files_whoosh_writes(tmp_path: Path) -> None:
    """Column values and field lengths, collected for the segment and written at its
    close, make the column files Whoosh's per-document writer makes (the stored records
    differ: they are compressed against the segment's dictionary)."""
    articles = invented(120)
    write(tmp_path / "bulk", articles, bulk=True)
    (tmp_path / "whoosh").mkdir()
    ix = FileStorage(str(tmp_path / "whoosh")).create_index(make_schema())
    plain = ix.schema["title_words"].analyzer
    with ix.writer(compound=False) as writer:  # the column files apart, as ours are
        for article in articles:
            writer.add_document(**article_document(article, plain))
    files = {}
    for name in ("bulk", "whoosh"):
        (segment,) = FileStorage(str(tmp_path / name)).open_index()._segments()
        prefix = f"MAIN_{segment.segid}."
        files[name] = {
            path.name.removeprefix(prefix): path.read_bytes()
            for path in (tmp_path / name).glob(f"{prefix}*.col")
            if not path.name.endswith("._stored.col")
        }
    assert "_body_len.col" in files["whoosh"] and "date_ordinal.col" in files["whoosh"]
    assert {name: files["bulk"].get(name) for name in files["whoosh"]} == files["whoosh"]
    # Unscored fields' lengths have columns of their own too (as the bulk writer has
    # always written them); Whoosh's writer leaves them out.
    assert {name for name in files["bulk"] if name not in files["whoosh"]} == {
        f"_{name}_len.col" for name in ("id", "place", "places", "source", "date")
    }


#: Words that share stems within an article (ships, shipping, shipped; Schiff, Schiffe),
#: stopwords of English and German, repeats and a number: the cases where a stemmed field's
#: postings are merged from several words, or taken from its unstemmed companion's.
DRAWN_WORDS = ["ships", "shipping", "shipped", "the", "die", "Schiff", "Schiffe", "port",
               "ports", "1987", "U.S.", "café", "cafe", "don't", "oil", "oil"]  # fmt: skip
KHARTOUM = Place("geo:379252", "Khartoum", "SD", "Sudan", "Khartoum, Sudan")
drawn_text = st.lists(st.sampled_from(DRAWN_WORDS), max_size=30).map(" ".join)
drawn_articles = st.lists(
    st.tuples(
        drawn_text,
        drawn_text,
        st.sampled_from([None, "en", "de", "xx"]),
        st.sampled_from([None, BAKU, KHARTOUM]),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn_articles, st.sampled_from([0, 3]))
def test_drawn_articles_have_the_postings_whoosh_writes(drawn, per_segment: int) -> None:
    """Postings of drawn articles: stems shared by several words of one article, titles
    equal to bodies, empty texts, languages with and without a stemmer, repeated dateline
    places; in one segment and in merged ones."""
    articles = [
        Article(
            id=f"d{number}",
            title=title,
            body=body,
            language=language,
            dateline_place=place,
            places=(place,) if place else (),
        )
        for number, (title, body, language, place) in enumerate(drawn)
    ]
    per_segment = per_segment if len(articles) > per_segment else 0
    with tempfile.TemporaryDirectory() as root:
        whoosh = write(Path(root) / "whoosh", articles, bulk=False)
        bulk = write(Path(root) / "bulk", articles, bulk=True, per_segment=per_segment)
        with whoosh.reader() as theirs, bulk.reader() as mine:
            assert postings(mine) == postings(theirs)
            for name in ("title", "body", "title_words", "body_words", "place_name"):
                assert [mine.doc_field_length(n, name) for n in range(len(articles))] == [
                    theirs.doc_field_length(n, name) for n in range(len(articles))
                ]


@given(st.one_of(st.lists(st.text(max_size=3)), st.lists(st.binary(max_size=2))))
def test_term_ranks_number_each_posting_by_its_term_in_order(terms: list) -> None:
    in_order, ranks = _term_ranks(iter(terms), len(terms))
    assert in_order == sorted(set(terms))
    assert [in_order[rank] for rank in ranks.tolist()] == terms


def test_text_postings_group_as_their_values_would() -> None:
    """A text field's postings, given with their positions (a term twice where two words
    of a document share a stem), come out grouped by term and merged, with the weights
    (frequency times boost) and values Whoosh's pool would have been given."""
    fmt = CompactPositions(field_boost=2.0)
    documents = {
        0: [("rate", [0, 300]), ("oil", [1]), ("rate", [2, 301])],
        1: [("oil", [70_000])],
        2: [("bank", [5]), ("bank", [3]), ("bank", [4, 9])],
    }
    positioned, plain = TermPool(), TermPool()
    for docnum, words in documents.items():
        terms = [term for term, _ in words]
        text = TextPostings.of(terms, [positions for _, positions in words], 0)
        positioned.add_text("body", docnum, text._replace(distinct=len(set(terms))), fmt)
        merged: dict[str, list[int]] = {}
        for term, positions in words:
            merged[term] = sorted(merged.get(term, []) + positions)
        for term, positions in merged.items():
            plain.add(("body", term, docnum, 2.0 * len(positions), fmt.encode(positions)))
    assert positioned.count == plain.count == 4
    mine, theirs = positioned.fields["body"].grouped(), plain.fields["body"].grouped()
    assert mine.terms == theirs.terms == [(b"bank", 0, 1), (b"oil", 1, 3), (b"rate", 3, 4)]
    assert mine.docs.tolist() == theirs.docs.tolist() == [2, 0, 1, 0]
    assert mine.weights.tolist() == theirs.weights.tolist() == [8.0, 2.0, 2.0, 8.0]
    assert list(mine.values) == list(theirs.values)
    assert mine.values[0] == fmt.encode([3, 4, 5, 9])


def test_a_field_takes_texts_or_single_postings_not_both() -> None:
    pool = TermPool()
    pool.add_text("body", 0, TextPostings.of(["oil"], [[0]], 1), CompactPositions())
    with pytest.raises(TypeError, match="body"):
        pool.add(("body", b"oil", 1, 1.0, b"B\x00"))


@st.composite
def stemmed_texts(draw: st.DrawFn) -> list[list[tuple[str, list[int]]]]:
    """Documents of words, each word a term (stems repeat) and its own sorted positions."""
    documents = []
    for _ in range(draw(st.integers(1, 6))):
        terms = draw(st.lists(st.sampled_from(["bank", "oil", "rate", "tanker"]), max_size=6))
        sizes = [draw(st.integers(1, 3)) for _ in terms]
        spread = st.integers(0, 70_000)
        pool = draw(st.lists(spread, min_size=sum(sizes), max_size=sum(sizes), unique=True))
        ends = list(accumulate(sizes))
        lists = [sorted(pool[end - size : end]) for size, end in zip(sizes, ends, strict=True)]
        documents.append(list(zip(terms, lists, strict=True)))
    return documents


@given(stemmed_texts(), st.sampled_from([1.0, 2.0, 1.5]))
def test_positioned_postings_are_the_merged_postings_of_each_document(
    documents: list[list[tuple[str, list[int]]]], boost: float
) -> None:
    fmt = CompactPositions(field_boost=boost)
    pool = TermPool()
    expected = []
    for docnum, words in enumerate(documents):
        terms = [term for term, _ in words]
        text = TextPostings.of(terms, [positions for _, positions in words], 0)
        if terms:
            pool.add_text("body", docnum, text._replace(distinct=len(set(terms))), fmt)
        merged: dict[str, list[int]] = {}
        for term, positions in words:
            merged[term] = sorted(merged.get(term, []) + positions)
        expected += [(term, docnum, positions) for term, positions in merged.items()]
    expected.sort()
    assert pool.count == len(expected)
    if not expected:
        return
    grouped = pool.fields["body"].grouped()
    got = [
        (term.decode(), docnum, weight, value)
        for term, start, end in grouped.terms
        for docnum, weight, value in zip(
            grouped.docs[start:end].tolist(),
            grouped.weights[start:end].tolist(),
            list(grouped.values[start:end]),
            strict=True,
        )
    ]
    weight = [float(np.float32(len(positions) * boost)) for _, _, positions in expected]
    assert got == [
        (term, docnum, w, fmt.encode(positions))
        for (term, docnum, positions), w in zip(expected, weight, strict=True)
    ]
