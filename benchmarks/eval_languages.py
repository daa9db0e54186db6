"""Search quality per language: a small judged set in Indonesian, Arabic, English and French.

``benchmarks/languages/`` holds, per language, news-like articles written for this set
(``<lang>.jsonl``, the JSON Lines input format with a declared ``language``) and 20 queries
with graded judgements (``<lang>.queries.jsonl``: 2 = about the query, 1 = touches it).
The texts are written so that word forms matter: the same root in several forms
(memperingati / peringatan / diperingati; الانتخابات / انتخابات / بالانتخابات; floods /
flooded / flooding; élection / élus / électorale, hôpital / hôpitaux), Arabic with and
without diacritics, tatweel and letter variants, French with and without accents, and
distractors that share a word but not its meaning.

All articles go into one index built with ``build_index`` from JSON Lines files, as an
archive would be, once per way of telling the build the language:

- ``per language``: each article's declared language; each query analyzed for its own
  language (``lang``), and again with ``lang`` unset (every language the index holds);
- ``detected``: the ``language`` field dropped, so the build detects it; ``lang`` unset;
- ``English only``: every article declared English and every query asked with
  ``lang=en``: what the English-only analyzer did before languages were told apart.

Each language's queries are scored over the whole index: MAP, P@5 and R@10 count any
judged article as relevant, nDCG@10 uses the grades; ``vs English`` is the row's MAP over
the English-only row's. A second table splits MAP by the kind of query.

    python benchmarks/eval_languages.py
    python benchmarks/eval_languages.py --languages id,ar --queries 5
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from relevance import average_precision, ndcg_at, precision_at, randomization_p

from searchsvc.config import Settings
from searchsvc.index import build_index
from searchsvc.search import QueryError, SearchEngine, SearchRequest

DATA_DIR = Path(__file__).resolve().parent / "languages"
LANGUAGES = ("id", "ar", "en", "fr")
#: Deep enough to rank every article of the set.
DEPTH = 200
EVALUATION_SETTINGS = {"max_per_page": DEPTH, "build_procs": 1}


@dataclass(frozen=True)
class JudgedQuery:
    id: str
    kind: str
    text: str
    #: Article id -> grade (2 = about the query, 1 = touches it).
    relevant: dict[str, int]


@dataclass(frozen=True)
class Analyzer:
    """One row of the table: how the build learns each article's language, how queries ask.

    ``declare`` turns an article's declared language into the one written to the build's
    input (None drops the field); ``lang`` gives a query's ``lang`` parameter from the
    language it was written in (``()`` leaves it unset).
    """

    name: str
    build: str
    declare: Callable[[str], str | None]
    lang: Callable[[str], tuple[str, ...]]


ANALYZERS = (
    Analyzer("per language", "declared", lambda declared: declared, lambda own: (own,)),
    Analyzer("per language, lang unset", "declared", lambda declared: declared, lambda own: ()),
    Analyzer("detected, lang unset", "detected", lambda declared: None, lambda own: ()),
    Analyzer("English only", "english", lambda declared: "en", lambda own: ("en",)),
)
BASELINE = "English only"


@dataclass(frozen=True)
class Scores:
    map: float
    p5: float
    r10: float
    ndcg10: float
    #: Per query kind, the mean average precision and the number of queries.
    map_by_kind: dict[str, tuple[float, int]]
    #: Per query, in the set's order, for paired comparisons and ``--per-query``.
    average_precisions: tuple[float, ...]


# --- the judged set ------------------------------------------------------------------------


def read_articles(language: str, data_dir: Path = DATA_DIR) -> list[dict[str, str]]:
    """The language's article records as written in its JSON Lines file."""
    return _read_lines(data_dir / f"{language}.jsonl")


def read_queries(language: str, data_dir: Path = DATA_DIR) -> list[JudgedQuery]:
    return [
        JudgedQuery(record["id"], record["kind"], record["query"], record["relevant"])
        for record in _read_lines(data_dir / f"{language}.queries.jsonl")
    ]


def _read_lines(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


# --- building and asking -------------------------------------------------------------------


def write_build_input(
    articles: Iterable[dict[str, str]], declare: Callable[[str], str | None], path: Path
) -> None:
    """The articles as a JSON Lines file whose ``language`` field ``declare`` decides."""
    with path.open("w", encoding="utf-8") as out:
        for article in articles:
            record = {name: value for name, value in article.items() if name != "language"}
            language = declare(article["language"])
            if language is not None:
                record["language"] = language
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def build(articles: list[dict[str, str]], declare: Callable[[str], str | None], folder: Path):
    """Build an index of ``articles`` under ``folder``; the settings that open it."""
    folder.mkdir()
    source = folder / "articles.jsonl"
    write_build_input(articles, declare, source)
    settings = Settings(index_dir=folder / "index").replace(**EVALUATION_SETTINGS)
    build_index([source], settings, show_progress=False)
    return settings


def ranking(engine: SearchEngine, query: str, lang: tuple[str, ...]) -> list[str]:
    """The ids a user sees for ``query``, in order, as deep as the set goes."""
    try:
        found = engine.search(SearchRequest(query=query, lang=lang, per_page=DEPTH))
    except QueryError:
        return []
    return [hit.id for hit in found.hits]


# --- metrics -------------------------------------------------------------------------------


def recall_at(ranking_ids: Sequence[str], relevant: dict[str, int], k: int) -> float:
    """Share of the relevant articles found in the first ``k`` places."""
    return sum(1 for doc_id in ranking_ids[:k] if doc_id in relevant) / len(relevant)


def score(queries: Sequence[JudgedQuery], rankings: dict[str, list[str]]) -> Scores:
    """Means over ``queries``; a query that found nothing scores 0."""
    aps = [average_precision(rankings[q.id], q.relevant) for q in queries]
    by_kind: dict[str, list[float]] = {}
    for query, ap in zip(queries, aps, strict=True):
        by_kind.setdefault(query.kind, []).append(ap)
    n = len(queries)
    return Scores(
        map=sum(aps) / n,
        p5=sum(precision_at(rankings[q.id], q.relevant, 5) for q in queries) / n,
        r10=sum(recall_at(rankings[q.id], q.relevant, 10) for q in queries) / n,
        ndcg10=sum(ndcg_at(rankings[q.id], q.relevant, 10) for q in queries) / n,
        map_by_kind={kind: (sum(v) / len(v), len(v)) for kind, v in by_kind.items()},
        average_precisions=tuple(aps),
    )


# --- the run -------------------------------------------------------------------------------


def evaluate(
    languages: Sequence[str],
    queries_per_language: int | None = None,
    data_dir: Path = DATA_DIR,
    analyzers: Sequence[Analyzer] = ANALYZERS,
) -> dict[str, dict[str, Scores]]:
    """``scores[language][analyzer name]``; one index per kind of build, shared by its rows."""
    articles = [article for language in languages for article in read_articles(language, data_dir)]
    queries = {
        language: read_queries(language, data_dir)[:queries_per_language] for language in languages
    }
    scores: dict[str, dict[str, Scores]] = {language: {} for language in languages}
    with tempfile.TemporaryDirectory(prefix="eval-languages-") as workdir:
        built: dict[str, Settings] = {}
        for analyzer in analyzers:
            if analyzer.build not in built:
                folder = Path(workdir) / analyzer.build
                built[analyzer.build] = build(articles, analyzer.declare, folder)
            with SearchEngine(built[analyzer.build]) as engine:
                for language in languages:
                    lang = analyzer.lang(language)
                    rankings = {q.id: ranking(engine, q.text, lang) for q in queries[language]}
                    scores[language][analyzer.name] = score(queries[language], rankings)
    return scores


def format_table(scores: dict[str, dict[str, Scores]], articles: dict[str, int]) -> str:
    """Language x analyzer: MAP, P@5, R@10, nDCG@10, and MAP against the English-only row's.

    The comparison is the ratio of the MAPs and the p-value of a paired randomization test
    on the per-query average precision: with 20 queries, a small value says the
    difference is unlikely to be the luck of which queries were written.
    """
    names = list(next(iter(scores.values())))
    width = max(len("analyzer"), *(len(name) for name in names))
    lines = [
        f"{'lang':<4}  {'articles':>8}  {'queries':>7}  {'analyzer':<{width}}"
        f"  {'MAP':>6}  {'P@5':>6}  {'R@10':>6}  {'nDCG@10':>7}  MAP vs English only"
    ]
    for language, rows in scores.items():
        baseline = rows.get(BASELINE)
        queries = sum(count for _, count in next(iter(rows.values())).map_by_kind.values())
        for name, row in rows.items():
            versus = _versus(row, baseline) if baseline and row is not baseline else ""
            lines.append(
                f"{language:<4}  {articles[language]:8d}  {queries:7d}  {name:<{width}}"
                f"  {row.map:6.4f}  {row.p5:6.4f}  {row.r10:6.4f}  {row.ndcg10:7.4f}  {versus}"
            )
    return "\n".join(lines)


def format_kinds(scores: dict[str, dict[str, Scores]]) -> str:
    """MAP per language and kind of query (how many queries of the kind in brackets)."""
    names = list(next(iter(scores.values())))
    lines = ["MAP by kind of query: " + " | ".join(names)]
    for language, rows in scores.items():
        for kind, (_, count) in next(iter(rows.values())).map_by_kind.items():
            values = "  ".join(f"{rows[name].map_by_kind[kind][0]:6.4f}" for name in names)
            lines.append(f"{language:<4}  {kind + f' ({count})':<20}  {values}")
    return "\n".join(lines)


def format_queries(
    scores: dict[str, dict[str, Scores]], queries: dict[str, list[JudgedQuery]]
) -> str:
    """Each query's average precision per analyzer, to see which queries make the means."""
    names = list(next(iter(scores.values())))
    lines = ["average precision per query: " + " | ".join(names)]
    for language, rows in scores.items():
        for number, query in enumerate(queries[language][: len(rows[names[0]].average_precisions)]):
            values = "  ".join(f"{rows[name].average_precisions[number]:6.4f}" for name in names)
            lines.append(f"{query.id:<7}  {query.kind:<16}  {values}  {query.text}")
    return "\n".join(lines)


def _versus(row: Scores, baseline: Scores) -> str:
    """``1.25x p=0.031``: the MAP ratio and the paired test of the per-query AP."""
    p = randomization_p(row.average_precisions, baseline.average_precisions)
    if baseline.map == 0:
        return f"- p={p:.3f}"
    return f"{row.map / baseline.map:.2f}x p={p:.3f}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--languages",
        type=lambda text: [part.strip() for part in text.split(",") if part.strip()],
        default=list(LANGUAGES),
        help=f"comma-separated, of {', '.join(LANGUAGES)} (default: all)",
    )
    parser.add_argument("--queries", type=int, default=None, help="only the first N per language")
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="the judged set's folder")
    parser.add_argument(
        "--per-query", action="store_true", help="add each query's average precision per row"
    )
    args = parser.parse_args(argv)
    unknown = [language for language in args.languages if language not in LANGUAGES]
    if unknown:
        parser.error(f"unknown language {unknown[0]!r}; languages: {', '.join(LANGUAGES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scores = evaluate(args.languages, args.queries, args.data)
    articles = {language: len(read_articles(language, args.data)) for language in args.languages}
    print(format_table(scores, articles), end="\n\n")
    print(format_kinds(scores))
    if args.per_query:
        queries = {language: read_queries(language, args.data) for language in args.languages}
        print("\n" + format_queries(scores, queries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
