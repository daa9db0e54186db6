"""The cluster holds exactly our analyzer's terms, at our analyzer's positions.

Documents are sent pre-analysed (space-joined terms under the whitespace analyzer);
``_termvectors`` shows what the cluster indexed, which must equal, field by field, the
term positions the embedded index writes for the same article.
"""

from __future__ import annotations

import pytest
from opensearch_corpus import fixture_corpus_cluster, write_fixture_corpus  # noqa: F401

from searchsvc.articles.model import IngestReport
from searchsvc.articles.sources import read_articles
from searchsvc.index.schema import article_document, make_schema
from searchsvc.opensearch.connection import connect

TEXT_FIELDS = ("title", "body", "title_words", "body_words", "place_name")


@pytest.fixture(scope="module")
def articles(tmp_path_factory: pytest.TempPathFactory):
    source = write_fixture_corpus(tmp_path_factory.mktemp("analysis-corpus"))
    return list(read_articles([source], IngestReport(), max_file_bytes=2**20))


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


def test_every_field_holds_the_same_terms_at_the_same_positions(
    fixture_corpus_cluster,  # noqa: F811
    articles,
) -> None:
    client = connect(fixture_corpus_cluster)
    compared = 0
    for article in articles:
        expected = embedded_positions(article)
        found = cluster_positions(client, fixture_corpus_cluster.opensearch_index, article.id)
        assert found == expected, article.id
        compared += sum(len(terms) for terms in expected.values())
    # Stems that differ from their words, stopword gaps and accents all occurred.
    assert compared > 500
    client.close()


def test_the_fixture_covers_what_could_differ(articles) -> None:
    """Stopwords inside titles (renumbered positions), stems unlike their words, places."""
    words = make_schema()["title_words"].analyzer
    assert any(len(words.surface_words(a.title)) < len(a.title.split()) for a in articles)
    positions = [embedded_positions(a) for a in articles]
    assert any(set(p["title"]) != set(p["title_words"]) for p in positions)
    assert any("place_name" in p for p in positions)
