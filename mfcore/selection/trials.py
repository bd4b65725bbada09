"""The trial runner shared by every search: folds, one fit per (K, λ, fold), in order or in processes."""

from __future__ import annotations

import math
import numbers
import time

import numpy as np

from .._validate import check_scalar
from ..data import Ratings
from ..errors import DivergenceError
from ..estimator import MF
from ..progress import progress
from ..split import kfold, train_test_split

__all__ = ["make_folds", "fit_one", "run_trials", "check_n_jobs", "check_ranges", "check_trials", "check_search"]


def make_folds(train: Ratings, cv, seed) -> list[tuple[Ratings, Ratings]]:
    """[(fit, validation)]: one anchored hold-out (``cv`` a fraction) or ``cv`` anchored folds (an int)."""
    if isinstance(cv, bool):
        raise ValueError(f"cv must be a fraction in (0, 1) or a number of folds >= 2, got {cv!r}.")
    if isinstance(cv, numbers.Integral):
        return kfold(train, int(cv), seed)
    if isinstance(cv, numbers.Real) and 0 < cv < 1:
        return [train_test_split(train, float(cv), seed)]
    raise ValueError(f"cv must be a fraction in (0, 1) (hold-out) or an integer >= 2 (k-fold), got {cv!r}.")


def fit_one(K, lam, fold, fit, val, solver, seed, fit_options, callback=None) -> dict:
    """One trial: MF(K, λ) fitted on ``fit``, scored on ``val``; one row of a search's table.

    A fit that diverges does not stop the search: its row has infinite RMSEs, ``stop_reason == "diverged"``
    and the solver's message in ``error`` (notes/derivations.md §3.4, §10).
    """
    start = time.perf_counter()
    try:
        model = MF(K=K, lam=lam, solver=solver, seed=seed, **fit_options).fit(fit, val, callback=callback)
    except DivergenceError as exc:
        return {"K": K, "lam": lam, "fold": fold, "fit_rmse": np.inf, "valid_rmse": np.inf, "objective": np.inf,
                "n_iter": 0 if exc.history is None else max(len(exc.history) - 1, 0), "best_iter": 0,
                "stop_reason": "diverged", "error": str(exc), "seconds": time.perf_counter() - start}
    h = model.history_.loc[model.best_iter_] if model.stop_reason_ == "early_stopping" else model.history_.iloc[-1]
    return {"K": K, "lam": lam, "fold": fold, "fit_rmse": float(h["train_rmse"]),
            "valid_rmse": float(h["valid_rmse"]), "objective": float(h["objective"]),
            "n_iter": model.n_iter_, "best_iter": model.best_iter_, "stop_reason": model.stop_reason_,
            "error": "", "seconds": time.perf_counter() - start}


def run_trials(configs, folds, solver, seed, fit_options, n_jobs=1, desc="trials", verbose=True) -> list[dict]:
    """Fit every (K, λ) of ``configs`` on every fold; joblib processes when n_jobs > 1; a bar over trials."""
    jobs = [(K, lam, f, fit, val) for K, lam in configs for f, (fit, val) in enumerate(folds)]
    bar = progress(total=len(jobs), desc=desc, unit="fit", enabled=verbose)
    if n_jobs == 1:
        rows = []
        for job in jobs:
            rows.append(fit_one(*job, solver, seed, fit_options))
            bar.update()
    else:
        from joblib import Parallel, delayed
        parallel = Parallel(n_jobs=n_jobs, return_as="generator")
        rows = []
        for row in parallel(delayed(fit_one)(*job, solver, seed, fit_options) for job in jobs):
            rows.append(row)
            bar.update()
    bar.close()
    return rows


def check_n_jobs(n_jobs):
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive integer or -1 (all cores), got {n_jobs!r}.")


def check_search(K, lam, solver, seed, fit_options, n_jobs) -> None:
    """Every argument of a search, before any fit: n_jobs and the MF that each trial will build."""
    check_n_jobs(n_jobs)
    MF(K=K, lam=lam, solver=solver, seed=seed, **fit_options).check_params()


def check_ranges(K, lam) -> tuple[tuple[int, int], tuple[float, float]]:
    """(K_lo, K_hi), (λ_lo, λ_hi) of a random or Bayesian search (λ on a log scale, so λ_lo > 0)."""
    try:
        k_lo, k_hi = K
        l_lo, l_hi = lam
    except (TypeError, ValueError):
        raise ValueError(f"K and lam must be (low, high) ranges, got K={K!r}, lam={lam!r}.") from None
    if not all(isinstance(k, numbers.Integral) and not isinstance(k, bool) for k in (k_lo, k_hi)) \
            or not 1 <= k_lo <= k_hi:
        raise ValueError(f"K must be a range (low, high) of integers with 1 <= low <= high, got {K!r}.")
    if not all(isinstance(x, numbers.Real) and math.isfinite(x) for x in (l_lo, l_hi)) or not 0 < l_lo <= l_hi:
        raise ValueError(f"lam must be a range (low, high) with 0 < low <= high (λ is searched on a log "
                         f"scale), got {lam!r}.")
    return (int(k_lo), int(k_hi)), (float(l_lo), float(l_hi))


def check_trials(n_trials) -> int:
    return check_scalar(n_trials, "n_trials", integer=True, low=1)
