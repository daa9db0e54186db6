"""The parts of NLTK searchsvc uses, imported without the SciPy statistics NLTK loads.

``import nltk`` (which importing any of its modules runs first) loads
``nltk.collocations``, whose association measures import ``scipy.stats`` wherever SciPy
is installed: over a second of every process start, before a build's workers can start
or a server can answer, for collocation tests searchsvc never runs. NLTK ships a
fallback for a machine without SciPy, so while NLTK first loads SciPy is made
unimportable (an entry of None in ``sys.modules``), and NLTK takes that fallback; SciPy
imports as usual afterwards. A process that has loaded NLTK or SciPy already is left as
it is.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

_BLOCKED = "scipy"


def import_without_scipy(module: str) -> ModuleType:
    """``module`` of NLTK, imported as if SciPy were not installed if NLTK is not loaded yet."""
    if "nltk" in sys.modules or _BLOCKED in sys.modules:
        return importlib.import_module(module)
    sys.modules[_BLOCKED] = None  # type: ignore[assignment]
    try:
        return importlib.import_module(module)
    finally:
        del sys.modules[_BLOCKED]


SnowballStemmer = import_without_scipy("nltk.stem.snowball").SnowballStemmer
RegexpTokenizer = import_without_scipy("nltk.tokenize").RegexpTokenizer
