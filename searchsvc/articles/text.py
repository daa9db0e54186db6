"""Turning raw bytes into clean story text: decoding, Unicode clean-up, boilerplate removal.

Every reader goes through here so that a story reads the same whichever format it came
in: the same quotes and dashes, paragraphs separated by one blank line, and none of the
lines a wire service wraps around a story (cross-promotion, editor codes, agency footer).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterable

BINARY_SAMPLE_BYTES = 8192
# Share of control bytes in the sample above which a file is not text.
BINARY_CONTROL_SHARE = 0.05

_REPAIR_ERRORS = "searchsvc-cp1252"
_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\f\x1b") + b"\x7f"

# One character in, one (or a few) plain characters out: what people type for the same thing.
_UNICODE_REPLACEMENTS = {
    "\u00a0": " ",  # no-break space
    "\u2007": " ",
    "\u202f": " ",
    "\u2002": " ",
    "\u2003": " ",
    "\u2009": " ",
    "\u200a": " ",
    "\u3000": " ",
    "\u200b": "",  # zero-width space, joiners, soft hyphen, BOM
    "\u200c": "",
    "\u200d": "",
    "\u2060": "",
    "\u00ad": "",
    "\ufeff": "",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\r": "",
    "\t": " ",
}
# Control characters (a JSON "\u0000" escape gets past the binary check) become spaces:
# they are invisible, and break HTML, XML and terminals wherever the text is shown.
_CONTROL_CHARACTERS = {chr(c): " " for c in [*range(0x20), 0x7F] if chr(c) not in "\n\r\t"}
_UNICODE_TABLE = str.maketrans({**_UNICODE_REPLACEMENTS, **_CONTROL_CHARACTERS})
_ASCII_TABLE = str.maketrans({"\r": "", "\t": " ", **_CONTROL_CHARACTERS})

_BLANK_LINES = re.compile(r"\n[ \f\v]*\n\s*")
_SPACES = re.compile(r"[ \f\v]+")

# Boilerplate. Cross-promotion lines point at other stories; they are whole paragraphs.
_CROSS_PROMOTION = re.compile(
    r"(?:also\s+read|read\s+also|read\s+more|more\s+reading|see\s+also|related"
    r"(?:\s+(?:articles?|stories|news|posts?|coverage|reading))?|recommended(?:\s+for\s+you)?"
    r"|you\s+may\s+also\s+like|don'?t\s+miss|watch)\s*[:|>]",
    re.IGNORECASE,
)
_CALL_TO_ACTION = re.compile(
    r"(?:click\s+here\b|follow\s+us\s+on\b|subscribe\s+to\s+our\b|sign\s+up\s+for\s+our\b)",
    re.IGNORECASE,
)
_CALL_TO_ACTION_MAX_CHARS = 200
# Editor/agency routing codes such as "(T/RE1/P2)" at the end of a paragraph.
_EDITOR_CODE = re.compile(r"(?<!\s)\s*\(((?:[A-Za-z0-9]{1,6}/){1,5}[A-Za-z0-9]{1,6})\)\s*$")
# Footers: "Mi'raj News Agency (MINA)", "Reuters", "(Reporting by ...)", "Copyright ...".
_FOOTER_WITH_ACRONYM = re.compile(r"^[^.!?\n]{0,80}\(\s*([A-Z][A-Za-z]{1,9})\s*\)$")
_FOOTER_NAME_WORDS = re.compile(
    r"\b(?:agency|news|press|service|wire|media|network|times|post|herald|tribune)\b",
    re.IGNORECASE,
)
_FOOTER_LINE = re.compile(
    r"^(?:-+\s*)?(?:reuters?|ap|afp|upi|xinhua|bernama|antara|mina|dpa|efe|ansa|kyodo|yonhap)"
    r"\.?$"
    r"|^\(?(?:(?:additional\s+)?reporting|writing|editing|compiled|edited|translated)\s+by\b"
    r".{0,250}$"
    r"|^(?:\u00a9|\(c\)|copyright\b).{0,250}$"
    r"|^(?:source|sources|editor|editors|reporter|reporters|writer|translator|edited\s+by)"
    r"\s*:.{0,150}$",
    re.IGNORECASE,
)
_MAX_FOOTER_PARAGRAPHS = 3


def looks_binary(sample: bytes) -> bool:
    """True for bytes that are not text: NUL bytes, or too many control characters."""
    sample = sample[:BINARY_SAMPLE_BYTES]
    if not sample:
        return False
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return controls / len(sample) > BINARY_CONTROL_SHARE


def decode_text(data: bytes) -> tuple[str, bool]:
    """Decode bytes as UTF-8, repairing stray bytes as cp1252 (latin-1 where cp1252 has a gap).

    Returns the text and whether any byte needed the repair. Only the bad bytes are
    reinterpreted, so a mostly UTF-8 file with one pasted cp1252 quote keeps its other
    accents intact.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), False
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        _register_repair_handler()
        return data.decode("utf-8-sig", errors=_REPAIR_ERRORS), True


def _register_repair_handler() -> None:
    try:
        codecs.lookup_error(_REPAIR_ERRORS)
    except LookupError:
        codecs.register_error(_REPAIR_ERRORS, _decode_bad_bytes_as_cp1252)


def _decode_bad_bytes_as_cp1252(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    chars = []
    for byte in bad:
        try:
            chars.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            chars.append(chr(byte))
    return "".join(chars), error.end


def normalize_unicode(text: str) -> str:
    """Compose accents and map typographic spaces, quotes and dashes to their plain forms."""
    if text.isascii():
        return text.translate(_ASCII_TABLE)
    return unicodedata.normalize("NFC", text).translate(_UNICODE_TABLE)


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines; lines inside one are joined into one line."""
    paragraphs = []
    for block in _BLANK_LINES.split(text.strip()):
        paragraph = _SPACES.sub(" ", " ".join(line.strip() for line in block.split("\n")))
        if paragraph.strip():
            paragraphs.append(paragraph.strip())
    return paragraphs


def is_cross_promotion(paragraph: str) -> bool:
    """A pointer to another story ("Also Read: ..."), not part of this one."""
    if _CROSS_PROMOTION.match(paragraph):
        return True
    return len(paragraph) <= _CALL_TO_ACTION_MAX_CHARS and bool(_CALL_TO_ACTION.match(paragraph))


def strip_editor_code(paragraph: str) -> str:
    """Remove a routing code such as ``(T/RE1/P2)`` from the end of a paragraph."""
    match = _EDITOR_CODE.search(paragraph)
    if match and _is_editor_code(match.group(1)):
        return paragraph[: match.start()].rstrip()
    return paragraph


def _is_editor_code(code: str) -> bool:
    """``T/RE1/P2`` is a code; ``US/EU`` or ``9/11`` are words and numbers people write."""
    has_digit = any(c.isdigit() for c in code)
    has_letter = any(c.isalpha() for c in code)
    if has_digit and has_letter:
        return True
    segments = code.split("/")
    return len(segments) >= 3 and code.isupper()


def footer_agency(paragraph: str) -> str | None:
    """The agency acronym of a footer such as "Mi'raj News Agency (MINA)", else None."""
    match = _FOOTER_WITH_ACRONYM.match(paragraph)
    if match and _FOOTER_NAME_WORDS.search(paragraph[: match.start(1)]):
        return match.group(1)
    return None


def is_footer(paragraph: str, agency: str | None = None) -> bool:
    """An agency sign-off, credit or copyright line that ends a story."""
    if _FOOTER_LINE.match(paragraph) or footer_agency(paragraph):
        return True
    match = _FOOTER_WITH_ACRONYM.match(paragraph)
    return bool(match and agency and match.group(1).lower() == agency.lower())


def strip_boilerplate(
    paragraphs: Iterable[str], agency: str | None = None
) -> tuple[list[str], str | None]:
    """Drop cross-promotion, editor codes and trailing footers.

    Returns the story's paragraphs and the agency named in a footer (if any), which
    stands in for the source when nothing else names one.
    """
    kept = []
    for paragraph in paragraphs:
        if is_cross_promotion(paragraph):
            continue
        paragraph = strip_editor_code(paragraph)
        if paragraph:
            kept.append(paragraph)
    footer_source = None
    for _ in range(_MAX_FOOTER_PARAGRAPHS):
        if not kept or not is_footer(kept[-1], agency):
            break
        footer_source = footer_source or footer_agency(kept[-1])
        kept.pop()
    return kept, footer_source


def join_paragraphs(paragraphs: Iterable[str]) -> str:
    return "\n\n".join(paragraphs)
