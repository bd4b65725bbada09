"""Gradients of the objective: the sparse O(|Ω|K) form every solver uses, the
slides' dense matrix-calculus form with M (eq. 2), and a finite-difference check.

Sparse form (notes/derivations.md §2.2)::

    ∂F/∂p_u = −(2/|Ω|) Σ_{i∈I_u} e_ui q_i + 2λ p_u
    ∂F/∂q_i = −(2/|Ω|) Σ_{u∈U_i} e_ui p_u + 2λ q_i

Dense form (notes/derivations.md §2.1, slides' eq. 2)::

    ∂F/∂Θ = −(2/|Ω|) M(Ω, r, Θ) Θ + 2λΘ,   M = [[0, E], [Eᵀ, 0]]

With biases (notes/derivations.md §11.2) the residuals include μ + b_u + c_i and the biases get
∂F/∂b_u = −(2/|Ω|) Σ_{i∈I_u} e_ui + 2λ_b b_u (items alike).

(The module is ``gradients``, plural, so that ``mfcore.gradient`` stays the function.)
"""

from __future__ import annotations

import numpy as np

from ._kernels import loss_gradient_kernel
from ._validate import check_data, check_factors, check_lam
from .data import Ratings
from .objectives import _offsets, objective, penalty_weights, residuals, stack

__all__ = ["gradient", "build_M", "gradient_dense", "check_gradient"]

#: ``gradient_dense`` refuses problems with more rows than this (M would not fit comfortably).
DENSE_MAX_ROWS = 5000


def gradient(P, Q, data: Ratings, lam: float, reg_mode: str = "mean", b=None, c=None, mu: float | None = None,
             lam_b: float | None = None) -> tuple[np.ndarray, ...]:
    """(∇_P F, ∇_Q F) in O(|Ω|K) time and O((n+m)K) extra memory (notes/derivations.md §2.2, sparse form of eq. 2).

    With ``reg_mode="weighted"`` the penalty part is 2λ(|I_u|/|Ω|)p_u and 2λ(|U_i|/|Ω|)q_i (∇G_λ).
    With biases ``b``, ``c`` (μ = ``mu``, default the mean rating of ``data``; λ_b = ``lam_b``, default λ) it
    returns (∇_P F, ∇_Q F, ∇_b F, ∇_c F) of the biased objective (notes/derivations.md §11.2).
    """
    data = check_data(data)
    lam = check_lam(lam)
    P, Q = check_factors(P, Q, data)
    weights = penalty_weights(data, reg_mode)
    if b is None and c is None:
        return _gradient(P, Q, data, lam, *weights)
    b, c, mu = _offsets(data, b, c, mu, default_mu=True)
    lam_b = lam if lam_b is None else check_lam(lam_b, "lam_b (λ_b)")
    return _gradient(P, Q, data, lam, *weights, b=b, c=c, mu=mu, lam_b=lam_b)


def _gradient(P, Q, data: Ratings, lam: float, w_user, w_item, b=None, c=None, mu: float = 0.0,
              lam_b: float = 0.0) -> tuple[np.ndarray, ...]:
    """(∇_P F, ∇_Q F) on checked arrays, given the penalty weights: 2λw·Θ plus the loss kernel; with biases
    ``b``, ``c`` also (∇_b F, ∇_c F) (notes/derivations.md §11.2)."""
    plain = b is None
    dP = (2.0 * lam) * w_user[:, None] * P
    dQ = (2.0 * lam) * w_item[:, None] * Q
    if plain:
        b, c, db, dc = np.zeros(data.n_users), np.zeros(data.n_items), np.zeros(data.n_users), np.zeros(data.n_items)
    else:
        db, dc = (2.0 * lam_b) * w_user * b, (2.0 * lam_b) * w_item * c
    loss_gradient_kernel(P, Q, b, c, mu, data.users, data.items, data.ratings, 2.0 / len(data), dP, dQ, db, dc)
    return (dP, dQ) if plain else (dP, dQ, db, dc)


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
                   h: float | None = None, n_directions: int | None = None, seed: int = 0, b=None, c=None,
                   mu: float | None = None, lam_b: float | None = None) -> float:
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

    ``grad(P, Q, data, lam, reg_mode)`` must return (dP, dQ).  With biases ``b``, ``c`` (and ``mu``, ``lam_b``)
    the biased objective of §11.1 is checked: ``grad(P, Q, data, lam, reg_mode, b=b, c=c, mu=mu, lam_b=lam_b)``
    must return (dP, dQ, db, dc), and the parameters are Θ followed by b and c.
    """
    data = check_data(data)
    P, Q = check_factors(P, Q, data)
    grad = gradient if grad is None else grad
    biased = b is not None or c is not None
    extra = {}
    if biased:
        b, c, mu = _offsets(data, b, c, mu, default_mu=True)
        extra = {"b": b, "c": c, "mu": mu, "lam_b": lam if lam_b is None else lam_b}
    n, m, K = data.n_users, data.n_items, P.shape[1]
    shapes = [(n, K), (m, K)] + ([(n,), (m,)] if biased else [])
    parts = grad(P, Q, data, lam, reg_mode, **extra)
    if len(parts) != len(shapes):
        raise ValueError(f"grad returned {len(parts)} arrays, expected {len(shapes)}: "
                         + ("(dP, dQ, db, dc) for the biased objective." if biased else "(dP, dQ)."))
    for part, shape in zip(parts, shapes):
        if np.shape(part) != shape:
            raise ValueError(f"the gradient has a part of shape {np.shape(part)}, expected {shape} "
                             "(the shapes of P, Q" + (", b, c)." if biased else ")."))
    g = np.concatenate([np.ravel(np.asarray(x, dtype=float)) for x in parts])
    theta = np.concatenate([P.ravel(), Q.ravel()] + ([b, c] if biased else []))
    sizes = np.cumsum([int(np.prod(s)) for s in shapes])[:-1]

    def F(t):
        arrays = [x.reshape(s) for x, s in zip(np.split(t, sizes), shapes)]
        if biased:
            return objective(arrays[0], arrays[1], data, lam, reg_mode, b=arrays[2], c=arrays[3], mu=extra["mu"],
                             lam_b=extra["lam_b"])
        return objective(arrays[0], arrays[1], data, lam, reg_mode)

    if n_directions is None and theta.size <= 2000:
        h = 1e-6 if h is None else h
        numeric = np.empty_like(theta)
        for j in range(theta.size):
            old = theta[j]
            theta[j] = old + h
            f_plus = F(theta)
            theta[j] = old - h
            f_minus = F(theta)
            theta[j] = old
            numeric[j] = (f_plus - f_minus) / (2 * h)
        scale = max(np.linalg.norm(numeric), np.linalg.norm(g), 1e-12)
        return float(np.linalg.norm(numeric - g) / scale)

    h = 1e-4 if h is None else h
    rng = np.random.default_rng(seed)
    worst = 0.0
    g_norm = np.linalg.norm(g)
    for _ in range(n_directions or 10):
        D = rng.standard_normal(theta.shape)
        D /= np.linalg.norm(D)
        a = float(np.sum(g * D))
        bb = (F(theta + h * D) - F(theta - h * D)) / (2 * h)
        worst = max(worst, abs(a - bb) / max(abs(a), abs(bb), 1e-8 * g_norm))
    return worst
