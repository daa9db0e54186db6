"""Postings read into arrays give, for every document, the positions Whoosh's own matcher
gives, and nothing for a document without the word."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_search_corpus import corpus_settings

from searchsvc.articles.model import Article
from searchsvc.config import Settings
from searchsvc.index import build_index, open_index
from searchsvc.index.updates import delete_articles, update_articles
from searchsvc.search.postings import narrowest, read_frequencies, read_postings


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
        every = range(searcher.doc_count_all() + 1)
        for docnum in every:
            assert list(postings.positions(docnum)) == expected.get(docnum, [])
        assert split_lists(postings.position_lists(np.array(every))) == [
            expected.get(docnum, []) for docnum in every
        ]


def split_lists(lists: tuple[np.ndarray, np.ndarray]) -> list[list[int]]:
    """``position_lists``' arrays as one list of positions per document."""
    counts, positions = lists
    return [part.tolist() for part in np.split(positions, np.cumsum(counts)[:-1])]


#: Words of the many-block index: "harbour" is in every article (several blocks of
#: postings in each segment), the others in every second, third and seventh one.
_EVERY = "harbour"
_WORDS = {2: "freighter", 3: "dockers", 7: "tugboat"}


def _harbour_story(number: int) -> dict[str, str]:
    extra = [word for step, word in _WORDS.items() if number % step == 0]
    repeats = " ".join([_EVERY] * (1 + number % 4))
    return {
        "id": f"h{number}",
        "title": f"{_EVERY.title()} report {number}",
        "body": f"The {repeats} saw {' and '.join(extra) or 'calm'} on day {number}. "
        f"Later the {_EVERY} closed {' '.join(extra)}.",
        "date": "2024-03-01",
        "source": "Port Gazette",
    }


@pytest.fixture(scope="module")
def many_blocks(tmp_path_factory: pytest.TempPathFactory):
    """An index whose common words span many postings blocks in two segments, with
    deletions in both: the block reader's whole path, not only inlined postings."""
    root = tmp_path_factory.mktemp("many-blocks")
    source = root / "articles.jsonl"
    source.write_text("".join(json.dumps(_harbour_story(n)) + "\n" for n in range(700)))
    settings = Settings(index_dir=root / "index", corpus=(source,), build_procs=1)
    build_index(None, settings, show_progress=False)
    later = [Article(**{**_harbour_story(n), "id": f"h{n}", "date": None}) for n in range(650, 950)]
    update_articles(settings, later)
    delete_articles(settings, [f"h{n}" for n in range(0, 700, 11)])
    opened = open_index(settings.index_dir)
    searcher = opened.searcher()
    yield searcher
    searcher.close()
    opened.close()


def whoosh_postings(searcher, field: str, text: str) -> tuple[list[int], list[float]]:
    """Live docnums and weights over the whole index, from Whoosh's matcher."""
    ids, weights = [], []
    matcher = searcher.postings(field, text)
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return ids, weights


@pytest.mark.parametrize(
    ("field", "word"),
    [("title", _EVERY)]
    + [(f, w) for f in ("body", "body_words") for w in [_EVERY, *_WORDS.values()]],
)
def test_many_block_postings_match_whoosh(many_blocks, field: str, word: str) -> None:
    text = many_blocks.schema[field].analyzer(word).__next__().text
    ids, weights = whoosh_postings(many_blocks, field, text)
    positions = whoosh_positions(many_blocks, field, text)
    postings = read_postings(many_blocks, field, text)
    assert len(many_blocks.leaf_searchers()) >= 2
    assert postings.ids.tolist() == ids
    boost = many_blocks.schema[field].format.field_boost or 1.0
    assert postings.tfs.tolist() == [w / boost for w in weights]
    assert postings.weights.dtype == np.uint8  # frequencies times a boost of 1 or 2
    every = range(many_blocks.doc_count_all() + 1)
    for docnum in every:
        assert list(postings.positions(docnum)) == positions.get(docnum, [])
    asked = [*every, *reversed(every)]
    assert postings.decode_spans is not None  # the array path, not one value at a time
    looked_up = split_lists(postings.position_lists(np.array(asked)))
    assert looked_up == [positions.get(docnum, []) for docnum in asked]


@pytest.mark.parametrize(
    ("weights", "kept_as"),
    [
        ([1.0, 2.0, 255.0], np.uint8),
        ([2.0, 256.0], np.uint16),
        ([3.0, 65536.0], np.float32),
        ([0.5, 1.25], np.float32),
        ([-1.0, 2.0], np.float32),
        ([0.1], np.float64),  # no 32-bit float is 0.1
        ([float("nan")], np.float64),
        ([], np.uint8),
    ],
)
def test_weights_are_kept_in_the_narrowest_type_that_gives_them_back(weights, kept_as) -> None:
    wide = np.array(weights, dtype=np.float64)
    narrow = narrowest(wide)
    assert narrow.dtype == kept_as
    assert np.array_equal(narrow.astype(np.float64), wide, equal_nan=True)


def test_frequencies_of_a_selection_and_read_from_the_blocks_are_the_same_numbers(
    many_blocks,
) -> None:
    postings = read_postings(many_blocks, "title", _EVERY)  # boost 2: divided on use
    every_third = np.arange(len(postings)) % 3 == 0
    assert postings.tfs_at(every_third).tolist() == postings.tfs[every_third].tolist()
    assert postings.tfs_at(np.array([0, 5])).tolist() == postings.tfs[[0, 5]].tolist()
    frequencies = read_frequencies(many_blocks, "title", _EVERY)
    assert frequencies.ids.tolist() == postings.ids.tolist()
    picked = np.flatnonzero(every_third)
    assert frequencies.tfs_at(picked).tolist() == postings.tfs[picked].tolist()
