"""The best (K, λ) and the boundary rule (notes/derivations.md §9.5), shared by every search."""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["select_best", "boundary_flags"]


def select_best(summary: pd.DataFrame, tie_tol: float = 0.0) -> dict:
    """argmin of the validation RMSE; ties (within ``tie_tol``) go to the smaller K, then the larger λ (§9.5)."""
    best = summary["valid_rmse"].min()
    near = summary[summary["valid_rmse"] <= best + tie_tol]
    near = near.sort_values(["K", "lam"], ascending=[True, False])
    row = near.iloc[0]
    return {"K": int(row["K"]), "lam": float(row["lam"])}


def boundary_flags(best: dict, K_values, lam_values, margin: float = 0.0, grid: bool = True) -> tuple[dict, list[str]]:
    """The one boundary rule: is K* or λ* at an end of its searched axis?  With the advice in words
    (notes/derivations.md §9.5).

    The axis is the list of values tried (a grid) or a (low, high) range (random and Bayesian search).
    K* is on the boundary when it is the lowest or the highest K; λ* when it is the lowest or the highest
    λ, or, with ``margin`` > 0 (a continuous range), within that fraction of the range's ends on a log scale.
    ``grid`` only chooses the wording of the advice ("extend the grid" or "widen the range").
    """
    K_values, lam_values = sorted(set(K_values)), sorted(set(lam_values))
    k_lo, k_hi, l_lo, l_hi = K_values[0], K_values[-1], lam_values[0], lam_values[-1]
    low, high = best["lam"] == l_lo, best["lam"] == l_hi
    if margin > 0 and 0 < l_lo < l_hi:
        pos = (math.log10(best["lam"]) - math.log10(l_lo)) / max(math.log10(l_hi / l_lo), 1e-12)
        low, high = low or pos <= margin, high or pos >= 1 - margin
    flags = {"K": k_lo < k_hi and best["K"] in (k_lo, k_hi), "lam": l_lo < l_hi and (low or high)}
    lam, K = f"λ* = {best['lam']:.3g}", f"K* = {best['K']}"
    where = f" [{l_lo:.3g}, {l_hi:.3g}]"
    advice = []
    if flags["lam"]:
        if grid:
            advice.append(f"{lam} is the largest value tried: extend the grid upward (×10)." if high else
                          f"{lam} is the smallest value tried: extend the grid downward (×0.1).")
        else:
            advice.append(f"{lam} is at the {'top' if high else 'bottom'} of the searched range{where}: widen it.")
    if flags["K"]:
        if best["K"] == k_hi:
            advice.append(f"{K} is the largest value tried: add larger K." if grid else
                          f"{K} is the top of the searched range: raise it.")
        elif best["K"] > 1:
            advice.append(f"{K} is the smallest value tried: add smaller K." if grid else
                          f"{K} is the bottom of the searched range: lower it.")
        else:
            advice.append("K* = 1 is the smallest value tried and cannot be extended downward (informational)."
                          if grid else "K* = 1 is the bottom of the range and cannot go lower (informational).")
    if not advice:
        advice.append("the optimum is inside the grid (good grid); a finer grid around it may still help." if grid
                      else "the optimum is inside the searched ranges.")
    return flags, advice
