"""nbval over the lectures: notebooks that read MovieLens, or run Spark, are skipped with the reason where those
are absent (Spark: pyspark, the [spark] extra, and a Java runtime; `make test-spark` installs both)."""

import os
from pathlib import Path

import pytest

from mfcore import spark as mfspark

ROOT = Path(__file__).resolve().parents[1]


def _movielens_available() -> bool:
    folder = Path(os.environ.get("MFCORE_DATA", ROOT.parent / "shared" / "data"))
    return (folder / "ml-latest-small.zip").is_file()


def _spark_reason() -> str | None:
    """Why the Spark lecture cannot run here; under make test-spark (MFCORE_REQUIRE_SPARK=1) only a missing Java."""
    reason = mfspark.unavailable()
    if reason and os.environ.get("MFCORE_REQUIRE_SPARK") == "1" and "pyspark" in reason:
        return None                                   # let it run and fail: make test-spark installed pyspark
    return reason and f"Spark not available ({reason}); make test-spark runs this notebook"


def pytest_collection_modifyitems(config, items):
    movielens = None if _movielens_available() else (
        "MovieLens not available: set MFCORE_DATA to a folder holding ml-latest-small.zip "
        "to run the lecture notebooks that read it")
    spark = _spark_reason()
    for item in items:
        path = Path(str(item.fspath))
        if path.suffix != ".ipynb":
            continue
        text = path.read_text(encoding="utf-8")
        reason = (movielens if "load_movielens" in text else None) or (spark if "mfcore.spark" in text else None)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
