"""Highlighting alone: this tree's highlighter against a baseline commit's, same texts.

A search's highlights (titles marked, body snippets chosen) are a share of a first pass
that whole-search timings on a shared machine cannot tell apart from its noise. This
records every title and body the query set's first pass over ``--index`` highlights, with
each query's words, then replays them through both highlighters in one process, the two
taking turns round after round, and compares CPU time kind by kind. Each replay starts
with an empty stem memo, as a freshly started server does (``--warm`` keeps the stems of
the round before: what is left when every word has been stemmed once). Both highlighters
must give the same fragments.

The baseline's ``searchsvc/search/highlight.py`` is taken from a ``git archive`` of REF and
imported beside this tree's package, so it must import what this tree still has:

    python benchmarks/bench_highlight.py --index DIR [--baseline main] [--rounds 6] [--warm]

``--in-pass`` measures inside real first passes instead: each tree opens the index in a
fresh interpreter and runs the query set once, the trees taking turns, and the CPU time of
the highlights is summed (all kinds, and the questions') beside the whole pass's.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from bench_first_pass import DEFAULT_CORPORA, OPEN_ENGINE, Asked, run_in_tree, write_queries
from bench_open import extract_tree
from bench_tables import table
from measuring import REPO, taking_turns
from query_set import QUERY_SET, load_query_set

from searchsvc.analysis import make_analyzer
from searchsvc.config import Settings
from searchsvc.engines import open_engine
from searchsvc.search import highlight

HIGHLIGHT_PATH = "searchsvc/search/highlight.py"
#: One highlighted text: (kind of query, the query's words, "title" or "body", text).
Call = tuple[str, Any, str, str]


def record_calls(index: Path) -> list[Call]:
    """What the query set's first pass over ``index`` highlights, in order."""
    calls: list[Call] = []
    kind = ""
    title, snippet = highlight.Highlighter.title, highlight.Highlighter.snippet

    def recorded_title(self: highlight.Highlighter, text: str) -> str:
        calls.append((kind, self.terms, "title", text))
        return title(self, text)

    def recorded_snippet(self: highlight.Highlighter, body: str) -> str:
        calls.append((kind, self.terms, "body", body))
        return snippet(self, body)

    highlight.Highlighter.title, highlight.Highlighter.snippet = recorded_title, recorded_snippet
    try:
        with open_engine(Settings(index_dir=index)) as engine:
            for query in load_query_set(QUERY_SET):
                kind = query.kind
                engine.search(query.to_request(with_filters=False))
    finally:
        highlight.Highlighter.title, highlight.Highlighter.snippet = title, snippet
    return calls


def baseline_module(ref: str, scratch: Path) -> ModuleType:
    """The baseline's highlight module, imported under a name of its own."""
    path = extract_tree(ref, scratch) / HIGHLIGHT_PATH
    spec = importlib.util.spec_from_file_location("baseline_highlight", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: The stemming every replay shares (its memo emptied before each unless ``--warm``), and
#: the tokenizer.
STEMMED, PLAIN = make_analyzer(stem=True), make_analyzer(stem=False)


def replay(module: ModuleType, calls: Sequence[Call], *, warm: bool) -> tuple[dict, list[str]]:
    """CPU seconds per kind of query, and the fragments, of ``module``'s highlighter."""
    if not warm:
        STEMMED.stemmer.cache.clear()
    forms = module.WordForms(STEMMED.stemmer.stem)
    highlighters: dict[int, Any] = {}
    seconds: dict[str, float] = defaultdict(float)
    fragments = []
    for kind, terms, target, text in calls:
        marker = highlighters.get(id(terms))
        if marker is None:
            marker = highlighters[id(terms)] = module.Highlighter(
                terms,
                token_pattern=PLAIN.tokenizer.regexp,
                forms=forms,
                snippet_chars=Settings.snippet_chars,
                snippet_fragments=Settings.snippet_fragments,
            )
        start = time.process_time()
        fragments.append(marker.title(text) if target == "title" else marker.snippet(text))
        seconds[kind] += time.process_time() - start
    return seconds, fragments


#: One first pass, with the CPU time spent in the highlighter's title and snippet.
IN_PASS = (
    OPEN_ENGINE
    + """
from searchsvc.search import highlight
spent = {{"all": 0.0}}
def timed(method):
    def run(self, text):
        start = time.thread_time()
        try:
            return method(self, text)
        finally:
            spent["all"] += time.thread_time() - start
    return run
highlight.Highlighter.title = timed(highlight.Highlighter.title)
highlight.Highlighter.snippet = timed(highlight.Highlighter.snippet)
totals = {{"pass": 0.0, "highlights": 0.0, "question": 0.0, "question highlights": 0.0}}
for kind, request in queries:
    before, start = spent["all"], time.thread_time()
    engine.search(request)
    took, marked = time.thread_time() - start, spent["all"] - before
    totals["pass"] += took
    totals["highlights"] += marked
    if kind == "question":
        totals["question"] += took
        totals["question highlights"] += marked
print(json.dumps(totals))
"""
)


def in_pass(index: Path, baseline: str, rounds: int) -> str:
    """CPU seconds of whole first passes and of their highlights, medians per tree."""
    runs: dict[str, list[dict[str, float]]] = {baseline: [], "this tree": []}
    with tempfile.TemporaryDirectory(prefix="searchsvc-baseline-") as scratch:
        asked = Asked(index, Path(scratch) / "queries.json", {})
        write_queries(asked.queries, None, DEFAULT_CORPORA, 10_000)
        trees = {baseline: extract_tree(baseline, Path(scratch) / "tree"), "this tree": REPO}
        for name, tree in taking_turns(list(trees.items()), rounds):
            runs[name].append(run_in_tree(tree, asked.code(IN_PASS)))
    rows = []
    for measure in ("pass", "highlights", "question", "question highlights"):
        base, this = (statistics.median(r[measure] for r in runs[name]) for name in runs)
        rows.append([measure, base, this, f"{this / base:.2f}x"])
    return table(["CPU s, first pass", baseline, "this tree", "ratio"], rows)


def replay_table(
    calls: Sequence[Call], versions: dict[str, ModuleType], rounds: int, *, warm: bool
) -> str | None:
    """Median CPU ms per kind of each version (the baseline first), the versions taking
    turns; None when their fragments differ."""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in versions}
    outputs = {}
    for name, module in taking_turns(list(versions.items()), rounds):
        seconds, outputs[name] = replay(module, calls, warm=warm)
        runs[name].append({**seconds, "all": sum(seconds.values())})
    if len({tuple(fragments) for fragments in outputs.values()}) > 1:
        return None
    counts: dict[str, int] = defaultdict(int)
    for kind, *_ in calls:
        counts[kind] += 1
    baseline = next(iter(versions))
    kinds = sorted(counts, key=lambda kind: -statistics.median(r[kind] for r in runs[baseline]))
    rows = []
    for kind, texts in [*((kind, counts[kind]) for kind in kinds), ("all", len(calls))]:
        base, this = (statistics.median(r[kind] for r in runs[name]) for name in versions)
        rows.append([kind, texts, 1000 * base, 1000 * this, f"{this / base:.2f}x"])
    return table(["kind", "texts", *versions, "ratio"], rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--baseline", default="main")
    parser.add_argument("--rounds", type=int, default=6, help="replays of each, alternating")
    parser.add_argument("--warm", action="store_true", help="keep the stems between replays")
    parser.add_argument("--in-pass", action="store_true", help="inside real first passes")
    args = parser.parse_args(argv)
    if args.in_pass:
        print(f"{args.rounds} first passes of each tree, taking turns; medians:\n")
        print(in_pass(args.index, args.baseline, args.rounds))
        return 0
    calls = record_calls(args.index)
    with tempfile.TemporaryDirectory(prefix="searchsvc-highlight-") as scratch:
        versions = {args.baseline: baseline_module(args.baseline, Path(scratch))}
    versions["this tree"] = highlight
    compared = replay_table(calls, versions, args.rounds, warm=args.warm)
    if compared is None:
        print("the two highlighters gave different fragments", file=sys.stderr)
        return 1
    stems = "stems kept from the round before" if args.warm else "an empty stem memo each time"
    print(f"{len(calls)} texts highlighted, {args.rounds} replays of each, {stems}; CPU ms:\n")
    print(compared)
    return 0


if __name__ == "__main__":
    sys.exit(main())
