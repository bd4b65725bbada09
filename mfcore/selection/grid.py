"""Cross-validation over a (K, λ) grid, Algorithm 6 (notes/derivations.md §9), and the λ scale (§8.2).

Differences from the slides, on purpose (notes/errata.md E15):

* the split is made **once, before the loop** (anchored, §9.2), so every grid
  point is scored on the same validation ratings;
* the test set is an input of the whole procedure and is used once, after the refit;
* the refit keeps the ridge λ|Ω| by default (§9.6).
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from .._validate import check_data, check_K, check_lam, check_reg_mode, check_scalar
from ..data import Ratings
from .result import SearchResult
from .trials import check_search, make_folds, run_trials

__all__ = ["grid_search", "lambda_max", "lambda_grid"]


def lambda_max(data: Ratings, reg_mode: str = "mean") -> float:
    """λ_max = ‖R_Ω‖₂/|Ω|: for λ >= λ_max the origin is the global minimiser of eq. (1) (notes/derivations.md §8.2).

    For ``reg_mode="weighted"`` the threshold is ‖D_u^{-1/2} R_Ω D_i^{-1/2}‖₂ with D the rating counts.
    """
    data = check_data(data)
    reg_mode = check_reg_mode(reg_mode)
    values = data.ratings
    if reg_mode == "weighted":
        uc, ic = data.user_counts, data.item_counts
        values = values / np.sqrt(uc[data.users] * ic[data.items])
    sigma = data.spectral_norm(values)
    return sigma / len(data) if reg_mode == "mean" else sigma


def lambda_grid(train: Ratings, num: int = 6, reg_mode: str = "mean", decades: float | None = None) -> np.ndarray:
    """A log-spaced grid of ``num`` λ values below λ_max (notes/derivations.md §8.2, §9.3): λ_max·10^{-j}, ascending.

    By default one value per decade, from λ_max·10^{-num} up to λ_max·10^{-1}; ``decades`` spreads
    the ``num`` values over that many decades instead.
    """
    num = check_scalar(num, "num", integer=True, low=1)
    top = lambda_max(train, reg_mode) / 10.0
    span = float(num - 1 if decades is None else decades)
    exponents = np.linspace(-span, 0.0, num) if num > 1 else np.zeros(1)
    return np.array([float(f"{top * 10.0 ** e:.3g}") for e in exponents])


def grid_search(train: Ratings, K, lam, solver: str = "als", cv=0.2, n_jobs: int = 1, seed=0,
                tie_tol: float = 0.0, verbose: bool = True, **fit_options) -> SearchResult:
    """Algorithm 6 over the grid K × λ: fit on Ω_fit, score RMSE on Ω_val, pick (K*, λ*) (notes/derivations.md
    §9.3–9.5).

    ``cv`` is a hold-out fraction (default 0.2) or a number of folds; ``lam="auto"`` uses
    :func:`lambda_grid`.  Extra keyword arguments go to :class:`MF` (e.g. ``max_iter``, ``reg_mode``).
    """
    train = check_data(train, "train")
    K_values, lam_values = _check_grid(K, lam, train, fit_options.get("reg_mode", "mean"))
    check_search(K_values[0], lam_values[0], solver, seed, fit_options, n_jobs)
    folds = make_folds(train, cv, seed)
    configs = [(k, lam_k) for k in K_values for lam_k in lam_values]
    rows = run_trials(configs, folds, solver, seed, fit_options, n_jobs, desc=f"grid {solver}", verbose=verbose)
    for t, row in enumerate(rows):
        row["trial"] = t // len(folds)
    return SearchResult.from_table(pd.DataFrame(rows), solver=solver, seed=seed, fit_options=fit_options,
                                   fit_sizes=[len(f) for f, _ in folds], method="grid", tie_tol=tie_tol)


def _check_grid(K, lam, train, reg_mode) -> tuple[list[int], list[float]]:
    if isinstance(K, (numbers.Integral,)):
        K = [K]
    if isinstance(lam, str):
        if lam != "auto":
            raise ValueError(f"lam must be a list of numbers >= 0 or 'auto', got {lam!r}.")
        lam = lambda_grid(train, reg_mode=reg_mode).tolist()
    elif isinstance(lam, numbers.Real):
        lam = [lam]
    K, lam = list(K), list(lam)
    if not K or not lam:
        raise ValueError(f"the grid is empty (K={K}, lam={lam}): give at least one K and one λ.")
    K = [check_K(k) for k in K]
    lam = [check_lam(v) for v in lam]
    for name, values in (("K", K), ("lam", lam)):
        if len(set(values)) != len(values):
            dups = sorted({v for v in values if values.count(v) > 1})
            raise ValueError(f"the {name} grid repeats {dups}: list each value once.")
    return sorted(K), sorted(lam)
