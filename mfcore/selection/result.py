"""``SearchResult``: what every search returns (notes/derivations.md §9.5–9.6): the tidy table, the best point,
plots, refit."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._validate import check_data
from ..data import Ratings
from ..errors import DivergenceError
from ..estimator import MF
from .best import boundary_flags, select_best

__all__ = ["SearchResult"]

#: Columns a table needs (one row per (K, λ, fold)), and what :meth:`SearchResult.from_table` fills in when absent.
REQUIRED = ("K", "lam", "fit_rmse", "valid_rmse")
OPTIONAL = {"fold": 0, "objective": np.nan, "n_iter": 0, "seconds": 0.0, "stop_reason": ""}
#: Options of the trials that only make sense with validation data: the refit drops them (notes/derivations.md §9.6).
EARLY_STOPPING = ("patience", "min_delta", "restore_best")


@dataclass
class SearchResult:
    """What every search returns: the tidy ``table``, ``best_params``, ``on_boundary``, plots, ``refit``.

    Build one with :meth:`from_table`, which applies the selection rule and the boundary rule.
    """

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

    @classmethod
    def from_table(cls, table: pd.DataFrame, *, solver: str = "als", seed=0, fit_options: dict | None = None,
                   fit_sizes=(0,), method: str = "grid", tie_tol: float = 0.0, K_range=None, lam_range=None,
                   best_params: dict | None = None) -> "SearchResult":
        """A result from a table of trials (one row per (K, λ, fold); columns K, lam, fit_rmse, valid_rmse).

        The best point is the argmin of the mean validation RMSE (ties to the smaller K, then the larger λ;
        pruned trials never win) unless ``best_params`` is given.  The boundary rule runs on the grid of
        values tried or, given ``K_range`` and ``lam_range`` (random and Bayesian search), on those ranges.
        ``fit_sizes`` are the |Ω_fit| of the folds (the refit keeps the ridge λ|Ω|).
        """
        missing = [c for c in REQUIRED if c not in table]
        if missing:
            raise ValueError(f"the table lacks the column(s) {missing}: a search table has one row per (K, λ, fold) "
                             f"with columns {list(REQUIRED)}.")
        table = table.copy()
        for col, value in OPTIONAL.items():
            if col not in table:
                table[col] = value
        diverged = table[table["stop_reason"] == "diverged"]
        if len(diverged) and len(diverged) == len(table):
            raise DivergenceError(f"every trial of the search diverged ({len(table)} fits), so nothing can be "
                                  f"chosen. The first: {diverged['error'].iloc[0] if 'error' in table else '?'}")
        scored = table[~table["stop_reason"].isin(["pruned", "diverged"])]
        scored = scored if len(scored) else table[table["stop_reason"] != "diverged"]
        res = cls(table=table, best_params={}, on_boundary={}, advice=[], solver=solver, seed=seed,
                  fit_options=dict(fit_options or {}), fit_sizes=list(fit_sizes), method=method,
                  K_values=sorted(scored.K.unique().tolist()), lam_values=sorted(scored.lam.unique().tolist()))
        res.best_params = dict(best_params) if best_params is not None else \
            select_best(_summary(scored), tie_tol)
        if K_range is None:
            res.on_boundary, res.advice = boundary_flags(res.best_params, res.K_values, res.lam_values)
        else:
            res.on_boundary, res.advice = boundary_flags(res.best_params, K_range, lam_range, margin=0.05, grid=False)
        if len(diverged):
            res.advice.append(_divergence_advice(diverged, table))
        return res

    @property
    def summary(self) -> pd.DataFrame:
        """One row per (K, λ): mean fit/validation RMSE over folds (and its std), total seconds."""
        return _summary(self.table)

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
            table = self.pivot(value).replace([np.inf, -np.inf], np.nan)        # diverged trials: blank cells
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

    def refit(self, train: Ratings, refit_lam: str = "auto", **overrides) -> MF:
        """Refit on all of ``train`` with (K*, λ*), the same solver and seed (notes/derivations.md §9.6).

        ``refit_lam="auto"`` (default) takes the rule of the objective: for ``reg_mode="mean"`` keep the ridge,
        λ_refit = λ*·|Ω_fit|/|Ω_train| ("ridge"); for ``"weighted"`` keep λ* ("keep"), whose penalty already grows
        with each row's ratings.  "ridge" or "keep" forces one rule.  Trials that stopped early (``patience``) are
        refitted without validation data for the number of iterations at which their validation RMSE was best
        (the mean over folds).  The λ used is on the returned model as ``lam`` and ``lam_refit_``.
        """
        train = check_data(train)
        if refit_lam not in ("auto", "ridge", "keep"):
            raise ValueError(f"refit_lam must be 'auto', 'ridge' (keep λ|Ω|) or 'keep' (keep λ), got {refit_lam!r}.")
        options = {**self.fit_options, **overrides}
        if refit_lam == "auto":
            refit_lam = "keep" if options.get("reg_mode", "mean") == "weighted" else "ridge"
        lam = self.best_params["lam"]
        if refit_lam == "ridge":
            lam = lam * float(np.mean(self.fit_sizes)) / len(train)
        if any(options.get(name) is not None for name in EARLY_STOPPING if name != "restore_best") \
                and "max_iter" not in overrides:
            options["max_iter"] = self._best_iterations()
        for name in EARLY_STOPPING:
            options.pop(name, None)
        model = MF(K=self.best_params["K"], lam=lam, solver=self.solver, seed=self.seed, **options).fit(train)
        model.lam_refit_ = lam
        model.refit_rule_ = refit_lam
        return model

    def _best_iterations(self) -> int:
        """The iterations of the best (K, λ)'s trials at their best validation RMSE (mean over folds, at least 1)."""
        b, t = self.best_params, self.table
        rows = t[(t.K == b["K"]) & (t.lam == b["lam"])]
        column = rows["best_iter"] if "best_iter" in rows else rows["n_iter"]
        return max(1, int(round(float(column.mean()))))


def _divergence_advice(diverged: pd.DataFrame, table: pd.DataFrame) -> str:
    trials = diverged.groupby(["K", "lam"]).size()
    lams = sorted(set(diverged["lam"]))
    first = str(diverged["error"].iloc[0]) if "error" in diverged else ""
    return (f"{len(trials)} of {table.groupby(['K', 'lam']).ngroups} (K, λ) settings diverged (λ from {lams[0]:.3g} "
            f"to {lams[-1]:.3g}); they stay in the table with stop_reason 'diverged' and infinite RMSE, and were "
            f"never chosen. The solver said: {first}")


def _summary(table: pd.DataFrame) -> pd.DataFrame:
    g = table.groupby(["K", "lam"], sort=True)
    out = g.agg(fit_rmse=("fit_rmse", "mean"), valid_rmse=("valid_rmse", "mean"),
                valid_std=("valid_rmse", "std"), objective=("objective", "mean"),
                n_iter=("n_iter", "mean"), seconds=("seconds", "sum"))
    first = table.groupby(["K", "lam"], sort=True)["trial"].min() if "trial" in table else None
    out = out.reset_index()
    if first is not None:
        out["trial"] = first.to_numpy()
    return out
