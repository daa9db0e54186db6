"""Does the plain-text reader find the same dateline place as the Reuters reader?

Every Reuters-21578 story whose ``<DATELINE>`` names a place is rendered as a plain wire
story (title line, blank line, dateline and body) in each common dateline shape, written
to a temporary directory and read back with the wire reader. Prints, per shape, how often
the wire reader extracted the same place text and resolved the same place as the Reuters
reader, then how many Reuters datelines resolved to a place with a known country.

    python benchmarks/measure_datelines.py [--reuters DIR] [--limit N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from searchsvc.articles import Article, IngestReport
from searchsvc.articles.datelines import parse_dateline, parse_tag_dateline
from searchsvc.articles.sources import read_articles

DEFAULT_REUTERS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "reuters21578"
MAX_FILE_BYTES = 50 * 1024 * 1024


def _month_day(date: dt.date | None) -> str:
    date = date or dt.date(1987, 3, 1)
    return f"{date:%b} {date.day}"


def _caps_first(place: str) -> str:
    town, comma, region = place.partition(",")
    return town.upper() + comma + region


# Each shape: how a wire desk would write the dateline for this place and date.
SHAPES: dict[str, Callable[[str, dt.date | None], str]] = {
    "PLACE, AGENCY -": lambda place, date: f"{place}, Reuters \u2013",
    "PLACE (AGENCY) -": lambda place, date: f"{place} (Reuters) -",
    "PLACE, Month Day (AGENCY) -": lambda place, date: f"{place}, {_month_day(date)} (Reuters) -",
    "PLACE, Region - (caps)": lambda place, date: f"{_caps_first(place)} -",
    "PLACE, Month Day -": lambda place, date: f"{place}, {_month_day(date)} -",
}


@dataclass
class ShapeResult:
    stories: int = 0
    same_text: int = 0
    same_place: int = 0
    seconds: float = 0.0


def place_text(article: Article, *, from_tag: bool) -> str | None:
    if not article.dateline:
        return None
    dateline = (parse_tag_dateline if from_tag else parse_dateline)(article.dateline)
    return dateline.place if dateline else None


def render(article: Article, dateline: str) -> str:
    first, _, rest = article.body.partition("\n\n")
    story = f"{dateline} {first}" + (f"\n\n{rest}" if rest else "")
    return f"{article.title or 'UNTITLED'}\n\n{story}\n"


def measure(reuters_dir: Path, limit: int | None, keep: Path | None) -> None:
    paths = sorted(reuters_dir.glob("reut2-*.sgm"))
    started = time.perf_counter()
    report = IngestReport()
    reference: dict[str, Article] = {}
    with_tag = with_country = with_text = 0
    for article in read_articles(paths, report, max_file_bytes=MAX_FILE_BYTES):
        if article.dateline is None:
            continue
        with_tag += 1
        if article.dateline_place is not None and article.dateline_place.country:
            with_country += 1
        if place_text(article, from_tag=True):
            with_text += 1
            if limit is None or len(reference) < limit:
                reference[article.id] = article
    print(
        f"Reuters read in {time.perf_counter() - started:.1f}s: {report.articles} articles, "
        f"{with_tag} with a <DATELINE>, {with_text} naming a place"
    )

    results: dict[str, ShapeResult] = {}
    with tempfile.TemporaryDirectory() as scratch:
        root = keep or Path(scratch)
        for number, (shape, write_dateline) in enumerate(SHAPES.items()):
            shape_dir = root / f"shape{number}"
            shape_dir.mkdir(parents=True, exist_ok=True)
            for article in reference.values():
                dateline = write_dateline(place_text(article, from_tag=True), article.date)
                (shape_dir / f"{article.id}.txt").write_text(render(article, dateline))
            result = results[shape] = ShapeResult()
            started = time.perf_counter()
            wire_report = IngestReport()
            for wire in read_articles([shape_dir], wire_report, max_file_bytes=MAX_FILE_BYTES):
                original = reference[wire.id]
                result.stories += 1
                wire_text = place_text(wire, from_tag=False) or ""
                if wire_text.lower() == (place_text(original, from_tag=True) or "").lower():
                    result.same_text += 1
                wire_key = wire.dateline_place.key if wire.dateline_place else None
                original_key = original.dateline_place.key if original.dateline_place else None
                if wire_key == original_key:
                    result.same_place += 1
            result.seconds = time.perf_counter() - started
            missing = len(reference) - result.stories
            if missing:
                print(f"  {shape}: {missing} stories not read back: {wire_report.skipped}")

    total = len(reference)
    print()
    print(
        f"{'dateline shape':<30} {'stories':>8} {'same text':>10} {'same place':>11} {'art/s':>7}"
    )
    for shape, result in results.items():
        print(
            f"{shape:<30} {total:>8} {100 * result.same_text / total:>9.2f}% "
            f"{100 * result.same_place / total:>10.2f}% {result.stories / result.seconds:>7.0f}"
        )
    print()
    print(
        f"Reuters datelines resolved to a place with a known country: "
        f"{with_country}/{with_tag} = {100 * with_country / with_tag:.2f}% of <DATELINE>s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuters", type=Path, default=DEFAULT_REUTERS)
    parser.add_argument("--limit", type=int, help="only the first N stories with a place")
    parser.add_argument("--keep", type=Path, help="write the rendered stories here, not to tmp")
    args = parser.parse_args()
    measure(args.reuters, args.limit, args.keep)


if __name__ == "__main__":
    main()
