"""Full gradient descent on Θ = [P; Q] (slides' eq. 3, notes/derivations.md §3).

    Θ⁽ˡ⁺¹⁾ = Θ⁽ˡ⁾ − α ( −(2/|Ω|) M⁽ˡ⁾Θ⁽ˡ⁾ + 2λΘ⁽ˡ⁾ )

P and Q move together, from the old values.  The gradient is the sparse
O(|Ω|K) form (:func:`mfcore.gradient`), which equals the slides' dense MΘ form.
Because the loss is an *average*, useful step sizes are large (often O(1),
notes/derivations.md §3.1): the default picks them by Armijo backtracking (§3.3).
With biases (notes/derivations.md §11.2) the step moves (P, Q, b, c) together along the biased gradient.
"""

from __future__ import annotations

import numpy as np

from ._kernels import block_curvature, residuals_kernel
from ._validate import check_data, check_factors, check_lam, check_reg_mode, check_step, renamed_step
from .data import Ratings
from .errors import DivergenceError
from .gradients import _gradient
from .objectives import _objective, _offsets, penalty_weights, sum_squares

__all__ = ["gd_step", "armijo_step", "lipschitz_bound"]

ARMIJO_C = 1e-4
ARMIJO_BETA = 0.5
MAX_HALVINGS = 50


def _checked(P, Q, data, lam, reg_mode):
    data = check_data(data)
    lam = check_lam(lam)
    reg_mode = check_reg_mode(reg_mode)
    P, Q = check_factors(P, Q, data)
    return P, Q, data, lam, reg_mode


def gd_step(P, Q, data: Ratings, lam: float, step: float | None = None, reg_mode: str = "mean", *, alpha=None,
            b=None, c=None, mu: float | None = None, lam_b: float | None = None):
    """One GD step Θ ← Θ − α∇F(Θ) (slides' eq. 3) with a fixed step α; returns new (P, Q).

    With biases ``b``, ``c`` the step moves them too and returns (P, Q, b, c) (notes/derivations.md §11.2).
    """
    step = check_step(renamed_step(step, "gd_step", alpha=alpha))
    P, Q, data, lam, reg_mode = _checked(P, Q, data, lam, reg_mode)
    if b is None and c is None:
        return _gd_step(P, Q, data, lam, step, penalty_weights(data, reg_mode))
    b, c, mu = _offsets(data, b, c, mu, default_mu=True)
    lam_b = lam if lam_b is None else check_lam(lam_b, "lam_b (λ_b)")
    return _gd_step(P, Q, data, lam, step, penalty_weights(data, reg_mode), (b, c, mu, lam_b))


def _gd_step(P, Q, data, lam, step, weights, biases=None):
    """Θ − α∇F on checked arrays; ``biases`` = (b, c, μ, λ_b) for the biased model (§11.2)."""
    if biases is None:
        dP, dQ = _gradient(P, Q, data, lam, *weights)
        return P - step * dP, Q - step * dQ
    b, c, mu, lam_b = biases
    dP, dQ, db, dc = _gradient(P, Q, data, lam, *weights, b=b, c=c, mu=mu, lam_b=lam_b)
    return P - step * dP, Q - step * dQ, b - step * db, c - step * dc


def armijo_step(P, Q, data: Ratings, lam: float, step: float | None = None, reg_mode: str = "mean",
                F0: float | None = None, c: float = ARMIJO_C, beta: float = ARMIJO_BETA, *, alpha_trial=None):
    """One GD step with Armijo backtracking (notes/derivations.md §3.3); returns (P, Q, α used, F after).

    Halve α from the trial ``step`` until F(Θ − αG) ≤ F(Θ) − c α ‖G‖_F², so F never increases.
    Raises :class:`DivergenceError` after 50 halvings.  (``c`` is Armijo's constant here; the biased model
    backtracks the same way inside ``MF(solver="gd", biased=True)``.)
    """
    step = check_step(renamed_step(step, "armijo_step", alpha_trial=alpha_trial))
    P, Q, data, lam, reg_mode = _checked(P, Q, data, lam, reg_mode)
    F0 = _objective(P, Q, data, lam, reg_mode) if F0 is None else F0
    P, Q, _, _, alpha, F = _armijo_step(P, Q, None, None, data, lam, reg_mode, penalty_weights(data, reg_mode), step,
                                        F0, c, beta)
    return P, Q, alpha, F


def _armijo_step(P, Q, b, c, data, lam, reg_mode, weights, step, F0, c_armijo=ARMIJO_C, beta=ARMIJO_BETA, e=None,
                 mu=0.0, lam_b=0.0):
    """Armijo backtracking on checked arrays (``e``: an optional |Ω| residual buffer); returns (P, Q, b, c, α, F).

    ``b``, ``c`` are None for the plain model, else the biases (moved with Θ, §11.2).
    """
    plain = b is None
    params = [P, Q] if plain else [P, Q, b, c]
    grads = _gradient(P, Q, data, lam, *weights) if plain else \
        _gradient(P, Q, data, lam, *weights, b=b, c=c, mu=mu, lam_b=lam_b)
    g2 = float(sum(np.sum(g * g) for g in grads))
    if g2 == 0.0:                                   # stationary point: nothing to do
        return P, Q, b, c, 0.0, F0
    alpha = float(step)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(MAX_HALVINGS + 1):
            new = [x - alpha * g for x, g in zip(params, grads)]
            if plain:
                F_new = _objective(new[0], new[1], data, lam, reg_mode, e)
                new += [None, None]
            else:
                F_new = _objective(new[0], new[1], data, lam, reg_mode, e, b=new[2], c=new[3], mu=mu, lam_b=lam_b)
            if F_new <= F0 - c_armijo * alpha * g2:
                return (*new, alpha, F_new)
            alpha *= beta
    raise DivergenceError(
        f"gd: Armijo backtracking found no decrease after {MAX_HALVINGS} halvings from α={step:.3g} "
        f"(F={F0:.6g}); the objective may be non-finite near this point. Check the data, or start from a "
        "smaller initialisation (sigma0).")


def lipschitz_bound(P, Q, data: Ratings, lam: float, reg_mode: str = "mean", exact: bool = False) -> float:
    """L̂(Θ) ≥ ‖∇²F(Θ)‖₂, the local curvature bound of notes/derivations.md §3.2.

    L̂ = (2/|Ω|)(max_u λ_max(Σ_{i∈I_u} q_i q_iᵀ) + max_i λ_max(Σ_{u∈U_i} p_u p_uᵀ) + ‖E‖₂) + 2λ max w.
    The default cheap form, O(|Ω|K), replaces λ_max(Σ qqᵀ) by Σ‖q‖² and ‖E‖₂ by ‖E‖_F;
    ``exact=True`` uses eigenvalues and the spectral norm (small problems).
    """
    P, Q, data, lam, reg_mode = _checked(P, Q, data, lam, reg_mode)
    return _lipschitz_bound(P, Q, data, lam, penalty_weights(data, reg_mode), exact)


def _lipschitz_bound(P, Q, data, lam, weights, exact=False, b=None, c=None, mu=0.0, lam_b=0.0) -> float:
    """L̂ on checked arrays.  With biases, the bound of the augmented factors [P, b, 1], [Q, 1, c] (§11.2):
    the biased model is the plain one on them with two coordinates held fixed, which can only lower the curvature."""
    if b is not None:
        n, m = P.shape[0], Q.shape[0]
        e = residuals_kernel(P, Q, b, c, mu, data.users, data.items, data.ratings, np.empty(len(data)))
        P = np.hstack([P, b[:, None], np.ones((n, 1))])
        Q = np.hstack([Q, np.ones((m, 1)), c[:, None]])
        lam = max(lam, lam_b)
    else:
        e = residuals_kernel(P, Q, np.zeros(P.shape[0]), np.zeros(Q.shape[0]), 0.0, data.users, data.items,
                             data.ratings, np.empty(len(data)))
    w_user, w_item = weights
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
    block_curvature(F, view.indptr, view.index, True, out)     # the per-row λ_max (kernel shared with ALS+GD)
    return float(out.max())


class GD:
    """Full GD inside :class:`mfcore.MF`: step "auto"/"armijo" (backtracking, default), "lipschitz" or a float."""

    name = "gd"
    step_rules = ("auto", "armijo", "lipschitz")
    default_max_iter = 1000
    default_tol = 1e-9
    options: tuple = ()

    @staticmethod
    def default_step(options) -> str:
        return "auto"

    @staticmethod
    def check_options(**_):
        pass

    def __init__(self, data: Ratings, lam: float, reg_mode: str, step, rng=None, biased=False, lam_b=0.0, mu=0.0,
                 **_):
        self.data, self.lam, self.reg_mode, self.step = data, lam, reg_mode, step
        self.biased, self.lam_b, self.mu = biased, lam_b, mu
        self.weights = penalty_weights(data, reg_mode)
        self.trial = None                          # Armijo's next trial step
        self.e = np.empty(len(data))               # residual buffer for the objective evaluations

    def iterate(self, P, Q, b, c, it, F_prev):
        """One GD iteration (eq. 3; with biases §11.2) with the chosen step rule; returns (P, Q, b, c, α)."""
        d, lam, w = self.data, self.lam, self.weights
        bias = (b, c) if self.biased else (None, None)
        extra = {"mu": self.mu, "lam_b": self.lam_b}
        if self.step in ("auto", "armijo"):
            if self.trial is None:
                self.trial = 1.0 / _lipschitz_bound(P, Q, d, lam, w, False, *bias, **extra)
            P, Q, b_new, c_new, alpha, _ = _armijo_step(P, Q, *bias, d, lam, self.reg_mode, w, self.trial, F_prev,
                                                        e=self.e, **extra)
            self.trial = 2.0 * alpha if alpha > 0 else self.trial      # optional growth (§3.3)
            return P, Q, (b_new if self.biased else b), (c_new if self.biased else c), alpha
        alpha = 1.0 / _lipschitz_bound(P, Q, d, lam, w, False, *bias, **extra) if self.step == "lipschitz" \
            else float(self.step)
        if not self.biased:
            return (*_gd_step(P, Q, d, lam, alpha, w), b, c, alpha)
        return (*_gd_step(P, Q, d, lam, alpha, w, (b, c, self.mu, self.lam_b)), alpha)
