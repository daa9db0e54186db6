"""Process supervisors compared over HTTP in one run: ``searchsvc serve`` against gunicorn.

Each variant serves the same index on a free loopback port with the same worker and thread
counts, and is measured in turn (rounds alternate the order): the time from starting it to
the first answered search, throughput and p50/p99 at 1, 4 and 16 clients (bounded by time
and request count), the memory of each process (``/proc/PID/smaps_rollup``: RSS, PSS, and
private pages), what clients see when a worker is SIGKILLed under load, and what happens to
the requests under way when the server is stopped with SIGTERM.

    PYTHONPATH=. python benchmarks/bench_serving.py --index DIR \\
        --serve before=../main-checkout --serve after=. --gunicorn [--rounds 2] [--json out]

``--serve NAME=DIR`` runs ``searchsvc serve`` from the code in DIR; ``--gunicorn`` adds
gunicorn's gthread workers over this tree's ``create_app()``, with and without
``--preload`` (``--gunicorn-path`` is put on the path when gunicorn is not installed).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from http_load import HOST, Server, python_load, search_paths, warm_up
from measuring import REPO
from query_set import load_query_set

LEVELS = (1, 4, 16)
SMAPS_FIELDS = ("Rss", "Pss", "Private_Clean", "Private_Dirty")


@dataclass
class Variant:
    name: str
    command: Callable[[int], Sequence[str]]
    pythonpath: list[str] = field(default_factory=list)
    cwd: Path = REPO

    def start(self, index_dir: Path, workers: int, threads: int) -> Server:
        settings = {"SEARCHSVC_WORKERS": str(workers), "SEARCHSVC_THREADS": str(threads)}
        path = os.pathsep.join(filter(None, [*self.pythonpath, os.environ.get("PYTHONPATH")]))
        return Server(
            index_dir,
            settings=settings,
            inherit_settings=False,
            command=self.command,
            environment={"PYTHONPATH": path},
            cwd=self.cwd,
        )


def serve_variant(name: str, tree: Path) -> Variant:
    def command(port: int) -> list[str]:
        return [sys.executable, "-m", "searchsvc", "serve", "--host", HOST, "--port", str(port)]

    return Variant(name, command, [str(tree.resolve())], tree.resolve())


def gunicorn_variant(workers: int, threads: int, preload: bool, path: list[str]) -> Variant:
    def command(port: int) -> list[str]:
        return [
            sys.executable, "-m", "gunicorn", "--worker-class", "gthread",
            "--workers", str(workers), "--threads", str(threads), "--bind", f"{HOST}:{port}",
            "--no-control-socket", "--log-level", "warning",
            *(["--preload"] if preload else []), "searchsvc.web:create_app()",
        ]  # fmt: skip

    name = "gunicorn gthread" + (" --preload" if preload else "")
    return Variant(name, command, [str(REPO), *path])


def memory(server: Server) -> dict[str, Any]:
    """Per process (master first, then workers): MiB from smaps_rollup."""
    master = psutil.Process(server.pid)
    rows = [_smaps(master.pid)]
    rows += [_smaps(child.pid) for child in master.children()]
    workers = rows[1:]
    return {
        "master": rows[0],
        "workers": len(workers),
        "worker_mean": {key: statistics.fmean(row[key] for row in workers) for key in rows[0]},
        "total_pss": sum(row["Pss"] for row in rows),
        "total_rss": sum(row["Rss"] for row in rows),
    }


def _smaps(pid: int) -> dict[str, float]:
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in SMAPS_FIELDS:
            values[key] = int(rest.split()[0]) / 1024
    values["Private"] = values.pop("Private_Clean") + values.pop("Private_Dirty")
    return values


def worker_pids(server: Server) -> set[int]:
    return {child.pid for child in psutil.Process(server.pid).children()}


def wait_for_workers(server: Server, count: int, timeout: float = 30.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = worker_pids(server)
        if len(pids) == count:
            return pids
        time.sleep(0.05)
    raise RuntimeError(f"{count} workers did not appear:\n{server.output()}")


class Clients:
    """``count`` keep-alive clients that note every request's start, end and outcome."""

    def __init__(self, port: int, paths: Sequence[str], count: int, max_requests: int) -> None:
        self.port, self.paths, self.count = port, paths, count
        self.budget = iter(range(max_requests))
        self.records: list[tuple[float, float, bool]] = []  # (start, end, answered 200)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, args=(n,)) for n in range(count)]

    def __enter__(self) -> Clients:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def _client(self, number: int) -> None:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        mine = []
        for request in self.budget:
            if self.stop.is_set():
                break
            began = time.perf_counter()
            try:
                connection.request("GET", self.paths[(request * 7 + number) % len(self.paths)])
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
                if response.will_close:
                    connection.close()
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                time.sleep(0.01)  # a refused connect returns at once
            mine.append((began, time.perf_counter(), ok))
        connection.close()
        with self.lock:
            self.records.extend(mine)


def sigkill_a_worker(server: Server, paths: Sequence[str], seconds: float) -> dict[str, Any]:
    """16 clients; a third of the way in one worker is SIGKILLed. What did clients see?"""
    before = wait_for_workers(server, len(worker_pids(server)))
    with Clients(server.port, paths, 16, 100_000) as clients:
        time.sleep(seconds / 3)
        victim = min(before)
        killed_at = time.perf_counter()
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not (worker_pids(server) - before) and time.monotonic() < deadline:
            time.sleep(0.005)
        replaced_after = time.perf_counter() - killed_at
        time.sleep(seconds * 2 / 3)
    after = [record for record in clients.records if record[0] >= killed_at + replaced_after]
    return {
        "requests": len(clients.records),
        "failed": sum(not ok for _, _, ok in clients.records),
        "replaced_ms": replaced_after * 1000,
        "failed_after_replacement": sum(not ok for _, _, ok in after),
        "workers_after": len(worker_pids(server)),
    }


def sigterm_under_load(server: Server, paths: Sequence[str], seconds: float) -> dict[str, Any]:
    """16 clients; after ``seconds`` the server gets SIGTERM. Are requests under way answered?"""
    with Clients(server.port, paths, 16, 100_000) as clients:
        time.sleep(seconds)
        signalled = time.perf_counter()
        server.process.send_signal(signal.SIGTERM)
        try:
            code = server.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            code = None
        exited = time.perf_counter()
    under_way = [ok for start, end, ok in clients.records if start < signalled < end]
    later = [ok for start, _, ok in clients.records if start >= signalled]
    return {
        "under_way": len(under_way),
        "under_way_answered": sum(under_way),
        "started_after": len(later),
        "answered_after": sum(later),
        "exit_ms": (exited - signalled) * 1000,
        "exit_code": code,
    }


def measure(
    variant: Variant, index_dir: Path, paths: Sequence[str], args: argparse.Namespace
) -> dict[str, Any]:
    result: dict[str, Any] = {"variant": variant.name}
    cold = []
    for _ in range(args.cold_starts):
        with variant.start(index_dir, args.workers, args.threads) as server:
            cold.append(server.wait_for_first_answer())
    result["cold_start_s"] = statistics.median(cold)
    with variant.start(index_dir, args.workers, args.threads) as server:
        server.wait_for_first_answer()
        wait_for_workers(server, args.workers)
        warm_up(server.port, paths)
        result["levels"] = [
            python_load(
                server.port, paths, clients, seconds=args.seconds,
                max_requests=args.max_requests, server_pid=server.pid,
            )
            for clients in LEVELS
        ]  # fmt: skip
        result["memory"] = memory(server)
        result["sigkill"] = sigkill_a_worker(server, paths, args.seconds)
        result["sigterm"] = sigterm_under_load(server, paths, args.seconds / 2)
    print(f"  {variant.name}: done", file=sys.stderr, flush=True)
    return result


def merge_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over rounds of the figures the table shows."""
    first = rounds[0]
    levels = []
    for at, level in enumerate(first["levels"]):
        runs = [r["levels"][at] for r in rounds]
        levels.append(
            {
                "clients": level["clients"],
                **{k: statistics.median(run[k] for run in runs) for k in ("qps", "p50", "p99")},
                "errors": sum(run["errors"] for run in runs),
                "server_cpu": statistics.median(run["server_cpu"] for run in runs),
            }
        )
    return {
        "variant": first["variant"],
        "cold_start_s": statistics.median(r["cold_start_s"] for r in rounds),
        "levels": levels,
        "memory": first["memory"] | {"rounds": [r["memory"] for r in rounds]},
        "sigkill": [r["sigkill"] for r in rounds],
        "sigterm": [r["sigterm"] for r in rounds],
    }


def print_tables(results: list[dict[str, Any]]) -> None:
    base = results[0]
    print(f"\nThroughput and latency (ratios against {base['variant']})\n")
    print("| server | clients | q/s | p50 ms | p99 ms | errors | q/s ratio | p99 ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for result in results:
        for level, ref in zip(result["levels"], base["levels"], strict=True):
            print(
                f"| {result['variant']} | {level['clients']} | {level['qps']:.0f} | "
                f"{level['p50']:.2f} | {level['p99']:.2f} | {level['errors']} | "
                f"{level['qps'] / ref['qps']:.2f} | {level['p99'] / ref['p99']:.2f} |"
            )
    print("\nCold start, memory (MiB, after the load levels)\n")
    print(
        "| server | cold start s | master RSS | master PSS | worker RSS | worker PSS "
        "| worker private | all PSS |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        m, w = r["memory"]["master"], r["memory"]["worker_mean"]
        print(
            f"| {r['variant']} | {r['cold_start_s']:.2f} | {m['Rss']:.0f} | {m['Pss']:.0f} | "
            f"{w['Rss']:.0f} | {w['Pss']:.0f} | {w['Private']:.0f} | "
            f"{r['memory']['total_pss']:.0f} |"
        )
    print("\nA worker SIGKILLed under 16 clients; SIGTERM under 16 clients (each round)\n")
    columns = [
        ("failed / requests", "sigkill", lambda k: f"{k['failed']}/{k['requests']}"),
        ("replaced ms", "sigkill", lambda k: f"{k['replaced_ms']:.0f}"),
        ("failed after", "sigkill", lambda k: str(k["failed_after_replacement"])),
        ("under way answered", "sigterm", lambda t: f"{t['under_way_answered']}/{t['under_way']}"),
        (
            "started after answered",
            "sigterm",
            lambda t: f"{t['answered_after']}/{t['started_after']}",
        ),
        ("exit ms", "sigterm", lambda t: f"{t['exit_ms']:.0f}"),
        ("exit code", "sigterm", lambda t: str(t["exit_code"])),
    ]
    print("| server | " + " | ".join(title for title, _, _ in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for r in results:
        cells = [", ".join(show(run) for run in r[part]) for _, part, show in columns]
        print(f"| {r['variant']} | " + " | ".join(cells) + " |")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="a built index to serve")
    parser.add_argument(
        "--serve", action="append", default=[], type=_name_and_tree, metavar="NAME=DIR"
    )
    parser.add_argument("--gunicorn", action="store_true", help="add raw gunicorn variants")
    parser.add_argument("--gunicorn-path", action="append", default=[], metavar="DIR")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cold-starts", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="per load level")
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--json", type=Path)
    return parser.parse_args(argv)


def _name_and_tree(text: str) -> tuple[str, str]:
    name, equals, tree = text.partition("=")
    if not (name and equals and tree):
        raise argparse.ArgumentTypeError(f"expected NAME=DIR, got {text!r}")
    return name, tree


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    variants = [serve_variant(name, Path(tree)) for name, tree in args.serve]
    if args.gunicorn:
        variants += [
            gunicorn_variant(args.workers, args.threads, preload, args.gunicorn_path)
            for preload in (False, True)
        ]
    paths = search_paths(load_query_set())
    rounds: dict[str, list[dict[str, Any]]] = {v.name: [] for v in variants}
    for number in range(args.rounds):
        print(f"round {number + 1} of {args.rounds}", file=sys.stderr, flush=True)
        order = variants if number % 2 == 0 else variants[::-1]
        for variant in order:
            rounds[variant.name].append(measure(variant, args.index, paths, args))
    results = [merge_rounds(rounds[v.name]) for v in variants]
    print_tables(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
