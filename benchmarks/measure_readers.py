"""How fast the article readers are on all of Reuters-21578, single process.

Prints articles per second for parsing alone and for parsing with places (dateline
place and mentioned places from the gazetteer, loaded before the clock starts).

    python benchmarks/measure_readers.py [--reuters DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from searchsvc.articles import IngestReport
from searchsvc.articles.sources import read_articles

DEFAULT_REUTERS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "reuters21578"
MAX_FILE_BYTES = 50 * 1024 * 1024


def time_reading(paths: list[Path], *, with_places: bool) -> tuple[int, int, float]:
    report = IngestReport()
    started = time.perf_counter()
    articles = sum(
        1
        for _ in read_articles(
            paths, report, max_file_bytes=MAX_FILE_BYTES, with_places=with_places
        )
    )
    seconds = time.perf_counter() - started
    return articles, sum(report.skipped.values()), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuters", type=Path, default=DEFAULT_REUTERS)
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode; best is shown")
    args = parser.parse_args()
    paths = sorted(args.reuters.glob("reut2-*.sgm"))

    from searchsvc.places import get_gazetteer

    started = time.perf_counter()
    get_gazetteer()
    print(f"gazetteer loaded in {time.perf_counter() - started:.2f}s (not counted below)")
    print(f"{'mode':<22} {'articles':>8} {'skipped':>8} {'seconds':>8} {'articles/s':>11}")
    for mode, with_places in (("parse only", False), ("parse + places", True)):
        runs = [time_reading(paths, with_places=with_places) for _ in range(args.repeat)]
        articles, skipped, seconds = min(runs, key=lambda run: run[2])
        print(f"{mode:<22} {articles:>8} {skipped:>8} {seconds:>8.2f} {articles / seconds:>11.0f}")


if __name__ == "__main__":
    main()
