"""Running the app under gunicorn's gthread workers, the production setup: ``searchsvc serve``.

The server never starts without something to serve: on a fresh clone the first start builds
the index from ``settings.corpus`` before it listens.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from searchsvc.articles.languages import language_label
from searchsvc.config import Settings
from searchsvc.engines import open_engine
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
from searchsvc.web.workers import bind_listening_socket, run_workers


class CannotListen(Exception):
    """The address is taken or not ours to bind; the message suggests another port."""


def serve(
    settings: Settings, *, host: str = "127.0.0.1", port: int = 8000, workers: int | None = None
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM), then close the engine and its files.

    ``workers`` (default ``settings.workers``) processes share one listening socket, so
    searches use every core; each has ``settings.threads`` threads.
    """
    serving = ensure_index(settings)
    count = settings.workers if workers is None else workers
    try:
        sock = bind_listening_socket(host, port)
    except OSError as error:
        raise _cannot_listen(host, port, error) from None
    try:
        info = describe_serving(settings, serving)
        load_shared_tables()
        _say(
            f"serving {info} on http://{_url_host(host)}:{sock.getsockname()[1]}/ "
            f"with {_workers(count)} of {_threads(settings.threads)} (Ctrl-C to stop)"
        )
        run_workers(settings, sock, count)
    finally:
        _say("stopping")
        sock.close()


def ensure_index(settings: Settings) -> dict[str, Any] | None:
    """Build the index from ``settings.corpus`` when there is none this code can read
    (on a cluster, when the alias has no generation; see ``ensure_cluster_generation``).

    What is served then, as :func:`serving_generation` gives it, where this learned it
    on the way (the embedded index's, opened and checked here); None otherwise."""
    if settings.engine == "opensearch":
        from searchsvc.engines import ensure_cluster_generation

        ensure_cluster_generation(settings, _say)
        return None
    try:
        with open_index(settings.index_dir) as opened:
            return _described(opened.generation, opened.meta.get("article_count"))
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
        return None
    _say(f"indexed {result.article_count} articles in {result.seconds:.1f} s")
    return _described(result.generation, result.article_count)


def _described(generation: str, article_count: int | None) -> dict[str, Any] | None:
    """:func:`serving_generation`'s answer, from what opening or building told; None
    where the count is unknown."""
    if article_count is None:
        return None
    return {"generation": generation, "article_count": article_count}


def load_shared_tables() -> None:
    """Load before forking what every worker's first answers would load on their own
    (the language facet's names of languages: langcodes' tables, 6 MiB), so that the
    workers share one copy."""
    language_label("en")


def describe_serving(settings: Settings, serving: dict[str, Any] | None = None) -> str:
    """What is served, in words, for the banner, worked out before the workers are forked:
    ``serving`` (as :func:`serving_generation` gives it) where :func:`ensure_index` has
    learned it already, since opening an engine again to ask costs 0.35 s at a million
    articles.

    Nothing may run beside this thread once it returns: a thread running at the fork
    leaves the locks it holds held for good in every worker. So the app is created and
    closed only for the modules it imports (which every worker then shares), and the index
    is described by an engine that starts no thread (a server's reads each commit in the
    background, and asks its latest searches again).
    """
    close_app(create_app(settings))
    if serving is None:
        with open_engine(settings) as engine:
            serving = serving_generation(engine)
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


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _workers(count: int) -> str:
    return f"{count} worker{'' if count == 1 else 's'}"


def _threads(count: int) -> str:
    return f"{count} thread{'' if count == 1 else 's'}"


def _say(message: str) -> None:
    print(f"searchsvc: {message}", file=sys.stderr, flush=True)
