"""The first query after the index changed: a server's engine, which follows the index
between requests, next to one that looks only when a request comes.

Both engines are open at once over the same index (a Reuters build in a temporary
directory), so each change meets them under the same conditions. A round makes a change
(an update's commit of one article, or a whole rebuild), waits ``--wait`` seconds (a
quiet moment, longer than ``FOLLOW_SECONDS``), then times each engine's first query. The
engine that looks at request time opens the new commit's snapshot, or the new
generation, inside that query (and starts reading its lexicon on a thread); the following
one has done both meanwhile. So the following engine goes first, while nothing else runs:
the other one's thread would take the interpreter from it. Going second, the engine that
looks at request time finds the files in the page cache; that favours it.

    python benchmarks/bench_after_change.py [--commits 6] [--rebuilds 2] [--wait 2.5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from measuring import DEFAULT_REUTERS

from searchsvc.articles.model import Article
from searchsvc.config import Settings
from searchsvc.index import build_index
from searchsvc.index.updates import update_articles
from searchsvc.search import SearchEngine, SearchRequest

QUERIES = ["oil prices", "coffee quota brazil", "bank of japan intervention", "tonnes wheat"]
MODES = ("at the next request", "following")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuters", type=Path, default=DEFAULT_REUTERS)
    parser.add_argument("--commits", type=int, default=6, help="rounds of one update commit")
    parser.add_argument("--rebuilds", type=int, default=2, help="rounds of a whole rebuild")
    parser.add_argument("--wait", type=float, default=2.5, help="seconds after each change")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-after-change-"))
    try:
        settings = Settings(index_dir=work / "index", corpus=(args.reuters,))
        build_index(None, settings, show_progress=False)
        rows = measure(settings, args.commits, args.rebuilds, args.wait)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(rows)


def measure(
    settings: Settings, commits: int, rebuilds: int, wait: float
) -> dict[str, dict[str, list[float]]]:
    """Milliseconds of each engine's first query after each change, by kind of change."""
    engines = {
        MODES[0]: SearchEngine(settings, prepare_lexicon=True),
        MODES[1]: SearchEngine(settings, prepare_lexicon=True, follow_index=True),
    }
    rows: dict[str, dict[str, list[float]]] = {
        "an update's commit": {mode: [] for mode in MODES},
        "a rebuild": {mode: [] for mode in MODES},
    }
    try:
        for engine in engines.values():
            for query in QUERIES:
                engine.search(SearchRequest(query=query))
        changes = [("an update's commit", n) for n in range(commits)]
        changes += [("a rebuild", n) for n in range(rebuilds)]
        for turn, (kind, n) in enumerate(changes):
            if kind == "a rebuild":
                build_index(None, settings, show_progress=False)
            else:
                update_articles(settings, [_article(n)])
            time.sleep(wait)
            for mode in reversed(MODES):
                started = time.perf_counter()
                engines[mode].search(SearchRequest(query=QUERIES[turn % len(QUERIES)]))
                rows[kind][mode].append((time.perf_counter() - started) * 1000)
    finally:
        for engine in engines.values():
            engine.close()
    return rows


def _article(n: int) -> Article:
    return Article(
        id=f"bench-after-change-{n}",
        title=f"Tanker docks, note {n}",
        body="A tanker docked at the port with crude oil for the refinery.",
        date=dt.date(1987, 3, 1),
        source="Bench Wire",
    )


def print_table(rows: dict[str, dict[str, list[float]]]) -> None:
    print(f"{'first query after':<20} {'engine':<21} {'runs':>4} {'median ms':>10} {'worst ms':>9}")
    for kind, by_mode in rows.items():
        for mode, times in by_mode.items():
            if times:
                print(
                    f"{kind:<20} {mode:<21} {len(times):>4} "
                    f"{statistics.median(times):>10.1f} {max(times):>9.1f}"
                )
        if all(by_mode.values()):
            ratio = statistics.median(by_mode[MODES[1]]) / statistics.median(by_mode[MODES[0]])
            print(f"{kind:<20} {'ratio (median)':<21} {'':>4} {ratio:>9.2f}x")


if __name__ == "__main__":
    main()
