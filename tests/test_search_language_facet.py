"""The language facet over a real index of articles in several languages."""

from __future__ import annotations

import pytest
from language_corpus import IDS_BY_LANGUAGE, LANGUAGE_ARTICLES
from test_web_support import build_fixture_index

from searchsvc.cli import main
from searchsvc.search import SearchEngine, SearchRequest
from searchsvc.search.facets import label_of_key

ALL = len(LANGUAGE_ARTICLES)


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return build_fixture_index(tmp_path_factory.mktemp("languages"), LANGUAGE_ARTICLES)


@pytest.fixture(scope="module")
def engine(settings):
    with SearchEngine(settings) as opened:
        yield opened


def language_counts(result) -> dict[str, int]:
    return {value.key: value.count for value in result.facets["language"].values}


def ids(result) -> set[str]:
    return {hit.id for hit in result.hits}


def test_every_language_is_counted_with_the_unknown_bucket(engine) -> None:
    result = engine.search(SearchRequest(per_page=50))
    expected = {language: len(members) for language, members in IDS_BY_LANGUAGE.items()}
    assert language_counts(result) == expected
    assert sum(expected.values()) == ALL
    assert result.facets["language"].other == 0


def test_labels_are_english_names_and_the_unknown_bucket_says_so(engine) -> None:
    values = engine.search(SearchRequest()).facets["language"].values
    labels = {value.key: value.label for value in values}
    assert labels["id"] == "Indonesian"
    assert labels["ar"] == "Arabic"
    assert labels["en"] == "English"
    assert labels[""] == "Unknown language"
    assert labels[""] == label_of_key("language", "")


@pytest.mark.parametrize(
    ("selected", "expected"),
    [
        (("ar",), IDS_BY_LANGUAGE["ar"]),
        (("id", "en"), IDS_BY_LANGUAGE["id"] | IDS_BY_LANGUAGE["en"]),
        (("AR",), IDS_BY_LANGUAGE["ar"]),
        (("und",), IDS_BY_LANGUAGE[""]),
        (("",), IDS_BY_LANGUAGE[""]),
        (("sw", "und"), IDS_BY_LANGUAGE["sw"] | IDS_BY_LANGUAGE[""]),
        (("fr",), set()),
    ],
)
def test_a_selection_filters_the_list(engine, selected, expected) -> None:
    result = engine.search(SearchRequest(language=selected, per_page=50))
    assert ids(result) == expected
    assert result.total == len(expected)


def test_the_facet_ignores_its_own_selection_but_not_the_others(engine) -> None:
    chosen = engine.search(SearchRequest(language=("ar",), per_page=50))
    everything = engine.search(SearchRequest(per_page=50))
    assert language_counts(chosen) == language_counts(everything)
    selected = {value.key for value in chosen.facets["language"].values if value.selected}
    assert selected == {"ar"}
    # The source facet counts only the Arabic articles.
    sources = {value.key: value.count for value in chosen.facets["source"].values}
    assert sources == {"mina": 2, "reuters": 1}
    # And a source selection narrows the language counts.
    antara = engine.search(SearchRequest(source=("antara",)))
    assert language_counts(antara) == {"id": 3}


def test_a_selected_language_no_match_has_is_still_shown(engine) -> None:
    # Read as Indonesian (a selection alone would read the query as Arabic).
    result = engine.search(SearchRequest(query="pelabuhan", language=("ar",), lang=("id",)))
    assert result.total == 0
    values = {value.key: value for value in result.facets["language"].values}
    assert values["ar"].selected and values["ar"].count == 0
    assert values["id"].count == 2


def test_hits_carry_their_language_and_direction(engine) -> None:
    hits = {hit.id: hit for hit in engine.search(SearchRequest(per_page=50)).hits}
    assert (hits["ar-naft"].language, hits["ar-naft"].dir) == ("ar", "rtl")
    assert (hits["id-minyak"].language, hits["id-minyak"].dir) == ("id", "ltr")
    assert (hits["rates"].language, hits["rates"].dir) == (None, "ltr")
    article = engine.article("ar-dhikra")
    assert (article.language, article.dir) == ("ar", "rtl")


def test_the_command_line_selects_and_lists_languages(settings, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SEARCHSVC_INDEX_DIR", str(settings.index_dir))
    assert main(["search", "--language", "ar", "--language", "und", "--per-page", "20"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("4 results")
    language_line = next(line for line in out.splitlines() if line.startswith("Language: "))
    assert language_line.startswith("Language: Arabic (3), English (3), Indonesian (3), ")
    assert "Unknown language (1)" in language_line
    assert main(["search", "khojaly", "--lang", "id,en", "--json"]) == 0
    assert '"language": "id"' in capsys.readouterr().out
