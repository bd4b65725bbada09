"""A 5 × 5 grid with 5-fold cross-validation: mfcore.grid_search against Surprise's GridSearchCV.

    python benchmarks/bench_cv.py [--epochs 20] [--n-jobs 1]

Same data (the ml-100k-shaped synthetic training set), same grid size, same folds count,
same number of SGD epochs per fit (Surprise's SVD(biased=False) is SGD).  mfcore is timed with
solver="sgd" (the like-for-like comparison) and with solver="als" (what the lecture uses).
One thread; ratios measured in the same run.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import mfcore  # noqa: E402

K_GRID = [2, 4, 8, 16, 32]
LAM_SGD = [0.005, 0.01, 0.02, 0.05, 0.1]      # the slides' per-sample λ ("weighted", = Surprise's reg_all)
LAM_ALS = [1e-6, 3e-6, 1e-5, 3e-5, 1e-4]      # eq. (1) λ


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=20, help="SGD epochs (and ALS iterations) per fit")
    parser.add_argument("--n-jobs", type=int, default=1)
    args = parser.parse_args(argv)
    data = mfcore.synthetic_ratings(seed=0)
    train, _ = mfcore.train_test_split(data, 0.2, seed=0)
    mfcore.grid_search(train, K=[2], lam=[0.01], solver="sgd", cv=2, max_iter=1, verbose=False,
                       reg_mode="weighted")                 # warm the JIT outside the timing
    mfcore.grid_search(train, K=[2], lam=[1e-5], solver="als", cv=2, max_iter=1, verbose=False)

    timings = {}
    t = time.perf_counter()
    sgd = mfcore.grid_search(train, K=K_GRID, lam=LAM_SGD, solver="sgd", cv=5, n_jobs=args.n_jobs,
                             max_iter=args.epochs, step=0.005, reg_mode="weighted", verbose=False)
    timings["mfcore grid_search, sgd"] = time.perf_counter() - t
    t = time.perf_counter()
    als = mfcore.grid_search(train, K=K_GRID, lam=LAM_ALS, solver="als", cv=5, n_jobs=args.n_jobs,
                             max_iter=args.epochs, tol=0, verbose=False)
    timings["mfcore grid_search, als"] = time.perf_counter() - t

    try:
        import surprise
        from surprise.model_selection import GridSearchCV
    except ImportError:
        surprise = None
    if surprise is not None:
        frame = train.to_frame()
        sdata = surprise.Dataset.load_from_df(frame[["user", "item", "rating"]], surprise.Reader(rating_scale=(1, 5)))
        grid = GridSearchCV(surprise.SVD, {"n_factors": K_GRID, "reg_all": LAM_SGD, "n_epochs": [args.epochs],
                                           "biased": [False], "lr_all": [0.005], "random_state": [0]},
                            measures=["rmse"], cv=5, n_jobs=args.n_jobs)
        t = time.perf_counter()
        grid.fit(sdata)
        timings["Surprise GridSearchCV, SVD(biased=False)"] = time.perf_counter() - t

    print(f"5 x 5 grid, 5-fold CV, {args.epochs} epochs/iterations per fit, {len(train):,} ratings, "
          f"n_jobs={args.n_jobs}")
    base = timings.get("Surprise GridSearchCV, SVD(biased=False)")
    for name, seconds in timings.items():
        ratio = f"{seconds / base:6.2f}x Surprise" if base else ""
        print(f"  {name:<44} {seconds:7.2f} s   {ratio}")
    print(f"  best (sgd): K*={sgd.best_params['K']}, λ*={sgd.best_params['lam']:g}, "
          f"validation RMSE {sgd.best_valid_rmse:.4f}")
    print(f"  best (als): K*={als.best_params['K']}, λ*={als.best_params['lam']:g}, "
          f"validation RMSE {als.best_valid_rmse:.4f}")
    if base:
        print(f"  best (Surprise): {grid.best_params['rmse']}, RMSE {grid.best_score['rmse']:.4f}")
        print("Target: mfcore / Surprise <= 0.5")
    else:
        print("Surprise is not installed: pip install -e '.[bench]' (or make bench).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
