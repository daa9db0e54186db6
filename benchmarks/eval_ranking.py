"""Ranking quality on standard test collections: searchsvc against SQLite FTS5 and plain Whoosh.

Every system indexes the same documents (title and abstract) and answers the same natural-
language queries as written, in the same run. The table shows MAP (over the top 1000),
nDCG@10 and P@10 averaged over the judged queries (Cranfield 225, CISI 76 of 112, NPL 93,
MED 30, LISA 35), and how each row's per-query average precision compares with the first
row's (FTS5): queries better and worse, and the p-value of a paired randomization test.
Relevant means Cranfield grades 1-4 and every judgement of the others; nDCG uses binary
gains unless ``--graded``. A query a system refuses or answers with nothing scores 0 and is
counted. With more than one collection a summary follows: per system each collection's
MAP, nDCG@10 and P@10, their mean (each collection weighs the same), and the mean against
FTS5's with a paired randomization test over the pooled queries (``format_summary``).

Rows: ``searchsvc`` is the search as users get it (every article with any of the words,
those with all of them first); ``mode=any`` ranks every article with any word by score
alone, as the baselines do. ``--variant`` adds rows with other ``RankingConfig`` (or
``Settings``) values, ``--ablation`` a fixed series of them.

    python benchmarks/eval_ranking.py --collection all
    python benchmarks/eval_ranking.py --collection cisi --variant k1=1.2,mode=any --ablation
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from relevance import (
    COLLECTION_READERS,
    Collection,
    Scores,
    pooled_randomization_p,
    randomization_p,
    read_collection,
    score_run,
    write_documents_file,
)
from whoosh import index
from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import ID, TEXT, Schema
from whoosh.query import Or, Term

from searchsvc.config import Settings
from searchsvc.index.build import build_generation
from searchsvc.search import QueryError, RankingConfig, SearchEngine, SearchRequest

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = REPO_ROOT.parent / "shared" / "corpora"
DEPTH = 1000

_FTS_TOKEN = re.compile(r"[^\W_]+")


@dataclass
class Run:
    """One system's answers to a collection's judged queries, and what they cost."""

    rankings: dict[str, list[str]] = field(default_factory=dict)
    index_seconds: float = 0.0
    query_seconds: float = 0.0
    empty: int = 0
    rejected: int = 0
    #: searchsvc only: queries whose first page differs from the deeper ranking's start.
    disagreements: int = 0

    def answer(self, query_id: str, ranking: list[str]) -> None:
        self.rankings[query_id] = ranking
        if not ranking:
            self.empty += 1


System = Callable[[Collection, Path], Run]


# --- SQLite FTS5 ---------------------------------------------------------------------------


def fts5_system(title_weight: float = 1.0) -> System:
    """FTS5 with the Porter tokenizer; the query's words OR-ed, ranked by ``bm25()``."""

    def run(collection: Collection, workdir: Path) -> Run:
        result = Run()
        started = time.perf_counter()
        db = sqlite3.connect(":memory:")
        db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5("
            "doc_id UNINDEXED, title, body, tokenize='porter unicode61')"
        )
        db.executemany(
            "INSERT INTO docs (doc_id, title, body) VALUES (?, ?, ?)",
            [(doc.id, doc.title, doc.body) for doc in collection.documents],
        )
        db.commit()
        result.index_seconds = time.perf_counter() - started
        sql = (
            "SELECT doc_id FROM docs WHERE docs MATCH ? "
            f"ORDER BY bm25(docs, 0.0, {title_weight!r}, 1.0) LIMIT {DEPTH}"
        )
        started = time.perf_counter()
        for query in collection.judged_queries():
            match = fts5_match_expression(query.text)
            rows = db.execute(sql, (match,)).fetchall() if match else []
            result.answer(query.id, [row[0] for row in rows])
        result.query_seconds = time.perf_counter() - started
        db.close()
        return result

    return run


def fts5_match_expression(text: str) -> str:
    """Each word quoted (so ``?``, ``-`` or ``NOT`` are never syntax), all of them OR-ed."""
    return " OR ".join(f'"{word}"' for word in _FTS_TOKEN.findall(text.lower()))


# --- plain Whoosh --------------------------------------------------------------------------


def whoosh_system(collection: Collection, workdir: Path) -> Run:
    """Whoosh out of the box: StemmingAnalyzer on title and body, BM25F, the words OR-ed."""
    analyzer = StemmingAnalyzer()
    schema = Schema(id=ID(stored=True, unique=True), title=TEXT(analyzer), body=TEXT(analyzer))
    result = Run()
    started = time.perf_counter()
    folder = workdir / "whoosh"
    folder.mkdir()
    ix = index.create_in(str(folder), schema)
    with ix.writer() as writer:
        for doc in collection.documents:
            writer.add_document(id=doc.id, title=doc.title, body=doc.body)
    result.index_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with ix.searcher() as searcher:
        for query in collection.judged_queries():
            words = [token.text for token in analyzer(query.text)]
            tree = Or([Or([Term("title", word), Term("body", word)]) for word in words])
            hits = searcher.search(tree, limit=DEPTH) if words else []
            result.answer(query.id, [hit["id"] for hit in hits])
    result.query_seconds = time.perf_counter() - started
    ix.close()
    return result


# --- searchsvc ----------------------------------------------------------------------------

#: Limits raised so that whole natural-language queries and a 1000-deep ranking get through.
EVALUATION_SETTINGS = {
    "max_per_page": DEPTH,
    "max_page": 1,
    "max_query_terms": 1000,
    "max_query_length": 10_000,
    "build_procs": 1,
}
#: How a searchsvc row asks: ``search`` is what a user gets (every article with any of
#: the words, those with all of them first); ``any`` ranks every article with any of the
#: words by score alone, as the FTS5 and Whoosh rows do.
MODES = ("search", "any")


def searchsvc_system(variant: dict[str, str] | None = None) -> System:
    """Index the documents as articles with ``searchsvc.index``, ask ``SearchEngine``.

    ``variant`` holds ``mode`` (see :data:`MODES`), ``RankingConfig`` fields and further
    ``Settings`` fields. The index does not depend on them, so it is built once per
    collection (in the shared work folder) and reused by every searchsvc row.
    """
    variant = dict(variant or {})
    mode = variant.pop("mode", "search")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; modes: {', '.join(MODES)}")

    def run(collection: Collection, workdir: Path) -> Run:
        ranking, overrides = split_variant(variant)
        settings = Settings(index_dir=workdir / "searchsvc-index").replace(
            **{**EVALUATION_SETTINGS, **overrides}
        )
        result = Run(index_seconds=build_searchsvc_index(collection, settings, workdir))
        engine = SearchEngine(settings, ranking=ranking)
        try:
            started = time.perf_counter()
            for query in collection.judged_queries():
                try:
                    ranking_ids = ask(engine, query.text, mode, result)
                except QueryError:
                    result.rejected += 1
                    ranking_ids = []
                result.answer(query.id, ranking_ids)
            result.query_seconds = time.perf_counter() - started
        finally:
            engine.close()
        return result

    return run


def ask(engine: SearchEngine, text: str, mode: str, run: Run) -> list[str]:
    """The ids ``engine`` ranks for ``text``, 1000 deep.

    ``search`` takes the first page from ``engine.search`` (what a user sees) and the rest
    of the same result list from ``ranked_ids``, which ranks it the same way without
    highlighting 1000 snippets; a first page that disagrees is counted.
    """
    if mode == "any":
        return engine.ranked_ids(text, DEPTH, any_word=True)
    found = engine.search(SearchRequest(query=text, per_page=10))
    page = [hit.id for hit in found.hits]
    ranked = engine.ranked_ids(text, DEPTH) if page else []
    if ranked[: len(page)] != page:
        run.disagreements += 1
    return ranked


def build_searchsvc_index(collection: Collection, settings: Settings, workdir: Path) -> float:
    """Build the collection's index unless an earlier row did; the build's seconds.

    ``build_generation`` with our own file reader, so that the documents become articles
    as they are (no dateline or place guessing) while the build itself is the real one.
    """
    timing = workdir / "searchsvc-index.seconds"
    if timing.exists():
        return float(timing.read_text())
    seconds = build_collection_index(collection, settings, workdir / f"{collection.name}.jsonl")
    timing.write_text(repr(seconds))
    return seconds


def build_collection_index(collection: Collection, settings: Settings, documents: Path) -> float:
    """Write the collection's documents to ``documents`` and build them into
    ``settings.index_dir``; the build's seconds."""
    write_documents_file(collection, documents)
    started = time.perf_counter()
    build_generation(
        [documents],
        settings,
        list_files=lambda: [documents],
        read_file="relevance:read_documents_file",
        show_progress=False,
    )
    return time.perf_counter() - started


def split_variant(variant: dict[str, str]) -> tuple[RankingConfig, dict[str, str]]:
    """(``RankingConfig``, ``Settings`` overrides): ranking fields go to the former."""
    defaults = RankingConfig()
    ranking: dict[str, float | int] = {}
    overrides: dict[str, str] = {}
    for name, value in variant.items():
        if hasattr(defaults, name):
            ranking[name] = type(getattr(defaults, name))(value)
        else:
            overrides[name] = value
    return dataclasses.replace(defaults, **ranking), overrides


def parse_variant(text: str) -> dict[str, str]:
    """``k1=1.6,mode=any`` -> ``{"k1": "1.6", "mode": "any"}``."""
    variant = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise argparse.ArgumentTypeError(f"expected NAME=VALUE[,NAME=VALUE...], got {text!r}")
        variant[name.strip()] = value.strip()
    return variant


# --- the table -----------------------------------------------------------------------------


def baseline_systems() -> dict[str, System]:
    return {
        "sqlite fts5 bm25": fts5_system(),
        "sqlite fts5 bm25, title x2": fts5_system(title_weight=2.0),
        "whoosh bm25f + stemming": whoosh_system,
    }


def evaluate(
    collection: Collection, systems: dict[str, System], *, graded: bool = False
) -> list[tuple[str, Scores, Run]]:
    """Run every system on the collection; they share one work folder (and one searchsvc index)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix=f"eval-ranking-{collection.name}-") as workdir:
        for name, system in systems.items():
            run = system(collection, Path(workdir))
            rows.append((name, score_run(run.rankings, collection, graded=graded), run))
    return rows


def format_table(collection: Collection, rows: list[tuple[str, Scores, Run]]) -> str:
    """The collection's table; the last column compares each row's per-query AP with row 1's."""
    width = max([len("system"), *(len(name) for name, _, _ in rows)])
    judged = len(collection.judged_queries())
    lines = [
        f"{collection.name}: {len(collection.documents)} documents, "
        f"{judged} judged queries (of {len(collection.queries)})",
        f"{'system':<{width}}  {'MAP':>6}  {'nDCG@10':>7}  {'P@10':>6}  {'queries':>7}"
        f"  {'empty':>5}  {'refused':>7}  {'index s':>7}  {'ms/query':>8}  AP vs row 1",
    ]
    first = rows[0][1].average_precisions if rows else ()
    for number, (name, scores, run) in enumerate(rows):
        per_query_ms = 1000 * run.query_seconds / max(1, judged)
        lines.append(
            f"{name:<{width}}  {scores.map:6.4f}  {scores.ndcg10:7.4f}  {scores.p10:6.4f}"
            f"  {scores.queries:7d}  {run.empty:5d}  {run.rejected:7d}"
            f"  {run.index_seconds:7.2f}  {per_query_ms:8.1f}"
            + (f"  {compare_with(scores.average_precisions, first)}" if number else "")
        )
    lines += [
        f"  {name}: {run.disagreements} first pages differ from the ranking behind them"
        for name, _, run in rows
        if run.disagreements
    ]
    return "\n".join(lines)


def compare_with(ours: Sequence[float], theirs: Sequence[float]) -> str:
    """``better+/worse- p=…``: per-query AP wins and losses, and whether they could be luck."""
    better = sum(1 for a, b in zip(ours, theirs, strict=True) if a > b)
    worse = sum(1 for a, b in zip(ours, theirs, strict=True) if a < b)
    return f"{better}+/{worse}- p={randomization_p(ours, theirs):.3f}"


#: The summary's metrics: (heading, mean attribute, per-query attribute).
SUMMARY_METRICS = (
    ("MAP", "map", "average_precisions"),
    ("nDCG@10", "ndcg10", "ndcgs"),
    ("P@10", "p10", "precisions"),
)


def format_summary(results: dict[str, list[tuple[str, Scores, Run]]]) -> str:
    """Per system and metric: each collection's score, their mean, and the mean against row 1.

    The mean gives every collection the same weight. ``vs row 1`` is the difference of the
    means, how many collections the row beats row 1 on, and the p-value of a paired
    randomization test on the pooled per-query values, weighted so that the test's
    statistic is that same mean (see ``pooled_randomization_p``).
    """
    names = list(results)
    systems = [name for name, _, _ in next(iter(results.values()))]
    width = max([len("system"), *(len(name) for name in systems)])
    lines = [f"summary over {len(names)} collections (mean: each collection weighs the same)"]
    for heading, mean_of, per_query in SUMMARY_METRICS:
        lines.append(
            f"{heading:<{width}}"
            + "".join(f"  {name:>9}" for name in names)
            + f"  {'mean':>7}  vs row 1"
        )
        first = [rows[0][1] for rows in results.values()]
        for number, system in enumerate(systems):
            scores = [rows[number][1] for rows in results.values()]
            means = [getattr(s, mean_of) for s in scores]
            mean = sum(means) / len(means)
            line = f"{system:<{width}}" + "".join(f"  {m:9.4f}" for m in means) + f"  {mean:7.4f}"
            if number:
                base = [getattr(s, mean_of) for s in first]
                wins = sum(1 for ours, theirs in zip(means, base, strict=True) if ours > theirs)
                p = pooled_randomization_p(
                    [
                        (getattr(ours, per_query), getattr(theirs, per_query))
                        for ours, theirs in zip(scores, first, strict=True)
                    ]
                )
                line += f"  {mean - sum(base) / len(base):+.4f} {wins}/{len(means)} p={p:.3f}"
            lines.append(line)
        lines.append("")
    return "\n".join(lines).rstrip()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collection", choices=[*COLLECTION_READERS, "all"], default="all")
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument(
        "--graded", action="store_true", help="graded gains for nDCG where judgements grade"
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        type=parse_variant,
        metavar="NAME=VALUE[,...]",
        help="another searchsvc row: mode=search|any, RankingConfig or Settings fields",
    )
    parser.add_argument(
        "--ablation", action="store_true", help="add rows for one ranking change at a time"
    )
    parser.add_argument(
        "--no-searchsvc", action="store_true", help="only the baselines (FTS5, plain Whoosh)"
    )
    return parser.parse_args(argv)


#: One change at a time from the defaults (ranking alone: any word), then the defaults
#: before the five-collection tuning (k1 3, body b 0.75, no feedback).
ABLATION = (
    {"mode": "any", "feedback_docs": "0"},
    {"mode": "any", "feedback_weight": "0.5"},
    {"mode": "any", "feedback_weight": "0.3"},
    {"mode": "any", "feedback_docs": "5"},
    {"mode": "any", "feedback_terms": "20"},
    {"mode": "any", "k1": "1.2"},
    {"mode": "any", "k1": "2"},
    {"mode": "any", "body_b": "0.75"},
    {"mode": "any", "title_weight": "1"},
    {"mode": "any", "title_weight": "3"},
    {"mode": "any", "title_b": "0.75"},
    {"mode": "any", "phrase_boost": "0", "proximity_boost": "0"},
    {"mode": "any", "proximity_boost": "0.25"},
    {"mode": "any", "k1": "3", "body_b": "0.75", "feedback_docs": "0"},
)


def chosen_systems(args: argparse.Namespace) -> dict[str, System]:
    systems = baseline_systems()
    if args.no_searchsvc:
        return systems
    systems["searchsvc"] = searchsvc_system()
    systems["searchsvc mode=any"] = searchsvc_system({"mode": "any"})
    for variant in [*(ABLATION if args.ablation else ()), *args.variant]:
        label = ",".join(f"{name}={value}" for name, value in variant.items())
        systems[f"searchsvc {label}"] = searchsvc_system(variant)
    return systems


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = list(COLLECTION_READERS) if args.collection == "all" else [args.collection]
    systems = chosen_systems(args)
    results = {}
    for name in names:
        collection = read_collection(name, args.corpora)
        results[name] = evaluate(collection, systems, graded=args.graded)
        print(format_table(collection, results[name]), end="\n\n", flush=True)
    if len(results) > 1:
        print(format_summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
