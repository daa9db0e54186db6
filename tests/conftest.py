"""Shared fixtures: where the real corpora are, and tiny corpora written by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPORA_DIR = REPO_ROOT.parent / "shared" / "corpora"
SEEDS_DIR = REPO_ROOT / "seeds"


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    """The shared real corpora; tests that need them skip cleanly where they are absent."""
    if not CORPORA_DIR.is_dir():
        pytest.skip(f"real corpora not found at {CORPORA_DIR}")
    return CORPORA_DIR


@pytest.fixture(scope="session")
def reuters_dir(corpora_dir: Path) -> Path:
    path = corpora_dir / "reuters21578"
    if not any(path.glob("reut2-*.sgm")):
        pytest.skip(f"Reuters-21578 not found at {path}")
    return path


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS_DIR
