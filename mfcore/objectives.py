"""The model r̂_ui = p_uᵀq_i, the objective F_λ (slides' eq. 1) and the RMSE (notes/derivations.md §1).

``F_λ(P, Q) = (1/|Ω|) Σ_{(u,i)∈Ω} (r_ui − p_uᵀq_i)² + λ (Σ_u ‖p_u‖² + Σ_i ‖q_i‖²)``

It is a mean squared error plus a penalty (the slides' "regularised RMSE" has no
square root, notes/errata.md E1).  ``reg_mode="weighted"`` evaluates instead the
objective G_λ that the slides' SGD minimises, with the frequency-weighted
penalty (λ/|Ω|)(Σ_u |I_u| ‖p_u‖² + Σ_i |U_i| ‖q_i‖²) (notes/derivations.md §6.3–6.4).
The two penalties differ only by per-row weights, :func:`penalty_weights`.

With biases (notes/derivations.md §11) the model is r̂_ui = μ + b_u + c_i + p_uᵀq_i: pass the user biases
``b``, the item biases ``c`` and the global mean ``mu``; the objective adds λ_b(Σ b_u² + Σ c_i²) with the
same per-row weights.  The plain model is the biased one with μ = 0 and b = c = 0.
(The module is ``objectives``, plural, so that ``mfcore.objective`` stays the function.)
"""

from __future__ import annotations

import numpy as np

from ._kernels import residuals_kernel
from ._validate import check_biases, check_data, check_factors, check_lam, check_reg_mode
from .data import Ratings

__all__ = ["predict", "residuals", "sum_squares", "rmse", "mse", "penalty", "penalty_weights", "objective",
           "stack", "unstack"]


def predict(P, Q, users, items, b=None, c=None, mu: float = 0.0) -> np.ndarray:
    """r̂_ui = p_uᵀq_i for the given index pairs, or μ + b_u + c_i + p_uᵀq_i with biases (notes/derivations.md §1,
    §11.1)."""
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    P = np.ascontiguousarray(P, dtype=np.float64)
    Q = np.ascontiguousarray(Q, dtype=np.float64)
    b = np.zeros(P.shape[0]) if b is None else np.ascontiguousarray(b, dtype=np.float64)
    c = np.zeros(Q.shape[0]) if c is None else np.ascontiguousarray(c, dtype=np.float64)
    out = np.empty(users.shape[0])
    return -residuals_kernel(P, Q, b, c, float(mu), users, items, np.zeros(users.shape[0]), out)


def _offsets(data: Ratings, b, c, mu, default_mu: bool):
    """(b, c, μ) checked: zeros and μ = 0 for the plain model.

    ``default_mu``: with biases and no ``mu``, use the mean rating of ``data`` (the data being fitted); where
    ``data`` may be a test set (RMSE, residuals) μ must be given, the mean of the *training* ratings.
    """
    if b is None and c is None:
        return np.zeros(data.n_users), np.zeros(data.n_items), (0.0 if mu is None else float(mu))
    b, c = check_biases(b, c, data)
    if mu is None:
        if not default_mu:
            raise ValueError("with biases, give mu, the mean of the *training* ratings (e.g. mu=train.mean or "
                             "model.mu_): the mean of the ratings scored here would leak them into the prediction.")
        mu = data.mean
    return b, c, float(mu)


def residuals(P, Q, data: Ratings, b=None, c=None, mu: float | None = None) -> np.ndarray:
    """e_ui = r_ui − p_uᵀq_i on Ω, in the order of ``data`` (notes/notation.md); with biases
    e_ui = r_ui − μ − b_u − c_i − p_uᵀq_i (μ given, notes/derivations.md §11.1)."""
    data = check_data(data)
    P, Q = check_factors(P, Q, data)
    b, c, mu = _offsets(data, b, c, mu, default_mu=False)
    return residuals_kernel(P, Q, b, c, mu, data.users, data.items, data.ratings, np.empty(len(data)))


def sum_squares(x) -> float:
    """Σ x² by NumPy's pairwise summation (accurate, and not BLAS: the same bits in every process)."""
    return float(np.sum(np.square(x)))


def mse(P, Q, data: Ratings, b=None, c=None, mu: float | None = None) -> float:
    """MSE_Ω = (1/|Ω|) Σ e_ui² (no penalty)."""
    e = residuals(P, Q, data, b, c, mu)
    return sum_squares(e) / len(e)


def rmse(P, Q, data: Ratings, b=None, c=None, mu: float | None = None) -> float:
    """RMSE_S = sqrt((1/|S|) Σ_{(u,i)∈S} (r_ui − r̂_ui)²): never contains a penalty (notes/derivations.md §1).

    With biases give ``mu``, the mean of the training ratings.
    """
    return float(np.sqrt(mse(P, Q, data, b, c, mu)))


def penalty_weights(data: Ratings, reg_mode: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Per-row penalty weights w_u, w_i so that the penalty is λ(Σ w_u‖p_u‖² + Σ w_i‖q_i‖²).

    "mean" (eq. 1): all ones.  "weighted" (G_λ, notes/derivations.md §6.3): w_u = |I_u|/|Ω|, w_i = |U_i|/|Ω|.
    The biases take the same weights (§11.1).
    """
    reg_mode = check_reg_mode(reg_mode)
    if reg_mode == "mean":
        return np.ones(data.n_users), np.ones(data.n_items)
    return data.user_counts / len(data), data.item_counts / len(data)


def penalty(P, Q, data: Ratings, reg_mode: str = "mean") -> float:
    """Σ‖p_u‖² + Σ‖q_i‖² ("mean", eq. 1) or (1/|Ω|)(Σ|I_u|‖p_u‖² + Σ|U_i|‖q_i‖²) ("weighted").

    For the biases' penalty pass them as one-column matrices: ``penalty(b[:, None], c[:, None], data)``.
    """
    reg_mode = check_reg_mode(reg_mode)
    return _penalty(np.asarray(P, dtype=float), np.asarray(Q, dtype=float), data, reg_mode)


def _penalty(P, Q, data: Ratings, reg_mode: str) -> float:
    if reg_mode == "mean":
        return float(np.sum(P * P) + np.sum(Q * Q))
    row_p = np.einsum("uk,uk->u", P, P)
    row_q = np.einsum("ik,ik->i", Q, Q)
    return float(np.einsum("u,u->", data.user_counts, row_p) + np.einsum("i,i->", data.item_counts, row_q)) / len(data)


def objective(P, Q, data: Ratings, lam: float, reg_mode: str = "mean", b=None, c=None, mu: float | None = None,
              lam_b: float | None = None) -> float:
    """F_λ(P, Q) = MSE_Ω + λ‖Θ‖_F² (slides' eq. 1), or G_λ with ``reg_mode="weighted"`` (notes/derivations.md §6.3).

    With biases ``b`` (users) and ``c`` (items): F_λ^b = MSE_Ω + λ‖Θ‖_F² + λ_b(‖b‖² + ‖c‖²) (§11.1), with
    μ = ``mu`` (default: the mean rating of ``data``, held fixed) and λ_b = ``lam_b`` (default λ).
    """
    data = check_data(data)
    lam = check_lam(lam)
    reg_mode = check_reg_mode(reg_mode)
    P, Q = check_factors(P, Q, data)
    biased = b is not None or c is not None
    b, c, mu = _offsets(data, b, c, mu, default_mu=True)
    lam_b = (lam if lam_b is None else check_lam(lam_b, "lam_b (λ_b)")) if biased else 0.0
    return _objective(P, Q, data, lam, reg_mode, b=b, c=c, mu=mu, lam_b=lam_b)


def _objective(P, Q, data: Ratings, lam: float, reg_mode: str, e=None, b=None, c=None, mu: float = 0.0,
               lam_b: float = 0.0) -> float:
    """F_λ (or G_λ) on checked arrays; ``e`` is an optional |Ω| buffer for the residuals.

    ``b``, ``c`` (None for the plain model), ``mu`` and ``lam_b`` give the biased objective of §11.1.
    """
    plain = b is None
    if plain:
        b, c = np.zeros(data.n_users), np.zeros(data.n_items)
    e = residuals_kernel(P, Q, b, c, mu, data.users, data.items, data.ratings,
                         np.empty(len(data)) if e is None else e)
    F = sum_squares(e) / len(e) + lam * _penalty(P, Q, data, reg_mode)
    if not plain:
        F += lam_b * _bias_penalty(b, c, data, reg_mode)
    return F


def _bias_penalty(b, c, data: Ratings, reg_mode: str) -> float:
    """Σ w_u b_u² + Σ w_i c_i² (notes/derivations.md §11.1): the factor penalty of one-column factors."""
    return _penalty(b[:, None], c[:, None], data, reg_mode)


def stack(P, Q) -> np.ndarray:
    """Θ = [P; Q] ∈ R^{(n+m)×K}: row u is p_uᵀ, row n+i is q_iᵀ (slides' GD Step 1)."""
    return np.vstack([np.asarray(P, dtype=float), np.asarray(Q, dtype=float)])


def unstack(Theta, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    """(P, Q) from Θ = [P; Q], given n (views, not copies)."""
    Theta = np.asarray(Theta)
    return Theta[:n_users], Theta[n_users:]
