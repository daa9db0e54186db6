"""Load over HTTP against a real ``searchsvc serve``: cold start, then 1/4/16 concurrent clients.

Loopback only. Two clients, because a Python client shares the two cores with the server
and may become the bottleneck itself: Python threads with keep-alive ``http.client``
connections (its own CPU use is reported), and ``wrk`` when it is installed (a C client
that costs the server far less CPU). Each level runs for a bounded time and request count.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psutil
from measuring import REPO, latency_summary
from query_set import BenchQuery

PROBE_PATH = "/api/search?q=oil"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def search_paths(queries: Sequence[BenchQuery]) -> list[str]:
    return ["/api/search?" + urlencode(query.url_params()) for query in queries]


def serve_command(port: int) -> list[str]:
    return [sys.executable, "-m", "searchsvc", "serve", "--host", HOST, "--port", str(port)]


class Terminated(SystemExit):
    """This process was asked to stop (SIGTERM): it unwinds, and exits with 128 + 15."""


def exit_on_terminate() -> None:
    """Turn SIGTERM into :class:`Terminated`, where no one has handled it yet. Its default
    ends the process at once, and the servers it started in sessions of their own (which
    a stop of the process group does not reach) stayed up on their ports. Only the main
    thread sets handlers; a server started from another thread leaves them as they are."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_terminated)


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(128 + signum)


class Server:
    """``searchsvc serve`` in a child process over an index, on a free loopback port.

    It runs in its own session and is stopped with SIGTERM (the whole session is killed
    if that hangs). A session of its own does not hear a stop meant for this process, so
    starting one makes this process exit on SIGTERM as on Ctrl-C
    (:func:`exit_on_terminate`): its ``finally`` blocks and ``with`` exits stop the server.

    ``settings`` are ``SEARCHSVC_*`` variables for it; with ``inherit_settings`` it also
    sees this environment's (a benchmark can then be pointed at, say, other worker
    counts), without them only ``settings``. ``command`` gives the command line for a port
    when the server to load is not this tree's ``searchsvc serve`` (another WSGI server;
    or, with ``cwd``, another checkout: ``python -m`` imports from the working directory
    first), ``environment`` any other variables it needs.
    """

    def __init__(
        self,
        index_dir: Path,
        *,
        threads: int | None = None,
        settings: Mapping[str, str] | None = None,
        inherit_settings: bool = True,
        command: Callable[[int], Sequence[str]] | None = None,
        environment: Mapping[str, str] | None = None,
        cwd: Path = REPO,
    ) -> None:
        self.port = free_port()
        exit_on_terminate()
        env = {
            key: value
            for key, value in os.environ.items()
            if inherit_settings or not key.startswith("SEARCHSVC_")
        }
        env.update(environment or {})
        env.update(settings or {}, SEARCHSVC_INDEX_DIR=str(index_dir))
        if threads:
            env["SEARCHSVC_THREADS"] = str(threads)
        # Lives as long as the server; closed in stop().
        self.log = tempfile.TemporaryFile()  # noqa: SIM115
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            (command or serve_command)(self.port),
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_for_first_answer(self, timeout: float = 60.0) -> float:
        """Seconds from process start until a search is answered with 200."""
        deadline = self.started + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.output()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", PROBE_PATH)
                response = connection.getresponse()
                response.read()
                connection.close()
                if response.status == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.01)
        raise RuntimeError(f"server did not answer within {timeout:.0f} s:\n{self.output()}")

    def abort_workers(self, wait: float = 3.0) -> None:
        """Abort the server's worker processes, as gunicorn does to one that hangs: each
        writes where its threads were to the log (for a failed run to show) before it is
        replaced."""
        try:
            workers = psutil.Process(self.process.pid).children()
        except psutil.Error:
            return  # the server is gone
        for worker in workers:
            with contextlib.suppress(psutil.Error):
                worker.send_signal(signal.SIGABRT)
        psutil.wait_procs(workers, timeout=wait)

    def output(self, limit: int = 3000) -> str:
        """The last ``limit`` characters the server wrote."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-limit:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def cold_starts(index_dir: Path, repeats: int) -> list[float]:
    """Start, answer one search, stop: the time to the first answer, ``repeats`` times."""
    seconds = []
    for _ in range(repeats):
        with Server(index_dir) as server:
            seconds.append(server.wait_for_first_answer())
    return seconds


def warm_up(port: int, paths: Sequence[str]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for path in paths:
        connection.request("GET", path)
        connection.getresponse().read()
    connection.close()


def run_mix(
    index_dir: Path,
    queries: Sequence[BenchQuery],
    *,
    clients: int = 16,
    seconds: float = 10.0,
    max_requests: int = 20_000,
) -> list[dict[str, Any]]:
    """``clients`` clients against a freshly started server: first every query once, in a
    shuffled order (each new to the server, as most queries people type are), then the set
    repeated for ``seconds`` (its answers' parts cached by then)."""
    mix = list(zip(search_paths(queries), [query.kind for query in queries], strict=True))
    random.Random(1987).shuffle(mix)
    paths, kinds = [path for path, _ in mix], [kind for _, kind in mix]
    with Server(index_dir) as server:
        server.wait_for_first_answer()
        first = python_load(
            server.port, paths, clients, seconds=seconds, max_requests=max_requests,
            server_pid=server.pid, once=True, labels=kinds,
        )  # fmt: skip
        repeats = python_load(
            server.port, paths, clients, seconds=seconds, max_requests=max_requests,
            server_pid=server.pid, labels=kinds,
        )  # fmt: skip
    return [{**first, "pass": "first"}, {**repeats, "pass": "repeats"}]


def python_load(
    port: int,
    paths: Sequence[str],
    clients: int,
    *,
    seconds: float,
    max_requests: int,
    server_pid: int | None = None,
    once: bool = False,
    labels: Sequence[str] | None = None,
) -> dict[str, Any]:
    """``clients`` threads, one keep-alive connection each, for ``seconds`` or ``max_requests``.

    With ``once``, the clients share out ``paths`` in order, each path requested once.
    With ``labels`` (one per path), latencies are also summarised per label (``by_label``).
    """
    timed: list[tuple[int, float]] = []  # (index of the path, seconds)
    errors: list[str] = []
    lock = threading.Lock()
    issued = iter(range(min(max_requests, len(paths)) if once else max_requests))
    deadline = time.perf_counter() + seconds

    def client(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[tuple[int, float]] = []
        for request_number in issued:
            if time.perf_counter() >= deadline:
                break
            at = request_number if once else (request_number * 7 + number) % len(paths)
            path = paths[at]
            began = time.perf_counter()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    with lock:
                        errors.append(f"{response.status} {path}")
            except (OSError, http.client.HTTPException) as error:
                with lock:
                    errors.append(f"{type(error).__name__} {path}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append((at, time.perf_counter() - began))
        connection.close()
        with lock:
            timed.extend(mine)

    server = psutil.Process(server_pid) if server_pid else None
    server_cpu = _cpu_seconds(server)
    client_cpu = time.process_time()
    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    result = {
        "client": "python",
        "clients": clients,
        **latency_summary([seconds for _, seconds in timed]),
        "qps": len(timed) / wall,
        "errors": len(errors),
        "error_examples": errors[:5],
        "seconds": wall,
        "client_cpu": (time.process_time() - client_cpu) / wall,
        "server_cpu": (_cpu_seconds(server) - server_cpu) / wall if server else None,
    }
    if labels is not None:
        result["by_label"] = _by_label(timed, labels)
    return result


def _by_label(timed: Sequence[tuple[int, float]], labels: Sequence[str]) -> dict[str, Any]:
    grouped: dict[str, list[float]] = {}
    for at, seconds in timed:
        grouped.setdefault(labels[at], []).append(seconds)
    return {label: latency_summary(values) for label, values in grouped.items()}


_WRK_SCRIPT = """
local paths = %s
local counter = 0
local threads = {}
function setup(thread)
  thread:set("offset", #threads * 17)
  table.insert(threads, thread)
end
function init(args)
  counter = offset or 0
end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "p50": %%.3f, "p95": %%.3f, "p99": %%.3f,'
    .. ' "mean": %%.3f, "errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.mean / 1000,
    e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def wrk_load(
    port: int,
    paths: Sequence[str],
    clients: int,
    *,
    seconds: float,
    server_pid: int | None = None,
) -> dict[str, Any]:
    """The same paths through ``wrk`` (latencies in ms, errors = socket errors + non-2xx)."""
    lua_paths = "{" + ", ".join(json.dumps(path) for path in paths) + "}"
    server = psutil.Process(server_pid) if server_pid else None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT % lua_paths)
    try:
        server_cpu = _cpu_seconds(server)
        completed = subprocess.run(
            [
                "wrk",
                f"-t{min(2, clients)}",
                f"-c{clients}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        )
    finally:
        Path(script.name).unlink(missing_ok=True)
    line = next(line for line in completed.stdout.splitlines() if line.startswith("WRKJSON "))
    stats = json.loads(line.removeprefix("WRKJSON "))
    wall = stats["duration_us"] / 1e6
    return {
        "client": "wrk",
        "clients": clients,
        "p50": stats["p50"],
        "p95": stats["p95"],
        "p99": stats["p99"],
        "mean": stats["mean"],
        "count": stats["requests"],
        "qps": stats["requests"] / wall,
        "errors": stats["errors"],
        "error_examples": [],
        "seconds": wall,
        "client_cpu": None,
        "server_cpu": (_cpu_seconds(server) - server_cpu) / wall if server else None,
    }


def _cpu_seconds(process: psutil.Process | None) -> float:
    if process is None:
        return 0.0
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        times = member.cpu_times()
        total += times.user + times.system
    return total


def run_http(
    index_dir: Path,
    queries: Sequence[BenchQuery],
    *,
    levels: Sequence[int] = (1, 4, 16),
    seconds: float = 10.0,
    max_requests: int = 20_000,
    use_wrk: bool = True,
    settings: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Every concurrency level with each client, against one warmed-up server (``settings``:
    ``SEARCHSVC_*`` variables for it, say another engine)."""
    paths = search_paths(queries)
    rows = []
    with Server(index_dir, settings=settings) as server:
        server.wait_for_first_answer()
        warm_up(server.port, paths)
        pid = server.process.pid
        for clients in levels:
            rows.append(
                python_load(
                    server.port,
                    paths,
                    clients,
                    seconds=seconds,
                    max_requests=max_requests,
                    server_pid=pid,
                )
            )
            if use_wrk and wrk_available():
                rows.append(wrk_load(server.port, paths, clients, seconds=seconds, server_pid=pid))
    return rows
