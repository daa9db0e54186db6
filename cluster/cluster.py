"""Start and stop the local OpenSearch test cluster (see README.md, "OpenSearch engine").

Each node is its own JVM running ``ClusterNode`` from this folder's Maven module, on
loopback ports chosen when the cluster starts. What was started is written to
``nodes.json`` in the state folder, so ``stop`` (and the fault tests, which kill single
nodes) find the processes again; ``stop`` removes the folder with the nodes' data.

Only the standard library: this runs before the project's virtualenv exists.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

MODULE = Path(__file__).resolve().parent
JAR = MODULE / "target" / "searchsvc-test-cluster-1.jar"
CLASSPATH = f"{JAR}:{MODULE / 'target' / 'lib'}/*"
MAIN_CLASS = "searchsvc.cluster.ClusterNode"
CLUSTER_NAME = "searchsvc-test"
#: Where nodes.json, the nodes' data and their logs live (override with SEARCHSVC_CLUSTER_DIR).
STATE_DIR = Path(os.environ.get("SEARCHSVC_CLUSTER_DIR", MODULE / ".run"))
#: Heap per node; three nodes of 512 MiB fit beside the tests on a small machine.
HEAP = os.environ.get("SEARCHSVC_CLUSTER_HEAP", "512m")
START_TIMEOUT_S = float(os.environ.get("SEARCHSVC_CLUSTER_START_TIMEOUT", "240"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    start_parser = commands.add_parser("start", help="start the cluster, print node URLs")
    start_parser.add_argument("--nodes", type=int, default=3, help="number of nodes (default 3)")
    commands.add_parser("stop", help="stop the cluster and remove its data")
    commands.add_parser("urls", help="print the running cluster's node URLs")
    kill_parser = commands.add_parser("kill-node", help="SIGKILL one node (for fault tests)")
    kill_parser.add_argument("name", help="the node's name in nodes.json, e.g. node-2")
    restart_parser = commands.add_parser(
        "restart-node", help="start a stopped node again on its ports and data"
    )
    restart_parser.add_argument("name", help="the node's name in nodes.json, e.g. node-2")
    args = parser.parse_args(argv)
    if args.command == "start":
        if args.nodes < 1:
            parser.error("--nodes must be at least 1")
        return start(args.nodes)
    if args.command == "stop":
        return stop()
    if args.command == "kill-node":
        return kill_node(args.name)
    if args.command == "restart-node":
        return restart_node(args.name)
    return print_urls()


def start(count: int) -> int:
    """Start ``count`` nodes (or reuse a healthy running cluster) and print their URLs."""
    running = read_nodes()
    if running:
        if len(running) == count and cluster_health(running, count, wait_s=5):
            print_node_urls(running)
            return 0
        stop()
    build_module()
    nodes = launch_nodes(count)
    write_nodes(nodes)
    if not wait_until_green(nodes):
        stop()
        return 1
    print_node_urls(nodes)
    return 0


def build_module() -> None:
    """Build the launcher jar and copy its dependencies, once."""
    if JAR.exists() and (MODULE / "target" / "lib").is_dir():
        return
    print("building the cluster launcher (mvn package)...", file=sys.stderr)
    subprocess.run(
        ["mvn", "-q", "-B", "-f", str(MODULE / "pom.xml"), "package"],
        check=True,
        stdout=sys.stderr,
    )


def launch_nodes(count: int) -> list[dict]:
    ports = free_ports(2 * count)
    http_ports, transport_ports = ports[:count], ports[count:]
    names = [f"node-{number}" for number in range(1, count + 1)]
    seeds = ",".join(f"127.0.0.1:{port}" for port in transport_ports)
    nodes = []
    for name, http_port, transport_port in zip(names, http_ports, transport_ports, strict=True):
        node = {
            "name": name,
            "url": f"http://127.0.0.1:{http_port}",
            "http_port": http_port,
            "transport_port": transport_port,
            "seeds": seeds,
            "names": names,
        }
        node["pid"] = launch_node(node)
        nodes.append(node)
    return nodes


def launch_node(node: dict) -> int:
    """Start one node's JVM on its ports and data folder; its pid."""
    name, names = node["name"], node["names"]
    home = STATE_DIR / name
    settings = {
        "cluster.name": CLUSTER_NAME,
        "node.name": name,
        "path.home": home,
        "path.data": home / "data",
        "path.logs": home / "logs",
        "network.host": "127.0.0.1",
        "http.port": node["http_port"],
        "transport.port": node["transport_port"],
        # Small test disks would otherwise stop shard allocation at the watermarks.
        "cluster.routing.allocation.disk.threshold_enabled": "false",
    }
    if len(names) == 1:
        settings["discovery.type"] = "single-node"
    else:
        settings["discovery.seed_hosts"] = node["seeds"]
        settings["cluster.initial_cluster_manager_nodes"] = ",".join(names)
    (home / "logs").mkdir(parents=True, exist_ok=True)
    with open(home / "console.log", "ab") as console:  # a restart appends
        process = subprocess.Popen(
            [java(), f"-Xms{HEAP}", f"-Xmx{HEAP}", "-cp", CLASSPATH, MAIN_CLASS]
            + [f"{key}={value}" for key, value in settings.items()],
            stdout=console,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # outlives this script; stop finds it in nodes.json
        )
    return process.pid


def kill_node(name: str) -> int:
    """SIGKILL one node, as a crash would; its data stays for ``restart-node``."""
    node = find_node(name)
    if node is None:
        return 1
    signal_node(node["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while is_alive(node["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return 0


def restart_node(name: str) -> int:
    """Start a node that was killed again, on its ports and data; returns once it is back
    in the cluster (every node answering, green or yellow while shards recover)."""
    node = find_node(name)
    if node is None:
        return 1
    if is_alive(node["pid"]):
        print(f"{name} is running (pid {node['pid']})", file=sys.stderr)
        return 1
    node["pid"] = launch_node(node)
    with nodes_lock():  # several nodes may be restarted at once
        nodes = read_nodes()
        write_nodes([node if other["name"] == name else other for other in nodes])
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not is_alive(node["pid"]):
            report_failure(node, "exited while restarting")
            return 1
        if cluster_health([node], len(nodes), wait_s=5, status="yellow"):
            return 0
        time.sleep(1)
    report_failure(node, f"not back after {START_TIMEOUT_S:.0f} s")
    return 1


def find_node(name: str) -> dict | None:
    for node in read_nodes():
        if node["name"] == name:
            return node
    print(f"no node named {name!r} in {STATE_DIR / 'nodes.json'}", file=sys.stderr)
    return None


def wait_until_green(nodes: list[dict]) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        dead = [node for node in nodes if not is_alive(node["pid"])]
        if dead:
            for node in dead:
                report_failure(node, "exited while starting")
            return False
        if cluster_health(nodes, len(nodes), wait_s=5):
            return True
        time.sleep(1)
    for node in nodes:
        report_failure(node, f"not green after {START_TIMEOUT_S:.0f} s")
    return False


def cluster_health(nodes: list[dict], count: int, wait_s: float, status: str = "green") -> bool:
    """True when any node reports a cluster of ``count`` nodes at least ``status``."""
    query = f"wait_for_status={status}&wait_for_nodes={count}&timeout={int(wait_s)}s"
    for node in nodes:
        try:
            with urllib.request.urlopen(
                f"{node['url']}/_cluster/health?{query}", timeout=wait_s + 5
            ) as answer:
                health = json.load(answer)
        except (OSError, ValueError, urllib.error.URLError):
            continue
        return not health.get("timed_out")
    return False


def stop() -> int:
    """Stop every node (SIGTERM, then SIGKILL after 30 s) and remove the state folder."""
    nodes = read_nodes()
    for node in nodes:
        signal_node(node["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 30
    while any(is_alive(node["pid"]) for node in nodes) and time.monotonic() < deadline:
        time.sleep(0.2)
    for node in nodes:
        signal_node(node["pid"], signal.SIGKILL)
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    return 0


def print_urls() -> int:
    nodes = read_nodes()
    if not nodes:
        print("no cluster is running", file=sys.stderr)
        return 1
    print_node_urls(nodes)
    return 0


def print_node_urls(nodes: list[dict]) -> None:
    for node in nodes:
        print(node["url"])


def read_nodes() -> list[dict]:
    try:
        return json.loads((STATE_DIR / "nodes.json").read_text())
    except (OSError, ValueError):
        return []


@contextlib.contextmanager
def nodes_lock() -> Iterator[None]:
    """Held while nodes.json is read and rewritten, so concurrent restarts keep every pid."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(STATE_DIR / "nodes.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def write_nodes(nodes: list[dict]) -> None:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    scratch = STATE_DIR / "nodes.json.tmp"
    scratch.write_text(json.dumps(nodes, indent=2))
    scratch.replace(STATE_DIR / "nodes.json")


def free_ports(count: int) -> list[int]:
    """Loopback ports free right now (held open together so they are distinct)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def java() -> str:
    home = os.environ.get("JAVA_HOME")
    return str(Path(home) / "bin" / "java") if home else "java"


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed child of this process stays a zombie until reaped.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def signal_node(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def report_failure(node: dict, reason: str) -> None:
    log = STATE_DIR / node["name"] / "console.log"
    try:
        tail = log.read_text(errors="replace").splitlines()[-20:]
    except OSError:
        tail = []
    print(f"{node['name']} {reason}; last lines of {log}:", file=sys.stderr)
    for line in tail:
        print(f"  {line}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
