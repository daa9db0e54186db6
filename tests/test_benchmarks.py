"""The benchmark tools: the synthetic story generator, the query set, FTS5 and a whole quick run.

The scripts under ``benchmarks/`` import each other by module name (they run as
``python benchmarks/run_all.py``), so the folder goes on ``sys.path`` here.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from collections import Counter
from pathlib import Path

import pytest

from searchsvc.articles.model import Article, Place

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_tables  # noqa: E402
import query_set  # noqa: E402
import synthetic  # noqa: E402
from fts5 import Fts5Searcher, build_fts5  # noqa: E402

STORIES = [
    (
        "HARBOUR STRIKE ENDS AFTER TALKS",
        "Dock workers in the harbour returned to work on Monday after talks ended the strike.\n\n"
        "The union said wages would rise 4.5 pct over two years. Shipping resumed at noon.",
    ),
    (
        "GRAIN EXPORTS RISE ON STRONG DEMAND",
        "Grain exports rose 12 pct in March on strong demand from Asian buyers, traders said.\n\n"
        "Wheat shipments reached 1.2 mln tonnes. Maize exports were steady.",
    ),
    (
        "CENTRAL BANK HOLDS RATES",
        "The central bank held interest rates steady on Thursday, citing slower inflation.\n\n"
        "Analysts had expected the hold. The currency firmed after the decision.",
    ),
    (
        "",
        "Coffee prices fell sharply in London as rains eased worries about the harvest.\n\n"
        "Traders said the market could fall further next week.",
    ),
]


def invented_articles() -> list[Article]:
    harbour = Place("geo:2988507", "Paris", "FR", "France", "Paris")
    return [
        Article(
            id=f"story-{number}",
            title=title,
            body=body,
            dateline=None,
            dateline_place=harbour if number % 2 == 0 else None,
            places=(harbour,) if number % 2 == 0 else (),
            date=dt.date(2020, 1 + number, 10),
            date_source="metadata",
            source="Wire",
            url=None,
            origin="test",
            format="jsonl",
        )
        for number, (title, body) in enumerate(STORIES)
    ]


@pytest.fixture(scope="module")
def model() -> synthetic.StoryModel:
    return synthetic.learn_model(invented_articles())


def test_learned_model_keeps_lengths_and_word_pairs(model: synthetic.StoryModel) -> None:
    assert model.stories == 4
    assert sorted(model.paragraphs_per_story) == [2, 2, 2, 2]
    assert sorted(model.title_lengths) == [4, 5, 6]
    assert model.body.successors["workers"] == ["in"]
    assert "4.5" in model.numbers and "12" in model.numbers


def test_learning_from_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no articles"):
        synthetic.learn_model([])


def test_written_shards_hold_every_field_the_jsonl_reader_reads(
    model: synthetic.StoryModel, tmp_path: Path
) -> None:
    paths = synthetic.write_corpus(model, tmp_path, 25, seed=3, shard_size=10)
    assert [p.name for p in paths] == [
        "stories-00000.jsonl",
        "stories-00001.jsonl",
        "stories-00002.jsonl",
    ]
    records = [json.loads(line) for p in paths for line in p.read_text().splitlines()]
    assert len(records) == 25
    assert len({r["id"] for r in records}) == 25
    for record in records:
        assert set(record) == {"id", "title", "body", "date", "source", "place", "url"}
        assert record["body"].strip() and record["title"].strip()
        assert synthetic.FIRST_DAY <= dt.date.fromisoformat(record["date"]) <= synthetic.LAST_DAY
        assert record["source"] in dict(synthetic.SOURCES)
        assert record["place"]


def test_same_seed_same_stories_other_seed_other_stories(model: synthetic.StoryModel) -> None:
    first = list(synthetic.iter_stories(model, 5, seed=7))
    assert first == list(synthetic.iter_stories(model, 5, seed=7))
    assert first != list(synthetic.iter_stories(model, 5, seed=8))


def test_stories_use_only_learned_words_apart_from_fresh_numbers(
    model: synthetic.StoryModel,
) -> None:
    learned = set(model.body.successors)
    for story in synthetic.iter_stories(model, 20, seed=1):
        for word in story["body"].split():
            assert word in learned or any(c.isdigit() for c in word)


@pytest.mark.parametrize(
    ("text", "count"),
    [("10k", 10_000), ("100K", 100_000), ("1m", 1_000_000), ("250", 250), ("1.5k", 1_500)],
)
def test_parse_count(text: str, count: int) -> None:
    assert synthetic.parse_count(text) == count


def test_parse_count_rejects_words() -> None:
    with pytest.raises(ValueError, match="10k"):
        synthetic.parse_count("lots")


def test_committed_query_set_covers_every_kind() -> None:
    queries = query_set.load_query_set()
    assert {q.kind for q in queries} == set(query_set.KINDS)
    assert len({q.query for q in queries}) > 100
    dated = [q for q in queries if q.kind == "date"]
    assert all(q.date_from and q.date_to and q.date_from <= q.date_to for q in dated)


def test_committed_typos_are_one_edit_from_the_word_meant() -> None:
    typos = [q for q in query_set.load_query_set() if q.kind in ("typo", "typo_words")]
    assert {q.edit for q in typos} == set(query_set.EDITS)
    for typo in typos:
        typed, meant = typo.query.split(), typo.intended.split()
        changed = [(a, b) for a, b in zip(typed, meant, strict=True) if a != b]
        assert len(changed) == 1
        assert one_edit_apart(*changed[0], typo.edit)


def one_edit_apart(typed: str, meant: str, edit: str) -> bool:
    if edit == "deletion":
        return any(meant[:i] + meant[i + 1 :] == typed for i in range(len(meant)))
    if edit == "insertion":
        return any(typed[:i] + typed[i + 1 :] == meant for i in range(len(typed)))
    if edit == "substitution":
        return (
            len(typed) == len(meant) and sum(a != b for a, b in zip(typed, meant, strict=True)) == 1
        )
    swaps = (meant[:i] + meant[i + 1] + meant[i] + meant[i + 2 :] for i in range(len(meant) - 1))
    return typed in swaps


@pytest.mark.parametrize("edit", query_set.EDITS)
def test_typos_change_any_letter_the_first_included(edit: str) -> None:
    rng = random.Random(5)
    typos = [query_set.make_typo("tariffs", edit, rng) for _ in range(300)]
    made = [typo for typo in typos if typo is not None]
    assert made and all(one_edit_apart(typo, "tariffs", edit) for typo in made)
    assert any(typo[0] != "t" for typo in made)  # the first letter is not spared


def test_typo_queries_are_never_words_of_the_corpus() -> None:
    vocabulary = {"tariffs", "tariff", "trade", "grain", "rain", "gain", "grains"}
    frequent = ["tariffs", "trade", "grain"]
    queries = query_set.typo_queries(frequent, vocabulary, random.Random(1), count=3)
    assert [q.kind for q in queries] == ["typo"] * 3
    assert [q.edit for q in queries] == list(query_set.EDITS[:3])
    assert not {q.query for q in queries} & vocabulary
    assert {q.intended for q in queries} <= set(frequent)


def test_pairs_take_words_of_two_stories_never_found_together() -> None:
    stories = [
        query_set.Story(title.lower(), frozenset(f"{title} {body}".lower().split()))
        for title, body in STORIES
        if title
    ]
    df = Counter(word for story in stories for word in story.words) + Counter(
        {word: 5 for story in stories for word in story.words}
    )
    pairs = query_set.pair_queries(stories, df, {"on", "after"}, random.Random(2), count=6)
    assert len(pairs) == 6
    for pair in pairs:
        first, second = pair.query.split()
        assert not any(first in s.words and second in s.words for s in stories)


def test_questions_wrap_a_real_title_in_ten_to_twenty_words() -> None:
    title = "central bank holds rates steady as inflation slows"
    stories = [query_set.Story(title, frozenset(title.split()))]
    for question in query_set.question_queries(stories, random.Random(3), count=10):
        assert question.kind == "question"
        assert title in question.query
        assert 10 <= len(question.query.split()) <= 20


def test_loading_a_query_set_checks_kinds_and_queries(tmp_path: Path) -> None:
    path = tmp_path / "set.json"
    path.write_text(json.dumps([{"kind": "word", "query": "oil"}, {"kind": "fuzzy", "query": "x"}]))
    with pytest.raises(ValueError, match="entry 2 has kind 'fuzzy'"):
        query_set.load_query_set(path)
    path.write_text(json.dumps([{"kind": "word", "query": "  "}]))
    with pytest.raises(ValueError, match="entry 1 has no query"):
        query_set.load_query_set(path)
    path.write_text(
        json.dumps([{"kind": "place", "query": "oil", "place": ["geo:1"], "date_to": "2020-01-31"}])
    )
    (loaded,) = query_set.load_query_set(path)
    assert loaded.place == ("geo:1",) and loaded.has_filters()
    assert loaded.url_params() == [("q", "oil"), ("place", "geo:1"), ("date_to", "2020-01-31")]
    assert loaded.to_request().date_to == dt.date(2020, 1, 31)
    assert loaded.to_request(with_filters=False).place == ()


@pytest.mark.parametrize(
    ("query", "match"),
    [
        ("oil", '"oil"'),
        ("oil prices", '"oil" "prices"'),
        ('"trade deficit"', '"trade deficit"'),
        ("coffee OR cocoa", '"coffee" OR "cocoa"'),
        ("OR tin OR", '"tin"'),
        ('near AND "u.s." NOT', '"near" "and" "u s" "not"'),
    ],
)
def test_fts5_match_quotes_every_word(query: str, match: str) -> None:
    assert query_set.fts5_match(query) == match


def test_fts5_baseline_counts_facets_over_the_whole_result_set(tmp_path: Path) -> None:
    outcome = build_fts5(invented_articles(), tmp_path)
    assert outcome["article_count"] == 4
    searcher = Fts5Searcher(tmp_path)
    try:
        found = searcher.search(query_set.BenchQuery("word", "exports"))
        assert found["total"] == 1
        (hit,) = found["hits"]
        assert hit[0] == "story-1" and "<mark>" in hit[2]
        assert found["facets"]["month"] == [("2020-02", "2020-02", 1)]
        filtered = searcher.search(
            query_set.BenchQuery("place", "strike OR inflation", place=("geo:2988507",))
        )
        assert filtered["total"] == 2
        assert filtered["facets"]["place"] == [("geo:2988507", "Paris", 2)]
        assert searcher.search(query_set.BenchQuery("word", "!!!"))["total"] == 0
    finally:
        searcher.close()


def test_tables_mark_missed_targets() -> None:
    results = {
        "cold_start": [2.5, 1.5, 1.9],
        "build": [
            {"engine": "searchsvc", "rate": 3000.0},
            {"engine": "whoosh", "rate": 1000.0},
        ],
    }
    checks = {name: ok for name, _, ok in bench_tables.targets(results)}
    assert checks["cold start < 2 s to first answer"] is True
    assert checks["build ≥ 2\u00d7 plain Whoosh"] is True
    assert "| a | b |" in bench_tables.table(["a", "b"], [[1, "x"]])


def test_kind_and_http_tables_hold_every_kind_and_pass_against_the_targets() -> None:
    def spread(p99: float) -> dict[str, float]:
        return {"p50": 1.0, "p99": p99, "max": p99 + 1, "count": 4}

    result = {
        "kinds": {
            "typo": {
                "first": spread(40.0),
                "warm": spread(2.0),
                "first_cpu": spread(30.0),
                "warm_cpu": spread(1.5),
            },
            "word": {"first": spread(9.0), "warm": spread(2.0)},
        }
    }
    kinds = bench_tables.kind_latency_section(result).splitlines()
    assert kinds[2].startswith("| typo | 4 |") and kinds[2].endswith("| **no** |")
    assert "| 41.0 | 30.0 |" in kinds[2] and "| 3.00 | 1.50 |" in kinds[2]  # max, CPU p99
    assert kinds[3].startswith("| word | 4 |") and kinds[3].endswith("| yes |")
    row = {"pass": "first", "clients": 16, "count": 100, "qps": 350.0, "p50": 20.0,
           "p99": 90.0, "max": 120.0, "errors": 0, "server_cpu": 1.5, "seconds": 2.0}  # fmt: skip
    http = bench_tables.mix_http_section([row, {**row, "pass": "repeats", "errors": 1}])
    assert http.splitlines()[2].endswith("| 1.50 | 30.0 | yes |")  # 1.5 cores x 2 s / 100
    assert http.splitlines()[3].endswith("| **no** |")
    by_kind = {"typo": spread(80.0), "word": spread(20.0)}
    kinds_http = bench_tables.mix_kinds_section(
        [
            {**row, "by_label": by_kind},
            {**row, "pass": "repeats", "by_label": {"word": spread(5.0)}},
        ]
    ).splitlines()
    assert kinds_http[0].startswith("| query kind | first requests | first p50 ms |")
    none = bench_tables.NONE
    assert kinds_http[2] == f"| typo | 4 | 1.00 | 80.0 | 81.0 | {none} | {none} | {none} | {none} |"
    assert kinds_http[3] == "| word | 4 | 1.00 | 20.0 | 21.0 | 4 | 1.00 | 5.00 | 6.00 |"


def test_engine_option_keeps_whoosh_the_default_and_checks_cluster_counts() -> None:
    import run_all

    plain = run_all.parse_args([])
    assert (plain.engine, plain.sizes) == ("whoosh", "10k,100k")
    assert run_all.parse_args(["--quick"]).sizes == "150"
    cluster = run_all.parse_args(["--engine", "opensearch", "--nodes", "3", "--shards", "1,2,6"])
    assert (cluster.engine, cluster.sizes) == ("opensearch", "100k")
    assert (cluster.nodes, cluster.shards) == ([3], [1, 2, 6])
    assert run_all.parse_args(["--engine", "opensearch", "--sizes", ""]).sizes == ""
    for wrong in (["--nodes", "0"], ["--shards", "two"], ["--engine", "solr"]):
        with pytest.raises(SystemExit):
            run_all.parse_args(wrong)


def _cluster_row(nodes: int | None, shards: int | None, rate: float, p50: float) -> dict:
    """One configuration's results as ``bench_cluster.measure_corpus`` returns them."""
    row = {
        "corpus": "wire",
        "engine": "whoosh" if nodes is None else "opensearch",
        "nodes": nodes,
        "shards": shards,
        "build": {"article_count": 600, "seconds": 600 / rate, "rate": rate,
                  "client_cpu_seconds": 2.0, "index_bytes": 3 * 2**20},
        "query": {"cold": {"p50": 2 * p50, "p99": 9 * p50},
                  "warm": {"p50": p50, "p95": 3 * p50, "p99": 4 * p50, "qps": 1000 / p50},
                  "error_count": 0, "totals": [5, 7, 0]},
        "http": [{"clients": 4, "count": 400, "qps": 2000 / p50, "p50": 2 * p50,
                  "p99": 5 * p50, "errors": 0, "server_cpu": 0.5}],
    }  # fmt: skip
    if nodes is not None:
        row["query"]["totals"] = [5, 7, 1]
        row["costs"] = {
            "shards": [{"shard": n, "node": f"node-{n % nodes + 1}", "docs": 600 // shards,
                        "store_bytes": 600 // shards * 4000, "segments": 2}
                       for n in range(shards)],
            "nodes": [{"node": f"node-{n + 1}", "heap_used": 200 * 2**20,
                       "heap_max": 512 * 2**20, "rss": None} for n in range(nodes)],
        }  # fmt: skip
    return row


def test_cluster_tables_compare_with_whoosh_and_give_per_shard_costs() -> None:
    import bench_cluster

    rows = [
        _cluster_row(None, None, rate=300.0, p50=2.0),
        _cluster_row(1, 1, rate=150.0, p50=8.0),
        _cluster_row(1, 3, rate=200.0, p50=10.0),
    ]
    page = bench_cluster.render(rows)
    build = bench_cluster.build_table(rows).splitlines()
    assert build[3].startswith("| wire | OpenSearch 1 node, 1 shard | 600 |")
    assert build[3].endswith("| 0.50\u00d7 |") and build[2].endswith("| 1.00\u00d7 |")
    query = bench_cluster.query_table(rows).splitlines()
    assert query[4].endswith("| 5.00\u00d7 | 2/3 |")  # 10 ms against 2 ms; one total differs
    http = bench_cluster.http_table(rows).splitlines()
    assert http[3].endswith("| 0.25\u00d7 | 4.00\u00d7 |")  # a quarter the q/s, 4x the p50
    per_shard = bench_cluster.per_shard_table(rows).splitlines()
    # 200 articles of 4,000 bytes a shard, two segments; 10 ms against 8 ms on one shard
    assert per_shard[3].endswith("| 200 | 0.76 | 4,000 | 2.00 | 10.0 | 1.25\u00d7 |")
    assert len(bench_cluster.shard_table(rows).splitlines()) == 2 + 1 + 3
    assert "| wire | OpenSearch 1 node, 3 shards | node-1 | 200 | 512 | \u2013 |" in page


@pytest.fixture
def synthetic_index(model: synthetic.StoryModel, tmp_path: Path) -> Path:
    """An index of 40 synthetic stories in ``tmp_path / "index"``."""
    from searchsvc.config import Settings
    from searchsvc.index import build_index

    paths = synthetic.write_corpus(model, tmp_path / "corpus", 40, seed=4, shard_size=40)
    build_index(paths, Settings(index_dir=tmp_path / "index"), show_progress=False)
    return tmp_path / "index"


@pytest.mark.slow
def test_search_benchmark_prints_kinds_in_process_and_over_http(
    synthetic_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import bench_search

    mix = tmp_path / "mix.json"
    query_set.save_query_set(
        [
            query_set.BenchQuery("word", "harbour"),
            query_set.BenchQuery("typo", "hrabour", intended="harbour", edit="transposition"),
            query_set.BenchQuery(
                "question", "why did grain exports rise on strong demand in march"
            ),
        ],
        mix,
    )
    args = ["--index", str(synthetic_index), "--query-set", str(mix), "--rounds", "2"]
    assert bench_search.main([*args, "--http", "--clients", "2", "--http-seconds", "1"]) == 0
    printed = capsys.readouterr().out
    for kind in ("word", "typo", "question"):
        assert f"\n| {kind} | 1 |" in printed
    first, repeats = [line for line in printed.splitlines() if line.startswith("| first |")
                      or line.startswith("| repeats |")]  # fmt: skip
    assert first.split(" | ")[2] == "3"  # every query once
    assert first.split(" | ")[7] == repeats.split(" | ")[7] == "0"  # errors
    assert "\n| question | 1 |" in printed.split("HTTP by kind of query:")[1]


@pytest.mark.slow
def test_quick_run_builds_queries_serves_and_writes_the_page(
    model: synthetic.StoryModel, tmp_path: Path
) -> None:
    import run_all

    corpus = tmp_path / "corpus"
    synthetic.write_corpus(model, corpus, 60, seed=2, shard_size=20)
    out = tmp_path / "docs" / "benchmarks.md"
    out.parent.mkdir()
    out.write_text("old tables\n<!-- notes -->\nHand-written analysis.\n")
    status = run_all.main(
        [
            "--quick",
            "--corpus", str(corpus),
            "--sizes", "30",
            "--work", str(tmp_path / "work"),
            "--out", str(out),
            "--plot", str(out.parent / "scale.png"),
            "--json", str(tmp_path / "results.json"),
        ]
    )  # fmt: skip
    assert status == 0
    page = out.read_text()
    for heading in ("## Build", "## Query, in process", "## Query over HTTP", "## Cold start",
                    "## Scale", "## Targets"):  # fmt: skip
        assert heading in page
    assert page.rstrip().endswith("Hand-written analysis.")
    assert "old tables" not in page
    assert (out.parent / "scale.png").stat().st_size > 1000
    results = json.loads((tmp_path / "results.json").read_text())
    assert [b["article_count"] for b in results["build"]] == [60, 60, 60]
    assert results["query"]["searchsvc"]["error_count"] == 0
    assert all(row["errors"] == 0 for row in results["http"])
    assert results["scale"][0]["articles"] == 30
    assert results["scale"][0]["fts5_index_bytes"] > 0
    assert "FTS5 MiB" in page.split("## Scale")[1]
    assert results["scale"][0]["first_by_kind"]
    assert "the first time after opening the index" in page


def test_first_pass_table_has_each_kind_at_each_size() -> None:
    import scale
    from bench_tables import NONE

    def spread(p50: float, p99: float) -> dict[str, float]:
        return {"p50": p50, "p99": p99}

    rows = [
        {"size": "10k", "cold": spread(2.5, 9.5), "first_by_kind": {"word": spread(1.5, 3.5)}},
        {
            "size": "1m",
            "cold": spread(20.5, 90.5),
            "first_by_kind": {"word": spread(11.5, 31.5), "phrase": spread(12.5, 32.5)},
        },
    ]
    lines = scale.first_pass_section(rows).splitlines()
    assert lines[0] == "| query kind | 10k p50 ms | 10k p99 ms | 1m p50 ms | 1m p99 ms |"
    cells = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in lines[2:]}
    assert [c.strip() for c in cells["phrase"]] == [NONE, NONE, "12.5", "32.5"]
    assert [c.strip() for c in cells["all"]] == ["2.50", "9.50", "20.5", "90.5"]
    assert scale.first_pass_section([{"size": "10k", "cold": spread(1, 2)}]) == ""


def test_kept_builds_are_measured_again_only_by_the_code_that_built_them(tmp_path: Path) -> None:
    """``--keep-builds`` reuses an index for search-side reruns; an index the build code
    of another commit made is built again, not measured as if this code had made it."""
    import scale
    from measuring import ChildRun

    corpus, index_dir = tmp_path / "synthetic-10", tmp_path / "index-synthetic-10"
    corpus.mkdir()
    index_dir.mkdir()
    scale._completion_marker(corpus).write_text(json.dumps({"count": 10, "seed": 1}))
    built = ChildRun({"article_count": 10, "index_bytes": 4096}, 1.5, 1 << 20, 2.5)
    scale.keep_build(index_dir, corpus, built)
    kept = scale.kept_build(index_dir, corpus)
    assert kept is not None and kept.result["article_count"] == 10
    assert kept.wall_seconds == built.wall_seconds

    record_path = scale._build_record(index_dir)
    record = json.loads(record_path.read_text())
    record_path.write_text(json.dumps({**record, "code": "another commit's build code"}))
    assert scale.kept_build(index_dir, corpus) is None
    del record["code"]  # kept before the code was recorded
    record_path.write_text(json.dumps(record))
    assert scale.kept_build(index_dir, corpus) is None


def test_build_code_changes_with_what_builds_the_index_not_with_the_search_side(
    tmp_path: Path,
) -> None:
    import scale

    files = {
        "searchsvc/index/writer.py": "WRITE = 1\n",
        "searchsvc/analysis.py": "STEM = 1\n",
        "searchsvc/search/ranking.py": "K1 = 1.2\n",
        "searchsvc/web/app.py": "PAGE = 10\n",
        "benchmarks/fts5.py": "TOKENIZE = 'porter'\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    first = scale.build_code(tmp_path)
    (tmp_path / "searchsvc/search/ranking.py").write_text("K1 = 0.9\n")
    (tmp_path / "searchsvc/web/app.py").write_text("PAGE = 20\n")
    assert scale.build_code(tmp_path) == first
    for name in ["searchsvc/index/writer.py", "searchsvc/analysis.py", "benchmarks/fts5.py"]:
        before = scale.build_code(tmp_path)
        (tmp_path / name).write_text(files[name] + "# changed\n")
        assert scale.build_code(tmp_path) != before, name


def test_memory_probe_reports_every_phase_and_component(tmp_path_factory) -> None:
    """bench_memory's probe over a small index, in this interpreter, and its tables."""
    import bench_memory
    from test_search_corpus import corpus_settings

    run = bench_memory.probe(corpus_settings(tmp_path_factory).index_dir, rounds=2)
    assert set(run["phases"]) == set(bench_memory.PHASES)
    assert all(memory["rss"] >= memory["pss"] > 0 for memory in run["phases"].values())
    assert set(run["components"]) == set(bench_memory.COMPONENTS)
    cache = run["components"]["query cache"]
    assert cache["entries"] > 0 and 0 < cache["counted"] <= cache["budget"]
    assert run["components"]["columns"]["heap"] > 0
    report = bench_memory.report({"tiny": {"a": {"probe": run}, "b": {"probe": run}}}, ("a", "b"))
    for name in (*bench_memory.PHASES, *bench_memory.COMPONENTS, "other anonymous"):
        assert f"| tiny | {name} |" in report


@pytest.mark.slow
def test_first_pass_bench_changes_the_ranking_of_this_tree_only(
    synthetic_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import bench_first_pass

    queries = tmp_path / "queries.json"
    queries.write_text(json.dumps([["word", "harbour"], ["words", "grain exports"]]))
    asked = bench_first_pass.Asked(synthetic_index, queries, {})
    changed = asked._replace(ranking=bench_first_pass.ranking_change("feedback_docs=0"))
    for opened, feedback_docs in ((asked, 10), (changed, 0)):
        namespace: dict = {}
        exec(opened.code(bench_first_pass.OPEN_ENGINE), namespace)
        with namespace["engine"] as engine:
            assert engine.ranking.feedback_docs == feedback_docs
            assert engine.ranking.feedback_terms == 10  # the other fields keep their defaults

    args = ["--index", str(synthetic_index), "--baseline", "HEAD", "--limit", "4"]
    assert bench_first_pass.main([*args, "--ranking", "feedback_weight=0.3"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in rows[-3:]] == ["| HEAD", "| this tree", "| ratio"]


@pytest.mark.parametrize("given", ["feedback_docs", "feedback=3", "k1=high", "feedback_docs=1.5"])
def test_first_pass_bench_refuses_a_ranking_it_cannot_apply(given: str) -> None:
    import argparse

    import bench_first_pass

    with pytest.raises(argparse.ArgumentTypeError):
        bench_first_pass.ranking_change(given)
