"""Big feed files read a run of entries at a time, and cut into parts for several workers.

A CMS or a monitoring tool exports its archive as one RSS or Atom file: a hundred
thousand ``<item>`` or ``<entry>`` elements, hundreds of megabytes. Parsing that whole
takes memory in proportion to the file, so it is read in runs of entries instead. The
file is scanned for where each entry starts and ends (no parsing beyond that; markup
inside comments and CDATA sections is stepped over), and each run is parsed on its own,
wrapped in the feed's head (everything before the first entry: the channel's title,
link and language, the namespaces) and the closing tags of what that head opened, so an
entry reads as it would in the whole document.

The scan reads a block at a time, so memory stays at a block and a run whatever the
file's size. A file in which no entry is found (a feed of another encoding than an
ASCII-compatible one, say) is left to the whole-file reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import BinaryIO

from searchsvc.articles.files import FilePart

#: Feeds up to this size are parsed whole; bigger ones a run of entries at a time.
RUN_BYTES = 4 * 1024 * 1024
_BLOCK_BYTES = 1024 * 1024

# Where an entry can start or end, and the markup whose text is not markup.
_TOKEN = re.compile(rb"<!--|<!\[CDATA\[|</?(?:[A-Za-z_][\w.-]*:)?(?:item|entry)(?=[\s/>])")
_ENTRY_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>\s*\Z")
_TEXT_ENDS = {b"<!--": re.compile(rb"-->"), b"<![CDATA[": re.compile(rb"\]\]>")}
# A start tag longer than this is taken for text (a stray "<item" in a broken file).
_MAX_TAG_BYTES = 1024 * 1024
# The longest token above, but for namespace prefixes of absurd length.
_LONGEST_TOKEN = 64
# The rest of a tag, up to its ">": attribute values may hold a ">". Possessive, so a
# tag that never ends costs one pass, not a backtracking search.
_TAG_REST = re.compile(rb"""(?:[^>"']++|"[^"]*+"|'[^']*+')*+>""")
# The markup of a feed's head, to know which elements it leaves open: a start or end tag,
# or the opening of markup that opens no element (a comment, CDATA, a declaration or a
# processing instruction), whose end is then found. Neither a name nor an attribute value
# can hold a "<" in XML, so a tag that fails to match fails before the next "<", and the
# head is read in one pass whatever it holds. (With "<" allowed, a head of 2,000 "<" took
# 7 s, and 10,000 took minutes.)
#
# The markup that opens no element, by opening, with what ends it. The pattern tries the
# openings in this order, so "<!--" is not read as "<!".
_SKIPPED_ENDS = {b"<!--": b"-->", b"<![CDATA[": b"]]>", b"<?": b">", b"<!": b">"}
_HEAD_MARKUP = re.compile(
    b"|".join(map(re.escape, _SKIPPED_ENDS))
    + rb"""|<(/?)([^\s/<>]++)((?:[^<>"']++|"[^<"]*+"|'[^<']*+')*+)>"""
)


class FeedLayout:
    """A feed file's head (the bytes before its first entry) and the tags that close it."""

    def __init__(self, head: bytes) -> None:
        self.head = head
        self.closing = closing_tags(head)

    def document(self, entries: bytes) -> bytes:
        """``entries`` (entry elements) as a feed document of their own. Entries that the
        file cuts short are left open, as in the file, for the parser to recover."""
        closed = _ENTRY_END.search(entries, max(0, len(entries) - _LONGEST_TOKEN))
        return self.head + entries + (self.closing if closed else b"")


def read_layout(stream: BinaryIO, max_head_bytes: int) -> FeedLayout | None:
    """The file's layout; None when no entry starts within its first ``max_head_bytes``."""
    for start, _ in entry_spans(stream, 0, max_head_bytes):
        stream.seek(0)
        return FeedLayout(stream.read(start))
    return None


def closing_tags(head: bytes) -> bytes:
    """The end tags of the elements ``head`` leaves open, innermost first."""
    open_names: list[bytes] = []
    for end, name, rest in _head_tags(head):
        if rest.endswith(b"/"):
            continue
        if not end:
            open_names.append(name)
        elif name in open_names:
            del open_names[len(open_names) - 1 - open_names[::-1].index(name) :]
    return b"".join(b"</" + name + b">" for name in reversed(open_names))


def _head_tags(head: bytes) -> Iterator[tuple[bytes, bytes, bytes]]:
    """(``b"/"`` or ``b""``, name, attributes) of each tag of ``head``, stepping over the
    markup that opens no element. Each search starts where the last one ended; markup left
    unterminated runs to the end of the head, as a parser reads it, so nothing after it is
    a tag."""
    found = _HEAD_MARKUP.search(head)
    while found is not None:
        if found.group(2) is not None:
            yield found.group(1, 2, 3)
            at = found.end()
        else:
            closing = _SKIPPED_ENDS[found.group()]
            end = head.find(closing, found.end())
            if end < 0:
                return
            at = end + len(closing)
        found = _HEAD_MARKUP.search(head, at)


def entry_runs(
    stream: BinaryIO, start: int, end: int, run_bytes: int = RUN_BYTES
) -> Iterator[tuple[int, int]]:
    """Byte ranges of consecutive whole entries, each at most ``run_bytes`` long unless it
    is a single entry, for the entries that start from ``start`` up to ``end``."""
    run_start = run_end = None
    for entry_start, entry_end in entry_spans(stream, start, end):
        if run_start is None:
            run_start = entry_start
        elif entry_end - run_start > run_bytes:
            yield run_start, run_end
            run_start = entry_start
        run_end = entry_end
    if run_start is not None:
        yield run_start, run_end


def split_feed(path: Path, piece_bytes: int) -> list[FilePart] | None:
    """The file cut into parts of about ``piece_bytes``, each starting where an entry
    starts (the first at the file's start, the last ending at its end); None when the file
    is not worth cutting (small, unreadable, or without entries)."""
    try:
        size = path.stat().st_size
        if size <= piece_bytes:
            return None
        with path.open("rb") as stream:
            starts = [start for start, _ in entry_runs(stream, 0, size, piece_bytes)]
    except OSError:
        return None
    if len(starts) < 2:
        return None
    bounds = [0, *starts[1:], size]
    return [FilePart(start, end, 1) for start, end in pairwise(bounds)]


def entry_spans(stream: BinaryIO, start: int, end: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each entry element that starts from ``start`` up to ``end``.

    ``start`` must lie outside any entry. An entry the file ends inside runs to the file's
    end (the parser recovers what it can of it).
    """
    window = _Window(stream, start)
    position, opened = start, None
    while True:
        token = window.search(_TOKEN, position)
        if token is None or (opened is None and token.start >= end):
            break
        text_end = _TEXT_ENDS.get(token.text)
        if text_end is not None:
            closed = window.search(text_end, token.end)
            if closed is None:
                break
            position = closed.end
            continue
        rest = window.match(_TAG_REST, token.end, _MAX_TAG_BYTES)
        if rest is None:  # not a tag after all: read on after it
            position = token.end
            continue
        position = rest.end
        if token.text.startswith(b"</"):
            if opened is not None:
                yield opened, position
                opened = None
        elif opened is None and not rest.text.endswith(b"/>"):
            opened = token.start
    if opened is not None:
        yield opened, window.size()


class _Found:
    __slots__ = ("end", "start", "text")

    def __init__(self, start: int, end: int, text: bytes) -> None:
        self.start, self.end, self.text = start, end, text


class _Window:
    """The bytes of a stream from some position on, read a block at a time: searches
    read further until they find their match or the stream ends, and what lies before
    the position searched from is let go."""

    def __init__(self, stream: BinaryIO, start: int) -> None:
        stream.seek(start)
        self.stream = stream
        self.base = start
        self.data = b""
        self.ended = False

    def search(self, pattern: re.Pattern[bytes], position: int) -> _Found | None:
        """The first match from ``position`` on (of a pattern whose matches are short)."""
        while True:
            found = pattern.search(self.data, position - self.base)
            if found is not None:
                return self._found(found)
            # No match can start before the last few bytes read: let the rest go.
            position = max(position, self.base + len(self.data) - _LONGEST_TOKEN)
            if not self._read_more(position):
                return None

    def match(self, pattern: re.Pattern[bytes], position: int, limit: int) -> _Found | None:
        """The match that starts at ``position`` and is at most ``limit`` bytes long."""
        while True:
            found = pattern.match(self.data, position - self.base)
            if found is not None:
                return self._found(found)
            if self.base + len(self.data) - position > limit or not self._read_more(position):
                return None

    def size(self) -> int:
        """Where the stream ends (read to its end)."""
        while self._read_more(self.base + len(self.data)):
            pass
        return self.base + len(self.data)

    def _found(self, found: re.Match[bytes]) -> _Found:
        return _Found(self.base + found.start(), self.base + found.end(), found.group())

    def _read_more(self, keep_from: int) -> bool:
        """Read a block, letting go of what lies before ``keep_from``; False at the end."""
        if self.ended:
            return False
        block = self.stream.read(_BLOCK_BYTES)
        if not block:
            self.ended = True
            return False
        self.data = self.data[keep_from - self.base :] + block
        self.base = keep_from
        return True
