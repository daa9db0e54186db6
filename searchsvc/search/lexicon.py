"""The words of the unstemmed fields of one commit, for fuzzy words and "did you mean".

Both ask: which indexed words are within one or two edits of this one, and how common are
they? The words and their counts are read once per commit, on first need: loaded from the
file a build stores beside the segments (``lexicon_file.py``: 30-80 ms at a million
articles), extended from that file with the other segments' terms for an update's commit,
or, where there is no file, read straight from the segments' term tables (ten times
faster than through Whoosh's term records, 1.5 s at a million articles). They are
kept sorted by length, each with a 32-bit mask of the characters it contains. One edit
changes at most two bits of that mask (a substitution drops a character and adds one; a
swap changes none), so an XOR and a bit count over the words of a compatible length
(NumPy) leave a few hundred to check, and rapidfuzz's optimal-string-alignment distance
(C++) checks them: 0.07 ms a word on Reuters, 0.5 ms among 400,000 words.

On Reuters (70,000 words) reading and building take half a second. The words are held
packed (:class:`PackedWords`): the 939,000 words of the synthetic million articles hold
28 MiB with both tables, where one Python string per word held 97 MiB. SymSpell's
precomputed deletes (symspellpy) look up as fast, but building them for the 22,000
Reuters words seen in two or more articles takes 1.7 s and 40 MiB, and for 240,000 words
43 s and 550 MiB per server worker; persisting them with the generation would also leave
out what incremental updates add.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import compress, pairwise, repeat
from typing import Any, NamedTuple

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA
from whoosh.reading import IndexReader

from searchsvc.search.lexicon_file import (
    read_earlier_lexicon,
    read_stored_lexicon,
    write_stored_lexicon,
)

#: A word a query may be corrected to is written at least this often: a spelling seen
#: once is more often a misspelling than the word meant, and leaving those out (half of
#: a news vocabulary) halves the table of targets.
MIN_TARGET_OCCURRENCES = 2
_RECORD_LENGTHS = struct.Struct("!ii")  # key and value lengths before each term record
_RECORD_LENGTHS_DTYPE = np.dtype([("key", ">i4"), ("value", ">i4")])
_FIELD_KEY = struct.Struct("!H")  # the field's number, before the term in each key
#: After one flag byte in Whoosh 3's term info.
_WEIGHT_AND_DOCS_DTYPE = np.dtype([("weight", ">f4"), ("docs", ">u4")])
#: Term records parsed at a time: about 10 ms of work, after which a background reading
#: gives way to requests (``in_flight.py``).
SLICE_RECORDS = 1 << 14
#: A term table's index of record positions, by its array type code (big-endian on disk).
_INDEX_TYPES = {"B": "u1", "H": ">u2", "i": ">i4", "I": ">u4", "q": ">i8"}
#: Put between packed words to split them in C: the tokenizer never keeps it in a word.
_LINE_BREAK = ord("\n")
#: Words decoded at once rather than one by one (the targets' table decodes 450,000 at a
#: million articles: 0.24 s one by one).
_MANY_WORDS = 1000


#: ``pause(wanted)``: waits while requests run, unless ``wanted()`` (``in_flight.py``).
Pause = Callable[[Callable[[], bool]], None]
#: The unstemmed fields whose words a lexicon holds unless told otherwise.
WORD_FIELDS = ("title_words", "body_words")


class PackedWords(Sequence[str]):
    """Many words as one UTF-8 byte string and where each one ends, indexed like a list.

    A million articles have about 940,000 distinct words: as Python strings they held
    57 MiB in every serving process, packed they hold 13 MiB, and the few hundred words
    a look-up compares are decoded when it asks for them.
    """

    def __init__(self, blob: bytes | memoryview, ends: np.ndarray) -> None:
        """``blob``: the words' UTF-8 bytes end to end (a view of a stored lexicon's
        file, say); ``ends``: where each word ends in it."""
        self.blob = blob
        self.ends = ends

    @classmethod
    def of(cls, encoded: Iterable[bytes]) -> PackedWords:
        """The words whose UTF-8 bytes are ``encoded``, in that order."""
        encoded = list(encoded)
        ends = np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded)))
        return cls.packed(b"".join(encoded), ends)

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, number: int) -> str:  # type: ignore[override]
        if number < 0:
            number += len(self.ends)
        end = int(self.ends[number])  # raises IndexError past the last word
        start = int(self.ends[number - 1]) if number else 0
        return str(self.blob[start:end], "utf-8")

    def take(self, numbers: np.ndarray) -> list[str]:
        """The words numbered ``numbers``, decoded (their bounds looked up together; many
        are gathered and decoded at once, then split in C)."""
        if len(numbers) >= _MANY_WORDS:
            many = self.reordered(numbers)
            words = str(many._broken(), "utf-8").split("\n")
            if len(words) == len(many):
                return words
        ends = self.ends[numbers]
        starts = np.where(numbers > 0, self.ends[numbers - 1], 0)
        blob = self.blob
        return [
            str(blob[start:end], "utf-8")
            for start, end in zip(starts.tolist(), ends.tolist(), strict=True)
        ]

    def encoded(self) -> list[bytes]:
        """Every word's UTF-8 bytes, in order: split in C at a line break put after each
        word, which no word holds (0.1 s for a million words; slicing took 0.35)."""
        words = self._broken().split(b"\n")
        if len(words) == len(self):
            return words
        blob, ends = bytes(self.blob), self.ends.tolist()
        return [blob[start:end] for start, end in zip([0, *ends][:-1], ends, strict=True)]

    def _broken(self) -> bytes:
        """The words' bytes with a line break between each two (none for no words: then
        a split gives one empty word, and the callers read the words one by one)."""
        data = np.frombuffer(self.blob, dtype=np.uint8)
        return np.insert(data, self.ends[:-1].astype(np.int64), _LINE_BREAK).tobytes()

    def extended(self, more: list[bytes]) -> PackedWords:
        """These words, then ``more``."""
        lengths = np.fromiter(map(len, more), np.int64, len(more))
        ends = np.concatenate([self.ends, self._size() + np.cumsum(lengths)])
        return PackedWords.packed(bytes(self.blob) + b"".join(more), ends)

    def reordered(self, order: np.ndarray) -> PackedWords:
        """The words numbered ``order``, in that order (their bytes gathered at once)."""
        ends = self.ends.astype(np.int64)
        starts = np.concatenate([[0], ends[:-1]])[order]
        lengths = ends[order] - starts
        new_ends = np.cumsum(lengths)
        size = int(new_ends[-1]) if len(new_ends) else 0
        gathered = np.repeat(starts - (new_ends - lengths), lengths) + np.arange(size)
        return PackedWords.packed(np.frombuffer(self.blob, np.uint8)[gathered].tobytes(), new_ends)

    @classmethod
    def packed(cls, blob: bytes, ends: np.ndarray) -> PackedWords:
        """``blob`` and ``ends`` as :meth:`of` keeps them (32-bit ends where they fit)."""
        return cls(blob, ends.astype(np.uint32) if len(blob) < 2**32 else ends.astype(np.int64))

    def _size(self) -> int:
        return int(self.ends[-1]) if len(self) else 0

    def lengths_and_masks(self) -> tuple[np.ndarray, np.ndarray]:
        """Every word's length in characters and :func:`character_mask`, worked out over
        the packed bytes at once (no string per word)."""
        data = np.frombuffer(self.blob, dtype=np.uint8)
        bounds = np.concatenate(([0], self.ends)).astype(np.int64)
        # A character starts at every byte that is not a UTF-8 continuation byte.
        characters_before = np.concatenate(([0], np.cumsum((data & 0xC0) != 0x80)))
        starts = characters_before[bounds]
        lengths = np.diff(starts)
        codes = np.frombuffer(str(self.blob, "utf-8").encode("utf-32-le"), dtype=np.uint32)
        bits = np.left_shift(np.uint32(1), codes & np.uint32(31))
        masks = np.zeros(len(self), dtype=np.uint32)
        written = lengths > 0  # reduceat would give an empty word its neighbour's bit
        if written.any():
            masks[written] = np.bitwise_or.reduceat(bits, starts[:-1][written])
        return lengths, masks


class WordTable:
    """Some of a lexicon's words, sorted by length, with their character masks."""

    def __init__(
        self,
        words: PackedWords,
        numbers: np.ndarray,
        masks: np.ndarray,
        starts: np.ndarray,
        *,
        as_strings: bool = False,
    ) -> None:
        """``numbers``: the table's words, shortest first; ``masks``: theirs, in that
        order; ``starts[n]``: where the words of ``n`` characters start (:meth:`of` works
        them out). With ``as_strings``, the table's words are also kept decoded, for a
        table that is a small part of the lexicon and asked often: a look-up hands
        thousands of words to the distance, and decoding them each time costs more than
        the distance itself."""
        self.words = words
        self.numbers = numbers
        self._strings = np.array(words.take(numbers), dtype=object) if as_strings else None
        self.masks = masks
        self.starts = starts

    @classmethod
    def of(
        cls,
        words: PackedWords,
        numbers: np.ndarray,
        lengths: np.ndarray,
        masks: np.ndarray,
        *,
        as_strings: bool = False,
    ) -> WordTable:
        """The table of the words ``numbers``, given ``lengths`` and ``masks`` of every
        word of ``words`` by number."""
        ordered = numbers[np.argsort(lengths[numbers], kind="stable")]
        sorted_lengths = lengths[ordered]
        starts = np.searchsorted(sorted_lengths, np.arange(sorted_lengths.max(initial=0) + 2))
        return cls(words, ordered, masks[ordered], starts, as_strings=as_strings)

    def within(self, word: str, maxdist: int) -> tuple[np.ndarray, np.ndarray]:
        """(word numbers, distances) of the words within ``maxdist`` edits of ``word``."""
        last = len(self.starts) - 1
        lo = self.starts[min(max(len(word) - maxdist, 0), last)]
        hi = self.starts[min(len(word) + maxdist + 1, last)]
        changed = np.bitwise_count(self.masks[lo:hi] ^ np.uint32(character_mask(word)))
        close = np.flatnonzero(changed <= 2 * maxdist) + lo
        distances = (
            process.cdist(
                [word],
                self._candidates(close),
                scorer=OSA.distance,
                score_cutoff=maxdist,
                dtype=np.int32,
            )[0]
            if len(close)
            else np.zeros(0, dtype=np.int32)
        )
        kept = np.flatnonzero(distances <= maxdist)
        return self.numbers[close[kept]], distances[kept]

    def _candidates(self, close: np.ndarray) -> list[str]:
        if self._strings is not None:
            return self._strings[close].tolist()
        return self.words.take(self.numbers[close])


class Lexicon:
    """Words of the unstemmed title and body fields of one commit, read on first use."""

    def __init__(self, fields: tuple[str, ...] = WORD_FIELDS) -> None:
        self.fields = fields
        self._lock = threading.Lock()
        self._words: _Words | None = None
        #: A request waits for the words: a background reading must not pause any more.
        self._wanted = False

    def near(
        self, reader: IndexReader, fields: tuple[str, ...], word: str, maxdist: int
    ) -> list[tuple[str, int]]:
        """(word, articles with it in ``fields``) of the indexed words of ``fields`` within
        ``maxdist`` edits of ``word``, whatever their first letter."""
        words = self._load(reader)
        numbers, _ = words.every_word.within(word, maxdist)
        docs = sum(
            (words.docs[name][numbers] for name in fields if name in words.docs),
            np.zeros(len(numbers), dtype=np.int64),
        )
        return [
            (words.words[number], count)
            for number, count in zip(numbers.tolist(), docs.tolist(), strict=True)
            if count
        ]

    def corrections(
        self, reader: IndexReader, word: str, maxdist: int
    ) -> list[tuple[str, float, int]]:
        """(word, occurrences, distance) of the plausible spellings near ``word``:
        alphabetic words written at least :data:`MIN_TARGET_OCCURRENCES` times."""
        words = self._load(reader)
        numbers, distances = words.targets.within(word, maxdist)
        return list(
            zip(
                words.words.take(numbers),
                words.occurrences[numbers].tolist(),
                distances.tolist(),
                strict=True,
            )
        )

    def occurrences(
        self, reader: IndexReader, word: str, fields: tuple[str, ...] | None = None
    ) -> float:
        """How often ``word`` is written in titles and bodies (0 when it never is); with
        ``fields``, how often that term occurs in those fields (e.g. a stem in the stemmed
        ones). Asked of the index, which keeps a table from words to numbers unneeded here."""
        total = 0.0
        for name in fields or self.fields:
            boost = reader.schema[name].format.field_boost or 1.0
            total += reader.frequency(name, word) / boost
        return total

    def vocabulary(self, reader: IndexReader) -> dict[str, float]:
        """Every word with how often it is written (for measuring corrections)."""
        words = self._load(reader)
        return dict(zip(words.words, words.occurrences.tolist(), strict=True))

    @property
    def loaded(self) -> bool:
        return self._words is not None

    def prepare(self, reader: IndexReader, pause: Pause | None = None) -> None:
        """Read the words now (a server does it in the background after each commit).

        ``pause(wanted)`` is called between slices of the reading, to wait while requests
        run; it must return at once when ``wanted()``, which a request that needs the
        words makes true (it then waits for this reading to finish)."""
        self._read(reader, (lambda: pause(self._is_wanted)) if pause else _go_on)

    def _load(self, reader: IndexReader) -> _Words:
        """The words, for a request: read now, or a background reading finished at once."""
        if self._words is None:
            self._wanted = True
            self._read(reader, _go_on)
        assert self._words is not None
        return self._words

    def _read(self, reader: IndexReader, between_slices: Callable[[], None]) -> None:
        if self._words is None:
            with self._lock:  # one thread reads the term tables, the others wait for it
                if self._words is None:
                    self._words = (
                        _Words.stored(reader, self.fields)
                        or _Words.extended(reader, self.fields, between_slices)
                        or _Words.read(reader, self.fields, between_slices)
                    )

    def _is_wanted(self) -> bool:
        return self._wanted


class _Words:
    """Every word of some fields with its counts, and the tables that find close ones."""

    #: The arrays of each table, as stored (:meth:`arrays`).
    TABLE_ARRAYS = ("numbers", "masks", "starts")
    TABLES = ("every_word", "targets")

    def __init__(
        self,
        words: PackedWords,
        occurrences: np.ndarray,
        docs: dict[str, np.ndarray],
        every_word: WordTable,
        targets: WordTable,
    ):
        self.words = words
        self.occurrences = occurrences
        self.docs = docs
        self.every_word = every_word
        #: Correction targets: 43,000 of 939,000 words at a million articles, kept
        #: decoded too (3 MiB).
        self.targets = targets

    @classmethod
    def counted(
        cls,
        words: PackedWords,
        occurrences: np.ndarray,
        docs: dict[str, np.ndarray],
        between_steps: Callable[[], None],
    ) -> _Words:
        """The words with their counts and the tables worked out from them.
        ``between_steps`` is called between the steps (a tenth of a second each at a
        million articles)."""
        occurrences = _narrowed(occurrences)
        lengths, masks = words.lengths_and_masks()
        between_steps()
        every_word = WordTable.of(words, np.arange(len(words), dtype=np.int32), lengths, masks)
        between_steps()
        frequent = np.flatnonzero(occurrences >= MIN_TARGET_OCCURRENCES).astype(np.int32)
        alphabetic = np.fromiter(map(str.isalpha, words.take(frequent)), bool, len(frequent))
        targets = WordTable.of(words, frequent[alphabetic], lengths, masks, as_strings=True)
        return cls(words, occurrences, docs, every_word, targets)

    @classmethod
    def stored(cls, reader: IndexReader, fields: tuple[str, ...]) -> _Words | None:
        """The words stored for the reader's commit by its build (``lexicon_file.py``),
        if their file is there and intact. The arrays are views of the file's bytes."""
        arrays = read_stored_lexicon(reader, _array_names(fields))
        return None if arrays is None else cls._of_arrays(arrays, fields)

    @classmethod
    def _of_arrays(cls, arrays: dict[str, np.ndarray], fields: tuple[str, ...]) -> _Words:
        words = PackedWords(arrays["words"].data, arrays["ends"])

        def table(name: str, as_strings: bool = False) -> WordTable:
            parts = (arrays[f"{name}.{part}"] for part in cls.TABLE_ARRAYS)
            return WordTable(words, *parts, as_strings=as_strings)

        return cls(
            words,
            arrays["occurrences"],
            {name: arrays[f"docs.{name}"] for name in fields},
            table("every_word"),
            table("targets", as_strings=True),
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """What :meth:`stored` reads back, by name."""
        tables = {name: getattr(self, name) for name in self.TABLES}
        return {
            "words": np.frombuffer(self.words.blob, dtype=np.uint8),
            "ends": self.words.ends,
            "occurrences": self.occurrences,
            **{f"docs.{name}": docs for name, docs in self.docs.items()},
            **{
                f"{name}.{part}": getattr(table, part)
                for name, table in tables.items()
                for part in self.TABLE_ARRAYS
            },
        }

    @classmethod
    def extended(
        cls,
        reader: IndexReader,
        fields: tuple[str, ...],
        between_slices: Callable[[], None],
    ) -> _Words | None:
        """The words of an update's commit: those stored for a run of its segments (the
        build's, which updates keep: ``lexicon_file.read_earlier_lexicon``) and the other
        segments' terms, read from their term tables, numbered and counted as :meth:`read`
        numbers and counts them all; None when no run's lexicon is stored.

        At a million articles reading every term table takes 1.7-2.6 s of CPU, which each
        process paid after every update; this costs the tables' building, 0.6-1.1 s."""
        earlier = read_earlier_lexicon(reader, _array_names(fields))
        if earlier is None:
            return None
        around: dict[str, list[list[FieldRecords]]] = {}  # before the run's segments, after
        for name in fields:
            around[name] = [[], []]
            for side, leaves in zip(around[name], (earlier.before, earlier.after), strict=True):
                for records in field_records(reader, name, leaves=leaves):
                    between_slices()
                    side.append(records)
        words = (
            word
            for sides in around.values()
            for side in sides
            for records in side
            for word in records.words
        )
        renumbering = _Renumbering(cls._of_arrays(earlier.arrays, fields), fields, words)
        between_slices()
        for name in fields:
            boost = reader.schema[name].format.field_boost or 1.0
            before, after = around[name]
            for records in before:
                renumbering.add(name, records, boost)
            renumbering.place_base(name)
            for records in after:
                renumbering.add(name, records, boost)
        return cls.counted(*renumbering.result(), between_slices)

    @classmethod
    def read(
        cls,
        reader: IndexReader,
        fields: tuple[str, ...],
        between_slices: Callable[[], None],
    ) -> _Words:
        """The words numbered in order of first sight, their counts summed in C.

        Each segment's stretch of a field is parsed at once (:func:`field_records`), and a
        word's number is found by one dictionary look-up run from C over the stretch (a
        Python loop per term took 1.7 s of CPU at a million articles, beside the first
        queries). ``between_slices`` is called before each slice of records and each
        step of building the tables."""
        numbers: dict[bytes, int] = {}
        rows, weights, docs, ends = [], [], [], []
        for name in fields:
            boost = reader.schema[name].format.field_boost or 1.0
            for records in field_records(reader, name):
                between_slices()
                rows.append(_numbered(numbers, records.words))
                weights.append(records.weights / boost)
                docs.append(records.docs)
            ends.append(sum(map(len, rows)))  # records read so far
        between_slices()
        words = PackedWords.of(numbers)
        del numbers
        every = _joined(rows, np.int64)
        articles = _joined(docs, np.float64)
        starts = [0, *ends[:-1]]
        return cls.counted(
            words,
            np.bincount(every, _joined(weights, np.float64), minlength=len(words)),
            {
                # Articles per word fit 32 bits: half the bytes of the counts' own type.
                name: np.bincount(
                    every[start:end], articles[start:end], minlength=len(words)
                ).astype(np.int32)
                for name, start, end in zip(fields, starts, ends, strict=True)
            },
            between_slices,
        )


class _Renumbering:
    """Numbers words as :meth:`_Words.read` does, for a commit where the words of a run of
    its segments are known already (``base``): the other segments' records are added
    field by field, segment by segment, and :meth:`place_base` is called where the run's
    segments would have been read.

    That reading numbers the words in order of first sight, field by field and, within a
    field, segment by segment. So where the run's segments are read in a field, the base
    words first seen in that field (those with no articles in the fields before it) are
    numbered in their base order, but for those another segment had already."""

    def __init__(self, base: _Words, fields: tuple[str, ...], words: Iterable[bytes]) -> None:
        """``words``: those of the other segments' records (a few, beside the base's)."""
        self.base = base
        self.fields = fields
        self.known = _numbers_in(base.words, words)
        #: The field each base word is first seen in.
        self.first_field = np.argmax(np.stack([base.docs[name] > 0 for name in fields]), axis=0)
        self.placed = np.full(len(base.words), -1, dtype=np.int64)
        self.added: dict[bytes, int] = {}
        self.taken = 0
        self.rows: dict[str, list[np.ndarray]] = {name: [] for name in fields}
        self.weights: dict[str, list[np.ndarray]] = {name: [] for name in fields}
        self.docs: dict[str, list[np.ndarray]] = {name: [] for name in fields}

    def place_base(self, field: str) -> None:
        """Number the base words first seen in ``field`` that no segment before the base's
        had, in their base order: as reading the base's segments would."""
        due = np.flatnonzero((self.first_field == self.fields.index(field)) & (self.placed < 0))
        self.placed[due] = np.arange(self.taken, self.taken + len(due))
        self.taken += len(due)

    def add(self, field: str, records: FieldRecords, boost: float) -> None:
        numbers = np.fromiter(map(self._number, records.words), np.int64, len(records.words))
        self.rows[field].append(numbers)
        self.weights[field].append(records.weights / boost)
        self.docs[field].append(records.docs)

    def _number(self, word: bytes) -> int:
        at = self.known.get(word)
        if at is None:
            number = self.added.get(word)
            if number is None:
                number = self.added[word] = self._next()
            return number
        if self.placed[at] < 0:
            self.placed[at] = self._next()
        return int(self.placed[at])

    def _next(self) -> int:
        self.taken += 1
        return self.taken - 1

    def result(self) -> tuple[PackedWords, np.ndarray, dict[str, np.ndarray]]:
        """The words in their numbers' order, their counts, and their articles by field."""
        size = self.taken
        rows = {name: _joined(parts, np.int64) for name, parts in self.rows.items()}
        occurrences = np.zeros(size)
        occurrences[self.placed] = self.base.occurrences
        every = _joined([rows[name] for name in self.fields], np.int64)
        weights = _joined([w for name in self.fields for w in self.weights[name]], np.float64)
        occurrences += np.bincount(every, weights, minlength=size)
        docs = {}
        for name in self.fields:
            counts = np.zeros(size, dtype=np.int64)
            counts[self.placed] = self.base.docs[name]
            found = np.bincount(rows[name], _joined(self.docs[name], np.float64), minlength=size)
            docs[name] = (counts + found.astype(np.int64)).astype(np.int32)
        numbers = np.concatenate([self.placed, np.fromiter(self.added.values(), np.int64)])
        order = np.empty(size, dtype=np.int64)
        order[numbers] = np.arange(size)  # the base's words, then those added
        words = self.base.words.extended(list(self.added)).reordered(order)
        return words, occurrences, docs


def _numbers_in(words: PackedWords, wanted: Iterable[bytes]) -> dict[bytes, int]:
    """The number in ``words`` of each of ``wanted`` that it holds: the many words are
    looked up in a dictionary of the few, from C (a dictionary of a million words took
    0.6 s at a million articles)."""
    index = {word: at for at, word in enumerate(dict.fromkeys(wanted))}
    listed = list(index)
    found = np.fromiter(map(index.get, words.encoded(), repeat(-1)), np.int64, len(words))
    held = np.flatnonzero(found >= 0)
    return dict(zip([listed[at] for at in found[held].tolist()], held.tolist(), strict=True))


def store_lexicon(reader: IndexReader, fields: tuple[str, ...] = WORD_FIELDS) -> bool:
    """Store the lexicon of the reader's commit beside its segments, so that readers load
    it rather than read the term tables (a build does, before it takes its manifest);
    False when no file could be written."""
    return write_stored_lexicon(reader, _Words.read(reader, fields, _go_on).arrays())


def _array_names(fields: tuple[str, ...]) -> list[str]:
    """The arrays of a stored lexicon of ``fields`` (:meth:`_Words.arrays`)."""
    tables = [f"{name}.{part}" for name in _Words.TABLES for part in _Words.TABLE_ARRAYS]
    return ["words", "ends", "occurrences", *(f"docs.{name}" for name in fields), *tables]


def _joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    """``parts`` as one array (an empty one of ``dtype`` when there are none)."""
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _go_on() -> None:
    """No pause between slices: a request is waiting for the words."""


def _numbered(numbers: dict[bytes, int], words: list[bytes]) -> np.ndarray:
    """The number of each of ``words`` (distinct), those not in ``numbers`` added to it
    in their order, numbered on from its end."""
    found = np.fromiter(map(numbers.get, words, repeat(-1)), dtype=np.int64, count=len(words))
    new = found < 0
    found[new] = np.arange(len(numbers), len(numbers) + int(new.sum()))
    numbers.update(zip(compress(words, new.tolist()), found[new].tolist(), strict=True))
    return found


def _narrowed(values: np.ndarray) -> np.ndarray:
    """``values`` as 32-bit floats when that keeps every one exactly (word counts do)."""
    narrow = values.astype(np.float32)
    return narrow if np.array_equal(narrow, values) else values


class FieldRecords(NamedTuple):
    """Consecutive terms of one field in one segment, in the term table's (sorted) order."""

    words: list[bytes]
    weights: np.ndarray
    docs: np.ndarray


def field_records(
    reader: IndexReader,
    field: str,
    slice_records: int = SLICE_RECORDS,
    *,
    leaves: Sequence[IndexReader] | None = None,
) -> Iterator[FieldRecords]:
    """The words (UTF-8 bytes), weights and article counts of ``field``, in slices of at
    most ``slice_records`` records.

    Whoosh 3's term table (the codec of the pinned Whoosh) is read directly, a stretch of
    the field's records at a time, each a key length and a value length, the key (the
    field's number and the term) and the value, where the weight and the article count
    sit at a fixed place, so nothing else of a record is decoded. Where each record starts
    is read from the table's own sorted index of record positions, so a slice is parsed
    by NumPy at once; the records must then follow each other exactly. ``leaves``: those
    of the reader's segments only."""
    segments = [segment for segment, _ in reader.leaf_readers()] if leaves is None else leaves
    for segment in segments:
        terms = segment._terms
        number = terms._fieldmap.get(field)
        if number is None:
            continue
        table = terms._tindex
        start = table.closest_key_pos(_FIELD_KEY.pack(number))
        if start is None:
            continue
        end = table.closest_key_pos(_FIELD_KEY.pack(number + 1))
        end = table.endofdata if end is None else end
        positions = _record_positions(table, start, end)
        bounds = [*positions[::slice_records].tolist(), end]
        for piece, (begin, stop) in enumerate(pairwise(bounds)):
            offsets = positions[piece * slice_records : (piece + 1) * slice_records] - begin
            yield _parsed(table.dbfile.get(begin, stop - begin), offsets)


def _record_positions(table: Any, start: int, end: int) -> np.ndarray:
    """Where each record between ``start`` and ``end`` starts: the slice of the table's
    index of positions (ascending, as keys are) between them."""
    first, last = (_position_number(table, position) for position in (start, end))
    dtype = np.dtype(_INDEX_TYPES[table.extras["indextype"]])
    size = dtype.itemsize
    data = table.dbfile.get(table.indexbase + first * size, (last - first) * size)
    return np.frombuffer(data, dtype=dtype).astype(np.int64)


def _position_number(table: Any, position: int) -> int:
    """How many records of ``table`` start before ``position`` (a binary search of its
    index, as Whoosh's own ``closest_key_pos`` does by key)."""
    lo, hi = 0, table.indexlen
    while lo < hi:
        mid = (lo + hi) // 2
        if table._get_pos(table.indexbase + mid * table.indexsize) < position:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _parsed(records: bytes, offsets: np.ndarray) -> FieldRecords:
    data = np.frombuffer(records, dtype=np.uint8)
    lengths = _gathered(data, offsets, _RECORD_LENGTHS_DTYPE)
    key_lengths = lengths["key"].astype(np.int64)
    record_ends = offsets + _RECORD_LENGTHS.size + key_lengths + lengths["value"]
    if len(offsets) and (
        offsets[0] != 0
        or not np.array_equal(offsets[1:], record_ends[:-1])
        or record_ends[-1] != len(records)
    ):
        raise ValueError("a term table's index of positions does not match its records")
    keys = offsets + _RECORD_LENGTHS.size
    counts = _gathered(data, keys + key_lengths + 1, _WEIGHT_AND_DOCS_DTYPE)
    word_starts = (keys + _FIELD_KEY.size).tolist()
    word_ends = (keys + key_lengths).tolist()
    return FieldRecords(
        [records[s:e] for s, e in zip(word_starts, word_ends, strict=True)],
        counts["weight"].astype(np.float64),
        counts["docs"].astype(np.float64),
    )


def _gathered(data: np.ndarray, offsets: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The ``dtype`` record at each of ``offsets`` in ``data`` (unaligned, so copied a
    byte column at a time: one index array of two-dimensional spans took ten times as
    long)."""
    gathered = np.empty((len(offsets), dtype.itemsize), dtype=np.uint8)
    for column in range(dtype.itemsize):
        gathered[:, column] = data[offsets + column]
    return gathered.view(dtype).reshape(len(offsets))


def character_mask(word: str) -> int:
    """One bit per character code modulo 32 (letters get a bit each)."""
    mask = 0
    for char in word:
        mask |= 1 << (ord(char) & 31)
    return mask
