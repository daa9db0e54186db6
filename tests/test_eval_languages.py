"""The judged set per language, and ``benchmarks/eval_languages.py`` run on part of it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import eval_languages  # noqa: E402

JSONL_FIELDS = {"id", "title", "body", "date", "source", "language"}


@pytest.mark.parametrize("language", eval_languages.LANGUAGES)
def test_each_language_has_forty_articles_and_twenty_judged_queries(language: str) -> None:
    articles = eval_languages.read_articles(language)
    queries = eval_languages.read_queries(language)
    ids = [article["id"] for article in articles]
    assert len(articles) >= 40
    assert len(set(ids)) == len(ids)
    assert all(set(article) == JSONL_FIELDS for article in articles)
    assert {article["language"] for article in articles} == {language}
    assert len(queries) == 20
    assert len({query.id for query in queries}) == 20
    for query in queries:
        assert query.relevant, query.id
        assert set(query.relevant) <= set(ids), query.id
        assert set(query.relevant.values()) <= {1, 2}, query.id


def test_build_input_declares_the_language_replaces_it_or_drops_it(tmp_path: Path) -> None:
    articles = [
        {"id": "a", "title": "Banjir", "body": "Sungai meluap.", "language": "id"},
        {"id": "b", "title": "Floods", "body": "The river rose.", "language": "en"},
    ]
    written = {}
    for name, declare in (("same", str), ("english", lambda _: "en"), ("none", lambda _: None)):
        path = tmp_path / f"{name}.jsonl"
        eval_languages.write_build_input(articles, declare, path)
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        written[name] = [record.get("language") for record in records]
        assert [record["body"] for record in records] == ["Sungai meluap.", "The river rose."]
    assert written == {"same": ["id", "en"], "english": ["en", "en"], "none": [None, None]}


def test_scores_count_every_relevant_article_and_the_grades() -> None:
    queries = [
        eval_languages.JudgedQuery("q1", "root form", "banjir", {"a": 2, "c": 1}),
        eval_languages.JudgedQuery("q2", "same words", "gempa", {"d": 2}),
    ]
    rankings = {"q1": ["a", "b", "x", "y", "z", "c"], "q2": []}
    scores = eval_languages.score(queries, rankings)
    # q1: AP (1/1 + 2/6) / 2; q2 found nothing.
    assert scores.map == pytest.approx((1 + 2 / 6) / 2 / 2)
    assert scores.p5 == pytest.approx(1 / 5 / 2)
    assert scores.r10 == pytest.approx(1 / 2)
    assert scores.average_precisions == (pytest.approx((1 + 2 / 6) / 2), 0.0)
    assert scores.map_by_kind == {
        "root form": (pytest.approx((1 + 2 / 6) / 2), 1),
        "same words": (0.0, 1),
    }


def test_recall_counts_only_the_first_places() -> None:
    assert eval_languages.recall_at(["a", "b", "c"], {"c": 1, "d": 1}, 2) == 0.0
    assert eval_languages.recall_at(["a", "b", "c"], {"c": 1, "d": 1}, 3) == 0.5


def test_script_prints_every_language_and_analyzer_on_a_few_queries(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert eval_languages.main(["--queries", "4", "--per-query"]) == 0
    table, kinds, per_query = capsys.readouterr().out.strip().split("\n\n")
    rows = table.splitlines()[1:]
    assert len(rows) == len(eval_languages.LANGUAGES) * len(eval_languages.ANALYZERS)
    for language in eval_languages.LANGUAGES:
        for analyzer in eval_languages.ANALYZERS:
            assert any(
                row.split()[0] == language and f"  {analyzer.name}  " in row for row in rows
            ), (language, analyzer.name)
    assert kinds.startswith("MAP by kind of query: per language | ")
    first_queries = [
        query.id
        for language in eval_languages.LANGUAGES
        for query in eval_languages.read_queries(language)[:4]
    ]
    assert [line.split()[0] for line in per_query.splitlines()[1:]] == first_queries


def test_arabic_queries_find_more_with_arabic_analysis_than_with_english() -> None:
    """The first Arabic queries differ from their articles by the article, taa marbuta
    written as haa, and attached prefixes."""
    scores = eval_languages.evaluate(["ar"], queries_per_language=4)["ar"]
    assert scores["per language"].map > scores[eval_languages.BASELINE].map
