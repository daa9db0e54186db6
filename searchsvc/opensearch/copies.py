"""Copies of one story on a cluster: the embedded engine's groups, kept in the documents.

Each document carries the article's MinHash signature (``index/versions.py``), its band
keys as a keyword field, its group's label ``story`` and ``has_copies``. Groups follow
the embedded engine's rule (``search.collapse``): two articles agreeing on a whole band
are a candidate pair, kept when their estimated similarity reaches
``SEARCHSVC_VERSIONS_THRESHOLD``, and the connected components of the kept pairs are
the groups, labelled by their smallest article id.

Both engines call the same rule (``versions.group_signatures``), which checks every pair
sharing a band, so groups depend on the articles alone and not on their order: an update
regroups exactly what a rebuild would, and a rebuild gives the labels an incremental
history gives. (Only a run of more than ``versions.RUN_ROWS`` articles sharing one band
is paired by the order it is given in, a bound no judged corpus here reaches.)

* A build groups the whole generation once its documents are loaded, and writes the
  label of every article that has copies (a lone article's label, its own id, is sent
  with it).
* An incremental add or delete regroups only what it can change: the groups of the
  articles it removes or replaces (a removed copy can split its group), the articles
  sharing a band with an added one (a terms query on ``bands``) and their groups (an
  added copy can merge several). Those groups are closed: no other article pairs with
  their members. Every member is fetched and regrouped with the same rule, and only the
  labels that change are written, by id, in the same bulk request as the articles.
  ``update_by_query`` would save fetching a merged group's members, but a split needs
  their signatures anyway, and one bulk request keeps the lock-holder's writes together.

Searches count stories exactly (``story_counts``): a composite aggregation pages
through the labels of the matching articles that have copies, and articles without
copies are one story each. ``cardinality`` would answer in one request but estimates
(HyperLogLog++ over hashes, even below its precision threshold).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from opensearchpy import OpenSearch

from searchsvc.index.versions import (
    BAND_BYTES,
    SIGNATURE_BYTES,
    group_signatures,
    signature_rows,
)

STORY = "story"
HAS_COPIES = "has_copies"
BANDS = "bands"
SIGNATURE = "signature"

#: The fields the mapping adds for copies; the signature is kept, not indexed.
COPY_FIELDS: dict[str, Any] = {
    SIGNATURE: {"type": "binary"},
    BANDS: {"type": "keyword"},
    STORY: {"type": "keyword"},
    HAS_COPIES: {"type": "boolean"},
}
#: What regrouping reads of each article.
_GROUP_SOURCE = ["id", SIGNATURE, STORY, HAS_COPIES]
#: Hits per request when paging through every match (the index's default result window).
PAGE = 10_000
#: Values per ``terms`` clause, under the index's default ``max_terms_count`` (65,536).
TERMS_CHUNK = 5_000
#: Retries of a label update whose document changed between its read and its write.
LABEL_RETRIES = 5
HAS_COPIES_FILTER = {"term": {HAS_COPIES: True}}
WITHOUT_COPIES_FILTER = {"bool": {"must_not": [HAS_COPIES_FILTER]}}


def copy_fields(article_id: str, found: bytes) -> dict[str, Any]:
    """The document's copy fields as a lone article with the signature ``found``
    (``versions.signature``; an article without words has none and stays alone, as in
    the embedded index)."""
    fields: dict[str, Any] = {STORY: article_id, HAS_COPIES: False}
    if found:
        fields[SIGNATURE] = base64.b64encode(found).decode("ascii")
        fields[BANDS] = band_keys(found)
    return fields


def band_keys(value: bytes) -> list[str]:
    """One keyword per band: the band's number and its bytes, as ``search.collapse`` bands
    them (two articles share a key when they agree on that whole band)."""
    return [
        f"{number}:{value[start : start + BAND_BYTES].hex()}"
        for number, start in enumerate(range(0, SIGNATURE_BYTES, BAND_BYTES))
    ]


def stored_signature(source: dict[str, Any]) -> bytes:
    encoded = source.get(SIGNATURE)
    return base64.b64decode(encoded) if encoded else b""


@dataclass(frozen=True)
class Story:
    """An article's group: its label and whether it has other copies."""

    label: str
    has_copies: bool

    @classmethod
    def of(cls, source: dict[str, Any]) -> Story:
        return cls(source.get(STORY) or source["id"], bool(source.get(HAS_COPIES)))

    def fields(self) -> dict[str, Any]:
        return {STORY: self.label, HAS_COPIES: self.has_copies}


def stories_of(ids: list[str], signatures: list[bytes], threshold: float) -> list[Story]:
    """Each article's group under the embedded engine's rule, labelled by its smallest id."""
    if not ids:
        return []
    matrix, present = signature_rows(signatures)
    labels = group_signatures(matrix, present, threshold)
    sizes = np.bincount(labels)
    smallest: dict[int, str] = {}
    for label, article_id in zip(labels.tolist(), ids, strict=True):
        if label not in smallest or article_id < smallest[label]:
            smallest[label] = article_id
    return [Story(smallest[label], bool(sizes[label] > 1)) for label in labels.tolist()]


# --- a build ---------------------------------------------------------------------------


class BuildSignatures:
    """The signatures of a generation being loaded, by id (a repeated id's last wins)."""

    def __init__(self) -> None:
        self._rows: dict[str, int] = {}
        self._signatures: list[bytes] = []

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, article_id: str, source: dict[str, Any]) -> None:
        value = stored_signature(source)
        row = self._rows.setdefault(article_id, len(self._signatures))
        if row == len(self._signatures):
            self._signatures.append(value)
        else:
            self._signatures[row] = value

    def label_updates(self, index: str, threshold: float) -> Iterator[dict[str, Any]]:
        """Bulk updates giving each article with copies its group's label."""
        ids = list(self._rows)
        for article_id, story in zip(
            ids, stories_of(ids, self._signatures, threshold), strict=True
        ):
            if story.has_copies:
                yield label_update(index, article_id, story)


def label_update(index: str, article_id: str, story: Story) -> dict[str, Any]:
    """A partial update setting one article's label. It only sets fields, so it is retried
    when the document changed under it (a bulk request the client sent again after a
    timeout can still be writing the same document)."""
    return {
        "_op_type": "update",
        "_index": index,
        "_id": article_id,
        "doc": story.fields(),
        "retry_on_conflict": LABEL_RETRIES,
    }


# --- incremental changes ---------------------------------------------------------------


def regroup(
    client: OpenSearch,
    index: str,
    added: list[dict[str, Any]],
    removed: Iterable[str],
    threshold: float,
) -> list[dict[str, Any]]:
    """Give the ``added`` sources their labels (in place) and return the bulk updates of
    the stored articles whose labels change when ``added`` are indexed and ``removed``
    ids (deleted or replaced) leave. See the module's docstring for why this is exact."""
    leaving = set(removed) | {source["id"] for source in added}
    removed_sources = _by_ids(client, index, sorted(leaving))
    neighbours = _sharing_a_band(client, index, added)
    labels = {
        Story.of(source).label
        for source in [*removed_sources, *neighbours]
        if Story.of(source).has_copies
    }
    members = {source["id"]: source for source in [*neighbours, *_members(client, index, labels)]}
    staying = [members[key] for key in sorted(members) if key not in leaving]
    sources = [*staying, *added]
    stories = stories_of(
        [source["id"] for source in sources],
        [stored_signature(source) for source in sources],
        threshold,
    )
    for source, story in zip(added, stories[len(staying) :], strict=True):
        source.update(story.fields())
    return [
        label_update(index, source["id"], story)
        for source, story in zip(staying, stories[: len(staying)], strict=True)
        if Story.of(source) != story
    ]


def _by_ids(client: OpenSearch, index: str, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    found = client.mget(index=index, body={"ids": ids}, _source=_GROUP_SOURCE)["docs"]
    return [doc["_source"] for doc in found if doc.get("found")]


def _sharing_a_band(
    client: OpenSearch, index: str, added: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    keys = sorted({key for source in added for key in source.get(BANDS, ())})
    return _sources(client, index, BANDS, keys)


def _members(client: OpenSearch, index: str, labels: set[str]) -> list[dict[str, Any]]:
    return _sources(client, index, STORY, sorted(labels))


def _sources(client: OpenSearch, index: str, field: str, values: list[str]) -> list[dict]:
    """What regrouping reads of every article whose ``field`` holds one of ``values``, a
    request per :data:`TERMS_CHUNK` values (each bounded in time by the client)."""
    found: dict[str, dict] = {}
    for start in range(0, len(values), TERMS_CHUNK):
        query = terms_any(field, values[start : start + TERMS_CHUNK])
        for hit in every_hit(client, index, query, _GROUP_SOURCE):
            found[hit["_source"]["id"]] = hit["_source"]
    return list(found.values())


def terms_any(field: str, values: list[str]) -> dict[str, Any]:
    """Articles whose ``field`` holds any of ``values`` (none when ``values`` is empty)."""
    clauses = [
        {"terms": {field: values[start : start + TERMS_CHUNK]}}
        for start in range(0, len(values), TERMS_CHUNK)
    ]
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def every_hit(
    client: OpenSearch,
    index: str,
    query: dict[str, Any],
    source: list[str],
    sort: list[Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every match in ``sort`` order (by id unless told), page after page
    with ``search_after``: no scroll context to clean up, and no cap on the count. The
    sort must end with ``id`` so that it is a total order."""
    order = sort or [{"id": "asc"}]
    body: dict[str, Any] = {
        "size": PAGE,
        "query": query,
        "sort": order,
        "_source": source,
        "track_total_hits": False,
    }
    while True:
        hits = client.search(index=index, body=body)["hits"]["hits"]
        yield from hits
        if len(hits) < PAGE:
            return
        body["search_after"] = hits[-1]["sort"]


# --- searching -------------------------------------------------------------------------


def story_labels(client: OpenSearch, index: str, filters: list[Any]) -> list[str]:
    """Every distinct label of the articles with copies among ``filters``' matches, exactly
    (a composite aggregation, page after page)."""
    labels: list[str] = []
    composite: dict[str, Any] = {"size": PAGE, "sources": [{STORY: {"terms": {"field": STORY}}}]}
    body = {
        "size": 0,
        "query": {"bool": {"filter": [*filters, HAS_COPIES_FILTER]}},
        "aggs": {"stories": {"composite": composite}},
    }
    while True:
        found = client.search(index=index, body=body)["aggregations"]["stories"]
        labels += [bucket["key"][STORY] for bucket in found["buckets"]]
        after = found.get("after_key")
        if not after or len(found["buckets"]) < PAGE:
            return labels
        composite["after"] = after


def copies_per_story(client: OpenSearch, index: str, labels: Iterable[str]) -> dict[str, int]:
    """How many articles the index holds of each story ``labels`` names (exact: each shard
    returns every one of the few labels asked for)."""
    wanted = sorted(set(labels))
    if not wanted:
        return {}
    body = {
        "size": 0,
        "query": terms_any(STORY, wanted),
        "aggs": {
            "each": {"terms": {"field": STORY, "size": len(wanted), "shard_size": len(wanted)}}
        },
    }
    buckets = client.search(index=index, body=body)["aggregations"]["each"]["buckets"]
    return {bucket["key"]: bucket["doc_count"] for bucket in buckets}


def versions_of(client: OpenSearch, index: str, sources: list[dict[str, Any]]) -> list[int]:
    """How many other copies each article has in the index (``Hit.versions``)."""
    stories = [Story.of(source) for source in sources]
    counts = copies_per_story(client, index, (s.label for s in stories if s.has_copies))
    return [max(0, counts.get(story.label, 1) - 1) if story.has_copies else 0 for story in stories]
