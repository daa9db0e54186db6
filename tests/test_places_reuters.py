"""Places on all of Reuters-21578: datelines resolved, countries against the collection's labels."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from searchsvc.places import find_places, resolve_dateline_place

pytestmark = pytest.mark.corpus

_STORY = re.compile(r"<REUTERS\b[^>]*\bNEWID=\"(\d+)\"[^>]*>(.*?)</REUTERS>", re.DOTALL)
_DATELINE_DATE = re.compile(r",?\s*[A-Za-z]{3,9}\.?\s+\d{1,2}\s*-?\s*$")
#: The collection's own place labels, keyed the way places.py keys countries.
_LABEL_CODES = {
    "usa": "US", "uk": "GB", "ussr": "RU", "west-germany": "DE", "east-germany": "DE",
    "japan": "JP", "canada": "CA", "france": "FR", "china": "CN", "brazil": "BR",
    "australia": "AU", "switzerland": "CH", "netherlands": "NL", "belgium": "BE",
    "italy": "IT", "el-salvador": "SV", "uruguay": "UY",
}  # fmt: skip


@dataclass
class Story:
    newid: int
    dateline: str
    text: str
    labels: tuple[str, ...]


def _field(tag: str, raw: str) -> str:
    found = re.search(rf"<{tag}>(.*?)</{tag}>", raw, re.DOTALL)
    return html.unescape(re.sub(r"&#\d+;", "", found.group(1))).strip() if found else ""


@pytest.fixture(scope="module")
def stories(reuters_dir: Path) -> list[Story]:
    found = []
    for path in sorted(reuters_dir.glob("reut2-*.sgm")):
        for newid, raw in _STORY.findall(path.read_text(encoding="latin-1")):
            places = re.search(r"<PLACES>(.*?)</PLACES>", raw, re.DOTALL)
            labels = tuple(re.findall(r"<D>([^<]*)</D>", places.group(1))) if places else ()
            dateline = _DATELINE_DATE.sub("", _field("DATELINE", raw)).strip(" ,-")
            text = f"{_field('TITLE', raw)}\n{_field('BODY', raw)}"
            found.append(Story(int(newid), dateline, text, labels))
    return found


def test_story_1_salvador_is_in_bahia_brazil_though_labelled_el_salvador(
    stories: list[Story],
) -> None:
    story = next(s for s in stories if s.newid == 1)
    assert story.dateline == "SALVADOR"
    assert "el-salvador" in story.labels  # the label is wrong: the story is about Bahia
    place = resolve_dateline_place(story.dateline, story.text)
    assert place is not None
    assert place.display == "Salvador, Brazil"
    countries = {p.country for p in find_places(story.text, place)}
    assert {"BR", "US", "UY"} <= countries
    assert "SV" not in countries


def test_nearly_every_dateline_resolves_to_a_known_country(stories: list[Story]) -> None:
    with_dateline = [s for s in stories if s.dateline]
    unresolved = []
    for story in with_dateline:
        place = resolve_dateline_place(story.dateline, story.text)
        if place is None or place.country is None:
            unresolved.append(story.dateline)
    assert len(with_dateline) > 18_000
    assert len(unresolved) / len(with_dateline) <= 0.02, unresolved[:20]


def test_countries_mentioned_agree_with_the_labels_of_common_countries(
    stories: list[Story],
) -> None:
    """Precision and recall over stories labelled only with countries in the table above."""
    true_pos = predicted = gold_total = 0
    for story in stories:
        if not story.labels or not all(label in _LABEL_CODES for label in story.labels):
            continue
        gold = {_LABEL_CODES[label] for label in story.labels}
        place = resolve_dateline_place(story.dateline, story.text) if story.dateline else None
        found = {p.country for p in find_places(story.text, place) if p.country}
        true_pos += len(found & gold)
        predicted += len(found)
        gold_total += len(gold)
    assert gold_total > 10_000
    assert true_pos / gold_total >= 0.85
    assert true_pos / predicted >= 0.75
