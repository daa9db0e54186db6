"""How a serving process sets up the C allocator: one heap for all its threads.

glibc's ``malloc`` gives each thread that allocates while another holds the heap's lock an
arena of its own (up to 8 per core), and memory freed in an arena stays there for that arena's
later use. A serving process has several threads (gunicorn's request threads, the background
thread that reads the spelling lexicon), but the interpreter lock lets only one run Python at a
time, so extra arenas buy little concurrency and each keeps its own free memory: at a million
articles the lexicon thread's arena held 102 MiB, 55 of them free, that the request threads
could not reuse. ``M_ARENA_MAX`` = 1 keeps every thread on the main heap.

Measured at 1M (docs/benchmarks.md, "Serving memory per worker"): a worker holds about 60 MiB
less after the same passes (782 to 721), for 1.04 times the CPU per query in one run on a
loaded machine, within the noise. Also measured, and not taken
because they slow search: a fixed ``M_MMAP_THRESHOLD`` (large arrays mapped and unmapped each
time: 160 MiB less, 1.2 times the CPU per query) and ``malloc_trim`` after the heap grows
(the pages it returns are faulted in again by the next requests).

Kept instead: ``malloc_trim`` once after each commit's lexicon is read
(:func:`release_free_memory`).

Where the free heap comes from (1M, query set without filters, ``bench_worker.py`` reports
``heap``): the query cache. With its budget at 1 MiB a pass leaves 32 MiB free in a 165 MiB
heap; at the default 128 MiB, 160 to 185 MiB free in a 415 to 440 MiB heap, although no query
holds more than 73 MiB at its peak (tracemalloc). The cache's entries are made among each
request's temporaries and dropped in least-recently-used order, so they leave holes all
over the heap. Also measured, and not taken: copying each cached array of 128 KiB or more
into a mapping of its own (566 MiB instead of 635, but 1.19 times the CPU of a warm pass:
the cache takes in 2.8 GB per pass of the query set, each copied and faulted in); a fixed
``M_MMAP_THRESHOLD`` of 3 or 4 MiB (43 MiB less, 1.13 to 1.16 times the mean CPU per
query) or of 7.5 MiB (4 MiB less); a fixed ``M_TRIM_THRESHOLD`` of 1 MiB (6 MiB less).
Lowering the threshold only while a cached value is made does nothing: glibc maps a block
apart only when no free chunk of the heap fits it.

Only glibc has this knob (and ``mallopt``'s numbering is glibc's); on other C libraries
nothing is changed.
"""

from __future__ import annotations

import ctypes
import functools
import os

#: What a serving process sets, by name (glibc's ``M_`` names in lower case): value.
SETTINGS = {"arena_max": 1}
#: glibc's ``mallopt`` parameter numbers (malloc.h).
_PARAMETERS = {"arena_max": -8}


@functools.cache
def tune_allocator() -> dict[str, int] | None:
    """Make :data:`SETTINGS` once per process, before its threads allocate; return what was
    set (``None``: not glibc, nothing set). Served processes call it as they start serving;
    ``/healthz`` reports it."""
    if not _glibc():
        return None
    libc = ctypes.CDLL(None)
    applied = {
        name: value for name, value in SETTINGS.items() if libc.mallopt(_PARAMETERS[name], value)
    }
    return applied or None


def release_free_memory() -> bool:
    """Hand the heap's free pages back to the system (glibc's ``malloc_trim``); False where
    the C library has no such call.

    For once-per-commit work that leaves much garbage behind, such as reading the spelling
    lexicon (at a million articles a table of 940,000 words and their counts, about 90 MiB
    freed at the end): the allocator keeps those pages, and the later requests, which
    reuse the freed chunks first, need few of them back. Not after each request: pages
    given back there are faulted in again by the next ones (see above).
    """
    if not _glibc():
        return False
    ctypes.CDLL(None).malloc_trim(0)
    return True


def allocator_settings() -> dict[str, int] | None:
    """What :func:`tune_allocator` set in this process, if it ran (``None`` otherwise)."""
    return tune_allocator() if tune_allocator.cache_info().currsize else None


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (ValueError, OSError, AttributeError):  # not a name this platform knows
        return False
