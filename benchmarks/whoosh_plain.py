"""The plain Whoosh baseline: the schema and writer a Whoosh user would start from.

``StemmingAnalyzer`` on title and body (stored), exact fields for the facets, the default
single-process writer with its default memory limit, one commit at the end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from whoosh import fields, index
from whoosh.analysis import StemmingAnalyzer

from searchsvc.articles.model import Article


def plain_schema() -> fields.Schema:
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        title=fields.TEXT(analyzer=StemmingAnalyzer(), stored=True, field_boost=2.0),
        body=fields.TEXT(analyzer=StemmingAnalyzer(), stored=True),
        place=fields.ID(stored=True),
        places=fields.KEYWORD(stored=True),
        source=fields.ID(stored=True),
        date=fields.DATETIME(stored=True),
    )


def build_whoosh(articles: Iterable[Article], out_dir: Path) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    ix = index.create_in(str(out_dir), plain_schema())
    writer = ix.writer()
    count = 0
    for article in articles:
        count += 1
        document: dict[str, Any] = {
            "id": article.id,
            "title": article.title,
            "body": article.body,
            "places": " ".join(place.key for place in article.places),
            "source": (article.source or "").lower(),
        }
        if article.dateline_place is not None:
            document["place"] = article.dateline_place.key
        if article.date is not None:
            document["date"] = dt.datetime.combine(article.date, dt.time())
        writer.add_document(**document)
    writer.commit()
    ix.close()
    size = sum(entry.stat().st_size for entry in out_dir.iterdir() if entry.is_file())
    return {"article_count": count, "index_bytes": size}
