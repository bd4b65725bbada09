"""Hyperparameter optimisation beyond grids (notes/derivations.md §10): random search and Bayesian optimisation.

Both return the same :class:`~mfcore.cv.SearchResult` as :func:`~mfcore.grid_search`, so one plot
(:func:`compare_searches`) can put grid, random and Bayesian search side by side by the best
validation RMSE against trials and against seconds.

* Random search draws K uniformly from an integer range and log10 λ uniformly (λ acts
  multiplicatively), from ``default_rng(seed)``.
* Bayesian optimisation uses optuna's TPE sampler: it splits past trials into "good" and "bad" at a
  quantile, models their densities l(x) and g(x) and proposes the x maximising l/g.  Trials are
  pruned on the per-iteration validation RMSE (median rule) when the split is a hold-out.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from ._validate import check_data
from .cv import SearchResult, _check_n_jobs, _fit_one, _result, make_folds, run_trials
from .estimator import MF
from .progress import progress

__all__ = ["random_search", "bayes_search", "compare_searches"]


def _check_ranges(K, lam) -> tuple[tuple[int, int], tuple[float, float]]:
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


def _check_trials(n_trials):
    if isinstance(n_trials, bool) or not isinstance(n_trials, numbers.Integral) or n_trials < 1:
        raise ValueError(f"n_trials must be an integer >= 1, got {n_trials!r}.")


def _space_flags(res: SearchResult, K_range, lam_range) -> None:
    """Boundary rule for continuous searches: is K* an end of its range, λ* in the outer 5% (log)?"""
    b = res.best_params
    k_lo, k_hi = K_range
    pos = (math.log10(b["lam"]) - math.log10(lam_range[0])) / max(math.log10(lam_range[1] / lam_range[0]), 1e-12)
    res.on_boundary = {"K": k_lo < k_hi and b["K"] in (k_lo, k_hi), "lam": lam_range[0] < lam_range[1]
                       and (pos <= 0.05 or pos >= 0.95)}
    advice = []
    if res.on_boundary["lam"]:
        advice.append(f"λ* = {b['lam']:.3g} is at the {'top' if pos >= 0.95 else 'bottom'} of the searched range "
                      f"[{lam_range[0]:.3g}, {lam_range[1]:.3g}]: widen it.")
    if res.on_boundary["K"]:
        if b["K"] == k_hi:
            advice.append(f"K* = {b['K']} is the top of the searched range: raise it.")
        elif b["K"] > 1:
            advice.append(f"K* = {b['K']} is the bottom of the searched range: lower it.")
        else:
            advice.append("K* = 1 is the bottom of the range and cannot go lower (informational).")
    res.advice = advice or ["the optimum is inside the searched ranges."]


def random_search(train, K=(1, 16), lam=(1e-7, 1e-3), n_trials: int = 20, solver: str = "als", cv=0.2,
                  n_jobs: int = 1, seed=0, verbose: bool = True, **fit_options) -> SearchResult:
    """Random search (notes/derivations.md §10): K ~ U{K_lo..K_hi}, log10 λ ~ U(log10 λ_lo, log10 λ_hi), ``n_trials`` draws."""
    train = check_data(train, "train")
    K_range, lam_range = _check_ranges(K, lam)
    _check_trials(n_trials)
    _check_n_jobs(n_jobs)
    MF(K=K_range[0], lam=lam_range[0], solver=solver, seed=seed, **fit_options)._resolved()
    rng = np.random.default_rng(seed)
    Ks = rng.integers(K_range[0], K_range[1] + 1, size=n_trials)
    lams = 10.0 ** rng.uniform(math.log10(lam_range[0]), math.log10(lam_range[1]), size=n_trials)
    configs = [(int(k), float(f"{l:.4g}")) for k, l in zip(Ks, lams)]
    folds = make_folds(train, cv, seed)
    rows = run_trials(configs, folds, solver, seed, fit_options, n_jobs, desc=f"random {solver}", verbose=verbose)
    for t, row in enumerate(rows):
        row["trial"] = t // len(folds)
    res = _result(rows, "random", solver, seed, fit_options, folds)
    _space_flags(res, K_range, lam_range)
    return res


def bayes_search(train, K=(1, 16), lam=(1e-7, 1e-3), n_trials: int = 20, solver: str = "als", cv=0.2,
                 n_jobs: int = 1, seed=0, prune: bool = True, verbose: bool = True, **fit_options) -> SearchResult:
    """Bayesian optimisation with optuna's TPE (notes/derivations.md §10), pruning on per-iteration validation RMSE.

    TPE proposes each trial from the results of the previous ones, so trials run one after the
    other; ``n_jobs`` > 1 fits the folds of a k-fold trial in parallel (then pruning happens per
    trial, not per iteration).  Pruned trials stay in ``table`` with ``stop_reason == "pruned"``.
    """
    import optuna

    train = check_data(train, "train")
    K_range, lam_range = _check_ranges(K, lam)
    _check_trials(n_trials)
    _check_n_jobs(n_jobs)
    MF(K=K_range[0], lam=lam_range[0], solver=solver, seed=seed, **fit_options)._resolved()
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
        l = trial.suggest_float("lam", *lam_range, log=True)
        l = float(f"{l:.4g}")
        trial_rows, pruned = [], False
        if len(folds) == 1:
            fit, val = folds[0]

            def report(it, row, trial=trial):
                trial.report(float(row["valid_rmse"]), it)
                return prune and trial.should_prune()

            r = _fit_one(k, l, 0, fit, val, solver, seed, fit_options, callback=report)
            pruned = r["stop_reason"] == "callback"
            trial_rows.append(r)
        elif n_jobs == 1:
            for f, (fit, val) in enumerate(folds):
                trial_rows.append(_fit_one(k, l, f, fit, val, solver, seed, fit_options))
                trial.report(float(np.mean([r["valid_rmse"] for r in trial_rows])), f)
                if prune and f < len(folds) - 1 and trial.should_prune():
                    pruned = True
                    break
        else:
            trial_rows = run_trials([(k, l)], folds, solver, seed, fit_options, n_jobs, verbose=False)
        for r in trial_rows:
            r["trial"] = t
            if pruned:
                r["stop_reason"] = "pruned"
        rows.extend(trial_rows)
        value = float(np.mean([r["valid_rmse"] for r in trial_rows]))
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, value)
        bar.update()
    bar.close()
    complete = [r for r in rows if r["stop_reason"] != "pruned"]
    res = _result(complete or rows, "bayes", solver, seed, fit_options, folds)
    res.table = pd.DataFrame(rows)
    _space_flags(res, K_range, lam_range)
    return res


def compare_searches(results: dict, ax=None):
    """Best validation RMSE so far against trials and against seconds, one line per search.

    ``results`` maps a label to a :class:`SearchResult`.  Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for label, res in results.items():
        per_trial = res.table.groupby("trial").agg(valid_rmse=("valid_rmse", "mean"), seconds=("seconds", "sum"),
                                                   stop=("stop_reason", "first"))
        per_trial.loc[per_trial["stop"] == "pruned", "valid_rmse"] = np.inf
        best = np.minimum.accumulate(per_trial["valid_rmse"].to_numpy())
        trials = np.arange(1, len(best) + 1)
        seconds = np.cumsum(per_trial["seconds"].to_numpy())
        finite = np.isfinite(best)
        axes[0].step(trials[finite], best[finite], where="post", label=label)
        axes[1].step(seconds[finite], best[finite], where="post", label=label)
    axes[0].set_xlabel("trials")
    axes[1].set_xlabel("cumulative fitting time (s)")
    for a, title in zip(axes, ("against trials", "against seconds")):
        a.set_ylabel("best validation RMSE so far (stars)")
        a.set_title(f"Search progress {title}")
        a.grid(alpha=0.3)
        a.legend()
    return fig
