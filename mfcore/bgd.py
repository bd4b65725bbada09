"""Mini-batch gradient descent, the slides' BGD (notes/derivations.md §6.5).

One epoch permutes Ω and cuts it into consecutive batches b of size B (the
last may be smaller).  For each batch, from the values before the batch::

    ĝ = (1/|b|) Σ_{(u,i)∈b} ∇ℓ_ui,        Θ ← Θ − α ĝ

with the per-sample gradients of notes/derivations.md §6.1 (coefficients λ_u, λ_i of §6.4)::

    ∇_{p_u} ℓ_ui = −2 e_ui q_i + 2 λ_u p_u,    ∇_{q_i} ℓ_ui = −2 e_ui p_u + 2 λ_i q_i.

A row met several times in a batch gets the sum of its contributions; rows not
in the batch do not change.  B = |Ω| is one full GD step on F ("mean") or G
("weighted"); B = 1 is Algorithm 5 with ``order="simultaneous"``.
"""

from __future__ import annotations

import numbers

import numpy as np
from numba import njit

from ._validate import check_alpha, check_data, check_factors, check_lam, check_reg_mode
from .data import Ratings
from .gradient import loss_gradient_kernel
from .objective import FASTMATH, residuals
from .sgd import check_in_place, check_rng, sample_penalty_coefficients, shuffled

__all__ = ["bgd_epoch_kernel", "bgd_epoch", "per_sample_gradients"]


@njit(cache=True, fastmath=FASTMATH)
def bgd_epoch_kernel(P, Q, users, items, ratings, coef_user, coef_item, alpha, B, dP, dQ):
    """Batches of B shuffled samples: ĝ from the values before the batch, then Θ ← Θ − αĝ (slides' BGD, §6.5).

    ``dP``, ``dQ`` must be zero on entry; only the rows a batch touches are
    accumulated and reset, so a batch costs O(B·K).
    """
    K = P.shape[1]
    N = ratings.shape[0]
    for start in range(0, N, B):
        stop = min(start + B, N)
        # Σ ∇ℓ_ui over the batch, Θ frozen: the loss part −2e·q_i, −2e·p_u (the sparse-gradient kernel) ...
        loss_gradient_kernel(P, Q, users[start:stop], items[start:stop], ratings[start:stop], 2.0, dP, dQ)
        for k in range(start, stop):                   # ... plus each sample's penalty 2λ_u p_u, 2λ_i q_i
            u = users[k]
            i = items[k]
            for f in range(K):
                dP[u, f] += 2.0 * coef_user[u] * P[u, f]
                dQ[i, f] += 2.0 * coef_item[i] * Q[i, f]
        step = alpha / (stop - start)                  # α/|b|
        for k in range(start, stop):                   # apply once per touched row, then reset it;
            u = users[k]                               # a repeated row then subtracts 0 (no change)
            i = items[k]
            for f in range(K):
                P[u, f] -= step * dP[u, f]
                dP[u, f] = 0.0
                Q[i, f] -= step * dQ[i, f]
                dQ[i, f] = 0.0


def bgd_epoch(P, Q, data: Ratings, lam: float, alpha: float, batch_size: int, reg_mode: str = "mean",
              rng=None) -> None:
    """One BGD epoch in place: Θ ← Θ − (α/|b|) Σ_b ∇ℓ_ui per batch of a fresh permutation (slides' BGD, notes/derivations.md §6.5).

    ``rng`` is a ``numpy.random.Generator``, the same one every epoch (``None``: ``default_rng(0)``).
    """
    data = check_data(data)
    P, Q = check_in_place(P, Q, data)
    lam = check_lam(lam)
    alpha = check_alpha(alpha)
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size (B) must be an integer >= 1 (1 = SGD, |Ω| = {len(data)} = one full GD "
                         f"step), got {batch_size!r}.")
    reg_mode = check_reg_mode(reg_mode)
    rng = check_rng(rng)
    coef_user, coef_item = sample_penalty_coefficients(data, lam, reg_mode)
    users, items, ratings = shuffled(data, rng)
    bgd_epoch_kernel(P, Q, users, items, ratings, coef_user, coef_item, alpha, min(int(batch_size), len(data)),
                     np.zeros_like(P), np.zeros_like(Q))


def per_sample_gradients(P, Q, data: Ratings, lam: float, reg_mode: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """(∇_{p_u}ℓ_ui, ∇_{q_i}ℓ_ui) for every (u, i) ∈ Ω in data order, each |Ω|×K (notes/derivations.md §6.1); for teaching.

    Their mean over Ω, added up per row, is ∇F ("mean") or ∇G ("weighted"),
    up to unseen rows, which are never sampled (notes/derivations.md §6.3).
    """
    data = check_data(data)
    P, Q = check_factors(P, Q, data)
    lam = check_lam(lam)
    coef_user, coef_item = sample_penalty_coefficients(data, lam, check_reg_mode(reg_mode))
    e = residuals(P, Q, data)[:, None]
    p, q = P[data.users], Q[data.items]
    grad_p = -2.0 * e * q + 2.0 * coef_user[data.users, None] * p
    grad_q = -2.0 * e * p + 2.0 * coef_item[data.items, None] * q
    return grad_p, grad_q
