"""Start and stop the local OpenSearch test cluster (see README.md, "OpenSearch engine").

Each node is its own JVM running ``ClusterNode`` from this folder's Maven module, on
loopback ports chosen when the cluster starts. What was started is written to
``nodes.json`` in the state folder, so ``stop`` (and the fault tests, which kill single
nodes) find the processes again; ``stop`` removes the folder with the nodes' data.
:class:`LocalCluster` does all of it, for this command line, the tests' clusters and the
benchmarks' (which put this folder on ``sys.path``).

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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

MODULE = Path(__file__).resolve().parent
JAR = MODULE / "target" / "searchsvc-test-cluster-1.jar"
#: Written once ``mvn package`` has built the jar and copied every dependency.
BUILT = MODULE / "target" / ".built"
CLASSPATH = f"{JAR}:{MODULE / 'target' / 'lib'}/*"
MAIN_CLASS = "searchsvc.cluster.ClusterNode"
CLUSTER_NAME = "searchsvc-test"
#: Where nodes.json, the nodes' data and their logs live (override with SEARCHSVC_CLUSTER_DIR).
STATE_DIR = Path(os.environ.get("SEARCHSVC_CLUSTER_DIR", MODULE / ".run"))
#: Heap per node; three nodes of 512 MiB fit beside the tests on a small machine.
HEAP = os.environ.get("SEARCHSVC_CLUSTER_HEAP", "512m")
START_TIMEOUT_S = float(os.environ.get("SEARCHSVC_CLUSTER_START_TIMEOUT", "240"))
#: The node processes this process started, by pid: reaped when stopped or killed here, so
#: a process that starts and kills nodes (the fault tests) leaves no zombie or warning.
_STARTED: dict[int, subprocess.Popen] = {}


class ClusterFailed(RuntimeError):
    """A node exited or the cluster did not form in time; the message holds the nodes'
    last log lines."""


def unavailable_reason() -> str | None:
    """Why no cluster can start here (Java or Maven missing and no launcher built yet),
    or None: what tests skip on."""
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing and not BUILT.exists():
        return f"no OpenSearch cluster: {' and '.join(missing)} not installed"
    return None


class LocalCluster:
    """The test cluster kept in ``state_dir``: started, stopped, and nodes killed and
    restarted, by ``cluster/start`` and ``cluster/stop``, the test fixtures and the
    benchmarks alike. As a context manager it starts ``nodes`` nodes and stops them (their
    data removed) on the way out, whatever happened inside."""

    def __init__(self, state_dir: Path = STATE_DIR, nodes: int = 3) -> None:
        self.state_dir = Path(state_dir)
        self.count = nodes

    def __enter__(self) -> LocalCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the whole cluster ---------------------------------------------------------------

    def start(self) -> list[str]:
        """Start the nodes (or reuse a healthy running cluster of as many); their URLs once
        the cluster is green. Raises :class:`ClusterFailed` (the nodes stopped) when it
        does not become green in time."""
        running = self.nodes()
        if running:
            if len(running) == self.count and self.health(running, wait_s=5):
                return self.urls
            self.stop()
        build_module()
        nodes = [self._launched(node) for node in self._planned_nodes()]
        self._write_nodes(nodes)
        try:
            self._wait_until_green(nodes)
        except ClusterFailed:
            self.stop()
            raise
        return self.urls

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL after 30 s) and remove the state folder."""
        nodes = self.nodes()
        for node in nodes:
            signal_node(node["pid"], signal.SIGTERM)
        deadline = time.monotonic() + 30
        while any(is_alive(node["pid"]) for node in nodes) and time.monotonic() < deadline:
            time.sleep(0.2)
        for node in nodes:
            signal_node(node["pid"], signal.SIGKILL)
            reap(node["pid"])
        shutil.rmtree(self.state_dir, ignore_errors=True)

    def nodes(self) -> list[dict]:
        """What was started, as ``nodes.json`` records it (name, url, ports, pid)."""
        try:
            return json.loads((self.state_dir / "nodes.json").read_text())
        except (OSError, ValueError):
            return []

    @property
    def urls(self) -> list[str]:
        return [node["url"] for node in self.nodes()]

    def get(self, path: str, timeout: float = 60) -> Any:
        """The JSON answer of a GET on the first node that answers."""
        for url in self.urls:
            try:
                with urllib.request.urlopen(url + path, timeout=timeout) as answer:
                    return json.load(answer)
            except OSError:
                continue
        raise ClusterFailed(f"no node answers {path}")

    def wait_for(self, status: str, timeout_s: float = START_TIMEOUT_S) -> None:
        """Return once the cluster is at least ``status``; :class:`ClusterFailed` if not
        within ``timeout_s``."""
        query = f"wait_for_status={status}&timeout={int(timeout_s)}s"
        health = self.get(f"/_cluster/health?{query}", timeout=timeout_s + 10)
        if health.get("timed_out"):
            raise ClusterFailed(f"the cluster is not {status} after {timeout_s:.0f} s: {health}")

    def health(self, nodes: list[dict], wait_s: float, status: str = "green") -> bool:
        """True when any of ``nodes`` reports a cluster of all the nodes at least ``status``."""
        query = f"wait_for_status={status}&wait_for_nodes={self.count}&timeout={int(wait_s)}s"
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

    # --- single nodes --------------------------------------------------------------------

    def kill_node(self, name: str) -> None:
        """SIGKILL one node, as a crash would; its data stays for :meth:`restart_node`."""
        node = self._node(name)
        signal_node(node["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while is_alive(node["pid"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        reap(node["pid"])

    def restart_node(self, name: str) -> None:
        """Start a node that was killed again, on its ports and data; returns once it is
        back in the cluster (every node answering, green or yellow while shards recover)."""
        node = self._node(name)
        if is_alive(node["pid"]):
            raise ClusterFailed(f"{name} is running (pid {node['pid']})")
        node = self._launched(node)
        with self._nodes_lock():  # several nodes may be restarted at once
            self._write_nodes([node if other["name"] == name else other for other in self.nodes()])
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if not is_alive(node["pid"]):
                raise ClusterFailed(self._failure(node, "exited while restarting"))
            if self.health([node], wait_s=5, status="yellow"):
                return
            time.sleep(1)
        raise ClusterFailed(self._failure(node, f"not back after {START_TIMEOUT_S:.0f} s"))

    def restart_dead_nodes(self) -> None:
        """Start every node that is not running, together (a cluster whose nodes are all
        down forms again only once enough of them are back), and wait for green."""
        dead = [node["name"] for node in self.nodes() if not is_alive(node["pid"])]
        with ThreadPoolExecutor(max(1, len(dead))) as pool:
            for restarted in [pool.submit(self.restart_node, name) for name in dead]:
                restarted.result()
        self.wait_for("green")

    # --- helpers -------------------------------------------------------------------------

    def _planned_nodes(self) -> list[dict]:
        ports = free_ports(2 * self.count)
        http_ports, transport_ports = ports[: self.count], ports[self.count :]
        names = [f"node-{number}" for number in range(1, self.count + 1)]
        seeds = ",".join(f"127.0.0.1:{port}" for port in transport_ports)
        return [
            {
                "name": name,
                "url": f"http://127.0.0.1:{http_port}",
                "http_port": http_port,
                "transport_port": transport_port,
                "seeds": seeds,
                "names": names,
            }
            for name, http_port, transport_port in zip(
                names, http_ports, transport_ports, strict=True
            )
        ]

    def _launched(self, node: dict) -> dict:
        """Start one node's JVM on its ports and data folder; the node with its pid."""
        name, names = node["name"], node["names"]
        home = self.state_dir / name
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
                start_new_session=True,  # outlives this process; stop finds it in nodes.json
            )
        _STARTED[process.pid] = process
        return {**node, "pid": process.pid}

    def _wait_until_green(self, nodes: list[dict]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            dead = [node for node in nodes if not is_alive(node["pid"])]
            if dead:
                raise ClusterFailed(
                    "\n".join(self._failure(node, "exited while starting") for node in dead)
                )
            if self.health(nodes, wait_s=5):
                return
            time.sleep(1)
        raise ClusterFailed(
            "\n".join(
                self._failure(node, f"not green after {START_TIMEOUT_S:.0f} s") for node in nodes
            )
        )

    def _node(self, name: str) -> dict:
        for node in self.nodes():
            if node["name"] == name:
                return node
        raise ClusterFailed(f"no node named {name!r} in {self.state_dir / 'nodes.json'}")

    @contextlib.contextmanager
    def _nodes_lock(self) -> Iterator[None]:
        """Held while nodes.json is read and rewritten, so concurrent restarts keep every pid."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "nodes.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _write_nodes(self, nodes: list[dict]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        scratch = self.state_dir / "nodes.json.tmp"
        scratch.write_text(json.dumps(nodes, indent=2))
        scratch.replace(self.state_dir / "nodes.json")

    def _failure(self, node: dict, reason: str) -> str:
        """``reason`` with the last lines of the node's console log."""
        log = self.state_dir / node["name"] / "console.log"
        try:
            tail = log.read_text(errors="replace").splitlines()[-20:]
        except OSError:
            tail = []
        return "\n".join(
            [f"{node['name']} {reason}; last lines of {log}:"] + [f"  {t}" for t in tail]
        )


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
    if args.command == "start" and args.nodes < 1:
        parser.error("--nodes must be at least 1")
    cluster = LocalCluster(STATE_DIR)
    cluster.count = args.nodes if args.command == "start" else len(cluster.nodes())
    commands_run = {
        "start": cluster.start,
        "stop": cluster.stop,
        "kill-node": lambda: cluster.kill_node(args.name),
        "restart-node": lambda: cluster.restart_node(args.name),
        "urls": lambda: None,
    }
    try:
        commands_run[args.command]()
    except ClusterFailed as failure:
        print(failure, file=sys.stderr)
        return 1
    if args.command in ("start", "urls"):
        if not cluster.urls:
            print("no cluster is running", file=sys.stderr)
            return 1
        print("\n".join(cluster.urls))
    return 0


def build_module() -> None:
    """Build the launcher jar and copy its dependencies, once (a marker written after a
    whole build says so: a failed build can leave the jar and part of ``target/lib``).

    One process builds while others wait (a lock beside the module), and a failed build
    is tried once more: Maven's copy of a dependency just downloaded has been seen to fail
    its length check once and pass when run again."""
    if BUILT.exists():
        return
    BUILT.parent.mkdir(parents=True, exist_ok=True)
    with open(BUILT.parent / ".build-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for attempt in (1, 2):
            if BUILT.exists():
                return
            print("building the cluster launcher (mvn package)...", file=sys.stderr)
            built = subprocess.run(
                ["mvn", "-q", "-B", "-f", str(MODULE / "pom.xml"), "package"],
                check=attempt == 2,
                stdout=sys.stderr,
            )
            if built.returncode == 0:
                BUILT.touch()


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


def reap(pid: int) -> None:
    """Collect the exit status of a node this process started and has stopped."""
    process = _STARTED.pop(pid, None)
    if process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)


def signal_node(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


if __name__ == "__main__":
    sys.exit(main())
