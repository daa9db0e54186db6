"""Load test: many clients against ``searchsvc serve`` while a full rebuild runs and lands.

Starts the real server (``searchsvc serve``) on a free loopback port over an index built in a
temporary directory, then runs CLIENTS threads for DURATION seconds with a realistic
query mix (words, phrases, facet filters, deep pages, misspellings, article pages),
starts ``POST /api/index/rebuild`` shortly after the start and follows it until the new
generation serves. Every response must be JSON, none may be a 5xx, no connection may
fail; the open file descriptors and memory of the server's processes (the supervisor and
its workers, summed) are sampled with psutil throughout.

    python benchmarks/load_test.py                  # 32 clients x 60 s over Reuters-21578
    python benchmarks/load_test.py --quick          # 4 clients x 5 s over a generated corpus
    python benchmarks/load_test.py --json out.json  # also write the figures as JSON

Exits 1 when any check fails. Loopback only; bounded by --duration and --max-requests.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import random
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import psutil
from http_load import HOST, Server, Terminated

REPO_ROOT = Path(__file__).resolve().parents[1]
REUTERS = REPO_ROOT.parent / "shared" / "corpora" / "reuters21578"
SERVER_START_TIMEOUT = 600.0
# A client thread waits at most this long for one answer before counting an error.
REQUEST_TIMEOUT = 30.0
MIX = [  # (kind, weight)
    ("word", 30),
    ("words", 15),
    ("phrase", 12),
    ("filter", 13),
    ("deep_page", 8),
    ("misspelling", 10),
    ("date", 5),
    ("article", 5),
    ("related", 2),
]
FD_SLACK = 8  # sockets of in-flight requests come and go
# Memory is compared under load: just before the new generation serves (the old one fully
# warmed) and at the end, after AFTER_SWITCH_SHARE of the duration on the new one.
AFTER_SWITCH_SHARE = 0.25
RSS_GROWTH_LIMIT = 0.25  # fraction


@dataclass
class Sample:
    kind: str
    status: int
    seconds: float
    valid_json: bool


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    resources: list[dict[str, float]] = field(default_factory=list)
    events: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


# --- corpus and server ---------------------------------------------------------------------

# Vocabulary of the invented stories.
_WORD_LIST = (
    "oil crude tanker grain wheat corn soybean bank rate interest dollar yen mark "
    "sterling gold silver copper tin coffee cocoa sugar shares profit loss dividend "
    "merger takeover strike port harbour minister election tariff trade deficit "
    "export import budget"
)
WORDS = tuple(_WORD_LIST.split())
CITIES = ["LONDON", "NEW YORK", "TOKYO", "PARIS", "FRANKFURT", "CHICAGO", "SYDNEY", "BAKU"]


def write_quick_corpus(root: Path, articles: int = 400, files: int = 4, seed: int = 7) -> Path:
    """A few hundred invented wire stories in JSON Lines, enough for every query kind."""
    rnd = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for part in range(files):
        _write_quick_part(root / f"stories-{part}.jsonl", range(part, articles, files), rnd)
    return root


def _write_quick_part(path: Path, numbers: range, rnd: random.Random) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for number in numbers:
            city = rnd.choice(CITIES)
            words = " ".join(rnd.choice(WORDS) for _ in range(60))
            record = {
                "id": f"quick-{number}",
                "title": " ".join(rnd.choice(WORDS) for _ in range(6)).capitalize(),
                "body": f"{city}, March {1 + number % 28} - {words}.",
                "date": f"198{number % 8}-{1 + number % 12:02d}-{1 + number % 28:02d}",
                "source": rnd.choice(["Reuters", "AP", "AFP"]),
            }
            handle.write(json.dumps(record) + "\n")


# --- requests ------------------------------------------------------------------------------


def fetch(
    port: int, path: str, method: str = "GET", headers: dict | None = None
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@dataclass
class Vocabulary:
    words: list[str]
    phrases: list[str]
    filters: list[tuple[str, str]]
    ids: list[str]


def learn_vocabulary(port: int) -> Vocabulary:
    """Words, phrases, facet keys and ids taken from what the index actually holds."""
    status, body = fetch(port, "/api/search?" + urlencode({"q": "", "per_page": 100}))
    if status != 200:
        raise RuntimeError(f"browse failed: {status} {body[:200]!r}")
    result = json.loads(body)
    words: set[str] = set()
    phrases: list[str] = []
    for hit in result["hits"]:
        title = re.sub(r"<[^>]+>", "", hit["title"])
        tokens = [t.lower() for t in re.findall(r"[A-Za-z]{4,}", title)]
        words.update(tokens)
        phrases += [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
    filters = [
        (name, value["key"])
        for name, facet in result["facets"].items()
        for value in facet["values"]
    ]
    return Vocabulary(
        words=sorted(words) or WORDS,
        phrases=phrases or ["crude oil"],
        filters=filters,
        ids=[hit["id"] for hit in result["hits"]],
    )


def misspell(word: str, rnd: random.Random) -> str:
    if len(word) < 5:
        return word + rnd.choice("es")
    i = rnd.randrange(1, len(word) - 1)
    return rnd.choice([word[:i] + word[i + 1 :], word[:i] + word[i + 1] + word[i] + word[i + 2 :]])


def make_request(kind: str, vocab: Vocabulary, rnd: random.Random) -> str:
    word = rnd.choice(vocab.words)
    params: dict[str, Any] = {}
    if kind == "word":
        params = {"q": word}
    elif kind == "words":
        params = {"q": f"{word} {rnd.choice(vocab.words)}"}
    elif kind == "phrase":
        params = {"q": f'"{rnd.choice(vocab.phrases)}"'}
    elif kind == "filter" and vocab.filters:
        name, key = rnd.choice(vocab.filters)
        params = {"q": rnd.choice(["", word]), name: key}
    elif kind == "deep_page":
        params = {
            "q": rnd.choice(["", word]),
            "page": rnd.randint(2, 1000),
            "per_page": rnd.choice([10, 50, 100]),
        }
    elif kind == "misspelling":
        params = {"q": misspell(word, rnd)}
    elif kind == "date":
        year = rnd.randint(1980, 1990)
        params = {
            "q": rnd.choice(["", word]),
            "date_from": f"{year}-01",
            "date_to": f"{year}-12",
            "sort": rnd.choice(["newest", "oldest"]),
        }
    elif kind in ("article", "related") and vocab.ids:
        path = "/api/articles/" + quote(rnd.choice(vocab.ids), safe="")
        return path + ("/related" if kind == "related" else "")
    else:
        params = {"q": word}
    return "/api/search?" + urlencode(params)


def client_loop(
    number: int, port: int, vocab: Vocabulary, run: Run, stop: threading.Event, budget: list[int]
) -> None:
    rnd = random.Random(number)
    kinds = [kind for kind, _ in MIX]
    weights = [weight for _, weight in MIX]
    connection: http.client.HTTPConnection | None = None
    while not stop.is_set():
        with run.lock:
            if budget[0] <= 0:
                return
            budget[0] -= 1
        kind = rnd.choices(kinds, weights)[0]
        path = make_request(kind, vocab, rnd)
        started = time.perf_counter()
        try:
            if connection is None:
                connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = None
        except (OSError, http.client.HTTPException) as error:
            run.error(f"{kind} {path[:80]}: {type(error).__name__}: {error}")
            if connection is not None:
                connection.close()
            connection = None
            continue
        elapsed = time.perf_counter() - started
        try:
            json.loads(body)
            valid = True
        except ValueError:
            valid = False
        run.add(Sample(kind, status, elapsed, valid))
    if connection is not None:
        connection.close()


def serving_processes(pid: int) -> list[psutil.Process]:
    """The server: its supervisor and the worker processes it forked (which answer).

    A rebuild's ``build-index`` is a child of a worker, not of the supervisor: it is not
    part of the serving tree and its files and memory are not counted here.
    """
    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=False)]


def _total(processes: list[psutil.Process], measure: Any) -> int:
    total = 0
    for process in processes:
        try:
            total += measure(process)
        except psutil.Error:  # a worker replaced mid-sample
            continue
    return total


def watch_resources(pid: int, run: Run, stop: threading.Event, started: float) -> None:
    while not stop.wait(0.5):
        try:
            processes = serving_processes(pid)
        except psutil.Error:
            return
        sample = {
            "t": round(time.monotonic() - started, 2),
            "processes": len(processes),
            "fds": _total(processes, psutil.Process.num_fds),
            "rss_mib": _total(processes, lambda p: p.memory_info().rss) / 1_048_576,
            "threads": _total(processes, psutil.Process.num_threads),
        }
        with run.lock:
            run.resources.append(sample)


def resources_at_rest(pid: int, port: int) -> dict[str, Any]:
    """Descriptors and memory of the serving processes once the clients' sockets are closed
    (waited for, up to 10 s), summed over the supervisor and its workers.

    Open files of the serving generation are counted apart from everything else: a new
    generation may have a different number of segment files, while a leak shows up as
    files of a generation no longer served, or as other descriptors piling up. A worker
    lets a replaced generation go within a second of the switch, request or not
    (``FOLLOW_SECONDS``), so those files are waited for too, up to 5 s, with no request
    made meanwhile: one would make the worker it reaches look again.
    """
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        processes = serving_processes(pid)
        sockets = [
            c
            for process in processes
            for c in process.net_connections(kind="tcp")
            if c.status != psutil.CONN_LISTEN
        ]
        if not sockets:
            break
        time.sleep(0.2)
    serving = json.loads(fetch(port, "/healthz")[1])["generation"]
    deadline = time.monotonic() + 5
    while True:
        processes = serving_processes(pid)
        generation_files = [
            (process.pid, f.path)
            for process in processes
            for f in process.open_files()
            if "/generations/" in f.path
        ]
        stale = [
            f"{pid}: {path}"
            for pid, path in generation_files
            if f"/generations/{serving}" not in path
        ]
        if not stale or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    fds = _total(processes, psutil.Process.num_fds)
    return {
        "processes": len(processes),
        "fds": fds,
        "index_files": len(generation_files) - len(stale),
        "stale_files": len(stale),
        "stale_examples": stale[:10],
        "other_fds": fds - len(generation_files),
        "rss_mib": _total(processes, lambda p: p.memory_info().rss) / 1_048_576,
    }


def rebuild_and_follow(
    port: int, token: str, run: Run, started: float, stop: threading.Event, delay: float
) -> None:
    """Start a rebuild after ``delay`` seconds; note when it starts, ends and serves."""
    if stop.wait(delay):
        return
    try:
        _rebuild_and_follow(port, token, run, started, stop)
    except (OSError, http.client.HTTPException, ValueError, KeyError) as error:
        run.error(f"following the rebuild: {type(error).__name__}: {error}")


def _rebuild_and_follow(
    port: int, token: str, run: Run, started: float, stop: threading.Event
) -> None:
    status, body = fetch(port, "/api/index/rebuild", "POST", {"Authorization": f"Bearer {token}"})
    run.events["rebuild_requested_s"] = time.monotonic() - started
    if status != 202:
        run.error(f"rebuild refused: {status} {body[:200]!r}")
        return
    target = json.loads(body)["job"]["generation"]
    while not stop.is_set():
        status, body = fetch(port, "/api/index/status")
        state = json.loads(body)
        if state["state"] == "failed":
            run.error(f"rebuild failed: {state.get('error')}")
            return
        serving = (state.get("serving") or {}).get("generation")
        if state["state"] == "idle" and "rebuild_built_s" not in run.events:
            run.events["rebuild_built_s"] = time.monotonic() - started
        _, health = fetch(port, "/healthz")
        if json.loads(health).get("generation") == target or serving == target:
            run.events["rebuild_serving_s"] = time.monotonic() - started
            run.events["generation_after"] = target
            return
        time.sleep(0.25)


# --- running and reporting -----------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run_load(args: argparse.Namespace) -> dict[str, Any]:
    """Everything happens in a temporary directory, removed at the end."""
    workdir = Path(tempfile.mkdtemp(prefix="searchsvc-load-"))
    try:
        return _run_load(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run_load(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    corpus = write_quick_corpus(workdir / "corpus") if args.quick else Path(args.corpus)
    if not corpus.exists():
        raise SystemExit(f"corpus not found: {corpus} (give --corpus or use --quick)")
    token = secrets.token_urlsafe(24)
    print(f"building the index over {corpus} and starting the server ...", file=sys.stderr)
    server = Server(
        workdir / "index",
        threads=args.threads,
        settings={"SEARCHSVC_CORPUS": str(corpus), "SEARCHSVC_ADMIN_TOKEN": token},
        inherit_settings=False,
    )
    run = Run()
    stop = threading.Event()
    try:
        # The first start builds the index, then serves.
        first_build_s = server.wait_for_first_answer(SERVER_START_TIMEOUT)
        vocab = learn_vocabulary(server.port)
        _, health = fetch(server.port, "/healthz")
        generation_before = json.loads(health)["generation"]
        # Warm-up, so start-of-run figures are not those of a cold process.
        warm = random.Random(0)
        for _ in range(5):
            for kind, _weight in MIX:
                fetch(server.port, make_request(kind, vocab, warm))
        start_resources = resources_at_rest(server.pid, server.port)
        started = time.monotonic()
        budget = [args.max_requests]
        threads = [
            threading.Thread(target=client_loop, args=(n, server.port, vocab, run, stop, budget))
            for n in range(args.clients)
        ]
        watcher = threading.Thread(target=watch_resources, args=(server.pid, run, stop, started))
        rebuilder = threading.Thread(
            target=rebuild_and_follow,
            args=(server.port, token, run, started, stop, args.duration * 0.1),
        )
        for thread in [*threads, watcher, rebuilder]:
            thread.start()
        stop.wait(args.duration)
        # The load goes on until the rebuild has landed (bounded), and then long enough for
        # the new generation to warm up, so memory before and after the switch compare.
        rebuilder.join(timeout=args.rebuild_timeout)
        landed = run.events.get("rebuild_serving_s")
        if landed is not None:
            settle = landed + args.duration * AFTER_SWITCH_SHARE - (time.monotonic() - started)
            stop.wait(max(0.0, settle))
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        rebuilder.join(timeout=5)
        end_resources = resources_at_rest(server.pid, server.port)
        watcher.join(timeout=2)
        server_output = server.output(30_000)  # what explains a failed check afterwards
    except Terminated:
        raise  # stopped on purpose: nothing to explain
    except BaseException:
        # What the server said explains most failures (a worker's traceback or timeout);
        # for a hang, its workers are asked where their threads are.
        server.abort_workers()
        print(f"the server's output (last part):\n{server.output(30_000)}", file=sys.stderr)
        raise
    finally:
        stop.set()  # the clients' threads end with the run, however it ends
        server.stop()
    summary = summarize(
        args, corpus, run, elapsed, first_build_s, generation_before, start_resources, end_resources
    )
    if not all(summary["checks"].values()):
        print(f"the server's output (last part):\n{server_output}", file=sys.stderr)
    return summary


def summarize(args, corpus, run, elapsed, first_build_s, generation_before, start, end) -> dict:
    latencies = [s.seconds * 1000 for s in run.samples]
    statuses: dict[str, int] = {}
    for sample in run.samples:
        statuses[str(sample.status)] = statuses.get(str(sample.status), 0) + 1
    by_kind = {}
    for kind, _ in MIX:
        values = [s.seconds * 1000 for s in run.samples if s.kind == kind]
        by_kind[kind] = {
            "requests": len(values),
            "p50_ms": percentile(values, 0.5),
            "p95_ms": percentile(values, 0.95),
        }
    fds = [r["fds"] for r in run.resources] or [start["fds"]]
    rss = [r["rss_mib"] for r in run.resources] or [start["rss_mib"]]
    landed = run.events.get("rebuild_serving_s")
    before_switch = [r["rss_mib"] for r in run.resources if landed and r["t"] < landed]
    under_load_end = run.resources[-1]["rss_mib"] if run.resources else end["rss_mib"]
    summary = {
        "corpus": str(corpus),
        "clients": args.clients,
        "duration_s": round(elapsed, 2),
        "first_build_s": round(first_build_s, 1),
        "requests": len(run.samples),
        "throughput_rps": round(len(run.samples) / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {
            "p50": round(percentile(latencies, 0.5), 2),
            "p95": round(percentile(latencies, 0.95), 2),
            "p99": round(percentile(latencies, 0.99), 2),
            "max": round(max(latencies), 2) if latencies else None,
            "mean": round(statistics.fmean(latencies), 2) if latencies else None,
        },
        "statuses": statuses,
        "server_errors_5xx": sum(n for code, n in statuses.items() if code.startswith("5")),
        "invalid_json": sum(1 for s in run.samples if not s.valid_json),
        "connection_errors": len(run.errors),
        "error_examples": run.errors[:5],
        "by_kind": by_kind,
        "rebuild": {
            "generation_before": generation_before,
            "generation_after": run.events.get("generation_after"),
            "requested_s": _round(run.events.get("rebuild_requested_s")),
            "built_s": _round(run.events.get("rebuild_built_s")),
            "serving_s": _round(run.events.get("rebuild_serving_s")),
        },
        "server": {
            "processes": end["processes"],
            "fds_start": start["fds"],
            "fds_end": end["fds"],
            "fds_max": max(fds),
            "index_files_start": start["index_files"],
            "index_files_end": end["index_files"],
            "stale_generation_files_end": end["stale_files"],
            "stale_generation_file_examples": end["stale_examples"],
            "other_fds_start": start["other_fds"],
            "other_fds_end": end["other_fds"],
            "rss_mib_start": round(start["rss_mib"], 1),
            "rss_mib_end": round(end["rss_mib"], 1),
            "rss_mib_max": round(max(rss), 1),
            "rss_mib_before_switch": round(before_switch[-1], 1) if before_switch else None,
            "rss_mib_end_under_load": round(under_load_end, 1),
        },
        "rss_series": [[r["t"], round(r["rss_mib"], 1)] for r in run.resources[::10]],
    }
    summary["checks"] = checks(summary)
    return summary


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def checks(summary: dict[str, Any]) -> dict[str, bool]:
    server = summary["server"]
    return {
        "no 5xx": summary["server_errors_5xx"] == 0,
        "no connection errors": summary["connection_errors"] == 0,
        "every response JSON": summary["invalid_json"] == 0,
        "rebuild landed": summary["rebuild"]["generation_after"] is not None,
        "no old generation held open": server["stale_generation_files_end"] == 0,
        "fds flat": server["other_fds_end"] <= server["other_fds_start"] + FD_SLACK,
        "memory flat": server["rss_mib_before_switch"] is not None
        and server["rss_mib_end_under_load"]
        <= server["rss_mib_before_switch"] * (1 + RSS_GROWTH_LIMIT),
        "requests served": summary["requests"] > 0,
    }


def print_table(summary: dict[str, Any]) -> None:
    lat, server, rebuild = summary["latency_ms"], summary["server"], summary["rebuild"]
    rows = [
        ("corpus", summary["corpus"]),
        ("clients x duration", f"{summary['clients']} x {summary['duration_s']} s"),
        ("requests", f"{summary['requests']:,}"),
        ("throughput", f"{summary['throughput_rps']:,} req/s"),
        ("latency p50 / p95 / p99", f"{lat['p50']} / {lat['p95']} / {lat['p99']} ms"),
        ("latency max", f"{lat['max']} ms"),
        ("statuses", json.dumps(summary["statuses"], sort_keys=True)),
        (
            "5xx / connection errors / bad JSON",
            f"{summary['server_errors_5xx']} / {summary['connection_errors']} / "
            f"{summary['invalid_json']}",
        ),
        (
            "rebuild requested / built / serving",
            f"{rebuild['requested_s']} / {rebuild['built_s']} / {rebuild['serving_s']} s",
        ),
        (
            "generation before -> after",
            f"{rebuild['generation_before']} -> {rebuild['generation_after']}",
        ),
        (
            "server fds start / end / max",
            f"{server['fds_start']} / {server['fds_end']} / {server['fds_max']}",
        ),
        (
            "serving generation's open files start / end",
            f"{server['index_files_start']} / {server['index_files_end']}",
        ),
        ("old generations' files still open at end", server["stale_generation_files_end"]),
        (
            "other fds (sockets, pipes, locks) start / end",
            f"{server['other_fds_start']} / {server['other_fds_end']}",
        ),
        (
            "server RSS before switch / end (under load)",
            f"{server['rss_mib_before_switch']} / {server['rss_mib_end_under_load']} MiB",
        ),
        ("serving processes (supervisor + workers)", server["processes"]),
        (
            "server RSS start / end / max (at rest)",
            f"{server['rss_mib_start']} / {server['rss_mib_end']} / {server['rss_mib_max']} MiB",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print()
    print(f"{'kind':<12} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8}")
    for kind, figures in summary["by_kind"].items():
        p50, p95 = figures["p50_ms"], figures["p95_ms"]
        print(f"{kind:<12} {figures['requests']:>9} {p50:>8.1f} {p95:>8.1f}")
    print()
    for name, ok in summary["checks"].items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus", default=str(REUTERS), help="sources to index (default: Reuters)"
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--max-requests", type=int, default=500_000, help="upper bound on requests")
    parser.add_argument("--threads", type=int, default=8, help="server threads (SEARCHSVC_THREADS)")
    parser.add_argument(
        "--rebuild-timeout",
        type=float,
        default=300.0,
        help="longest the load goes on past --duration waiting for the rebuild",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="4 clients x 5 s over a generated corpus (unless given otherwise)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the summary as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        defaults = parser.parse_args([])
        if args.clients == defaults.clients:
            args.clients = 4
        if args.duration == defaults.duration:
            args.duration = 5.0
    summary = run_load(args)
    print_table(summary)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 0 if all(summary["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
