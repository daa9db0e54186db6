"""One build or one query run, in a fresh process; prints one line of JSON.

``measuring.run_child`` starts this script and samples its memory (workers included), so
each engine is measured alone, from a cold interpreter.

    python benchmarks/bench_worker.py build --engine searchsvc|whoosh|fts5 --out DIR SOURCE...
    python benchmarks/bench_worker.py query --engine searchsvc|fts5 --index DIR [--rounds N]

``--engine opensearch`` builds and queries the cluster the ``SEARCHSVC_OPENSEARCH_*``
variables name (``--out`` and ``--index`` are then unused).
    python benchmarks/bench_worker.py open --index DIR
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
import json
import logging
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psutil
from measuring import latency_summary, median_of, read_sources
from query_set import QUERY_SET, BenchQuery, load_query_set

BUILD_ENGINES = ("searchsvc", "whoosh", "fts5", "opensearch")
QUERY_ENGINES = ("searchsvc", "fts5", "opensearch")
_KIND_SAMPLES = ("first", "warm", "first_cpu", "warm_cpu")


def build(engine: str, sources: Sequence[Path], out_dir: Path) -> dict[str, Any]:
    """Build one engine's index; baselines get the articles our readers produce, parsed first."""
    if engine == "searchsvc":
        from searchsvc.config import Settings
        from searchsvc.index import build_index

        started = time.perf_counter()
        result = build_index(list(sources), Settings(index_dir=out_dir), show_progress=False)
        return {
            "article_count": result.article_count,
            "index_bytes": result.index_bytes,
            "seconds": time.perf_counter() - started,
            "parse_seconds": None,
            "phases": result.meta.get("phase_seconds"),
        }
    if engine == "opensearch":
        return build_on_cluster(sources)
    started = time.perf_counter()
    articles = list(read_sources(sources))
    parsed = time.perf_counter()
    if engine == "whoosh":
        from whoosh_plain import build_whoosh

        outcome = build_whoosh(articles, out_dir)
    else:
        from fts5 import build_fts5

        outcome = build_fts5(articles, out_dir)
    finished = time.perf_counter()
    return {
        **outcome,
        "seconds": finished - started,
        "parse_seconds": parsed - started,
        "index_seconds": finished - parsed,
    }


def build_on_cluster(sources: Sequence[Path]) -> dict[str, Any]:
    """A new generation on the cluster the environment names, through the same factory
    ``searchsvc build`` uses; the index size is the primaries' store once refreshed."""
    from searchsvc.config import Settings
    from searchsvc.engines import build_index
    from searchsvc.opensearch.connection import connect

    settings = Settings.from_env(engine="opensearch")
    result = build_index(list(sources), settings)
    client = connect(settings)
    stats = client.indices.stats(index=settings.opensearch_index, metric="store")
    client.close()
    return {
        "article_count": result.article_count,
        "index_bytes": stats["_all"]["primaries"]["store"]["size_in_bytes"],
        "seconds": result.seconds,
        "parse_seconds": None,
    }


def import_engine(engine: str) -> None:
    """Import the engine's code, so that its import time is told apart from opening the
    index: the first is the same at every size (and depends on what else the virtualenv
    holds), the second is what must stay flat as the archive grows."""
    importlib.import_module("searchsvc.engines" if engine != "fts5" else "fts5")


def open_searcher(engine: str, index_dir: Path) -> tuple[Callable[[BenchQuery, bool], Any], Any]:
    """A function answering one query the way users see it, and the object to close."""
    if engine in ("searchsvc", "opensearch"):
        from searchsvc.config import Settings
        from searchsvc.engines import open_engine

        settings = (
            Settings.from_env(engine="opensearch")
            if engine == "opensearch"
            else Settings(index_dir=index_dir)
        )
        search_engine = open_engine(settings, prepare_lexicon=True)
        search_engine.generation  # noqa: B018 - opens the index before the clock starts

        def run(query: BenchQuery, with_filters: bool) -> int:
            result = search_engine.search(query.to_request(with_filters=with_filters))
            return result.total

        return run, search_engine
    from fts5 import Fts5Searcher

    searcher = Fts5Searcher(index_dir)

    def run_fts5(query: BenchQuery, with_filters: bool) -> int:
        return searcher.search(query, with_filters=with_filters)["total"]

    return run_fts5, searcher


class ClusterRequests(logging.Handler):
    """Counts the cluster client's requests by endpoint: opensearch-py logs each one it
    sends (``GET http://node/alias/_msearch [status:200 ...]``), retries included."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.endpoints: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        url = str(record.args[1]) if isinstance(record.args, tuple) else ""
        path = url.split("://", 1)[-1].split("?", 1)[0].split("/")[1:]
        self.endpoints[next((part for part in path if part.startswith("_")), "/")] += 1

    @classmethod
    def installed(cls) -> ClusterRequests:
        """A counter of every request the client sends from now on in this process."""
        counter = cls()
        client_log = logging.getLogger("opensearch")
        client_log.setLevel(logging.INFO)
        client_log.propagate = False  # counted, not printed
        client_log.addHandler(counter)
        return counter


def round_trips(samples: dict[str, list[Counter[str]]]) -> dict[str, Any]:
    """Per phase (first pass, warm repeats): requests per query on average, in all and by
    endpoint."""
    summary = {}
    for phase, counts in samples.items():
        if not counts:
            continue
        endpoints = sorted({name for count in counts for name in count})
        summary[phase] = {
            "mean": statistics.fmean(sum(count.values()) for count in counts),
            "max": max(sum(count.values()) for count in counts),
            "endpoints": {
                name: statistics.fmean(count[name] for count in counts) for name in endpoints
            },
        }
    return summary


def query(
    engine: str, index_dir: Path, queries: Sequence[BenchQuery], rounds: int, with_filters: bool
) -> dict[str, Any]:
    """Round 1 is cold (each query seen for the first time); rounds 2.. are warm.

    ``kinds`` summarises each kind of query apart, first pass and warm repeats pooled;
    ``round_trips`` counts the cluster requests each kind makes (the cluster engine).
    """
    started = time.perf_counter()
    import_engine(engine)
    imported = time.perf_counter()
    run, handle = open_searcher(engine, index_dir)
    open_seconds = time.perf_counter() - imported
    requests = ClusterRequests.installed()
    trips: dict[str, dict[str, list[Counter[str]]]] = {}
    per_round: list[list[float]] = []
    cpu_times: list[float] = []  # CPU per query: what contention for the cores cannot inflate
    # kind -> "first" / "warm" (wall) and "first_cpu" / "warm_cpu" (this thread's CPU)
    by_kind: dict[str, dict[str, list[float]]] = {}
    totals: list[int] = []
    errors: list[str] = []
    for number in range(rounds):
        latencies = []
        for item in queries:
            sent = Counter(requests.endpoints)
            began_cpu = time.thread_time()
            began = time.perf_counter()
            try:
                total = run(item, with_filters)
            except Exception as error:  # a failure is a result to report, not a crash
                total = -1
                errors.append(f"{item.query!r}: {type(error).__name__}: {error}")
            elapsed = time.perf_counter() - began
            cpu = time.thread_time() - began_cpu
            cpu_times.append(cpu)
            latencies.append(elapsed)
            if number == 0:
                totals.append(total)
            phase = "warm" if number else "first"
            samples = by_kind.setdefault(item.kind, {name: [] for name in _KIND_SAMPLES})
            samples[phase].append(elapsed)
            samples[f"{phase}_cpu"].append(cpu)
            kind_trips = trips.setdefault(item.kind, {"first": [], "warm": []})
            kind_trips[phase].append(requests.endpoints - sent)
        per_round.append(latencies)
    # A serving worker's, its engine still open. RSS counts the pages it shares with other
    # processes (libraries, mapped index files) in full; PSS divides them among the
    # processes mapping them, and USS is what this process alone holds.
    memory = psutil.Process().memory_full_info()
    heap = heap_summary()
    handle.close()
    warm_rounds = per_round[1:] or per_round
    warm = median_of([latency_summary(latencies) for latencies in warm_rounds])
    warm["qps"] = statistics.median(len(lat) / sum(lat) for lat in warm_rounds)
    return {
        "engine": engine,
        "import_seconds": imported - started,
        "open_seconds": open_seconds,
        "cold": latency_summary(per_round[0]),
        "warm": warm,
        "cpu": latency_summary(cpu_times[len(queries) :] or cpu_times),
        "by_kind": {
            kind: statistics.median(v["warm"] or v["first"]) * 1000 for kind, v in by_kind.items()
        },
        "kinds": {
            kind: {
                name: latency_summary(v[name] or v[name.replace("warm", "first")])
                for name in _KIND_SAMPLES
            }
            for kind, v in by_kind.items()
        },
        "round_trips": {kind: round_trips(samples) for kind, samples in trips.items()}
        if engine == "opensearch"
        else {},
        "totals": totals,
        "errors": errors[:20],
        "error_count": len(errors),
        "rss": memory.rss,
        "pss": getattr(memory, "pss", None),  # Linux only
        "uss": memory.uss,
        "heap": heap,
        "queries": len(queries),
        "rounds": rounds,
    }


class _Mallinfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (malloc.h, glibc 2.33 and later)."""

    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def heap_summary() -> dict[str, int] | None:
    """What the C allocator holds, in bytes (glibc only, else None): the heap's size
    (``arena``, every arena's), how much of it is free but kept (``free``, the biggest
    share of a worker's memory that no object accounts for), and large blocks mapped apart
    (``mapped``)."""
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        return None
    libc.mallinfo2.restype = _Mallinfo2
    info = libc.mallinfo2()
    return {"arena": info.arena, "free": info.fordblks, "mapped": info.hblkhd}


def open_phases(index_dir: Path) -> dict[str, Any]:
    """What ``serve`` does before its first answer, phase by phase: open the serving
    generation (checks included), then load the columns and length norms a query needs."""
    from searchsvc.index import open_index
    from searchsvc.search.columns import DocumentColumns
    from searchsvc.search.snapshot import LENGTH_FIELDS

    started = time.perf_counter()
    with open_index(index_dir) as opened:
        checked = time.perf_counter()
        with opened.searcher() as searcher:
            columns = DocumentColumns.load(searcher, LENGTH_FIELDS)
            columns.id_rank  # noqa: B018 - as the serving snapshot does before its first query
        loaded = time.perf_counter()
    return {
        "open_index": checked - started,
        "columns": loaded - checked,
        "total": loaded - started,
        "articles": len(columns.live),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build")
    build_parser.add_argument("--engine", choices=BUILD_ENGINES, required=True)
    build_parser.add_argument("--out", type=Path, required=True)
    build_parser.add_argument("sources", nargs="+", type=Path)
    query_parser = commands.add_parser("query")
    query_parser.add_argument("--engine", choices=QUERY_ENGINES, required=True)
    query_parser.add_argument("--index", type=Path, required=True)
    query_parser.add_argument("--rounds", type=int, default=5)
    query_parser.add_argument("--query-set", type=Path, default=QUERY_SET)
    query_parser.add_argument(
        "--no-filters",
        action="store_true",
        help="drop place/source/date filters (synthetic corpora)",
    )
    open_parser = commands.add_parser("open")
    open_parser.add_argument("--index", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "open":
        outcome = open_phases(args.index)
    elif args.command == "build":
        outcome = build(args.engine, args.sources, args.out)
    else:
        queries = load_query_set(args.query_set)
        outcome = query(args.engine, args.index, queries, args.rounds, not args.no_filters)
    print(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main())
