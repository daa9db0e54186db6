"""Worker processes for ``searchsvc serve``: gunicorn's arbiter with gthread workers.

One Python process runs Python code on about one core at a time, so the service forks
``SEARCHSVC_WORKERS`` processes over one listening socket. gunicorn supervises them: it
replaces a worker that dies, stops workers whose parent is gone, and on SIGTERM stops
accepting, answers the requests under way and then exits. Measured against the supervisor
this replaced (``benchmarks/bench_serving.py``, docs/benchmarks.md "Serving processes"):
the same throughput, CPU per request, memory and cold start, and a stop that answers every
request under way where the old one dropped 14 of 16.

What gunicorn does not do for us: binding is done here, so that ``--port 0`` and a taken
port are reported before anything forks, a crash loop (workers that keep dying) stops
the server instead of restarting workers forever, and a worker that gunicorn aborts (it
stopped answering its supervisor for gunicorn's timeout) first writes where each of its
threads was to the log, so that a hang can be traced afterwards. Each worker creates its
own app and engine after the fork: open index files, searcher caches and locks are never
shared.
"""

from __future__ import annotations

import faulthandler
import os
import socket
import sys
import time
from collections import deque
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.errors import HaltServer
from gunicorn.workers.base import Worker

from searchsvc.config import Settings
from searchsvc.web import close_app, create_app
from searchsvc.web.state import get_state

# Queue of connections waiting for accept(), shared by all workers.
BACKLOG = 1024
# Giving up: this many unexpected worker exits within this many seconds.
MAX_EARLY_DEATHS = 5
DEATH_WINDOW_SECONDS = 30.0
# How long workers get to answer the requests under way after a stop before they are killed.
STOP_GRACE_SECONDS = 30
# The longest request line accepted (gunicorn's upper bound; its default is 4094): a query
# of SEARCHSVC_MAX_QUERY_LENGTH characters, percent-encoded, with filters, fits.
MAX_REQUEST_LINE = 8190
# The exit status of a server that gave up on its workers (as for a usage error).
GAVE_UP = 2


class WorkersKeepDying(Exception):
    """Workers exited unexpectedly again and again; restarting them would not help."""


def bind_listening_socket(host: str, port: int) -> socket.socket:
    """One listening socket for every worker; ``OSError`` when the address is unusable."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def run_workers(settings: Settings, sock: socket.socket, count: int) -> None:
    """Serve ``sock`` (which gunicorn takes over and closes) with ``count`` workers until
    SIGTERM or Ctrl-C; raise ``WorkersKeepDying`` on a crash loop."""
    service = SearchService(settings, sock.detach(), count)
    parent = os.getpid()
    try:
        service.run()
    except SystemExit as stop:
        if os.getpid() != parent:
            # A worker leaving: gunicorn forks inside run(), so its exit passes through here.
            _exit_worker(stop.code)
        if service.gave_up:
            raise WorkersKeepDying(service.gave_up) from None
        if stop.code:
            raise WorkersKeepDying(f"the workers could not start (status {stop.code})") from None


class SearchService(BaseApplication):
    """The app under gunicorn, configured from :class:`Settings` (no gunicorn config file)."""

    def __init__(self, settings: Settings, fd: int, count: int) -> None:
        self.settings = settings
        self.fd = fd
        self.count = count
        self.deaths: deque[float] = deque(maxlen=MAX_EARLY_DEATHS)
        self.gave_up: str | None = None
        super().__init__()

    def load_config(self) -> None:
        options: dict[str, Any] = {
            "bind": [f"fd://{self.fd}"],
            "workers": self.count,
            "worker_class": "gthread",
            "threads": self.settings.threads,
            "graceful_timeout": STOP_GRACE_SECONDS,
            "limit_request_line": MAX_REQUEST_LINE,
            "proc_name": "searchsvc",
            # Worker deaths and errors only; the banner is ours, and there is no access log.
            "loglevel": "warning",
            # No control socket: it is one path per user, and two servers would share it.
            "control_socket_disable": True,
            "child_exit": self._child_exit,
            "post_worker_init": _open_worker_index,
            "worker_exit": _close_worker_app,
            "worker_abort": _show_stacks,
        }
        for name, value in options.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        """Called in each worker after the fork: its own app, engine and open files."""
        return create_app(self.settings)

    def _child_exit(self, arbiter: Arbiter, worker: Worker) -> None:
        # A stopping arbiter has closed its listeners first; those exits are expected.
        if not arbiter.LISTENERS:
            return
        self.deaths.append(time.monotonic())
        if (
            len(self.deaths) == MAX_EARLY_DEATHS
            and self.deaths[-1] - self.deaths[0] < DEATH_WINDOW_SECONDS
        ):
            self.gave_up = (
                f"worker {worker.pid} was the {MAX_EARLY_DEATHS}th to exit within "
                f"{DEATH_WINDOW_SECONDS:.0f} s; giving up (see the errors above)"
            )
            raise HaltServer(self.gave_up, GAVE_UP)


def _show_stacks(worker: Worker) -> None:
    """Every thread's stack, to the log, from a worker being aborted (SIGABRT: gunicorn's
    supervisor sends it to a worker silent past its timeout)."""
    print(f"searchsvc: worker {worker.pid} aborted; its threads were at:", file=sys.stderr)
    sys.stderr.flush()
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)


def _open_worker_index(worker: Worker) -> None:
    """Open the index as the worker starts, in the background: its first request then
    finds it open instead of opening it (0.2 s of checks and the columns at a million
    articles)."""
    app = _worker_app(worker)
    if app is not None:
        get_state(app).engine.open_in_background()


def _close_worker_app(arbiter: Arbiter, worker: Worker) -> None:
    """Close the worker's searchers and files as it exits."""
    app = _worker_app(worker)
    if app is not None:
        close_app(app)


def _worker_app(worker: Worker) -> Flask | None:
    """The worker's app, once it has loaded one."""
    app = getattr(worker, "wsgi", None)
    return app if isinstance(app, Flask) else None


def _exit_worker(code: object) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0)
