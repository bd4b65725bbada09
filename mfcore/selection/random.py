"""Random search (notes/derivations.md §10): K uniform on an integer range, log10 λ uniform (λ acts
multiplicatively)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .._validate import check_data
from .result import SearchResult
from .trials import check_ranges, check_search, check_trials, make_folds, run_trials

__all__ = ["random_search"]


def random_search(train, K=(1, 16), lam=(1e-7, 1e-3), n_trials: int = 20, solver: str = "als", cv=0.2,
                  n_jobs: int = 1, seed=0, verbose: bool = True, **fit_options) -> SearchResult:
    """Random search (notes/derivations.md §10): K ~ U{K_lo..K_hi}, log10 λ ~ U(log10 λ_lo, log10 λ_hi),
    ``n_trials`` draws.

    Returns the same :class:`SearchResult` as :func:`grid_search`; the boundary rule runs on the ranges.
    """
    train = check_data(train, "train")
    K_range, lam_range = check_ranges(K, lam)
    check_trials(n_trials)
    check_search(K_range[0], lam_range[0], solver, seed, fit_options, n_jobs)
    rng = np.random.default_rng(seed)
    Ks = rng.integers(K_range[0], K_range[1] + 1, size=n_trials)
    lams = 10.0 ** rng.uniform(math.log10(lam_range[0]), math.log10(lam_range[1]), size=n_trials)
    configs = [(int(k), float(f"{v:.4g}")) for k, v in zip(Ks, lams)]
    folds = make_folds(train, cv, seed)
    rows = run_trials(configs, folds, solver, seed, fit_options, n_jobs, desc=f"random {solver}", verbose=verbose)
    for t, row in enumerate(rows):
        row["trial"] = t // len(folds)
    return SearchResult.from_table(pd.DataFrame(rows), solver=solver, seed=seed, fit_options=fit_options,
                                   fit_sizes=[len(f) for f, _ in folds], method="random",
                                   K_range=K_range, lam_range=lam_range)
