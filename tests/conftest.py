"""Shared fixtures: small random problems as in notes/checks.md and the MovieLens folder.

Helpers that test modules import live in ``problems.py`` (not here: lectures/ has a conftest
too, and ``from conftest import ...`` would pick whichever was imported first).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


from problems import ROOT, random_problem, rel  # noqa: F401  (shared helpers live in problems.py)


@pytest.fixture
def small():
    """n=5, m=4, K=3, ~60% observed, Θ ~ N(0, 0.5²): the notes/derivations.md §2.4 gradient-check problem."""
    return random_problem()


@pytest.fixture
def movielens_dir():
    """The folder holding ml-latest-small.zip ($MFCORE_DATA, else ../shared/data); skip if absent."""
    folder = Path(os.environ.get("MFCORE_DATA", ROOT.parent / "shared" / "data"))
    if not (folder / "ml-latest-small.zip").is_file():
        pytest.skip(f"MovieLens not available: {folder}/ml-latest-small.zip is absent "
                    "(set MFCORE_DATA to a folder holding it)")
    return folder
