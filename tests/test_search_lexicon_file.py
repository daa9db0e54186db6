"""The spelling lexicon a build stores beside its segments: read back, it is the lexicon
the term tables give, array for array; a damaged or missing file is never used, and is
found by the checks of the generation's files; an update that adds articles reads the
term tables again, one that only deletes keeps the stored file."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from test_web_support import build_fixture_index
from whoosh.reading import IndexReader

import searchsvc.search.lexicon as lexicon_module
from searchsvc.articles.model import Article
from searchsvc.config import Settings
from searchsvc.index import open_index
from searchsvc.index.generations import read_meta
from searchsvc.index.opening import OpenedIndex
from searchsvc.index.updates import delete_articles, update_articles
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
        expected = read.arrays()
        assert sorted(stored.arrays()) == sorted(expected)
        for name, array in stored.arrays().items():
            assert array.dtype == expected[name].dtype, name
            assert np.array_equal(array, expected[name]), name
        assert list(stored.words) == list(read.words)


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


def test_an_update_that_adds_reads_the_term_tables_and_a_delete_keeps_the_file(
    settings: Settings,
) -> None:
    zebra = Article(id="z1", title="Zebra foal born", body="A zebra foal was born at the zoo.")
    update_articles(settings, [zebra])
    with open_index(settings.index_dir) as opened:
        assert lexicon_files(opened) == []
        assert not any(name.startswith("lexicon.") for name in read_meta(opened.path)["files"])
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
