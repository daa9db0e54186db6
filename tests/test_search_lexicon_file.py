"""The spelling lexicon a build stores beside its segments: read back, it is the lexicon
the term tables give, array for array; a damaged or missing file is never used, and is
found by the checks of the generation's files; an update keeps the build's file, and its
readers extend it with the other segments' terms to the lexicon the term tables give."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from test_web_support import build_fixture_index, fixture_articles
from whoosh.reading import IndexReader

import searchsvc.search.lexicon as lexicon_module
from searchsvc.articles.model import Article
from searchsvc.config import Settings
from searchsvc.index import open_index
from searchsvc.index.generations import read_meta
from searchsvc.index.opening import OpenedIndex
from searchsvc.index.updates import MAX_SEGMENTS_BEFORE_MERGE, delete_articles, update_articles
from searchsvc.search import SearchEngine, SearchRequest
from searchsvc.search.lexicon import WORD_FIELDS, Lexicon, _Words
from searchsvc.search.lexicon_file import LEXICON_FILES

#: Misspellings of words of the fixture articles, and words near none.
ASKED = ("azerbajan", "goverment", "minstry", "baku", "qqqzzz")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return build_fixture_index(tmp_path)


@pytest.fixture
def opened(settings: Settings) -> Iterator[OpenedIndex]:
    with open_index(settings.index_dir) as opened:
        yield opened


def lexicon_files(opened: OpenedIndex) -> list[Path]:
    return sorted(opened.path.glob(LEXICON_FILES))


def read_from_term_tables(reader: IndexReader) -> _Words:
    return _Words.read(reader, WORD_FIELDS, lambda: None)


def answers(lexicon: Lexicon, reader: IndexReader) -> list[object]:
    """What a lexicon tells the search, for words near and far from the corpus's."""
    return [
        lexicon.vocabulary(reader),
        *(lexicon.corrections(reader, word, 2) for word in ASKED),
        *(lexicon.near(reader, ("body_words",), word, 1) for word in ASKED),
    ]


def test_a_build_stores_the_lexicon_the_term_tables_give(opened: OpenedIndex) -> None:
    [stored_file] = lexicon_files(opened)
    assert stored_file.name in read_meta(opened.path)["files"]  # checksummed
    with opened.searcher() as searcher:
        reader = searcher.reader()
        stored = _Words.stored(reader, WORD_FIELDS)
        assert stored is not None
        read = read_from_term_tables(reader)
        assert len(read.words) > 100
        assert_same_lexicon(stored, read)


def assert_same_lexicon(got: _Words, expected: _Words) -> None:
    """The same words in the same order, counts and tables, array for array."""
    arrays, expected_arrays = got.arrays(), expected.arrays()
    assert sorted(arrays) == sorted(expected_arrays)
    for name, array in arrays.items():
        assert array.dtype == expected_arrays[name].dtype, name
        assert np.array_equal(array, expected_arrays[name]), name
    assert list(got.words) == list(expected.words)


def test_a_stored_lexicon_is_loaded_without_reading_the_term_tables(
    opened: OpenedIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the term tables were read")

    with opened.searcher() as searcher:
        reader = searcher.reader()
        with monkeypatch.context() as patched:
            patched.setattr(lexicon_module, "field_records", refuse)
            from_file = answers(Lexicon(), reader)
            lexicon_files(opened)[0].unlink()
            with pytest.raises(AssertionError, match="term tables were read"):
                Lexicon().vocabulary(reader)  # no file now: it must read them
        assert from_file[1]  # some correction was found
        assert answers(Lexicon(), reader) == from_file


def test_a_damaged_stored_lexicon_is_not_used(
    opened: OpenedIndex, caplog: pytest.LogCaptureFixture
) -> None:
    [stored_file] = lexicon_files(opened)
    with opened.searcher() as searcher:
        reader = searcher.reader()
        expected = answers(Lexicon(), reader)
        data = bytearray(stored_file.read_bytes())
        data[len(data) // 2] ^= 0x01
        stored_file.write_bytes(bytes(data))
        with caplog.at_level(logging.WARNING):
            assert answers(Lexicon(), reader) == expected
    assert any("checksum differs" in record.getMessage() for record in caplog.records)
    assert stored_file.name in (opened.verify_files() or "")


def extended_and_read(settings: Settings) -> tuple[_Words | None, _Words]:
    """The words of the serving commit, extended from the build's and read whole."""
    with open_index(settings.index_dir) as opened, opened.searcher() as searcher:
        reader = searcher.reader()
        assert _Words.stored(reader, WORD_FIELDS) is None  # an update's commit has none
        extended = _Words.extended(reader, WORD_FIELDS, lambda: None)
        return extended, read_from_term_tables(reader)


#: Enough articles that Whoosh's merge of small segments leaves the build's segment alone.
BIG_ENOUGH = 400


def test_updates_extend_the_builds_lexicon_to_what_the_term_tables_give(
    tmp_path: Path,
) -> None:
    """After adds, a replacement, a delete and the merge of the updates' segments, the
    build's lexicon with the later segments' terms is the lexicon read whole: the same
    numbers, even for a word of the build's bodies that a new title has first."""
    filler = [
        {**record, "id": f"{record['id']}-{copy}", "title": f"{record['title']} {copy}"}
        for copy in range(BIG_ENOUGH // len(fixture_articles()) + 1)
        for record in fixture_articles()
    ]
    settings = build_fixture_index(tmp_path, filler)
    with open_index(settings.index_dir) as opened, opened.searcher() as searcher:
        built = read_from_term_tables(searcher.reader())
    title_docs, body_docs = (built.docs[name] for name in WORD_FIELDS)
    body_only = [
        word
        for word, in_titles, in_bodies in zip(built.words, title_docs, body_docs, strict=True)
        if not in_titles and in_bodies and word.isalpha()
    ]
    updates = [
        Article(id="u0", title=f"Zebra {body_only[0]} foal", body="A zebra foal at the zoo."),
        Article(id="u1", title="Quokka census", body=f"Quokka {body_only[1]} counted."),
        Article(id="u0", title="Zebra foal named", body=f"Named {body_only[2]} today."),
    ]
    updates += [
        Article(id=f"m{number}", title=f"Okapi {number} seen", body=f"Okapi word{number}.")
        for number in range(MAX_SEGMENTS_BEFORE_MERGE + 1)
    ]
    for number, article in enumerate(updates):
        update_articles(settings, [article])
        if number == 1:
            delete_articles(settings, [_some_ids(settings)[0]])
        extended, read = extended_and_read(settings)
        assert extended is not None
        assert_same_lexicon(extended, read)
    with open_index(settings.index_dir) as opened:
        assert len(opened.index._segments()) < 1 + len(updates)  # the updates' merged
        [stored_file] = lexicon_files(opened)  # the build's, kept and listed
        assert stored_file.name in read_meta(opened.path)["files"]


def test_a_damaged_builds_file_is_not_extended_and_is_found_after_an_update(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    update_articles(settings, [Article(id="z1", title="Zebra foal", body="A zebra foal.")])
    with open_index(settings.index_dir) as opened, opened.searcher() as searcher:
        reader = searcher.reader()
        expected = answers(Lexicon(), reader)
        [stored_file] = lexicon_files(opened)
        data = bytearray(stored_file.read_bytes())
        data[len(data) // 2] ^= 0x01
        stored_file.write_bytes(bytes(data))
        with caplog.at_level(logging.WARNING):
            assert _Words.extended(reader, WORD_FIELDS, lambda: None) is None
            assert answers(Lexicon(), reader) == expected  # read from the term tables
        assert stored_file.name in (opened.verify_files() or "")
    assert any("checksum differs" in record.getMessage() for record in caplog.records)


def test_an_update_that_adds_keeps_the_builds_file_and_a_delete_keeps_the_file(
    settings: Settings,
) -> None:
    with open_index(settings.index_dir) as opened:
        built_files = lexicon_files(opened)
    zebra = Article(id="z1", title="Zebra foal born", body="A zebra foal was born at the zoo.")
    update_articles(settings, [zebra])
    with open_index(settings.index_dir) as opened:
        assert lexicon_files(opened) == built_files != []
        assert opened.verify_files() is None
    with SearchEngine(settings) as engine:
        found = engine.search(SearchRequest(query="zebbra"))
        assert found.suggestion is not None and "zebra" in found.suggestion

    rebuilt = build_fixture_index(settings.index_dir.parent / "again")
    with open_index(rebuilt.index_dir) as opened:
        before = lexicon_files(opened)
    delete_articles(rebuilt, ["z1", *_some_ids(rebuilt)])
    with open_index(rebuilt.index_dir) as opened, opened.searcher() as searcher:
        assert searcher.doc_count() < searcher.doc_count_all()  # deletions, same segments
        assert lexicon_files(opened) == before != []
        reader = searcher.reader()
        stored = _Words.stored(reader, WORD_FIELDS)
        assert stored is not None
        assert list(stored.words) == list(read_from_term_tables(reader).words)


def _some_ids(settings: Settings) -> list[str]:
    with SearchEngine(settings) as engine:
        return [hit.id for hit in engine.search(SearchRequest(query="", per_page=2)).hits]
