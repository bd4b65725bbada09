"""Argument checks shared by every public function: fail early, say what to change."""

from __future__ import annotations

import numbers

import numpy as np

from .data import Ratings

REG_MODES = ("mean", "weighted")


def check_data(data, name: str = "data") -> Ratings:
    if not isinstance(data, Ratings):
        hint = ""
        if hasattr(data, "columns"):
            hint = " Convert a DataFrame with mfcore.Ratings.from_frame(df, user=..., item=..., rating=...)."
        raise TypeError(f"{name} must be an mfcore.Ratings, got {type(data).__name__}.{hint}")
    return data


def check_factors(P, Q, data: Ratings) -> tuple[np.ndarray, np.ndarray]:
    """P must be (n_users, K) and Q (n_items, K) float arrays (returned C-contiguous float64).

    Non-finite entries are allowed here, so that the objective of a diverging iterate can be
    evaluated (it is inf or NaN); solvers refuse them with :func:`check_finite`.
    """
    P = np.ascontiguousarray(P, dtype=np.float64)
    Q = np.ascontiguousarray(Q, dtype=np.float64)
    if P.ndim != 2 or Q.ndim != 2:
        raise ValueError(f"P and Q must be 2-D factor matrices, got P.ndim={P.ndim} and Q.ndim={Q.ndim}.")
    if P.shape[0] != data.n_users:
        raise ValueError(f"P has {P.shape[0]} rows but the data has n_users={data.n_users}: "
                         f"P must have shape (n_users, K) = ({data.n_users}, K).")
    if Q.shape[0] != data.n_items:
        raise ValueError(f"Q has {Q.shape[0]} rows but the data has n_items={data.n_items}: "
                         f"Q must have shape (n_items, K) = ({data.n_items}, K).")
    if P.shape[1] != Q.shape[1]:
        raise ValueError(f"P and Q must share the latent dimension K, got P with K={P.shape[1]} "
                         f"and Q with K={Q.shape[1]}.")
    return P, Q


def check_lam(lam) -> float:
    if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not np.isfinite(lam) or lam < 0:
        raise ValueError(f"lam (λ) must be a finite number >= 0, got {lam!r}.")
    return float(lam)


def check_K(K) -> int:
    if isinstance(K, bool) or not isinstance(K, numbers.Integral) or K < 1:
        raise ValueError(f"K (the latent dimension) must be an integer >= 1, got {K!r}.")
    return int(K)


def check_reg_mode(reg_mode) -> str:
    if reg_mode not in REG_MODES:
        raise ValueError(f"reg_mode must be one of {REG_MODES} ('mean' = eq. 1, 'weighted' = the slides' "
                         f"SGD / ALS-WR, notes/derivations.md §6.4), got {reg_mode!r}.")
    return reg_mode


def check_factor(F, n_rows: int, name: str, size_name: str) -> np.ndarray:
    """One factor matrix with ``n_rows`` rows (e.g. the fixed P of an ALS item step), C-contiguous float64."""
    F = np.ascontiguousarray(F, dtype=np.float64)
    if F.ndim != 2:
        raise ValueError(f"{name} must be a 2-D factor matrix of shape ({size_name}, K), got ndim={F.ndim}.")
    if F.shape[0] != n_rows:
        raise ValueError(f"{name} has {F.shape[0]} rows but the data has {size_name}={n_rows}: "
                         f"{name} must have shape ({size_name}, K) = ({n_rows}, K).")
    return F


def check_finite(**factors) -> None:
    """Refuse NaN/inf factors before a solver step (e.g. the output of a diverged run)."""
    for name, F in factors.items():
        if not np.isfinite(F).all():
            raise ValueError(f"{name} contains NaN or inf values: start from finite factors "
                             "(a diverged run cannot be continued; restart it with a smaller step or a larger λ).")


def check_alpha(alpha) -> float:
    """α (a step size / learning rate) must be a finite number > 0."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha (α, the step size / learning rate) must be a finite number > 0, got {alpha!r}.")
    return float(alpha)
