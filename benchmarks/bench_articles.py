"""CPU per article of each stage a build worker runs before the segment writer, on Reuters.

A build worker reads and parses each story, tells its language, resolves its places,
analyses its title and body into terms for the four text fields and computes its copy
signature; only then does the segment writer see it. This script times those stages
one by one, in a fresh process each (cold stem and surface-word caches, as a worker
starts), and prints microseconds of CPU per article::

    python benchmarks/bench_articles.py                       # this checkout
    python benchmarks/bench_articles.py --baseline DIR --repeat 3

``--baseline DIR`` times another checkout of the project (``git archive main | tar -x -C
DIR``) in the same rounds, alternating with this one, and shows each stage's ratio. The
best of ``--repeat`` runs is kept per stage. Reading and parsing is timed with the
language and place stages taken out (they are timed on their own as the reader calls
them); "gazetteer load" is once per process, not per article.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REUTERS = REPO.parent / "shared" / "corpora" / "reuters21578"
TEXT_FIELDS = ("title", "body", "title_words", "body_words")
STAGES = (
    "read + parse",
    "language",
    "places",
    "analysis",
    "signature",
    "rest of document",
)


class _Timed:
    """A function wrapped to add up the CPU time of its calls."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.seconds = 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.seconds += time.process_time() - started


def measure_stages(files: list[Path]) -> dict[str, Any]:
    """CPU seconds of each stage over all articles of ``files``, in this process."""
    import searchsvc.articles.placing as placing
    import searchsvc.articles.reuters as reuters
    from searchsvc.articles.model import IngestReport
    from searchsvc.articles.sources import read_file
    from searchsvc.index.schema import AnalyzedText, article_document, make_schema
    from searchsvc.index.versions import signature
    from searchsvc.places import load_places

    started = time.process_time()
    load_places()
    gazetteer_seconds = time.process_time() - started

    language = reuters.article_language = _Timed(reuters.article_language)
    places = placing.locate = _Timed(placing.locate)
    started = time.process_time()
    articles = [
        article
        for path in files
        for article in read_file(path, IngestReport(), max_file_bytes=1 << 30)
    ]
    reading = time.process_time() - started

    schema = make_schema()
    plain = schema["title_words"].analyzer
    fields = [schema[name] for name in TEXT_FIELDS]
    started = time.process_time()
    for article in articles:
        title = AnalyzedText.of(article.title, plain, article.language)
        body = AnalyzedText.of(article.body, plain, article.language)
        for field, value in zip(fields, (title, body, title, body), strict=True):
            field.term_positions(value)
    analysis = time.process_time() - started

    started = time.process_time()
    for article in articles:
        signature(article.title, article.body)
    signing = time.process_time() - started

    started = time.process_time()
    for article in articles:
        article_document(article, plain)
    document = time.process_time() - started
    surface_and_signature = _surface_seconds(articles, plain) + signing
    seconds = {
        "read + parse": reading - language.seconds - places.seconds,
        "language": language.seconds,
        "places": places.seconds,
        "analysis": analysis,
        "signature": signing,
        "rest of document": max(0.0, document - surface_and_signature),
    }
    return {"articles": len(articles), "seconds": seconds, "gazetteer": gazetteer_seconds}


def _surface_seconds(articles: list, plain: Any) -> float:
    """What ``article_document`` spends splitting title and body (warm caches now)."""
    from searchsvc.index.schema import AnalyzedText

    started = time.process_time()
    for article in articles:
        AnalyzedText.of(article.title, plain, article.language)
        AnalyzedText.of(article.body, plain, article.language)
    return time.process_time() - started


def run_child(tree: Path, reuters: Path) -> dict[str, Any]:
    """One measurement of the checkout at ``tree``, in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    script = Path(__file__).resolve()
    output = subprocess.run(
        [sys.executable, str(script), "--child", "--reuters", str(reuters)],
        cwd=tree,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.splitlines()[-1])


def best_runs(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Per stage, the lowest microseconds per article over the runs; plus the load."""
    best = {
        stage: min(run["seconds"][stage] / run["articles"] for run in runs) * 1e6
        for stage in STAGES
    }
    best["total per article"] = (
        min(sum(run["seconds"].values()) / run["articles"] for run in runs) * 1e6
    )
    best["gazetteer load (ms, once)"] = min(run["gazetteer"] for run in runs) * 1e3
    return best


def print_table(trees: dict[str, list[dict[str, Any]]]) -> None:
    names = list(trees)
    best = {name: best_runs(runs) for name, runs in trees.items()}
    articles = trees[names[0]][0]["articles"]
    print(f"CPU µs per article, {articles:,} Reuters articles, best of {len(trees[names[0]])}")
    header = "| stage | " + " | ".join(names)
    header += " | ratio |" if len(names) == 2 else " |"
    print(header)
    print("|---" + "|---:" * (len(names) + (len(names) == 2)) + "|")
    for stage in best[names[0]]:
        cells = [f"{best[name][stage]:,.1f}" for name in names]
        if len(names) == 2:
            before, after = best[names[1]][stage], best[names[0]][stage]
            cells.append(f"{after / before:.2f}x" if before else "—")
        print(f"| {stage} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuters", type=Path, default=DEFAULT_REUTERS)
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    parser.add_argument("--repeat", type=int, default=1, help="runs per checkout; best is kept")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    files = sorted(args.reuters.glob("reut2-*.sgm"))
    if not files:
        sys.exit(f"no reut2-*.sgm files in {args.reuters}")
    if args.child:
        print(json.dumps(measure_stages(files)))
        return
    trees = {"this checkout": REPO}
    if args.baseline:
        trees["baseline"] = args.baseline.resolve()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for _ in range(args.repeat):
        for name, tree in trees.items():
            runs[name].append(run_child(tree, args.reuters))
    print_table(runs)


if __name__ == "__main__":
    main()
