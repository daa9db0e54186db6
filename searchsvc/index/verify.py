"""Checks a freshly written generation passes before anything may serve it."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from whoosh.filedb.filestore import FileStorage
from whoosh.query import And, Term
from whoosh.writing import NO_MERGE

from searchsvc.analysis import stemmer_for, stopwords_for
from searchsvc.articles.model import IngestReport
from searchsvc.index.errors import BuildFailed
from searchsvc.index.manifest import find_damage

#: The report's reason for the copies of an id a build or an update did not keep.
SKIP_DUPLICATE = "duplicate id"


class ReadingOrder:
    """Where in the reading order each document of a build was read.

    Workers take units of work biggest first and write them in the order they take
    them, so a document's number says nothing of whether its article came before or
    after another in the sources. Made from the units' ``(order, documents written)``
    in document-number order (each unit's documents are numbered in the order read).
    """

    def __init__(self, units: Iterable[tuple[int, int]]) -> None:
        self._ends: list[int] = []
        self._orders: list[int] = []
        end = 0
        for order, written in units:
            end += written
            self._ends.append(end)
            self._orders.append(order)

    def read_at(self, docnum: int) -> tuple[int, int]:
        """The document's place in the reading order (its unit's, then its number): a
        key that sorts documents as their articles were read."""
        return self._orders[bisect_right(self._ends, docnum)], docnum


def remove_duplicate_ids(
    storage: FileStorage, indexname: str, report: IngestReport, order: ReadingOrder
) -> int:
    """Keep one document per ``id``, the last read in ``order`` (as reading the sources
    one after another keeps it: an export's later revision of an article replaces the
    earlier one), and report the others as skipped.

    Workers write in parallel and cannot see each other's ids, so duplicates are
    found afterwards from the ``id`` terms, without holding every id in memory.
    """
    ix = storage.open_index(indexname)
    doomed: list[int] = []
    with ix.reader() as reader:
        if sum(1 for _ in reader.lexicon("id")) == reader.doc_count_all():
            return 0  # the usual case, found by counting distinct ids
        for term in reader.lexicon("id"):
            if reader.doc_frequency("id", term) < 2:
                continue
            docnums = list(reader.postings("id", term).all_ids())
            kept = max(docnums, key=order.read_at)
            for docnum in sorted(set(docnums) - {kept}):
                origin = stored_origin(reader, docnum)
                report.skip(SKIP_DUPLICATE, origin or term.decode("utf-8", "replace"))
                doomed.append(docnum)
    delete_documents(storage, indexname, doomed)
    return len(doomed)


def stored_origin(reader: Any, docnum: int) -> str:
    """Where the document's article was read, as its stored record keeps it ("" for
    none): what a duplicate is reported by."""
    return (reader.stored_fields(docnum).get("article") or {}).get("origin") or ""


def delete_documents(storage: FileStorage, indexname: str, docnums: list[int]) -> None:
    """Delete these documents of a freshly written index, committed without a merge, so
    the other documents keep their numbers."""
    if not docnums:
        return
    writer = storage.open_index(indexname).writer()
    for docnum in docnums:
        writer.delete_document(docnum)
    writer.commit(mergetype=NO_MERGE)


def verify_generation(storage: FileStorage, indexname: str, expected: int) -> int:
    """Reopen the index from disk, check its document count and that searches work.

    A few stored articles (first, middle and last) must be found again through
    their own id, title and body words, in the stemmed and the unstemmed fields.
    """
    try:
        ix = storage.open_index(indexname)
        with ix.searcher() as searcher:
            count = searcher.doc_count()
            if count != expected:
                raise BuildFailed(
                    f"verification failed: the new index holds {count} articles, "
                    f"{expected} were written"
                )
            live = [n for n in _sample_docnums(searcher) if not searcher.reader().is_deleted(n)]
            for docnum in live:
                _check_sample(searcher, docnum, searcher.stored_fields(docnum))
    except BuildFailed:
        raise
    except Exception as error:
        raise BuildFailed(f"verification failed: the new index cannot be read ({error})") from error
    return count


def _sample_docnums(searcher: Any) -> set[int]:
    total = searcher.doc_count_all()
    return {0, total // 2, total - 1} if total else set()


def _check_sample(searcher: Any, docnum: int, stored: dict[str, Any]) -> None:
    article_id = stored["id"]
    if searcher.document_number(id=article_id) != docnum:
        raise BuildFailed(f"verification failed: article {article_id!r} is not found by its id")
    schema = searcher.schema
    language = (stored.get("article") or {}).get("language")
    stopwords = stopwords_for(language)
    for field in ("title", "body"):
        words = schema[f"{field}_words"].analyzer.surface_words(stored.get(field) or "", stopwords)
        if not words:
            continue
        for name, query in (
            (field, Term(field, stemmer_for(language)(words[0]))),
            (f"{field}_words", Term(f"{field}_words", words[0])),
        ):
            if docnum not in searcher.search(And([query, Term("id", article_id)])).docs():
                raise BuildFailed(
                    f"verification failed: searching {name} for {words[0]!r} "
                    f"does not find article {article_id!r}"
                )


def verify_files_unchanged(storage: FileStorage, indexname: str, files: dict) -> None:
    """Read every file of the new generation again, right before it may become current,
    and compare it with the checksums taken when it was written: a disk or a process that
    changed a byte since (where opening only samples) stops the switch."""
    ix = storage.open_index(indexname)
    problem = find_damage(Path(storage.folder), ix, files, full=True)
    if problem is not None:
        raise BuildFailed(f"verification failed: {problem}")
