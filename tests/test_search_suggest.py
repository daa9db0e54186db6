""" "Did you mean" and fuzzy words over a corpus written so each rule decides one case,
and the misspellings users reported on Reuters-21578."""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.reading import IndexReader

from searchsvc.articles.model import Article
from searchsvc.config import Settings
from searchsvc.index import build_index, open_index
from searchsvc.index.updates import update_articles
from searchsvc.search import SearchEngine, SearchRequest
from searchsvc.search.cache import size_in_bytes
from searchsvc.search.in_flight import RequestsInFlight
from searchsvc.search.lexicon import (
    FieldRecords,
    Lexicon,
    PackedWords,
    WordTable,
    character_mask,
    field_records,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import eval_suggest

#: Written for these tests. "wheel" is written more often than "wheat", but only "wheat"
#: is ever written beside "harvest"; "tariffs" is common, "tarriffs" (one edit from the
#: typo "tarrifs") is written twice; "massacres" once, "massacre" often; "open" more
#: often than "opec".
ARTICLES = [
    {
        "id": "a1",
        "title": "Wheat harvest beats forecasts",
        "body": "Farmers brought in a record wheat harvest. Wheat exports rose, and the "
        "harbour at the river mouth was busy for weeks.",
    },
    {
        "id": "a2",
        "title": "Carmaker recalls wheel",
        "body": "A faulty wheel bearing led to the recall. Each wheel is checked, and every "
        "wheel found loose is replaced; the wheel maker apologised for the wheel fault.",
    },
    {
        "id": "a3",
        "title": "New tariffs on steel",
        "body": "The tariffs take effect in May. Tariffs on steel and tariffs on aluminium "
        "were announced together; earlier tariffs stay. Critics say tariffs raise prices "
        "and the tariffs will hurt. Tariffs, tariffs, tariffs, tariffs and more tariffs.",
    },
    {
        "id": "a4",
        "title": "Tarriffs misspelled in a press release",
        "body": "The release spoke of tarriffs. The harbour authority said the embargo on "
        "fishing ends in June.",
    },
    {
        "id": "a5",
        "title": "President Reagan visits the harbour",
        "body": "President Reagan toured the harbour and spoke about the embargo. The "
        "president thanked the workers.",
    },
    {
        "id": "a7",
        "title": "Shops open early",
        "body": "Shops open at seven, banks open at nine, offices open later and schools "
        "open next week.",
    },
    {
        "id": "a8",
        "title": "OPEC ministers meet",
        "body": "OPEC kept output steady; OPEC meets again in June.",
    },
    {
        "id": "a6",
        "title": "Massacre remembered",
        "body": "The massacre of 1992 was remembered. Survivors of the massacre spoke, and "
        "a memorial to the massacres was opened near the massacre site.",
    },
]


def indexed(root: Path, articles: list[dict]) -> Settings:
    """Settings for an index of ``articles`` built under ``root``."""
    source = root / "articles.jsonl"
    source.write_text("".join(json.dumps(a) + "\n" for a in articles), encoding="utf-8")
    built = Settings(index_dir=root / "index", corpus=(source,), build_procs=1)
    build_index(None, built, show_progress=False)
    return built


@pytest.fixture(scope="module")
def index_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return indexed(tmp_path_factory.mktemp("suggest-corpus"), ARTICLES)


@pytest.fixture(scope="module")
def engine(index_settings: Settings):
    with SearchEngine(index_settings) as engine:
        yield engine


def suggestion(engine: SearchEngine, query: str) -> str | None:
    return engine.search(SearchRequest(query=query)).suggestion


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # the more frequent of two words one edit away
        ("wheet", "wheel"),
        # a letter that sounds alike costs less: "opec", not the commoner "open"
        ("opek", "opec"),
        # a frequent word two edits away beats one written twice, one edit away
        ("tarrifs", "tariffs"),
        # any letter, the first included
        ("jarbour", "harbour"),
        ("Jarbour", "Harbour"),
        # a swap of neighbours is one edit
        ("embrago", "embargo"),
        ("presdient", "president"),
        # several words: each corrected, in the context of the others
        ("presidnt reagan", "president reagan"),
        ("wheet harvest", "wheat harvest"),
        ("presidnt raegan", "president reagan"),
        # words that are written, and other forms of a written word's stem
        ("harbour", None),
        ("wheat harvest", None),
        ("massacres", None),
        ("massacre", None),
        # another form of a frequent word's stem, itself written nowhere
        ("tariff", None),
        ("harbours", None),
    ],
)
def test_did_you_mean(engine: SearchEngine, query: str, expected: str | None) -> None:
    assert suggestion(engine, query) == expected


def test_no_suggestion_that_finds_nothing_with_the_filters(engine: SearchEngine) -> None:
    dated = engine.search(SearchRequest(query="jarbour", date_from="2020-01-01"))
    assert dated.total == 0 and dated.suggestion is None


def test_offered_when_not_every_word_matches_though_results_are_listed(
    engine: SearchEngine,
) -> None:
    # "tarrifs" finds nothing; "steel" does, so articles are still listed
    result = engine.search(SearchRequest(query="tarrifs steel"))
    assert result.total > 0
    assert result.suggestion == "tariffs steel"


def test_words_that_never_meet_are_still_corrected_one_by_one(engine: SearchEngine) -> None:
    # no article has both "tariffs" and "reagan": each correction finds articles alone
    assert suggestion(engine, "tarrifs raegan") == "tariffs reagan"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("jarbour~", ["a1", "a4", "a5"]),
        ("wheet~1", ["a1", "a2"]),
        ("title:wheet~1", ["a1", "a2"]),
        ("title:harbor~1", ["a5"]),
        ("embrago~", ["a4", "a5"]),
        ("zzzzzz~", []),
    ],
)
def test_fuzzy_words_match_any_first_letter(
    engine: SearchEngine, query: str, expected: list[str]
) -> None:
    hits = engine.search(SearchRequest(query=query)).hits
    assert sorted(hit.id for hit in hits) == expected


def test_words_added_by_an_update_are_found_by_the_next_commit(tmp_path: Path) -> None:
    own = indexed(tmp_path, ARTICLES[:3])
    with SearchEngine(own) as engine:
        assert suggestion(engine, "zebbra") is None
        assert engine.search(SearchRequest(query="zebbra~")).total == 0
        zebras = Article(
            id="z1",
            title="Zebra foal born at the zoo",
            body="The zebra foal and its mother, a zebra from Kenya, are well.",
            date=dt.date(2024, 5, 1),
        )
        update_articles(own, [zebras])
        assert suggestion(engine, "zebbra") == "zebra"
        assert [hit.id for hit in engine.search(SearchRequest(query="zebbra~")).hits] == ["z1"]


def textbook_osa(a: str, b: str) -> int:
    """The textbook optimal-string-alignment distance, for checking the fast search."""
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[len(a)][len(b)]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet="abcde1é", min_size=1, max_size=9), min_size=1, max_size=30),
    st.text(alphabet="abcde1é", max_size=9),
    st.integers(min_value=0, max_value=2),
)
def test_word_table_finds_exactly_the_words_within_the_distance(
    words: list[str], word: str, maxdist: int
) -> None:
    words = sorted(set(words))
    packed = PackedWords.of(word.encode("utf-8") for word in words)
    table = WordTable.of(packed, np.arange(len(words)), *packed.lengths_and_masks())
    numbers, distances = table.within(word, maxdist)
    found = dict(zip(numbers.tolist(), distances.tolist(), strict=True))
    expected = {
        number: textbook_osa(word, other)
        for number, other in enumerate(words)
        if textbook_osa(word, other) <= maxdist
    }
    assert found == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="az1é€𝄞-\n", max_size=6), max_size=40), st.randoms())
def test_packed_words_read_back_with_their_lengths_and_masks(words: list[str], random) -> None:
    """Read one by one and many at once (split at line breaks put between the words, so
    also where a word holds one), reordered and extended."""
    packed = PackedWords.of(word.encode("utf-8") for word in words)
    assert len(packed) == len(words)
    assert list(packed) == words
    assert packed.take(np.arange(len(words))[::-1]) == words[::-1]
    many = np.resize(np.arange(len(words)), 1200 if words else 0)  # taken at once
    assert packed.take(many) == [words[number] for number in many.tolist()]
    assert packed.encoded() == [word.encode("utf-8") for word in words]
    order = np.array(random.sample(range(len(words)), len(words)), dtype=np.int64)
    assert list(packed.reordered(order)) == [words[number] for number in order.tolist()]
    assert list(packed.extended([b"x", "é".encode()])) == [*words, "x", "é"]
    lengths, masks = packed.lengths_and_masks()
    assert lengths.tolist() == [len(word) for word in words]
    assert masks.tolist() == [character_mask(word) for word in words]


def test_a_lexicon_holds_its_words_packed_not_one_string_each(tmp_path: Path) -> None:
    """Thousands of distinct words (as an archive has hundreds of thousands): as Python
    strings each would cost over 50 bytes before its characters, and a list of them 8 more."""
    vocabulary = [f"word{number:05d}x" for number in range(6000)]
    articles = [
        {"id": f"v{part}", "title": "Vocabulary", "body": " ".join(vocabulary[part::6])}
        for part in range(6)
    ]
    own = indexed(tmp_path, articles)
    opened = open_index(own.index_dir)
    try:
        with opened.searcher() as searcher:
            lexicon = Lexicon()
            assert set(vocabulary) <= set(lexicon.vocabulary(searcher.reader()))
            words = len(lexicon.vocabulary(searcher.reader()))
            assert size_in_bytes(lexicon) / words < 64
    finally:
        opened.close()


def test_generated_typos_are_one_edit_from_their_word_and_written_nowhere() -> None:
    words = ["harbour", "tariffs", "president", "embargo"]
    known = {*words, "harbor"}
    typos = eval_suggest.typo_set(words, known, per_kind=6, seed=3)
    assert list(typos) == list(eval_suggest.KINDS)
    pairs = [pair for kind in typos.values() for pair in kind]
    assert len(pairs) == 24 == len({typo for typo, _ in pairs})
    for typo, word in pairs:
        assert typo not in known and textbook_osa(typo, word) == 1
    assert sorted(typos["transposition"]) != sorted(typos["substitution"])
    assert eval_suggest.typo_set(words, known, per_kind=6, seed=3) == typos


def test_evaluation_prints_both_correctors_per_kind(
    index_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--index-dir", str(index_settings.index_dir), "--per-kind", "4", "--frequent", "12"]
    assert eval_suggest.main(argv) == 0
    out = capsys.readouterr().out
    for kind in (*eval_suggest.KINDS, "all"):
        assert f"| {kind} | {4 * 4 if kind == 'all' else 4} |" in out
    assert "searchsvc right" in out and "baseline right" in out
    assert "| tarrifs | tariffs | tarriffs |" in out


@pytest.fixture(scope="module")
def reuters_engine(reuters_index: Settings):
    with SearchEngine(reuters_index) as engine:
        yield engine


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tarrifs", "tariffs"),
        ("opek", "opec"),
        ("opek embargo", "opec embargo"),
        ("presidnt reagan", "president reagan"),
    ],
)
def test_reuters_misspellings(reuters_engine: SearchEngine, query: str, expected: str) -> None:
    assert suggestion(reuters_engine, query) == expected


def test_term_tables_read_directly_agree_with_whoosh(tmp_path: Path) -> None:
    """The lexicon reads Whoosh's term tables without its API; on an index of two segments
    (a build and an update) every word's counts must be what Whoosh itself reports."""
    own = indexed(tmp_path, ARTICLES)
    update_articles(
        own,
        [Article(id="z1", title="Wheat and zebras", body="Zebra herds crossed wheat fields.")],
    )
    opened = open_index(own.index_dir)
    try:
        with opened.searcher() as searcher:
            reader = searcher.reader()
            assert len(list(reader.leaf_readers())) == 2
            for name in ("title_words", "body_words"):
                direct: dict[str, list[float]] = {}
                for records in field_records(reader, name):
                    assert records.words == sorted(records.words)  # the table's order
                    counts_of = zip(records.weights.tolist(), records.docs.tolist(), strict=True)
                    for word, (weight, docs) in zip(records.words, counts_of, strict=True):
                        counts = direct.setdefault(word.decode("utf-8"), [0.0, 0])
                        counts[0] += weight
                        counts[1] += docs
                expected = {
                    word.decode("utf-8") if isinstance(word, bytes) else word: [
                        reader.frequency(name, word),
                        reader.doc_frequency(name, word),
                    ]
                    for word in reader.lexicon(name)
                }
                assert direct == expected
    finally:
        opened.close()


def test_the_lexicon_counts_each_word_as_whoosh_does_across_fields_and_segments(
    tmp_path: Path,
) -> None:
    """Words in first-seen order, occurrences summed over both fields (boosts divided
    out) and articles per field, on an index of two segments."""
    own = indexed(tmp_path, ARTICLES)
    update_articles(own, [Article(id="z1", title="Zebra wheat", body="Wheat for the zebras.")])
    fields = ("title_words", "body_words")
    opened = open_index(own.index_dir)
    try:
        with opened.searcher() as searcher:
            reader = searcher.reader()
            lexicon = Lexicon(fields)
            words = list(lexicon.vocabulary(reader))
            seen = [
                word.decode("utf-8")
                for name in fields
                for records in field_records(reader, name)
                for word in records.words
            ]
            assert words == list(dict.fromkeys(seen))
            for word, occurrences in lexicon.vocabulary(reader).items():
                assert occurrences == pytest.approx(lexicon.occurrences(reader, word))
            for name in fields:
                assert lexicon.near(reader, (name,), "wheat", 0) == [
                    ("wheat", reader.doc_frequency(name, "wheat"))
                ]
    finally:
        opened.close()


def test_term_records_read_in_slices_are_the_records_read_at_once(tmp_path: Path) -> None:
    """A background reading parses a few records at a time; slices of any size, ending
    anywhere in a segment's stretch, must give the same words and counts in order."""
    own = indexed(tmp_path, ARTICLES)
    update_articles(own, [Article(id="z1", title="Zebra wheat", body="Wheat for zebras.")])
    opened = open_index(own.index_dir)
    try:
        with opened.searcher() as searcher:
            reader = searcher.reader()
            for name in ("title_words", "body_words"):
                whole = [list(records) for records in field_records(reader, name)]
                assert len(whole) == 2  # a slice per segment
                for size in (1, 3, 7):
                    sliced = list(field_records(reader, name, slice_records=size))
                    assert all(len(records.words) <= size for records in sliced)
                    assert len(sliced) > len(whole)
                    for part in range(len(FieldRecords._fields)):
                        joined = [value for records in sliced for value in records[part]]
                        assert joined == [value for records in whole for value in records[part]]
    finally:
        opened.close()


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[IndexReader]:
    """A reader of an updated index: its commit has no stored lexicon (an update stores
    none), so the words are read from the term tables, a slice at a time."""
    own = indexed(tmp_path, ARTICLES)
    update_articles(own, [Article(id="z1", title="Zebra wheat", body="Wheat for zebras.")])
    opened = open_index(own.index_dir)
    try:
        with opened.searcher() as searcher:
            yield searcher.reader()
    finally:
        opened.close()


def test_a_background_lexicon_reading_waits_while_requests_run(reader: IndexReader) -> None:
    in_flight = RequestsInFlight(longest_pause=None)
    lexicon = Lexicon()
    background = threading.Thread(
        target=lexicon.prepare, args=(reader, in_flight.pause), daemon=True
    )
    with in_flight.running():
        background.start()
        background.join(timeout=0.5)
        assert background.is_alive() and not lexicon.loaded
    background.join(timeout=60)
    assert not background.is_alive() and lexicon.loaded


def test_a_request_needing_the_lexicon_finishes_a_paused_reading_at_once(
    reader: IndexReader,
) -> None:
    """The reading waits for the requests to end; a request that needs the words waits
    for the reading: the reading must then stop waiting, or neither ever ends."""
    in_flight = RequestsInFlight(longest_pause=None)
    lexicon = Lexicon()
    paused = threading.Event()

    def pause(wanted: Callable[[], bool]) -> None:
        paused.set()
        in_flight.pause(wanted)

    found: list[list[tuple[str, int]]] = []

    def request() -> None:
        with in_flight.running():
            found.append(lexicon.near(reader, ("title_words",), "wheet", 1))

    # Daemons: when the reading and the request wait for each other, the test fails
    # rather than hangs.
    background = threading.Thread(target=lexicon.prepare, args=(reader, pause), daemon=True)
    requesting = threading.Thread(target=request, daemon=True)
    with in_flight.running():  # another request, running all along
        background.start()
        assert paused.wait(timeout=60)
        requesting.start()
        requesting.join(timeout=60)
        assert not requesting.is_alive()
    background.join(timeout=60)
    assert found == [Lexicon().near(reader, ("title_words",), "wheet", 1)] != [[]]


def test_background_work_pauses_no_longer_than_its_longest_pause() -> None:
    """Under steady traffic the lexicon is still read, a slice per longest pause."""
    in_flight = RequestsInFlight(longest_pause=0.01)
    with in_flight.running():
        waiting = threading.Thread(target=in_flight.pause, args=(lambda: False,), daemon=True)
        waiting.start()
        waiting.join(timeout=60)
        assert not waiting.is_alive()


def test_a_server_reads_each_commits_lexicon_in_the_background(tmp_path: Path) -> None:
    own = indexed(tmp_path, ARTICLES[:3])

    def lexicon_after_opening(engine: SearchEngine) -> bool:
        engine.generation  # noqa: B018 - opens the index; no query needs the lexicon yet
        for thread in threading.enumerate():
            if thread.name.startswith("lexicon-"):
                thread.join(timeout=30)
        with engine._serving.reading() as reading:
            return reading.snapshot.lexicon.loaded

    with SearchEngine(own) as engine:
        assert not lexicon_after_opening(engine)
    with SearchEngine(own, prepare_lexicon=True) as engine:
        assert lexicon_after_opening(engine)
        update_articles(own, [Article(id="z1", title="Zebra foal", body="A zebra foal.")])
        assert lexicon_after_opening(engine)  # the new commit's own lexicon
        assert suggestion(engine, "zebbra") == "zebra"
