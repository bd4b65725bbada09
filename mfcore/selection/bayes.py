"""Bayesian optimisation (notes/derivations.md §10) with optuna's TPE sampler and pruning.

TPE splits past trials into "good" and "bad" at a quantile, models their densities l(x) and g(x)
and proposes the x maximising l/g.  Trials are pruned on the per-iteration validation RMSE
(median rule) when the split is a hold-out.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from .._validate import check_data
from ..progress import progress
from .result import SearchResult
from .trials import check_ranges, check_search, check_trials, fit_one, make_folds, run_trials

__all__ = ["bayes_search"]


def bayes_search(train, K=(1, 16), lam=(1e-7, 1e-3), n_trials: int = 20, solver: str = "als", cv=0.2,
                 n_jobs: int = 1, seed=0, prune: bool = True, verbose: bool = True, **fit_options) -> SearchResult:
    """Bayesian optimisation with optuna's TPE (notes/derivations.md §10), pruning on per-iteration validation RMSE.

    TPE proposes each trial from the results of the previous ones, so trials run one after the
    other; ``n_jobs`` > 1 fits the folds of a k-fold trial in parallel (then pruning happens per
    trial, not per iteration).  Pruned trials stay in ``table`` with ``stop_reason == "pruned"``; a trial that
    diverges stays with ``stop_reason == "diverged"`` and counts as failed, and the search goes on.
    """
    import optuna

    train = check_data(train, "train")
    K_range, lam_range = check_ranges(K, lam)
    check_trials(n_trials)
    check_search(K_range[0], lam_range[0], solver, seed, fit_options, n_jobs)
    folds = make_folds(train, cv, seed)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed if isinstance(seed, numbers.Integral) else None,
                                         n_startup_trials=min(8, max(2, n_trials // 3)))
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=10) if prune else optuna.pruners.NopPruner()
    study = optuna.create_study(direction="minimize", sampler=sampler, pruner=pruner)
    rows: list[dict] = []
    bar = progress(total=n_trials, desc=f"bayes {solver}", unit="trial", enabled=verbose)
    for t in range(n_trials):
        trial = study.ask()
        k = trial.suggest_int("K", *K_range)
        lam_t = float(f"{trial.suggest_float('lam', *lam_range, log=True):.4g}")
        trial_rows, pruned = _run_trial(trial, k, lam_t, folds, solver, seed, fit_options, n_jobs, prune)
        for r in trial_rows:
            r["trial"] = t
            if pruned:
                r["stop_reason"] = "pruned"
        rows.extend(trial_rows)
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        elif any(r["stop_reason"] == "diverged" for r in trial_rows):     # no value: TPE learns nothing from it
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, float(np.mean([r["valid_rmse"] for r in trial_rows])))
        bar.update()
    bar.close()
    return SearchResult.from_table(pd.DataFrame(rows), solver=solver, seed=seed, fit_options=fit_options,
                                   fit_sizes=[len(f) for f, _ in folds], method="bayes",
                                   K_range=K_range, lam_range=lam_range)


def _run_trial(trial, k, lam, folds, solver, seed, fit_options, n_jobs, prune) -> tuple[list[dict], bool]:
    """The fits of one TPE trial: a hold-out reports every iteration, k folds report after each fold."""
    if len(folds) == 1:
        fit, val = folds[0]

        def report(it, row):
            trial.report(float(row["valid_rmse"]), it)
            return prune and trial.should_prune()

        r = fit_one(k, lam, 0, fit, val, solver, seed, fit_options, callback=report)
        return [r], r["stop_reason"] == "callback"
    if n_jobs != 1:
        return run_trials([(k, lam)], folds, solver, seed, fit_options, n_jobs, verbose=False), False
    rows = []
    for f, (fit, val) in enumerate(folds):
        rows.append(fit_one(k, lam, f, fit, val, solver, seed, fit_options))
        trial.report(float(np.mean([r["valid_rmse"] for r in rows])), f)
        if prune and f < len(folds) - 1 and trial.should_prune():
            return rows, True
    return rows, False
