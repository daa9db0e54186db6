"""NLTK loads without SciPy's statistics, and SciPy still loads after it."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("scipy")


def run_fresh(code: str) -> str:
    """``code`` run by a new interpreter (a process that has loaded neither NLTK nor SciPy)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_loading_the_analysis_does_not_load_scipy() -> None:
    loaded = run_fresh("import sys, searchsvc.analysis; print('scipy' in sys.modules)")
    assert loaded == "False"


def test_scipy_loads_as_usual_after_nltk() -> None:
    code = (
        "import searchsvc.nltk_parts, scipy.stats, nltk; "
        "print(scipy.stats.fisher_exact([[1, 2], [3, 4]])[1] > 0, nltk.SnowballStemmer is not None)"
    )
    assert run_fresh(code) == "True True"


def test_a_process_with_scipy_loaded_keeps_it() -> None:
    code = (
        "import sys, scipy; from searchsvc import nltk_parts; "
        "print(sys.modules['scipy'] is scipy, nltk_parts.SnowballStemmer('english').stem('banks'))"
    )
    assert run_fresh(code) == "True bank"
