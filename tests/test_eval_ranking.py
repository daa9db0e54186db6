"""The ranking evaluation: collection readers, metrics, and the baselines on tiny collections."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str) -> ModuleType:
    """Import a benchmark script by path: ``benchmarks/`` is a folder of scripts, not a package."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


relevance = _load("relevance")
eval_ranking = _load("eval_ranking")


CRAN_DOCS = """\
.I 1
.T
lift on a wing in a slipstream .
.A
brenckman,m.
.B
j. ae. scs. 25, 1958, 324.
.W
lift on a wing in a slipstream .
  the spanwise distribution of lift was measured .
.I 2
.T
boundary layer transition .
.A
first,a.
.A
second,b.
.B
report 7
.W
boundary layer transition on a cone .
.W
heat transfer ahead of transition .
.I 3
.T
.A
.B
.W
"""

CRAN_QUERIES = """\
.I 001
.W
what is the lift of a wing
in a slipstream .
.I 004
.W
where does boundary layer transition happen .
.I 009
.W
what about rockets .
"""

CRAN_QRELS = "1 1 2 \n1 2 -1\n2 2 1\n2 1 4\n3 3 -1"

CISI_DOCS = """\
.I 1
.T
Dewey Decimal Classification
.A
Comaromi, J.P.
.W
   A history of the Dewey Decimal Classification.
.X
1\t5\t1
.I 2
.T\x20
Use Made of Technical Libraries
.A\x20
Slater, M.
.W
  How engineers use technical libraries.
.X
2\t5\t2
"""

CISI_QUERIES = """\
.I 1
.W
What is the history of classification schemes?
.I 2
.T
Directions in Library Networking
.A
Avram, H.D.
.W
    How do technical libraries serve engineers?
.B
(JASIS, Vol. 31, No. 6, November 1980, pp. 438-444)

.I 3
.W
Nobody judged this one.
"""

CISI_QRELS = "     1      1\t0\t0.000000\n     2      2\t0\t0.000000\n"


@pytest.fixture
def cranfield_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "cranfield"
    folder.mkdir()
    (folder / "cran.all.1400").write_text(CRAN_DOCS)
    (folder / "cran.qry").write_text(CRAN_QUERIES)
    (folder / "cranqrel").write_text(CRAN_QRELS)
    return folder


@pytest.fixture
def cisi_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "cisi"
    folder.mkdir()
    (folder / "CISI.ALL").write_text(CISI_DOCS)
    (folder / "CISI.QRY").write_text(CISI_QUERIES)
    (folder / "CISI.REL").write_text(CISI_QRELS)
    return folder


# --- readers -------------------------------------------------------------------------------


def test_tagged_records_join_repeated_tags_and_strip_text() -> None:
    records = list(relevance.read_tagged_records(CRAN_DOCS))
    assert [r["I"] for r in records] == ["1", "2", "3"]
    assert records[1]["A"] == "first,a.\n\nsecond,b."
    assert (
        records[1]["W"]
        == "boundary layer transition on a cone .\n\nheat transfer ahead of transition ."
    )
    assert records[2] == {"I": "3", "T": "", "A": "", "B": "", "W": ""}


def test_cranfield_queries_are_numbered_by_position_not_by_their_dot_i(
    cranfield_dir: Path,
) -> None:
    collection = relevance.read_cranfield(cranfield_dir)
    assert [q.id for q in collection.queries] == ["1", "2", "3"]
    assert collection.queries[0].text == "what is the lift of a wing\nin a slipstream ."
    assert collection.documents[0].title == "lift on a wing in a slipstream ."
    assert collection.documents[0].body.startswith("lift on a wing in a slipstream .\n  the")


def test_cranfield_grade_minus_one_is_not_relevant_and_grades_become_gains(
    cranfield_dir: Path,
) -> None:
    collection = relevance.read_cranfield(cranfield_dir)
    assert collection.qrels == {"1": {"1": 3}, "2": {"2": 4, "1": 1}}
    assert [q.id for q in collection.judged_queries()] == ["1", "2"]


def test_cranfield_relevant_grades_can_be_narrowed(cranfield_dir: Path) -> None:
    collection = relevance.read_cranfield(cranfield_dir, relevant_grades=(1, 2, 3))
    assert collection.qrels == {"1": {"1": 3}, "2": {"2": 4}}


def test_cisi_reads_only_the_w_field_of_queries_and_skips_unjudged_ones(cisi_dir: Path) -> None:
    collection = relevance.read_cisi(cisi_dir)
    assert [d.title for d in collection.documents] == [
        "Dewey Decimal Classification",
        "Use Made of Technical Libraries",
    ]
    assert collection.queries[1].text == "How do technical libraries serve engineers?"
    assert collection.qrels == {"1": {"1": 1}, "2": {"2": 1}}
    assert [q.id for q in collection.judged_queries()] == ["1", "2"]


def test_unknown_collection_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="known collections: cisi, cranfield"):
        relevance.read_collection("trec", tmp_path)


# --- metrics -------------------------------------------------------------------------------


def test_average_precision_counts_unretrieved_relevant_documents_as_misses() -> None:
    # Relevant at ranks 1 and 3, a third relevant document never retrieved.
    ap = relevance.average_precision(["a", "x", "b", "y"], {"a", "b", "c"})
    assert ap == pytest.approx((1 / 1 + 2 / 3) / 3)


def test_average_precision_of_nothing_relevant_or_nothing_found_is_zero() -> None:
    assert relevance.average_precision(["a"], set()) == 0.0
    assert relevance.average_precision([], {"a"}) == 0.0


def test_precision_at_k_counts_empty_places_against_the_system() -> None:
    assert relevance.precision_at(["a", "x", "b"], {"a", "b"}, 10) == pytest.approx(0.2)
    assert relevance.precision_at(["a", "b"], {"a", "b"}, 2) == 1.0


def test_ndcg_is_one_for_the_ideal_order_and_less_for_a_swap() -> None:
    gains = {"a": 3, "b": 1}
    assert relevance.ndcg_at(["a", "b", "x"], gains, 10) == pytest.approx(1.0)
    swapped = relevance.ndcg_at(["b", "a"], gains, 10)
    ideal = 3 + 1 / relevance.math.log2(3)
    assert swapped == pytest.approx((1 + 3 / relevance.math.log2(3)) / ideal)


def test_ndcg_cuts_at_k() -> None:
    assert relevance.ndcg_at(["x", "a"], {"a": 1}, 1) == 0.0
    assert relevance.ndcg_at([], {}, 10) == 0.0


def test_score_run_counts_unanswered_judged_queries_as_zero(cranfield_dir: Path) -> None:
    collection = relevance.read_cranfield(cranfield_dir)
    scores = relevance.score_run({"1": ["1"]}, collection)
    assert scores.queries == 2
    assert scores.map == pytest.approx(0.5)
    assert scores.p10 == pytest.approx(0.05)


def test_score_run_binary_or_graded_ndcg(cranfield_dir: Path) -> None:
    collection = relevance.read_cranfield(cranfield_dir)
    # Query 2: doc 1 (grade 4, gain 1) above doc 2 (grade 1, gain 4).
    rankings = {"1": ["1"], "2": ["1", "2"]}
    assert relevance.score_run(rankings, collection).ndcg10 == pytest.approx(1.0)
    graded = relevance.score_run(rankings, collection, graded=True).ndcg10
    second = (1 + 4 / relevance.math.log2(3)) / (4 + 1 / relevance.math.log2(3))
    assert graded == pytest.approx((1.0 + second) / 2)


def test_score_run_keeps_each_query_average_precision_in_order(cranfield_dir: Path) -> None:
    collection = relevance.read_cranfield(cranfield_dir)
    scores = relevance.score_run({"2": ["2", "1"]}, collection)
    assert scores.average_precisions == (0.0, 1.0)


def test_randomization_p_separates_a_consistent_difference_from_noise() -> None:
    steady = relevance.randomization_p([0.6] * 12, [0.4] * 12)
    assert steady == pytest.approx(2 / 2**12, abs=0.002)  # only the all-same-sign flips
    assert relevance.randomization_p([0.5, 0.1, 0.3], [0.5, 0.1, 0.3]) == 1.0
    mixed = relevance.randomization_p([0.9, 0.1, 0.6, 0.2], [0.1, 0.9, 0.2, 0.6])
    assert mixed == 1.0  # the differences cancel: as large as observed every time


def test_compare_with_counts_wins_and_losses() -> None:
    text = eval_ranking.compare_with([0.5, 0.2, 0.3, 0.3], [0.4, 0.3, 0.3, 0.1])
    assert text.startswith("2+/1- p=")


# --- baselines on a tiny collection --------------------------------------------------------


def test_fts5_match_expression_quotes_every_word_so_query_syntax_is_inert() -> None:
    expression = eval_ranking.fts5_match_expression('Titles? NOT "x-ray" (AND) near_by')
    assert expression == '"titles" OR "not" OR "x" OR "ray" OR "and" OR "near" OR "by"'
    assert eval_ranking.fts5_match_expression("?? ...") == ""


@pytest.mark.parametrize("system", sorted(eval_ranking.baseline_systems()))
def test_baselines_find_the_judged_documents(system: str, cisi_dir: Path) -> None:
    collection = relevance.read_cisi(cisi_dir)
    systems = {system: eval_ranking.baseline_systems()[system]}
    [(name, scores, run)] = eval_ranking.evaluate(collection, systems)
    assert name == system
    assert run.rankings["1"][0] == "1"
    assert run.rankings["2"][0] == "2"
    assert "3" not in run.rankings  # unjudged queries are not run at all
    assert (scores.map, scores.queries) == (1.0, 2)


def test_table_lists_every_system_with_its_scores(cisi_dir: Path) -> None:
    collection = relevance.read_cisi(cisi_dir)
    rows = eval_ranking.evaluate(collection, eval_ranking.baseline_systems())
    table = eval_ranking.format_table(collection, rows).splitlines()
    assert table[0] == "cisi: 2 documents, 2 judged queries (of 3)"
    assert table[1].split()[:4] == ["system", "MAP", "nDCG@10", "P@10"]
    assert [line.split("  ")[0].strip() for line in table[2:]] == list(
        eval_ranking.baseline_systems()
    )
    assert all(" 1.0000 " in line for line in table[2:])
    assert table[3].endswith("0+/0- p=1.000")  # rows after the first compare with it


@pytest.mark.parametrize("mode", ["search", "any"])
def test_searchsvc_rows_index_the_documents_as_articles_and_rank_them(
    mode: str, cisi_dir: Path
) -> None:
    collection = relevance.read_cisi(cisi_dir)
    system = eval_ranking.searchsvc_system({"mode": mode})
    [(_, scores, run)] = eval_ranking.evaluate(collection, {"searchsvc": system})
    # Query 1 has no article with all its words: the articles with some of them are listed.
    assert run.rankings == {"1": ["1"], "2": ["2"]}
    assert (scores.map, run.rejected, run.disagreements) == (1.0, 0, 0)


def test_searchsvc_counts_refused_queries_as_zero(cisi_dir: Path) -> None:
    collection = relevance.read_cisi(cisi_dir)
    system = eval_ranking.searchsvc_system({"max_query_terms": "2"})
    [(_, scores, run)] = eval_ranking.evaluate(collection, {"searchsvc": system})
    assert run.rejected == 2
    assert run.rankings == {"1": [], "2": []}
    assert scores.map == 0.0


def test_variants_split_into_ranking_config_and_settings() -> None:
    variant = eval_ranking.parse_variant("k1=1.6, title_weight=3,max_query_terms=80")
    assert variant == {"k1": "1.6", "title_weight": "3", "max_query_terms": "80"}
    ranking, overrides = eval_ranking.split_variant(variant)
    assert (ranking.k1, ranking.title_weight) == (1.6, 3.0)
    assert overrides == {"max_query_terms": "80"}
    with pytest.raises(eval_ranking.argparse.ArgumentTypeError, match="NAME=VALUE"):
        eval_ranking.parse_variant("k1")
    with pytest.raises(ValueError, match="modes: search, any"):
        eval_ranking.searchsvc_system({"mode": "fast"})


# --- the real collections ------------------------------------------------------------------


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "documents", "queries", "judged", "pairs"),
    [("cranfield", 1400, 225, 225, 1612), ("cisi", 1460, 112, 76, 3114)],
)
def test_real_collections_have_their_documented_counts(
    corpora_dir: Path, name: str, documents: int, queries: int, judged: int, pairs: int
) -> None:
    collection = relevance.read_collection(name, corpora_dir)
    assert len(collection.documents) == documents
    assert len({doc.id for doc in collection.documents}) == documents
    assert len(collection.queries) == queries
    assert all(query.text for query in collection.queries)
    assert len(collection.judged_queries()) == judged
    assert sum(len(docs) for docs in collection.qrels.values()) == pairs
    known = {doc.id for doc in collection.documents}
    assert all(doc_id in known for docs in collection.qrels.values() for doc_id in docs)
