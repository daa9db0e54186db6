"""The C allocator settings of a serving process (``search/allocator.py``), observed in a
fresh interpreter each, so that the test process's own allocator is left as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from searchsvc.search.allocator import SETTINGS

glibc_only = pytest.mark.skipif(
    not hasattr(os, "confstr") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="the allocator is only tuned on glibc",
)

#: Threads allocate in turn, then glibc's ``malloc_stats`` lists one "Arena N:" per arena.
_COUNT_ARENAS = """
import ctypes, sys, threading
import numpy as np

if sys.argv[1] == "serving":
    from pathlib import Path
    from searchsvc.search.ranking import RankingConfig
    from searchsvc.search.serving import ServingIndex
    ServingIndex(Path("unused"), RankingConfig())
held = []
def allocate():
    held.extend(np.ones(100) for _ in range(1000))
threads = [threading.Thread(target=allocate) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
ctypes.CDLL(None).malloc_stats()
"""


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


@glibc_only
def test_a_serving_index_keeps_every_thread_on_one_heap():
    assert _run(_COUNT_ARENAS, "plain").stderr.count("Arena ") > 1  # glibc's own rule
    assert _run(_COUNT_ARENAS, "serving").stderr.count("Arena ") == 1


@glibc_only
def test_tuning_says_what_it_set_and_is_reported_once_applied():
    script = """
    import json
    from searchsvc.search.allocator import allocator_settings, tune_allocator
    before = allocator_settings()
    applied = tune_allocator()
    print(json.dumps({"before": before, "applied": applied, "after": allocator_settings()}))
    """
    outcome = json.loads(_run(script).stdout)
    assert outcome["before"] is None
    assert outcome["applied"] == outcome["after"] == SETTINGS == {"arena_max": 1}


#: Chunks of 64 KiB (on the heap, below glibc's mapping threshold) in pairs; freeing every
#: other one leaves holes in the middle of the heap that only ``malloc_trim`` gives back.
_HOLES_THEN_RELEASE = """
import json, sys
from pathlib import Path
from searchsvc.search.allocator import release_free_memory

def anonymous_kib():
    lines = Path("/proc/self/smaps_rollup").read_text().splitlines()
    return int(next(line for line in lines if line.startswith("Anonymous:")).split()[1])

chunks = [bytearray(b"x" * 65536) for _ in range(3200)]
del chunks[::2]
before = anonymous_kib()
released = release_free_memory()
print(json.dumps({"released": released, "freed_kib": before - anonymous_kib()}))
"""


@glibc_only
@pytest.mark.skipif(not os.path.exists("/proc/self/smaps_rollup"), reason="Linux's /proc only")
def test_releasing_free_memory_gives_back_the_holes_freed_objects_leave():
    outcome = json.loads(_run(_HOLES_THEN_RELEASE).stdout)
    assert outcome["released"] is True
    assert outcome["freed_kib"] > 50 * 1024  # of the 100 MiB freed in the middle of the heap
