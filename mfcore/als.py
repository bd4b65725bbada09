"""Alternating least squares, the slides' Algorithm 1 (notes/derivations.md §4).

With P fixed, F splits into one ridge regression per item (notes/derivations.md §4.1)::

    q_i = (Σ_{u∈U_i} p_u p_uᵀ + λ|Ω| I)⁻¹ Σ_{u∈U_i} r_ui p_u        (Algorithm 1, line 7)

and with Q fixed into one per user (line 11, sum over i ∈ I_u).  The ridge is
λ|Ω| for ``reg_mode="mean"`` (eq. 1) and λ|U_i| for ``"weighted"`` (ALS-WR),
i.e. λ|Ω|w_i with the penalty weights of notes/derivations.md §6.4.  Both half-steps run the
same numba kernel, ``_kernels.ridge_solve_rows``, with the roles of P and Q swapped:
per row it gathers the fixed rows, forms A = Σ f fᵀ + ρI and b = Σ r f and solves
A x = b by Cholesky (never an inverse, notes/derivations.md §4.7).  Rows with no rating get exactly 0;
with λ = 0 each row gets the minimum-norm least-squares solution (notes/derivations.md §4.4).

With biases (notes/derivations.md §11.3) the item step solves for (q_i, c_i) together: the fixed rows are
augmented to (p_u, 1), the targets are r_ui − μ − b_u, and the ridge of the bias coordinate is λ_b|Ω|w_i.
It is the same kernel on augmented arrays; the plain model never builds them.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._kernels import ridge_solve_rows
from ._validate import (check_data, check_factor, check_factors, check_finite, check_lam, check_reg_mode,
                        check_scalar)
from .data import Compressed, Ratings
from .objectives import penalty_weights

__all__ = ["als_item_step", "als_user_step", "als_iteration"]


def _half_step(F: np.ndarray, view: Compressed, ridge: np.ndarray, scale: np.ndarray | None = None,
               targets: np.ndarray | None = None) -> np.ndarray:
    """Every row of one ALS half-step with the other factor F fixed: row r ← ridge_solve_rows (line 7 / 11).

    ``scale`` is the diagonal S of the ridge ρ_r S (default I), ``targets`` the r_U (default the ratings).
    """
    out = np.empty((len(view.indptr) - 1, F.shape[1]))
    scale = np.ones(F.shape[1]) if scale is None else scale
    ridge_solve_rows(F, view.indptr, view.index, view.values if targets is None else targets, ridge, scale, out)
    return out


def _biased_half_step(F, fixed_bias, view: Compressed, ridge, scale, mu: float) -> tuple[np.ndarray, np.ndarray]:
    """(G, g): row r of [G | g] ← argmin Σ (r − μ − β_u − f_uᵀx − x_0)² + ρ_r (‖x‖² + s x_0²)
    (notes/derivations.md §11.3).

    The fixed rows augmented by a column of ones, the targets r − μ − β_u (β the fixed side's biases): one ridge
    regression per row for (g_r, its bias), solved by the same kernel as the plain step.
    """
    F1 = np.empty((F.shape[0], F.shape[1] + 1))
    F1[:, :-1] = F
    F1[:, -1] = 1.0                                     # (f_u, 1)
    out = _half_step(F1, view, ridge, scale, view.values - (mu + fixed_bias[view.index]))
    return np.ascontiguousarray(out[:, :-1]), np.ascontiguousarray(out[:, -1])


def ridges(data: Ratings, lam: float, reg_mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(ρ_u, ρ_i) = λ|Ω|w: the ridge of every user and item system (λ|Ω| for eq. 1, λ|I_u| for ALS-WR)."""
    w_user, w_item = penalty_weights(data, reg_mode)
    scale = lam * len(data)
    return np.ascontiguousarray(scale * w_user), np.ascontiguousarray(scale * w_item)


def bias_ridges(data: Ratings, lam: float, lam_b: float, reg_mode: str, K: int):
    """(ρ_u, ρ_i, S) of the augmented systems (notes/derivations.md §11.3): ridge ρ_r S with S = diag(1, …, 1, λ_b/λ).

    With λ = 0 the ridge is λ_b|Ω|w and S = diag(0, …, 0, 1) (only the bias is penalised).
    """
    if lam > 0:
        return (*ridges(data, lam, reg_mode), np.array([1.0] * K + [lam_b / lam]))
    return (*ridges(data, lam_b, reg_mode), np.array([0.0] * K + [1.0 if lam_b > 0 else 0.0]))


def _checked(F, data, lam, reg_mode, side: str):
    """The public boundary of a half-step: data, λ, reg_mode and the fixed factor (finite, float64)."""
    data = check_data(data)
    lam = check_lam(lam)
    reg_mode = check_reg_mode(reg_mode)
    if side == "P":
        F = check_factor(F, data.n_users, "P", "n_users")
    else:
        F = check_factor(F, data.n_items, "Q", "n_items")
    check_finite(**{side: F})
    _warn_lam_zero(lam)
    return F, data, lam, reg_mode


def _warn_lam_zero(lam: float) -> None:
    if lam == 0.0:
        warnings.warn(
            "ALS with lam=0: the normal equations Σ p pᵀ q = Σ r p can be singular (e.g. a row with fewer "
            "than K ratings), so the block minimiser is not unique; using the minimum-norm least-squares "
            "solution (notes/derivations.md §4.4). Use lam > 0 for a unique solution.", UserWarning, stacklevel=4)


def als_item_step(P, data: Ratings, lam: float, reg_mode: str = "mean", b=None, mu: float | None = None,
                  lam_b: float | None = None):
    """Q with q_i = (Σ_{u∈U_i} p_u p_uᵀ + λ|Ω|w_i I)⁻¹ Σ_{u∈U_i} r_ui p_u (Algorithm 1 line 7, notes/derivations.md
    §4.2).

    With the user biases ``b`` (fixed, like P) it returns (Q, c): each (q_i, c_i) solves the ridge regression of
    r_ui − μ − b_u on (p_u, 1) with the ridge λ|Ω|w_i on q_i and λ_b|Ω|w_i on c_i (§11.3; μ defaults to the mean
    rating, λ_b to λ).
    """
    P, data, lam, reg_mode = _checked(P, data, lam, reg_mode, "P")
    if b is None:
        return _half_step(P, data.by_item, ridges(data, lam, reg_mode)[1])
    b, mu, lam_b = _checked_bias(b, "b", data.n_users, data, mu, lam, lam_b)
    _, ridge_item, scale = bias_ridges(data, lam, lam_b, reg_mode, P.shape[1])
    return _biased_half_step(P, b, data.by_item, ridge_item, scale, mu)


def als_user_step(Q, data: Ratings, lam: float, reg_mode: str = "mean", c=None, mu: float | None = None,
                  lam_b: float | None = None):
    """P with p_u = (Σ_{i∈I_u} q_i q_iᵀ + λ|Ω|w_u I)⁻¹ Σ_{i∈I_u} r_ui q_i (Algorithm 1 line 11).

    The sum is over i∈I_u, not the slides' u∈U_i (notes/errata.md E4).  With the item biases ``c`` (fixed) it
    returns (P, b), the user half of notes/derivations.md §11.3.
    """
    Q, data, lam, reg_mode = _checked(Q, data, lam, reg_mode, "Q")
    if c is None:
        return _half_step(Q, data.by_user, ridges(data, lam, reg_mode)[0])
    c, mu, lam_b = _checked_bias(c, "c", data.n_items, data, mu, lam, lam_b)
    ridge_user, _, scale = bias_ridges(data, lam, lam_b, reg_mode, Q.shape[1])
    return _biased_half_step(Q, c, data.by_user, ridge_user, scale, mu)


def _checked_bias(v, name, n, data, mu, lam, lam_b):
    """The fixed side's biases, μ (default the mean rating of ``data``) and λ_b (default λ), checked."""
    v = np.ascontiguousarray(v, dtype=np.float64)
    if v.shape != (n,) or not np.isfinite(v).all():
        raise ValueError(f"{name} must hold one finite bias per {'user' if name == 'b' else 'item'}, shape ({n},), "
                         f"got shape {v.shape}.")
    mu = data.mean if mu is None else check_scalar(mu, "mu (μ)")
    lam_b = lam if lam_b is None else check_lam(lam_b, "lam_b (λ_b)")
    return v, mu, lam_b


def als_iteration(P, Q, data: Ratings, lam: float, reg_mode: str = "mean", b=None, c=None, mu: float | None = None,
                  lam_b: float | None = None):
    """(P⁽ˡ⁺¹⁾, Q⁽ˡ⁺¹⁾): item step from P, then user step from the new Q (Algorithm 1 lines 5–12,
    notes/derivations.md §4.3).

    Q is only validated: ALS needs only P⁽⁰⁾.  With biases (``b`` and ``c``, or either; the other starts at 0)
    it returns (P, Q, b, c): item step for (Q, c) from (P, b), then user step for (P, b) from (Q, c) (§11.3).
    """
    P, Q = check_factors(P, Q, check_data(data))
    if b is None and c is None:
        Q_new = als_item_step(P, data, lam, reg_mode)
        return als_user_step(Q_new, data, lam, reg_mode), Q_new
    b = np.zeros(data.n_users) if b is None else b
    Q_new, c_new = als_item_step(P, data, lam, reg_mode, b=b, mu=mu, lam_b=lam_b)
    P_new, b_new = als_user_step(Q_new, data, lam, reg_mode, c=c_new, mu=mu, lam_b=lam_b)
    return P_new, Q_new, b_new, c_new


class ALS:
    """Algorithm 1 inside :class:`mfcore.MF`: the ridges once, then one iteration per call on checked arrays."""

    name = "als"
    step_rules: tuple = ()                     # ALS has no step size
    default_max_iter = 200
    default_tol = 1e-6
    options: tuple = ()

    @staticmethod
    def default_step(options) -> None:
        return None

    @staticmethod
    def check_options(**_):
        pass

    def __init__(self, data: Ratings, lam: float, reg_mode: str, step=None, rng=None, biased=False, lam_b=0.0,
                 mu=0.0, K=1, **_):
        self.data, self.biased, self.mu = data, biased, mu
        if biased:
            self.ridge_user, self.ridge_item, self.scale = bias_ridges(data, lam, lam_b, reg_mode, K)
        else:
            self.ridge_user, self.ridge_item = ridges(data, lam, reg_mode)
            self.scale = np.ones(K)
        _warn_lam_zero(lam)

    def iterate(self, P, Q, b, c, it, F_prev):
        """One ALS iteration: item step then user step (Algorithm 1 lines 5–12; §11.3 with biases); step: NaN."""
        d = self.data
        if not self.biased:
            Q = _half_step(P, d.by_item, self.ridge_item, self.scale)
            return _half_step(Q, d.by_user, self.ridge_user, self.scale), Q, b, c, np.nan
        Q, c = _biased_half_step(P, b, d.by_item, self.ridge_item, self.scale, self.mu)
        P, b = _biased_half_step(Q, c, d.by_user, self.ridge_user, self.scale, self.mu)
        return P, Q, b, c, np.nan
