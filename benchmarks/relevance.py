"""Test collections with relevance judgements, and the ranking metrics computed over them.

Cranfield, CISI and MED share the old SMART layout: records open with ``.I <number>`` and
fields open with a line ``.<LETTER>``; NPL and LISA have layouts of their own. Their quirks
(documented in each folder's SOURCE.md, and below where the files disagree with it) live
here so that every system under test sees exactly the same documents, queries and
judgements.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from searchsvc.articles.model import Article, IngestReport

_TAG = re.compile(r"^\.([A-Z])(?:\s+(\S.*))?\s*$")

# Cranfield grades: 1 = complete answer .. 4 = minimal interest; -1 = not relevant.
CRANFIELD_RELEVANT_GRADES = (1, 2, 3, 4)


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    body: str


@dataclass(frozen=True)
class Query:
    id: str
    text: str


@dataclass
class Collection:
    """Documents, queries and judgements: ``qrels[query id][doc id]`` is a gain > 0.

    Gains are graded where the collection grades (Cranfield: grade 1 -> 4 ... grade 4 -> 1)
    and 1 where it does not (CISI); binary metrics only look at which documents have one.
    """

    name: str
    documents: list[Document]
    queries: list[Query]
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)

    def judged_queries(self) -> list[Query]:
        """Queries with at least one relevant document; the others cannot be scored."""
        return [query for query in self.queries if self.qrels.get(query.id)]


def read_tagged_records(text: str) -> Iterator[dict[str, str]]:
    """Yield one ``{tag: text}`` dict per ``.I`` record; the record number is under ``"I"``.

    A tag that repeats inside a record (Cranfield doc 240 has two ``.A``; 576 and 578 two
    ``.W``) keeps all its parts, a blank line between, rather than the last one winning.
    """
    record: dict[str, list[str]] | None = None
    current: list[str] = []
    for line in text.splitlines():
        match = _TAG.match(line)
        if match is None:
            current.append(line)
            continue
        tag, rest = match.group(1), match.group(2) or ""
        if tag == "I":
            if record is not None:
                yield _joined(record)
            record = {"I": [rest.strip()]}
            current = []
        elif record is not None:
            current = record.setdefault(tag, [])
            if current:
                current.append("")
            if rest:
                current.append(rest)
    if record is not None:
        yield _joined(record)


def _joined(record: dict[str, list[str]]) -> dict[str, str]:
    return {tag: "\n".join(lines).strip() for tag, lines in record.items()}


def read_cranfield(
    folder: Path, relevant_grades: Sequence[int] = CRANFIELD_RELEVANT_GRADES
) -> Collection:
    """Cranfield 1400: 1400 abstracts, 225 queries, graded judgements.

    The judgements number queries by their ordinal position in ``cran.qry`` (1..225), not by
    its ``.I`` numbers (001..365 with gaps), so queries get their ordinal as id here.
    """
    documents = [
        Document(id=record["I"], title=record.get("T", ""), body=record.get("W", ""))
        for record in read_tagged_records(_read_text(folder / "cran.all.1400"))
    ]
    queries = [
        Query(id=str(ordinal), text=record.get("W", ""))
        for ordinal, record in enumerate(read_tagged_records(_read_text(folder / "cran.qry")), 1)
    ]
    qrels: dict[str, dict[str, int]] = {}
    for query_id, doc_id, grade in _qrel_rows(folder / "cranqrel"):
        if int(grade) in relevant_grades:
            qrels.setdefault(query_id, {})[doc_id] = 5 - int(grade)
    return Collection("cranfield", documents, queries, qrels)


def read_cisi(folder: Path) -> Collection:
    """CISI: 1460 abstracts, 112 queries of which only 76 have judgements (all binary).

    Only ``.W`` is the query; some queries also carry the ``.T``/``.A``/``.B`` of the paper
    they were taken from, which is bibliographic noise rather than the information need.
    """
    documents = [
        Document(id=record["I"], title=record.get("T", ""), body=record.get("W", ""))
        for record in read_tagged_records(_read_text(folder / "CISI.ALL"))
    ]
    queries = [
        Query(id=record["I"], text=record.get("W", ""))
        for record in read_tagged_records(_read_text(folder / "CISI.QRY"))
    ]
    qrels: dict[str, dict[str, int]] = {}
    for query_id, doc_id, *_ in _qrel_rows(folder / "CISI.REL"):
        qrels.setdefault(query_id, {})[doc_id] = 1
    return Collection("cisi", documents, queries, qrels)


def read_npl(folder: Path) -> Collection:
    """NPL: 11,429 abstracts, 93 short upper-case queries, binary judgements.

    Records are a number line and text, closed by a line holding only ``/``. The documents
    run title and abstract together (lower case, no punctuation), so all of it is body.
    Queries are lower-cased: their capitals are the teleprinter's, and would make words
    like AND, OR and NOT query syntax for a search engine.
    """
    documents = [
        Document(id=number, title="", body=text)
        for number, text in _slash_records(_read_text(folder / "doc-text"))
    ]
    queries = [
        Query(id=number, text=text.lower())
        for number, text in _slash_records(_read_text(folder / "query-text"))
    ]
    qrels = {
        number: dict.fromkeys((str(int(doc)) for doc in text.split()), 1)
        for number, text in _slash_records(_read_text(folder / "rlv-ass"))
    }
    return Collection("npl", documents, queries, qrels)


def _slash_records(text: str) -> Iterator[tuple[str, str]]:
    """(number, text) of each record: a number line, then text up to a line that is ``/``."""
    for record in re.split(r"^\s*/\s*$", text, flags=re.MULTILINE):
        number, _, rest = record.strip().partition("\n")
        if number:
            yield str(int(number)), rest.strip()


def read_med(folder: Path) -> Collection:
    """MEDLINE: 1,033 abstracts, 30 queries, binary judgements (``query 0 doc 1`` rows).

    Documents have only ``.W`` (the first sentence reads like a title, but nothing marks
    where it ends), so all of it is body.
    """
    documents = [
        Document(id=record["I"], title="", body=record.get("W", ""))
        for record in read_tagged_records(_read_text(folder / "MED.ALL"))
    ]
    queries = [
        Query(id=record["I"], text=record.get("W", ""))
        for record in read_tagged_records(_read_text(folder / "MED.QRY"))
    ]
    qrels: dict[str, dict[str, int]] = {}
    for query_id, _, doc_id, *_ in _qrel_rows(folder / "MED.REL"):
        qrels.setdefault(query_id, {})[str(int(doc_id))] = 1
    return Collection("med", documents, queries, qrels)


#: LISA's document files in order; LISA1.501 lacks records that LISA1.501.ALL has.
LISA_FILES = (
    *("LISA0.001", "LISA0.501", "LISA1.001", "LISA1.501.ALL", "LISA2.001", "LISA2.501"),
    *("LISA3.001", "LISA3.501", "LISA4.001", "LISA4.501", "LISA5.001", "LISA5.501"),
    *("LISA5.627", "LISA5.850"),
)

_LISA_DOCUMENT = re.compile(r"^Document\s+(\d+)\s*$", re.MULTILINE)
_LISA_END = re.compile(r"^\*+\s*$", re.MULTILINE)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def read_lisa(folder: Path) -> Collection:
    """LISA: 5,999 library-science abstracts, 35 queries, binary judgements.

    Numbered up to 6,004, but LISA1.501.ALL has no 1993-1997 (1992's abstract runs into
    the end of another record) and repeats 1998-2001, which LISA2.001 also opens with:
    the first copy of a number is kept. Judgements come from LISARJ.NUM: LISA.REL
    disagrees with it on three queries and with its own counts on one (query 21 says 21
    relevant and lists 15), while every LISARJ.NUM record holds the count it states.
    Queries are lower-cased as NPL's are (``STORES OR MEMORIES AND ASSOCIATIVE``).
    """
    documents: dict[str, Document] = {}
    for name in LISA_FILES:
        for doc in _lisa_documents(_read_text(folder / name)):
            documents.setdefault(doc.id, doc)
    queries = [
        Query(id=number, text=text.lower())
        for number, text in _lisa_queries(_read_text(folder / "LISA.QUE"))
    ]
    return Collection(
        "lisa", list(documents.values()), queries, _counted_qrels(folder / "LISARJ.NUM")
    )


def _lisa_documents(text: str) -> Iterator[Document]:
    """``Document N``, the title up to the first blank line, the abstract up to ``***``."""
    parts = _LISA_DOCUMENT.split(text)
    for number, record in zip(parts[1::2], parts[2::2], strict=True):
        record = _LISA_END.split(record, maxsplit=1)[0].strip()
        title, *body = _BLANK_LINE.split(record, maxsplit=1)
        yield Document(id=number, title=" ".join(title.split()), body="".join(body))


def _lisa_queries(text: str) -> Iterator[tuple[str, str]]:
    """(number, text): a number line, then text ending with ``#``."""
    for record in text.split("#"):
        number, _, rest = record.strip().partition("\n")
        if number:
            yield str(int(number)), rest.strip()


def _counted_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``query count doc doc ...`` as one stream of numbers (records wrap over lines)."""
    numbers = _read_text(path).split()
    qrels: dict[str, dict[str, int]] = {}
    at = 0
    while at + 1 < len(numbers):
        query_id, count = str(int(numbers[at])), int(numbers[at + 1])
        docs = numbers[at + 2 : at + 2 + count]
        qrels[query_id] = dict.fromkeys((str(int(doc)) for doc in docs), 1)
        at += 2 + count
    return qrels


COLLECTION_READERS = {
    "cranfield": read_cranfield,
    "cisi": read_cisi,
    "npl": read_npl,
    "med": read_med,
    "lisa": read_lisa,
}


def read_collection(name: str, corpora: Path) -> Collection:
    """Read ``corpora/<name>`` with that collection's reader."""
    try:
        reader = COLLECTION_READERS[name]
    except KeyError:
        known = ", ".join(sorted(COLLECTION_READERS))
        raise ValueError(f"unknown collection {name!r}; known collections: {known}") from None
    return reader(corpora / name)


def _read_text(path: Path) -> str:
    return path.read_text(encoding="ascii", errors="replace")


def _qrel_rows(path: Path) -> Iterator[list[str]]:
    """Whitespace-separated rows; leading zeros dropped so ids match the ``.I`` numbers."""
    for line in _read_text(path).splitlines():
        parts = line.split()
        if len(parts) >= 3:
            yield [str(int(parts[0])), str(int(parts[1])), *parts[2:]]


# --- metrics -------------------------------------------------------------------------------


def average_precision(ranking: Sequence[str], relevant: Mapping[str, float] | set[str]) -> float:
    """Mean of the precision at each relevant document's rank, over *all* relevant documents.

    Relevant documents never retrieved count as precision 0, so a short ranking is penalized.
    """
    if not relevant:
        return 0.0
    hits = 0
    total = 0.0
    for rank, doc_id in enumerate(ranking, 1):
        if doc_id in relevant:
            hits += 1
            total += hits / rank
    return total / len(relevant)


def precision_at(ranking: Sequence[str], relevant: Mapping[str, float] | set[str], k: int) -> float:
    """Share of the first ``k`` places holding a relevant document (empty places count)."""
    return sum(1 for doc_id in ranking[:k] if doc_id in relevant) / k


def ndcg_at(ranking: Sequence[str], gains: Mapping[str, float], k: int) -> float:
    """Normalized discounted cumulative gain of the first ``k`` places (log2 discount)."""
    ideal = _dcg(sorted(gains.values(), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return _dcg([gains.get(doc_id, 0.0) for doc_id in ranking[:k]]) / ideal


def _dcg(gains: Sequence[float]) -> float:
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, 1))


@dataclass(frozen=True)
class Scores:
    map: float
    ndcg10: float
    p10: float
    queries: int
    #: Per judged query, in query order, for paired comparisons: average precision,
    #: nDCG@10 and P@10.
    average_precisions: tuple[float, ...] = ()
    ndcgs: tuple[float, ...] = ()
    precisions: tuple[float, ...] = ()


def score_run(
    rankings: Mapping[str, Sequence[str]], collection: Collection, *, graded: bool = False
) -> Scores:
    """Average the metrics over the collection's judged queries.

    A judged query missing from ``rankings`` (rejected, or nothing found) scores 0 everywhere
    rather than being left out. nDCG uses binary gains unless ``graded``.
    """
    judged = collection.judged_queries()
    if not judged:
        return Scores(0.0, 0.0, 0.0, 0)
    aps, ndcgs, precisions = [], [], []
    for query in judged:
        qrels = collection.qrels[query.id]
        ranking = rankings.get(query.id, ())
        gains = qrels if graded else dict.fromkeys(qrels, 1)
        aps.append(average_precision(ranking, qrels))
        ndcgs.append(ndcg_at(ranking, gains, 10))
        precisions.append(precision_at(ranking, qrels, 10))
    n = len(judged)
    return Scores(
        sum(aps) / n,
        sum(ndcgs) / n,
        sum(precisions) / n,
        n,
        tuple(aps),
        tuple(ndcgs),
        tuple(precisions),
    )


def randomization_p(
    first: Sequence[float], second: Sequence[float], *, trials: int = 10_000, seed: int = 1
) -> float:
    """Two-sided p-value of a paired randomization test on the difference of the means.

    Each trial swaps every pair's values with probability 1/2; the p-value is the share of
    trials whose total difference is at least as large as the one observed. A small value
    says the difference between two systems is unlikely to be luck of the query sample.
    """
    differences = [a - b for a, b in zip(first, second, strict=True)]
    observed = abs(sum(differences)) - 1e-12
    rng = random.Random(seed)
    at_least = 0
    for _ in range(trials):
        total = sum(d if rng.random() < 0.5 else -d for d in differences)
        if abs(total) >= observed:
            at_least += 1
    return at_least / trials


def pooled_randomization_p(
    pairs: Sequence[tuple[Sequence[float], Sequence[float]]], *, trials: int = 10_000
) -> float:
    """:func:`randomization_p` on the mean over collections of each one's mean difference.

    ``pairs`` holds one collection's per-query values of the two systems. Each query's pair
    is weighted by 1 / (collections x that collection's queries), so the statistic is the
    difference of the means over collections (each collection counts equally, NPL's 93
    queries no more than MED's 30) and swapping a pair still swaps one query's evidence.
    """
    first: list[float] = []
    second: list[float] = []
    for ours, theirs in pairs:
        weight = 1.0 / (len(pairs) * max(1, len(ours)))
        first += [value * weight for value in ours]
        second += [value * weight for value in theirs]
    return randomization_p(first, second, trials=trials)


# --- documents as searchsvc articles -------------------------------------------------------


def write_documents_file(collection: Collection, path: Path) -> None:
    """One JSON object per line (id, title, body): what :func:`read_documents_file` reads back."""
    with path.open("w", encoding="utf-8") as out:
        for doc in collection.documents:
            out.write(json.dumps({"id": doc.id, "title": doc.title, "body": doc.body}) + "\n")


def read_documents_file(
    path: Path, report: IngestReport, *, max_file_bytes: int
) -> Iterator[Article]:
    """A source-file reader for index builds: collection documents become plain articles.

    No dateline, places, date or source: the collections have none, and ranking is judged on
    title and text alone. Same signature as ``searchsvc.articles.sources.read_file``.
    """
    report.files += 1
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            record = json.loads(line)
            article = Article(
                id=record["id"],
                title=record["title"],
                body=record["body"],
                origin=f"{path}:{number}",
                format="jsonl",
            )
            report.count_article(article)
            yield article
