"""How long a feed entry takes to become searchable through ``searchsvc watch``.

A real ``searchsvc serve`` over the seeds, a real ``searchsvc watch`` process polling a feed
that Python's own static file server publishes on loopback (Last-Modified only, no ETag: the
harder case for conditional GETs). Entries are published at random moments of the poll
cycle; each is timed from the moment its feed file is in place until a search over HTTP lists
it. The promise is one interval plus a second; the table prints the worst case against it.

    python benchmarks/watch_latency.py                 # intervals 1 and 2 s, 8 entries each
    python benchmarks/watch_latency.py --quick         # interval 1 s, 3 entries
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

from http_load import HOST, Server
from measuring import REPO

SEEDS = REPO / "seeds"
# Gives up on an entry after this long: a hang guard, far above any expected latency.
GIVE_UP_SECONDS = 60.0


class CountingHandler(SimpleHTTPRequestHandler):
    """Serves the feed folder and counts the answers by status (200 or 304)."""

    statuses: ClassVar[Counter[int]] = Counter()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        CountingHandler.statuses[int(code)] += 1


def invented_word(interval: float, number: int) -> str:
    """A word no seed story has, so exactly one article answers it."""
    letters = "bcdfghjklmnpqrstvwz"
    return "quorv" + letters[int(interval * 3) % len(letters)] + letters[number % len(letters)]


def feed_document(words: list[str]) -> str:
    items = "".join(
        f"<item><guid>urn:latency:{word}</guid><title>Harbour note {word}</title>"
        f"<description>Pilots logged {word} at the outer buoy.</description></item>"
        for word in words
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Latency Desk</title>'
        f"{items}</channel></rss>"
    )


def publish(path: Path, words: list[str]) -> None:
    staging = path.with_suffix(".tmp")
    staging.write_text(feed_document(words), encoding="utf-8")
    os.replace(staging, path)


def hits(port: int, word: str) -> int:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request("GET", f"/api/search?q={quote(word)}")
        return json.loads(connection.getresponse().read())["total"]
    finally:
        connection.close()


def wait_until_found(port: int, word: str) -> float:
    """Seconds until a search lists ``word``, asked every 20 ms."""
    started = time.perf_counter()
    while hits(port, word) == 0:
        if time.perf_counter() - started > GIVE_UP_SECONDS:
            raise RuntimeError(f"{word} never became searchable")
        time.sleep(0.02)
    return time.perf_counter() - started


def measure_interval(
    interval: float, entries: int, feed_dir: Path, feed_base: str, index_dir: Path, port: int
) -> list[float]:
    feed = feed_dir / f"latency-{interval:g}.rss"
    publish(feed, [])
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEARCHSVC_")}
    env.update(SEARCHSVC_INDEX_DIR=str(index_dir), PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "searchsvc", "watch", f"{feed_base}/{feed.name}"]
    watch = subprocess.Popen(
        [*command, "--interval", str(interval)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    words = [invented_word(interval, entries)]
    latencies = []
    try:
        # Not timed: the process start and the first article's one-time loads (the
        # gazetteer) are paid once per watch, not per entry.
        publish(feed, words)
        wait_until_found(port, words[-1])
        for number in range(entries):
            time.sleep(random.uniform(0.0, interval))  # a random moment of the poll cycle
            words.append(invented_word(interval, number))
            publish(feed, words)
            latencies.append(wait_until_found(port, words[-1]))
    finally:
        watch.terminate()
        watch.wait(timeout=30)
    return latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--intervals", type=float, nargs="+", default=[1.0, 2.0])
    parser.add_argument("--entries", type=int, default=8, help="entries published per interval")
    parser.add_argument("--quick", action="store_true", help="interval 1 s, 3 entries")
    parser.add_argument("--seed", type=int, default=13, help="random publication moments")
    args = parser.parse_args(argv)
    if args.quick:
        args.intervals, args.entries = [1.0], 3
    random.seed(args.seed)
    with tempfile.TemporaryDirectory(prefix="watch-latency-") as scratch:
        root = Path(scratch)
        index_dir, feed_dir = root / "index", root / "feeds"
        feed_dir.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEARCHSVC_")}
        env.update(SEARCHSVC_INDEX_DIR=str(index_dir), SEARCHSVC_CORPUS=str(SEEDS))
        subprocess.run(
            [sys.executable, "-m", "searchsvc", "build-index"],
            env={**env, "PYTHONPATH": str(REPO)},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        handler = functools.partial(CountingHandler, directory=str(feed_dir))
        feeds = ThreadingHTTPServer((HOST, 0), handler)
        threading.Thread(target=feeds.serve_forever, daemon=True).start()
        server = Server(index_dir, settings={"SEARCHSVC_WORKERS": "1"}, inherit_settings=False)
        try:
            server.wait_for_first_answer()
            base = f"http://{HOST}:{feeds.server_address[1]}"
            rows = [
                (
                    interval,
                    measure_interval(
                        interval, args.entries, feed_dir, base, index_dir, server.port
                    ),
                )
                for interval in args.intervals
            ]
        finally:
            server.stop()
            with contextlib.suppress(Exception):
                feeds.shutdown()
    print_table(rows)
    statuses = CountingHandler.statuses
    print(f"\nfeed answers: {statuses[200]} full (200), {statuses[304]} not modified (304)")
    return 0


def print_table(rows: list[tuple[float, list[float]]]) -> None:
    print("| interval (s) | entries | median (s) | worst (s) | worst ÷ (interval + 1 s) |")
    print("|---:|---:|---:|---:|---:|")
    for interval, latencies in rows:
        worst = max(latencies)
        print(
            f"| {interval:g} | {len(latencies)} | {statistics.median(latencies):.2f} | "
            f"{worst:.2f} | {worst / (interval + 1):.2f} |"
        )


if __name__ == "__main__":
    sys.exit(main())
