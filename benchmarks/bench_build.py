"""Full index build of Reuters-21578: our pipeline next to a plain Whoosh build.

Both builds read the same 22 SGML files with the same readers (parsing and places
included) and run in their own child process, so each one's peak memory (the whole
process tree, workers included, sampled every 20 ms) is its own::

    python benchmarks/bench_build.py                 # both builds, table
    python benchmarks/bench_build.py --repeat 3      # best of three each
    python benchmarks/bench_build.py --profile       # where a single process spends time
    python benchmarks/bench_build.py --baseline DIR --repeat 3   # vs another checkout and FTS5

``--write-side --baseline DIR`` times only what follows the analysis: the documents are
analysed once, then each checkout's segment writer adds them and writes the segment, in a
fresh process per run (CPU seconds of ``add_document`` and of the segment's flush)::

    python benchmarks/bench_build.py --write-side --baseline DIR --repeat 3

``--stages`` (with ``--baseline DIR``) splits the CPU of a 2-worker build by stage: the
start-up (the interpreter and the imports, before the build starts and forks), reading,
datelines, places, language, tokenizing, stemming, the feedback terms, signatures, the
rest of adding a document, the segment write, the merge's processes, and whatever is left
(the parent's start, merge and checks, the workers' start and end), each stage's
own time without the stages it calls, summed over the workers. A stage's time carries the
cost of two ``process_time`` calls per timed call (under 0.2 s over the whole build).

``--baseline DIR`` compares this code's build with the build of another checkout of the
project (``git archive main | tar -x -C DIR``) and with SQLite FTS5 fed by the same readers,
alternating the three in each round, so all see the same load; the median run of each is
shown with its speed as a fraction of FTS5's. ``--sources`` builds other files than Reuters
(a folder of synthetic JSON Lines, say).

"ours" is ``searchsvc build-index`` (worker processes, NLTK analysis, bulk segment
writer, verification, atomic switch). "plain" is what a Whoosh user would write:
``StemmingAnalyzer`` on stored title and body, exact facet fields, one default
``ix.writer()``, one commit.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REUTERS = REPO.parent / "shared" / "corpora" / "reuters21578"


def reuters_files(reuters_dir: Path) -> list[Path]:
    files = sorted(Path(reuters_dir).glob("reut2-*.sgm"))
    if not files:
        sys.exit(f"no reut2-*.sgm files in {reuters_dir}")
    return files


def printed_records(command: list[str], tree: Path) -> list[dict]:
    """Run ``command`` with ``tree``'s code (first on ``PYTHONPATH``, from its folder); the
    JSON objects it printed, one a line."""
    out = run_measured(command, {**os.environ, "PYTHONPATH": str(tree)}, tree)[3]
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def run_measured(
    command: list[str], env: dict[str, str], cwd: Path = REPO
) -> tuple[float, float, int, str]:
    """Run ``command`` in ``cwd``; wall seconds, CPU seconds and peak RSS of its whole
    process tree (worker processes included), stdout. CPU time tells a build's cost even
    when other programs compete for the cores. (``python -m`` imports from ``cwd`` first,
    whatever ``PYTHONPATH`` says.)"""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, cwd=cwd)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(process.pid)
        while not stop.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                peak = max(peak, sum(_rss(p) for p in tree))
            except psutil.NoSuchProcess:
                return
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = process.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    if process.returncode:
        sys.exit(f"{' '.join(command)} failed with exit status {process.returncode}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, peak, out


def _rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.NoSuchProcess:
        return 0


def directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def measure_ours(files: list[Path], workdir: Path) -> dict[str, Any]:
    index_dir = workdir / "ours"
    env = {**os.environ, "SEARCHSVC_INDEX_DIR": str(index_dir)}
    command = [sys.executable, "-m", "searchsvc", "build-index", *map(str, files)]
    seconds, cpu, peak, out = run_measured(command, env)
    indexed = int(_line_value(out, "articles indexed:"))
    stories = int(_line_value(out, "articles read:")) + int(_line_value(out, "skipped:"))
    generation = (index_dir / "CURRENT").read_text().strip()
    gen_dir = index_dir / "generations" / generation
    meta = json.loads((gen_dir / "meta.json").read_text())
    return {
        "build": "ours (searchsvc build-index)",
        "stories": stories,
        "indexed": indexed,
        "seconds": seconds,
        "cpu": cpu,
        "peak_rss": peak,
        "bytes": directory_bytes(gen_dir),
        "phases": meta.get("phase_seconds"),
        "procs": meta.get("procs"),
    }


def measure_plain(files: list[Path], workdir: Path) -> dict[str, Any]:
    out_dir = workdir / "plain"
    command = [sys.executable, __file__, "--plain-child", str(out_dir), *map(str, files)]
    seconds, cpu, peak, out = run_measured(command, dict(os.environ))
    counts = json.loads(out)
    return {
        "build": "plain Whoosh (StemmingAnalyzer, 1 writer)",
        "stories": counts["stories"],
        "indexed": counts["indexed"],
        "seconds": seconds,
        "cpu": cpu,
        "peak_rss": peak,
        "bytes": directory_bytes(out_dir),
    }


def plain_whoosh_build(out_dir: Path, files: list[Path]) -> dict[str, int]:
    """The baseline, run in the child process."""
    from whoosh import fields, index
    from whoosh.analysis import StemmingAnalyzer

    from searchsvc.articles import IngestReport
    from searchsvc.articles.sources import read_articles

    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True),
        title=fields.TEXT(analyzer=StemmingAnalyzer(), stored=True, field_boost=2.0),
        body=fields.TEXT(analyzer=StemmingAnalyzer(), stored=True),
        place=fields.ID(stored=True, sortable=True),
        places=fields.KEYWORD(stored=True),
        source=fields.ID(stored=True, sortable=True),
        date=fields.DATETIME(stored=True, sortable=True),
    )
    out_dir.mkdir(parents=True)
    ix = index.create_in(str(out_dir), schema)
    writer = ix.writer()
    report = IngestReport()
    indexed = 0
    for article in read_articles(files, report, max_file_bytes=1 << 30):
        doc: dict[str, Any] = {"id": article.id, "title": article.title, "body": article.body}
        doc["places"] = " ".join(place.key for place in article.places)
        if article.source:
            doc["source"] = article.source.lower()
        if article.dateline_place is not None:
            doc["place"] = article.dateline_place.key
        if article.date is not None:
            doc["date"] = dt.datetime.combine(article.date, dt.time())
        writer.add_document(**doc)
        indexed += 1
    writer.commit()
    stories = report.articles + sum(report.skipped.values())
    return {"stories": stories, "indexed": indexed}


def profile_single_process(files: list[Path], workdir: Path, top: int) -> None:
    """cProfile of the build with one process (no workers), where time goes."""
    from searchsvc.config import Settings
    from searchsvc.index import build_index

    settings = Settings.from_env({}, index_dir=workdir / "profiled", build_procs=1)
    profiler = cProfile.Profile(time.process_time)  # CPU time: the machine may be shared
    profiler.enable()
    build_index(files, settings, show_progress=False)
    profiler.disable()
    stats = pstats.Stats(profiler)
    print("\n-- cumulative --")
    stats.sort_stats("cumulative").print_stats(top)
    print("\n-- own time --")
    stats.sort_stats("tottime").print_stats(top)


#: Stages of the build's CPU: each name's functions, as ``module:attribute`` (a method as
#: ``module:Class.method``). Readers bind some of them by name: every module of
#: ``searchsvc.articles`` holding the same function object is patched too.
STAGES: dict[str, tuple[str, ...]] = {
    "reading": ("searchsvc.articles.sources:read_file",),
    "datelines": (
        "searchsvc.articles.datelines:parse_tag_dateline",
        "searchsvc.articles.datelines:parse_dateline",
    ),
    "places": ("searchsvc.articles.placing:locate",),
    "language": ("searchsvc.articles.languages:article_language",),
    "tokenizing": ("searchsvc.analysis:NewsAnalysis.surface_positions",),
    "stemming": ("searchsvc.index.schema:NewsText.surface_terms",),
    "feedback terms": ("searchsvc.index.schema:feedback_terms",),
    "signatures": ("searchsvc.index.schema:signature", "searchsvc.index.schema:signatures"),
    "add_document, rest": ("searchsvc.index.segments:BulkSegmentWriter.add_document",),
    "segment write": ("searchsvc.index.workers:_finish_segment",),
}


class StageClock:
    """Each stage's own CPU seconds: the time inside its calls less that of the timed
    stages they call."""

    def __init__(self) -> None:
        self.own: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self._inner: list[float] = []

    def timed(self, stage: str, function: Any) -> Any:
        import functools
        import inspect

        clock, inner, own = time.process_time, self._inner, self.own

        def charge(started: float) -> None:
            spent = clock() - started
            own[stage] += spent - inner.pop()
            if inner:
                inner[-1] += spent

        if inspect.isgeneratorfunction(function):

            @functools.wraps(function)
            def generator(*args: Any, **kwargs: Any) -> Any:
                items = function(*args, **kwargs)
                while True:
                    started = clock()
                    inner.append(0.0)
                    try:
                        item = next(items)
                    except StopIteration:
                        charge(started)
                        return
                    charge(started)
                    yield item

            return generator

        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            inner.append(0.0)
            try:
                return function(*args, **kwargs)
            finally:
                charge(started)

        return call

    def install(self) -> None:
        import importlib
        import pkgutil

        import searchsvc.articles

        readers = [
            importlib.import_module(f"searchsvc.articles.{module.name}")
            for module in pkgutil.iter_modules(searchsvc.articles.__path__)
        ]
        for stage, targets in STAGES.items():
            for target in targets:
                module_name, _, attribute = target.partition(":")
                owner: Any = importlib.import_module(module_name)
                *path, name = attribute.split(".")
                for part in path:
                    owner = getattr(owner, part)
                original = getattr(owner, name, None)
                if original is None:
                    continue  # not in this checkout
                wrapped = self.timed(stage, original)
                setattr(owner, name, wrapped)
                for reader in readers:
                    if getattr(reader, name, None) is original:
                        setattr(reader, name, wrapped)


def stages_child(out_dir: Path, files: list[Path]) -> None:
    """A 2-worker build with every stage timed; prints each stage's CPU summed over the
    processes, as JSON. Forked workers inherit the timers and write their totals down."""
    from searchsvc.config import Settings
    from searchsvc.index import build_index, parallel

    clock = StageClock()
    clock.install()
    totals_dir = out_dir / "stage-totals"
    totals_dir.mkdir(parents=True)
    run_worker = parallel.run_worker

    def run_and_record(*args: Any, **kwargs: Any) -> Any:
        outcome = run_worker(*args, **kwargs)
        own = {**clock.own, "process": time.process_time()}
        (totals_dir / f"{os.getpid()}.json").write_text(json.dumps(own))
        return outcome

    parallel.run_worker = run_and_record
    settings = Settings.from_env({}, index_dir=out_dir / "index", build_procs=2)
    started = time.process_time()  # since the process started: the interpreter, imports
    count = build_index(files, settings, show_progress=False)
    parent = time.process_time() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = [json.loads(path.read_text()) for path in totals_dir.iterdir()]
    in_workers = sum(w["process"] for w in workers)
    stages = {"start-up (interpreter, imports)": started}
    stages.update({stage: sum(w[stage] for w in workers) for stage in STAGES})
    rest = started + parent + in_workers - sum(stages.values())
    # The merge's pool processes, which no timer reaches (every child process ended and
    # waited for, less the workers' own CPU).
    stages["merge's processes"] = children.ru_utime + children.ru_stime - in_workers
    stages["rest (parent, workers' start and end)"] = rest
    print(json.dumps({"stages": stages, "result": str(count)}))


def compare_stages(baseline: Path, files: list[Path], workdir: Path, repeat: int) -> None:
    """Stage CPU of the baseline checkout and of this code, alternated; medians."""
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "this code": []}
    for number in range(repeat):
        for name, tree in (("baseline", baseline), ("this code", REPO)):
            out_dir = workdir / f"stages-{number}-{name.replace(' ', '-')}"
            command = [sys.executable, __file__, "--stages-child", str(out_dir), *map(str, files)]
            env = {**os.environ, "PYTHONPATH": str(tree)}
            _, cpu, _, out = run_measured(command, env)
            stages = json.loads(out.strip().splitlines()[-1])["stages"]
            runs[name].append({**stages, "whole build (CPU of the process tree)": cpu})
            print(f"round {number + 1}: {name:9} {cpu:6.1f} CPU s")
    print(f"\n{'stage (CPU s, median of runs)':40} {'baseline':>9} {'this code':>9} {'ratio':>6}")
    for stage in runs["baseline"][0]:
        base, ours = (_median([run[stage] for run in runs[name]]) for name in runs)
        ratio = f"{ours / base:5.2f}x" if base > 0.05 else ""
        print(f"{stage:40} {base:9.2f} {ours:9.2f} {ratio:>6}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


COMPARED = ("baseline", "this code", "fts5")


def measure_engine(tree: Path, engine: str, sources: list[Path], out_dir: Path) -> dict[str, Any]:
    """One build by ``benchmarks/bench_worker.py`` of the checkout ``tree``, in a fresh process."""
    worker = tree / "benchmarks" / "bench_worker.py"
    command = [sys.executable, str(worker), "build", "--engine", engine, "--out", str(out_dir)]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    seconds, cpu, peak, out = run_measured([*command, *map(str, sources)], env)
    result = json.loads(out.strip().splitlines()[-1])
    return {"seconds": seconds, "cpu": cpu, "peak_rss": peak, **result}


def compare_builds(
    baseline: Path, sources: list[Path], workdir: Path, repeat: int
) -> dict[str, list[dict[str, Any]]]:
    """``repeat`` rounds of: the baseline checkout's build, this code's, FTS5's."""
    builds = {
        "baseline": (baseline, "searchsvc"),
        "this code": (REPO, "searchsvc"),
        "fts5": (REPO, "fts5"),
    }
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in COMPARED}
    for number in range(repeat):
        for name in COMPARED:
            tree, engine = builds[name]
            out_dir = workdir / f"{engine}-{len(runs[name])}-{name.replace(' ', '-')}"
            runs[name].append(measure_engine(tree, engine, sources, out_dir))
            row = runs[name][-1]
            print(f"round {number + 1}: {name:9} {row['article_count'] / row['seconds']:7.0f}/s")
    return runs


def print_comparison(runs: dict[str, list[dict[str, Any]]]) -> None:
    """Median run (by wall time) of each build; speeds as a fraction of FTS5's, same run."""
    medians = {
        name: sorted(rows, key=lambda row: row["seconds"])[len(rows) // 2]
        for name, rows in runs.items()
    }
    fts5_rate = medians["fts5"]["article_count"] / medians["fts5"]["seconds"]
    header = f"{'build':10} {'articles':>8} {'wall s':>7} {'articles/s':>10} {'CPU s':>6} "
    header += f"{'peak MiB':>8} {'index MiB':>9} {'x FTS5':>7} {'runs (articles/s)':>24}"
    print(header)
    print("-" * len(header))
    for name in COMPARED:
        row = medians[name]
        rate = row["article_count"] / row["seconds"]
        all_rates = ", ".join(f"{r['article_count'] / r['seconds']:.0f}" for r in runs[name])
        print(
            f"{name:10} {row['article_count']:8d} {row['seconds']:7.2f} {rate:10.0f} "
            f"{row['cpu']:6.1f} {row['peak_rss'] / 2**20:8.0f} {row['index_bytes'] / 2**20:9.1f} "
            f"{rate / fts5_rate:6.2f}x {all_rates:>24}"
        )
    ours, base = medians["this code"], medians["baseline"]
    print(f"\nthis code / baseline, articles/s: {base['seconds'] / ours['seconds']:.2f}x")
    print(f"this code / baseline, CPU s: {ours['cpu'] / base['cpu']:.2f}x")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


def analyse_to_file(files: list[Path], out: Path) -> None:
    """The documents a build worker hands its segment writer, pickled (child process)."""
    import pickle

    from whoosh.filedb.filestore import FileStorage

    from searchsvc.articles.model import IngestReport
    from searchsvc.articles.sources import read_file
    from searchsvc.index.schema import article_document, make_schema
    from searchsvc.places import load_places

    load_places()
    folder = out.parent / "analysed-index"
    folder.mkdir()
    plain = FileStorage(str(folder)).create_index(make_schema()).schema["title_words"].analyzer
    report = IngestReport()
    documents = [
        article_document(article, plain)
        for path in files
        for article in read_file(path, report, max_file_bytes=1 << 30)
    ]
    out.write_bytes(pickle.dumps(documents, pickle.HIGHEST_PROTOCOL))


def write_segment(documents_file: Path, out_dir: Path) -> dict[str, float]:
    """CPU seconds of adding the analysed documents to one segment and writing it (child
    process; the segment writer is the one of the checkout first on ``PYTHONPATH``)."""
    import gc
    import pickle

    from whoosh.filedb.filestore import FileStorage

    from searchsvc.index.schema import make_schema
    from searchsvc.index.segments import BulkSegmentWriter

    documents = pickle.loads(documents_file.read_bytes())
    out_dir.mkdir(parents=True)
    ix = FileStorage(str(out_dir)).create_index(make_schema())
    gc.disable()  # as in a build worker
    started = time.process_time()
    writer = BulkSegmentWriter(ix, compression=1)
    for document in documents:
        writer.add_document(**document)
    added = time.process_time()
    writer._finalize_segment()
    flushed = time.process_time()
    return {"add_document": added - started, "flush": flushed - added}


def compare_write_side(baseline: Path, files: list[Path], workdir: Path, repeat: int) -> None:
    """Median CPU of the write side, this code against ``baseline``, alternating runs."""
    documents = workdir / "documents.pickle"
    child = [sys.executable, __file__]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(
        [*child, "--analysed-child", str(documents), *map(str, files)], env=env, check=True
    )
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "this code": []}
    for number in range(repeat):
        for name, tree in (("baseline", baseline), ("this code", REPO)):
            out_dir = workdir / f"segment-{number}-{name.replace(' ', '-')}"
            command = [*child, "--write-child", str(documents), str(out_dir)]
            env = {**os.environ, "PYTHONPATH": str(tree)}
            out = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
            runs[name].append(json.loads(out.stdout))
    print(f"{'checkout':10} {'add_document s':>14} {'flush s':>8} {'total s':>8}  (median CPU)")
    medians = {}
    for name, rows in runs.items():
        medians[name] = {key: sorted(row[key] for row in rows)[len(rows) // 2] for key in rows[0]}
        row = medians[name]
        total = row["add_document"] + row["flush"]
        print(f"{name:10} {row['add_document']:14.2f} {row['flush']:8.2f} {total:8.2f}")
    ours, base = medians["this code"], medians["baseline"]
    for key in ("add_document", "flush"):
        print(f"this code / baseline, {key} CPU: {ours[key] / base[key]:.2f}x")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


def _line_value(text: str, prefix: str) -> str:
    for line in text.splitlines():
        if line.startswith(prefix):
            return line[len(prefix) :].split()[0].replace(",", "")
    raise ValueError(f"no line starting {prefix!r} in:\n{text}")


def print_table(rows: list[dict[str, Any]]) -> None:
    header = f"{'build':44} {'stories':>7} {'indexed':>7} {'seconds':>7} {'indexed/s':>9} "
    header += f"{'stories/s':>9} {'CPU s':>6} {'ms CPU/art':>10} {'peak RSS':>9} {'index':>9}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['build']:44} {row['stories']:7d} {row['indexed']:7d} {row['seconds']:7.1f} "
            f"{row['indexed'] / row['seconds']:9.0f} {row['stories'] / row['seconds']:9.0f} "
            f"{row['cpu']:6.1f} {1000 * row['cpu'] / row['indexed']:10.2f} "
            f"{row['peak_rss'] / 2**20:6.0f} MB {row['bytes'] / 2**20:6.1f} MB"
        )
    ours, plain = rows[0], rows[1]
    ratio = (ours["indexed"] / ours["seconds"]) / (plain["indexed"] / plain["seconds"])
    cpu_ratio = (plain["cpu"] / plain["indexed"]) / (ours["cpu"] / ours["indexed"])
    print(f"\nours / plain, indexed articles per second: {ratio:.2f}x")
    print(f"ours / plain, articles per CPU second: {cpu_ratio:.2f}x")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (other programs slow both)")
    if ours.get("phases"):
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in ours["phases"].items())
        print(f"ours, inside the build: {phases} ({ours['procs']} worker processes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuters", type=Path, default=DEFAULT_REUTERS)
    parser.add_argument("--repeat", type=int, default=1, help="runs per build; best is kept")
    parser.add_argument("--profile", action="store_true", help="cProfile a 1-process build")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with, and FTS5")
    parser.add_argument("--sources", type=Path, nargs="+", help="build these instead of Reuters")
    parser.add_argument("--write-side", action="store_true", help="time only segment writing")
    parser.add_argument("--stages", action="store_true", help="CPU by stage, vs --baseline")
    parser.add_argument("--plain-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--analysed-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--write-child", type=Path, nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--stages-child", type=Path, help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.plain_child:
        print(json.dumps(plain_whoosh_build(args.plain_child, [Path(p) for p in rest])))
        return
    if args.analysed_child:
        analyse_to_file([Path(p) for p in rest], args.analysed_child)
        return
    if args.write_child:
        print(json.dumps(write_segment(*args.write_child)))
        return
    if args.stages_child:
        stages_child(args.stages_child, [Path(p) for p in rest])
        return
    files = args.sources or reuters_files(args.reuters)
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        if args.write_side:
            if not args.baseline:
                sys.exit("--write-side compares with a --baseline checkout")
            compare_write_side(args.baseline, files, Path(tmp), args.repeat)
            return
        if args.stages and args.baseline:
            compare_stages(args.baseline, files, Path(tmp), args.repeat)
            return
        if args.baseline:
            print(f"{len(files)} source paths ({files[0]} ...), {os.cpu_count()} CPUs")
            print_comparison(compare_builds(args.baseline, files, Path(tmp), args.repeat))
            return
        if args.profile:
            profile_single_process(files, Path(tmp), args.top)
            return
        rows = []
        for measure in (measure_ours, measure_plain):
            runs = [measure(files, Path(tmp) / f"run{n}") for n in range(args.repeat)]
            rows.append(min(runs, key=lambda row: row["seconds"]))
    print(f"Reuters-21578: {len(files)} files in {args.reuters}, {os.cpu_count()} CPUs\n")
    print_table(rows)


if __name__ == "__main__":
    main()
