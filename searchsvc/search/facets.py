"""Facet counts and the date histogram over the whole result set, from column arrays.

Counting is a ``bincount`` of the matching documents' key codes (see ``columns``), a few
nanoseconds a document. Each facet counts the documents that pass every
*other* facet's selection, so choosing a place still shows the other places' counts.
Labels (``Baku, Azerbaijan``) come from the stored record of one article that has the
key, looked up once per key and generation.
"""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np
from whoosh.reading import TermNotFound

from searchsvc.articles.languages import language_label
from searchsvc.search.columns import KeyColumn, MultiKeyColumn
from searchsvc.search.docsets import DocSet
from searchsvc.search.filters import (
    FACET_FIELDS,
    FACETS_WITH_MISSING,
    FacetSets,
    Selection,
    restrict,
)
from searchsvc.search.model import DateBucket, DateHistogram, Facet, FacetValue
from searchsvc.search.snapshot import Reading

#: Gaps between buckets are shown as empty bars up to this many bars.
MAX_FILLED_BUCKETS = 200
#: Spans up to this many days are shown by day, up to MONTHS_SPAN months by month.
DAYS_SPAN = 45
MONTHS_SPAN = 36
#: Fixed English abbreviations (``calendar.month_abbr`` follows the process locale).
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def count_facets(
    base: DocSet,
    sets: FacetSets,
    selection: Selection,
    reading: Reading,
    top_n: int,
) -> dict[str, Facet]:
    """``base`` is the query's documents (with the date range applied)."""
    facets = {}
    for name in FACET_FIELDS:
        docs = restrict(base, sets.allowed_except(name))
        column = getattr(reading.columns, name)
        counts = column.count_set(docs)
        facets[name] = _facet(name, column, counts, selection.keys(name), reading, top_n)
    return facets


def _facet(
    name: str,
    column: KeyColumn | MultiKeyColumn,
    counts: np.ndarray,
    selected: tuple[str, ...],
    reading: Reading,
    top_n: int,
) -> Facet:
    keys = column.keys
    if keys and keys[0] == "" and name not in FACETS_WITH_MISSING:
        counts = counts.copy()
        counts[0] = 0  # documents without a value are not a facet value
    shown = top_keys(counts, keys, top_n)
    shown_keys = {key for key, _ in shown}
    for key in selected:
        if key not in shown_keys:
            code = column.code_of(key)
            shown.append((key, 0 if code is None else int(counts[code])))
    chosen = set(selected)
    other = int(counts.sum()) - sum(count for _, count in shown)
    values = [
        FacetValue(key, facet_label(reading, name, key), count, key in chosen)
        for key, count in shown
    ]
    return Facet(name, values, other)


def top_keys(counts: np.ndarray, keys: list[str], top_n: int) -> list[tuple[str, int]]:
    """The ``top_n`` largest non-zero counts as (key, count), ties by key.

    Only the contenders (counts at least the ``top_n``-th largest) are sorted.
    """
    present = np.flatnonzero(counts)
    if len(present) > top_n:
        threshold = np.partition(counts[present], len(present) - top_n)[len(present) - top_n]
        present = present[counts[present] >= threshold]
    contenders = [(keys[code], int(counts[code])) for code in present.tolist()]
    contenders.sort(key=lambda item: (-item[1], item[0]))
    return contenders[:top_n]


def facet_label(reading: Reading, facet: str, key: str) -> str:
    """The display name of a facet key (the key itself if no article has it)."""
    named = label_of_key(facet, key)
    if named is not None:
        return named
    labels = reading.snapshot.labels
    label = labels.get((facet, key))
    if label is None:
        label = labels[(facet, key)] = _find_label(reading, facet, key) or key
    return label


def label_of_key(facet: str, key: str) -> str | None:
    """The label a key names by itself (a language's English name, "Unknown language"
    for ``""``), or None when it must be read from an article that has the key."""
    return language_label(key) if facet == "language" else None


def _find_label(reading: Reading, facet: str, key: str) -> str | None:
    try:
        docnum = reading.reader.first_id(FACET_FIELDS[facet], key)
    except TermNotFound:
        return None
    return label_in_record(facet, key, reading.stored(docnum).get("article") or {})


def label_in_record(facet: str, key: str, record: dict) -> str | None:
    """The display name of ``key`` in one article's display record (None if absent)."""
    if facet == "source":
        return record.get("source")
    if facet == "place":
        place = record.get("dateline_place") or {}
        return place.get("display")
    for place in record.get("places") or ():
        if place.get("key") == key:
            return place.get("display")
    return None


# --- dates -----------------------------------------------------------------------------


def date_histogram(docs: DocSet, reading: Reading, selection: Selection) -> DateHistogram:
    """Counts by year, month or day, whichever suits the span of the dates found."""
    columns = reading.columns
    by_day = columns.day.count_set(docs)
    undated = int(by_day[0])
    present = np.flatnonzero(by_day[1:]) + 1
    if not len(present):
        return DateHistogram("year", [], undated)
    first = dt.date.fromordinal(int(columns.days[present[0]]))  # days are sorted
    last = dt.date.fromordinal(int(columns.days[present[-1]]))
    granularity = granularity_for(first, last)
    # Each day's bucket (its year's, its month's or itself), summed per bucket.
    bucket_of_day = columns.period_starts[granularity][present]
    bucket_ordinals, which = np.unique(bucket_of_day, return_inverse=True)
    sums = np.bincount(which, weights=by_day[present])
    by_bucket = {
        dt.date.fromordinal(ordinal): round(total)
        for ordinal, total in zip(bucket_ordinals.tolist(), sums.tolist(), strict=True)
    }
    starts = _bucket_starts(first, last, granularity) or sorted(by_bucket)
    buckets = [_bucket(start, granularity, by_bucket.get(start, 0), selection) for start in starts]
    return DateHistogram(granularity, buckets, undated)  # type: ignore[arg-type]


def granularity_for(first: dt.date, last: dt.date) -> str:
    """By day up to :data:`DAYS_SPAN` days, by month up to :data:`MONTHS_SPAN`, else by year."""
    months = (last.year - first.year) * 12 + last.month - first.month
    if (last - first).days <= DAYS_SPAN:
        return "day"
    if months < MONTHS_SPAN:
        return "month"
    return "year"


def histogram_of_days(
    by_day: dict[dt.date, int], undated: int, selection: Selection
) -> DateHistogram:
    """:func:`date_histogram` from counts per day already taken (by another engine)."""
    if not by_day:
        return DateHistogram("year", [], undated)
    first, last = min(by_day), max(by_day)
    granularity = granularity_for(first, last)
    by_bucket: dict[dt.date, int] = {}
    for day, count in by_day.items():
        start = period_start(day, granularity)
        by_bucket[start] = by_bucket.get(start, 0) + count
    starts = _bucket_starts(first, last, granularity) or sorted(by_bucket)
    buckets = [_bucket(start, granularity, by_bucket.get(start, 0), selection) for start in starts]
    return DateHistogram(granularity, buckets, undated)  # type: ignore[arg-type]


def period_start(day: dt.date, granularity: str) -> dt.date:
    """The first day of the year, month or day ``day`` falls in."""
    if granularity == "year":
        return dt.date(day.year, 1, 1)
    if granularity == "month":
        return dt.date(day.year, day.month, 1)
    return day


def _bucket_starts(first: dt.date, last: dt.date, granularity: str) -> list[dt.date] | None:
    """Every bucket from ``first`` to ``last``, or None when that would be too many bars."""
    if granularity == "day":
        return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    if granularity == "year":
        if last.year - first.year >= MAX_FILLED_BUCKETS:
            return None
        return [dt.date(year, 1, 1) for year in range(first.year, last.year + 1)]
    starts = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        starts.append(dt.date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return starts


def _bucket(start: dt.date, granularity: str, count: int, selection: Selection) -> DateBucket:
    if granularity == "year":
        end = dt.date(start.year, 12, 31)
        key = label = f"{start.year:04d}"
    elif granularity == "month":
        end = dt.date(start.year, start.month, calendar.monthrange(start.year, start.month)[1])
        key = f"{start.year:04d}-{start.month:02d}"
        label = f"{MONTH_NAMES[start.month - 1]} {start.year:04d}"
    else:
        end = start
        key = start.isoformat()
        label = f"{start.day} {MONTH_NAMES[start.month - 1]} {start.year:04d}"
    selected = selection.date_from == start and selection.date_to == end
    return DateBucket(key, label, count, start.isoformat(), end.isoformat(), selected)
