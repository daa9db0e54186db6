"""The SQLite FTS5 baseline: what a user of Python's own ``sqlite3`` would build instead.

One FTS5 table (title, body; ``tokenize='porter unicode61'``) beside a plain table of the
facet columns (dateline place, source, date, month) and one of mentioned places. A search
does the same work as ours: top 10 by ``bm25`` (title weighted 2, as ours) with
``highlight()`` for the title and ``snippet()`` for the body, the total, and place / places /
source / month counts over the whole result set with ``GROUP BY`` (one statement, the
matching rows materialized once).

Differences that favour FTS5, stated in the report: no spelling suggestion, every word
required (ours also lists, after those, the articles with some of the words, so our result
sets and facet counts cover more articles), facet counts over the filtered set (ours count
each facet without its own selection), no HTML escaping of the fragments.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from query_set import BenchQuery, fts5_match

from searchsvc.articles.model import Article

DATABASE = "fts5.sqlite"
TOP_N = 10
SNIPPET_TOKENS = 32

_SCHEMA = """
CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='porter unicode61');
CREATE TABLE meta(rowid INTEGER PRIMARY KEY, id TEXT, place TEXT, source TEXT,
                  date TEXT, month TEXT, url TEXT);
CREATE TABLE doc_places(rowid INTEGER, place TEXT);
CREATE TABLE place_labels(key TEXT PRIMARY KEY, label TEXT);
"""


def build_fts5(articles: Iterable[Article], out_dir: Path) -> dict[str, Any]:
    """Index the articles into ``out_dir/fts5.sqlite``; returns the article count and size."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / DATABASE
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    try:
        connection.executescript(_SCHEMA)
        labels: dict[str, str] = {}
        count = 0
        with connection:
            for rowid, article in enumerate(articles, start=1):
                count += 1
                _insert(connection, rowid, article, labels)
            connection.executemany("INSERT INTO place_labels VALUES (?, ?)", labels.items())
            connection.execute("CREATE INDEX doc_places_rowid ON doc_places(rowid)")
            connection.execute("INSERT INTO docs(docs) VALUES ('optimize')")
    finally:
        connection.close()
    return {"article_count": count, "index_bytes": path.stat().st_size}


def _insert(connection: sqlite3.Connection, rowid: int, article: Article, labels: dict) -> None:
    connection.execute(
        "INSERT INTO docs(rowid, title, body) VALUES (?, ?, ?)",
        (rowid, article.title, article.body),
    )
    place = article.dateline_place.key if article.dateline_place else None
    date = article.date.isoformat() if article.date else None
    connection.execute(
        "INSERT INTO meta VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            rowid,
            article.id,
            place,
            (article.source or "").lower() or None,
            date,
            date[:7] if date else None,
            article.url,
        ),
    )
    connection.executemany(
        "INSERT INTO doc_places VALUES (?, ?)", [(rowid, p.key) for p in article.places]
    )
    for known in (article.dateline_place, *article.places):
        if known is not None:
            labels.setdefault(known.key, known.display)


class Fts5Searcher:
    """An open database plus the place labels, loaded once as our engine loads its columns."""

    def __init__(self, index_dir: Path) -> None:
        self.connection = sqlite3.connect(Path(index_dir) / DATABASE, check_same_thread=False)
        self.labels = dict(self.connection.execute("SELECT key, label FROM place_labels"))

    def close(self) -> None:
        self.connection.close()

    def search(self, query: BenchQuery, *, with_filters: bool = True) -> dict[str, Any]:
        match = fts5_match(query.query)
        if not match:
            return {"total": 0, "hits": [], "facets": {}}
        where, params = _filters(query if with_filters else BenchQuery(query.kind, query.query))
        hits = self.connection.execute(
            f"""SELECT m.id, highlight(docs, 0, '<mark>', '</mark>'),
                       snippet(docs, 1, '<mark>', '</mark>', '…', {SNIPPET_TOKENS}),
                       m.place, m.date, m.source, m.url, bm25(docs, 2.0, 1.0) AS score
                FROM docs JOIN meta m ON m.rowid = docs.rowid
                WHERE docs MATCH ? {where} ORDER BY score LIMIT {TOP_N}""",
            (match, *params),
        ).fetchall()
        facets: dict[str, list[tuple[str, str, int]]] = {}
        total = 0
        for facet, key, count in self.connection.execute(_facet_sql(where), (match, *params)):
            if facet == "total":
                total = count
            else:
                facets.setdefault(facet, []).append((key, self.labels.get(key, key), count))
        return {"total": total, "hits": hits, "facets": facets}


def _filters(query: BenchQuery) -> tuple[str, list[str]]:
    clauses: list[str] = []
    params: list[str] = []
    for column, values in (("m.place", query.place), ("m.source", query.source)):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            params += [value.lower() if column == "m.source" else value for value in values]
    if query.places:
        clauses.append(
            "m.rowid IN (SELECT rowid FROM doc_places WHERE place IN "
            f"({', '.join('?' * len(query.places))}))"
        )
        params += list(query.places)
    if query.date_from:
        clauses.append("m.date >= ?")
        params.append(query.date_from)
    if query.date_to:
        clauses.append("m.date <= ?")
        params.append(query.date_to)
    return "".join(f" AND {clause}" for clause in clauses), params


def _facet_sql(where: str) -> str:
    top = f"ORDER BY c DESC LIMIT {TOP_N}"
    return f"""
WITH hits AS MATERIALIZED (
    SELECT docs.rowid AS r FROM docs JOIN meta m ON m.rowid = docs.rowid
    WHERE docs MATCH ? {where})
SELECT 'total', NULL, count(*) FROM hits
UNION ALL SELECT * FROM (SELECT 'place', m.place, count(*) AS c FROM hits
    JOIN meta m ON m.rowid = hits.r WHERE m.place IS NOT NULL GROUP BY m.place {top})
UNION ALL SELECT * FROM (SELECT 'places', p.place, count(*) AS c FROM hits
    JOIN doc_places p ON p.rowid = hits.r GROUP BY p.place {top})
UNION ALL SELECT * FROM (SELECT 'source', m.source, count(*) AS c FROM hits
    JOIN meta m ON m.rowid = hits.r WHERE m.source IS NOT NULL GROUP BY m.source {top})
UNION ALL SELECT * FROM (SELECT 'month', m.month, count(*) AS c FROM hits
    JOIN meta m ON m.rowid = hits.r WHERE m.month IS NOT NULL GROUP BY m.month)
"""
