"""How well and how fast places are resolved, measured on all of Reuters-21578.

Prints: share of datelines resolved to a place with a known country, country-level
precision/recall/F1 of ``find_places`` against the collection's own ``<PLACES>``
labels, the cost of ``find_places`` per article, and the gazetteer's cold load
time (in a fresh process). Then a handful of stories where the labels and the
text disagree, because the labels are not always right either.

    python benchmarks/measure_places.py [--reuters DIR] [--examples N]

The SGML is parsed here with plain regexes so this measures the places code
alone, whatever state the article readers are in.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from searchsvc.places import find_places, get_gazetteer, resolve_dateline_place
from searchsvc.places.dateline import load_country_names

DEFAULT_REUTERS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "reuters21578"

_STORY = re.compile(r"<REUTERS\b[^>]*\bNEWID=\"(\d+)\"[^>]*>(.*?)</REUTERS>", re.DOTALL)
_LABEL = re.compile(r"<D>([^<]*)</D>")
_CONTROL_CHARS = re.compile(r"&#\d+;")
#: "SALVADOR, Feb 26 - " → "SALVADOR": the date is the last comma-separated part.
_DATELINE_DATE = re.compile(r",?\s*[A-Za-z]{3,9}\.?\s+\d{1,2}\s*-?\s*$")

#: Labels whose spelling no country-name resolver knows, keyed as places.py keys them.
LABEL_CODES = {
    "usa": "US",
    "uk": "GB",
    "ussr": "RU",
    "west-germany": "DE",
    "east-germany": "DE",
    "yugoslavia": "RS",
    "czechoslovakia": "CZ",
    "burma": "MM",
    "zaire": "CD",
    "kampuchea": "KH",
    "congo": "CG",
    "ivory-coast": "CI",
    "yemen-arab-republic": "YE",
    "yemen-demo-republic": "YE",
    "netherlands-antilles": "AN",
    "uae": "AE",
    "vatican": "VA",
    "macao": "MO",
    "swaziland": "SZ",
    "western-samoa": "WS",
    "antigua": "AG",
    "trinidad-tobago": "TT",
}


@dataclass
class Story:
    newid: str
    dateline: str
    title: str
    body: str
    labels: tuple[str, ...]


def _field(tag: str, raw: str) -> str:
    found = re.search(rf"<{tag}>(.*?)</{tag}>", raw, re.DOTALL)
    return html.unescape(_CONTROL_CHARS.sub("", found.group(1))).strip() if found else ""


def read_stories(reuters_dir: Path) -> list[Story]:
    stories = []
    for path in sorted(reuters_dir.glob("reut2-*.sgm")):
        for newid, raw in _STORY.findall(path.read_text(encoding="latin-1")):
            places = re.search(r"<PLACES>(.*?)</PLACES>", raw, re.DOTALL)
            labels = tuple(_LABEL.findall(places.group(1))) if places else ()
            dateline = _DATELINE_DATE.sub("", _field("DATELINE", raw)).strip(" ,-")
            stories.append(
                Story(newid, dateline, _field("TITLE", raw), _field("BODY", raw), labels)
            )
    return stories


def label_code(label: str) -> str | None:
    if label in LABEL_CODES:
        return LABEL_CODES[label]
    return load_country_names()(label.replace("-", " "))


def cold_load_seconds() -> tuple[float, float]:
    """Import and gazetteer load in a fresh interpreter (wall, CPU): what a worker pays once.

    CPU time is reported too because wall time on a busy machine mostly measures
    the neighbours.
    """
    code = (
        "import time; t = time.perf_counter(); c = time.process_time(); "
        "from searchsvc.places import get_gazetteer; get_gazetteer(); "
        "print(time.perf_counter() - t, time.process_time() - c)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    wall, cpu = out.stdout.split()
    return float(wall), float(cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuters", type=Path, default=DEFAULT_REUTERS)
    parser.add_argument("--examples", type=int, default=8, help="label disagreements to print")
    args = parser.parse_args(argv)

    cold_runs = [cold_load_seconds() for _ in range(3)]
    cold_wall = statistics.median(wall for wall, _ in cold_runs)
    cold_cpu = statistics.median(cpu for _, cpu in cold_runs)
    stories = read_stories(args.reuters)
    started = time.perf_counter()
    get_gazetteer()
    find_places("Warm-up in Baku, Azerbaijan.")
    load_wall = time.perf_counter() - started

    with_dateline = resolved = 0
    unresolved: Counter[str] = Counter()
    true_pos = predicted_total = gold_total = labelled = 0
    spent: list[float] = []
    sizes: list[int] = []
    disagreements = []
    unmapped: Counter[str] = Counter()
    busy = os.getloadavg()[0]
    for story in stories:
        text = f"{story.title}\n{story.body}"
        place = None
        if story.dateline:
            with_dateline += 1
            place = resolve_dateline_place(story.dateline, text)
            if place is not None and place.country:
                resolved += 1
            else:
                unresolved[story.dateline] += 1
        started = time.thread_time()
        places = find_places(text, place)
        spent.append(time.thread_time() - started)
        sizes.append(len(text))
        if not story.labels:
            continue
        gold = set()
        for label in story.labels:
            code = label_code(label)
            if code:
                gold.add(code)
            else:
                unmapped[label] += 1
        found = {p.country for p in places if p.country}
        labelled += 1
        true_pos += len(found & gold)
        predicted_total += len(found)
        gold_total += len(gold)
        never_named = gold - found
        if never_named and place is not None and place.country not in gold:
            disagreements.append((story, place, sorted(never_named)))

    precision = true_pos / predicted_total if predicted_total else 0.0
    recall = true_pos / gold_total if gold_total else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    per_article_ms = 1000 * statistics.fmean(spent)
    typical = [t for t, size in zip(spent, sizes, strict=True) if 1024 <= size <= 3072]
    typical_ms = 1000 * statistics.fmean(typical) if typical else 0.0
    per_kb_ms = 1000 * sum(spent) / (sum(sizes) / 1024)
    rows = [
        ("stories", f"{len(stories)}"),
        (
            "datelines resolved (country known)",
            f"{resolved}/{with_dateline} = {100 * resolved / max(with_dateline, 1):.2f}%",
        ),
        ("stories with <PLACES> labels", f"{labelled}"),
        ("country-level precision", f"{100 * precision:.1f}%"),
        ("country-level recall", f"{100 * recall:.1f}%"),
        ("country-level F1", f"{100 * f1:.1f}%"),
        ("find_places per article (mean, CPU)", f"{per_article_ms:.3f} ms"),
        (f"find_places per 1-3 KB article ({len(typical)})", f"{typical_ms:.3f} ms"),
        (
            "find_places per article (p99)",
            f"{1000 * statistics.quantiles(spent, n=100)[98]:.3f} ms",
        ),
        ("find_places per KB of text", f"{per_kb_ms:.3f} ms"),
        ("gazetteer load (in-process, wall)", f"{load_wall:.2f} s"),
        (
            "import + load, fresh process (median of 3)",
            f"{cold_wall:.2f} s wall, {cold_cpu:.2f} s CPU",
        ),
    ]
    rows.append(("load average during the run (1 min)", f"{busy:.1f} on {os.cpu_count()} cores"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if unmapped:
        print(f"\nlabels with no country code: {dict(unmapped)}")
    print("\nmost frequent datelines without a country:")
    for dateline, count in unresolved.most_common(10):
        print(f"  {count:4d}  {dateline}")
    print(
        f"\nlabels that look wrong ({len(disagreements)} stories): a labelled country the text"
        " never names, while the dateline's country is not labelled:"
    )
    disagreements.sort(key=lambda item: int(item[0].newid))
    for story, place, never_named in disagreements[: args.examples]:
        print(
            f"  NEWID={story.newid}: filed from {place.display}, labelled {list(story.labels)},"
            f" never names {never_named}; {story.title[:50]!r}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
