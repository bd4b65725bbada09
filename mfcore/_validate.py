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
    """P must be (n_users, K) and Q (n_items, K), finite float64 (returned C-contiguous)."""
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
                         f"SGD / ALS-WR, MATH §6.4), got {reg_mode!r}.")
    return reg_mode
