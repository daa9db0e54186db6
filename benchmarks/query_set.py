"""The fixed benchmark query set: loading it, turning it into requests, and (re)making it.

The committed ``query_set.json`` was drawn once from Reuters-21578 with a fixed seed:
single words from three document-frequency bands, 2-3 words from real titles, frequent
word pairs as phrases, OR pairs, dateline-place / mentioned-place / source filters,
one-month and one-week date ranges, and misspellings of common words (one edit away,
not themselves words of the corpus). Re-making it is only needed if the corpus changes:

    python benchmarks/query_set.py --make benchmarks/query_set.json [--reuters DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

QUERY_SET = Path(__file__).resolve().parent / "query_set.json"
KINDS = ("word", "words", "phrase", "or", "place", "places", "source", "date", "misspelling")
_WORD = re.compile(r"[a-z]{3,}")
_TOKEN = re.compile(r'"[^"]*"|\S+')
_TICKER = re.compile(r"<([A-Z][A-Z.]{1,5})>")


@dataclass(frozen=True)
class BenchQuery:
    """One query of the set: the text as typed plus the filters a facet click would add."""

    kind: str
    query: str
    place: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None

    def to_request(self, *, with_filters: bool = True) -> Any:
        from searchsvc.search import SearchRequest

        if not with_filters:
            return SearchRequest(query=self.query)
        return SearchRequest(
            query=self.query,
            place=self.place,
            places=self.places,
            source=self.source,
            date_from=dt.date.fromisoformat(self.date_from) if self.date_from else None,
            date_to=dt.date.fromisoformat(self.date_to) if self.date_to else None,
        )

    def url_params(self, *, with_filters: bool = True) -> list[tuple[str, str]]:
        """The same search as ``/api/search`` query parameters."""
        params = [("q", self.query)]
        if with_filters:
            params += [("place", key) for key in self.place]
            params += [("places", key) for key in self.places]
            params += [("source", name) for name in self.source]
            params += [
                (name, value)
                for name, value in (("date_from", self.date_from), ("date_to", self.date_to))
                if value
            ]
        return params

    def has_filters(self) -> bool:
        return bool(self.place or self.places or self.source or self.date_from or self.date_to)


def load_query_set(path: Path = QUERY_SET) -> list[BenchQuery]:
    """Read the set; a wrong kind or a missing query is an error, not a skipped line."""
    records = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(records, list) or not records:
        raise ValueError(f"{path}: expected a non-empty JSON list of queries")
    queries = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict) or not str(record.get("query", "")).strip():
            raise ValueError(f"{path}: entry {number} has no query")
        if record.get("kind") not in KINDS:
            raise ValueError(
                f"{path}: entry {number} has kind {record.get('kind')!r}; "
                f"expected one of {', '.join(KINDS)}"
            )
        queries.append(
            BenchQuery(
                kind=record["kind"],
                query=record["query"],
                place=tuple(record.get("place", ())),
                places=tuple(record.get("places", ())),
                source=tuple(record.get("source", ())),
                date_from=record.get("date_from"),
                date_to=record.get("date_to"),
            )
        )
    return queries


def fts5_match(query: str) -> str:
    """The set's query syntax (words, "phrases", OR) as an FTS5 MATCH expression.

    Every word is quoted so that FTS5 never reads one as an operator or a column name.
    """
    parts = []
    for token in _TOKEN.findall(query):
        if token == "OR":
            parts.append("OR")
            continue
        words = re.findall(r"\w+", token.lower())
        if words:
            parts.append('"' + " ".join(words) + '"')
    while parts and parts[-1] == "OR":
        parts.pop()
    while parts and parts[0] == "OR":
        parts.pop(0)
    return " ".join(parts)


def make_query_set(articles: Iterable[Any], *, seed: int = 1987) -> list[BenchQuery]:
    """Draw a query set from articles (with places resolved); see the module docstring."""
    from searchsvc.analysis import STOPWORDS

    rng = random.Random(seed)
    stop = set(STOPWORDS) | {"said", "mln", "pct", "dlrs", "reuter", "vs", "cts", "shr", "net"}
    df: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    titled, placed, mentioned, dated = [], [], [], []
    tickers: set[str] = set()
    for article in articles:
        tickers.update(t.lower() for t in _TICKER.findall(f"{article.title}\n{article.body}"))
        text = f"{article.title}\n{article.body}".lower()
        words = _WORD.findall(text)
        df.update(set(words))
        pairs.update(
            (a, b) for a, b in itertools.pairwise(words) if a not in stop and b not in stop
        )
        content = [w for w in _WORD.findall(article.title.lower()) if w not in stop]
        if len(content) >= 3:
            titled.append(content)
        if article.dateline_place is not None and content:
            placed.append((content, article.dateline_place.key))
        if len(article.places) > 1 and content:
            mentioned.append((content, article.places[-1].key))
        if article.date is not None and content:
            dated.append((content, article.date))
    vocabulary = set(df)
    # Stock tickers ("<MDWY>") are not what people type; keep them out of title queries.
    titled = [[w for w in c if w not in tickers] for c in titled]
    titled = [c for c in titled if len(c) >= 3]
    placed = [(c, key) for c, key in placed if c[0] not in tickers]
    mentioned = [(c, key) for c, key in mentioned if c[0] not in tickers]
    dated = [(c, day) for c, day in dated if c[0] not in tickers]

    def band(low: int, high: int, count: int) -> list[str]:
        words = sorted(w for w, n in df.items() if low <= n < high and w not in stop)
        return rng.sample(words, count)

    queries = [
        BenchQuery("word", w) for w in band(1000, 5000, 8) + band(100, 1000, 9) + band(10, 100, 8)
    ]
    for content in rng.sample(titled, 25):
        queries.append(BenchQuery("words", " ".join(content[: rng.choice((2, 3))])))
    common_pairs = sorted(pair for pair, n in pairs.items() if n >= 30)
    queries += [BenchQuery("phrase", f'"{a} {b}"') for a, b in rng.sample(common_pairs, 15)]
    mid = band(100, 3000, 30)
    queries += [BenchQuery("or", f"{a} OR {b}") for a, b in zip(mid[::2], mid[1::2], strict=True)]
    for content, key in rng.sample(placed, 10):
        queries.append(BenchQuery("place", content[0], place=(key,)))
    for content, key in rng.sample(mentioned, 5):
        queries.append(BenchQuery("places", content[0], places=(key,)))
    for content in rng.sample(titled, 3):
        queries.append(BenchQuery("source", content[0], source=("reuters",)))
    for content, day in rng.sample(dated, 15):
        start, end = _date_range(day, week=rng.random() < 0.4)
        queries.append(BenchQuery("date", content[0], date_from=start, date_to=end))
    common = sorted(w for w, n in df.items() if n >= 200 and len(w) >= 6 and w not in stop)
    misspelled: list[str] = []
    for word in rng.sample(common, len(common)):
        typo = _one_edit(word, rng)
        if typo not in vocabulary:
            misspelled.append(typo)
        if len(misspelled) == 10:
            break
    queries += [BenchQuery("misspelling", w) for w in misspelled]
    return queries


def _date_range(day: dt.date, *, week: bool) -> tuple[str, str]:
    if week:
        start = day - dt.timedelta(days=day.weekday())
        return start.isoformat(), (start + dt.timedelta(days=6)).isoformat()
    start = day.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return start.isoformat(), end.isoformat()


def _one_edit(word: str, rng: random.Random) -> str:
    """Swap two inner letters, drop one, or double one: the typos people make."""
    i = rng.randrange(1, len(word) - 2)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def save_query_set(queries: Sequence[BenchQuery], path: Path) -> None:
    records = []
    for query in queries:
        record = {k: v for k, v in asdict(query).items() if v not in ((), None)}
        records.append({k: list(v) if isinstance(v, tuple) else v for k, v in record.items()})
    lines = ",\n".join("  " + json.dumps(record, ensure_ascii=False) for record in records)
    Path(path).write_text(f"[\n{lines}\n]\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    from measuring import DEFAULT_REUTERS, read_reuters

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--make", type=Path, required=True, metavar="JSON")
    parser.add_argument("--reuters", type=Path, default=DEFAULT_REUTERS)
    parser.add_argument("--seed", type=int, default=1987)
    args = parser.parse_args(argv)
    queries = make_query_set(read_reuters(args.reuters), seed=args.seed)
    save_query_set(queries, args.make)
    print(f"wrote {len(queries)} queries to {args.make}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
