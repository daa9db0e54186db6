"""How a serving process asks the C allocator to give back the memory of large arrays.

A search at a million articles makes NumPy temporaries of several MiB (scores, masks, merged
postings) and frees them when it ends. glibc's ``malloc`` serves blocks above its *mmap
threshold* with their own mapping, returned to the system on ``free``; but each time such a
block is freed it raises the threshold to that block's size (up to 32 MiB on 64-bit), so that
from then on arrays of that size come from the heap. Freed there, they stay in the process,
split and merged with the small objects around them, and the worker's RSS after the same
queries varied by over 100 MiB from one run to the next (docs/benchmarks.md, "Serving memory").

Setting the threshold explicitly turns that adjustment off: every block above it is mapped on
its own and unmapped when freed, so what a worker keeps is what it still holds (its cache, its
columns) plus a heap of small objects. The cost is a fresh mapping, and its page faults, per
large array, which is small beside the work that fills it (measured in
docs/benchmarks.md).

The heap of small objects still keeps the free space between the ones that live on (cache
entries, parsed queries), and ``free`` only gives back its top. So after a request, when the
process's private memory has grown by :data:`TRIM_AFTER_GROWTH` since the last trim,
``malloc_trim`` hands the heap's free pages back. A trim costs milliseconds at a million
articles, and the pages it returns are faulted in again by the requests that reuse them, so
it runs at most once every :data:`TRIM_EVERY_REQUESTS` requests: trimming after every
growth took 167 trims in one pass over the query set, and 1.4 times the CPU per query.

Only glibc has these knobs (and ``mallopt``'s numbering is glibc's); on other C libraries
nothing is changed.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading

#: Blocks of this size or more get their own mapping and return to the system when freed.
#: 1 MiB: a column or score array at 100,000 articles and up; below it, the heap reuses
#: blocks without a system call or page faults.
MMAP_THRESHOLD = 2**20
#: Private memory growth (bytes) since the last trim that makes the next request end with one.
TRIM_AFTER_GROWTH = 32 * 2**20
#: The fewest requests between two trims.
TRIM_EVERY_REQUESTS = 64
#: glibc's ``mallopt`` parameter number for the threshold (``M_MMAP_THRESHOLD`` in malloc.h).
_M_MMAP_THRESHOLD = -3


@functools.cache
def tune_allocator() -> dict[str, int] | None:
    """Fix the mmap threshold once per process; return what was set (``None``: not glibc,
    nothing set). Served processes call it as they start serving; ``/healthz`` reports it."""
    if not _glibc():
        return None
    if not _libc().mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD):
        return None
    return {"mmap_threshold": MMAP_THRESHOLD}


class _Trimming:
    """The private memory after the last trim, and the requests since, per process (a fork
    starts afresh)."""

    lock = threading.Lock()
    pid = 0
    private_bytes = 0
    requests = 0


def release_freed_memory() -> bool:
    """Called after each request: give the heap's free pages back to the system if private
    memory grew by :data:`TRIM_AFTER_GROWTH` since the last trim, at most once every
    :data:`TRIM_EVERY_REQUESTS` requests; ``True`` when it trimmed. Otherwise it costs a
    counter, and a read of ``/proc/self/statm`` once the requests are due."""
    if tune_allocator() is None:
        return False
    with _Trimming.lock:
        if _Trimming.pid != os.getpid():  # the first request of this process: a baseline
            _Trimming.pid, _Trimming.private_bytes = os.getpid(), _private_bytes()
            _Trimming.requests = 0
            return False
        _Trimming.requests += 1
        if _Trimming.requests < TRIM_EVERY_REQUESTS:
            return False
        if _private_bytes() < _Trimming.private_bytes + TRIM_AFTER_GROWTH:
            return False
        _libc().malloc_trim(0)
        _Trimming.private_bytes, _Trimming.requests = _private_bytes(), 0
        return True


def _private_bytes() -> int:
    """Resident memory that is not shared file pages (the index's mapped files are not ours
    to give back): ``resident - shared`` from ``/proc/self/statm``, in bytes."""
    fd = os.open("/proc/self/statm", os.O_RDONLY)
    try:
        fields = os.read(fd, 128).split()
    finally:
        os.close(fd)
    return (int(fields[1]) - int(fields[2])) * os.sysconf("SC_PAGE_SIZE")


def allocator_settings() -> dict[str, int] | None:
    """What :func:`tune_allocator` set in this process, if it ran (``None`` otherwise)."""
    return tune_allocator() if tune_allocator.cache_info().currsize else None


@functools.cache
def _libc() -> ctypes.CDLL:
    """The C library this process runs on (``None``: the symbols already loaded)."""
    return ctypes.CDLL(None)


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (ValueError, OSError, AttributeError):  # not a name this platform knows
        return False
