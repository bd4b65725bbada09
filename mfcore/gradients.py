"""Gradients of the objective: the sparse O(|Ω|K) form every solver uses, the
slides' dense matrix-calculus form with M (eq. 2), and a finite-difference check.

Sparse form (notes/derivations.md §2.2)::

    ∂F/∂p_u = −(2/|Ω|) Σ_{i∈I_u} e_ui q_i + 2λ p_u
    ∂F/∂q_i = −(2/|Ω|) Σ_{u∈U_i} e_ui p_u + 2λ q_i

Dense form (notes/derivations.md §2.1, slides' eq. 2)::

    ∂F/∂Θ = −(2/|Ω|) M(Ω, r, Θ) Θ + 2λΘ,   M = [[0, E], [Eᵀ, 0]]

(The module is ``gradients``, plural, so that ``mfcore.gradient`` stays the function.)
"""

from __future__ import annotations

import numpy as np

from ._kernels import loss_gradient_kernel
from ._validate import check_data, check_factors, check_lam
from .data import Ratings
from .objectives import objective, penalty_weights, residuals, stack, unstack

__all__ = ["gradient", "build_M", "gradient_dense", "check_gradient"]

#: ``gradient_dense`` refuses problems with more rows than this (M would not fit comfortably).
DENSE_MAX_ROWS = 5000


def gradient(P, Q, data: Ratings, lam: float, reg_mode: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """(∇_P F, ∇_Q F) in O(|Ω|K) time and O((n+m)K) extra memory (notes/derivations.md §2.2, sparse form of eq. 2).

    With ``reg_mode="weighted"`` the penalty part is 2λ(|I_u|/|Ω|)p_u and 2λ(|U_i|/|Ω|)q_i (∇G_λ).
    """
    data = check_data(data)
    lam = check_lam(lam)
    P, Q = check_factors(P, Q, data)
    return _gradient(P, Q, data, lam, *penalty_weights(data, reg_mode))


def _gradient(P, Q, data: Ratings, lam: float, w_user, w_item) -> tuple[np.ndarray, np.ndarray]:
    """(∇_P F, ∇_Q F) on checked arrays, given the penalty weights: 2λw·Θ plus the loss kernel."""
    dP = (2.0 * lam) * w_user[:, None] * P
    dQ = (2.0 * lam) * w_item[:, None] * Q
    loss_gradient_kernel(P, Q, data.users, data.items, data.ratings, 2.0 / len(data), dP, dQ)
    return dP, dQ


def build_M(P, Q, data: Ratings, max_rows: int = DENSE_MAX_ROWS) -> np.ndarray:
    """The slides' (n+m)×(n+m) matrix M(Ω, r, Θ): M[u, n+i] = M[n+i, u] = e_ui on Ω, 0 elsewhere."""
    data = check_data(data)
    P, Q = check_factors(P, Q, data)
    n, m = data.n_users, data.n_items
    size = n + m
    if size > max_rows:
        raise MemoryError(
            f"the dense M would be {size} x {size} ({size * size * 8 / 1e9:.2f} GB) and cost "
            f"O((n+m)²K) per gradient; it is a teaching reference only (limit n+m <= {max_rows}). "
            "Use mfcore.gradient, the sparse O(|Ω|K) form, or raise max_rows on purpose.")
    e = residuals(P, Q, data)
    M = np.zeros((size, size))
    M[data.users, n + data.items] = e
    M[n + data.items, data.users] = e
    return M


def gradient_dense(P, Q, data: Ratings, lam: float, reg_mode: str = "mean",
                   max_rows: int = DENSE_MAX_ROWS) -> np.ndarray:
    """∂F/∂Θ = −(2/|Ω|) M Θ + 2λΘ, the slides' eq. (2), built densely: O((n+m)²K). For teaching.

    Returns dΘ of shape (n+m, K); rows 0..n−1 are ∇_P F, rows n.. are ∇_Q F.
    Refuses n+m > ``max_rows`` with a MemoryError that points to :func:`gradient`.
    """
    lam = check_lam(lam)
    M = build_M(P, Q, data, max_rows=max_rows)
    Theta = stack(P, Q)
    w_user, w_item = penalty_weights(data, reg_mode)
    W = np.concatenate([w_user, w_item])[:, None]
    return -(2.0 / len(data)) * (M @ Theta) + 2.0 * lam * W * Theta


def check_gradient(P, Q, data: Ratings, lam: float, reg_mode: str = "mean", grad=None,
                   h: float | None = None, n_directions: int | None = None, seed: int = 0) -> float:
    """Relative error between ``grad`` (default :func:`gradient`) and central differences of F (notes/derivations.md
    §2.4).

    With ``n_directions=None`` and at most 2000 parameters every coordinate is
    checked: err = ‖g̃ − g‖_F / max(‖g̃‖_F, ‖g‖_F, 1e-12).  Otherwise
    ``n_directions`` random unit directions D are checked, comparing ⟨∇F, D⟩
    with (F(Θ+hD) − F(Θ−hD))/2h, and the largest relative error is returned.
    A correct gradient gives about 1e-9; the check passes below 1e-6.
    The step ``h`` defaults to 1e-6 for coordinates (notes/derivations.md §2.4) and 1e-4 for directions: on a
    large problem F sums many terms, its rounding error grows, and a longer step keeps it small
    next to the difference (F is a quartic, so the O(h²) truncation error stays tiny).

    ``grad(P, Q, data, lam, reg_mode)`` must return (dP, dQ).
    """
    data = check_data(data)
    P, Q = check_factors(P, Q, data)
    grad = gradient if grad is None else grad
    n = data.n_users
    dP, dQ = grad(P, Q, data, lam, reg_mode)
    g = stack(dP, dQ)
    Theta = stack(P, Q)
    if g.shape != Theta.shape:
        raise ValueError(f"the gradient has shape {g.shape} after stacking [dP; dQ], expected {Theta.shape}.")

    def F(T):
        Pt, Qt = unstack(T, n)
        return objective(Pt, Qt, data, lam, reg_mode)

    if n_directions is None and Theta.size <= 2000:
        h = 1e-6 if h is None else h
        numeric = np.empty_like(Theta)
        for j in np.ndindex(Theta.shape):
            old = Theta[j]
            Theta[j] = old + h
            f_plus = F(Theta)
            Theta[j] = old - h
            f_minus = F(Theta)
            Theta[j] = old
            numeric[j] = (f_plus - f_minus) / (2 * h)
        scale = max(np.linalg.norm(numeric), np.linalg.norm(g), 1e-12)
        return float(np.linalg.norm(numeric - g) / scale)

    h = 1e-4 if h is None else h
    rng = np.random.default_rng(seed)
    worst = 0.0
    g_norm = np.linalg.norm(g)
    for _ in range(n_directions or 10):
        D = rng.standard_normal(Theta.shape)
        D /= np.linalg.norm(D)
        a = float(np.sum(g * D))
        b = (F(Theta + h * D) - F(Theta - h * D)) / (2 * h)
        worst = max(worst, abs(a - b) / max(abs(a), abs(b), 1e-8 * g_norm))
    return worst
