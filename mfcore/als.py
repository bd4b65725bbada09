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
"""

from __future__ import annotations

import warnings

import numpy as np

from ._kernels import ridge_solve_rows
from ._validate import check_data, check_factor, check_factors, check_finite, check_lam, check_reg_mode
from .data import Compressed, Ratings
from .objectives import penalty_weights

__all__ = ["als_item_step", "als_user_step", "als_iteration"]


def _half_step(F: np.ndarray, view: Compressed, ridge: np.ndarray) -> np.ndarray:
    """Every row of one ALS half-step with the other factor F fixed: row r ← ridge_solve_rows (line 7 / 11)."""
    out = np.empty((len(view.indptr) - 1, F.shape[1]))
    ridge_solve_rows(F, view.indptr, view.index, view.values, ridge, out)
    return out


def ridges(data: Ratings, lam: float, reg_mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(ρ_u, ρ_i) = λ|Ω|w: the ridge of every user and item system (λ|Ω| for eq. 1, λ|I_u| for ALS-WR)."""
    w_user, w_item = penalty_weights(data, reg_mode)
    scale = lam * len(data)
    return np.ascontiguousarray(scale * w_user), np.ascontiguousarray(scale * w_item)


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


def als_item_step(P, data: Ratings, lam: float, reg_mode: str = "mean") -> np.ndarray:
    """Q with q_i = (Σ_{u∈U_i} p_u p_uᵀ + λ|Ω|w_i I)⁻¹ Σ_{u∈U_i} r_ui p_u (Algorithm 1 line 7, notes/derivations.md
    §4.2)."""
    P, data, lam, reg_mode = _checked(P, data, lam, reg_mode, "P")
    return _half_step(P, data.by_item, ridges(data, lam, reg_mode)[1])


def als_user_step(Q, data: Ratings, lam: float, reg_mode: str = "mean") -> np.ndarray:
    """P with p_u = (Σ_{i∈I_u} q_i q_iᵀ + λ|Ω|w_u I)⁻¹ Σ_{i∈I_u} r_ui q_i (Algorithm 1 line 11).

    The sum is over i∈I_u, not the slides' u∈U_i (notes/errata.md E4).
    """
    Q, data, lam, reg_mode = _checked(Q, data, lam, reg_mode, "Q")
    return _half_step(Q, data.by_user, ridges(data, lam, reg_mode)[0])


def als_iteration(P, Q, data: Ratings, lam: float, reg_mode: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """(P⁽ˡ⁺¹⁾, Q⁽ˡ⁺¹⁾): item step from P, then user step from the new Q (Algorithm 1 lines 5–12,
    notes/derivations.md §4.3).

    Q is only validated: ALS needs only P⁽⁰⁾.
    """
    P, Q = check_factors(P, Q, check_data(data))
    Q_new = als_item_step(P, data, lam, reg_mode)
    return als_user_step(Q_new, data, lam, reg_mode), Q_new


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

    def __init__(self, data: Ratings, lam: float, reg_mode: str, step=None, rng=None):
        self.data = data
        self.ridge_user, self.ridge_item = ridges(data, lam, reg_mode)
        _warn_lam_zero(lam)

    def iterate(self, P, Q, it, F_prev):
        """One ALS iteration: item step then user step (Algorithm 1 lines 5–12); step size: none (NaN)."""
        Q = _half_step(P, self.data.by_item, self.ridge_item)
        return _half_step(Q, self.data.by_user, self.ridge_user), Q, np.nan
