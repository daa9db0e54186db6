"""The requests a process is answering now, which its background work gives way to.

A server prepares each new commit on a background thread (its spelling lexicon takes a
second of CPU at a million articles). Python runs one thread at a time, and a thread that
waits for a read or a lock gets the interpreter back only between the other thread's
slices of work: a first query after opening took twice to three times as long beside
that thread. So the background work runs in short slices and, while a request runs,
waits before each one until the requests are done, or for :data:`LONGEST_PAUSE` at most,
so that under steady traffic it still finishes (in about 7 seconds at a million articles,
taking a sixth of the interpreter at most) rather than being left to the first request
that needs it.

The longest pause was measured on the first pass of the benchmark's query set at a million
articles, queries back to back (``bench_worker.py query --rounds 1``, two rounds each):
at 0.2 s the lexicon was not ready for the first misspelled query in one round of two,
which waited 343 ms for it; at 0.05 s it was ready in both, the pass's p50 and p99 no
worse; at 0.02 s one-word queries took 1.3 to 1.5 times as long (p50).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: How long background work waits for running requests before its next slice, at most.
LONGEST_PAUSE = 0.05
#: How often a paused slice asks whether a request needs it done at once.
_WANTED_CHECK = 0.01


class RequestsInFlight:
    """Counts the requests running now; background work pauses while there are any."""

    def __init__(self, longest_pause: float | None = LONGEST_PAUSE) -> None:
        """``longest_pause``: ``None`` waits for as long as requests run."""
        self.longest_pause = longest_pause
        self._running = 0
        self._changed = threading.Condition()

    @contextmanager
    def running(self) -> Iterator[None]:
        """Held for the length of one request."""
        with self._changed:
            self._running += 1
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                if not self._running:
                    self._changed.notify_all()

    def wait_for_idle(self, give_up: Callable[[], bool]) -> None:
        """Wait until no request runs, however long that takes, unless ``give_up()``: for
        work no request will ever wait for."""
        self._wait(give_up, None)

    def pause(self, wanted: Callable[[], bool]) -> None:
        """Wait until no request runs (or the longest pause is over), unless ``wanted()``:
        then a request needs the work itself and waits for it, so it must go on at once."""
        self._wait(wanted, self.longest_pause)

    def _wait(self, go_on: Callable[[], bool], longest: float | None) -> None:
        """While a request runs and not ``go_on()``, for ``longest`` seconds at most."""
        waited = 0.0
        with self._changed:
            while self._running and not go_on():
                if longest is not None and waited >= longest:
                    return
                self._changed.wait(_WANTED_CHECK)
                waited += _WANTED_CHECK
