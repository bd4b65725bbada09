"""Full gradient descent on Θ = [P; Q] (slides' eq. 3, notes/derivations.md §3).

    Θ⁽ˡ⁺¹⁾ = Θ⁽ˡ⁾ − α ( −(2/|Ω|) M⁽ˡ⁾Θ⁽ˡ⁾ + 2λΘ⁽ˡ⁾ )

P and Q move together, from the old values.  The gradient is the sparse
O(|Ω|K) form (:func:`mfcore.gradient`), which equals the slides' dense MΘ form.
Because the loss is an *average*, useful step sizes are large (often O(1),
notes/derivations.md §3.1): the default picks them by Armijo backtracking (§3.3).
"""

from __future__ import annotations

import numpy as np

from ._validate import check_alpha, check_data, check_factors, check_lam, check_reg_mode
from .data import Ratings
from .errors import DivergenceError
from .als_gd import block_curvature
from .gradient import gradient, penalty_weights
from .objective import objective, residuals, sum_squares

__all__ = ["gd_step", "armijo_step", "lipschitz_bound"]

ARMIJO_C = 1e-4
ARMIJO_BETA = 0.5
MAX_HALVINGS = 50


def gd_step(P, Q, data: Ratings, lam: float, alpha: float, reg_mode: str = "mean"):
    """One GD step Θ ← Θ − α∇F(Θ) (slides' eq. 3) with a fixed α; returns new (P, Q)."""
    alpha = check_alpha(alpha)
    dP, dQ = gradient(P, Q, data, lam, reg_mode)
    return P - alpha * dP, Q - alpha * dQ


def armijo_step(P, Q, data: Ratings, lam: float, alpha_trial: float, reg_mode: str = "mean",
                F0: float | None = None, c: float = ARMIJO_C, beta: float = ARMIJO_BETA):
    """One GD step with Armijo backtracking (notes/derivations.md §3.3); returns (P, Q, α used, F after).

    Halve α from ``alpha_trial`` until F(Θ − αG) ≤ F(Θ) − c α ‖G‖_F², so F never increases.
    Raises :class:`DivergenceError` after 50 halvings.
    """
    F0 = objective(P, Q, data, lam, reg_mode) if F0 is None else F0
    dP, dQ = gradient(P, Q, data, lam, reg_mode)
    g2 = float(np.sum(dP * dP) + np.sum(dQ * dQ))
    if g2 == 0.0:                                   # stationary point: nothing to do
        return P, Q, 0.0, F0
    alpha = float(alpha_trial)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(MAX_HALVINGS + 1):
            P_new, Q_new = P - alpha * dP, Q - alpha * dQ
            F_new = objective(P_new, Q_new, data, lam, reg_mode)
            if F_new <= F0 - c * alpha * g2:
                return P_new, Q_new, alpha, F_new
            alpha *= beta
    raise DivergenceError(
        f"gd: Armijo backtracking found no decrease after {MAX_HALVINGS} halvings from α={alpha_trial:.3g} "
        f"(F={F0:.6g}); the objective may be non-finite near this point. Check the data, or start from a "
        "smaller initialisation (sigma0).")


def lipschitz_bound(P, Q, data: Ratings, lam: float, reg_mode: str = "mean", exact: bool = False) -> float:
    """L̂(Θ) ≥ ‖∇²F(Θ)‖₂, the local curvature bound of notes/derivations.md §3.2.

    L̂ = (2/|Ω|)(max_u λ_max(Σ_{i∈I_u} q_i q_iᵀ) + max_i λ_max(Σ_{u∈U_i} p_u p_uᵀ) + ‖E‖₂) + 2λ max w.
    The default cheap form, O(|Ω|K), replaces λ_max(Σ qqᵀ) by Σ‖q‖² and ‖E‖₂ by ‖E‖_F;
    ``exact=True`` uses eigenvalues and the spectral norm (small problems).
    """
    data = check_data(data)
    lam = check_lam(lam)
    reg_mode = check_reg_mode(reg_mode)
    P, Q = check_factors(P, Q, data)
    e = residuals(P, Q, data)
    w_user, w_item = penalty_weights(data, reg_mode)
    if exact:
        user_part = _max_block_eig(Q, data.by_user)             # max_u λ_max(Σ_{i∈I_u} q_i q_iᵀ)
        item_part = _max_block_eig(P, data.by_item)             # max_i λ_max(Σ_{u∈U_i} p_u p_uᵀ)
        e_norm = data.spectral_norm(e)                           # ‖E‖₂
    else:
        q2 = np.einsum("ik,ik->i", Q, Q)
        p2 = np.einsum("uk,uk->u", P, P)
        user_part = float(np.bincount(data.users, weights=q2[data.items], minlength=data.n_users).max())
        item_part = float(np.bincount(data.items, weights=p2[data.users], minlength=data.n_items).max())
        e_norm = float(np.sqrt(sum_squares(e)))
    return 2.0 / len(data) * (user_part + item_part + e_norm) + 2.0 * lam * max(w_user.max(), w_item.max())


def _max_block_eig(F: np.ndarray, view) -> float:
    out = np.empty(len(view.indptr) - 1)
    block_curvature(F, view.indptr, view.index, True, out)     # the per-row λ_max of ALS+GD's "block" step
    return float(out.max())
