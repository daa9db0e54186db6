"""The same articles build into the same bytes, whatever ``PYTHONHASHSEED`` is.

What legitimately differs from one build to the next is left out of the comparison: the
generation's name (its time and a random suffix), the times recorded in ``meta.json``,
and the segment names, which Whoosh draws from the ``random`` module; the builds below
seed that module alike, so their segments share names and every file can be compared.
"""

from __future__ import annotations

import copyreg
import io
import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import child_environment
from test_index_support import STORIES, index_settings, story, write_corpus
from whoosh.filedb.structfile import StructFile
from whoosh.qparser import QueryParser
from whoosh.util.varints import varint

from searchsvc.analysis import STOPWORDS, NewsStopFilter, make_analyzer, stopwords_for
from searchsvc.index import build_index, open_index, read_current
from searchsvc.index.generations import generation_path, read_meta, write_meta
from searchsvc.index.manifest import file_entry

REPO = Path(__file__).resolve().parents[1]
#: ``searchsvc build-index`` with Whoosh's segment names drawn alike in every build.
SEEDED_BUILD = (
    "import random, sys; random.seed(7); from searchsvc.cli import main; sys.exit(main())"
)
#: What ``meta.json`` records of one run rather than of the articles: times and the name.
RUN_KEYS = ("generation", "created_at", "completed_at", "build_seconds", "phase_seconds")
#: A story in another language than the others, analysed with its own stopwords and stemmer.
FRENCH_STORY = story(
    "lyon", "Grève à Lyon", "Les cheminots de Lyon sont en grève depuis lundi.", language="fr"
)


def start_seeded_build(index_dir: Path, corpus: Path, hash_seed: str) -> subprocess.Popen:
    """A one-process ``build-index`` of ``corpus`` under ``hash_seed``, started."""
    env = child_environment(
        PYTHONHASHSEED=hash_seed, SEARCHSVC_INDEX_DIR=str(index_dir), SEARCHSVC_BUILD_PROCS="1"
    )
    return subprocess.Popen(
        [sys.executable, "-c", SEEDED_BUILD, "build-index", str(corpus)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def generation_files(index_dir: Path) -> dict[str, bytes]:
    gen_dir = generation_path(index_dir, read_current(index_dir))
    return {path.name: path.read_bytes() for path in sorted(gen_dir.iterdir())}


def test_builds_write_the_same_bytes_whatever_the_hash_seed(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", [*STORIES, FRENCH_STORY])
    builds = {seed: tmp_path / f"index-{seed}" for seed in ("1", "2")}
    processes = [start_seeded_build(index_dir, corpus, seed) for seed, index_dir in builds.items()]
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, out + err
    first, second = (generation_files(index_dir) for index_dir in builds.values())
    assert sorted(first) == sorted(second)
    assert any(name.endswith(".toc") for name in first)
    differing = [n for n in first if n != "meta.json" and first[n] != second[n]]
    assert differing == []
    metas = [json.loads(files["meta.json"]) for files in (first, second)]
    for meta in metas:
        for key in RUN_KEYS:
            del meta[key]
    assert metas[0] == metas[1]


class _OldFormPickler(pickle.Pickler):
    """Pickles a stop filter as every index written before it had a state of its own:
    its instance dictionary, the stopwords a frozenset."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is NewsStopFilter:
            return copyreg.__newobj__, (NewsStopFilter,), {"stopwords": frozenset(obj.stopwords)}
        return NotImplemented


def old_form(value: Any) -> bytes:
    buffer = io.BytesIO()
    _OldFormPickler(buffer, protocol=2).dump(value)
    return buffer.getvalue()


def with_old_schema_pickle(toc: bytes) -> bytes:
    """A table of contents with its schema pickled in the old form, the rest as it was
    (sizes of int, long and float, a check number, the format and Whoosh's release, then
    the schema as a length-prefixed string)."""
    stream = StructFile(io.BytesIO(toc))
    for _ in range(3):
        stream.read_varint()
    stream.read_int()
    stream.read_int()
    for _ in range(3):
        stream.read_varint()
    start = stream.tell()
    schema = pickle.loads(stream.read_string())
    end = stream.tell()
    pickled = old_form(schema)
    return toc[:start] + varint(len(pickled)) + pickled + toc[end:]


def body_ids(index_dir: Path, text: str) -> list[str]:
    with open_index(index_dir) as opened, opened.searcher() as searcher:
        query = QueryParser("body", opened.schema).parse(text)
        return [hit["id"] for hit in searcher.search(query, limit=None)]


def test_an_index_with_stopwords_pickled_as_a_set_still_opens_and_searches(
    tmp_path: Path,
) -> None:
    settings = index_settings(tmp_path)
    build_index([write_corpus(tmp_path / "corpus")], settings)
    queries = ("massacre", '"bank of america"', "the", '"erupted near grindavik"', "us")
    before = {text: body_ids(settings.index_dir, text) for text in queries}
    gen_dir = generation_path(settings.index_dir, read_current(settings.index_dir))
    meta = read_meta(gen_dir)
    tocs = sorted(gen_dir.glob("*.toc"))
    for toc in tocs:
        rewritten = with_old_schema_pickle(toc.read_bytes())
        assert b"frozenset" in rewritten and rewritten != toc.read_bytes()
        toc.write_bytes(rewritten)
        meta["files"][toc.name] = file_entry(toc)  # the manifest of such an index
    write_meta(gen_dir, meta)

    with open_index(settings.index_dir) as opened:
        stop_filter = opened.schema["body"].analyzer.items[2]
        assert type(stop_filter.stopwords) is frozenset and stop_filter.stopwords == STOPWORDS
        assert opened.schema["body"].analyzer == make_analyzer(stem=True)
    assert {text: body_ids(settings.index_dir, text) for text in queries} == before
    assert before["massacre"] == ["khojaly"]


def test_stop_filter_pickles_as_a_sorted_tuple_and_loads_either_form() -> None:
    stop_filter = NewsStopFilter(stopwords_for("fr"))
    pickled = pickle.dumps(stop_filter, 2)
    assert b"frozenset" not in pickled
    assert stop_filter.__getstate__() == {"stopwords": tuple(sorted(stopwords_for("fr")))}
    for data in (pickled, old_form(stop_filter)):
        loaded = pickle.loads(data)
        assert type(loaded.stopwords) is frozenset
        assert loaded.stopwords == stopwords_for("fr")
        assert loaded == stop_filter
