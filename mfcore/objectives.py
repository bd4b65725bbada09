"""The model r̂_ui = p_uᵀq_i, the objective F_λ (slides' eq. 1) and the RMSE (notes/derivations.md §1).

``F_λ(P, Q) = (1/|Ω|) Σ_{(u,i)∈Ω} (r_ui − p_uᵀq_i)² + λ (Σ_u ‖p_u‖² + Σ_i ‖q_i‖²)``

It is a mean squared error plus a penalty (the slides' "regularised RMSE" has no
square root, notes/errata.md E1).  ``reg_mode="weighted"`` evaluates instead the
objective G_λ that the slides' SGD minimises, with the frequency-weighted
penalty (λ/|Ω|)(Σ_u |I_u| ‖p_u‖² + Σ_i |U_i| ‖q_i‖²) (notes/derivations.md §6.3–6.4).
The two penalties differ only by per-row weights, :func:`penalty_weights`.
(The module is ``objectives``, plural, so that ``mfcore.objective`` stays the function.)
"""

from __future__ import annotations

import numpy as np

from ._kernels import residuals_kernel
from ._validate import check_data, check_factors, check_lam, check_reg_mode
from .data import Ratings

__all__ = ["predict", "residuals", "sum_squares", "rmse", "mse", "penalty", "penalty_weights", "objective",
           "stack", "unstack"]


def predict(P, Q, users, items) -> np.ndarray:
    """r̂_ui = p_uᵀq_i for the given index pairs (notes/derivations.md §1)."""
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    P = np.ascontiguousarray(P, dtype=np.float64)
    Q = np.ascontiguousarray(Q, dtype=np.float64)
    out = np.empty(users.shape[0])
    return -residuals_kernel(P, Q, users, items, np.zeros(users.shape[0]), out)


def residuals(P, Q, data: Ratings) -> np.ndarray:
    """e_ui = r_ui − p_uᵀq_i on Ω, in the order of ``data`` (notes/notation.md)."""
    data = check_data(data)
    P, Q = check_factors(P, Q, data)
    return residuals_kernel(P, Q, data.users, data.items, data.ratings, np.empty(len(data)))


def sum_squares(x) -> float:
    """Σ x² by NumPy's pairwise summation (accurate, and not BLAS: the same bits in every process)."""
    return float(np.sum(np.square(x)))


def mse(P, Q, data: Ratings) -> float:
    """MSE_Ω = (1/|Ω|) Σ e_ui² (no penalty)."""
    e = residuals(P, Q, data)
    return sum_squares(e) / len(e)


def rmse(P, Q, data: Ratings) -> float:
    """RMSE_S = sqrt((1/|S|) Σ_{(u,i)∈S} (r_ui − p_uᵀq_i)²): never contains a penalty (notes/derivations.md §1)."""
    return float(np.sqrt(mse(P, Q, data)))


def penalty_weights(data: Ratings, reg_mode: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Per-row penalty weights w_u, w_i so that the penalty is λ(Σ w_u‖p_u‖² + Σ w_i‖q_i‖²).

    "mean" (eq. 1): all ones.  "weighted" (G_λ, notes/derivations.md §6.3): w_u = |I_u|/|Ω|, w_i = |U_i|/|Ω|.
    """
    reg_mode = check_reg_mode(reg_mode)
    if reg_mode == "mean":
        return np.ones(data.n_users), np.ones(data.n_items)
    return data.user_counts / len(data), data.item_counts / len(data)


def penalty(P, Q, data: Ratings, reg_mode: str = "mean") -> float:
    """Σ‖p_u‖² + Σ‖q_i‖² ("mean", eq. 1) or (1/|Ω|)(Σ|I_u|‖p_u‖² + Σ|U_i|‖q_i‖²) ("weighted")."""
    reg_mode = check_reg_mode(reg_mode)
    return _penalty(np.asarray(P, dtype=float), np.asarray(Q, dtype=float), data, reg_mode)


def _penalty(P, Q, data: Ratings, reg_mode: str) -> float:
    if reg_mode == "mean":
        return float(np.sum(P * P) + np.sum(Q * Q))
    row_p = np.einsum("uk,uk->u", P, P)
    row_q = np.einsum("ik,ik->i", Q, Q)
    return float(np.einsum("u,u->", data.user_counts, row_p) + np.einsum("i,i->", data.item_counts, row_q)) / len(data)


def objective(P, Q, data: Ratings, lam: float, reg_mode: str = "mean") -> float:
    """F_λ(P, Q) = MSE_Ω + λ‖Θ‖_F² (slides' eq. 1), or G_λ with ``reg_mode="weighted"`` (notes/derivations.md §6.3)."""
    data = check_data(data)
    lam = check_lam(lam)
    reg_mode = check_reg_mode(reg_mode)
    P, Q = check_factors(P, Q, data)
    return _objective(P, Q, data, lam, reg_mode)


def _objective(P, Q, data: Ratings, lam: float, reg_mode: str, e=None) -> float:
    """F_λ (or G_λ) on checked arrays; ``e`` is an optional |Ω| buffer for the residuals."""
    e = residuals_kernel(P, Q, data.users, data.items, data.ratings, np.empty(len(data)) if e is None else e)
    return sum_squares(e) / len(e) + lam * _penalty(P, Q, data, reg_mode)


def stack(P, Q) -> np.ndarray:
    """Θ = [P; Q] ∈ R^{(n+m)×K}: row u is p_uᵀ, row n+i is q_iᵀ (slides' GD Step 1)."""
    return np.vstack([np.asarray(P, dtype=float), np.asarray(Q, dtype=float)])


def unstack(Theta, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    """(P, Q) from Θ = [P; Q], given n (views, not copies)."""
    Theta = np.asarray(Theta)
    return Theta[:n_users], Theta[n_users:]
