"""Ω as a stream of samples, shared by SGD and mini-batch GD (notes/derivations.md §6.1–6.5).

The shuffle of Algorithm 5 line 5, and the per-sample penalty coefficients λ_u, λ_i that make
the mean of the per-sample gradients the gradient of F (``"mean"``) or G (``"weighted"``).
"""

from __future__ import annotations

import numpy as np

from ._validate import check_lam, check_scalar
from .data import Ratings
from .objectives import penalty_weights

__all__ = ["sample_penalty_coefficients", "shuffled", "biases_in_place"]


def sample_penalty_coefficients(data: Ratings, lam: float, reg_mode: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Per-sample penalty coefficients λ|Ω|w_u/|I_u| and λ|Ω|w_i/|U_i| (0 for unseen rows), notes/derivations.md
    §6.3–6.4."""
    w_user, w_item = penalty_weights(data, reg_mode)
    scale = lam * len(data)

    def per_row(w, counts):
        out = np.zeros(len(counts))
        seen = counts > 0
        out[seen] = scale * w[seen] / counts[seen]
        return out

    return per_row(w_user, data.user_counts), per_row(w_item, data.item_counts)


def shuffled(data: Ratings, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """"Shuffle the dataset" (Algorithm 5 line 5): contiguous copies of u, i, r in a fresh random order."""
    perm = rng.permutation(len(data))
    return data.users[perm], data.items[perm], data.ratings[perm]


def biases_in_place(b, c, data: Ratings, mu, lam: float, lam_b):
    """(b, c, μ, λ_b, biased) for an in-place epoch: the given biases (writeable float64 arrays of shapes (n,), (m,))
    or, for the plain model, zeros that stay 0 (notes/derivations.md §11.4)."""
    if b is None and c is None:
        return np.zeros(data.n_users), np.zeros(data.n_items), 0.0, 0.0, False
    for name, v, n in (("b", b, data.n_users), ("c", c, data.n_items)):
        if not (isinstance(v, np.ndarray) and v.dtype == np.float64 and v.shape == (n,) and v.flags.writeable
                and v.flags.c_contiguous):
            raise ValueError(f"{name} is updated in place, so give both biases as writeable float64 arrays of shape "
                             f"({n},) (e.g. np.zeros({n})), got {type(v).__name__}"
                             f"{f' of shape {v.shape}' if hasattr(v, 'shape') else ''}.")
    mu = data.mean if mu is None else check_scalar(mu, "mu (μ)")
    return b, c, mu, (lam if lam_b is None else check_lam(lam_b, "lam_b (λ_b)")), True
