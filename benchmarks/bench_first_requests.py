"""The first requests to a server that has just started: this tree against a baseline.

``searchsvc serve`` with two workers over a built index; once it has answered its first
search (one worker opened the index for it) and a quiet moment has passed, a few searches
come on new connections, each timed. A worker whose first request it is opened the index
inside that request; one that opens the index as it starts does not. The time from the
start to that first answer is shown too. The trees take turns, a fresh server each time:

    python benchmarks/bench_first_requests.py --index DIR [--baseline REF] [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from bench_open import extract_tree
from http_load import HOST, Server
from measuring import REPO

#: Searches sent after the start, each on a connection of its own (a worker of the two
#: takes each); none is the readiness probe's.
SEARCHES = ("harbour", "tanker", "election", "copper", "wheat", "bank rate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="a built index")
    parser.add_argument("--baseline", default="HEAD~1", help="commit or branch to compare")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quiet", type=float, default=4.0, help="seconds after the start")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-first-requests-") as work:
        trees = {"baseline": extract_tree(args.baseline, Path(work)), "this tree": REPO}
        slowest: dict[str, list[float]] = {name: [] for name in trees}
        every: dict[str, list[float]] = {name: [] for name in trees}
        started: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                first_answer, times = first_requests(args.index, tree, args.quiet)
                started[name].append(first_answer)
                slowest[name].append(max(times))
                every[name].extend(times)
    print(
        f"{'tree':<10} {'rounds':>6} {'first answer s':>15} {'slowest, median ms':>19} "
        f"{'median ms':>10}"
    )
    for name in trees:
        print(
            f"{name:<10} {args.rounds:>6} {statistics.median(started[name]):>15.2f} "
            f"{statistics.median(slowest[name]):>19.1f} {statistics.median(every[name]):>10.1f}"
        )
    for label, values in (("first answer", started), ("slowest first request", slowest)):
        ratio = statistics.median(values["this tree"]) / statistics.median(values["baseline"])
        print(f"{label}, this tree / baseline: {ratio:.2f}x")


def first_requests(index: Path, tree: Path, quiet: float) -> tuple[float, list[float]]:
    """Seconds from the start of a server of ``tree`` to its first answer, and the
    milliseconds of each of :data:`SEARCHES` sent to it then."""
    server = Server(
        index,
        threads=4,
        settings={"SEARCHSVC_WORKERS": "2"},
        inherit_settings=False,
        cwd=tree,  # ``python -m searchsvc`` imports from the working directory first
    )
    try:
        first_answer = server.wait_for_first_answer(600)
        time.sleep(quiet)
        return first_answer, [_timed_search(server.port, query) for query in SEARCHES]
    finally:
        server.stop()


def _timed_search(port: int, query: str) -> float:
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        started = time.perf_counter()
        connection.request("GET", "/api/search?" + urlencode({"q": query}))
        response = connection.getresponse()
        response.read()
        elapsed = (time.perf_counter() - started) * 1000
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"{query!r}: status {response.status}")
    return elapsed


if __name__ == "__main__":
    main()
