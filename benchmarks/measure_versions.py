"""Precision and recall of grouping copies of one story, on versions made from Reuters-21578.

Stories of at least 80 words are sampled; each gets five edited versions (a rewritten lede,
an added paragraph, a changed headline, a shortened copy, agency boilerplate added) and one
update combining a rewritten lede, a new headline and an added paragraph. Each sampled story
also brings its hardest negative: the most similar other story (by shared words) from the
same dateline place, a different story on the same topic from the same place; pairs that
are near-exact duplicates already in the collection are left out and counted. Everything is
grouped together as an index would group it, and pairwise precision, recall and F1 are
printed at several thresholds, then recall by kind of edit at the default.

    python benchmarks/measure_versions.py [--reuters DIR] [--stories 400] [--seed 1]
        [--index DIR [--rounds 5]]

With ``--index`` (an index built by this code), it also prints what collapsing costs a
search: the CPU time per query of the query set with ``collapse`` on and off, the two
alternating query by query in one process, warm, and the time to group the commit once.
Skips (exit 0, saying so) when the collection is absent.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from measuring import DEFAULT_REUTERS, percentile, read_reuters
from query_set import load_query_set

from searchsvc.articles.model import Article
from searchsvc.config import Settings
from searchsvc.index.opening import open_index
from searchsvc.index.versions import shingles, signature
from searchsvc.search import SearchEngine
from searchsvc.search.collapse import SIGNATURE_COLUMN, group_signatures, signature_matrix
from searchsvc.search.columns import read_var_bytes

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
MIN_WORDS = 80
#: Negatives this similar (exact shingle Jaccard) are copies in the collection itself.
COLLECTION_COPY = 0.8
BOILERPLATE = (
    "\n\n(Reporting by the city desk; Editing by the world desk)\n"
    "((newsroom.desk@example.com; +1 212 555 0100))\n"
    "Keep up with the latest markets news on our website."
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Item:
    """One fixture article: its text, the story it is a copy of, and how it was made."""

    title: str
    body: str
    story: int
    kind: str


def sentences(body: str) -> list[str]:
    return [part for part in _SENTENCE_END.split(" ".join(body.split())) if part]


def rewrite_lede(body: str) -> str:
    """The first sentence said again in another order, one word dropped."""
    parts = sentences(body)
    words = parts[0].rstrip(".").split()
    half = len(words) // 2
    rewritten = " ".join([*words[half:], "officials", "said,", *words[1:half]]) + "."
    return " ".join([rewritten, *parts[1:]])


def versions_of(article: Article, other: Article) -> list[tuple[str, str, str]]:
    """(kind, title, body) of each edited version; ``other`` lends a paragraph."""
    added = " ".join(sentences(other.body)[:2])
    kept = sentences(article.body)
    shortened = " ".join(kept[: max(1, round(len(kept) * 0.6))])
    headline = "UPDATE 1-" + " ".join(reversed(article.title.split()))
    return [
        ("rewritten lede", article.title, rewrite_lede(article.body)),
        ("added paragraph", article.title, f"{article.body}\n\n{added}"),
        ("changed headline", headline, article.body),
        ("shortened", article.title, shortened),
        ("boilerplate", article.title, article.body + BOILERPLATE),
        ("update (all three)", headline, f"{rewrite_lede(article.body)}\n\n{added}"),
    ]


def place_of(article: Article) -> str:
    return (article.dateline or "").split(",")[0].strip().upper()


def hardest_negative(
    article: Article, candidates: list[Article], words: dict[str, Counter]
) -> Article | None:
    """The other story of the same place sharing the most words with ``article``."""
    mine = words[article.id]
    best, best_score = None, 0.0
    for other in candidates:
        if other.id == article.id:
            continue
        shared = sum((mine & words[other.id]).values())
        score = shared / max(1, min(sum(mine.values()), sum(words[other.id].values())))
        if score > best_score:
            best, best_score = other, score
    return best


def jaccard(first: Item | Article, second: Item | Article) -> float:
    a = shingles(f"{first.title}\n{first.body}")
    b = shingles(f"{second.title}\n{second.body}")
    return len(a & b) / max(1, len(a | b))


def make_fixture(articles: list[Article], count: int, seed: int) -> tuple[list[Item], int]:
    """The fixture items, and how many negatives were left out as collection copies."""
    rng = random.Random(seed)
    long_enough = [a for a in articles if len(a.body.split()) >= MIN_WORDS and a.title]
    sample = rng.sample(long_enough, min(count, len(long_enough)))
    by_place: dict[str, list[Article]] = defaultdict(list)
    for article in long_enough:
        by_place[place_of(article)].append(article)
    words = {a.id: Counter(re.findall(r"[a-z]{4,}", a.body.lower())) for a in long_enough}
    items: list[Item] = []
    left_out = 0
    for story, article in enumerate(sample):
        items.append(Item(article.title, article.body, story, "original"))
        lender = rng.choice(long_enough)
        for kind, title, body in versions_of(article, lender):
            items.append(Item(title, body, story, kind))
        negative = hardest_negative(article, by_place[place_of(article)], words)
        if negative is None:
            continue
        if jaccard(article, negative) >= COLLECTION_COPY:
            left_out += 1
            continue
        items.append(Item(negative.title, negative.body, -1 - story, "negative"))
    return items, left_out


def pair_counts(truth: np.ndarray, labels: np.ndarray) -> tuple[int, int, int]:
    """(pairs grouped and truly one story, pairs grouped, pairs truly one story)."""

    def pairs(*keys: np.ndarray) -> int:
        _, counts = np.unique(np.stack(keys, axis=1), axis=0, return_counts=True)
        return int((counts * (counts - 1) // 2).sum())

    return pairs(truth, labels), pairs(labels), pairs(truth)


def scores(truth: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    both, grouped, true = pair_counts(truth, labels)
    precision = both / grouped if grouped else 1.0
    recall = both / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def recall_by_kind(items: list[Item], labels: np.ndarray) -> dict[str, float]:
    originals = {item.story: index for index, item in enumerate(items) if item.kind == "original"}
    found: dict[str, list[bool]] = defaultdict(list)
    for index, item in enumerate(items):
        if item.kind in ("original", "negative"):
            continue
        found[item.kind].append(bool(labels[index] == labels[originals[item.story]]))
    return {kind: sum(hits) / len(hits) for kind, hits in found.items()}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuters", type=Path, default=DEFAULT_REUTERS)
    parser.add_argument("--stories", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--index", type=Path, help="also measure collapsing's cost on it")
    parser.add_argument("--rounds", type=int, default=5, help="warm passes over the query set")
    return parser.parse_args(argv)


def collapse_cost(index_dir: Path, rounds: int) -> None:
    """CPU per search with and without collapsing, alternating, after one warm-up pass."""
    settings = Settings.from_env(environ={}, index_dir=index_dir)
    queries = load_query_set()
    cpu: dict[bool, list[float]] = {True: [], False: []}
    started = time.process_time()
    with open_index(index_dir) as opened, opened.searcher() as searcher:
        signatures, present = signature_matrix(read_var_bytes(searcher, SIGNATURE_COLUMN))
    labels = group_signatures(signatures, present, settings.versions_threshold)
    grouping = time.process_time() - started
    sizes = np.bincount(labels[present])
    live, grouped = int(present.sum()), int(sizes[sizes > 1].sum())
    with SearchEngine(settings) as engine:
        for number in range(rounds + 1):
            for item in queries:
                for collapse in (True, False):
                    request = replace(item.to_request(with_filters=True), collapse=collapse)
                    began = time.thread_time()
                    engine.search(request)
                    if number:
                        cpu[collapse].append(time.thread_time() - began)
    print(
        f"\nCollapsing on {index_dir}: {live:,} articles, {grouped:,} of them in stories with "
        f"copies; reading and grouping the signatures once: {grouping * 1000:.0f} ms CPU\n"
    )
    print("| collapse | searches | CPU p50 ms | CPU p99 ms | CPU mean ms |")
    print("|---|---:|---:|---:|---:|")
    for collapse in (False, True):
        times = cpu[collapse]
        print(
            f"| {str(collapse).lower()} | {len(times)} | {percentile(times, 0.5) * 1000:.2f} "
            f"| {percentile(times, 0.99) * 1000:.2f} | {sum(times) / len(times) * 1000:.2f} |"
        )
    ratio = sum(cpu[True]) / sum(cpu[False])
    print(f"\ncollapse=true / collapse=false, mean CPU per search: {ratio:.2f}x")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.reuters.is_dir():
        print(f"skipped: no Reuters-21578 collection at {args.reuters}")
        return 0
    articles = list(read_reuters(args.reuters, with_places=False))
    items, left_out = make_fixture(articles, args.stories, args.seed)
    truth = np.array([item.story for item in items])
    matrix, present = signature_matrix([signature(item.title, item.body) for item in items])
    stories = len(set(truth[truth >= 0].tolist()))
    negatives = sum(item.kind == "negative" for item in items)
    print(
        f"{len(items)} articles: {stories} Reuters stories with 6 versions each, {negatives} "
        f"hard negatives (same dateline place, most shared words); {left_out} negatives left "
        f"out as copies already in the collection (shingle Jaccard >= {COLLECTION_COPY})\n"
    )
    default = Settings.from_env(environ={}).versions_threshold
    print("| threshold | precision | recall | F1 | pairs grouped | true pairs |")
    print("|---:|---:|---:|---:|---:|---:|")
    for threshold in sorted({*THRESHOLDS, default}):
        labels = group_signatures(matrix, present, threshold)
        precision, recall, f1 = scores(truth, labels)
        _, grouped, true = pair_counts(truth, labels)
        mark = " (default)" if threshold == default else ""
        print(
            f"| {threshold:.2f}{mark} | {precision:.3f} | {recall:.3f} | {f1:.3f} "
            f"| {grouped} | {true} |"
        )
    labels = group_signatures(matrix, present, default)
    print(f"\nRecall by kind of edit at the default threshold ({default}):\n")
    print("| edit | recall |")
    print("|---|---:|")
    for kind, recall in recall_by_kind(items, labels).items():
        print(f"| {kind} | {recall:.3f} |")
    if args.index:
        collapse_cost(args.index, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
