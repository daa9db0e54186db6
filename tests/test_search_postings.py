"""Postings read into arrays give, for every document, the positions Whoosh's own matcher
gives, and nothing for a document without the word."""

from __future__ import annotations

import pytest
from test_search_corpus import corpus_settings

from searchsvc.index import open_index
from searchsvc.search.postings import read_postings


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory):
    opened = open_index(corpus_settings(tmp_path_factory).index_dir)
    searcher = opened.searcher()
    yield searcher
    searcher.close()
    opened.close()


def whoosh_positions(searcher, field: str, text: str) -> dict[int, list[int]]:
    """Docnum -> positions, from Whoosh's matcher over the whole index."""
    found = {}
    matcher = searcher.postings(field, text)
    while matcher.is_active():
        found[matcher.id()] = list(matcher.value_as("positions"))
        matcher.next()
    return found


@pytest.mark.parametrize("field", ["title", "body"])
def test_positions_of_every_document_match_whoosh(searcher, field: str) -> None:
    terms = [text for name, text in searcher.reader().all_terms() if name == field]
    assert len(terms) > 20
    for raw in terms:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        expected = whoosh_positions(searcher, field, text)
        postings = read_postings(searcher, field, text)
        for docnum in range(searcher.doc_count_all() + 1):
            assert list(postings.positions(docnum)) == expected.get(docnum, [])
