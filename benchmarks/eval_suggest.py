""" "Did you mean" accuracy and cost on typos generated from a corpus's frequent words.

Typos are made from the ``--frequent`` most common alphabetic words of four letters or more
(uniformly drawn) by one deletion, insertion, substitution or swap of neighbours, at a
random place with a fixed seed; a typo that is itself a word of the corpus is drawn again.
Each is corrected by searchsvc (the best spelling "did you mean" weighs for a word that
found nothing) and by a baseline in the same run: every other corpus word within two
edits (optimal string alignment, rapidfuzz over the whole vocabulary), closest first, then
most frequent. The table shows, per kind, the share corrected to the word the typo was
made from, and the per-word latency of each (the lexicon is read before timing starts):
wall time, and the CPU time of the thread (which other programs' turns on the cores do not
inflate).

    python benchmarks/eval_suggest.py --index-dir /tmp/reuters-index
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from measuring import percentile
from rapidfuzz import process
from rapidfuzz.distance import OSA

from searchsvc.analysis import make_analyzer
from searchsvc.index import open_index
from searchsvc.search.ranking import RankingConfig
from searchsvc.search.snapshot import Reading, Snapshot
from searchsvc.search.suggest import spelling_choices

KINDS = ("deletion", "insertion", "substitution", "transposition")
LETTERS = "abcdefghijklmnopqrstuvwxyz"
MIN_LENGTH = 4
#: Misspellings users reported on Reuters.
EXAMPLES = ("tarrifs", "opek", "presidnt")


@dataclass
class Outcome:
    """One corrector's answers to one kind of typo."""

    right: int = 0
    answered: int = 0
    seconds: list[float] = field(default_factory=list)
    #: The thread's CPU time per word: what a word costs when other programs take turns.
    cpu_seconds: list[float] = field(default_factory=list)


def make_typo(word: str, kind: str, rng: random.Random) -> str:
    at = rng.randrange(len(word))
    if kind == "deletion":
        return word[:at] + word[at + 1 :]
    if kind == "insertion":
        return word[:at] + rng.choice(LETTERS) + word[at:]
    if kind == "substitution":
        return word[:at] + rng.choice(LETTERS.replace(word[at], "")) + word[at + 1 :]
    at = min(at, len(word) - 2)
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]


def typo_set(
    frequent: Sequence[str], known: set[str], per_kind: int, seed: int
) -> dict[str, list[tuple[str, str]]]:
    """(typo, intended) per kind; no typo is a corpus word or appears twice."""
    rng = random.Random(seed)
    seen: set[str] = set()
    typos: dict[str, list[tuple[str, str]]] = {}
    for kind in KINDS:
        typos[kind] = []
        while len(typos[kind]) < per_kind:
            word = rng.choice(frequent)
            typo = make_typo(word, kind, rng)
            if typo in known or typo in seen or typo == word:
                continue
            seen.add(typo)
            typos[kind].append((typo, word))
    return typos


class Baseline:
    """Every other corpus word within two edits, closest first, then most frequent."""

    def __init__(self, counts: dict[str, float]) -> None:
        self.counts = counts
        self.words = list(counts)

    def __call__(self, typo: str) -> str | None:
        found = process.extract(typo, self.words, scorer=OSA.distance, score_cutoff=2, limit=None)
        found = [item for item in found if item[0] != typo]
        if not found:
            return None
        word, _, _ = min(found, key=lambda item: (item[1], -self.counts[item[0]], item[0]))
        return word


def searchsvc_corrector(reading: Reading) -> Callable[[str], str | None]:
    stem = make_analyzer(stem=True).stemmer.stem

    def correct(typo: str) -> str | None:
        choices = spelling_choices(reading, typo, lambda word: (stem(word),), found_nothing=True)
        return next((choice.word for choice in choices if choice.word is not None), None)

    return correct


def evaluate(
    typos: dict[str, list[tuple[str, str]]], correctors: dict[str, Callable[[str], str | None]]
) -> dict[str, dict[str, Outcome]]:
    results = {name: {kind: Outcome() for kind in typos} for name in correctors}
    for kind, pairs in typos.items():
        for typo, intended in pairs:
            for name, correct in correctors.items():
                started, cpu_started = time.perf_counter(), time.thread_time()
                answer = correct(typo)
                outcome = results[name][kind]
                outcome.seconds.append(time.perf_counter() - started)
                outcome.cpu_seconds.append(time.thread_time() - cpu_started)
                outcome.answered += answer is not None
                outcome.right += answer == intended
    return results


def print_table(results: dict[str, dict[str, Outcome]], typos: dict) -> None:
    names = list(results)
    print(
        "| kind | typos | "
        + " | ".join(
            f"{name} right | {name} p50 ms | {name} p99 ms | {name} CPU p99 ms" for name in names
        )
        + " | latency p50 ratio |"
    )
    print("|---|---:|" + "---:|---:|---:|---:|" * len(names) + "---:|")
    rows = [*typos, "all"]
    for kind in rows:
        kinds = list(typos) if kind == "all" else [kind]
        cells = [kind, str(sum(len(typos[k]) for k in kinds))]
        p50s = []
        for name in names:
            outcomes = [results[name][k] for k in kinds]
            total = sum(len(o.seconds) for o in outcomes)
            seconds = [s for o in outcomes for s in o.seconds]
            cpu_seconds = [s for o in outcomes for s in o.cpu_seconds]
            right = sum(o.right for o in outcomes)
            p50s.append(percentile(seconds, 0.5))
            cells += [
                f"{100 * right / total:.1f}%",
                f"{1000 * p50s[-1]:.3f}",
                f"{1000 * percentile(seconds, 0.99):.3f}",
                f"{1000 * percentile(cpu_seconds, 0.99):.3f}",
            ]
        cells.append(f"{p50s[0] / p50s[-1]:.2f}x")
        print("| " + " | ".join(cells) + " |")


def print_examples(correctors: dict[str, Callable[[str], str | None]]) -> None:
    """The misspellings users reported, word by word."""
    print("\n| typed | " + " | ".join(correctors) + " |")
    print("|---|" + "---|" * len(correctors))
    for typo in EXAMPLES:
        answers = [correct(typo) or "-" for correct in correctors.values()]
        print(f"| {typo} | " + " | ".join(answers) + " |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--index-dir",
        type=Path,
        default=Path(os.environ.get("SEARCHSVC_INDEX_DIR", "index")),
        help="an index built with `searchsvc build-index` (default: $SEARCHSVC_INDEX_DIR)",
    )
    parser.add_argument("--per-kind", type=int, default=300)
    parser.add_argument("--frequent", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    with open_index(args.index_dir) as opened:
        searcher = opened.searcher()
        snapshot = Snapshot(opened, searcher, RankingConfig(), lambda _: None)
        reading = Reading(snapshot, searcher)
        started = time.perf_counter()
        every_word = reading.snapshot.lexicon.vocabulary(reading.reader)
        elapsed = time.perf_counter() - started
        counts = {word: count for word, count in every_word.items() if word.isalpha()}
        print(f"lexicon read in {elapsed:.2f} s: {len(every_word):,} words\n")
        frequent = sorted(
            (word for word in counts if len(word) >= MIN_LENGTH),
            key=lambda word: (-counts[word], word),
        )[: args.frequent]
        typos = typo_set(frequent, set(every_word), args.per_kind, args.seed)
        correctors = {"searchsvc": searchsvc_corrector(reading), "baseline": Baseline(counts)}
        print_table(evaluate(typos, correctors), typos)
        print_examples(correctors)
        searcher.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
