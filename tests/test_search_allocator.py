"""The C allocator settings of a serving process (``search/allocator.py``), observed in a
fresh interpreter each, so that the test process's own allocator is left as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from searchsvc.search.allocator import MMAP_THRESHOLD, TRIM_AFTER_GROWTH, TRIM_EVERY_REQUESTS

glibc_only = pytest.mark.skipif(
    not hasattr(os, "confstr") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="the allocator is only tuned on glibc",
)

#: Counts the blocks glibc serves with their own mapping (``mallinfo2().hblks``) while an
#: array just over the threshold is alive, after a larger one was freed: glibc's default
#: raises its threshold on that free, so the smaller array then comes from the heap.
_COUNT_MAPPED_BLOCKS = """
import ctypes, json, sys
import numpy as np

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
    ).split()]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "serving":
    from pathlib import Path
    from searchsvc.search.ranking import RankingConfig
    from searchsvc.search.serving import ServingIndex
    ServingIndex(Path("unused"), RankingConfig())
np.ones({big}, dtype=np.uint8)  # allocated and freed at once
before = libc.mallinfo2().hblks
array = np.ones({just_over}, dtype=np.uint8)
print(json.dumps({{"new_mapped_blocks": libc.mallinfo2().hblks - before}}))
"""


def _mapped_blocks(mode: str) -> int:
    script = _COUNT_MAPPED_BLOCKS.format(big=8 * MMAP_THRESHOLD, just_over=2 * MMAP_THRESHOLD)
    return _run(script, mode)["new_mapped_blocks"]


def _run(script: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    return json.loads(done.stdout)


@glibc_only
def test_a_serving_index_fixes_the_threshold_so_large_arrays_stay_mapped():
    assert _mapped_blocks("plain") == 0  # glibc's own rule: from the heap, kept after free
    assert _mapped_blocks("serving") == 1


@glibc_only
def test_tuning_says_what_it_set_and_is_reported_once_applied():
    script = """
    import json
    from searchsvc.search.allocator import allocator_settings, tune_allocator
    before = allocator_settings()
    applied = tune_allocator()
    print(json.dumps({"before": before, "applied": applied, "after": allocator_settings()}))
    """
    outcome = _run(script)
    assert outcome["before"] is None
    assert outcome["applied"] == outcome["after"] == {"mmap_threshold": MMAP_THRESHOLD}


@glibc_only
def test_the_heap_is_trimmed_only_after_it_grew_and_enough_requests_went_by():
    script = f"""
    import json
    from searchsvc.search.allocator import release_freed_memory
    def requests(count):
        return [release_freed_memory() for _ in range(count)]
    def grow():
        return [bytes(1000) for _ in range({2 * TRIM_AFTER_GROWTH // 1000})]
    baseline = requests(1)
    unchanged = requests({TRIM_EVERY_REQUESTS})
    held = [grow()]
    grown = requests(1)
    held.append(grow())
    too_soon = requests({TRIM_EVERY_REQUESTS - 1})
    due = requests(1)
    print(json.dumps([baseline, unchanged, grown, too_soon, due]))
    """
    baseline, unchanged, grown, too_soon, due = _run(script)
    assert baseline == [False]
    assert not any(unchanged)
    assert grown == [True]
    assert not any(too_soon)
    assert due == [True]
