"""Stochastic gradient descent, the slides' Algorithm 5 (notes/derivations.md §6.1–6.4).

One epoch shuffles Ω and visits every sample once.  For a sample (u, i) the
item row is updated first and the user update then uses the **new** q_i
(slides' lines 8 and 10, ``order="sequential"``)::

    e  = r_ui − p_uᵀq_i,    q_i ← q_i + 2α(e p_u − λ_i q_i)
    e' = r_ui − p_uᵀq_i,    p_u ← p_u + 2α(e' q_i − λ_u p_u)

``order="simultaneous"`` uses the old values in both (Funk-style SGD).

The per-sample penalty coefficients λ_u, λ_i depend on the objective
(notes/derivations.md §6.4): ``reg_mode="weighted"`` is the slides' SGD (λ_u = λ, it minimises
G_λ), ``reg_mode="mean"`` uses λ|Ω|/|I_u| and λ|Ω|/|U_i|, the unbiased sample of
eq. (1).  Unseen rows are never sampled, so they keep their value (0, §8.1).
"""

from __future__ import annotations

import numbers

import numpy as np
from numba import njit

from ._validate import check_alpha, check_data, check_factors, check_finite, check_lam, check_reg_mode
from .data import Ratings
from .gradient import penalty_weights
from .objective import FASTMATH

__all__ = ["sgd_update", "sgd_epoch_kernel", "sgd_epoch", "sample_penalty_coefficients"]

ORDERS = ("sequential", "simultaneous")


@njit(cache=True, fastmath=FASTMATH, inline="always")      # inlined into the sweep: 25-30% faster
def sgd_update(p_u, q_i, r_ui, alpha, lam_u, lam_i, sequential=True):
    """One SGD step on sample (u, i), in place: item then user update (Algorithm 5 lines 8, 10; notes/derivations.md §6.2)."""
    K = p_u.shape[0]
    e = r_ui
    for f in range(K):
        e -= p_u[f] * q_i[f]
    if sequential:
        e_new = r_ui                                   # e' = r_ui − p_uᵀq_i(new), built while q_i changes
        for f in range(K):
            q_i[f] += 2.0 * alpha * (e * p_u[f] - lam_i * q_i[f])
            e_new -= p_u[f] * q_i[f]
        for f in range(K):
            p_u[f] += 2.0 * alpha * (e_new * q_i[f] - lam_u * p_u[f])
    else:
        for f in range(K):                             # scalars keep the old q_if: no copy of q_i
            p_f = p_u[f]
            q_f = q_i[f]
            q_i[f] = q_f + 2.0 * alpha * (e * p_f - lam_i * q_f)
            p_u[f] = p_f + 2.0 * alpha * (e * q_f - lam_u * p_f)


@njit(cache=True, fastmath=FASTMATH)
def sgd_epoch_kernel(P, Q, users, items, ratings, coef_user, coef_item, alpha, sequential):
    """Sweep the (already shuffled) samples in order, one SGD step each (Algorithm 5 lines 6–11)."""
    for k in range(ratings.shape[0]):
        u = users[k]
        i = items[k]
        sgd_update(P[u], Q[i], ratings[k], alpha, coef_user[u], coef_item[i], sequential)


def sample_penalty_coefficients(data: Ratings, lam: float, reg_mode: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Per-sample penalty coefficients λ|Ω|w_u/|I_u| and λ|Ω|w_i/|U_i| (0 for unseen rows), notes/derivations.md §6.3–6.4."""
    w_user, w_item = penalty_weights(data, reg_mode)
    scale = lam * len(data)

    def per_row(w, counts):
        out = np.zeros(len(counts))
        seen = counts > 0
        out[seen] = scale * w[seen] / counts[seen]
        return out

    return per_row(w_user, data.user_counts), per_row(w_item, data.item_counts)


def sgd_epoch(P, Q, data: Ratings, lam: float, alpha: float, reg_mode: str = "mean", rng=None,
              order: str = "sequential") -> None:
    """One epoch of Algorithm 5 in place: shuffle Ω with ``rng``, then one step per sample (notes/derivations.md §6.2).

    ``rng`` is a ``numpy.random.Generator``; pass the same one every epoch so
    each epoch gets a fresh permutation (``None`` means ``default_rng(0)``,
    i.e. the same shuffle on every call).
    """
    data = check_data(data)
    P, Q = check_in_place(P, Q, data)
    lam = check_lam(lam)
    alpha = check_alpha(alpha)
    reg_mode = check_reg_mode(reg_mode)
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS} ('sequential' = the slides' Algorithm 5, the user "
                         f"update uses the new q_i; 'simultaneous' = both use the old values), got {order!r}.")
    rng = check_rng(rng)
    coef_user, coef_item = sample_penalty_coefficients(data, lam, reg_mode)
    users, items, ratings = shuffled(data, rng)
    sgd_epoch_kernel(P, Q, users, items, ratings, coef_user, coef_item, alpha, order == "sequential")


# ---------------------------------------------------------------- shared with bgd.py
def shuffled(data: Ratings, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """"Shuffle the dataset" (Algorithm 5 line 5): contiguous copies of u, i, r in a fresh random order."""
    perm = rng.permutation(len(data))
    return data.users[perm], data.items[perm], data.ratings[perm]


def check_in_place(P, Q, data: Ratings) -> tuple[np.ndarray, np.ndarray]:
    """P, Q checked as factors of ``data``, and usable for an in-place update (no hidden copy)."""
    P_checked, Q_checked = check_factors(P, Q, data)
    for name, given, checked in (("P", P, P_checked), ("Q", Q, Q_checked)):
        if checked is not given or not checked.flags.writeable:
            raise ValueError(f"{name} is updated in place, so it must be a writeable C-contiguous float64 "
                             f"numpy array; got {type(given).__name__}"
                             f"{'' if not hasattr(given, 'dtype') else f' of dtype {given.dtype}'}. "
                             f"Pass {name} = np.ascontiguousarray({name}, dtype=float) (a copy) and keep it.")
    check_finite(P=P_checked, Q=Q_checked)
    if np.may_share_memory(P_checked, Q_checked):
        raise ValueError("P and Q share memory; pass separate arrays (e.g. P.copy(), Q.copy()).")
    return P_checked, Q_checked


def check_rng(rng) -> np.random.Generator:
    """None → default_rng(0); otherwise a numpy Generator (the one returned by init_factors)."""
    if rng is None:
        return np.random.default_rng(0)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (e.g. the one returned by init_factors) or None, "
                         f"got {type(rng).__name__}; for a seed use np.random.default_rng(seed).")
    return rng
