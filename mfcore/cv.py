"""Cross-validation over (K, λ), Algorithm 6 (notes/derivations.md §9): grid, heatmaps, boundary rule, refit.

Differences from the slides, on purpose (notes/errata.md E15):

* the split is made **once, before the loop** (anchored, §9.2), so every grid
  point is scored on the same validation ratings;
* the test set is an input of the whole procedure and is used once, after the refit;
* the refit keeps the ridge λ|Ω| by default (§9.6).
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._validate import check_data, check_K, check_lam, check_reg_mode
from .data import Ratings
from .estimator import MF
from .progress import progress
from .split import kfold, train_test_split

__all__ = ["grid_search", "lambda_max", "lambda_grid", "SearchResult", "select_best", "boundary_flags",
           "make_folds", "run_trials"]


# ---------------------------------------------------------------------- λ scale
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
    if isinstance(num, bool) or not isinstance(num, numbers.Integral) or num < 1:
        raise ValueError(f"num must be an integer >= 1, got {num!r}.")
    top = lambda_max(train, reg_mode) / 10.0
    span = float(num - 1 if decades is None else decades)
    exponents = np.linspace(-span, 0.0, num) if num > 1 else np.zeros(1)
    return np.array([float(f"{top * 10.0 ** e:.3g}") for e in exponents])


# ---------------------------------------------------------------------- folds and trials
def make_folds(train: Ratings, cv, seed) -> list[tuple[Ratings, Ratings]]:
    """[(fit, validation)]: one anchored hold-out (``cv`` a fraction) or ``cv`` anchored folds (an int)."""
    if isinstance(cv, bool):
        raise ValueError(f"cv must be a fraction in (0, 1) or a number of folds >= 2, got {cv!r}.")
    if isinstance(cv, numbers.Integral):
        return kfold(train, int(cv), seed)
    if isinstance(cv, numbers.Real) and 0 < cv < 1:
        return [train_test_split(train, float(cv), seed)]
    raise ValueError(f"cv must be a fraction in (0, 1) (hold-out) or an integer >= 2 (k-fold), got {cv!r}.")


def _fit_one(K, lam, fold, fit, val, solver, seed, fit_options, callback=None) -> dict:
    start = time.perf_counter()
    model = MF(K=K, lam=lam, solver=solver, seed=seed, **fit_options).fit(fit, val, callback=callback)
    h = model.history_.loc[model.best_iter_] if model.stop_reason_ == "early_stopping" else model.history_.iloc[-1]
    return {"K": K, "lam": lam, "fold": fold, "fit_rmse": float(h["train_rmse"]),
            "valid_rmse": float(h["valid_rmse"]), "objective": float(h["objective"]),
            "n_iter": model.n_iter_, "stop_reason": model.stop_reason_,
            "seconds": time.perf_counter() - start}


def run_trials(configs, folds, solver, seed, fit_options, n_jobs=1, desc="trials", verbose=True) -> list[dict]:
    """Fit every (K, λ) of ``configs`` on every fold; joblib processes when n_jobs > 1; a bar over trials."""
    jobs = [(K, lam, f, fit, val) for K, lam in configs for f, (fit, val) in enumerate(folds)]
    bar = progress(total=len(jobs), desc=desc, unit="fit", enabled=verbose)
    if n_jobs == 1:
        rows = []
        for job in jobs:
            rows.append(_fit_one(*job, solver, seed, fit_options))
            bar.update()
    else:
        from joblib import Parallel, delayed
        parallel = Parallel(n_jobs=n_jobs, return_as="generator")
        rows = []
        for row in parallel(delayed(_fit_one)(*job, solver, seed, fit_options) for job in jobs):
            rows.append(row)
            bar.update()
    bar.close()
    return rows


def _check_n_jobs(n_jobs):
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive integer or -1 (all cores), got {n_jobs!r}.")


# ---------------------------------------------------------------------- selection
def select_best(summary: pd.DataFrame, tie_tol: float = 0.0) -> dict:
    """argmin of the validation RMSE; ties (within ``tie_tol``) go to the smaller K, then the larger λ (§9.5)."""
    best = summary["valid_rmse"].min()
    near = summary[summary["valid_rmse"] <= best + tie_tol]
    near = near.sort_values(["K", "lam"], ascending=[True, False])
    row = near.iloc[0]
    return {"K": int(row["K"]), "lam": float(row["lam"])}


def boundary_flags(best: dict, K_values, lam_values) -> tuple[dict, list[str]]:
    """Is K* or λ* an end value of its grid axis?  With the advice in words (notes/derivations.md §9.5)."""
    K_values, lam_values = sorted(set(K_values)), sorted(set(lam_values))
    flags = {"K": len(K_values) > 1 and best["K"] in (K_values[0], K_values[-1]),
             "lam": len(lam_values) > 1 and best["lam"] in (lam_values[0], lam_values[-1])}
    advice = []
    if flags["lam"]:
        if best["lam"] == lam_values[-1]:
            advice.append(f"λ* = {best['lam']:.3g} is the largest value tried: extend the grid upward (×10).")
        else:
            advice.append(f"λ* = {best['lam']:.3g} is the smallest value tried: extend the grid downward (×0.1).")
    if flags["K"]:
        if best["K"] == K_values[-1]:
            advice.append(f"K* = {best['K']} is the largest value tried: add larger K.")
        elif best["K"] > 1:
            advice.append(f"K* = {best['K']} is the smallest value tried: add smaller K.")
        else:
            advice.append("K* = 1 is the smallest value tried and cannot be extended downward (informational).")
    if not advice:
        advice.append("the optimum is inside the grid (good grid); a finer grid around it may still help.")
    return flags, advice


@dataclass
class SearchResult:
    """What every search returns: the tidy ``table``, ``best_params``, ``on_boundary``, plots, ``refit``."""

    table: pd.DataFrame
    best_params: dict
    on_boundary: dict
    advice: list[str]
    solver: str
    seed: int
    fit_options: dict
    fit_sizes: list[int]
    method: str = "grid"
    K_values: list = field(default_factory=list)
    lam_values: list = field(default_factory=list)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per (K, λ): mean fit/validation RMSE over folds (and its std), total seconds."""
        g = self.table.groupby(["K", "lam"], sort=True)
        out = g.agg(fit_rmse=("fit_rmse", "mean"), valid_rmse=("valid_rmse", "mean"),
                    valid_std=("valid_rmse", "std"), objective=("objective", "mean"),
                    n_iter=("n_iter", "mean"), seconds=("seconds", "sum"))
        first = self.table.groupby(["K", "lam"], sort=True)["trial"].min() if "trial" in self.table else None
        out = out.reset_index()
        if first is not None:
            out["trial"] = first.to_numpy()
        return out

    @property
    def best_valid_rmse(self) -> float:
        s = self.summary
        b = self.best_params
        return float(s[(s.K == b["K"]) & (s.lam == b["lam"])]["valid_rmse"].iloc[0])

    def pivot(self, value: str = "valid_rmse") -> pd.DataFrame:
        """K rows ascending × λ columns ascending of ``value`` (mean over folds)."""
        return self.summary.pivot(index="K", columns="lam", values=value).sort_index().sort_index(axis=1)

    def heatmap(self, annot: bool = True):
        """Train and validation RMSE side by side (seaborn), K rows ascending, λ in scientific notation,
        the argmin of the validation RMSE outlined.  Returns the matplotlib figure."""
        import matplotlib.pyplot as plt
        import seaborn as sns
        from matplotlib.patches import Rectangle

        fig, axes = plt.subplots(1, 2, figsize=(12, 0.55 * len(self.pivot().index) + 2.6), constrained_layout=True)
        for ax, value, title in zip(axes, ("fit_rmse", "valid_rmse"), ("training RMSE", "validation RMSE")):
            table = self.pivot(value)
            sns.heatmap(table, annot=annot, fmt=".3f", cmap="viridis_r", ax=ax,
                        xticklabels=[f"{lam:.1e}" for lam in table.columns], cbar_kws={"label": "RMSE (stars)"})
            ax.set_title(f"{title} ({self.solver}, {self.method})")
            ax.set_xlabel("λ (regularisation)")
            ax.set_ylabel("K (latent dimension)")
            r = list(table.index).index(self.best_params["K"])
            c = list(table.columns).index(self.best_params["lam"])
            ax.add_patch(Rectangle((c, r), 1, 1, fill=False, edgecolor="red", lw=3))
        fig.suptitle(f"best: K*={self.best_params['K']}, λ*={self.best_params['lam']:.3g} "
                     f"(validation RMSE {self.best_valid_rmse:.4f})")
        return fig

    def refit(self, train: Ratings, refit_lam: str = "ridge", **overrides) -> MF:
        """Refit on all of ``train`` with (K*, λ*), the same solver and seed (notes/derivations.md §9.6).

        ``refit_lam="ridge"`` (default) keeps the ridge: λ_refit = λ*·|Ω_fit|/|Ω_train|;
        ``"keep"`` keeps λ*.  The λ used is on the returned model as ``lam`` and ``lam_refit_``.
        """
        train = check_data(train)
        if refit_lam not in ("ridge", "keep"):
            raise ValueError(f"refit_lam must be 'ridge' (keep λ|Ω|) or 'keep' (keep λ), got {refit_lam!r}.")
        lam = self.best_params["lam"]
        if refit_lam == "ridge":
            lam = lam * float(np.mean(self.fit_sizes)) / len(train)
        options = {**self.fit_options, **overrides}
        model = MF(K=self.best_params["K"], lam=lam, solver=self.solver, seed=self.seed, **options).fit(train)
        model.lam_refit_ = lam
        return model


def _result(rows, method, solver, seed, fit_options, folds, tie_tol=0.0) -> SearchResult:
    table = pd.DataFrame(rows)
    res = SearchResult(table=table, best_params={}, on_boundary={}, advice=[], solver=solver, seed=seed,
                       fit_options=dict(fit_options), fit_sizes=[len(f) for f, _ in folds], method=method,
                       K_values=sorted(table.K.unique().tolist()), lam_values=sorted(table.lam.unique().tolist()))
    res.best_params = select_best(res.summary, tie_tol)
    res.on_boundary, res.advice = boundary_flags(res.best_params, res.K_values, res.lam_values)
    return res


def grid_search(train: Ratings, K, lam, solver: str = "als", cv=0.2, n_jobs: int = 1, seed=0,
                tie_tol: float = 0.0, verbose: bool = True, **fit_options) -> SearchResult:
    """Algorithm 6 over the grid K × λ: fit on Ω_fit, score RMSE on Ω_val, pick (K*, λ*) (notes/derivations.md §9.3–9.5).

    ``cv`` is a hold-out fraction (default 0.2) or a number of folds; ``lam="auto"`` uses
    :func:`lambda_grid`.  Extra keyword arguments go to :class:`MF` (e.g. ``max_iter``, ``reg_mode``).
    """
    train = check_data(train, "train")
    K_values, lam_values = _check_grid(K, lam, train, fit_options.get("reg_mode", "mean"))
    _check_n_jobs(n_jobs)
    MF(K=K_values[0], lam=lam_values[0], solver=solver, seed=seed, **fit_options)._resolved()
    folds = make_folds(train, cv, seed)
    configs = [(k, l) for k in K_values for l in lam_values]
    rows = run_trials(configs, folds, solver, seed, fit_options, n_jobs, desc=f"grid {solver}", verbose=verbose)
    for t, row in enumerate(rows):
        row["trial"] = t // len(folds)
    return _result(rows, "grid", solver, seed, fit_options, folds, tie_tol)


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
    lam = [check_lam(l) for l in lam]
    for name, values in (("K", K), ("lam", lam)):
        if len(set(values)) != len(values):
            dups = sorted({v for v in values if values.count(v) > 1})
            raise ValueError(f"the {name} grid repeats {dups}: list each value once.")
    return sorted(K), sorted(lam)
