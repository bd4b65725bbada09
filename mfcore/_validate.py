"""Argument checks, run once at the public boundary: fail early, say what to change.

Public functions and :class:`mfcore.MF` check here; the loops below them (the fit loop, the
kernels of ``_kernels.py``) work on arrays that were already checked.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .data import Ratings

REG_MODES = ("mean", "weighted")


def check_scalar(x, name: str, *, integer: bool = False, low: float | None = None, strict: bool = False,
                 hint: str = "") -> float | int:
    """The one scalar check: a finite real (an integer with ``integer=True``) >= ``low`` (> with ``strict``).

    ``name`` names the argument as the user wrote it (e.g. ``"lam (λ)"``); ``hint`` follows the
    bound in the message.  Returns the value as a Python float or int.  bool is never a number.
    """
    ok = not isinstance(x, bool) and isinstance(x, numbers.Integral if integer else numbers.Real)
    ok = ok and (integer or bool(np.isfinite(x)))
    ok = ok and (low is None or (x > low if strict else x >= low))
    if not ok:
        bound = "" if low is None else f" {'>' if strict else '>='} {low:g}"
        raise ValueError(f"{name} must be {'an integer' if integer else 'a finite number'}{bound}{hint}, got {x!r}.")
    return int(x) if integer else float(x)


def check_lam(lam, name: str = "lam (λ)") -> float:
    return check_scalar(lam, name, low=0)


def check_K(K) -> int:
    return check_scalar(K, "K (the latent dimension)", integer=True, low=1)


def check_step(step) -> float:
    """α, the step size (learning rate) of a solver: a finite number > 0."""
    return check_scalar(step, "step (α, the step size / learning rate)", low=0, strict=True)


def renamed_step(step, where: str, **old):
    """``step``, or the value given under an old name (lr, alpha, alpha_trial) with a DeprecationWarning.

    ``old`` holds the deprecated keyword arguments the caller received (None when absent).
    """
    given = {name: value for name, value in old.items() if value is not None}
    if not given:
        return step
    (name, value), *more = given.items()
    if more or step is not None:
        names = ", ".join(["step"] * (step is not None) + list(given))
        raise TypeError(f"{where}: the step size was given twice ({names}); pass it once, as step=.")
    warnings.warn(f"{where}: '{name}' is now called 'step' (one name for the step size α in every solver); "
                  f"'{name}' will be removed in mfcore 0.2.", DeprecationWarning, stacklevel=3)
    return value


def check_data(data, name: str = "data") -> Ratings:
    if not isinstance(data, Ratings):
        hint = ""
        if hasattr(data, "columns"):
            hint = " Convert a DataFrame with mfcore.Ratings.from_frame(df, user=..., item=..., rating=...)."
        raise TypeError(f"{name} must be an mfcore.Ratings, got {type(data).__name__}.{hint}")
    return data


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


def check_factors(P, Q, data: Ratings) -> tuple[np.ndarray, np.ndarray]:
    """P must be (n_users, K) and Q (n_items, K) float arrays (returned C-contiguous float64).

    Non-finite entries are allowed here, so that the objective of a diverging iterate can be
    evaluated (it is inf or NaN); solvers refuse them with :func:`check_finite`.
    """
    if np.ndim(P) != 2 or np.ndim(Q) != 2:
        raise ValueError(f"P and Q must be 2-D factor matrices, got P.ndim={np.ndim(P)} and Q.ndim={np.ndim(Q)}.")
    P = check_factor(P, data.n_users, "P", "n_users")
    Q = check_factor(Q, data.n_items, "Q", "n_items")
    if P.shape[1] != Q.shape[1]:
        raise ValueError(f"P and Q must share the latent dimension K, got P with K={P.shape[1]} "
                         f"and Q with K={Q.shape[1]}.")
    return P, Q


def check_biases(b, c, data: Ratings) -> tuple[np.ndarray, np.ndarray]:
    """The user biases b (n_users,) and item biases c (n_items,), C-contiguous float64; a missing one is zeros."""
    out = []
    for name, v, n, size in (("b (the user biases)", b, data.n_users, "n_users"),
                             ("c (the item biases)", c, data.n_items, "n_items")):
        v = np.zeros(n) if v is None else np.ascontiguousarray(v, dtype=np.float64)
        if v.shape != (n,):
            raise ValueError(f"{name} must be a 1-D array of shape ({size},) = ({n},), got shape {v.shape}.")
        out.append(v)
    return out[0], out[1]


def check_finite(**factors) -> None:
    """Refuse NaN/inf factors before a solver step (e.g. the output of a diverged run)."""
    for name, F in factors.items():
        if not np.isfinite(F).all():
            raise ValueError(f"{name} contains NaN or inf values: start from finite factors "
                             "(a diverged run cannot be continued; restart it with a smaller step or a larger λ).")


def check_in_place(P, Q, data: Ratings) -> tuple[np.ndarray, np.ndarray]:
    """P, Q checked as finite factors of ``data``, and usable for an in-place update (no hidden copy)."""
    P_checked, Q_checked = check_factors(P, Q, data)
    for name, given, checked in (("P", P, P_checked), ("Q", Q, Q_checked)):
        if checked is not given or not checked.flags.writeable:
            raise ValueError(f"{name} is updated in place, so it must be a writeable C-contiguous float64 "
                             f"numpy array; got {type(given).__name__}"
                             f"{'' if not hasattr(given, 'dtype') else f' of dtype {given.dtype}'}. "
                             f"Pass {name} = np.ascontiguousarray({name}, dtype=float) (a copy) and keep it.")
    check_finite(P=P_checked, Q=Q_checked)
    if np.may_share_memory(P_checked, Q_checked):
        raise ValueError("P and Q share memory; pass separate arrays (e.g. P.copy(), Q.copy()).")
    return P_checked, Q_checked


def check_rng(rng) -> np.random.Generator:
    """None → default_rng(0); otherwise a numpy Generator (the one returned by init_factors)."""
    if rng is None:
        return np.random.default_rng(0)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (e.g. the one returned by init_factors) or None, "
                         f"got {type(rng).__name__}; for a seed use np.random.default_rng(seed).")
    return rng


def check_init(init, data: Ratings, K: int) -> tuple[np.ndarray, np.ndarray]:
    """``init=(P0, Q0)`` of :meth:`mfcore.MF.fit`: shapes (n_users, K) and (n_items, K), finite; returned as copies.

    Copies, because SGD and BGD update the factors in place and the caller keeps the start.
    """
    if not isinstance(init, (tuple, list)) or len(init) != 2:
        raise TypeError(f"init must be a pair (P0, Q0) of factor matrices, got {type(init).__name__}"
                        f"{f' of length {len(init)}' if isinstance(init, (tuple, list)) else ''}.")
    P0, Q0 = init
    for name, F in (("P0", P0), ("Q0", Q0)):
        if not np.issubdtype(np.asarray(F).dtype, np.number) or np.asarray(F).dtype.kind == "c":
            raise TypeError(f"init: {name} must be a real numeric array, got dtype {np.asarray(F).dtype}.")
    try:
        P0, Q0 = check_factors(P0, Q0, data)
    except ValueError as exc:
        raise ValueError(f"init: {exc}") from None
    if P0.shape[1] != K:
        raise ValueError(f"init: the factors have K={P0.shape[1]} columns but the model has K={K}; "
                         f"pass factors of shapes ({data.n_users}, {K}) and ({data.n_items}, {K}) or set K.")
    check_finite(P0=P0, Q0=Q0)
    return np.array(P0, dtype=np.float64, order="C"), np.array(Q0, dtype=np.float64, order="C")
