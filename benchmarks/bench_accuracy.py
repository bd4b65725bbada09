"""Accuracy and tuning time: mfcore plain and biased against Surprise SVD and SVD(biased=False), tuned the same way.

    python benchmarks/bench_accuracy.py [--folds 5] [--quick] [--markdown]

The protocol (the one of the issue that introduced the biased model; notes/derivations.md §9, §11):

* data: the repository's MovieLens, ``ml-latest-small`` (``$MFCORE_DATA``), cut into 5 anchored folds
  (``mfcore.kfold``: every user and item keeps a training rating in every fold);
* for each fold, every system is tuned **only on a validation split of its training fold**
  (``mfcore.train_test_split(train, 0.2, seed=fold)``, the same split for every system), then refitted on the
  whole training fold with the chosen hyperparameters and scored once on the test fold;
* predictions are clipped to the rating range of the data (0.5–5 stars here; Surprise clips by itself).

Systems and their search spaces (each a grid over the same kind of settings, so the tuning times compare):

* mfcore plain, ``MF(solver="als")``: K × λ for each ``reg_mode`` (the mode is chosen on validation too);
* mfcore biased, ``MF(solver="als", biased=True)``: the same, with the biases;
* Surprise ``SVD(biased=False)`` and ``SVD()`` (biased): n_factors × reg_all × lr_all, 20 epochs (its default).

The time is the wall time of the whole tuning (all grid fits on the validation split) plus the refit, on one
thread, after a warm-up that compiles mfcore's kernels.  Read the ratios, not the seconds.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import mfcore  # noqa: E402

#: mfcore's grids per model and reg_mode: (K values, λ values).  ALS with tol=1e-5, at most 100 iterations.
MFCORE_GRIDS = {
    "plain": {"mean": ([1, 2, 3, 5, 8], [1e-6, 3e-6, 1e-5, 3e-5, 1e-4]),
              "weighted": ([1, 2, 3, 5, 8], [0.01, 0.03, 0.1, 0.3])},
    "biased": {"mean": ([2, 5, 10, 20, 50], [5e-5, 1e-4, 2e-4, 4e-4]),
               "weighted": ([5, 10, 20, 50, 100], [0.05, 0.1, 0.2, 0.4])},   # validation flattens out by K = 100
}
FIT = {"solver": "als", "max_iter": 100, "tol": 1e-5, "seed": 0}
SURPRISE_GRIDS = {
    "SVD(biased=False)": {"biased": [False], "n_factors": [5, 10, 20, 50], "reg_all": [0.02, 0.05, 0.1, 0.2],
                          "lr_all": [0.005, 0.01]},
    "SVD": {"biased": [True], "n_factors": [20, 50, 100, 200], "reg_all": [0.02, 0.05, 0.1, 0.2],
            "lr_all": [0.005, 0.01]},
}


def clipped_rmse(pred, truth, lo, hi) -> float:
    return float(np.sqrt(np.mean((np.clip(pred, lo, hi) - truth) ** 2)))


def tune_mfcore(model: str, train, test, fold: int, lo: float, hi: float) -> dict:
    """Grid search on a validation split of ``train`` (one per reg_mode), refit on ``train``, score ``test``."""
    start = time.perf_counter()
    best = None
    for reg_mode, (Ks, lams) in MFCORE_GRIDS[model].items():
        res = mfcore.grid_search(train, K=Ks, lam=lams, cv=0.2, verbose=False, reg_mode=reg_mode,
                                 biased=model == "biased", **{k: v for k, v in FIT.items() if k != "seed"},
                                 seed=fold)
        if best is None or res.best_valid_rmse < best.best_valid_rmse:
            best = res
    final = best.refit(train)                          # "mean": keep the ridge; "weighted": keep λ (§9.6)
    seconds = time.perf_counter() - start
    pred = final.predict(test.users, test.items)
    return {"rmse": clipped_rmse(pred, test.ratings, lo, hi), "seconds": seconds, "valid": best.best_valid_rmse,
            "params": f"{best.fit_options['reg_mode']}, K={best.best_params['K']}, λ={best.best_params['lam']:g}"}


def tune_surprise(name: str, train, test, fold: int) -> dict | None:
    """The same protocol for Surprise: its grid fitted on the same fitting part, scored on the same validation part."""
    try:
        import surprise
    except ImportError:
        return None
    fit, val = mfcore.train_test_split(train, 0.2, seed=fold)
    lo, hi = float(train.ratings.min()), float(train.ratings.max())
    reader = surprise.Reader(rating_scale=(lo, hi))

    def trainset(data):
        return surprise.Dataset.load_from_df(data.to_frame()[["user", "item", "rating"]], reader).build_full_trainset()

    def score(algo, data):
        preds = algo.test(list(zip(data.users.tolist(), data.items.tolist(), data.ratings.tolist())))
        return float(np.sqrt(np.mean([(p.est - p.r_ui) ** 2 for p in preds])))

    start = time.perf_counter()
    fit_set = trainset(fit)
    grid = SURPRISE_GRIDS[name]
    best = (np.inf, None)
    for values in itertools.product(*grid.values()):
        params = dict(zip(grid, values))
        algo = surprise.SVD(random_state=0, **params).fit(fit_set)
        v = score(algo, val)
        if v < best[0]:
            best = (v, params)
    final = surprise.SVD(random_state=0, **best[1]).fit(trainset(train))
    seconds = time.perf_counter() - start
    shown = {k: v for k, v in best[1].items() if k != "biased"}
    return {"rmse": score(final, test), "seconds": seconds, "valid": best[0],
            "params": ", ".join(f"{k}={v:g}" for k, v in shown.items())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5, help="number of folds (default 5)")
    parser.add_argument("--quick", action="store_true", help="only the first fold")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown too")
    args = parser.parse_args(argv)
    try:
        data = mfcore.load_movielens("ml-latest-small")
    except (FileNotFoundError, ValueError) as exc:
        print(f"MovieLens is not available ({str(exc).splitlines()[0][:160]}): nothing to measure.")
        return 0
    lo, hi = float(data.ratings.min()), float(data.ratings.max())
    folds = mfcore.kfold(data, args.folds, seed=0)[: 1 if args.quick else args.folds]
    warm = mfcore.synthetic_ratings(n_users=50, n_items=40, n_ratings=500, seed=0)      # compile the kernels once
    for biased in (False, True):
        mfcore.MF(K=2, max_iter=2, biased=biased).fit(warm)
    rows = []
    for f, (train, test) in enumerate(folds):
        systems = {"mfcore plain (ALS, grid)": lambda: tune_mfcore("plain", train, test, f, lo, hi),
                   "mfcore biased (ALS, grid)": lambda: tune_mfcore("biased", train, test, f, lo, hi),
                   "Surprise SVD(biased=False)": lambda: tune_surprise("SVD(biased=False)", train, test, f),
                   "Surprise SVD (biased)": lambda: tune_surprise("SVD", train, test, f)}
        for name, run in systems.items():
            out = run()
            if out is None:
                print(f"fold {f}: {name} skipped (pip install -e '.[bench]')")
                continue
            rows.append({"system": name, "fold": f, **out})
            print(f"fold {f}: {name:28s} test RMSE {out['rmse']:.4f} (validation {out['valid']:.4f}; "
                  f"{out['params']}) in {out['seconds']:.1f} s", flush=True)
    table = pd.DataFrame(rows)
    summary = table.groupby("system", sort=False).agg(rmse=("rmse", "mean"), std=("rmse", "std"),
                                                      seconds=("seconds", "mean"))
    base = summary["seconds"].get("Surprise SVD (biased)")
    print(f"\nml-latest-small, {len(folds)} fold(s), {len(data):,} ratings; predictions clipped to [{lo:g}, {hi:g}]")
    for name, r in summary.iterrows():
        ratio = f"  ({r['seconds'] / base:.2f}x Surprise SVD)" if base else ""
        print(f"  {name:28s} mean test RMSE {r['rmse']:.4f} ± {0 if np.isnan(r['std']) else r['std']:.4f}   "
              f"tuning + refit {r['seconds']:7.1f} s per fold{ratio}")
    if args.markdown:
        print("\n| system | mean test RMSE | std over folds | tuning + refit per fold (s) | time / Surprise SVD |")
        print("|---|---:|---:|---:|---:|")
        for name, r in summary.iterrows():
            ratio = f"{r['seconds'] / base:.2f}" if base else "n/a"
            print(f"| {name} | {r['rmse']:.4f} | {0 if np.isnan(r['std']) else r['std']:.4f} | {r['seconds']:.1f} "
                  f"| {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
