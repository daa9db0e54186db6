"""The scale benchmark: synthetic corpora of growing size, built and queried one after another.

Each size gets its own corpus directory (reused when a complete one with the same count and
seed is there: generating is not what is measured) and its own index. Queries are the text
of the committed query set without its filters (the filters name Reuters places and 1987
dates, which synthetic stories do not have).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench_tables import table
from measuring import REPO, ChildRun, run_child
from synthetic import StoryModel, learn_from_reuters, learn_model, write_corpus

from searchsvc.articles.model import Article

COMPLETE = ".complete.json"


def size_label(count: int) -> str:
    if count >= 1_000_000 and count % 1_000_000 == 0:
        return f"{count // 1_000_000}m"
    if count >= 1_000 and count % 1_000 == 0:
        return f"{count // 1_000}k"
    return str(count)


def _completion_marker(corpus: Path) -> Path:
    """Beside the corpus, not in it (the index build reads every file in the folder):
    what a complete corpus was written with."""
    return corpus.with_name(corpus.name + COMPLETE)


def ensure_corpus(
    model_source: Path | Sequence[Article],
    out_dir: Path,
    count: int,
    *,
    seed: int,
    model_cache: dict[str, StoryModel],
) -> float:
    """Write the corpus unless a complete one is there; seconds spent writing (0 if reused)."""
    marker = _completion_marker(out_dir)
    wanted = {"count": count, "seed": seed}
    if marker.is_file() and json.loads(marker.read_text()) == wanted:
        return 0.0
    shutil.rmtree(out_dir, ignore_errors=True)
    if "model" not in model_cache:
        model_cache["model"] = (
            learn_from_reuters(model_source)
            if isinstance(model_source, Path)
            else learn_model(model_source)
        )
    started = time.perf_counter()
    write_corpus(model_cache["model"], out_dir, count, seed=seed)
    marker.write_text(json.dumps(wanted))
    return time.perf_counter() - started


def run_scale(
    sizes: Sequence[int],
    work_dir: Path,
    *,
    model_source: Path | Sequence[Article],
    seed: int = 1,
    rounds: int = 3,
    build_timeout: float = 3 * 3600,
    query_set: Path | None = None,
    keep_builds: bool = False,
    log: Any = print,
) -> list[dict[str, Any]]:
    rows = []
    cache: dict[str, StoryModel] = {}
    for count in sizes:
        label = size_label(count)
        corpus = work_dir / f"synthetic-{label}"
        log(f"scale {label}: writing corpus")
        generated = ensure_corpus(model_source, corpus, count, seed=seed, model_cache=cache)
        index_dir = work_dir / f"index-synthetic-{label}"
        built = kept_build(index_dir, corpus) if keep_builds else None
        if built is None:
            shutil.rmtree(index_dir, ignore_errors=True)
            log(f"scale {label}: building")
            built = run_child(
                ["build", "--engine", "searchsvc", "--out", str(index_dir), str(corpus)],
                timeout=build_timeout,
            )
            if keep_builds:
                keep_build(index_dir, corpus, built)
        else:
            log(f"scale {label}: reusing the index built {built.result['built_at']}")
        fts5 = _fts5_build(work_dir / f"fts5-synthetic-{label}", corpus, build_timeout, keep_builds)
        log(f"scale {label}: querying")
        query_args = [
            "query",
            "--engine",
            "searchsvc",
            "--index",
            str(index_dir),
            "--rounds",
            str(rounds),
            "--no-filters",
        ]
        if query_set is not None:
            query_args += ["--query-set", str(query_set)]
        queried = run_child(query_args, timeout=build_timeout)
        articles = built.result["article_count"]
        rows.append(
            {
                "size": label,
                "articles": articles,
                "corpus_bytes": sum(p.stat().st_size for p in corpus.glob("*.jsonl")),
                "generate_seconds": generated,
                "build_seconds": built.wall_seconds,
                "rate": articles / built.wall_seconds,
                "build_peak_rss": built.peak_rss,
                "build_cpu_seconds": built.cpu_seconds,
                "index_bytes": built.result["index_bytes"],
                "fts5_index_bytes": fts5.result["index_bytes"],
                "import_seconds": queried.result["import_seconds"],
                "open_seconds": queried.result["open_seconds"],
                "query_rss": queried.result["rss"],
                "cold": queried.result["cold"],
                "warm": queried.result["warm"],
                "cpu": queried.result["cpu"],
                "by_kind": queried.result["by_kind"],
                "first_by_kind": {
                    kind: spread["first"] for kind, spread in queried.result["kinds"].items()
                },
                "errors": queried.result["error_count"],
            }
        )
        if not keep_builds:
            shutil.rmtree(index_dir, ignore_errors=True)
    return rows


def _fts5_build(fts5_dir: Path, corpus: Path, timeout: float, keep_builds: bool) -> ChildRun:
    """SQLite FTS5's database of the same articles, for its size (kept like our index)."""
    built = kept_build(fts5_dir, corpus) if keep_builds else None
    if built is None:
        shutil.rmtree(fts5_dir, ignore_errors=True)
        built = run_child(
            ["build", "--engine", "fts5", "--out", str(fts5_dir), str(corpus)], timeout=timeout
        )
        if keep_builds:
            keep_build(fts5_dir, corpus, built)
    if not keep_builds:
        shutil.rmtree(fts5_dir, ignore_errors=True)
    return built


def first_pass_section(rows: Sequence[dict[str, Any]]) -> str:
    """First-pass p50 / p99 per kind of query at each size: what a new query costs.

    Most queries in a real archive are seen for the first time, and which kinds grow
    with the archive (a phrase's positions, a wildcard's expansions) is what this shows.
    """
    sized = [row for row in rows if row.get("first_by_kind")]
    if not sized:
        return ""  # results saved before this table existed
    kinds = sorted({kind for row in sized for kind in row["first_by_kind"]})
    headers = ["query kind"]
    for row in sized:
        headers += [f"{row['size']} p50 ms", f"{row['size']} p99 ms"]
    lines = []
    for kind in [*kinds, "all"]:
        line: list[Any] = [kind]
        for row in sized:
            spread = row["cold"] if kind == "all" else row["first_by_kind"].get(kind, {})
            line += [spread.get("p50"), spread.get("p99")]
        lines.append(line)
    return table(headers, lines)


#: Parts of the package a built index does not depend on: a change there (ranking, the
#: web pages) is what ``--keep-builds`` reruns are for.
SEARCH_SIDE = ("search", "web", "opensearch", "cli.py")


def build_code(root: Path = REPO) -> str:
    """A digest of the code a kept build depends on: every Python file of the package but
    :data:`SEARCH_SIDE`'s, and the FTS5 baseline's. A kept index is measured again only
    when it matches, so a changed index format, analysis or reader is never measured on
    an index the old code built."""
    package = root / "searchsvc"
    files = [
        path
        for path in package.rglob("*.py")
        if path.relative_to(package).parts[0] not in SEARCH_SIDE
    ]
    digest = hashlib.sha256()
    for path in sorted([*files, root / "benchmarks" / "fts5.py"]):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _build_record(index_dir: Path) -> Path:
    return index_dir.with_name(index_dir.name + ".build.json")


def keep_build(index_dir: Path, corpus: Path, built: ChildRun) -> None:
    """Record a build's measurements beside its index, so a later run can query it again."""
    record = {
        "corpus": json.loads(_completion_marker(corpus).read_text()),
        "code": build_code(),
        "result": {**built.result, "built_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())},
        "wall_seconds": built.wall_seconds,
        "peak_rss": built.peak_rss,
        "cpu_seconds": built.cpu_seconds,
    }
    _build_record(index_dir).write_text(json.dumps(record))


def kept_build(index_dir: Path, corpus: Path) -> ChildRun | None:
    """The measurements of a kept build of this very corpus by this very build code
    (:func:`build_code`), or None to build again.

    Building a million articles takes the better part of an hour; a change to the search
    side does not need it done again, a change to what is built does.
    """
    record_path = _build_record(index_dir)
    marker = _completion_marker(corpus)
    if not (record_path.is_file() and marker.is_file() and index_dir.is_dir()):
        return None
    record = json.loads(record_path.read_text())
    if record["corpus"] != json.loads(marker.read_text()) or record.get("code") != build_code():
        return None
    return ChildRun(
        record["result"], record["wall_seconds"], record["peak_rss"], record["cpu_seconds"]
    )


def plot_scale(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Four panels over article count (log scale): build time, index size, memory, latency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = [row["articles"] for row in rows]
    figure, axes = plt.subplots(2, 2, figsize=(10, 7))
    panels = [
        (axes[0][0], "build time (s)", [[row["build_seconds"] for row in rows]], ["build"]),
        (axes[0][1], "index size (MiB)", [[row["index_bytes"] / 2**20 for row in rows]], ["index"]),
        (
            axes[1][0],
            "peak memory (MiB)",
            [
                [row["build_peak_rss"] / 2**20 for row in rows],
                [row["query_rss"] / 2**20 for row in rows],
            ],
            ["build (all processes)", "serving process after queries"],
        ),
        (
            axes[1][1],
            "query latency, warm (ms)",
            [
                [row["warm"]["p50"] for row in rows],
                [row["warm"]["p99"] for row in rows],
                [row.get("cpu", {}).get("p50", float("nan")) for row in rows],
            ],
            ["p50 (wall)", "p99 (wall)", "p50 (CPU time)"],
        ),
    ]
    for axis, title, series, labels in panels:
        for values, label in zip(series, labels, strict=True):
            axis.plot(counts, values, marker="o", label=label)
        axis.set_xscale("log")
        axis.set_title(title)
        axis.set_xlabel("articles")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.suptitle("searchsvc at growing corpus sizes (synthetic wire stories)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
