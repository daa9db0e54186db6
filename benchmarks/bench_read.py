"""The build's reading stage alone: parsing, places and language, this checkout against another.

Reads every article of each corpus the way a build worker does (``sources.read_file``,
places included) in a fresh process per run, with the gazetteer and the language model
loaded before the clock starts, and compares:

- every record, field by field (title, body, dateline, places, date, language, ...):
  a speed-up of the reading stage must not change one article;
- the CPU seconds of one pass, best of ``--repeat`` runs per checkout, alternated so that
  both meet the same load.

    python benchmarks/bench_read.py --baseline DIR [--repeat 5] [--corpus NAME=PATH ...]

``DIR`` is another checkout (``git archive main | tar -x -C DIR``). By default the corpora
are Reuters-21578 and the 10,000 synthetic articles of the scale runs.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
DEFAULT_CORPORA = {
    "reuters": REPO.parent / "shared" / "corpora" / "reuters21578",
    "synthetic-10k": REPO.parent / "bench-work5" / "synthetic-10k",
}
MAX_FILE_BYTES = 1 << 30


def read_corpus(corpus: Path, records_out: Path) -> dict[str, Any]:
    """One timed pass over ``corpus`` in this process; its records pickled to ``records_out``."""
    from searchsvc.articles.languages import detect_language
    from searchsvc.articles.model import IngestReport
    from searchsvc.articles.sources import list_source_files, read_file
    from searchsvc.places import load_places

    load_places()
    detect_language("Loading the model", "Le modèle de langue est chargé avant la mesure.")
    files = [path for path in list_source_files([corpus]) if path.suffix != ".txt"]
    report = IngestReport()
    started = time.process_time()
    articles = [
        article
        for path in files
        for article in read_file(path, report, max_file_bytes=MAX_FILE_BYTES)
    ]
    cpu = time.process_time() - started
    records = [article.to_dict() for article in articles]
    records_out.write_bytes(pickle.dumps((records, report.skipped, report.repaired)))
    return {"cpu": cpu, "articles": len(articles)}


def run_tree(tree: Path, corpus: Path, records_out: Path) -> dict[str, Any]:
    """:func:`read_corpus` in a fresh interpreter with ``tree`` first on the path."""
    command = [sys.executable, __file__, "--child", str(corpus), str(records_out)]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def differences(baseline: Path, ours: Path) -> list[str]:
    """What differs between two pickled runs: counts, reports, then fields per article."""
    base_records, base_skipped, base_repaired = pickle.loads(baseline.read_bytes())
    our_records, our_skipped, our_repaired = pickle.loads(ours.read_bytes())
    found = []
    if len(base_records) != len(our_records):
        found.append(f"{len(base_records)} articles against {len(our_records)}")
    if (base_skipped, base_repaired) != (our_skipped, our_repaired):
        found.append("the ingest reports differ")
    for base, our in zip(base_records, our_records, strict=False):
        for field in base.keys() | our.keys():
            if base.get(field) != our.get(field):
                found.append(f"{base['id']}: {field}")
    return found


def compare(baseline: Path, corpora: dict[str, Path], repeat: int, workdir: Path) -> None:
    header = f"{'corpus':14} {'articles':>8} {'baseline CPU s':>14} {'this CPU s':>10} "
    header += f"{'ratio':>6} {'records':>9}"
    rows = []
    for name, corpus in corpora.items():
        cpu: dict[str, list[float]] = {"baseline": [], "this": []}
        trees = {"baseline": baseline, "this": REPO}
        outputs = {label: workdir / f"{name}-{label}.pickle" for label in trees}
        for _ in range(repeat):
            for label, tree in trees.items():
                result = run_tree(tree, corpus, outputs[label])
                cpu[label].append(result["cpu"])
        found = differences(outputs["baseline"], outputs["this"])
        for line in found[:20]:
            print(f"{name}: differs: {line}")
        base, ours = min(cpu["baseline"]), min(cpu["this"])
        rows.append(
            f"{name:14} {result['articles']:8d} {base:14.2f} {ours:10.2f} "
            f"{ours / base:5.2f}x {'identical' if not found else f'{len(found)} diff':>9}"
        )
    print(f"best of {repeat} fresh processes each, CPU seconds of one reading pass")
    print(header)
    print("-" * len(header))
    print("\n".join(rows))
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    parser.add_argument("--repeat", type=int, default=5, help="runs per checkout; best is kept")
    parser.add_argument("--corpus", action="append", metavar="NAME=PATH", help="corpora to read")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(read_corpus(*args.child)))
        return
    if args.baseline is None:
        parser.error("--baseline DIR is required")
    corpora = DEFAULT_CORPORA
    if args.corpus:
        corpora = {name: Path(path) for name, path in (c.split("=", 1) for c in args.corpus)}
    with tempfile.TemporaryDirectory(prefix="bench-read-") as tmp:
        compare(args.baseline, corpora, args.repeat, Path(tmp))


if __name__ == "__main__":
    main()
