"""The fixed benchmark query set: loading it, turning it into requests, and (re)making it.

The committed ``query_set.json`` was drawn once from Reuters-21578 with a fixed seed:
single words from three document-frequency bands, 2-3 words from real titles, frequent
word pairs as phrases, OR pairs, dateline-place / mentioned-place / source filters,
one-month and one-week date ranges, and misspellings of common words (one edit away,
not themselves words of the corpus). Then the kinds people bring that miss the index's
easy paths: ``typo`` (a frequent word with one letter deleted, inserted, substituted or
two neighbours swapped, at any position, the first letter included; never itself a word
of the corpus), ``typo_words`` (such a typo beside a correctly spelled title word),
``pair`` (one word from each of two stories that never share an article, so no article
has both), and ``question`` (a real title wrapped in question words, 10 to 20 words).
Typos carry the word meant (``intended``) and the edit made (``edit``). Re-making it is
only needed if the corpus or the generator changes:

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
KINDS = (
    "word",
    "words",
    "phrase",
    "or",
    "place",
    "places",
    "source",
    "date",
    "misspelling",
    "typo",
    "typo_words",
    "pair",
    "question",
)
EDITS = ("deletion", "insertion", "substitution", "transposition")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_TITLE_WORD = re.compile(r"[a-z0-9][a-z0-9.'-]*[a-z0-9]|[a-z0-9]")
#: Question words around a title: (opening, closing); the title's own words go between.
QUESTION_FRAMES = (
    ("what did they say about", "this week"),
    ("what is the latest news on", "and what does it mean for prices"),
    ("why is everyone talking about", "right now"),
    ("how did markets react when", "was announced"),
    ("is it true that", "according to the reports"),
    ("tell me everything about", "in march and april"),
    ("what happened after", "and who said what"),
    ("when will we know more about", "from the officials"),
)
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
    #: For typos: the word meant, and how it was changed (one of :data:`EDITS`).
    intended: str | None = None
    edit: str | None = None

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
                intended=record.get("intended"),
                edit=record.get("edit"),
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
    stories: list[Story] = []
    for article in articles:
        tickers.update(t.lower() for t in _TICKER.findall(f"{article.title}\n{article.body}"))
        text = f"{article.title}\n{article.body}".lower()
        words = _WORD.findall(text)
        df.update(set(words))
        stories.append(Story(_TICKER.sub(" ", article.title).lower(), frozenset(words)))
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
    # Drawn after the kinds above, so that those stay what they were before these existed.
    titles = [story for story in stories if story.title.strip()]
    frequent = sorted(w for w, n in df.items() if n >= 100 and len(w) >= 5 and w not in stop)
    queries += typo_queries(frequent, vocabulary, rng, count=40)
    queries += typo_word_queries(titles, set(frequent), vocabulary, stop, rng, count=20)
    queries += pair_queries(titles, df, stop, rng, count=30)
    queries += question_queries(titles, rng, count=30)
    return queries


@dataclass(frozen=True)
class Story:
    """What the newer kinds need of one article: its title (without tickers) and its words."""

    title: str
    words: frozenset[str]


def _content(title: str, stop: set[str]) -> list[str]:
    return [w for w in _WORD.findall(title) if w not in stop]


def typo_queries(
    frequent: Sequence[str], vocabulary: set[str], rng: random.Random, *, count: int
) -> list[BenchQuery]:
    """Frequent words with one edit each, the four edits in turn; none a word of the corpus."""
    queries: list[BenchQuery] = []
    for word in rng.sample(frequent, len(frequent)):
        edit = EDITS[len(queries) % len(EDITS)]
        typo = make_typo(word, edit, rng)
        if typo and typo not in vocabulary and all(q.query != typo for q in queries):
            queries.append(BenchQuery("typo", typo, intended=word, edit=edit))
        if len(queries) == count:
            break
    return queries


def make_typo(word: str, edit: str, rng: random.Random) -> str | None:
    """``word`` with one ``edit`` at a random position (the first letter too), or None
    when that edit cannot change it there (swapping two equal letters)."""
    if edit == "deletion":
        i = rng.randrange(len(word))
        return word[:i] + word[i + 1 :]
    if edit == "insertion":
        i = rng.randrange(len(word) + 1)
        return word[:i] + rng.choice(_LETTERS) + word[i:]
    if edit == "substitution":
        i = rng.randrange(len(word))
        return word[:i] + rng.choice(_LETTERS.replace(word[i], "")) + word[i + 1 :]
    i = rng.randrange(len(word) - 1)
    if word[i] == word[i + 1]:
        return None
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def typo_word_queries(
    stories: Sequence[Story],
    frequent: set[str],
    vocabulary: set[str],
    stop: set[str],
    rng: random.Random,
    *,
    count: int,
) -> list[BenchQuery]:
    """Two neighbouring title words, one of them (a frequent one) misspelled."""
    queries: list[BenchQuery] = []
    for story in rng.sample(stories, len(stories)):
        content = _content(story.title, stop)
        spots = [
            i for i, w in enumerate(content[:-1]) if w in frequent or content[i + 1] in frequent
        ]
        if not spots:
            continue
        i = rng.choice(spots)
        first, second = content[i], content[i + 1]
        wrong = (
            first
            if first in frequent and (second not in frequent or rng.random() < 0.5)
            else second
        )
        edit = EDITS[len(queries) % len(EDITS)]
        typo = make_typo(wrong, edit, rng)
        if not typo or typo in vocabulary:
            continue
        text = f"{typo} {second}" if wrong == first else f"{first} {typo}"
        queries.append(BenchQuery("typo_words", text, intended=f"{first} {second}", edit=edit))
        if len(queries) == count:
            break
    return queries


def pair_queries(
    stories: Sequence[Story], df: Counter[str], stop: set[str], rng: random.Random, *, count: int
) -> list[BenchQuery]:
    """A title word from each of two stories, the two never in one article together."""
    queries: list[BenchQuery] = []
    while len(queries) < count:
        first, second = rng.sample(stories, 2)
        a_words = [w for w in _content(first.title, stop) if df[w] >= 5]
        b_words = [w for w in _content(second.title, stop) if df[w] >= 5]
        if not a_words or not b_words:
            continue
        a, b = rng.choice(a_words), rng.choice(b_words)
        if a == b or any(a in story.words and b in story.words for story in stories):
            continue
        queries.append(BenchQuery("pair", f"{a} {b}"))
    return queries


def question_queries(
    stories: Sequence[Story], rng: random.Random, *, count: int
) -> list[BenchQuery]:
    """A real title in question words, as people ask a search box: 10 to 20 words."""
    queries: list[BenchQuery] = []
    while len(queries) < count:
        title = _TITLE_WORD.findall(rng.choice(stories).title)
        opening, closing = rng.choice(QUESTION_FRAMES)
        words = [*opening.split(), *title, *closing.split()]
        if len(title) >= 4 and 10 <= len(words) <= 20:
            queries.append(BenchQuery("question", " ".join(words)))
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
