"""The cluster holds exactly our analyzer's terms, at our analyzer's positions.

Documents are sent pre-analysed (space-joined terms under the whitespace analyzer);
``_termvectors`` shows what the cluster indexed, which must equal, field by field, the
term positions the embedded index writes for the same article.
"""

from __future__ import annotations

import pytest
from language_corpus import write_language_corpus
from opensearch_corpus import (  # noqa: F401 (fixtures)
    fixture_corpus_cluster,
    language_corpus_cluster,
    write_fixture_corpus,
)

from searchsvc.articles.model import IngestReport
from searchsvc.articles.sources import read_articles
from searchsvc.index.schema import article_document, make_schema
from searchsvc.opensearch.connection import connect

TEXT_FIELDS = ("title", "body", "title_words", "body_words", "place_name")


def read_corpus(directory, write) -> list:
    return list(read_articles([write(directory)], IngestReport(), max_file_bytes=2**20))


@pytest.fixture(scope="module")
def articles(tmp_path_factory: pytest.TempPathFactory):
    return read_corpus(tmp_path_factory.mktemp("analysis-corpus"), write_fixture_corpus)


def embedded_positions(article) -> dict[str, dict[str, list[int]]]:
    """Field -> term -> positions, as the embedded index writes them."""
    schema = make_schema()
    document = article_document(article, schema["title_words"].analyzer)
    return {
        name: dict(schema[name].term_positions(document[name]))
        for name in TEXT_FIELDS
        if name in document
    }


def cluster_positions(client, alias: str, article_id: str) -> dict[str, dict[str, list[int]]]:
    """Field -> term -> positions, as the cluster indexed them."""
    answer = client.termvectors(
        index=alias,
        id=article_id,
        body={"fields": list(TEXT_FIELDS), "positions": True, "offsets": False},
    )
    return {
        name: {
            term: [token["position"] for token in info["tokens"]]
            for term, info in vector["terms"].items()
        }
        for name, vector in answer["term_vectors"].items()
    }


def compare_terms(settings, articles) -> int:
    """How many (field, term) pairs were compared; fails at the first article that differs."""
    client = connect(settings)
    compared = 0
    try:
        for article in articles:
            expected = embedded_positions(article)
            found = cluster_positions(client, settings.opensearch_index, article.id)
            assert found == expected, article.id
            compared += sum(len(terms) for terms in expected.values())
    finally:
        client.close()
    return compared


def test_every_field_holds_the_same_terms_at_the_same_positions(
    fixture_corpus_cluster,  # noqa: F811
    articles,
) -> None:
    # Stems that differ from their words, stopword gaps and accents all occurred.
    assert compare_terms(fixture_corpus_cluster, articles) > 500


def test_articles_in_every_language_hold_the_same_terms(
    language_corpus_cluster,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Each article analysed for its own language, in both engines."""
    articles = read_corpus(tmp_path_factory.mktemp("language-corpus"), write_language_corpus)
    assert {article.language for article in articles} == {"en", "id", "ar", "sw", None}
    assert compare_terms(language_corpus_cluster, articles) > 200


def test_the_fixture_covers_what_could_differ(articles) -> None:
    """Stopwords inside titles (renumbered positions), stems unlike their words, places."""
    words = make_schema()["title_words"].analyzer
    assert any(len(words.surface_words(a.title)) < len(a.title.split()) for a in articles)
    positions = [embedded_positions(a) for a in articles]
    assert any(set(p["title"]) != set(p["title_words"]) for p in positions)
    assert any("place_name" in p for p in positions)
