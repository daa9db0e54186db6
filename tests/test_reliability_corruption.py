"""A damaged current generation: found when it is opened, said plainly, and never fatal.

Two generations are built once (A: 30 articles, then B: 40 articles, current); each test
copies them, damages one file of B, and checks that the previous complete generation A
serves instead, or, with no A to fall back on, that the service says a rebuild is needed.
"""

from __future__ import annotations

import gc
import json
import logging
import random
import shutil
import warnings
from pathlib import Path

import pytest

from searchsvc.config import Settings
from searchsvc.index import IndexCorrupt, build_index, open_index, read_current
from searchsvc.search import SearchEngine, SearchRequest
from searchsvc.web import close_app, create_app

# Vocabulary of the invented stories.
_WORD_LIST = "oil grain wheat bank rate strike port harbour market shares profit tanker crude"
WORDS = tuple(_WORD_LIST.split())
COUNT_A, COUNT_B = 30, 40

pytestmark = pytest.mark.slow  # builds with real worker processes


def write_corpus(root: Path, count: int, seed: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    with open(root / "stories.jsonl", "w", encoding="utf-8") as handle:
        for number in range(count):
            record = {
                "id": f"s{seed}-{number}",
                "title": " ".join(rnd.choice(WORDS) for _ in range(5)),
                "body": "LONDON, March 3 - " + " ".join(rnd.choice(WORDS) for _ in range(60)),
                "date": f"1987-03-{1 + number % 28:02d}",
                "source": "Reuters",
            }
            handle.write(json.dumps(record) + "\n")
    return root


def build_two_generations(base: Path, count_a: int, count_b: int) -> dict[str, object]:
    """Generation A of ``count_a`` articles, then B of ``count_b``, in ``base / "index"``."""
    settings = Settings(index_dir=base / "index", corpus=(write_corpus(base / "a", count_a, 1),))
    a = build_index(None, settings, show_progress=False)
    b = build_index([write_corpus(base / "b", count_b, 2)], settings, show_progress=False)
    return {"index_dir": base / "index", "a": a.generation, "b": b.generation}


@pytest.fixture(scope="module")
def two_generations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    return build_two_generations(tmp_path_factory.mktemp("generations"), COUNT_A, COUNT_B)


def copy_two_generations(built: dict[str, object], root: Path) -> dict[str, object]:
    """A test's own copy of :func:`build_two_generations`' index, to damage; ``b_dir`` is
    generation B's folder."""
    index_dir = root / "index"
    shutil.copytree(built["index_dir"], index_dir)
    return {**built, "index_dir": index_dir, "b_dir": index_dir / "generations" / str(built["b"])}


@pytest.fixture
def damaged_index(tmp_path: Path, two_generations: dict[str, object]) -> dict[str, object]:
    return copy_two_generations(two_generations, tmp_path)


def damage(gen_dir: Path, pattern: str, how: str) -> list[Path]:
    targets = sorted(gen_dir.glob(pattern))
    if pattern.endswith(".toc"):
        targets = targets[-1:]  # the latest commit's table of contents
    assert targets, f"no {pattern} in {gen_dir}"
    for path in targets:
        size = path.stat().st_size
        if how == "truncate":
            with open(path, "r+b") as handle:
                handle.truncate(size // 2)
        elif how == "zero":
            with open(path, "r+b") as handle:
                handle.write(b"\0" * size)
        elif how == "empty":
            path.write_bytes(b"")
        elif how == "delete":
            path.unlink()
    return targets


DETECTED = [
    ("meta.json", "truncate"),
    ("meta.json", "delete"),
    ("_MAIN_*.toc", "truncate"),
    ("_MAIN_*.toc", "zero"),
    ("*.trm", "truncate"),
    ("*.trm", "zero"),
    ("*.trm", "delete"),
    ("*._stored.col", "truncate"),
    ("*._stored.col", "zero"),
    ("*.pst", "delete"),
    ("*.pst", "truncate"),
    ("*.pst", "zero"),
    ("*.source.col", "truncate"),
    ("*.id.col", "zero"),
    ("*.places_column.col", "truncate"),
    ("_MAIN_*.toc", "delete"),
    ("lexicon.*.words", "truncate"),
    ("lexicon.*.words", "delete"),
]
CASES = [pytest.param(p, h, id=f"{p}-{h}") for p, h in DETECTED]


@pytest.mark.parametrize(("pattern", "how"), CASES)
def test_damaged_current_generation_falls_back_to_previous(
    damaged_index: dict[str, object], pattern: str, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    damage(damaged_index["b_dir"], pattern, how)
    index_dir = damaged_index["index_dir"]
    with caplog.at_level(logging.WARNING), open_index(index_dir) as opened:
        assert opened.generation == damaged_index["a"]
        assert opened.fallback_from == damaged_index["b"]
    assert any(str(damaged_index["b"]) in record.getMessage() for record in caplog.records)
    # The search engine, and with it the web app, serves A whole.
    with SearchEngine(Settings(index_dir=index_dir)) as engine:
        assert engine.generation.id == damaged_index["a"]
        assert engine.search(SearchRequest(query="", per_page=5)).total == COUNT_A
        assert engine.search(SearchRequest(query="oil tanker")).total > 0
        assert engine.article("s1-3").id == "s1-3"


@pytest.mark.parametrize(
    ("pattern", "how"),
    [
        ("*.trm", "truncate"),
        ("meta.json", "delete"),
    ],
)
def test_damaged_only_generation_asks_for_a_rebuild(
    damaged_index: dict[str, object], pattern: str, how: str
) -> None:
    index_dir = damaged_index["index_dir"]
    shutil.rmtree(index_dir / "generations" / str(damaged_index["a"]))
    damage(damaged_index["b_dir"], pattern, how)
    with pytest.raises(IndexCorrupt, match="build-index"):
        open_index(index_dir)
    app = create_app({"index_dir": index_dir})
    try:
        client = app.test_client()
        for url in ("/api/search?q=oil", "/healthz", "/api/articles/s2-1"):
            response = client.get(url)
            assert response.status_code == 503, url
            assert "rebuild" in response.get_json()["message"]
            assert "Traceback" not in response.get_data(as_text=True)
        page = client.get("/?q=oil")
        assert page.status_code == 503
        assert "rebuild" in page.get_data(as_text=True)
        assert "Traceback" not in page.get_data(as_text=True)
    finally:
        close_app(app)


def test_current_naming_a_missing_generation_falls_back(damaged_index: dict[str, object]) -> None:
    index_dir = damaged_index["index_dir"]
    (index_dir / "CURRENT").write_text("20990101T000000-000000\n", encoding="utf-8")
    with open_index(index_dir) as opened:
        assert opened.generation == damaged_index["b"]
        assert opened.fallback_from == "20990101T000000-000000"


def test_current_with_garbage_bytes_is_reported_not_raised(
    damaged_index: dict[str, object],
) -> None:
    index_dir = damaged_index["index_dir"]
    (index_dir / "CURRENT").write_bytes(b"\xff\xfe\x00garbage")
    try:
        with open_index(index_dir) as opened:
            assert opened.generation in {damaged_index["a"], damaged_index["b"]}
    except IndexCorrupt as error:
        assert "build-index" in str(error)


def test_next_build_replaces_a_damaged_generation(damaged_index: dict[str, object]) -> None:
    index_dir = damaged_index["index_dir"]
    damage(damaged_index["b_dir"], "*.trm", "truncate")
    settings = Settings(index_dir=index_dir, corpus=(write_corpus(index_dir.parent / "c", 12, 3),))
    result = build_index(None, settings, show_progress=False)
    assert read_current(index_dir) == result.generation
    with open_index(index_dir) as opened:
        assert opened.fallback_from is None
        assert opened.doc_count() == 12


def test_failed_open_closes_its_files(damaged_index: dict[str, object]) -> None:
    index_dir = damaged_index["index_dir"]
    shutil.rmtree(index_dir / "generations" / str(damaged_index["a"]))
    damage(damaged_index["b_dir"], "*.trm", "truncate")
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            with pytest.raises(IndexCorrupt):
                open_index(index_dir)
        gc.collect()
    leaked = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaked == []
