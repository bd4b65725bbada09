"""ALS+GD, the slides' Algorithms 3/4 (notes/derivations.md §5): ALS with each block solve replaced by GD steps.

With P fixed, F is a constant plus Σ_i g_i(q_i) with the per-item quadratic

    g_i(q) = (1/|Ω|) Σ_{u∈U_i} (r_ui − p_uᵀq)² + λ w_i ‖q‖²,

and every item row takes the slides' step (notes/derivations.md §5.1), starting from its current value:

    q ← q − 2α ( −(1/|Ω|) Σ_{u∈U_i} p_u (r_ui − p_uᵀq) + λ w_i q )  =  q − α ∇g_i(q).

The user sweep is the same with Q⁽ˡ⁺¹⁾ fixed (notes/errata.md E7).  ``w_i`` is 1 for
``reg_mode="mean"`` (eq. 1) and |U_i|/|Ω| for ``"weighted"`` (notes/derivations.md §6.4).  One
numba kernel, :func:`block_gd_rows`, runs both sweeps with the roles swapped.
Step sizes (notes/derivations.md §5.2): ``"block"`` α_i = 1/L_i, ``"block_trace"`` α_i = 1/L̄_i
(the default: cheap and never increases F), ``"global"`` one α = 1/max_i L̄_i,
or a float (the slides' fixed α, which may diverge).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from numba import njit

from ._validate import check_data, check_factors, check_finite, check_lam
from .data import Compressed, Ratings
from .als import gather_rows, gram
from .gradient import penalty_weights
from .objective import FASTMATH

__all__ = ["block_gd_step", "als_gd_iteration", "block_gd_rows", "block_curvature", "STEPS"]

#: The named step-size rules of notes/derivations.md §5.2 (a positive float is the slides' fixed α).
STEPS = ("block", "block_trace", "global")


@njit(cache=True, fastmath=FASTMATH)
def block_curvature(F, indptr, index, exact, out):
    """out[r] = λ_max(Σ_{u∈U_r} f_u f_uᵀ) (``exact``) or its upper bound Σ‖f_u‖² (notes/derivations.md §5.2); 0 for empty rows."""
    K = F.shape[1]
    n_rows = indptr.shape[0] - 1
    longest = 0
    for r in range(n_rows):
        longest = max(longest, indptr[r + 1] - indptr[r])
    XT = np.empty((K, longest))
    A = np.empty((K, K))
    for r in range(n_rows):
        start = indptr[r]
        end = indptr[r + 1]
        if start == end:
            out[r] = 0.0
        elif exact:
            gather_rows(F, index, start, end, XT)
            gram(XT, end - start, A)
            out[r] = np.linalg.eigvalsh(A)[-1]
        else:
            s = 0.0
            for j in range(start, end):
                for k in range(K):
                    s += F[index[j], k] * F[index[j], k]
            out[r] = s


@njit(cache=True, fastmath=FASTMATH)
def block_gd_rows(F, G, indptr, index, values, lam_w, n_omega, alpha, n_steps, tol, out):
    """Row r of ``out`` ← G[r] after GD steps q ← q − 2α_r(−(1/|Ω|)Σ f(r − fᵀq) + λw_r q) (Algorithm 3 line 7/11).

    Takes ``n_steps`` steps, or with ``tol >= 0`` stops early once ‖∇g_r‖ ≤ tol.
    Each step recomputes the residuals against the current q: O(|U_r| K).
    Returns the number of rows that still had ‖∇g_r‖ > tol (0 when tol < 0).
    """
    K = F.shape[1]
    half_grad = np.empty(K)                    # the slides' bracket, ∇g_r(q) / 2
    not_converged = 0
    for r in range(indptr.shape[0] - 1):
        q = out[r]
        q[:] = G[r]                            # warm start from the current row
        converged = tol < 0.0
        for _ in range(n_steps):
            for k in range(K):
                half_grad[k] = lam_w[r] * q[k]
            for j in range(indptr[r], indptr[r + 1]):
                p = F[index[j]]
                e = values[j]                  # e = r_ui − p_uᵀq, the residual at the current q
                for k in range(K):
                    e -= p[k] * q[k]
                c = e / n_omega
                for k in range(K):
                    half_grad[k] -= c * p[k]
            if tol >= 0.0:
                norm2 = 0.0
                for k in range(K):
                    norm2 += half_grad[k] * half_grad[k]
                if 2.0 * np.sqrt(norm2) <= tol:
                    converged = True
                    break
            for k in range(K):
                q[k] -= 2.0 * alpha[r] * half_grad[k]
        if not converged:
            not_converged += 1
    return not_converged


# ---------------------------------------------------------------------------------------------- checks
def _check_inner(inner_steps, step, tol_inner, max_inner):
    if isinstance(inner_steps, str):
        if inner_steps != "exact":
            raise ValueError(f"inner_steps must be a positive integer (L, the number of GD steps per block) "
                             f"or 'exact' (GD until convergence), got {inner_steps!r}.")
    elif isinstance(inner_steps, bool) or not isinstance(inner_steps, numbers.Integral) or inner_steps < 1:
        raise ValueError(f"inner_steps must be a positive integer (L >= 1 GD steps per block) or 'exact', "
                         f"got {inner_steps!r}.")
    if isinstance(step, str):
        if step not in STEPS:
            raise ValueError(f"step must be one of {STEPS} (notes/derivations.md §5.2) or a positive float α, got {step!r}.")
    elif (isinstance(step, bool) or not isinstance(step, numbers.Real) or not np.isfinite(step)
          or step <= 0):
        raise ValueError(f"step must be one of {STEPS} or a finite step size α > 0, got {step!r}.")
    if (isinstance(tol_inner, bool) or not isinstance(tol_inner, numbers.Real) or not np.isfinite(tol_inner)
            or tol_inner < 0):
        raise ValueError(f"tol_inner must be a finite number >= 0 (the ‖∇g_i‖ at which 'exact' stops), "
                         f"got {tol_inner!r}.")
    if isinstance(max_inner, bool) or not isinstance(max_inner, numbers.Integral) or max_inner < 1:
        raise ValueError(f"max_inner must be a positive integer (the step cap of 'exact'), got {max_inner!r}.")


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
                         "(P, Q, data.by_item, ...) for the item sweep and (Q, P, data.by_user, ...) for the user sweep.")
    if len(view.index) and view.index.max() >= F.shape[0]:
        raise ValueError(f"the view refers to row {view.index.max()} of F, which has only {F.shape[0]} rows: "
                         "pass P with data.by_item and Q with data.by_user.")
    if isinstance(n_omega, bool) or not isinstance(n_omega, numbers.Integral) or n_omega < 1:
        raise ValueError(f"n_omega must be |Ω|, a positive integer, got {n_omega!r}.")
    check_finite(F=F, G=G)
    w = np.ascontiguousarray(w, dtype=np.float64)
    if w.shape != (G.shape[0],) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"w must hold one finite penalty weight >= 0 per row of G ({G.shape[0]}), "
                         "e.g. from mfcore.gradient.penalty_weights.")
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


def _sweep(F, G, view, lam, n_omega, w, inner_steps, step, tol_inner, max_inner):
    lam_w = lam * w
    alpha = _step_sizes(F, view, lam_w, n_omega, step)
    exact = inner_steps == "exact"
    out = np.empty_like(G)
    stuck = block_gd_rows(F, G, view.indptr, view.index, view.values, lam_w, float(n_omega), alpha,
                          max_inner if exact else inner_steps, tol_inner if exact else -1.0, out)
    if isinstance(step, str) and step != "global":
        # An unseen row has g_i(q) = λw_i‖q‖², H = 2λw_i I, so α_i = 1/(2λw_i) lands on 0 in one step
        # (notes/derivations.md §5.2); write that 0 exactly rather than a rounding residue.
        out[(view.counts == 0) & (lam_w > 0)] = 0.0
    if stuck:
        warnings.warn(f"ALS+GD inner_steps='exact': {stuck} of {G.shape[0]} blocks did not reach "
                      f"‖∇g_i‖ <= tol_inner={tol_inner:g} within max_inner={max_inner} steps; raise max_inner, "
                      "loosen tol_inner, or use step='block' (α_i = 1/L_i).", UserWarning, stacklevel=3)
    return out


def block_gd_step(F, G, view: Compressed, lam: float, n_omega: int, w, inner_steps=1, step="block_trace",
                  tol_inner: float = 1e-10, max_inner: int = 10_000) -> np.ndarray:
    """G after ``inner_steps`` slide GD steps per row with F fixed (Algorithm 3 line 7 / line 11, notes/derivations.md §5.1–5.3).

    Item sweep: ``block_gd_step(P, Q, data.by_item, lam, len(data), w_item)``; user sweep:
    ``block_gd_step(Q, P, data.by_user, lam, len(data), w_user)`` (weights from
    :func:`mfcore.gradient.penalty_weights`).  ``inner_steps`` is L >= 1 or ``"exact"``
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
    """(P⁽ˡ⁺¹⁾, Q⁽ˡ⁺¹⁾): GD item sweep with P⁽ˡ⁾ fixed, then GD user sweep with Q⁽ˡ⁺¹⁾ fixed (Algorithm 3, notes/derivations.md §5, notes/errata.md E7).

    With ``inner_steps=1`` and a float ``step`` this is alternating gradient descent
    (notes/derivations.md §5.3).  Unseen rows: with λ > 0 and "block"/"block_trace" they become 0;
    under ``reg_mode="weighted"`` they carry no penalty (w = 0) and stay where they are.
    """
    data = check_data(data)
    lam = check_lam(lam)
    w_user, w_item = penalty_weights(data, reg_mode)
    P, Q = check_factors(P, Q, data)
    check_finite(P=P, Q=Q)
    _check_inner(inner_steps, step, tol_inner, max_inner)
    n_omega = len(data)
    Q_new = _sweep(P, Q, data.by_item, lam, n_omega, w_item, inner_steps, step, tol_inner, max_inner)
    P_new = _sweep(Q_new, P, data.by_user, lam, n_omega, w_user, inner_steps, step, tol_inner, max_inner)
    return P_new, Q_new
