"""The first searches after the index changed: a server's engine, which follows the index
between requests and asks its latest searches again on a new commit, next to one that
looks only when a request comes.

Both engines are open at once over the same index (a Reuters build in a temporary
directory), so each change meets them under the same conditions. Both first answer the
same searches from ``benchmarks/query_set.json``. A round makes a change (an update's commit
of one article, or a whole rebuild), waits ``--wait`` seconds (a quiet moment), then times,
for each engine, one search asked before the change and one asked for the first time.
The engine that looks at request time opens the new commit's snapshot, or the new
generation, inside its first search (and starts reading its lexicon on a thread); the
following one has done that meanwhile, and asked its latest searches again. So the
following engine goes first, while nothing else runs: the other one's thread would take
the interpreter from it. Going second, the engine that looks at request time finds the
files in the page cache; that favours it.

    python benchmarks/bench_after_change.py [--commits 8] [--rebuilds 2] [--wait 3]
    python benchmarks/bench_after_change.py --index DIR --commits 4   # a built index

``--cpu`` measures what each engine spends in all, one engine at a time: it answers the
searches asked before, an update commits, and from then until its background threads are
done and it has answered those searches again, the process's CPU time is counted.

With ``--index``, the engines open a copy of that index made of hard links (Whoosh never
changes a segment's files; updates add files and replace the small ones by renaming), so
the index given is left as it was; its rounds are update commits only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from measuring import DEFAULT_REUTERS
from query_set import QUERY_SET, load_query_set

from searchsvc.articles.model import Article
from searchsvc.config import Settings
from searchsvc.index import build_index
from searchsvc.index.updates import update_articles
from searchsvc.search import SearchEngine, SearchRequest
from searchsvc.search.serving import FOLLOW_SECONDS

#: Kinds of the query set whose searches people repeat and type anew alike.
KINDS = ("word", "words", "pair", "phrase", "place", "question")
#: Searches both engines answer before the first change (as a server's latest ones).
ASKED_BEFORE = 16
MODES = ("at the next request", "following")
CHANGES = ("an update's commit", "a rebuild")
SEARCHES = ("asked before", "new")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuters", type=Path, default=DEFAULT_REUTERS)
    parser.add_argument("--commits", type=int, default=8, help="rounds of one update commit")
    parser.add_argument("--rebuilds", type=int, default=2, help="rounds of a whole rebuild")
    parser.add_argument("--wait", type=float, default=3.0, help="seconds after each change")
    parser.add_argument("--index", type=Path, help="a built index to copy instead of Reuters")
    parser.add_argument("--cpu", action="store_true", help="CPU spent after each commit")
    args = parser.parse_args()
    if args.index:
        args.rebuilds = 0
    queries = [query.query for query in load_query_set() if query.kind in KINDS]
    rounds = args.commits + args.rebuilds
    if len(queries) < ASKED_BEFORE + rounds:
        raise SystemExit(f"{QUERY_SET} has too few queries for {rounds} rounds")
    work = Path(tempfile.mkdtemp(prefix="bench-after-change-"))
    try:
        settings = Settings(index_dir=work / "index", corpus=(args.reuters,))
        if args.index:
            shutil.copytree(args.index, settings.index_dir, copy_function=os.link)
        else:
            build_index(None, settings, show_progress=False)
        if args.cpu:
            spent = measure_cpu(settings, queries[:ASKED_BEFORE], args.commits)
        else:
            rows = measure(settings, queries, args.commits, args.rebuilds, args.wait)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.cpu:
        print_cpu(spent)
    else:
        print_table(rows)


Rows = dict[tuple[str, str], dict[str, list[float]]]


def measure(
    settings: Settings, queries: list[str], commits: int, rebuilds: int, wait: float
) -> Rows:
    """Milliseconds of each engine's searches after each change, by change and search."""
    engines = {
        MODES[0]: SearchEngine(settings, prepare_lexicon=True),
        MODES[1]: SearchEngine(settings, prepare_lexicon=True, follow_index=True),
    }
    asked, new = queries[:ASKED_BEFORE], queries[ASKED_BEFORE:]
    rows: Rows = {(c, q): {mode: [] for mode in MODES} for c in CHANGES for q in SEARCHES}
    try:
        for engine in engines.values():
            for query in asked:
                engine.search(SearchRequest(query=query))
        changes = [CHANGES[0]] * commits + [CHANGES[1]] * rebuilds
        for turn, change in enumerate(changes):
            if change == CHANGES[1]:
                build_index(None, settings, show_progress=False)
            else:
                update_articles(settings, [_article(turn)])
            time.sleep(wait)
            for mode in reversed(MODES):
                pair = (asked[turn % len(asked)], new[turn])
                for search, query in zip(SEARCHES, pair, strict=True):
                    started = time.perf_counter()
                    engines[mode].search(SearchRequest(query=query))
                    rows[change, search][mode].append((time.perf_counter() - started) * 1000)
    finally:
        for engine in engines.values():
            engine.close()
    return rows


def measure_cpu(settings: Settings, asked: list[str], commits: int) -> dict[str, list[float]]:
    """CPU seconds each engine spends after each commit: in the background, and on the
    searches asked before, asked again."""
    spent: dict[str, list[float]] = {}
    for mode in MODES:
        spent[mode] = []
        follows = mode == MODES[1]
        with SearchEngine(settings, prepare_lexicon=True, follow_index=follows) as engine:
            for query in asked:
                engine.search(SearchRequest(query=query))
            _wait_for_background()
            for n in range(commits):
                update_articles(settings, [_article(n)])
                started = time.process_time()
                if follows:
                    time.sleep(2 * FOLLOW_SECONDS)  # the follower sees the commit meanwhile
                    _wait_for_background()
                for query in asked:
                    engine.search(SearchRequest(query=query))
                _wait_for_background()
                spent[mode].append(time.process_time() - started)
    return spent


def _wait_for_background() -> None:
    """Until no thread preparing a commit (``lexicon-...``) runs."""
    while any(t.name.startswith("lexicon-") for t in threading.enumerate()):
        time.sleep(0.05)


def print_cpu(spent: dict[str, list[float]]) -> None:
    print(f"{'engine':<21} {'commits':>7} {'CPU s after each (median)':>26} {'min':>6} {'max':>6}")
    for mode, values in spent.items():
        median = statistics.median(values)
        print(
            f"{mode:<21} {len(values):>7} {median:>26.2f} {min(values):>6.2f} {max(values):>6.2f}"
        )
    ratio = statistics.median(spent[MODES[1]]) / statistics.median(spent[MODES[0]])
    print(f"ratio (following / at the next request): {ratio:.2f}x")


def _article(n: int) -> Article:
    return Article(
        id=f"bench-after-change-{n}-{time.time_ns()}",  # new to an index given again
        title=f"Tanker docks, note {n}",
        body="A tanker docked at the port with crude oil for the refinery.",
        date=dt.date(1987, 3, 1),
        source="Bench Wire",
    )


def print_table(rows: Rows) -> None:
    print(f"{'after':<19} {'search':<13} {'runs':>4}", end="")
    print("".join(f" {mode + ' ms':>22}" for mode in MODES), f"{'ratio':>7}")
    for (change, search), by_mode in rows.items():
        if not all(by_mode.values()):
            continue
        medians = [statistics.median(by_mode[mode]) for mode in MODES]
        print(f"{change:<19} {search:<13} {len(by_mode[MODES[0]]):>4}", end="")
        print(
            "".join(f" {median:>22.1f}" for median in medians), f"{medians[1] / medians[0]:>6.2f}x"
        )
    print("(medians; ratio: following / at the next request)")


if __name__ == "__main__":
    main()
