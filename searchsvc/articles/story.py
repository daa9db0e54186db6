"""What wire files and CMS exports share: a body that may open with a dateline and end in
boilerplate, and a date that may come from metadata, the source or the dateline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from searchsvc.articles.datelines import Dateline, has_marker, split_opening_dateline
from searchsvc.articles.dates import BadDate, parse_iso_date
from searchsvc.articles.model import DateSource, IngestReport
from searchsvc.articles.text import join_paragraphs, split_paragraphs, strip_boilerplate

REPAIR_BAD_DATE = "bad date"


@dataclass(frozen=True)
class StoryBody:
    """A cleaned body, the dateline it opened with, and the agency its footer named."""

    body: str
    dateline: Dateline | None
    footer_agency: str | None


def clean_story_body(text: str, *, with_places: bool = True) -> StoryBody:
    """Split off the opening dateline and strip boilerplate from normalized text.

    With ``with_places`` a dateline without agency, date or capitals ("Baku - ...") is
    kept when the gazetteer knows the place; without, only datelines whose shape shows
    them are found.
    """
    paragraphs = split_paragraphs(text)
    dateline = None
    if paragraphs:
        found = opening_dateline(paragraphs[0], with_places=with_places)
        if found:
            dateline, paragraphs[0] = found
    if paragraphs and not paragraphs[0]:
        paragraphs.pop(0)
    kept, footer_agency = strip_boilerplate(paragraphs, dateline.agency if dateline else None)
    return StoryBody(join_paragraphs(kept), dateline, footer_agency)


def opening_dateline(paragraph: str, *, with_places: bool = True) -> tuple[Dateline, str] | None:
    found = split_opening_dateline(paragraph)
    if found is None:
        return None
    dateline, rest = found
    if has_marker(dateline):
        return dateline, rest
    if with_places and dateline.place:
        from searchsvc.articles.placing import is_known_place

        if is_known_place(dateline.place):
            return dateline, rest
    return None


def choose_date(
    stated: object,
    stated_source: DateSource,
    dateline: Dateline | None,
    report: IngestReport,
    origin: str,
    *,
    text_first: bool = True,
) -> tuple[dt.date | None, DateSource]:
    """The best date a story offers, and where it came from.

    A wire story's own words come first (``text_first``): a full date in its dateline,
    then the stated date from metadata beside it. A source's own date field (a CMS
    export) comes before the dateline instead. Failing both, the dateline's month and
    day are completed with a stated year. A day that does not exist is reported and
    dropped; the article is kept.
    """
    stated_date = stated_year = None
    if stated not in (None, ""):
        try:
            stated_date, stated_year = parse_iso_date(stated)
        except BadDate:
            report.repair(REPAIR_BAD_DATE, origin)
    if stated_date is not None and not text_first:
        return stated_date, stated_source
    if dateline is not None and dateline.year is not None:
        date = _dateline_date(dateline, None, report, origin)
        if date is not None:
            return date, "dateline"
    if stated_date is not None:
        return stated_date, stated_source
    if dateline is not None and dateline.year is None and stated_year is not None:
        date = _dateline_date(dateline, stated_year, report, origin)
        if date is not None:
            return date, "dateline"
    return None, "none"


def _dateline_date(
    dateline: Dateline, year: int | None, report: IngestReport, origin: str
) -> dt.date | None:
    try:
        return dateline.date(year)
    except BadDate:
        report.repair(REPAIR_BAD_DATE, origin)
        return None
