"""How well does each extraction library read the fixture web pages, field by field?

Every page in ``tests/fixtures/pages`` has its expected title, date, author, canonical
URL, source, dateline and body passages in ``expected.json``. Each library extracts the
page's fields, the same story rules turn them into an :class:`Article`
(``searchsvc.articles.pages.article_from_fields``), and each field is compared with what
was expected. Printed: per field, the share of pages right for trafilatura (what the
reader uses) and for readability-lxml with htmldate (the alternative), then the pages
each one got wrong, and the time per page as a ratio to trafilatura's in the same run.
Last, what reading a page costs the build: the page reader's time against the wire
reader's on the same stories saved as plain text, in the same run.

    python benchmarks/measure_pages.py [--pages DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from searchsvc.articles import Article, IngestReport
from searchsvc.articles.pages import PageFields, article_from_fields, extract_page, without_title
from searchsvc.articles.sources import read_articles

DEFAULT_PAGES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "pages"
FIELDS = ("title", "date", "author", "url", "source", "dateline")
BODY_SCORES = ("body: story kept", "body: furniture removed", "body: exact")
MAX_FILE_BYTES = 50 * 1024 * 1024
_BLOCK_TAGS = ("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "td")

Extractor = Callable[[bytes], PageFields | None]


def trafilatura_fields(html: bytes) -> PageFields | None:
    return extract_page(html)


def readability_fields(html: bytes) -> PageFields | None:
    """readability-lxml finds the text and title; htmldate the date; nothing finds the rest."""
    import lxml.html
    from htmldate import find_date
    from readability import Document

    document = Document(html)
    title = " ".join(document.short_title().split())
    tree = lxml.html.fromstring(document.summary(html_partial=True))
    blocks = [element.text_content() for element in tree.iter(*_BLOCK_TAGS)]
    paragraphs = without_title(blocks, title)
    if not paragraphs:
        return None
    date = find_date(html, extensive_search=False, original_date=True)
    return PageFields(title=title, paragraphs=tuple(paragraphs), date=date)


EXTRACTORS: dict[str, Extractor] = {
    "trafilatura": trafilatura_fields,
    "readability+htmldate": readability_fields,
}


def field_value(article: Article | None, field: str) -> str | None:
    if article is None:
        return None
    value = getattr(article, field)
    return value.isoformat() if field == "date" and value else value


def body_scores(article: Article | None, expected: dict) -> dict[str, float]:
    """Share of the expected passages found, share of the page's furniture left out."""
    body = article.body if article else ""
    kept = [
        body.startswith(expected["body_starts"]),
        body.endswith(expected["body_ends"]),
        *(passage in body for passage in expected["body_has"]),
    ]
    removed = [junk not in body for junk in expected["not_in_body"]]
    return {
        "body: story kept": sum(kept) / len(kept),
        "body: furniture removed": sum(removed) / len(removed) if article else 0.0,
        "body: exact": float(all(kept) and all(removed)),
    }


def measure(
    extractor: Extractor, pages: Path, expected: dict, repeat: int
) -> tuple[dict[str, float], list[str], float]:
    """Per-field accuracy over the pages, the misses, and the seconds per page."""
    totals = dict.fromkeys(FIELDS + BODY_SCORES, 0.0)
    misses: list[str] = []
    elapsed = 0.0
    for name, wanted in sorted(expected.items()):
        html = (pages / name).read_bytes()
        started = time.perf_counter()
        for _ in range(repeat):
            fields = extractor(html)
        elapsed += time.perf_counter() - started
        article = None
        if fields is not None:
            article = article_from_fields(fields, origin=name, report=IngestReport())
        for field in FIELDS:
            got = field_value(article, field)
            if got == wanted[field]:
                totals[field] += 1
            else:
                misses.append(f"{name} {field}: {got!r} (expected {wanted[field]!r})")
        for score, value in body_scores(article, wanted).items():
            totals[score] += value
            if score == "body: exact" and value < 1:
                misses.append(f"{name} body: not the story alone")
    count = len(expected)
    return {k: v / count for k, v in totals.items()}, misses, elapsed / (count * repeat)


def reading_time(paths: list[Path], repeat: int) -> float:
    """Seconds to read ``paths`` through the readers, parsing only (no gazetteer)."""
    started = time.perf_counter()
    for _ in range(repeat):
        for _article in read_articles(
            paths, IngestReport(), max_file_bytes=MAX_FILE_BYTES, with_places=False
        ):
            pass
    return time.perf_counter() - started


def page_reader_cost(pages: Path, expected: dict, repeat: int) -> float:
    """The page reader's time over the wire reader's on the same stories as text files."""
    page_files = [pages / name for name in sorted(expected)]
    with tempfile.TemporaryDirectory() as folder:
        wire_files = []
        for article in read_articles(page_files, IngestReport(), max_file_bytes=MAX_FILE_BYTES):
            story = Path(folder) / f"{article.id}.txt"
            story.write_text(f"{article.title}\n\n{article.body}\n", encoding="utf-8")
            wire_files.append(story)
        return reading_time(page_files, repeat) / reading_time(wire_files, repeat)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=Path, default=DEFAULT_PAGES)
    parser.add_argument("--repeat", type=int, default=5, help="extractions per page, for time")
    args = parser.parse_args(argv)
    expected = json.loads((args.pages / "expected.json").read_text(encoding="utf-8"))
    results = {
        name: measure(extractor, args.pages, expected, args.repeat)
        for name, extractor in EXTRACTORS.items()
    }
    names = list(results)
    print(f"{len(expected)} pages in {args.pages}\n")
    print("| field | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for field in FIELDS + BODY_SCORES:
        print(f"| {field} | " + " | ".join(f"{results[n][0][field]:.0%}" for n in names) + " |")
    baseline = results[names[0]][2]
    times = " | ".join(f"{results[n][2] / baseline:.2f}x" for n in names)
    print(f"| time per page (ratio to {names[0]}) | {times} |")
    for name in names:
        print(f"\nmisses of {name}:")
        print("\n".join(f"  {miss}" for miss in results[name][1]) or "  none")
    cost = page_reader_cost(args.pages, expected, args.repeat)
    print(f"\nreading a page takes {cost:.0f}x the time of reading its story as a wire file")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
