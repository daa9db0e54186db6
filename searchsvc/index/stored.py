"""Stored records compressed against a preset dictionary, one per segment.

Whoosh compresses each document's pickled stored fields on its own (zlib, level 3):
a news record of about 2 KB repeats the same dictionary keys, place records and
common words as every other record, and zlib relearns them each time. A preset
dictionary (zlib's ``zdict``: the last 32 KiB of the segment's first records)
lets each record refer back to them; measured on the synthetic corpus, stored
records take about a third less. Writing loads the dictionary into one compressor
and copies that for each record (:class:`RecordCompressor`) rather than loading it
again every time.

The dictionary is a file of the segment (``<segment>.zdict``), so the generation's
manifest lists it and the open checks compare it like the segment's other files;
the segment records that it has one (``stored_dictionary``, pickled with the
segment in the table of contents). A segment whose records never fill the
dictionary (a small update) stores them as Whoosh does, without one.

The file is a table of dictionaries, each for the documents from a first docnum on
(an empty one: plain zlib), so segments laid end to end by a merge keep their records'
bytes as they are and concatenate their tables (:func:`join_dictionary_tables`).
"""

from __future__ import annotations

import pickle
import struct
import zlib
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from whoosh import columns
from whoosh.codec.whoosh3 import W3PerDocReader, W3PerDocWriter

DICTIONARY_EXT = ".zdict"
#: zlib's window: a longer dictionary would not be reached back to.
DICTIONARY_BYTES = 32 * 1024
#: Whoosh's level for stored records.
STORED_LEVEL = 3
STORED_FIELD = "_stored"
#: The stored column holds records already compressed here.
STORED_RECORDS_COLUMN = columns.VarBytesColumn()
_COUNT = struct.Struct("<I")
_ENTRY = struct.Struct("<II")  # first docnum, dictionary length


def dictionary_table(entries: Sequence[tuple[int, bytes]]) -> bytes:
    """The ``.zdict`` file of ``(first docnum, dictionary)`` entries, in docnum order."""
    head = [_COUNT.pack(len(entries))]
    head.extend(_ENTRY.pack(first, len(dictionary)) for first, dictionary in entries)
    return b"".join(head) + b"".join(dictionary for _, dictionary in entries)


def read_dictionary_table(data: bytes) -> list[tuple[int, bytes]]:
    (count,) = _COUNT.unpack_from(data)
    entries = []
    position = _COUNT.size + count * _ENTRY.size
    for number in range(count):
        first, length = _ENTRY.unpack_from(data, _COUNT.size + number * _ENTRY.size)
        entries.append((first, data[position : position + length]))
        position += length
    if position != len(data):
        raise ValueError(
            f"a stored-record dictionary table of {len(data)} bytes ends at {position}"
        )
    return entries


def join_dictionary_tables(parts: Sequence[tuple[int, bytes | None]]) -> bytes:
    """One table for segments laid end to end: ``(first docnum, table or None)`` each,
    None for a segment without a dictionary (its records are plain zlib)."""
    entries: list[tuple[int, bytes]] = []
    for offset, table in parts:
        if table is None:
            entries.append((offset, b""))
        else:
            entries.extend((offset + first, d) for first, d in read_dictionary_table(table))
    return dictionary_table(entries)


class DictionaryPerDocWriter(W3PerDocWriter):
    """Whoosh 3's per-document writer whose stored records share a preset dictionary.

    Records are held back until they fill the dictionary (about 15 news articles),
    then written compressed against it.
    """

    def __init__(self, codec: Any, storage: Any, segment: Any) -> None:
        self._pending: list[tuple[int, bytes]] = []
        self._pending_bytes = 0
        self._compress: RecordCompressor | None = None
        super().__init__(codec, storage, segment)

    def _create_column(self, fieldname: str, column: Any) -> None:
        super()._create_column(
            fieldname, STORED_RECORDS_COLUMN if fieldname == STORED_FIELD else column
        )

    def finish_doc(self) -> None:
        if self._storedfields:
            self.store_record(self._docnum, self._storedfields)
            self._storedfields.clear()
        self._indoc = False

    def store_record(self, docnum: int, fields: dict) -> None:
        """A document's stored fields, as ``finish_doc`` stores those ``add_field`` took:
        for a writer that adds whole documents without ``start_doc`` and ``add_field``."""
        self._store(docnum, pickle.dumps(fields, 2))

    def close(self) -> None:
        if self._indoc:
            self.finish_doc()
        self._write_pending()
        super().close()

    def _store(self, docnum: int, record: bytes) -> None:
        if self._compress is not None:
            self._colwriters[STORED_FIELD].add(docnum, self._compress(record))
            return
        self._pending.append((docnum, record))
        self._pending_bytes += len(record)
        if self._pending_bytes >= DICTIONARY_BYTES:
            self._start_dictionary()

    def _start_dictionary(self) -> None:
        """Write the dictionary (the end of the held-back records) and then those records."""
        dictionary = b"".join(record for _, record in self._pending)[-DICTIONARY_BYTES:]
        with self._create_file(DICTIONARY_EXT) as dictionary_file:  # closed on a full disk too
            dictionary_file.write(dictionary_table([(0, dictionary)]))
        self._segment.stored_dictionary = True
        self._compress = RecordCompressor(dictionary)
        self._write_pending()

    def _write_pending(self) -> None:
        writer = self._colwriters[STORED_FIELD]
        compress = self._compress or RecordCompressor(None)
        for docnum, record in self._pending:
            writer.add(docnum, compress(record))
        self._pending.clear()


class DictionaryPerDocReader(W3PerDocReader):
    """Reads stored records written by :class:`DictionaryPerDocWriter`."""

    def __init__(self, storage: Any, segment: Any) -> None:
        super().__init__(storage, segment)
        self._has_dictionary = getattr(segment, "stored_dictionary", False)
        self._firsts: list[int] = []
        self._dictionaries: list[bytes] = []

    def stored_fields(self, docnum: int) -> dict:
        if not self._has_dictionary:
            return super().stored_fields(docnum)
        compressed = self._cached_reader(STORED_FIELD, STORED_RECORDS_COLUMN)[docnum]
        if not compressed:
            return {}
        return pickle.loads(decompress(compressed, self._dictionary_of(docnum)))

    def will_need(self, docnum: int) -> None:
        """Start reading a document's stored record from disk, to be read soon (see
        ``_CheckedFile.will_need``); only where the file takes such hints. Where the
        record lies comes from the offsets and lengths Whoosh's column reader keeps."""
        if not self._has_dictionary:
            return
        records = self._cached_reader(STORED_FIELD, STORED_RECORDS_COLUMN)
        will_need = getattr(records._dbfile, "will_need", None)
        length = records._lengths[docnum]
        if will_need is not None and length:
            will_need(records._basepos + records._offsets[docnum], length)

    def _dictionary_of(self, docnum: int) -> bytes:
        """Read on first use, so opening an index reads no more than before."""
        if not self._firsts:
            dictionary_file = self._segment.open_file(self._storage, DICTIONARY_EXT)
            try:
                entries = read_dictionary_table(dictionary_file.read())
            finally:
                dictionary_file.close()
            self._dictionaries = [dictionary for _, dictionary in entries]
            self._firsts = [first for first, _ in entries]
        return self._dictionaries[max(0, bisect_right(self._firsts, docnum) - 1)]


class RecordCompressor:
    """Compresses records against one preset dictionary (plain zlib without one).

    Loading a 32 KiB dictionary into a new compressor costs about as much as
    compressing a record; a compressor that has it loaded is copied instead, which
    gives the same state and so the same bytes.
    """

    def __init__(self, dictionary: bytes | None) -> None:
        self._primed = (
            None if dictionary is None else zlib.compressobj(STORED_LEVEL, zdict=dictionary)
        )

    def __call__(self, record: bytes) -> bytes:
        if self._primed is None:
            return zlib.compress(record, STORED_LEVEL)
        compressor = self._primed.copy()
        return compressor.compress(record) + compressor.flush()


def decompress(data: bytes, dictionary: bytes) -> bytes:
    if not dictionary:
        return zlib.decompress(data)
    decompressor = zlib.decompressobj(zdict=dictionary)
    return decompressor.decompress(data) + decompressor.flush()
