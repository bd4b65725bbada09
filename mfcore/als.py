"""Alternating least squares, the slides' Algorithm 1 (notes/derivations.md §4).

With P fixed, F splits into one ridge regression per item (notes/derivations.md §4.1)::

    q_i = (Σ_{u∈U_i} p_u p_uᵀ + λ|Ω| I)⁻¹ Σ_{u∈U_i} r_ui p_u        (Algorithm 1, line 7)

and with Q fixed into one per user (line 11, sum over i ∈ I_u).  The ridge is
λ|Ω| for ``reg_mode="mean"`` (eq. 1) and λ|U_i| for ``"weighted"`` (ALS-WR),
i.e. λ|Ω|w_i with the penalty weights of notes/derivations.md §6.4.  Both half-steps run the
same numba kernel, :func:`ridge_solve_rows`, with the roles of P and Q swapped:
per row it forms the K×K system and solves it by Cholesky (never an inverse,
notes/derivations.md §4.7).  Rows with no rating get exactly 0; with λ = 0 each row gets the
minimum-norm least-squares solution (notes/derivations.md §4.4).
"""

from __future__ import annotations

import warnings

import numpy as np
from numba import njit

from ._validate import check_data, check_factor, check_factors, check_finite, check_lam
from .data import Compressed, Ratings
from .gradient import penalty_weights
from .objective import FASTMATH

__all__ = ["als_item_step", "als_user_step", "als_iteration", "ridge_solve_rows", "gather_rows", "gram", "rhs"]

EPS = np.finfo(np.float64).eps


@njit(cache=True, fastmath=FASTMATH)
def _cholesky_solve(A, ridge, b):
    """b ← (A + ridge·I)⁻¹ b via A + ridge·I = UᵀU (in place in the upper triangle of A); False if numerically singular."""
    K = A.shape[0]
    largest = 0.0
    for a in range(K):
        A[a, a] += ridge
        largest = max(largest, A[a, a])
    tiny = K * EPS * largest                   # a pivot below this is rounding noise: A is numerically singular
    for j in range(K):                         # right-looking Cholesky: row j of U, then update the rest
        if not A[j, j] > tiny:
            return False
        d = np.sqrt(A[j, j])
        A[j, j] = d
        Uj = A[j, j + 1:]
        Uj /= d
        for i in range(j + 1, K):
            Ai = A[i, i:]
            Uji = Uj[i - j - 1:]
            u = Uj[i - j - 1]
            for c in range(K - i):
                Ai[c] -= u * Uji[c]
    for j in range(K):                         # Uᵀ y = b (forward)
        b[j] /= A[j, j]
        for c in range(j + 1, K):
            b[c] -= b[j] * A[j, c]
    for j in range(K - 1, -1, -1):             # U x = y (backward)
        s = b[j]
        for c in range(j + 1, K):
            s -= A[j, c] * b[c]
        b[j] = s / A[j, j]
    return True


@njit(cache=True, fastmath=FASTMATH)
def _lstsq_solve(F_U, y, ridge):
    """Minimum-norm x of min ‖[F_U; √ridge·I] x − [y; 0]‖ (λ = 0, or a Cholesky that failed), notes/derivations.md §4.4."""
    cnt, K = F_U.shape
    extra = K if ridge > 0.0 else 0
    X = np.zeros((cnt + extra, K))
    z = np.zeros(cnt + extra)
    X[:cnt] = F_U
    z[:cnt] = y
    for k in range(extra):
        X[cnt + k, k] = np.sqrt(ridge)
    rcond = EPS * max(cnt + extra, K)           # numpy's default cut-off
    return np.linalg.lstsq(X, z, rcond)[0]


@njit(cache=True, fastmath=FASTMATH)
def gather_rows(F, index, start, end, XT):
    """XT[:, :cnt] ← F_Uᵀ, the rows F[index[start:end]] as columns (one latent coordinate per row of XT)."""
    for j in range(end - start):
        f = F[index[start + j]]
        for a in range(F.shape[1]):
            XT[a, j] = f[a]


@njit(cache=True, fastmath=FASTMATH)
def gram(XT, cnt, A):
    """A ← F_Uᵀ F_U = Σ_u f_u f_uᵀ from the gathered XT (full, symmetric).

    Plain loops in a fixed summation order (no BLAS): the same bits in every process and
    thread setting, so parallel and serial cross-validation agree exactly.
    """
    K = XT.shape[0]
    for a in range(K):
        xa = XT[a, :cnt]
        for c in range(a, K):
            xc = XT[c, :cnt]
            s = 0.0
            for j in range(cnt):
                s += xa[j] * xc[j]
            A[a, c] = s
            A[c, a] = s


@njit(cache=True, fastmath=FASTMATH)
def rhs(XT, cnt, r_U, b):
    """b ← F_Uᵀ r_U = Σ_u r_u f_u from the gathered XT."""
    for a in range(XT.shape[0]):
        xa = XT[a, :cnt]
        s = 0.0
        for j in range(cnt):
            s += r_U[j] * xa[j]
        b[a] = s


@njit(cache=True, fastmath=FASTMATH)
def ridge_solve_rows(F, indptr, index, values, ridge, out):
    """Row r of ``out`` ← (F_Uᵀ F_U + ridge_r I)⁻¹ F_Uᵀ r_U, i.e. (Σ f fᵀ + ridge I)⁻¹ Σ r f (Algorithm 1 lines 7/11, notes/derivations.md §4.2).

    ``F`` is the fixed factor (P for the item step, Q for the user step) and
    (indptr, index, values) the CSR view listing, per row, the rows U of F and
    the ratings r_U.  The K×K system is solved by Cholesky (never an inverse).
    Empty rows get 0; rows with ridge 0 (λ = 0) or a numerically singular system get the
    minimum-norm least-squares solution.  Returns how many rows took that path.
    """
    K = F.shape[1]
    n_rows = indptr.shape[0] - 1
    longest = 0
    for r in range(n_rows):
        longest = max(longest, indptr[r + 1] - indptr[r])
    XT = np.empty((K, longest))                # F_Uᵀ: the gathered fixed rows, one latent coordinate per row
    A = np.empty((K, K))                       # Σ f fᵀ (upper triangle), then its Cholesky factor
    b = np.empty(K)                            # Σ r f, then the solution
    n_lstsq = 0
    for r in range(n_rows):
        start = indptr[r]
        end = indptr[r + 1]
        cnt = end - start
        if cnt == 0:                           # unseen row: A = ridge·I, b = 0, so the row is 0
            out[r, :] = 0.0
            continue
        gather_rows(F, index, start, end, XT)
        r_U = values[start:end]
        if cnt < K and ridge[r] > 0.0:
            # Fewer ratings than K: the same solution from the cnt × cnt "dual" system,
            # (F_UᵀF_U + ρI)⁻¹F_Uᵀr = F_Uᵀ(F_U F_Uᵀ + ρI)⁻¹r  (push-through identity), O(cnt²K + cnt³)
            G = A[:cnt, :cnt]
            z = b[:cnt]
            for j in range(cnt):               # G = F_U F_Uᵀ, z = r_U
                z[j] = r_U[j]
                for l in range(j, cnt):
                    s = 0.0
                    for a in range(K):
                        s += XT[a, j] * XT[a, l]
                    G[j, l] = s
                    G[l, j] = s
            if _cholesky_solve(G, ridge[r], z):
                for a in range(K):
                    s = 0.0
                    for j in range(cnt):
                        s += XT[a, j] * z[j]
                    out[r, a] = s
                continue
        gram(XT, cnt, A)                       # Σ_{u∈U_i} p_u p_uᵀ
        rhs(XT, cnt, r_U, b)                   # Σ_{u∈U_i} r_ui p_u
        if ridge[r] > 0.0 and _cholesky_solve(A, ridge[r], b):
            out[r, :] = b
        else:
            out[r, :] = _lstsq_solve(XT[:, :cnt].T.copy(), values[start:end], ridge[r])
            n_lstsq += 1
    return n_lstsq


def _check_fixed(F, data: Ratings, side: str) -> np.ndarray:
    """The fixed factor (P for the item step, Q for the user step) as finite C-contiguous float64."""
    if side == "P":
        F = check_factor(F, data.n_users, "P", "n_users")
    else:
        F = check_factor(F, data.n_items, "Q", "n_items")
    check_finite(**{side: F})
    return F


def _warn_lam_zero(lam: float) -> None:
    if lam == 0.0:
        warnings.warn(
            "ALS with lam=0: the normal equations Σ p pᵀ q = Σ r p can be singular (e.g. a row with fewer "
            "than K ratings), so the block minimiser is not unique; using the minimum-norm least-squares "
            "solution (notes/derivations.md §4.4). Use lam > 0 for a unique solution.", UserWarning, stacklevel=4)


def _solve(F: np.ndarray, view: Compressed, ridge: np.ndarray) -> np.ndarray:
    out = np.empty((len(view.indptr) - 1, F.shape[1]))
    ridge_solve_rows(F, view.indptr, view.index, view.values, np.ascontiguousarray(ridge, dtype=np.float64), out)
    return out


def _half_step(F, data: Ratings, lam: float, reg_mode: str, side: str) -> np.ndarray:
    """One ALS half-step: solve every row of the ``side`` ("item" or "user") with the other factor F fixed."""
    data = check_data(data)
    lam = check_lam(lam)
    w_user, w_item = penalty_weights(data, reg_mode)
    F = _check_fixed(F, data, "P" if side == "item" else "Q")
    _warn_lam_zero(lam)
    view, w = (data.by_item, w_item) if side == "item" else (data.by_user, w_user)
    return _solve(F, view, lam * len(data) * w)


def als_item_step(P, data: Ratings, lam: float, reg_mode: str = "mean") -> np.ndarray:
    """Q with q_i = (Σ_{u∈U_i} p_u p_uᵀ + λ|Ω|w_i I)⁻¹ Σ_{u∈U_i} r_ui p_u (Algorithm 1 line 7, notes/derivations.md §4.2)."""
    return _half_step(P, data, lam, reg_mode, "item")


def als_user_step(Q, data: Ratings, lam: float, reg_mode: str = "mean") -> np.ndarray:
    """P with p_u = (Σ_{i∈I_u} q_i q_iᵀ + λ|Ω|w_u I)⁻¹ Σ_{i∈I_u} r_ui q_i (Algorithm 1 line 11; the sum is over i∈I_u, not the slides' u∈U_i, notes/errata.md E4)."""
    return _half_step(Q, data, lam, reg_mode, "user")


def als_iteration(P, Q, data: Ratings, lam: float, reg_mode: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """(P⁽ˡ⁺¹⁾, Q⁽ˡ⁺¹⁾): item step from P, then user step from the new Q (Algorithm 1 lines 5–12, notes/derivations.md §4.3); Q is only validated, ALS needs only P⁽⁰⁾."""
    P, Q = check_factors(P, Q, check_data(data))
    Q_new = als_item_step(P, data, lam, reg_mode)
    return als_user_step(Q_new, data, lam, reg_mode), Q_new
