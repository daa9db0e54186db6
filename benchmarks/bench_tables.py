"""Turning benchmark results into the Markdown tables of ``docs/benchmarks.md``.

Plain functions from the results dict to text, so the printed tables and the saved page are
the same tables.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

MIB = 2**20
TIMES = "\u00d7"  # the multiplication sign, as in "2.5 times"
NONE = "\u2013"  # en dash: nothing measured


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; numbers right-aligned."""
    cells = [[_cell(value) for value in row] for row in rows]
    numeric = [
        all(_is_number(row[i]) for row in rows if row[i] not in (None, ""))
        for i in range(len(headers))
    ]
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---:" if n else "---" for n in numeric) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cell(value: Any) -> str:
    if value is None:
        return NONE
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def build_section(builds: Sequence[dict[str, Any]]) -> str:
    whoosh = next((b for b in builds if b["engine"] == "whoosh"), None)
    rows = []
    for build in builds:
        ratio = build["rate"] / whoosh["rate"] if whoosh else None
        cpu = build.get("cpu_seconds")
        rows.append([
            build["engine"], build["article_count"], build["seconds"], build["rate"],
            build.get("parse_seconds"), cpu, build["article_count"] / cpu if cpu else None,
            build["peak_rss"] / MIB, build["index_bytes"] / MIB,
            f"{ratio:.2f}{TIMES}" if ratio else None, len(build["runs"]),
        ])  # fmt: skip
    return table(
        ["engine", "articles", "wall s", "articles/s", "of which parsing s", "CPU s",
         "articles per CPU s", "peak memory MiB", "index MiB", "speed vs plain Whoosh", "runs"],
        rows,
    )  # fmt: skip


def query_section(query: dict[str, dict[str, Any]]) -> str:
    rows = []
    for engine, result in query.items():
        cold, warm, cpu = result["cold"], result["warm"], result.get("cpu", {})
        rows.append([
            engine, cold["p50"], cold["p99"], warm["p50"], warm["p95"], warm["p99"],
            cpu.get("p50"), cpu.get("p99"), warm["qps"], result["error_count"],
        ])  # fmt: skip
    ours, fts5 = query.get("searchsvc"), query.get("fts5")
    if ours and fts5:
        keys = [("cold", "p50"), ("cold", "p99"), ("warm", "p50"), ("warm", "p95"),
                ("warm", "p99"), ("cpu", "p50"), ("cpu", "p99"), ("warm", "qps")]  # fmt: skip
        rows.append([
            "ratio searchsvc / FTS5",
            *(_ratio(ours.get(phase, {}).get(key), fts5.get(phase, {}).get(key))
              for phase, key in keys),
            None,
        ])  # fmt: skip
    return table(
        ["engine", "first pass p50 ms", "first pass p99 ms", "p50 ms", "p95 ms", "p99 ms",
         "CPU p50 ms", "CPU p99 ms", "queries/s (1 thread)", "errors"],
        rows,
    )  # fmt: skip


def _ratio(a: float | None, b: float | None) -> str | None:
    return f"{a / b:.1f}{TIMES}" if a and b else None


def kinds_section(query: dict[str, dict[str, Any]]) -> str:
    ours, fts5 = query.get("searchsvc", {}), query.get("fts5", {})
    kinds = list((ours or fts5).get("by_kind", {}))
    rows = []
    for kind in kinds:
        a = ours.get("by_kind", {}).get(kind)
        b = fts5.get("by_kind", {}).get(kind)
        rows.append([kind, a, b, f"{a / b:.1f}{TIMES}" if a and b else None])
    return table(["query kind", "searchsvc p50 ms", "FTS5 p50 ms", "ratio"], rows)


def kind_latency_section(result: dict[str, Any], *, target_ms: float = 25.0) -> str:
    """Each kind's spread: the first pass (new queries, cold caches) apart from repeats.

    The CPU columns are the searching thread's own time: on shared cores the wall-clock
    figures also hold the time other programs ran, the CPU ones barely do.
    """
    rows = []
    for kind, spread in result.get("kinds", {}).items():
        first, warm = spread["first"], spread["warm"]
        first_cpu, warm_cpu = spread.get("first_cpu", {}), spread.get("warm_cpu", {})
        met = first["p99"] < target_ms and warm["p99"] < target_ms
        rows.append([
            kind, first["count"], first["p50"], first["p99"], first["max"], first_cpu.get("p99"),
            warm["p50"], warm["p99"], warm["max"], warm_cpu.get("p99"),
            "yes" if met else "**no**",
        ])  # fmt: skip
    return table(
        ["query kind", "queries", "first pass p50 ms", "first pass p99 ms", "first pass max ms",
         "first pass CPU p99 ms", "p50 ms", "p99 ms", "max ms", "CPU p99 ms",
         f"p99 < {target_ms:g} ms"],
        rows,
    )  # fmt: skip


def mix_http_section(
    rows: Sequence[dict[str, Any]], *, min_qps: float = 300.0, max_p99: float = 100.0
) -> str:
    """The HTTP rows of ``http_load.run_mix``, each against the issue's target.

    The server's CPU per request is shown too: unlike queries/s, it barely moves when other
    programs compete for the cores, and the cores divided by it bound the queries/s.
    """
    cells = []
    for r in rows:
        met = r["qps"] >= min_qps and r["p99"] < max_p99 and r["errors"] == 0
        cpu = r["server_cpu"]
        per_request = cpu * r["seconds"] / r["count"] * 1000 if cpu and r["count"] else None
        cells.append([
            r["pass"], r["clients"], r["count"], r["qps"], r["p50"], r["p99"], r["max"],
            r["errors"], cpu, per_request, "yes" if met else "**no**",
        ])  # fmt: skip
    return table(
        ["pass", "clients", "requests", "queries/s", "p50 ms", "p99 ms", "max ms", "errors",
         "server CPU (cores)", "server CPU ms per request",
         f"≥ {min_qps:g} q/s, p99 < {max_p99:g} ms, 0 errors"],
        cells,
    )  # fmt: skip


def mix_kinds_section(rows: Sequence[dict[str, Any]]) -> str:
    """Each kind's latency over HTTP, per pass of ``http_load.run_mix``."""
    passes = [row for row in rows if row.get("by_label")]
    kinds = list(dict.fromkeys(kind for row in passes for kind in row["by_label"]))
    headers = ["query kind"]
    for row in passes:
        headers += [f"{row['pass']} {name}" for name in ("requests", "p50 ms", "p99 ms", "max ms")]
    cells = []
    for kind in kinds:
        cell: list[Any] = [kind]
        for row in passes:
            spread = row["by_label"].get(kind)
            figures = ("count", "p50", "p99", "max")
            cell += [spread[name] for name in figures] if spread else [None] * len(figures)
        cells.append(cell)
    return table(headers, cells)


def agreement(query: dict[str, dict[str, Any]]) -> str:
    """How often both engines found the same number of articles (a sanity check, not a score)."""
    ours, fts5 = query.get("searchsvc"), query.get("fts5")
    if not ours or not fts5:
        return ""
    pairs = list(zip(ours["totals"], fts5["totals"], strict=False))
    same = sum(1 for a, b in pairs if a == b)
    within = sum(1 for a, b in pairs if b and abs(a - b) / b <= 0.1)
    return (
        f"Both engines found the same number of articles for {same} of {len(pairs)} queries "
        f"(within 10% for {within})."
    )


def http_section(rows: Sequence[dict[str, Any]]) -> str:
    return table(
        [
            "client",
            "concurrent",
            "requests",
            "queries/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors",
            "server CPU (cores)",
            "client CPU (cores)",
        ],
        [
            [
                r["client"],
                r["clients"],
                r["count"],
                r["qps"],
                r["p50"],
                r["p95"],
                r["p99"],
                r["errors"],
                r["server_cpu"],
                r["client_cpu"],
            ]
            for r in rows
        ],
    )


def cold_section(seconds: Sequence[float]) -> str:
    return table(
        ["runs", "median s", "fastest s", "slowest s"],
        [[len(seconds), statistics.median(seconds), min(seconds), max(seconds)]],
    )


def scale_section(rows: Sequence[dict[str, Any]]) -> str:
    return table(
        ["size", "articles", "build s", "articles/s", "build CPU s", "build peak MiB",
         "index MiB", "FTS5 MiB", f"index {TIMES} FTS5", "import s", "open s",
         "serving RSS MiB", "p50 ms", "p99 ms", "CPU p50 ms", "first pass p99 ms", "errors"],
        [[r["size"], r["articles"], r["build_seconds"], r["rate"], r.get("build_cpu_seconds"),
          r["build_peak_rss"] / MIB, r["index_bytes"] / MIB, *_fts5_size(r),
          r.get("import_seconds"), r["open_seconds"],
          r["query_rss"] / MIB, r["warm"]["p50"], r["warm"]["p99"],
          r.get("cpu", {}).get("p50"), r["cold"]["p99"], r["errors"]] for r in rows],
    )  # fmt: skip


def _fts5_size(row: dict[str, Any]) -> list[Any]:
    """FTS5's database size at this scale and ours over it (older saved rows have neither)."""
    fts5 = row.get("fts5_index_bytes")
    if not fts5:
        return [None, None]
    return [fts5 / MIB, f"{row['index_bytes'] / fts5:.2f}{TIMES}"]


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """Each target of the benchmark brief: what was measured and whether it was met."""
    checks: list[tuple[str, str, bool | None]] = []
    query = results.get("query", {})
    ours, fts5 = query.get("searchsvc"), query.get("fts5")
    if ours and fts5:
        ratio = ours["warm"]["p50"] / fts5["warm"]["p50"]
        checks.append((f"in process p50 ≤ 3{TIMES} FTS5 p50", f"{ratio:.1f}{TIMES}", ratio <= 3))
    if ours:
        p99 = ours["warm"]["p99"]
        checks.append(("in process p99 < 25 ms", f"{p99:.1f} ms", p99 < 25))
    http16 = [r for r in results.get("http", []) if r["clients"] == 16]
    for row in http16:
        ok = row["qps"] >= 150 and row["p99"] < 100 and row["errors"] == 0
        checks.append(
            (
                f"HTTP, 16 clients ({row['client']}): ≥ 150 q/s, p99 < 100 ms, 0 errors",
                f"{row['qps']:.0f} q/s, p99 {row['p99']:.0f} ms, {row['errors']} errors",
                ok,
            )
        )
    builds = {b["engine"]: b for b in results.get("build", [])}
    if "searchsvc" in builds:
        rate = builds["searchsvc"]["rate"]
        checks.append(("build ≥ 1,500 articles/s", f"{rate:,.0f}/s", rate >= 1500))
        if "whoosh" in builds:
            ratio = rate / builds["whoosh"]["rate"]
            checks.append((f"build ≥ 2{TIMES} plain Whoosh", f"{ratio:.2f}{TIMES}", ratio >= 2))
    if results.get("scale") and not any(_million(r) for r in results["scale"]):
        checks.append(("1M build memory < 2 GB", "not run (--sizes 1m)", None))
        checks.append(("1M query p50 < 50 ms", "not run (--sizes 1m)", None))
    for row in results.get("scale", []):
        if _million(row):
            checks.append(
                (
                    "1M build memory < 2 GB",
                    f"{row['build_peak_rss'] / 1e9:.2f} GB",
                    row["build_peak_rss"] < 2e9,
                )
            )
            checks.append(
                ("1M query p50 < 50 ms", f"{row['warm']['p50']:.1f} ms", row["warm"]["p50"] < 50)
            )
    if results.get("cold_start"):
        median = statistics.median(results["cold_start"])
        checks.append(("cold start < 2 s to first answer", f"{median:.2f} s", median < 2))
    return checks


def _million(row: dict[str, Any]) -> bool:
    """A scale row of the 1M size (the reader may skip a story or two it finds unusable)."""
    return row["size"] == "1m" or row["articles"] >= 1_000_000


def targets_section(results: dict[str, Any]) -> str:
    return table(
        ["target", "measured", "met"],
        [
            [name, value, {True: "yes", False: "**no**", None: NONE}[ok]]
            for name, value, ok in targets(results)
        ],
    )
