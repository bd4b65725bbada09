"""nbval over the lectures: notebooks that read MovieLens are skipped, with the reason, where it is absent."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _movielens_available() -> bool:
    folder = Path(os.environ.get("MFCORE_DATA", ROOT.parent / "shared" / "data"))
    return (folder / "ml-latest-small.zip").is_file()


def pytest_collection_modifyitems(config, items):
    if _movielens_available():
        return
    reason = ("MovieLens not available: set MFCORE_DATA to a folder holding ml-latest-small.zip "
              "to run the lecture notebooks that read it")
    for item in items:
        path = Path(str(item.fspath))
        if path.suffix == ".ipynb" and "load_movielens" in path.read_text(encoding="utf-8"):
            item.add_marker(pytest.mark.skip(reason=reason))
