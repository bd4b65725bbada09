"""Grid, random and Bayesian search side by side (notes/derivations.md §10): best validation RMSE so far."""

from __future__ import annotations

import numpy as np

__all__ = ["compare_searches"]


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
