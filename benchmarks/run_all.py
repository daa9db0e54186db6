"""Every benchmark in one run: build, query, HTTP load, cold start and scale, side by side
with plain Whoosh and SQLite FTS5; prints the tables and writes ``docs/benchmarks.md``.

    python benchmarks/run_all.py                        # Reuters + 10k and 100k synthetic
    python benchmarks/run_all.py --sizes 10k,100k,1m    # also the 1M-article corpus
    python benchmarks/run_all.py --quick                # seconds: proves the scripts work
    python benchmarks/run_all.py --engine opensearch    # the cluster engine beside Whoosh

Builds and in-process queries each run in a fresh child process (memory is sampled over the
child and its workers). ``--engine opensearch`` measures the OpenSearch engine beside the
Whoosh engine instead (``bench_cluster.py``) and prints its tables without rewriting the
page. Anything below the line ``<!-- notes -->`` in the existing
``docs/benchmarks.md`` (analysis written by hand) is kept when the page is rewritten.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bench_cluster
import bench_tables as report
from http_load import cold_starts, run_http, wrk_available
from measuring import DEFAULT_REUTERS, REPO, machine_facts, read_sources, run_child
from query_set import QUERY_SET, load_query_set
from scale import ensure_corpus, first_pass_section, plot_scale, run_scale, size_label
from synthetic import parse_count

NOTES_MARKER = "<!-- notes -->"
SECTIONS = ("build", "query", "http", "cold", "scale")
ENGINES = ("whoosh", "opensearch")


def source_paths(corpus: Path) -> list[Path]:
    """Reuters: its 22 SGML files only (the folder also holds category lists). Else the path."""
    sgml = sorted(corpus.glob("reut2-*.sgm")) if corpus.is_dir() else []
    return sgml or [corpus]


def run_builds(
    sources: Sequence[Path], work: Path, repeat: int, timeout: float, log: Any
) -> list[dict[str, Any]]:
    """Each engine ``repeat`` times over the same files; the median run by wall time is kept."""
    builds = []
    for engine in ("searchsvc", "whoosh", "fts5"):
        runs = []
        for number in range(repeat):
            out = work / f"index-{engine}"
            shutil.rmtree(out, ignore_errors=True)
            log(f"build {engine} ({number + 1}/{repeat})")
            child = run_child(
                ["build", "--engine", engine, "--out", str(out), *map(str, sources)],
                timeout=timeout,
            )
            runs.append(
                {
                    "seconds": child.wall_seconds,
                    "rate": child.result["article_count"] / child.wall_seconds,
                    "peak_rss": child.peak_rss,
                    "cpu_seconds": child.cpu_seconds,
                    "load": os.getloadavg()[0],
                    "index_bytes": child.result["index_bytes"],
                    "article_count": child.result["article_count"],
                    "parse_seconds": child.result.get("parse_seconds"),
                }
            )
        middle = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
        builds.append({"engine": engine, **middle, "runs": runs})
    return builds


def run_queries(
    work: Path, query_set: Path, rounds: int, timeout: float, log: Any
) -> dict[str, dict[str, Any]]:
    results = {}
    for engine in ("searchsvc", "fts5"):
        log(f"queries {engine}")
        child = run_child(
            [
                "query",
                "--engine",
                engine,
                "--index",
                str(work / f"index-{engine}"),
                "--rounds",
                str(rounds),
                "--query-set",
                str(query_set),
            ],
            timeout=timeout,
        )
        results[engine] = {**child.result, "peak_rss": child.peak_rss}
    return results


def render(results: dict[str, Any], notes: str) -> str:
    facts = results["machine"]
    parts = [
        "# Benchmarks",
        "",
        "Speed, cost and scale of searchsvc beside the engines users would pick instead: a "
        "plain Whoosh index (`StemmingAnalyzer`) and SQLite FTS5 (`tokenize='porter "
        "unicode61'`, Python's own `sqlite3`), over the same articles in the same run.",
        "",
        f"- Date: {results['date']}",
        f"- Command: `{results['command']}` ({results['elapsed_minutes']:.1f} min)",
        f"- Machine: {facts['cpus']} CPUs ({facts['cpu']}), {facts['memory']}, {facts['os']}; "
        f"Python {facts['python']}, SQLite {facts['sqlite']}, Whoosh {facts['whoosh']}",
        f"- Load average (1 min) before / after the run: {results['load_before']:.2f} / "
        f"{results['load_after']:.2f}",
        f"- Corpus: {results['corpus']} ({results.get('articles', '?')} articles); query set: "
        f"`{results['query_set']}` ({results['queries']} queries)",
        "",
    ]
    if results.get("build"):
        parts += [
            "## Build",
            "",
            "Wall time of a fresh process from start to a finished index; peak memory is the "
            "resident memory of that process and its workers together. searchsvc reads and "
            "parses the files itself (2 worker processes); the baselines get the same articles "
            "from the same readers (places resolved), parsed in the same process, and that "
            "parsing time is shown and included. FTS5 includes an `optimize` at the end.",
            "",
            report.build_section(results["build"]),
            "",
        ]
    if results.get("query"):
        parts += [
            "## Query, in process",
            "",
            "Each query: top 10 with a highlighted title and body snippet, the total, and "
            "place / places / source / month counts over the whole result set. The first pass "
            "is every query seen for the first time after opening the index; the other "
            f"{results['rounds'] - 1} passes repeat the set, and each statistic is the median "
            "over those passes. One thread, no concurrency.",
            "",
            report.query_section(results["query"]),
            "",
            report.kinds_section(results["query"]),
            "",
            *_kind_latency(results["query"]),
            report.agreement(results["query"]),
            "",
            "What FTS5 does not do here and searchsvc does: spelling suggestions, listing the "
            "articles with some of the words after those with all of them (FTS5 here requires "
            "every word, so its result sets are smaller), facet counts that leave out the "
            "facet's own selection, HTML escaping of titles and snippets.",
            "",
        ]
    if results.get("http"):
        parts += [
            "## Query over HTTP",
            "",
            "`searchsvc serve` (default workers and threads) on 127.0.0.1, warmed with one pass "
            f"of the query set; each level runs {results['http_seconds']:.0f} s. `python` = "
            "threads with keep-alive `http.client` connections in one process; `wrk` = the C load "
            "generator (when installed). CPU columns are cores in use on average.",
            "",
            report.http_section(results["http"]),
            "",
        ]
    if results.get("cold_start"):
        parts += [
            "## Cold start",
            "",
            "From starting `searchsvc serve` over the index built above to the first "
            "answered `/api/search`.",
            "",
            report.cold_section(results["cold_start"]),
            "",
        ]
    if results.get("scale"):
        parts += [
            "## Scale",
            "",
            "Synthetic wire stories (`benchmarks/synthetic.py`: word pairs and lengths learned "
            "from Reuters, places from the gazetteer, dates 2015 to 2025), built and queried at "
            "each size; queries are the query set's text without its filters.",
            "",
            report.scale_section(results["scale"]),
            "",
            *_first_pass(results["scale"]),
        ]
        if results.get("plot"):
            parts += [f"![growth curves]({results['plot']})", ""]
    parts += [
        "## Targets",
        "",
        report.targets_section(results),
        "",
        NOTES_MARKER,
        notes.strip(),
        "",
    ]
    return "\n".join(parts)


def _first_pass(scale: list[dict[str, Any]]) -> list[str]:
    """The scale run's first pass by kind of query, when the results have it."""
    section = first_pass_section(scale)
    if not section:
        return []
    return [
        "The first pass by kind of query: each query seen for the first time after opening "
        "the index.",
        "",
        section,
        "",
    ]


def _kind_latency(query: dict[str, Any]) -> list[str]:
    """The per-kind spread, when the results have it (older saved results do not)."""
    if not query.get("searchsvc", {}).get("kinds"):
        return []
    return [
        "searchsvc per kind of query, the first pass apart from the repeats (pooled):",
        "",
        report.kind_latency_section(query["searchsvc"]),
        "",
    ]


def keep_sections(results: dict[str, Any], previous: dict[str, Any], ran: set[str]) -> None:
    """Sections not run this time come from the previous results file, so a partial run
    (say ``--only scale --sizes 1m``) updates the page without erasing the rest."""
    keys = {
        "build": ("build", "articles"),
        "query": ("query",),
        "http": ("http",),
        "cold": ("cold_start",),
        "scale": ("scale", "plot"),
    }
    for section, names in keys.items():
        if section not in ran:
            for name in names:
                if name in previous and name not in results:
                    results[name] = previous[name]


def render_saved(args: argparse.Namespace) -> int:
    results = json.loads(args.render.read_text(encoding="utf-8"))
    if results.get("scale"):
        plot_scale(results["scale"], args.plot)
        results["plot"] = os.path.relpath(args.plot, args.out.parent)
    page = render(results, existing_notes(args.out))
    args.out.write_text(page, encoding="utf-8")
    print(page.split(NOTES_MARKER)[0])
    return 0


def existing_notes(path: Path) -> str:
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8")
    return text.split(NOTES_MARKER, 1)[1] if NOTES_MARKER in text else ""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_REUTERS,
        help="articles for the side-by-side runs (default: Reuters-21578)",
    )
    parser.add_argument("--query-set", type=Path, default=QUERY_SET)
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="whoosh",
        help="opensearch: the cluster engine beside the Whoosh engine, on test clusters "
        "this run starts and stops (default: whoosh, the page's benchmarks)",
    )
    parser.add_argument(
        "--sizes",
        help="synthetic sizes, e.g. 10k,100k,1m (default 10k,100k; with --engine opensearch "
        "100k; an empty value runs none)",
    )
    parser.add_argument(
        "--synthetic",
        type=Path,
        help="with --engine opensearch: an existing synthetic corpus folder to use "
        "instead of writing --sizes (read only)",
    )
    parser.add_argument(
        "--nodes", default="1,3", help="with --engine opensearch: cluster sizes (default 1,3)"
    )
    parser.add_argument(
        "--shards",
        default="1,3",
        help="with --engine opensearch: shard counts built on each cluster (default 1,3)",
    )
    parser.add_argument(
        "--http-requests",
        type=int,
        default=20_000,
        help="at most this many requests per HTTP level",
    )
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"sections to run, from {','.join(SECTIONS)}"
    )
    parser.add_argument("--work", type=Path, help="scratch directory (default: a temporary one)")
    parser.add_argument(
        "--keep-builds",
        action="store_true",
        help="keep the scale indexes in --work and query them again instead of rebuilding"
        " (rebuilt when the code that builds them changed)",
    )
    parser.add_argument("--build-repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5, help="passes over the query set")
    parser.add_argument("--http-seconds", type=float, default=10.0)
    parser.add_argument("--cold-repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--plot", type=Path, default=REPO / "docs" / "scale.png")
    parser.add_argument(
        "--json", type=Path, help="save the raw results here; sections not run are taken from it"
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="run nothing: rewrite the page and the plot from a saved results file",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes and short runs: checks that everything still works",
    )
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = "100k" if args.engine == "opensearch" else "10k,100k"
    args.nodes = _counts(parser, "--nodes", args.nodes)
    args.shards = _counts(parser, "--shards", args.shards)
    if args.quick:
        args.build_repeat, args.rounds, args.http_seconds, args.cold_repeat = 1, 2, 0.5, 1
        args.http_requests = min(args.http_requests, 200)
        if args.sizes in ("10k,100k", "100k"):
            args.sizes = "150"
    return args


def _counts(parser: argparse.ArgumentParser, option: str, text: str) -> list[int]:
    """``1,3`` as [1, 3]; anything but positive whole numbers is a usage error."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        parser.error(f"{option} takes positive whole numbers separated by commas, not {text!r}")
    return counts


def run_opensearch(args: argparse.Namespace, log: Any) -> dict[str, Any]:
    """The cluster engine beside the Whoosh engine on Reuters (when present) and the
    synthetic corpus; the tables are printed, and saved with ``--json``."""
    work = args.work or Path(tempfile.mkdtemp(prefix="searchsvc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    queries = load_query_set(args.query_set)
    measure = {
        "queries": queries,
        "query_set": args.query_set,
        "nodes": args.nodes,
        "shards": args.shards,
        "rounds": args.rounds,
        "http_levels": (2,) if args.quick else (1, 4, 16),
        "http_seconds": args.http_seconds,
        "http_requests": args.http_requests,
        "log": log,
    }
    rows: list[dict[str, Any]] = []
    sources = source_paths(args.corpus)
    if sources[0].exists():
        rows += bench_cluster.measure_corpus(
            args.corpus.name, sources, work, filters=True, **measure
        )
    else:
        log(f"{args.corpus} is absent: no Reuters rows")
    for label, corpus in synthetic_corpora(args, work):
        rows += bench_cluster.measure_corpus(label, [corpus], work, filters=False, **measure)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return {"engine": "opensearch", "rows": rows}


def synthetic_corpora(args: argparse.Namespace, work: Path) -> list[tuple[str, Path]]:
    """(label, folder) for each synthetic corpus: the one given, else one written per size."""
    if args.synthetic:
        return [(args.synthetic.name, args.synthetic)]
    corpora = []
    model_cache: dict[str, Any] = {}
    for count in (parse_count(size) for size in args.sizes.split(",") if size.strip()):
        folder = work / f"synthetic-{size_label(count)}"
        ensure_corpus(args.corpus, folder, count, seed=1, model_cache=model_cache)
        corpora.append((folder.name, folder))
    return corpora


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        return render_saved(args)
    if args.engine == "opensearch":
        return main_opensearch(args, argv)
    sections = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = sections - set(SECTIONS)
    if unknown:
        raise SystemExit(
            f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}"
        )
    started = time.perf_counter()
    work = args.work or Path(tempfile.mkdtemp(prefix="searchsvc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    sources = source_paths(args.corpus)
    queries = load_query_set(args.query_set)
    timeout = 4 * 3600

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f} s] {message}", file=sys.stderr, flush=True)

    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python benchmarks/run_all.py "
        + shlex.join(argv if argv is not None else sys.argv[1:]),
        "machine": machine_facts(),
        "load_before": os.getloadavg()[0],
        "corpus": str(args.corpus),
        "query_set": str(
            args.query_set.relative_to(REPO)
            if args.query_set.is_relative_to(REPO)
            else args.query_set
        ),
        "queries": len(queries),
        "rounds": args.rounds,
        "http_seconds": args.http_seconds,
    }
    if sections & {"build", "query", "http", "cold"}:
        results["build"] = run_builds(sources, work, args.build_repeat, timeout, log)
        results["articles"] = results["build"][0]["article_count"]
    if "query" in sections:
        results["query"] = run_queries(work, args.query_set, args.rounds, timeout, log)
    if "http" in sections:
        log("HTTP load" + ("" if wrk_available() else " (wrk not installed: Python client only)"))
        levels = (2,) if args.quick else (1, 4, 16)
        results["http"] = run_http(
            work / "index-searchsvc", queries, levels=levels, seconds=args.http_seconds
        )
    if "cold" in sections:
        log("cold start")
        results["cold_start"] = cold_starts(work / "index-searchsvc", args.cold_repeat)
    if "build" not in sections:
        results.pop("build", None)
    if "scale" in sections:
        sizes = [parse_count(size) for size in args.sizes.split(",") if size.strip()]
        model_source: Any = (
            args.corpus
            if sources[0].suffix == ".sgm"
            else list(read_sources(sources, with_places=False))
        )
        results["scale"] = run_scale(
            sizes,
            work,
            model_source=model_source,
            rounds=args.rounds,
            query_set=args.query_set,
            keep_builds=args.keep_builds,
            log=log,
        )
        plot_scale(results["scale"], args.plot)
        results["plot"] = os.path.relpath(args.plot, args.out.parent)
    if args.json and args.json.is_file():
        keep_sections(results, json.loads(args.json.read_text(encoding="utf-8")), sections)
    results["load_after"] = os.getloadavg()[0]
    results["elapsed_minutes"] = (time.perf_counter() - started) / 60
    page = render(results, existing_notes(args.out))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    print(page.split(NOTES_MARKER)[0])
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def main_opensearch(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f} s] {message}", file=sys.stderr, flush=True)

    load_before = os.getloadavg()[0]
    results = run_opensearch(args, log)
    results.update(
        command="python benchmarks/run_all.py "
        + shlex.join(argv if argv is not None else sys.argv[1:]),
        date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine_facts(),
        load_before=load_before,
        load_after=os.getloadavg()[0],
        elapsed_minutes=(time.perf_counter() - started) / 60,
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    print(
        f"- Command: `{results['command']}` ({results['elapsed_minutes']:.1f} min), "
        f"{results['date']}\n- Load average (1 min) before / after: {load_before:.2f} / "
        f"{results['load_after']:.2f}\n"
    )
    print(bench_cluster.render(results["rows"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
