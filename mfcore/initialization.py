"""Initial factors (notes/derivations.md §8.1): P⁽⁰⁾ then Q⁽⁰⁾ i.i.d. N(0, σ₀²) from ``default_rng(seed)``.

The same seed and (n, m, K) give the same start for every solver; the same
generator then supplies the solvers' shuffles.  Unseen rows start at 0, their
exact optimum (without this SGD would never move them).
"""

from __future__ import annotations

import numpy as np

from ._validate import check_data, check_K, check_scalar
from .data import Ratings

__all__ = ["init_factors"]


def init_factors(data: Ratings, K: int, seed=0, sigma0: float | str = 0.1,
                 zero_unseen: bool = True) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    """(P⁽⁰⁾, Q⁽⁰⁾, rng): Gaussian factors with std σ₀, P drawn first, unseen rows set to 0.

    ``sigma0`` is a number (default 0.1), ``"unit"`` (1/√K: row norms ≈ 1) or
    ``"scale"`` ((s²/K)^{1/4} with s the RMS rating, so initial predictions have variance s²).
    The returned generator continues the same stream (for shuffles).
    """
    data = check_data(data)
    K = check_K(K)
    if sigma0 == "unit":
        sigma0 = 1.0 / np.sqrt(K)
    elif sigma0 == "scale":
        sigma0 = (float(np.mean(data.ratings ** 2)) / K) ** 0.25
    elif isinstance(sigma0, str):
        raise ValueError(f"sigma0 must be a number >= 0, 'unit' or 'scale', got {sigma0!r}.")
    else:
        sigma0 = check_scalar(sigma0, "sigma0", low=0, hint=" (or 'unit' or 'scale')")
    rng = np.random.default_rng(seed)
    P = sigma0 * rng.standard_normal((data.n_users, K))
    Q = sigma0 * rng.standard_normal((data.n_items, K))
    if zero_unseen:
        P[data.user_counts == 0] = 0.0
        Q[data.item_counts == 0] = 0.0
    return P, Q, rng
