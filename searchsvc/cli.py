"""The ``searchsvc`` command: a thin layer over the library, one sub-command per capability.

Each command turns arguments into a library call and the result into text (or JSON);
domain errors become a one-line message with a hint and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from searchsvc.config import ConfigError, Settings


class CommandError(Exception):
    """An error the user can fix; printed without a traceback."""


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    """Parse sources and print the ingest report, or one JSON object per article."""
    import itertools

    from searchsvc.articles import IngestReport
    from searchsvc.articles.feeds import is_url, read_feed_url
    from searchsvc.articles.sources import read_articles

    report = IngestReport()
    urls = [source for source in args.paths if is_url(source)]
    paths = [Path(source) for source in args.paths if not is_url(source)]
    if not args.paths:
        paths = list(settings.corpus)
    missing = [str(path) for path in paths if not path.exists() and not path.is_symlink()]
    if missing:
        raise CommandError(
            f"no such file or directory: {', '.join(missing)} "
            "(give files or directories of .txt/.md, .jsonl/.ndjson, .sgm, .html/.htm or "
            ".rss/.atom sources, or feed URLs)"
        )
    fetched = (
        read_feed_url(url, report, timeout=settings.feed_timeout, max_bytes=settings.max_file_bytes)
        for url in urls
    )
    articles = itertools.chain(
        read_articles(paths, report, max_file_bytes=settings.max_file_bytes) if paths else (),
        itertools.chain.from_iterable(fetched),
    )
    if args.json:
        for article in articles:
            print(json.dumps(article.to_dict(), ensure_ascii=False))
        print(report.format_text(), file=sys.stderr)
    else:
        for _ in articles:
            pass
        print(report.format_text())
    return 0


def cmd_build_index(args: argparse.Namespace, settings: Settings) -> int:
    """Build a new index generation from the sources and switch to it when verified."""
    from searchsvc.engines import build_index
    from searchsvc.index import SearchIndexError

    try:
        result = build_index(args.paths or None, settings)
    except SearchIndexError as error:
        raise CommandError(str(error)) from None
    except KeyboardInterrupt:
        raise CommandError("build interrupted; the previous index keeps serving") from None
    print(result.format_text())
    return 0


def cmd_index_info(args: argparse.Namespace, settings: Settings) -> int:
    """Describe the serving generation: articles, sources, build time, report, size."""
    from searchsvc.engines import index_info
    from searchsvc.index import SearchIndexError
    from searchsvc.index.info import format_index_info

    try:
        info = index_info(settings, verify=args.verify)
    except SearchIndexError as error:
        raise CommandError(str(error)) from None
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
    else:
        print(format_index_info(info))
    return 0 if (info["verification"] or {"ok": True})["ok"] else 1


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the search page and the JSON API under gunicorn until interrupted."""
    from searchsvc.index import SearchIndexError
    from searchsvc.web.server import CannotListen, serve
    from searchsvc.web.workers import WorkersKeepDying

    try:
        serve(settings, host=args.host, port=args.port, workers=args.workers)
    except (SearchIndexError, CannotListen, WorkersKeepDying) as error:
        raise CommandError(str(error)) from None
    return 0


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text!r}")
    return port


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return number


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    """Search the serving index and print one page of results (or the JSON API's shape)."""
    import datetime as dt

    from searchsvc.engines import open_engine
    from searchsvc.index import SearchIndexError
    from searchsvc.search import QueryError, SearchRequest

    try:
        request = SearchRequest(
            query=" ".join(args.query),
            place=tuple(_place_key(value) for value in args.place),
            places=tuple(_place_key(value) for value in args.places),
            source=tuple(args.source),
            language=tuple(args.language),
            lang=tuple(code for value in args.lang for code in value.split(",") if code),
            date_from=dt.date.fromisoformat(args.date_from) if args.date_from else None,
            date_to=dt.date.fromisoformat(args.date_to) if args.date_to else None,
            sort=args.sort,
            page=args.page,
            per_page=args.per_page or settings.default_per_page,
            collapse=args.collapse,
        )
    except ValueError as error:
        raise CommandError(f"--from/--to must be dates like 2024-02-26 ({error})") from None
    with open_engine(settings) as engine:
        try:
            result = engine.search(request)
        except QueryError as error:
            raise CommandError(f"{error} (parameter: {error.parameter})") from None
        except SearchIndexError as error:
            raise CommandError(str(error)) from None
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(_format_search_result(result))
    return 0


def _place_key(value: str) -> str:
    """A facet key as given (``geo:587084``), or the key of a place typed by name (``Baku``)."""
    if ":" in value:
        return value
    from searchsvc.places import resolve_dateline_place

    place = resolve_dateline_place(value)
    if place is None:
        raise CommandError(
            f"unknown place {value!r}; give a name like Baku or a key like geo:587084"
        )
    return place.key


def _more_versions(versions: int) -> str:
    """What a hit says of the other copies of its story, as the search page says it."""
    if not versions:
        return ""
    return f"{versions:,} more version{'' if versions == 1 else 's'}"


def _format_search_result(result) -> str:
    """Results as plain text: highlights dropped, entities decoded, facets summarized."""
    import html
    import re

    def plain(fragment: str) -> str:
        return html.unescape(re.sub(r"</?mark>", "", fragment))

    first = (result.page - 1) * result.per_page + 1
    lines = [
        f"{result.total:,} result{'' if result.total == 1 else 's'}"
        + (f", {first}-{first + len(result.hits) - 1} shown" if result.hits else "")
        + f" (page {result.page} of {result.pages}, {result.took_ms:.1f} ms)"
    ]
    if result.message:
        lines.append(result.message)
    if result.suggestion:
        lines.append(f"Did you mean: {result.suggestion}")
    for number, hit in enumerate(result.hits, start=first):
        meta = [
            (hit.place or {}).get("display") or "",
            hit.date or "undated",
            hit.source or "",
            hit.id,
            _more_versions(hit.versions),
        ]
        lines.append("")
        lines.append(f"{number:>3}. {plain(hit.title) or 'Untitled article'}")
        lines.append("     " + " · ".join(part for part in meta if part))
        if hit.snippet:
            lines.append("     " + plain(hit.snippet))
    titles = {
        "place": "Dateline",
        "places": "Places mentioned",
        "source": "Source",
        "language": "Language",
    }
    for name, facet in result.facets.items():
        if facet.values:
            values = ", ".join(f"{value.label} ({value.count:,})" for value in facet.values)
            lines.append("")
            lines.append(f"{titles.get(name, name)}: {values}")
    if result.dates.buckets:
        bars = ", ".join(f"{b.label} ({b.count:,})" for b in result.dates.buckets if b.count)
        undated = f"; undated ({result.dates.undated:,})" if result.dates.undated else ""
        lines.append("")
        lines.append(f"Dates by {result.dates.granularity}: {bars}{undated}")
    return "\n".join(lines)


def cmd_index_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add or replace the articles of the given sources in the serving index."""
    from searchsvc.articles import IngestReport
    from searchsvc.engines import add_sources
    from searchsvc.index import SearchIndexError
    from searchsvc.index.watchstate import with_kept_sources

    missing = [str(path) for path in args.paths if not path.exists()]
    if missing:
        raise CommandError(f"source not found: {', '.join(missing)}")
    report = IngestReport()
    # Named as a rebuild names them: within the corpus or watched folder that holds them.
    folders = with_kept_sources(settings.corpus, settings.index_dir)
    try:
        result = add_sources(settings, args.paths, report, roots=folders)
    except SearchIndexError as error:
        raise CommandError(str(error)) from None
    print(report.format_text())
    print(
        f"generation {result.generation}: {result.added} added, {result.replaced} replaced"
        f"{_unchanged_note(result.unchanged)}; {result.article_count} articles"
    )
    return 0


def cmd_index_delete(args: argparse.Namespace, settings: Settings) -> int:
    """Delete articles from the serving index by id."""
    from searchsvc.engines import delete_articles
    from searchsvc.index import SearchIndexError

    ids = [*args.ids, *_ids_from(args.ids_from)] if args.ids_from else args.ids
    if not ids:
        raise CommandError("no ids to delete: give them, or a file of them with --ids-from")
    try:
        result = delete_articles(settings, ids)
    except SearchIndexError as error:
        raise CommandError(str(error)) from None
    print(
        f"generation {result.generation}: {result.deleted} deleted; {result.article_count} articles"
    )
    return 0


def _ids_from(source: str) -> list[str]:
    """The ids in the file ``source`` (``-``: standard input), one a line; blank lines and
    the spaces around an id are left out. A takedown list of thousands of ids does not fit
    on a command line."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read ids from {source}: {error}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    """Keep the serving index current with feeds and folders until stopped."""
    import signal
    import threading

    from searchsvc.articles.feeds import is_url
    from searchsvc.index import SearchIndexError
    from searchsvc.index.generations import read_current
    from searchsvc.index.watch import Watcher, hold_watch_lock

    missing = [s for s in args.sources if not is_url(s) and not Path(s).exists()]
    if missing:
        raise CommandError(
            f"no such file or directory: {', '.join(missing)} (give feed URLs, folders or files)"
        )
    if settings.engine == "whoosh" and read_current(settings.index_dir) is None:
        raise CommandError(
            f"no index in {settings.index_dir}; build one first with `searchsvc build-index`"
        )
    watcher = Watcher(settings, args.sources, fetch_pages=args.fetch_pages)
    try:
        if args.once:
            with hold_watch_lock(settings.index_dir):
                poll = watcher.poll()
            print(_format_poll(poll))
            return 1 if poll["error"] else 0
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        interval = args.interval or settings.watch_interval
        watcher.run(interval, stop, on_poll=lambda poll: print(_format_poll(poll), flush=True))
    except SearchIndexError as error:
        raise CommandError(str(error)) from None
    except KeyboardInterrupt:
        pass
    return 0


def _unchanged_note(unchanged: int) -> str:
    """What an update said of the articles it found indexed as they are (if any)."""
    return f", {unchanged} already indexed as they are" if unchanged else ""


def _format_poll(poll: dict) -> str:
    """One line per poll: what changed, and each source that failed."""
    counts = (
        f"{poll.get('added', 0)} added, {poll.get('replaced', 0)} replaced, "
        f"{poll.get('deleted', 0)} deleted{_unchanged_note(poll.get('unchanged', 0))}"
    )
    taken = poll.get("from_build", 0)
    if taken:
        counts += f", {taken} file{'' if taken == 1 else 's'} already indexed by the build"
    failed = [f"{s['source']} ({s['error']})" for s in poll["sources"] if s["state"] == "error"]
    line = f"{poll['finished_at']} poll: {counts}"
    if poll["error"]:
        line += f"; not applied, retried next poll: {poll['error']}"
    return line + (f"; failed: {', '.join(failed)}" if failed else "")


def _seconds(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        number = 0.0
    if not number > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="searchsvc",
        description="Full-text search for news articles.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser(
        "ingest",
        help="parse sources and report what was read, skipped and repaired",
        description="Parse news sources without indexing them: check how a corpus parses.",
    )
    ingest.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files, directories or feed URLs (default: SEARCHSVC_CORPUS, i.e. seeds/)",
    )
    ingest.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per article instead of the report",
    )
    ingest.set_defaults(handler=cmd_ingest)

    build = commands.add_parser(
        "build-index",
        help="build a new index generation and switch to it when complete",
        description="Index the sources into a new generation in SEARCHSVC_INDEX_DIR; "
        "the previous generation serves until the new one is complete and verified.",
    )
    build.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="SOURCE",
        help="files or directories (default: SEARCHSVC_CORPUS, i.e. seeds/)",
    )
    build.set_defaults(handler=cmd_build_index)

    info = commands.add_parser(
        "index-info",
        help="show the serving index generation and how it was built",
        description="Print the generation, article count, sources, build time, "
        "ingest report and size of the index in SEARCHSVC_INDEX_DIR.",
    )
    info.add_argument("--json", action="store_true", help="print the details as JSON")
    info.add_argument(
        "--verify",
        action="store_true",
        help="also compare every byte of the index with its build-time checksums "
        "(opening checks sizes and samples); exit status 1 if damaged",
    )
    info.set_defaults(handler=cmd_index_info)

    add = commands.add_parser(
        "index-add",
        help="add or replace articles in the serving index without a rebuild",
        description="Read the sources and add their articles to the serving generation; "
        "an article whose id is already indexed replaces it.",
    )
    add.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or directories")
    add.set_defaults(handler=cmd_index_add)

    delete = commands.add_parser(
        "index-delete",
        help="delete articles from the serving index by id",
        description="Delete the articles with these ids from the serving generation.",
    )
    delete.add_argument("ids", nargs="*", metavar="ID", help="article ids")
    delete.add_argument(
        "--ids-from",
        metavar="FILE",
        help="also delete the ids in FILE, one a line (- for standard input)",
    )
    delete.set_defaults(handler=cmd_index_delete)

    watch = commands.add_parser(
        "watch",
        help="keep the serving index current with feeds and folders",
        description="Poll RSS/Atom feed URLs (conditional GET) and folders or files, add new "
        "and changed articles to the serving generation and delete those of removed files. "
        "What was seen is kept in SEARCHSVC_INDEX_DIR/watch-state.json, so a restart neither "
        "repeats nor misses anything, and rebuilds keep what the watch added.",
    )
    watch.add_argument(
        "sources", nargs="+", metavar="SOURCE", help="feed URLs (http/https), folders or files"
    )
    watch.add_argument(
        "--interval",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="seconds between polls (default: SEARCHSVC_WATCH_INTERVAL, 60)",
    )
    watch.add_argument(
        "--fetch-pages",
        action="store_true",
        help="index the page each new feed entry links to instead of its summary",
    )
    watch.add_argument("--once", action="store_true", help="poll once and exit")
    watch.set_defaults(handler=cmd_watch)

    search = commands.add_parser(
        "search",
        help="search the index and print one page of results",
        description="Search the serving generation in SEARCHSVC_INDEX_DIR with the same query "
        'language as the search box: words, "phrases", -excluded, OR, ( ), title:, place:, '
        "source:, date:2024-02, massac*, khojali~.",
    )
    search.add_argument(
        "query",
        nargs="*",
        metavar="QUERY",
        help="what to search for (several words are joined; none lists everything)",
    )
    search.add_argument(
        "--place",
        action="append",
        default=[],
        metavar="PLACE",
        help="dateline place, by name (Baku) or key (geo:587084); repeatable",
    )
    search.add_argument(
        "--places",
        action="append",
        default=[],
        metavar="PLACE",
        help="a place mentioned, by name (Azerbaijan) or key (country:AZ); repeatable",
    )
    search.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="SOURCE",
        help="source, e.g. reuters (repeat for several)",
    )
    search.add_argument(
        "--language",
        action="append",
        default=[],
        metavar="CODE",
        help="article language, an ISO 639-1 code such as id or ar (und: unknown); repeatable",
    )
    search.add_argument(
        "--lang",
        action="append",
        default=[],
        metavar="CODES",
        help="languages to analyse the query for, e.g. id,ar (default: the --language "
        "selection, else every language the index holds)",
    )
    search.add_argument(
        "--from", dest="date_from", metavar="DATE", help="earliest date, e.g. 2024-01-01"
    )
    search.add_argument("--to", dest="date_to", metavar="DATE", help="latest date, e.g. 2024-03-31")
    search.add_argument(
        "--sort",
        choices=("relevance", "newest", "oldest"),
        default="relevance",
        help="order of the results (default: relevance)",
    )
    search.add_argument("--page", type=int, default=1, metavar="N", help="page number (default: 1)")
    search.add_argument(
        "--per-page",
        type=int,
        default=None,
        metavar="N",
        help="results per page (default: SEARCHSVC_DEFAULT_PER_PAGE)",
    )
    search.add_argument(
        "--collapse",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one result per story with a count of its other versions, as the API's "
        "collapse parameter; --no-collapse lists every copy (default: --collapse)",
    )
    search.add_argument(
        "--json", action="store_true", help="print the result as the JSON API returns it"
    )
    search.set_defaults(handler=cmd_search)
    serve = commands.add_parser(
        "serve",
        help="serve the search page and JSON API (builds the index first if there is none)",
        description="Run the web service under gunicorn: SEARCHSVC_WORKERS worker processes "
        "with SEARCHSVC_THREADS threads each (gthread workers). "
        "On a first start with no index, it is built from SEARCHSVC_CORPUS before serving.",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only)",
    )
    serve.add_argument(
        "--port",
        type=_port,
        default=8000,
        help="port to listen on (default: 8000; 0 picks a free one)",
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        default=None,
        metavar="N",
        help="worker processes sharing the port, each with SEARCHSVC_THREADS threads "
        "(default: SEARCHSVC_WORKERS, one per core up to 2)",
    )
    serve.set_defaults(handler=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        return args.handler(args, settings)
    except (CommandError, ConfigError) as error:
        print(f"searchsvc: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
