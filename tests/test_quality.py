"""Quality on MovieLens ml-latest-small (slow): every solver gets within 0.02 of ALS's test RMSE.

The requirement: on the loader's ml-latest-small, anchored 80/20 split
``train_test_split(data, 0.2, seed=0)``, every solver with a reasonable (K, λ)
reaches a test RMSE within 0.02 of ALS's.  All solvers minimise the same
eq. (1) (``reg_mode="mean"``), so they share (K, λ) and differ only in their
budget and step sizes; their final objectives must agree too.

How the settings were chosen (never on the test set, notes/derivations.md §9.3–9.6):

* (K*, λ*) by ALS (converged: ``max_iter=1000, tol=1e-10``) on a validation split of
  the training data, ``train_test_split(train, 0.2, seed=1)``.  Validation RMSE,
  seed 0: K=1 is best at every λ (λ=3e-6: 0.8736, 1e-5: 0.8748, 3e-5: 0.8858,
  1e-4: 0.9563); K=2 at best 0.903 (λ=1e-5), K=3 0.939 (λ=5e-5), K>=4 worse;
  global mean 1.038.  Among the near-ties at K=1 (flat below 1e-5) the largest
  λ, 1e-5 (+0.0012), is taken: the simpler model, in the usual range for |Ω| ≈ 80k.
* The refit on all of ``train`` keeps the ridge (notes/derivations.md §9.6):
  λ = λ*·|Ω_fit|/|Ω_train| = 8e-6.
* Budgets and step sizes: settings tried on the same validation split that bring each
  solver's validation RMSE within 0.001 and its objective within 0.1% of converged ALS
  at a few seconds per fit.  SGD's old default step=0.01 does not (noise floor: F ≈ 4x ALS's).

On the same validation split, with K >= 2 and λ <= 5e-5, GD, SGD and BGD stall
0.5-3% above ALS's objective with a validation RMSE 0.016-0.045 higher, even
with 15,000 GD steps (about 20 s); ALS and ALS+GD reach the lower minimum.  That regime is
not what this file checks.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

import mfcore
from mfcore import MF
from mfcore.estimator import SOLVERS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

K = 1
LAM_STAR = 1e-5            # chosen on the validation split (see the docstring)
SEED = 0
RMSE_TOL = 0.02            # the requirement
OBJECTIVE_RTOL = 0.01      # same function minimised: final F within 1% of ALS's
BASELINE_MARGIN = 0.10     # ALS must beat the global mean by at least this much


class InverseDecay:
    """α_t = α₀ / (1 + t/τ) (notes/derivations.md §6.6), with a readable repr for the failure messages."""

    def __init__(self, alpha0: float, tau: float):
        self.alpha0, self.tau = alpha0, tau

    def __call__(self, epoch: int) -> float:
        return self.alpha0 / (1.0 + epoch / self.tau)

    def __repr__(self) -> str:
        return f"{self.alpha0:g}/(1+t/{self.tau:g})"


# Per-solver options on top of (K, λ, seed); everything else is the MF default.
SETTINGS = {
    "als": dict(max_iter=1000, tol=1e-9),
    "gd": dict(max_iter=3000, tol=1e-9),                                      # step="auto" (Armijo)
    "als-gd": dict(max_iter=1000, tol=1e-9),                                  # block_trace, L=1
    "sgd": dict(step=InverseDecay(0.002, 200), max_iter=600),                   # tol off (noisy)
    "bgd": dict(step=InverseDecay(0.5, 50), batch_size=256, max_iter=400),      # tol off (noisy)
}


def _movielens_folder() -> Path:
    """As the ``movielens_dir`` fixture of conftest.py ($MFCORE_DATA, else ../shared/data); skip if absent.

    Repeated here because that fixture is function-scoped and the data and the ALS
    reference are shared by the whole module.
    """
    folder = Path(os.environ.get("MFCORE_DATA", ROOT.parent / "shared" / "data"))
    if not (folder / "ml-latest-small.zip").is_file():
        pytest.skip(f"MovieLens not available: {folder}/ml-latest-small.zip is absent "
                    "(set MFCORE_DATA to a folder holding it)")
    return folder


def _fit(solver: str, train, test, lam: float) -> dict:
    options = SETTINGS[solver]
    start = time.perf_counter()
    model = MF(K=K, lam=lam, solver=solver, seed=SEED, **options).fit(train)
    seconds = time.perf_counter() - start
    return {"solver": solver, "model": model, "seconds": seconds, "test_rmse": model.rmse(test),
            "train_rmse": float(model.history_["train_rmse"].iloc[-1]),
            "objective": float(model.history_["objective"].iloc[-1]),
            "desc": (f"{solver}: K={K}, lam={lam:.3g}, "
                     + ", ".join(f"{k}={v!r}" for k, v in options.items())
                     + f"; n_iter={model.n_iter_} ({model.stop_reason_}), {seconds:.1f} s")}


@pytest.fixture(scope="module")
def quality():
    """ml-latest-small through the loader, the anchored 80/20 split, the refit λ and the ALS reference."""
    data = mfcore.load_movielens("ml-latest-small", data_home=_movielens_folder())
    train, test = mfcore.train_test_split(data, 0.2, seed=0)
    fit_part, _ = mfcore.train_test_split(train, 0.2, seed=1)        # the tuning split (sizes only)
    lam = LAM_STAR * len(fit_part) / len(train)                        # keep the ridge λ|Ω| (notes/derivations.md §9.6)
    als = _fit("als", train, test, lam)
    return {"train": train, "test": test, "lam": lam, "als": als}


def test_als_beats_the_global_mean(quality):
    train, test, als = quality["train"], quality["test"], quality["als"]
    baseline = float(np.sqrt(np.mean((test.ratings - train.mean) ** 2)))
    assert als["model"].stop_reason_ == "tol", f"ALS did not converge: {als['desc']}"
    assert als["test_rmse"] <= baseline - BASELINE_MARGIN, (
        f"ALS test RMSE {als['test_rmse']:.4f} is not clearly below the global-mean baseline "
        f"{baseline:.4f} (needs a margin of {BASELINE_MARGIN}); {als['desc']}")


@pytest.mark.parametrize("solver", [s for s in SOLVERS if s != "als"])
def test_solver_matches_als(solver, quality):
    als = quality["als"]
    res = _fit(solver, quality["train"], quality["test"], quality["lam"])
    gap = res["test_rmse"] - als["test_rmse"]
    assert abs(gap) <= RMSE_TOL, (
        f"{solver} test RMSE {res['test_rmse']:.4f} vs ALS {als['test_rmse']:.4f} (gap {gap:+.4f} > "
        f"{RMSE_TOL}). {res['desc']} | reference {als['desc']}")
    rel = res["objective"] / als["objective"] - 1.0
    assert abs(rel) <= OBJECTIVE_RTOL, (
        f"{solver} final eq. (1) objective {res['objective']:.6f} vs ALS {als['objective']:.6f} "
        f"({rel:+.2%}, allowed ±{OBJECTIVE_RTOL:.0%}): they minimise the same function. "
        f"{res['desc']} | reference {als['desc']}")
