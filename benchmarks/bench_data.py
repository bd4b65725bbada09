"""What the speed benchmarks share: their data (synthetic 100k and 1M ratings, MovieLens where it is available) and
the timer."""

from __future__ import annotations

import statistics
import time

import mfcore


def datasets(quick: bool) -> list[tuple[str, mfcore.Ratings]]:
    """(name, training part) pairs: 80% of each set (anchored split, seed 0); ``quick`` leaves out the 1M set."""
    sets = [("synthetic 100k", mfcore.synthetic_ratings(seed=0))]
    if not quick:
        sets.append(("synthetic 1M", mfcore.synthetic_ratings(6000, 4000, 1_000_000, seed=0)))
    try:
        sets.append(("ml-latest-small", mfcore.load_movielens("ml-latest-small")))
    except (FileNotFoundError, ValueError) as exc:
        print(f"(MovieLens skipped: {str(exc).splitlines()[0][:120]})")
    return [(name, mfcore.train_test_split(d, 0.2, seed=0)[0]) for name, d in sets]


def median_time(fn, repeat: int) -> float:
    """The median wall time of ``repeat`` calls of ``fn()``, in seconds (medians: the machines are noisy)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)
