"""Running the app under waitress, the production WSGI server: ``searchsvc serve``.

The server never starts without something to serve: on a fresh clone the first start builds
the index from ``settings.corpus`` before it listens.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from types import FrameType

import waitress
from flask import Flask

from searchsvc.config import Settings
from searchsvc.index import (
    BuildFailed,
    BuildInProgress,
    IndexCorrupt,
    IndexNotFound,
    IndexOutdated,
    build_index,
    open_index,
    read_build_status,
    read_current,
)
from searchsvc.web import close_app, create_app
from searchsvc.web.health import serving_generation
from searchsvc.web.rebuild import build_running
from searchsvc.web.state import get_state
from searchsvc.web.workers import CHANNEL_TIMEOUT, Supervisor, bind_listening_socket


class CannotListen(Exception):
    """The address is taken or not ours to bind; the message suggests another port."""


def serve(
    settings: Settings, *, host: str = "127.0.0.1", port: int = 8000, workers: int | None = None
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM), then close the engine and its files.

    ``workers`` (default ``settings.workers``) above 1 forks that many processes over one
    listening socket, so searches use every core; 1 serves from this process alone.
    """
    ensure_index(settings)
    count = settings.workers if workers is None else workers
    if count > 1:
        _serve_with_workers(settings, host, port, count)
    else:
        _serve_in_process(settings, host, port)


def _serve_with_workers(settings: Settings, host: str, port: int, count: int) -> None:
    try:
        sock = bind_listening_socket(host, port)
    except OSError as error:
        raise _cannot_listen(host, port, error) from None
    try:
        # The engine is opened only to describe what is served, and closed before forking.
        app = create_app(settings)
        try:
            info = describe_serving(app)
        finally:
            close_app(app)
        _say(
            f"serving {info} on http://{_url_host(host)}:{sock.getsockname()[1]}/ "
            f"with {count} workers of {_threads(settings.threads)} (Ctrl-C to stop)"
        )
        Supervisor(settings, sock, count).run()
    finally:
        _say("stopping")
        sock.close()


def _serve_in_process(settings: Settings, host: str, port: int) -> None:
    app = create_app(settings)
    try:
        server = waitress.create_server(
            app,
            host=host,
            port=port,
            threads=settings.threads,
            ident="searchsvc",
            channel_timeout=CHANNEL_TIMEOUT,
            max_request_body_size=app.config["MAX_CONTENT_LENGTH"],
        )
    except OSError as error:
        close_app(app)
        raise _cannot_listen(host, port, error) from None
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if in_main_thread else None
    try:
        info = describe_serving(app)
        _say(
            f"serving {info} on http://{_url_host(host)}:{server.effective_port}/ "
            f"with {_threads(settings.threads)} (Ctrl-C to stop)"
        )
        # waitress returns from run() on Ctrl-C (and on SIGTERM, through _interrupt).
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        _say("stopping")
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
        server.close()
        close_app(app)


def ensure_index(settings: Settings) -> None:
    """Build the index from ``settings.corpus`` when there is none this code can read
    (on a cluster, when the alias has no generation; see ``ensure_cluster_generation``)."""
    if settings.engine == "opensearch":
        from searchsvc.engines import ensure_cluster_generation

        ensure_cluster_generation(settings, _say)
        return
    try:
        open_index(settings.index_dir).close()
        return
    except IndexNotFound:
        reason = f"no index in {settings.index_dir}"
    except (IndexOutdated, IndexCorrupt) as problem:
        reason = str(problem)
    corpus = ", ".join(str(path) for path in settings.corpus)
    _say(f"{reason}; building one from {corpus} before serving")
    try:
        result = build_index(None, settings)
    except BuildInProgress:
        _say("another process is building the index; waiting for it")
        _wait_for_other_build(settings)
        return
    _say(f"indexed {result.article_count} articles in {result.seconds:.1f} s")


def describe_serving(app: Flask) -> str:
    serving = serving_generation(get_state(app).engine)
    if serving is None:
        return "no index yet"
    return f"{serving['article_count']} articles (generation {serving['generation']})"


def _wait_for_other_build(settings: Settings) -> None:
    while build_running(settings.index_dir):
        time.sleep(0.5)
    if read_current(settings.index_dir) is None:
        status = read_build_status(settings.index_dir)
        raise BuildFailed(f"the other build did not produce an index: {status.get('error')}")


def _cannot_listen(host: str, port: int, error: OSError) -> CannotListen:
    return CannotListen(
        f"cannot listen on {host}:{port}: {error.strerror or error}; "
        "is another server using that port? (choose another with --port)"
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _threads(count: int) -> str:
    return f"{count} thread{'' if count == 1 else 's'}"


def _say(message: str) -> None:
    print(f"searchsvc: {message}", file=sys.stderr, flush=True)
