"""Helpers shared by the test modules: the repository root and the small random problems of notes/checks.md"""

from pathlib import Path

import numpy as np

import mfcore

ROOT = Path(__file__).resolve().parents[1]


def rel(a, b) -> float:
    """Relative difference ‖a − b‖ / max(‖a‖, ‖b‖, 1e-300) (notes/checks.md)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-300))


def random_problem(n=5, m=4, K=3, density=0.6, seed=0, scale=0.5, unseen_user=False, unseen_item=False,
                   noise=0.1):
    """A small problem of notes/checks.md: Bernoulli(density) pairs, ratings from a random rank-K model + noise.

    Returns (data, P, Q) with P, Q i.i.d. N(0, scale²), a non-stationary point.
    With ``unseen_user``/``unseen_item`` the last user/item has no rating.
    """
    rng = np.random.default_rng(seed)
    mask = rng.random((n, m)) < density
    if unseen_user:
        mask[-1, :] = False
    if unseen_item:
        mask[:, -1] = False
    if not mask.any():
        mask[0, 0] = True
    users, items = np.nonzero(mask)
    Pt = rng.standard_normal((n, K))
    Qt = rng.standard_normal((m, K))
    r = np.einsum("ij,ij->i", Pt[users], Qt[items]) + noise * rng.standard_normal(len(users))
    data = mfcore.Ratings(users, items, r, n, m)
    P = scale * rng.standard_normal((n, K))
    Q = scale * rng.standard_normal((m, K))
    return data, P, Q
