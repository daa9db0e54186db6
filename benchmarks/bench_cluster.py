"""The OpenSearch engine beside the embedded Whoosh engine, measured in the same run.

For each corpus: the Whoosh engine's build, in-process queries and HTTP load first (the
baseline), then for each node count a test cluster of its own (``cluster/cluster.py``'s
``LocalCluster`` in a private state folder, stopped and removed afterwards) and on it, for
each shard count, a bulk build, in-process queries and what every shard and node costs
(``_cat/shards``, ``_cat/segments``, JVM heap, resident memory); HTTP load through a real
``searchsvc serve`` runs once per cluster. Replicas are 0: the figures are per primary
shard, which is what sizing multiplies (see docs/scale-out.md).

``run_all.py --engine opensearch`` runs this and prints the tables. Run alone,
``python benchmarks/bench_cluster.py`` counts the cluster requests each kind of query
makes and times them, with this checkout's code and a baseline commit's (``--baseline``,
default ``main``) on the same small one-node cluster, beside the Whoosh engine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psutil
from bench_tables import MIB, TIMES, table
from http_load import run_http
from measuring import DEFAULT_REUTERS, REPO, reuters_paths, run_child
from query_set import QUERY_SET, BenchQuery

sys.path.insert(0, str(REPO / "cluster"))
from cluster import LocalCluster  # the launcher: a script folder, not a package

ALIAS = "bench"
WHOOSH = "whoosh"
OPENSEARCH = "opensearch"


def engine_settings(urls: Sequence[str], shards: int) -> dict[str, str]:
    """``SEARCHSVC_*`` variables pointing a worker or a server at the cluster."""
    return {
        "SEARCHSVC_ENGINE": OPENSEARCH,
        "SEARCHSVC_OPENSEARCH_URL": ",".join(urls),
        "SEARCHSVC_OPENSEARCH_INDEX": ALIAS,
        "SEARCHSVC_OPENSEARCH_SHARDS": str(shards),
        "SEARCHSVC_OPENSEARCH_REPLICAS": "0",
    }


def build_row(args: Sequence[str], timeout: float, env: dict[str, str] | None) -> dict[str, Any]:
    """One build in a fresh child: wall time, rate, the child's CPU and memory."""
    child = run_child(["build", *args], timeout=timeout, env=env)
    return {
        "seconds": child.wall_seconds,
        "rate": child.result["article_count"] / child.wall_seconds,
        "article_count": child.result["article_count"],
        "index_bytes": child.result["index_bytes"],
        "client_cpu_seconds": child.cpu_seconds,
        "client_peak_rss": child.peak_rss,
    }


def query_row(args: Sequence[str], timeout: float, env: dict[str, str] | None) -> dict[str, Any]:
    child = run_child(["query", *args], timeout=timeout, env=env)
    return {**child.result, "peak_rss": child.peak_rss}


def shard_costs(cluster: LocalCluster) -> dict[str, Any]:
    """Per shard: documents, store bytes, segments; per node: heap and resident memory."""
    from opensearchpy import OpenSearch

    client = OpenSearch(hosts=cluster.urls, timeout=60)
    try:
        client.indices.refresh(index=ALIAS)
        shards = client.cat.shards(index=ALIAS, format="json", bytes="b")
        segments = client.cat.segments(index=ALIAS, format="json")
        jvm = client.nodes.stats(metric="jvm")["nodes"]
    finally:
        client.close()
    per_shard: dict[str, int] = {}
    for segment in segments:
        per_shard[segment["shard"]] = per_shard.get(segment["shard"], 0) + 1
    rss = node_rss(cluster)
    return {
        "shards": [
            {
                "shard": int(row["shard"]),
                "node": row["node"],
                "docs": int(row["docs"] or 0),
                "store_bytes": int(row["store"] or 0),
                "segments": per_shard.get(row["shard"], 0),
            }
            for row in shards
            if row["prirep"] == "p"
        ],
        "nodes": sorted(
            (
                {
                    "node": stats["name"],
                    "heap_used": stats["jvm"]["mem"]["heap_used_in_bytes"],
                    "heap_max": stats["jvm"]["mem"]["heap_max_in_bytes"],
                    "rss": rss.get(stats["name"]),
                }
                for stats in jvm.values()
            ),
            key=lambda node: node["node"],
        ),
    }


def node_rss(cluster: LocalCluster) -> dict[str, int]:
    """Resident memory of each node's JVM, found through the launcher's ``nodes.json``."""
    found = {}
    for node in cluster.nodes():
        with contextlib.suppress(psutil.Error):
            found[node["name"]] = psutil.Process(node["pid"]).memory_info().rss
    return found


def drop_generations(urls: Sequence[str]) -> None:
    """Remove the benchmark's indices so the next shard count starts on an empty cluster."""
    from opensearchpy import OpenSearch

    client = OpenSearch(hosts=list(urls), timeout=60)
    try:
        client.indices.delete(index=f"{ALIAS}*", expand_wildcards="all")
    finally:
        client.close()


def measure_corpus(
    label: str,
    sources: Sequence[Path],
    work: Path,
    *,
    queries: Sequence[BenchQuery],
    query_set: Path,
    filters: bool,
    nodes: Sequence[int],
    shards: Sequence[int],
    rounds: int,
    http_levels: Sequence[int],
    http_seconds: float,
    http_requests: int,
    log: Callable[[str], None],
    timeout: float = 4 * 3600,
) -> list[dict[str, Any]]:
    """Every configuration's figures over one corpus, the Whoosh engine's first."""
    query_args = ["--rounds", str(rounds), "--query-set", str(query_set)]
    query_args += [] if filters else ["--no-filters"]
    sources_args = [str(path) for path in sources]
    whoosh_dir = work / f"whoosh-{label}"
    log(f"{label}: Whoosh build")
    rows = [
        {
            "corpus": label,
            "engine": WHOOSH,
            "nodes": None,
            "shards": None,
            "build": build_row(
                ["--engine", "searchsvc", "--out", str(whoosh_dir), *sources_args], timeout, None
            ),
        }
    ]
    log(f"{label}: Whoosh queries")
    rows[0]["query"] = query_row(
        ["--engine", "searchsvc", "--index", str(whoosh_dir), *query_args], timeout, None
    )

    def over_http(settings: dict[str, str] | None) -> list[dict[str, Any]]:
        # serve checks the embedded index before answering; the Whoosh one built above
        # satisfies it, and with the cluster's settings every search goes to the cluster.
        return run_http(
            whoosh_dir,
            queries,
            levels=http_levels,
            seconds=http_seconds,
            max_requests=http_requests,
            use_wrk=False,
            settings=settings,
        )

    if http_levels:
        log(f"{label}: Whoosh over HTTP")
        rows[0]["http"] = over_http(None)
    for count in nodes:
        state_dir = work / f"cluster-{count}"
        log(f"{label}: starting a {count}-node cluster")
        with LocalCluster(state_dir, count) as cluster:
            urls = cluster.urls
            for shard_count in shards:
                env = engine_settings(urls, shard_count)
                row: dict[str, Any] = {
                    "corpus": label,
                    "engine": OPENSEARCH,
                    "nodes": count,
                    "shards": shard_count,
                }
                log(f"{label}: OpenSearch build, {count} node(s), {shard_count} shard(s)")
                row["build"] = build_row(
                    ["--engine", OPENSEARCH, "--out", str(work / "unused"), *sources_args],
                    timeout,
                    env,
                )
                log(f"{label}: OpenSearch queries, {count} node(s), {shard_count} shard(s)")
                row["query"] = query_row(
                    ["--engine", OPENSEARCH, "--index", str(work / "unused"), *query_args],
                    timeout,
                    env,
                )
                row["costs"] = shard_costs(cluster)
                if http_levels and shard_count == http_shards(count, shards):
                    log(f"{label}: OpenSearch over HTTP, {count} node(s)")
                    row["http"] = over_http(env)
                drop_generations(urls)
                rows.append(row)
    return rows


def http_shards(nodes: int, shards: Sequence[int]) -> int:
    """The shard count measured over HTTP on a cluster: one per node when measured, else
    the largest measured."""
    return nodes if nodes in shards else max(shards)


# --- tables ------------------------------------------------------------------------------


def _name(row: dict[str, Any]) -> str:
    if row["engine"] == WHOOSH:
        return "Whoosh (embedded)"
    return f"OpenSearch {_count(row['nodes'], 'node')}, {_count(row['shards'], 'shard')}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _times(value: float | None, base: float | None) -> str | None:
    return f"{value / base:.2f}{TIMES}" if value and base else None


def _baseline(rows: Sequence[dict[str, Any]], corpus: str) -> dict[str, Any]:
    return next(row for row in rows if row["corpus"] == corpus and row["engine"] == WHOOSH)


def build_table(rows: Sequence[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        build, base = row["build"], _baseline(rows, row["corpus"])["build"]
        lines.append([
            row["corpus"], _name(row), build["article_count"], build["seconds"], build["rate"],
            build["client_cpu_seconds"], build["index_bytes"] / MIB,
            _times(build["rate"], base["rate"]),
        ])  # fmt: skip
    return table(
        ["corpus", "engine", "articles", "wall s", "articles/s", "client CPU s",
         "index MiB (primaries)", "speed vs Whoosh"],
        lines,
    )  # fmt: skip


def query_table(rows: Sequence[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        query, base = row["query"], _baseline(rows, row["corpus"])["query"]
        same = sum(a == b for a, b in zip(query["totals"], base["totals"], strict=False))
        lines.append([
            row["corpus"], _name(row), query["cold"]["p50"], query["cold"]["p99"],
            query["warm"]["p50"], query["warm"]["p95"], query["warm"]["p99"], query["warm"]["qps"],
            query["error_count"], _times(query["warm"]["p50"], base["warm"]["p50"]),
            f"{same}/{len(base['totals'])}",
        ])  # fmt: skip
    return table(
        ["corpus", "engine", "first pass p50 ms", "first pass p99 ms", "p50 ms", "p95 ms",
         "p99 ms", "queries/s (1 thread)", "errors", "p50 vs Whoosh", "same totals as Whoosh"],
        lines,
    )  # fmt: skip


def http_table(rows: Sequence[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        base = {level["clients"]: level for level in _baseline(rows, row["corpus"]).get("http", [])}
        for level in row.get("http", []):
            other = base.get(level["clients"], {})
            lines.append([
                row["corpus"], _name(row), level["clients"], level["count"], level["qps"],
                level["p50"], level["p99"], level["errors"], level.get("server_cpu"),
                _times(level["qps"], other.get("qps")), _times(level["p50"], other.get("p50")),
            ])  # fmt: skip
    return table(
        ["corpus", "engine", "clients", "requests", "queries/s", "p50 ms", "p99 ms", "errors",
         "searchsvc CPU (cores)", "q/s vs Whoosh", "p50 vs Whoosh"],
        lines,
    )  # fmt: skip


def shard_table(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        [row["corpus"], _name(row), shard["shard"], shard["node"], shard["docs"],
         shard["store_bytes"] / MIB, shard["segments"]]
        for row in rows if "costs" in row
        for shard in sorted(row["costs"]["shards"], key=lambda shard: shard["shard"])
    ]  # fmt: skip
    return table(["corpus", "cluster", "shard", "node", "articles", "store MiB", "segments"], lines)


def node_table(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        [row["corpus"], _name(row), node["node"], node["heap_used"] / MIB, node["heap_max"] / MIB,
         node["rss"] / MIB if node["rss"] else None]
        for row in rows if "costs" in row
        for node in row["costs"]["nodes"]
    ]  # fmt: skip
    return table(
        ["corpus", "cluster", "node", "heap used MiB", "heap max MiB", "resident MiB"], lines
    )


def per_shard_table(rows: Sequence[dict[str, Any]]) -> str:
    """The sizing inputs: bytes per article on disk, and what splitting into shards costs
    a query, against one shard on the same cluster."""
    lines = []
    for row in rows:
        if "costs" not in row:
            continue
        shards = row["costs"]["shards"]
        docs = sum(shard["docs"] for shard in shards)
        store = sum(shard["store_bytes"] for shard in shards)
        single = next(
            (
                other
                for other in rows
                if other["corpus"] == row["corpus"]
                and other["nodes"] == row["nodes"]
                and other["shards"] == 1
            ),
            None,
        )
        lines.append([
            row["corpus"], _name(row), docs / len(shards), store / len(shards) / MIB,
            store / docs if docs else None, sum(s["segments"] for s in shards) / len(shards),
            row["query"]["warm"]["p50"],
            _times(row["query"]["warm"]["p50"], single["query"]["warm"]["p50"]) if single else None,
        ])  # fmt: skip
    return table(
        ["corpus", "cluster", "articles per shard", "MiB per shard", "bytes per article",
         "segments per shard", "p50 ms", "p50 vs 1 shard"],
        lines,
    )  # fmt: skip


def render(rows: Sequence[dict[str, Any]]) -> str:
    """Every table, headed, as Markdown."""
    parts = [
        ("Build", build_table(rows)),
        ("Query, in process", query_table(rows)),
        ("Query over HTTP (`searchsvc serve`, loopback)", http_table(rows)),
        ("Per shard: the sizing inputs", per_shard_table(rows)),
        ("Shards (`_cat/shards`, `_cat/segments`)", shard_table(rows)),
        ("Nodes (JVM heap after the queries, resident memory)", node_table(rows)),
    ]
    return "\n\n".join(f"### {title}\n\n{text}" for title, text in parts)


# --- round trips: this code beside a baseline commit -------------------------------------


def measure_round_trips(
    sources: Sequence[Path],
    work: Path,
    *,
    baseline: str,
    nodes: int,
    rounds: int,
    query_set: Path,
    log: Callable[[str], None],
    repeat: int = 2,
    timeout: float = 3600,
) -> dict[str, Any]:
    """Each query kind's cluster requests and latency with the code at ``baseline`` and
    with this checkout, on the same one-shard generation, beside the Whoosh engine; each
    version's queries run ``repeat`` times, in the order ABBA..., after one pass that warms
    the cluster up, and latencies are medians."""
    baseline_code = export_code(baseline, work / "baseline")
    query_args = ["--rounds", str(rounds), "--query-set", str(query_set)]
    sources_args = [str(path) for path in sources]
    whoosh_dir = work / "whoosh"
    log(f"Whoosh build and queries ({len(sources)} file(s))")
    build_row(["--engine", "searchsvc", "--out", str(whoosh_dir), *sources_args], timeout, None)
    whoosh = query_row(
        ["--engine", "searchsvc", "--index", str(whoosh_dir), *query_args], timeout, None
    )
    with LocalCluster(work / "cluster", nodes) as cluster:
        env = engine_settings(cluster.urls, 1)
        log(f"OpenSearch build on {_count(nodes, 'node')}")
        build_row(
            ["--engine", OPENSEARCH, "--out", str(work / "unused"), *sources_args], timeout, env
        )
        cluster_args = ["--engine", OPENSEARCH, "--index", str(work / "unused"), *query_args]
        versions = {"before": (baseline_code, f"{baseline}'s"), "after": (REPO, "this checkout's")}
        log("warming the cluster up (one pass, not counted)")
        query_row([*cluster_args, "--rounds", "1"], timeout, {**env, "PYTHONPATH": str(REPO)})
        runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        # before, after, after, before...: a load that rises or falls meanwhile, or a JVM
        # still warming up, weighs on both versions alike.
        order = [("before", "after") if turn % 2 == 0 else ("after", "before")
                 for turn in range(repeat)]  # fmt: skip
        for turn, pair in enumerate(order, start=1):
            for name in pair:
                code, label = versions[name]
                log(f"OpenSearch queries with {label} code ({turn} of {repeat})")
                env_code = {**env, "PYTHONPATH": str(code)}
                runs[name].append(query_row(cluster_args, timeout, env_code))
    return {"baseline": baseline, "whoosh": whoosh, **{n: medians(r) for n, r in runs.items()}}


def medians(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The first run's figures, with each latency the median over ``runs`` (request
    counts are the same in every run)."""
    merged = dict(runs[0])
    merged["warm"] = {**runs[0]["warm"], "p50": statistics.median(r["warm"]["p50"] for r in runs)}
    merged["by_kind"] = {
        kind: statistics.median(r["by_kind"][kind] for r in runs) for kind in runs[0]["by_kind"]
    }
    return merged


def export_code(ref: str, folder: Path) -> Path:
    """The ``searchsvc`` package as commit ``ref`` has it, in ``folder`` (for PYTHONPATH)."""
    folder.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref, "searchsvc"], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def round_trip_table(result: dict[str, Any]) -> str:
    """Requests per query by kind: first pass (nothing cached) and warm repeats."""
    before, after = result["before"]["round_trips"], result["after"]["round_trips"]
    lines = [
        [kind, _trips(before, kind, "first"), _trips(before, kind, "warm"),
         _trips(after, kind, "first"), _trips(after, kind, "warm"),
         _trips(after, kind, "warm", "max")]
        for kind in sorted(after)
    ]  # fmt: skip
    base = result["baseline"]
    return table(
        ["kind", f"{base}: first pass", f"{base}: warm", "now: first pass", "now: warm",
         "now: warm, most"],
        lines,
    )  # fmt: skip


def endpoint_table(result: dict[str, Any]) -> str:
    """Warm requests per query by kind and endpoint, before and now."""
    before, after = result["before"]["round_trips"], result["after"]["round_trips"]
    lines = []
    for kind in sorted(after):
        old = before.get(kind, {}).get("warm", {}).get("endpoints", {})
        new = after[kind].get("warm", {}).get("endpoints", {})
        lines += [
            [kind, name, old.get(name, 0.0), new.get(name, 0.0)] for name in sorted({*old, *new})
        ]
    return table(["kind", "endpoint", f"{result['baseline']}", "now"], lines)


def latency_table(result: dict[str, Any]) -> str:
    """Warm median latency by kind: Whoosh in process, the cluster before and now."""
    whoosh, before, after = (result[name] for name in ("whoosh", "before", "after"))
    rows = [("all", whoosh["warm"]["p50"], before["warm"]["p50"], after["warm"]["p50"])]
    rows += [
        (kind, whoosh["by_kind"].get(kind), before["by_kind"].get(kind), after["by_kind"][kind])
        for kind in sorted(after["by_kind"])
    ]
    base = result["baseline"]
    return table(
        ["kind", "Whoosh p50 ms", f"{base}: p50 ms", f"{base}: vs Whoosh", "now: p50 ms",
         "now: vs Whoosh", f"now vs {base}"],
        [[kind, w, b, _times(b, w), a, _times(a, w), _times(a, b)] for kind, w, b, a in rows],
    )  # fmt: skip


def _trips(trips: dict[str, Any], kind: str, phase: str, statistic: str = "mean") -> Any:
    return trips.get(kind, {}).get(phase, {}).get(statistic)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Cluster requests and latency per query kind: this checkout beside a "
        "baseline commit and the Whoosh engine, in one run on a small Reuters sample "
        "(the whole comparison is run_all.py --engine opensearch)."
    )
    parser.add_argument("--reuters", type=Path, default=DEFAULT_REUTERS)
    parser.add_argument("--files", type=int, default=2, help="Reuters files (1,000 stories each)")
    parser.add_argument("--baseline", default="main", help="the commit compared (default main)")
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the query set")
    parser.add_argument(
        "--repeat", type=int, default=2, help="query runs of each version, alternated"
    )
    parser.add_argument("--query-set", type=Path, default=QUERY_SET)
    parser.add_argument("--work", type=Path, help="scratch directory (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also save the results here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="searchsvc-trips-") as scratch:
        result = measure_round_trips(
            reuters_paths(args.reuters)[: args.files],
            args.work or Path(scratch),
            baseline=args.baseline,
            nodes=args.nodes,
            rounds=args.rounds,
            query_set=args.query_set,
            repeat=args.repeat,
            log=lambda line: print(f"[bench_cluster] {line}", file=sys.stderr, flush=True),
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print("### Cluster requests per query\n\n" + round_trip_table(result))
    print("\n### Warm requests per query, by endpoint\n\n" + endpoint_table(result))
    print("\n### Warm latency\n\n" + latency_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
