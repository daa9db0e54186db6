"""No catastrophic backtracking: pathological text through every regular expression.

Every compiled pattern in the readers, the gazetteer, the analyzer and the query parser,
and the functions that use them, get strings built to make backtracking engines explode
(long runs of one character, almost-matches that fail at the very end, deep nesting).
The work runs in a child process under a generous wall-clock limit that only guards
against a hang; how long each call took is printed, not asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

# Runs in the child: finds the patterns, feeds them, prints the slowest calls as JSON.
CHILD = textwrap.dedent(
    r"""
    import importlib, json, pkgutil, re, sys, time
    from pathlib import Path

    import searchsvc

    N = int(sys.argv[1])
    PACKAGES = ("searchsvc.articles", "searchsvc.places", "searchsvc.search", "searchsvc.analysis")
    UNITS = ["a", " ", "(", "\n", "a ", "-", ".,", "A.", "'", "<", "\"", "1", "Ab ", "a-",
             "((a)", "\t\n", "a.b", "A, ", "<REUTERS ", "&#", "=", "**", "~", ":", "x:" ]
    ENDINGS = ["", "!", "\x00", ")", ">", "\n\n"]

    def strings():
        for unit in UNITS:
            body = unit * (N // len(unit))
            for ending in ENDINGS:
                yield body + ending
        yield "BAKU, Feb 26 (MINA) - " * (N // 22)
        yield "(" * 500 + "a" * N + ")" * 499
        yield "\"" + "a " * (N // 2)
        yield "date:[" + "2024-01-01 " * (N // 11)
        yield "Reporting by " + "Ab Cd, " * (N // 7)

    def modules():
        for name in PACKAGES:
            module = importlib.import_module(name)
            yield module
            for info in pkgutil.walk_packages(getattr(module, "__path__", []), name + "."):
                yield importlib.import_module(info.name)

    timings = []

    def timed(label, call, text):
        started = time.perf_counter()
        try:
            call(text)
        except Exception as error:  # an error is fine here; a hang is not
            if type(error).__name__ not in {"QueryError", "BadDate"}:  # domain errors
                raise AssertionError(
                    f"{label} raised {type(error).__name__}: {str(error)[:200]} on {text[:40]!r}"
                ) from error
        timings.append((time.perf_counter() - started, label, repr(text[:30])))

    patterns = {}
    for module in modules():
        for attr, value in vars(module).items():
            if isinstance(value, re.Pattern):
                patterns[f"{module.__name__}.{attr}"] = value
    samples = list(strings())
    for label, pattern in sorted(patterns.items()):
        as_bytes = isinstance(pattern.pattern, bytes)  # a sniffing pattern reads raw bytes
        for text in samples:
            sample = text.encode("utf-8", "surrogatepass") if as_bytes else text
            timed(label + ".search", pattern.search, sample)

    from searchsvc.analysis import make_analyzer
    from searchsvc.articles.datelines import parse_dateline, split_opening_dateline
    from searchsvc.articles.dates import parse_iso_date
    from searchsvc.articles.model import IngestReport
    from searchsvc.articles.reuters import parse_reuters_record, split_records
    from searchsvc.articles.story import clean_story_body
    from searchsvc.articles.wire import parse_wire_story, split_front_matter
    from searchsvc.config import Settings
    from searchsvc.places import find_places, resolve_dateline_place
    from searchsvc.search import SearchEngine

    engine = SearchEngine(Settings(index_dir=Path("/nonexistent"), max_query_length=10 * N))
    analyzer = make_analyzer()
    report = IngestReport()
    functions = {
        "analyzer": lambda t: [tok.text for tok in analyzer(t)],
        "surface_words": analyzer.surface_words,
        "parse_dateline": parse_dateline,
        "split_opening_dateline": split_opening_dateline,
        "parse_iso_date": parse_iso_date,
        "clean_story_body": clean_story_body,
        "parse_wire_story": lambda t: parse_wire_story(
            t, story_id="x", origin="x", metadata={}, report=report),
        "split_front_matter": lambda t: split_front_matter("---\n" + t, report, "x"),
        "split_records": lambda t: list(split_records(t)),
        "parse_reuters_record": lambda t: parse_reuters_record(
            '<REUTERS NEWID="1"><TEXT><TITLE>' + t, "x", report),
        "resolve_dateline_place": lambda t: resolve_dateline_place(t[:400], t),
        "find_places": find_places,
        "engine.parse": engine.parse,
    }
    for label, function in functions.items():
        for text in samples:
            timed(label, function, text)

    timings.sort(reverse=True)
    print(json.dumps({"calls": len(timings), "patterns": len(patterns),
                      "slowest": [[round(s, 3), l, t] for s, l, t in timings[:8]]}))
    """
)


def test_pathological_strings_finish_in_every_regex_user() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, "3000"],
        capture_output=True,
        text=True,
        timeout=600,  # hang guard only; a backtracking blow-up takes hours at this length
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout)
    assert outcome["patterns"] >= 30
    print("\nslowest calls:", *outcome["slowest"], sep="\n  ")
