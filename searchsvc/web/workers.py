"""Several worker processes serving one listening socket: ``searchsvc serve --workers N``.

One Python process runs Python code on about one core at a time, so a single process
serving searches leaves the other cores idle. The parent binds the socket once (so
``--port 0`` picks one port for everyone), then forks workers that each create their own
app and engine *after* the fork: open index files, searcher caches and locks are never
shared between processes. The parent only supervises: it forwards SIGTERM/SIGINT,
waits for the workers, and replaces a worker that dies unexpectedly, unless workers keep
dying, which would otherwise be a crash loop.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections import deque
from types import FrameType

import waitress

from searchsvc.config import Settings
from searchsvc.web import close_app, create_app

# Long enough for any search, short enough that a stuck client does not hold a thread.
CHANNEL_TIMEOUT = 60
# Queue of connections waiting for accept(), shared by all workers.
BACKLOG = 1024
# Giving up: this many unexpected worker exits within this many seconds.
MAX_EARLY_DEATHS = 5
DEATH_WINDOW_SECONDS = 30.0
# How long workers get to finish after a stop before they are killed.
STOP_GRACE_SECONDS = 30.0
# How often a worker checks that its parent still lives; a killed parent cannot stop them.
PARENT_CHECK_SECONDS = 0.5


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
    sock.setblocking(False)
    return sock


class Supervisor:
    """Runs ``count`` workers over ``sock`` until stopped; replaces workers that die."""

    def __init__(self, settings: Settings, sock: socket.socket, count: int) -> None:
        self.settings = settings
        self.sock = sock
        self.count = count
        self.workers: set[int] = set()
        self.stopping = False
        self.deaths: deque[float] = deque(maxlen=MAX_EARLY_DEATHS)

    def run(self) -> None:
        """Return after a requested stop; raise ``WorkersKeepDying`` on a crash loop."""
        previous = {
            signum: signal.signal(signum, self._stop) for signum in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            for _ in range(self.count):
                self._spawn()
            self._supervise()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self._stop_all()

    def _supervise(self) -> None:
        while self.workers:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                return
            if pid not in self.workers:
                continue
            self.workers.discard(pid)
            if self.stopping:
                continue
            self.deaths.append(time.monotonic())
            if (
                len(self.deaths) == MAX_EARLY_DEATHS
                and self.deaths[-1] - self.deaths[0] < DEATH_WINDOW_SECONDS
            ):
                raise WorkersKeepDying(
                    f"worker {pid} {_describe_exit(status)}, the {MAX_EARLY_DEATHS}th to exit "
                    f"within {DEATH_WINDOW_SECONDS:.0f} s; giving up (see the errors above)"
                )
            _say(f"worker {pid} {_describe_exit(status)}; starting another")
            self._spawn()

    def _spawn(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os._exit(run_worker(self.settings, self.sock))
        self.workers.add(pid)
        if self.stopping:  # a stop arrived while forking; this worker missed it
            os.kill(pid, signal.SIGTERM)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        self._signal_all(signal.SIGTERM)

    def _signal_all(self, signum: int) -> None:
        for pid in list(self.workers):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                self.workers.discard(pid)

    def _stop_all(self) -> None:
        """Stop whatever workers remain (after a crash loop or an error), killing stragglers."""
        self.stopping = True
        self._signal_all(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while self.workers:
            for pid in list(self.workers):
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done = pid
                if done:
                    self.workers.discard(pid)
            if self.workers and time.monotonic() > deadline:
                self._signal_all(signal.SIGKILL)
                deadline = float("inf")
            time.sleep(0.05)


def run_worker(settings: Settings, sock: socket.socket) -> int:
    """The body of one forked worker: its own app and engine, waitress threads, exit code."""
    try:
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        threading.Thread(
            target=_stop_when_orphaned, args=(os.getppid(),), name="parent-watch", daemon=True
        ).start()
        app = create_app(settings)
        server = waitress.create_server(
            app,
            sockets=[sock],
            threads=settings.threads,
            ident="searchsvc",
            channel_timeout=CHANNEL_TIMEOUT,
            max_request_body_size=app.config["MAX_CONTENT_LENGTH"],
        )
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
            close_app(app)
        return 0
    except KeyboardInterrupt:
        return 0
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def _stop_when_orphaned(parent: int) -> None:
    """Stop this worker once the parent is gone (killed with SIGKILL, say), not serve on."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)


def _describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by signal {os.WTERMSIG(status)}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _say(message: str) -> None:
    print(f"searchsvc: {message}", file=sys.stderr, flush=True)
