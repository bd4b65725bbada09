"""Anchored splits of Ω (notes/derivations.md §9.2): every user and item keeps a rating in the fitting part.

1. Shuffle Ω with the seed.
2. In shuffled order, the first rating of each user and the first rating of
   each item are *anchors* (one rating can anchor both; at most n+m anchors).
3. The first v = min(round(ρ|Ω|), #non-anchors) non-anchors, in shuffled order,
   are held out; everything else is for fitting.

So users and items with a single rating are never held out, and the held-out
share is exactly ρ (up to rounding) whenever that is feasible.  The split is not
uniformly random: ratings of rare users and items are held out less often.
"""

from __future__ import annotations

import numpy as np

from ._validate import check_data
from .data import Ratings

__all__ = ["anchors", "train_test_split", "kfold"]


def anchors(data: Ratings, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """(anchor rows, non-anchor rows in shuffled order) of ``data`` for a seed (notes/derivations.md §9.2 steps 1–2)."""
    data = check_data(data)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(data))
    first_user = np.unique(data.users[perm], return_index=True)[1]
    first_item = np.unique(data.items[perm], return_index=True)[1]
    is_anchor = np.zeros(len(data), dtype=bool)
    is_anchor[first_user] = True
    is_anchor[first_item] = True
    return np.sort(perm[is_anchor]), perm[~is_anchor]


def train_test_split(data: Ratings, test_size: float = 0.2, seed=0) -> tuple[Ratings, Ratings]:
    """(train, test) by the anchored split; both keep n, m and the raw ids of ``data``.

    ``test_size`` is the share ρ of ratings to hold out (0 < ρ < 1).
    """
    data = check_data(data)
    if not (isinstance(test_size, (int, float)) and 0 < test_size < 1):
        raise ValueError(f"test_size must be a fraction strictly between 0 and 1, got {test_size!r}.")
    anchor_rows, free = anchors(data, seed)
    v = min(int(round(test_size * len(data))), len(free))
    if v == 0:
        raise ValueError(
            f"cannot hold out any rating: all {len(data)} ratings are anchors (each user and item "
            "needs one training rating). Use more data or a larger test_size.")
    test_rows = np.sort(free[:v])
    train_rows = np.sort(np.concatenate([anchor_rows, free[v:]]))
    return data.subset(train_rows), data.subset(test_rows)


def kfold(data: Ratings, k: int = 5, seed=0) -> list[tuple[Ratings, Ratings]]:
    """k (fit, validation) pairs: the non-anchors are cut into k folds, anchors always fit (notes/derivations.md
    §9.2)."""
    data = check_data(data)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"k must be an integer >= 2, got {k!r}.")
    anchor_rows, free = anchors(data, seed)
    if len(free) < k:
        raise ValueError(f"only {len(free)} ratings can be validated (the rest are anchors), "
                         f"fewer than k={k} folds; use a smaller k or more data.")
    folds = np.array_split(free, k)
    out = []
    for j in range(k):
        val = np.sort(folds[j])
        fit = np.sort(np.concatenate([anchor_rows] + [folds[t] for t in range(k) if t != j]))
        out.append((data.subset(fit), data.subset(val)))
    return out
