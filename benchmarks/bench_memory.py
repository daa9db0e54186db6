"""Serving memory per worker: this tree against a baseline commit, same indexes, same run.

For each index and tree, in a fresh interpreter importing ``searchsvc`` from the tree (a
``git archive`` of ``--baseline``, or this tree), the app a ``serve`` worker makes
(``create_app``, its engine reading each commit's lexicon in the background) goes through
the phases of a worker's life, and after each ``/proc/self/smaps_rollup`` gives RSS, PSS
and anonymous memory: made (every module imported, nothing opened), opened (the index's
columns loaded and the background lexicon read finished), after the first pass over the
query set (every query new, as most queries of a real archive are) and after the warm
passes. The peak is the process's high-water RSS. Then what the engine holds is walked
by one ruler for both trees (arrays by their bytes, Python objects by ``sys.getsizeof``,
memory-mapped file pages apart): the document columns, BM25 length norms, the query cache
(beside what the cache's own budget counts), the spelling lexicon and the stemmers' caches;
``other`` is the anonymous memory none of them accounts for (imported modules, the
allocator's free but unreturned memory).

With ``--workers N``, ``searchsvc serve`` of each tree then serves the index with N worker
processes; two clients send the query set (a connection per request, so every worker
answers) first once and then ``--rounds - 1`` more times, and smaps_rollup gives each
process's RSS, PSS (pages shared between processes, such as the modules the workers
inherit from the parent and mapped index files, divided among them) and private memory.

    PYTHONPATH=. python benchmarks/bench_memory.py \\
        --index 100k=/work/bench-work4/index-synthetic-100k \\
        --index 1m=/work/bench-work4/index-synthetic-1m [--baseline main] [--workers 2]

Queries are the query set's text without its filters, as in the scale run.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import mmap
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from measuring import REPO

BENCHMARKS = Path(__file__).resolve().parent
PHASES = ("made", "opened", "first pass", "warm")
COMPONENTS = ("columns", "bm25 norms", "query cache", "lexicon", "stem caches")
SMAPS_FIELDS = {"Rss": "rss", "Pss": "pss", "Anonymous": "anon"}
MiB = 2**20
#: What the ruler walks into: containers, arrays, and the objects of these modules.
_WALKED_MODULES = ("searchsvc.", "collections")
_NOT_DATA = (
    types.FunctionType,
    types.MethodType,
    types.BuiltinFunctionType,
    types.ModuleType,
    type,
)


# --- inside the probed interpreter -----------------------------------------------------


def smaps_rollup(pid: int | str = "self") -> dict[str, float]:
    """RSS, PSS and anonymous memory of a process, in MiB."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        if key in SMAPS_FIELDS:
            values[SMAPS_FIELDS[key]] = int(rest.split()[0]) / 1024
        elif key in ("Private_Clean", "Private_Dirty"):
            values["private"] = values.get("private", 0.0) + int(rest.split()[0]) / 1024
    return values


def peak_rss() -> float:
    """The process's high-water resident memory (``VmHWM``), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Ruler:
    """Bytes reachable from some objects: on the heap, and in memory-mapped files.

    One ruler measures both trees, so a component is compared by what it really holds,
    not by what the tree's own accounting says. Objects reached twice count once.
    """

    def __init__(self) -> None:
        import numpy

        self._ndarray = numpy.ndarray
        self.seen: set[int] = set()

    def measure(self, *roots: Any) -> tuple[int, int]:
        heap = mapped = 0
        stack = list(roots)
        while stack:
            obj = stack.pop()
            if id(obj) in self.seen or isinstance(obj, _NOT_DATA):
                continue
            self.seen.add(id(obj))
            if isinstance(obj, mmap.mmap):
                mapped += len(obj)
                continue
            if isinstance(obj, self._ndarray):
                heap += sys.getsizeof(obj) if obj.base is None else 112
                if obj.base is not None:
                    stack.append(obj.base)
                continue
            heap += sys.getsizeof(obj)
            stack.extend(self._parts(obj))
        return heap, mapped

    @staticmethod
    def _parts(obj: Any) -> Sequence[Any]:
        if isinstance(obj, (str, bytes, bytearray, int, float, complex, bool)) or obj is None:
            return ()
        if isinstance(obj, memoryview):
            return (obj.obj,)
        if isinstance(obj, dict):
            return [*obj.keys(), *obj.values()]
        if isinstance(obj, (list, tuple, set, frozenset)):
            return list(obj)
        if type(obj).__module__.startswith(_WALKED_MODULES):
            return gc.get_referents(obj)
        return ()


def components(engine: Any) -> dict[str, Any]:
    """What the engine's serving snapshot holds, by component, in MiB."""
    snapshot = engine._serving._snapshot
    ruler = Ruler()
    analyzers = [engine.analyses]
    for searcher in getattr(snapshot, "_idle", []):
        analyzers += [field.analyzer for field in searcher.schema if hasattr(field, "analyzer")]
    parts = {
        "columns": [snapshot._columns],
        "bm25 norms": [snapshot._bm25],
        "query cache": [_cached_value(entry) for entry in snapshot.cache._items.values()],
        "lexicon": [snapshot.lexicon],
        "stem caches": analyzers,
    }
    measured = {}
    for name, roots in parts.items():
        heap, mapped = ruler.measure(*roots)
        measured[name] = {"heap": heap / MiB, "mapped": mapped / MiB}
    cache = snapshot.cache
    measured["query cache"] |= {
        "entries": len(cache),
        "counted": getattr(cache, "used", getattr(cache, "_used", 0)) / MiB,
        "budget": cache.budget / MiB,
    }
    return measured


def _cached_value(entry: Any) -> Any:
    """A cache entry's value: entries were (value, size) tuples before they were objects."""
    return entry.value if hasattr(entry, "value") else entry[0]


def probe(index_dir: Path, rounds: int) -> dict[str, Any]:
    """A serving worker's phases over ``index_dir``: memory after each, then components."""
    sys.path.insert(0, str(BENCHMARKS))
    from query_set import load_query_set

    from searchsvc.config import Settings
    from searchsvc.web import close_app, create_app
    from searchsvc.web.state import get_state

    requests = [query.to_request(with_filters=False) for query in load_query_set()]
    app = create_app(Settings.from_env(index_dir=index_dir))  # SEARCHSVC_CACHE_MB too
    engine = get_state(app).engine
    phases = {"made": smaps_rollup()}
    engine.generation  # noqa: B018 - opens the index and loads its columns
    for thread in threading.enumerate():
        if thread.name.startswith("lexicon-"):
            thread.join()
    phases["opened"] = smaps_rollup()
    seconds = []
    for number in range(rounds):
        started = time.process_time()  # CPU: what other programs on the cores do not inflate
        for request in requests:
            engine.search(request)
        seconds.append(time.process_time() - started)
        phases["first pass" if number == 0 else "warm"] = smaps_rollup()
    result = {
        "phases": phases,
        "peak_rss": peak_rss(),
        "components": components(engine),
        "cpu_seconds": seconds,
    }
    close_app(app)
    return result


# --- the measuring side ------------------------------------------------------------------


def run_probe(tree: Path, index_dir: Path, rounds: int) -> dict[str, Any]:
    """:func:`probe` in a fresh interpreter importing ``searchsvc`` from ``tree``."""
    command = [sys.executable, __file__, "--probe", str(index_dir), "--rounds", str(rounds)]
    done = subprocess.run(
        command,
        env={**os.environ, "PYTHONPATH": str(tree)},
        cwd=tree,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"probe of {index_dir} with {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def served(tree: Path, index_dir: Path, workers: int, rounds: int) -> dict[str, Any]:
    """``searchsvc serve`` of ``tree`` with ``workers`` workers, after the query set."""
    from bench_serving import serve_variant
    from query_set import load_query_set

    paths = [
        "/api/search?" + urlencode(query.url_params(with_filters=False))
        for query in load_query_set()
    ]
    variant = serve_variant("serve", tree)
    with variant.start(index_dir, workers, 1) as server:
        server.wait_for_first_answer(timeout=600)
        for _ in range(rounds):
            errors = send_all(server.port, paths, clients=2)
        rows = process_memory(server.pid)
    return {**rows, "errors": errors}


def send_all(port: int, paths: Sequence[str], clients: int) -> int:
    """Every path once, shared among ``clients`` threads, a connection per request (so
    that each request may go to any worker); the number of answers other than 200."""
    pending = iter(paths)
    lock = threading.Lock()
    failures = [0]

    def client() -> None:
        for path in _locked(pending, lock):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
            finally:
                connection.close()
            if not ok:
                with lock:
                    failures[0] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures[0]


def _locked(items: Iterator[str], lock: threading.Lock) -> Iterator[str]:
    while True:
        with lock:
            item = next(items, None)
        if item is None:
            return
        yield item


def process_memory(pid: int) -> dict[str, Any]:
    import psutil

    master = smaps_rollup(pid)
    workers = [smaps_rollup(child.pid) for child in psutil.Process(pid).children()]
    return {
        "master": master,
        "workers": workers,
        "worker_mean": {key: statistics.fmean(w[key] for w in workers) for key in master},
        "total_pss": master["pss"] + sum(w["pss"] for w in workers),
    }


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table, MiB as whole numbers."""
    from bench_open import table as markdown_table

    cells = [[f"{cell:,.0f}" if isinstance(cell, float) else cell for cell in row] for row in rows]
    return markdown_table(list(header), cells)


def ratio(after: float, before: float) -> str:
    return f"{after / before:.2f}x" if before else "-"


def phase_rows(results: dict[str, dict[str, Any]], names: Sequence[str]) -> list[list[Any]]:
    rows = []
    for label, by_tree in results.items():
        base, this = (by_tree[name]["probe"] for name in names)
        for phase in PHASES:
            row: list[Any] = [label, phase]
            for key in ("rss", "pss", "anon"):
                before, after = base["phases"][phase][key], this["phases"][phase][key]
                row += [before, after, ratio(after, before)]
            rows.append(row)
        before, after = base["peak_rss"], this["peak_rss"]
        rows.append([label, "peak", before, after, ratio(after, before), *[""] * 6])
    return rows


def cpu_rows(results: dict[str, dict[str, Any]], names: Sequence[str]) -> list[list[Any]]:
    rows = []
    for label, by_tree in results.items():
        base, this = (by_tree[name]["probe"]["cpu_seconds"] for name in names)
        warm_base, warm_this = (
            statistics.fmean(base[1:] or base),
            statistics.fmean(this[1:] or this),
        )
        first = [f"{base[0]:.1f}", f"{this[0]:.1f}", ratio(this[0], base[0])]
        warm = [f"{warm_base:.1f}", f"{warm_this:.1f}", ratio(warm_this, warm_base)]
        rows.append([label, *first, *warm])
    return rows


def component_rows(results: dict[str, dict[str, Any]], names: Sequence[str]) -> list[list[Any]]:
    rows = []
    for label, by_tree in results.items():
        base, this = (by_tree[name]["probe"] for name in names)
        for name in COMPONENTS:
            before, after = base["components"][name], this["components"][name]
            rows.append(
                [label, name, before["heap"], after["heap"], before["mapped"], after["mapped"]]
            )
        rows.append([label, "other anonymous", *(_other(base), _other(this)), "", ""])
        for tree_name, run in zip(names, (base, this), strict=True):
            cache = run["components"]["query cache"]
            rows.append(
                [
                    label,
                    f"cache of {tree_name}: {cache['entries']:,} entries, budget "
                    f"{cache['budget']:.0f} MiB, counted {cache['counted']:.0f} MiB",
                    *[""] * 4,
                ]
            )
    return rows


def _other(run: dict[str, Any]) -> float:
    held = sum(run["components"][name]["heap"] for name in COMPONENTS)
    return run["phases"]["warm"]["anon"] - held


def served_rows(results: dict[str, dict[str, Any]], names: Sequence[str]) -> list[list[Any]]:
    rows = []
    for label, by_tree in results.items():
        for name in names:
            run = by_tree[name].get("served")
            if run is None:
                continue
            worker = run["worker_mean"]
            rows.append(
                [
                    label,
                    name,
                    len(run["workers"]),
                    f"{run['master']['rss']:,.0f} / {run['master']['pss']:,.0f}",
                    worker["rss"],
                    worker["pss"],
                    worker["private"],
                    run["total_pss"],
                    run["errors"],
                ]
            )
    return rows


def report(results: dict[str, dict[str, Any]], names: Sequence[str]) -> str:
    base, this = names
    phase_header = ["index", "phase"]
    for key in ("RSS", "PSS", "anon"):
        phase_header += [f"{key} {base} MiB", f"{key} {this} MiB", f"{this}/{base}"]
    cpu_header = ["index", f"{base} first", f"{this} first", "ratio"]
    cpu_header += [f"{base} warm", f"{this} warm", "ratio"]
    parts = [
        "One serving process (the app a `serve` worker makes), after each phase:",
        table(phase_header, phase_rows(results, names)),
        "",
        "CPU seconds of one pass over the query set (warm: the mean of the warm passes):",
        table(cpu_header, cpu_rows(results, names)),
        "",
        "What it holds after the warm passes (heap / memory-mapped file pages, MiB):",
        table(
            [
                "index",
                "component",
                f"{base} heap",
                f"{this} heap",
                f"{base} mapped",
                f"{this} mapped",
            ],
            component_rows(results, names),
        ),
    ]
    rows = served_rows(results, names)
    if rows:
        header = ["index", "tree", "workers", "parent RSS / PSS MiB", "worker RSS MiB"]
        header += ["worker PSS MiB", "worker private MiB", "all processes PSS MiB", "errors"]
        parts += ["", "`searchsvc serve` after the query set (worker: mean):", table(header, rows)]
    return "\n".join(parts)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--index", action="append", default=[], metavar="LABEL=DIR", help="an index to serve"
    )
    parser.add_argument("--baseline", default="main", help="commit or branch to compare with")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the query set")
    parser.add_argument("--workers", type=int, default=2, help="serve's workers (0: skip)")
    parser.add_argument("--json", type=Path, help="write the measurements here too")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.probe:
        print(json.dumps(probe(args.probe, args.rounds)))
        return 0
    from bench_open import extract_tree

    indexes = dict(spec.split("=", 1) for spec in args.index)
    names = (args.baseline, "this tree")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch:
        trees = {names[0]: extract_tree(args.baseline, Path(scratch)), names[1]: REPO}
        for label, index in indexes.items():
            results[label] = {}
            for name, tree in trees.items():
                print(f"{label}: {name} in process", file=sys.stderr, flush=True)
                run = {"probe": run_probe(tree, Path(index), args.rounds)}
                if args.workers:
                    print(f"{label}: {name} served", file=sys.stderr, flush=True)
                    run["served"] = served(tree, Path(index), args.workers, args.rounds)
                results[label][name] = run
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(report(results, names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
