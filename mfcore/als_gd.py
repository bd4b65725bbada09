"""ALS+GD, the slides' Algorithms 3/4 (notes/derivations.md §5): ALS with each block solve replaced by GD steps.

With P fixed, F is a constant plus Σ_i g_i(q_i) with the per-item quadratic

    g_i(q) = (1/|Ω|) Σ_{u∈U_i} (r_ui − p_uᵀq)² + λ w_i ‖q‖²,

and every item row takes the slides' step (notes/derivations.md §5.1), starting from its current value:

    q ← q − 2α ( −(1/|Ω|) Σ_{u∈U_i} p_u (r_ui − p_uᵀq) + λ w_i q )  =  q − α ∇g_i(q).

The user sweep is the same with Q⁽ˡ⁺¹⁾ fixed (notes/errata.md E7).  ``w_i`` is 1 for
``reg_mode="mean"`` (eq. 1) and |U_i|/|Ω| for ``"weighted"`` (notes/derivations.md §6.4).  One
numba kernel, ``_kernels.block_gd_rows``, runs both sweeps with the roles swapped.
Step sizes (notes/derivations.md §5.2): ``"block"`` α_i = 1/L_i, ``"block_trace"`` α_i = 1/L̄_i
(the default: cheap and never increases F), ``"global"`` one α = 1/max_i L̄_i,
or a float (the slides' fixed α, which may diverge).

With biases (notes/derivations.md §11.3) each block is (q_i, c_i) with the fixed rows augmented to (p_u, 1)
and the targets r_ui − μ − b_u, exactly as in ALS; the penalty of the bias coordinate is λ_b w_i.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._kernels import block_curvature, block_gd_rows
from ._validate import check_data, check_factors, check_finite, check_lam, check_reg_mode, check_scalar
from .data import Compressed, Ratings
from .objectives import penalty_weights

__all__ = ["block_gd_step", "als_gd_iteration", "STEPS"]

#: The named step-size rules of notes/derivations.md §5.2 (a positive float is the slides' fixed α).
STEPS = ("block", "block_trace", "global")


# ---------------------------------------------------------------------------------------------- checks
def check_inner_steps(inner_steps):
    """L: a positive integer, or "exact" (GD on each block until convergence)."""
    if isinstance(inner_steps, str):
        if inner_steps != "exact":
            raise ValueError(f"inner_steps must be a positive integer (L, the number of GD steps per block) "
                             f"or 'exact' (GD until convergence), got {inner_steps!r}.")
        return inner_steps
    return check_scalar(inner_steps, "inner_steps (L, the GD steps per block)", integer=True, low=1,
                        hint=" or 'exact'")


def check_block_step(step):
    """A named rule of notes/derivations.md §5.2 or a fixed α > 0."""
    if isinstance(step, str):
        if step not in STEPS:
            raise ValueError(f"step must be one of {STEPS} (notes/derivations.md §5.2) or a positive float α, "
                             f"got {step!r}.")
        return step
    return check_scalar(step, "step (α, the step size)", low=0, strict=True, hint=f" or one of {STEPS}")


def _check_inner(inner_steps, step, tol_inner, max_inner):
    check_inner_steps(inner_steps)
    check_block_step(step)
    check_scalar(tol_inner, "tol_inner", low=0, hint=" (the ‖∇g_i‖ at which 'exact' stops)")
    check_scalar(max_inner, "max_inner", integer=True, low=1, hint=" (the step cap of 'exact')")


def _check_block(F, G, view, n_omega, w):
    F = np.ascontiguousarray(F, dtype=np.float64)
    G = np.ascontiguousarray(G, dtype=np.float64)
    if F.ndim != 2 or G.ndim != 2 or F.shape[1] != G.shape[1]:
        raise ValueError(f"F (fixed) and G (updated) must be 2-D factor matrices with the same K, got shapes "
                         f"{F.shape} and {G.shape}.")
    if not isinstance(view, Compressed):
        raise TypeError(f"view must be data.by_item or data.by_user (a Compressed), got {type(view).__name__}.")
    if len(view.indptr) - 1 != G.shape[0]:
        raise ValueError(f"G has {G.shape[0]} rows but the view has {len(view.indptr) - 1}: pass "
                         "(P, Q, data.by_item, ...) for the item sweep and (Q, P, data.by_user, ...) for the user "
                         "sweep.")
    if len(view.index) and view.index.max() >= F.shape[0]:
        raise ValueError(f"the view refers to row {view.index.max()} of F, which has only {F.shape[0]} rows: "
                         "pass P with data.by_item and Q with data.by_user.")
    check_scalar(n_omega, "n_omega (|Ω|)", integer=True, low=1)
    check_finite(F=F, G=G)
    w = np.ascontiguousarray(w, dtype=np.float64)
    if w.shape != (G.shape[0],) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"w must hold one finite penalty weight >= 0 per row of G ({G.shape[0]}), "
                         "e.g. from mfcore.penalty_weights.")
    return F, G, w


# ---------------------------------------------------------------------------------------------- sweeps
def _step_sizes(F, view, lam_w, n_omega, step):
    """α per row: 1/L_i ("block"), 1/L̄_i ("block_trace"), 1/max L̄_i ("global") or the given float."""
    n_rows = len(view.indptr) - 1
    if not isinstance(step, str):
        return np.full(n_rows, float(step))
    curvature = np.empty(n_rows)
    block_curvature(F, view.indptr, view.index, step == "block", curvature)
    L = (2.0 / n_omega) * curvature + 2.0 * lam_w
    if step == "global":
        L = np.full(n_rows, L.max())
    alpha = np.zeros(n_rows)                   # L = 0: g_i is constant (no ratings, no penalty), do not move
    np.divide(1.0, L, out=alpha, where=L > 0)
    return alpha


def _sweep(F, G, view, lam, n_omega, w, inner_steps, step, tol_inner, max_inner, scale=None, targets=None):
    """G after the GD steps of every block; ``scale`` S of the penalty λw_r S (default I), ``targets`` the r_U
    (default the ratings)."""
    lam_w = lam * w
    scale = np.ones(G.shape[1]) if scale is None else scale
    alpha = _step_sizes(F, view, lam_w * scale.max(), n_omega, step)
    exact = inner_steps == "exact"
    out = np.empty_like(G)
    stuck = block_gd_rows(F, G, view.indptr, view.index, view.values if targets is None else targets, lam_w, scale,
                          float(n_omega), alpha, max_inner if exact else inner_steps, tol_inner if exact else -1.0, out)
    if isinstance(step, str) and step != "global" and (scale == 1.0).all():
        # An unseen row has g_i(q) = λw_i‖q‖², H = 2λw_i I, so α_i = 1/(2λw_i) lands on 0 in one step
        # (notes/derivations.md §5.2); write that 0 exactly rather than a rounding residue.
        out[(view.counts == 0) & (lam_w > 0)] = 0.0
    if stuck:
        warnings.warn(f"ALS+GD inner_steps='exact': {stuck} of {G.shape[0]} blocks did not reach "
                      f"‖∇g_i‖ <= tol_inner={tol_inner:g} within max_inner={max_inner} steps; raise max_inner, "
                      "loosen tol_inner, or use step='block' (α_i = 1/L_i).", UserWarning, stacklevel=3)
    return out


def _biased_sweep(F, G, g, fixed_bias, view, lam, n_omega, w, inner_steps, step, scale, mu, tol_inner=1e-10,
                  max_inner=10_000):
    """(G, g) after the GD steps of every augmented block (q_i, c_i) with the fixed rows (p_u, 1) and the targets
    r − μ − b_u (notes/derivations.md §11.3)."""
    F1 = np.hstack([F, np.ones((F.shape[0], 1))])
    G1 = np.hstack([G, g[:, None]])
    out = _sweep(F1, G1, view, lam, n_omega, w, inner_steps, step, tol_inner, max_inner, scale,
                 view.values - (mu + fixed_bias[view.index]))
    return np.ascontiguousarray(out[:, :-1]), np.ascontiguousarray(out[:, -1])


def block_gd_step(F, G, view: Compressed, lam: float, n_omega: int, w, inner_steps=1, step="block_trace",
                  tol_inner: float = 1e-10, max_inner: int = 10_000) -> np.ndarray:
    """G after ``inner_steps`` slide GD steps per row with F fixed (Algorithm 3 line 7 / line 11,
    notes/derivations.md §5.1–5.3).

    Item sweep: ``block_gd_step(P, Q, data.by_item, lam, len(data), w_item)``; user sweep:
    ``block_gd_step(Q, P, data.by_user, lam, len(data), w_user)`` (weights from
    :func:`mfcore.penalty_weights`).  ``inner_steps`` is L >= 1 or ``"exact"``
    (GD until ‖∇g_i‖ <= ``tol_inner``, at most ``max_inner`` steps; recovers ALS).
    Returns a new array; F and G are not modified.
    """
    _check_inner(inner_steps, step, tol_inner, max_inner)
    lam = check_lam(lam)
    F, G, w = _check_block(F, G, view, n_omega, w)
    return _sweep(F, G, view, lam, int(n_omega), w, inner_steps, step, tol_inner, max_inner)


def als_gd_iteration(P, Q, data: Ratings, lam: float, reg_mode: str = "mean", inner_steps=1,
                     step="block_trace", tol_inner: float = 1e-10,
                     max_inner: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """(P⁽ˡ⁺¹⁾, Q⁽ˡ⁺¹⁾): GD item sweep with P⁽ˡ⁾ fixed, then GD user sweep with Q⁽ˡ⁺¹⁾ fixed (Algorithm 3,
    notes/derivations.md §5, notes/errata.md E7).

    With ``inner_steps=1`` and a float ``step`` this is alternating gradient descent
    (notes/derivations.md §5.3).  Unseen rows: with λ > 0 and "block"/"block_trace" they become 0;
    under ``reg_mode="weighted"`` they carry no penalty (w = 0) and stay where they are.
    """
    data = check_data(data)
    lam = check_lam(lam)
    w_user, w_item = penalty_weights(data, check_reg_mode(reg_mode))
    P, Q = check_factors(P, Q, data)
    check_finite(P=P, Q=Q)
    _check_inner(inner_steps, step, tol_inner, max_inner)
    return _iteration(P, Q, data, lam, (w_user, w_item), inner_steps, step, tol_inner, max_inner)


def _iteration(P, Q, data, lam, weights, inner_steps, step, tol_inner=1e-10, max_inner=10_000):
    """Item sweep with P fixed, then user sweep with the new Q fixed, on checked arrays."""
    w_user, w_item = weights
    n_omega = len(data)
    Q_new = _sweep(P, Q, data.by_item, lam, n_omega, w_item, inner_steps, step, tol_inner, max_inner)
    P_new = _sweep(Q_new, P, data.by_user, lam, n_omega, w_user, inner_steps, step, tol_inner, max_inner)
    return P_new, Q_new


def _biased_iteration(P, Q, b, c, data, lam, weights, inner_steps, step, scale, mu):
    """The biased Algorithm 3: sweep (Q, c) with (P, b) fixed, then (P, b) with the new (Q, c) fixed (§11.3)."""
    w_user, w_item = weights
    Q, c = _biased_sweep(P, Q, c, b, data.by_item, lam, len(data), w_item, inner_steps, step, scale, mu)
    P, b = _biased_sweep(Q, P, b, c, data.by_user, lam, len(data), w_user, inner_steps, step, scale, mu)
    return P, Q, b, c


class ALSGD:
    """ALS+GD inside :class:`mfcore.MF`: L = ``inner_steps`` GD steps per block, step rule of notes/derivations.md
    §5.2."""

    name = "als-gd"
    step_rules = STEPS
    default_max_iter = 200
    default_tol = 1e-6
    options = ("inner_steps",)

    @staticmethod
    def default_step(options) -> str:
        return "block_trace"

    @staticmethod
    def check_options(inner_steps=1, **_):
        check_inner_steps(inner_steps)

    def __init__(self, data: Ratings, lam: float, reg_mode: str, step, rng=None, inner_steps=1, biased=False,
                 lam_b=0.0, mu=0.0, K=1, **_):
        self.data, self.lam, self.step, self.L = data, lam, step, inner_steps
        self.weights = penalty_weights(data, reg_mode)
        self.biased, self.mu = biased, mu
        if biased:                                 # the penalty λ w_r S of the augmented rows, as in ALS (§11.3)
            self.lam, self.scale = (lam, np.array([1.0] * K + [lam_b / lam])) if lam > 0 else \
                (lam_b, np.array([0.0] * K + [1.0]))

    def iterate(self, P, Q, b, c, it, F_prev):
        """One ALS+GD iteration (Algorithm 3; §11.3 with biases); α is reported for a fixed step, NaN for per-row
        rules."""
        alpha = np.nan if isinstance(self.step, str) else float(self.step)
        if not self.biased:
            P, Q = _iteration(P, Q, self.data, self.lam, self.weights, self.L, self.step)
            return P, Q, b, c, alpha
        return (*_biased_iteration(P, Q, b, c, self.data, self.lam, self.weights, self.L, self.step, self.scale,
                                   self.mu), alpha)
