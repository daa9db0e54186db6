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
    from searchsvc.articles import IngestReport
    from searchsvc.articles.sources import read_articles

    report = IngestReport()
    paths = args.paths or list(settings.corpus)
    articles = read_articles(paths, report, max_file_bytes=settings.max_file_bytes)
    if args.json:
        for article in articles:
            print(json.dumps(article.to_dict(), ensure_ascii=False))
        print(report.format_text(), file=sys.stderr)
    else:
        for _ in articles:
            pass
        print(report.format_text())
    return 0


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
    ingest.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                        help="files or directories (default: SEARCHSVC_CORPUS, i.e. seeds/)")
    ingest.add_argument("--json", action="store_true",
                        help="print one JSON object per article instead of the report")
    ingest.set_defaults(handler=cmd_ingest)
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
