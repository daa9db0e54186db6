"""Generations on a cluster: one physical index per build behind one alias.

A build bulk-loads a new index, checks that it holds one document per distinct id sent,
then moves the alias to it in one ``_aliases`` call and drops the old index. Until that
call searches read the previous generation; a build that fails or is killed never
touches the alias, and the next build removes the index it left behind.

One build or update at a time across every process sharing the cluster: the lock is a
document created with ``op_type=create`` (which fails when it exists) in a small lock
index, holding its owner and an expiry, renewed while a long load runs. A lock whose
holder died expires, and is then taken over with an optimistic-concurrency delete, so
two waiting processes cannot both take it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import queue
import secrets
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TypeVar

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import ConflictError, NotFoundError, RequestError

from searchsvc.analysis import make_analyzer
from searchsvc.articles.model import Article, IngestReport
from searchsvc.config import Settings
from searchsvc.index.errors import BuildFailed, BuildInProgress, WriterBusy
from searchsvc.index.updates import UpdateResult
from searchsvc.index.versions import SIGNATURE_ARTICLES
from searchsvc.opensearch.copies import BuildSignatures, regroup
from searchsvc.opensearch.documents import article_sources, index_body, shown_content_digest
from searchsvc.opensearch.status import finished, record_outcome

#: A lock not renewed for this long belongs to a process that died.
LOCK_TTL_S = 120.0
LOCK_ID = "rebuild"
#: The document naming the generation behind the alias and its update count, rewritten
#: after every alias move and update: what cached word statistics are keyed on.
SERVING_ID = "serving"
BULK_CHUNK = 500
#: Bulk requests' worth of documents a build makes ahead of the one being sent.
READ_AHEAD_CHUNKS = 2
#: Seconds between a stopped reader's checks while its hand-off is full.
_HANDOFF_WAIT = 0.1
_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class ClusterBuild:
    """What a finished build produced on the cluster."""

    generation: str
    article_count: int
    seconds: float
    duplicates_removed: int
    report: IngestReport | None = None

    @property
    def rate(self) -> float:
        return self.article_count / self.seconds if self.seconds else 0.0

    def format_text(self) -> str:
        read = [self.report.format_text()] if self.report is not None else []
        return "\n".join(
            [
                *read,
                f"generation: {self.generation}",
                f"articles indexed: {self.article_count}",
                f"build time: {self.seconds:.1f} s ({self.rate:,.0f} articles/s)",
            ]
        )


def lock_index(alias: str) -> str:
    return f"{alias}-locks"


def generation_prefix(alias: str) -> str:
    return f"{alias}-gen-"


def new_index_name(alias: str) -> str:
    """Names sort by creation time; the random suffix keeps two builds apart."""
    now = dt.datetime.now(dt.UTC)
    return f"{generation_prefix(alias)}{now:%Y%m%dt%H%M%S%f}-{secrets.token_hex(3)}"


def serving_index(client: OpenSearch, alias: str) -> str | None:
    """The physical index behind ``alias``, or None before the first build."""
    found = client.indices.get_alias(name=alias, ignore=404)  # 404: not yet, not logged
    names = sorted(name for name, info in found.items() if isinstance(info, dict))
    return names[-1] if names and found.get("status") != 404 else None


# --- the lock --------------------------------------------------------------------------


class ClusterLock:
    """The rebuild lock document, held by this process while it exists with our owner id."""

    def __init__(self, client: OpenSearch, alias: str, purpose: str) -> None:
        self.client = client
        self.index = lock_index(alias)
        self.owner = f"{socket.gethostname()}:{secrets.token_hex(6)}"
        self.purpose = purpose
        self.started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        #: What a build reports while it runs (generation, phase, articles done), kept
        #: in the lock document at each renewal for every replica's status page.
        self.progress: dict = {}
        self._version: tuple[int, int] | None = None

    def try_acquire(self) -> dict | None:
        """Take the lock, or return the holder's record when someone else holds it."""
        ensure_lock_index(self.client, self.index)
        try:
            answer = self.client.index(
                index=self.index, id=LOCK_ID, body=self.record(), op_type="create", refresh=True
            )
        except ConflictError:
            return self._take_over_expired()
        self._version = (answer["_seq_no"], answer["_primary_term"])
        return None

    def renew(self) -> None:
        """Push the expiry forward (only while the document is still ours)."""
        if self._version is None:
            return
        seq_no, term = self._version
        answer = self.client.index(
            index=self.index,
            id=LOCK_ID,
            body=self.record(),
            if_seq_no=seq_no,
            if_primary_term=term,
            refresh=True,
        )
        self._version = (answer["_seq_no"], answer["_primary_term"])

    def release(self) -> None:
        if self._version is None:
            return
        seq_no, term = self._version
        self._version = None
        with contextlib.suppress(ConflictError, NotFoundError):
            self.client.delete(
                index=self.index, id=LOCK_ID, if_seq_no=seq_no, if_primary_term=term, refresh=True
            )

    def record(self) -> dict:
        """The lock document: who holds it, since when, until when, and any progress."""
        return {
            "owner": self.owner,
            "pid": os.getpid(),
            "state": "building" if self.purpose == "build" else "updating",
            "purpose": self.purpose,
            "started_at": self.started_at,
            "expires": time.time() + LOCK_TTL_S,
            **self.progress,
        }

    def _take_over_expired(self) -> dict | None:
        try:
            held = self.client.get(index=self.index, id=LOCK_ID)
        except NotFoundError:
            return self.try_acquire()  # released in between
        record = held["_source"]
        if record.get("expires", 0) > time.time():
            return record
        with contextlib.suppress(ConflictError, NotFoundError):
            self.client.delete(
                index=self.index,
                id=LOCK_ID,
                if_seq_no=held["_seq_no"],
                if_primary_term=held["_primary_term"],
                refresh=True,
            )
        try:
            answer = self.client.index(
                index=self.index, id=LOCK_ID, body=self.record(), op_type="create", refresh=True
            )
        except ConflictError:
            return record  # another process took it over first
        self._version = (answer["_seq_no"], answer["_primary_term"])
        return None


def ensure_lock_index(client: OpenSearch, index: str) -> None:
    """The lock index, created once with a copy on every node (green on any cluster)."""
    if client.indices.exists(index=index):
        return
    body = {"settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-all"}}}
    with contextlib.suppress(RequestError):  # created by another process meanwhile
        client.indices.create(index=index, body=body)


def running_build(client: OpenSearch, alias: str) -> dict | None:
    """The lock record of a build holding the lock now, or None."""
    try:
        record = client.get(index=lock_index(alias), id=LOCK_ID)["_source"]
    except NotFoundError:
        return None
    return record if record.get("expires", 0) > time.time() else None


@contextlib.contextmanager
def holding_lock(
    client: OpenSearch, alias: str, purpose: str, wait_s: float = 0.0
) -> Iterator[ClusterLock]:
    """Hold the lock for the block; raise :class:`BuildInProgress` (a build, at once) or
    :class:`WriterBusy` (an update, after ``wait_s``) when another process holds it."""
    lock = ClusterLock(client, alias, purpose)
    deadline = time.monotonic() + wait_s
    while (holder := lock.try_acquire()) is not None:
        if time.monotonic() >= deadline:
            message = (
                f"a {holder.get('purpose', 'build')} started at {holder.get('started_at')} "
                f"by {holder.get('owner')} is running on the cluster"
            )
            if purpose == "build":
                raise BuildInProgress(message, status=holder)
            raise WriterBusy(message)
        time.sleep(_POLL_SECONDS)
    try:
        yield lock
    finally:
        lock.release()


# --- full builds -----------------------------------------------------------------------


def build_generation(
    client: OpenSearch,
    settings: Settings,
    articles: Iterable[Article],
    report: IngestReport | None = None,
    sources: Sequence[str] = (),
) -> ClusterBuild:
    """Load ``articles`` into a new generation and switch the alias to it.

    Raises :class:`BuildInProgress` when another build holds the lock and
    :class:`BuildFailed` when the load or its check fails (the alias is then untouched).
    Either way the outcome is recorded for ``GET /api/index/status`` (``status``).
    """
    alias = settings.opensearch_index
    started = time.perf_counter()
    with holding_lock(client, alias, "build") as lock:
        remove_stale_generations(client, alias)
        name = new_index_name(alias)
        lock.progress.update(generation=generation_id(alias, name), phase="loading", done=0)
        lock.renew()
        body = index_body(settings)
        body["settings"]["index"]["refresh_interval"] = "-1"  # one refresh after the load
        try:
            client.indices.create(index=name, body=body)
            signatures = BuildSignatures()
            sent = _load(client, name, articles, lock, signatures)
            distinct = len(signatures)
            lock.progress["phase"] = "grouping"
            # Copies are grouped over the whole generation; the refresh below shows them.
            _stream(client, signatures.label_updates(name, settings.versions_threshold), lock)
            lock.progress["phase"] = "verifying"
            lock.renew()  # the refresh of a big generation takes a while
            client.indices.put_settings(index=name, body={"index": {"refresh_interval": "1s"}})
            client.indices.refresh(index=name)
            found = client.count(index=name)["count"]
            if found != distinct:
                raise BuildFailed(f"generation {name} holds {found} articles; {distinct} were sent")
            seconds = time.perf_counter() - started
            record = finished(
                lock.record(),
                done=distinct,
                total=distinct,
                rate=round(distinct / seconds, 1) if seconds else None,
                report=report.to_dict() if report is not None else None,
            )
            _keep_build_record(client, name, record, sources, seconds, sent - distinct)
            lock.progress["phase"] = "switching"
            lock.renew()
            previous = switch_alias(client, alias, name)
        except BaseException as error:
            with contextlib.suppress(Exception):
                client.indices.delete(index=name)
            with contextlib.suppress(Exception):
                failure = finished(lock.record(), state="failed", error=str(error) or repr(error))
                record_outcome(client, lock.index, failure)
            raise
        # The new generation serves already: what fails now must not undo that.
        with contextlib.suppress(Exception):
            mark_serving(client, alias, name, 1)
        with contextlib.suppress(Exception):
            record_outcome(client, lock.index, record)
        for old in previous:
            with contextlib.suppress(NotFoundError):
                client.indices.delete(index=old)
    seconds = time.perf_counter() - started
    return ClusterBuild(generation_id(alias, name), distinct, seconds, sent - distinct, report)


def _keep_build_record(
    client: OpenSearch,
    name: str,
    record: dict,
    sources: Sequence[str],
    seconds: float,
    duplicates: int,
) -> None:
    """What the generation was built from, in its ``_meta`` (``searchsvc index-info``)."""
    build = {
        "built_at": record["finished_at"],
        "build_seconds": round(seconds, 3),
        "sources": list(sources),
        "duplicates_removed": duplicates,
        "report": record["report"] or {},
    }
    client.indices.put_mapping(index=name, body={"_meta": {"commit": 1, "build": build}})


def _load(
    client: OpenSearch,
    name: str,
    articles: Iterable[Article],
    lock: ClusterLock,
    signatures: BuildSignatures,
) -> int:
    """Bulk-load ``articles``, keeping their ``signatures`` (one per distinct id) for
    grouping; the documents sent. The last of a repeated id wins, as in the embedded build."""
    plain = make_analyzer(stem=False)
    sent = 0

    def actions() -> Iterator[dict]:
        nonlocal sent
        remaining = iter(articles)
        while run := list(islice(remaining, SIGNATURE_ARTICLES)):
            for article, source in zip(run, article_sources(run, plain), strict=True):
                sent += 1
                signatures.add(article.id, source)
                yield {"_index": name, "_id": article.id, "_source": source}

    with contextlib.closing(made_ahead(actions(), READ_AHEAD_CHUNKS * BULK_CHUNK)) as ahead:
        _stream(client, ahead, lock)
    return sent


Item = TypeVar("Item")


@dataclass(frozen=True)
class _End:
    """The last hand-off of :func:`made_ahead`: the error that ended the items, if one did."""

    error: BaseException | None = None


def made_ahead(items: Iterable[Item], limit: int) -> Iterator[Item]:
    """``items`` in their order, made by a thread of their own up to ``limit`` ahead of
    the caller: a build reads and analyses the next bulk request's articles while the
    cluster indexes the last one, where each used to wait for the other. The order is
    kept, so a repeated id's last version still wins. An error in making them is raised
    here; closing this iterator early stops the thread (once its item in hand is made)."""
    handoff: queue.Queue[Item | _End] = queue.Queue(maxsize=max(1, limit))
    stopped = threading.Event()

    def hand(value: Item | _End) -> bool:
        while not stopped.is_set():
            with contextlib.suppress(queue.Full):
                handoff.put(value, timeout=_HANDOFF_WAIT)
                return True
        return False

    def make() -> None:
        try:
            for item in items:
                if not hand(item):
                    return
        except BaseException as error:  # raised in the caller's thread instead
            hand(_End(error))
        else:
            hand(_End())

    maker = threading.Thread(target=make, name="articles-ahead", daemon=True)
    maker.start()
    try:
        while not isinstance(value := handoff.get(), _End):
            yield value
        if value.error is not None:
            raise value.error
    finally:
        stopped.set()
        maker.join()


def _stream(client: OpenSearch, actions: Iterable[dict], lock: ClusterLock) -> None:
    """Send a build's ``actions`` in bulk requests, renewing the lock as they go."""
    for done, (ok, item) in enumerate(
        helpers.streaming_bulk(
            client, actions, chunk_size=BULK_CHUNK, max_retries=3, raise_on_error=False
        ),
        start=1,
    ):
        if not ok:
            raise BuildFailed(f"the cluster refused an article or a label: {item}")
        if done % (20 * BULK_CHUNK) == 0:
            lock.progress["done"] = done
            lock.renew()


def switch_alias(client: OpenSearch, alias: str, name: str) -> list[str]:
    """Point ``alias`` at ``name`` alone, atomically; the indices it left."""
    previous = []
    with contextlib.suppress(NotFoundError):
        previous = sorted(client.indices.get_alias(name=alias))
    moves = [{"remove": {"index": old, "alias": alias}} for old in previous]
    moves.append({"add": {"index": name, "alias": alias, "is_write_index": True}})
    client.indices.update_aliases(body={"actions": moves})
    return [old for old in previous if old != name]


def mark_serving(client: OpenSearch, alias: str, name: str, commit: int) -> None:
    """Name the generation serving now, after the alias moved or an update: searches
    keep what they learned of the words per generation (``lexicon``), and written only
    after the change, a search never keeps the old generation's counts for the new."""
    client.index(
        index=lock_index(alias),
        id=SERVING_ID,
        body={"index": name, "commit": commit},
        refresh=True,
    )


def remove_stale_generations(client: OpenSearch, alias: str) -> list[str]:
    """Delete generations no alias points at (left by failed or killed builds)."""
    serving = serving_index(client, alias)
    try:
        existing = client.indices.get(index=generation_prefix(alias) + "*")
    except NotFoundError:
        return []
    stale = sorted(name for name in existing if name != serving)
    for name in stale:
        with contextlib.suppress(NotFoundError):
            client.indices.delete(index=name)
    return stale


# --- incremental updates ---------------------------------------------------------------


def update_articles(
    client: OpenSearch, settings: Settings, articles: Iterable[Article]
) -> UpdateResult:
    """Add ``articles`` to the serving generation, replacing any with the same id; those
    the generation holds as they are given are left as they are, as the embedded index
    leaves them (``searchsvc.index.held``), and nothing else changing commits nothing."""
    alias = settings.opensearch_index
    plain = make_analyzer(stem=False)
    with holding_lock(client, alias, "update", settings.writer_lock_timeout):
        name = _require_serving(client, alias)
        batch = {article.id: article for article in articles}  # the later article wins
        indexed = _indexed_digests(client, name, list(batch))
        held = {key for key, digest in indexed.items() if digest == batch[key].content_digest()}
        changed = [article for key, article in batch.items() if key not in held]
        existing = [key for key in indexed if key not in held]
        if changed:
            sources = article_sources(changed, plain)
            relabelled = regroup(client, name, sources, existing, settings.versions_threshold)
            actions = [
                {"_index": name, "_id": source["id"], "_source": source} for source in sources
            ]
            _bulk(client, [*actions, *relabelled])
            bump_commit(client, alias, name)
        count = client.count(index=name)["count"]
    replaced = len(existing)
    return UpdateResult(
        generation_id(alias, name), len(changed) - replaced, replaced, 0, count, len(held)
    )


def delete_articles(client: OpenSearch, settings: Settings, ids: Iterable[str]) -> UpdateResult:
    """Delete articles by id from the serving generation (unknown ids are ignored, and
    none known commits nothing)."""
    alias = settings.opensearch_index
    with holding_lock(client, alias, "update", settings.writer_lock_timeout):
        name = _require_serving(client, alias)
        wanted = list(dict.fromkeys(ids))
        existing = _existing_ids(client, name, wanted)
        if existing:
            relabelled = regroup(client, name, [], existing, settings.versions_threshold)
            deletions = [{"_op_type": "delete", "_index": name, "_id": key} for key in existing]
            _bulk(client, [*deletions, *relabelled])
            bump_commit(client, alias, name)
        count = client.count(index=name)["count"]
    return UpdateResult(generation_id(alias, name), 0, 0, len(existing), count)


def _bulk(client: OpenSearch, actions: list[dict]) -> None:
    """Send ``actions`` (none: no request), searchable on return."""
    _, errors = helpers.bulk(
        client, actions, chunk_size=BULK_CHUNK, max_retries=3, refresh=True, raise_on_error=False
    )
    if errors:
        raise BuildFailed(f"the cluster refused {len(errors)} change(s): {errors[:3]}")


def _indexed_digests(client: OpenSearch, name: str, ids: list[str]) -> dict[str, str | None]:
    """Of ``ids``, those the generation holds, each with the content digest its ``shown``
    part gives back (None where it gives none)."""
    if not ids:
        return {}
    found = client.mget(index=name, body={"ids": ids}, _source=["shown"])
    return {
        doc["_id"]: shown_content_digest(doc["_id"], doc.get("_source", {}).get("shown"))
        for doc in found["docs"]
        if doc.get("found")
    }


def _existing_ids(client: OpenSearch, name: str, ids: list[str]) -> list[str]:
    if not ids:
        return []
    found = client.mget(index=name, body={"ids": ids}, _source=False)
    return [doc["_id"] for doc in found["docs"] if doc.get("found")]


def _require_serving(client: OpenSearch, alias: str) -> str:
    name = serving_index(client, alias)
    if name is None:
        raise BuildFailed(f"no generation behind alias {alias!r} yet; build one first")
    return name


def generation_id(alias: str, name: str) -> str:
    return name.removeprefix(generation_prefix(alias))


def read_meta(client: OpenSearch, name: str) -> dict:
    """The generation's ``_meta``: its update counter and what it was built from."""
    mapping = client.indices.get_mapping(index=name)[name]["mappings"]
    return mapping.get("_meta") or {}


def read_commit(client: OpenSearch, name: str) -> int:
    """How many updates the generation ``name`` has had since its build (kept in ``_meta``)."""
    return int(read_meta(client, name).get("commit", 1))


def bump_commit(client: OpenSearch, alias: str, name: str) -> None:
    """Count one more update (callers hold the lock, so no two bump at once)."""
    meta = read_meta(client, name)
    meta["commit"] = int(meta.get("commit", 1)) + 1
    client.indices.put_mapping(index=name, body={"_meta": meta})
    mark_serving(client, alias, name, meta["commit"])
