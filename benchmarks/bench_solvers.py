"""Time per iteration / epoch of every mfcore solver against Surprise and cmfrec, in one run.

    make bench                      # installs the [bench] extra, then runs this script
    python benchmarks/bench_solvers.py [--quick] [--markdown]

Everything runs on one thread (BLAS, OpenMP and numba are pinned before import).
Machines are noisy: read the *ratios*, which compare runs made in the same process
minutes apart, not the absolute milliseconds.  JIT compile time is reported apart
(measured in fresh processes: once with an empty numba cache, once with the cache filled).

Peers, as faithful as their APIs allow:
* Surprise ``SVD(biased=False)``: one epoch = (fit with 6 epochs − fit with 1 epoch) / 5 on a
  prebuilt trainset (its per-fit set-up cancels out);
* cmfrec ``CMF(method="als", use_cg=False)`` (Cholesky), float64, no biases, no centering,
  ``nthreads=1``: one iteration = (fit with 6 − fit with 1) / 5.

"sgd" times the bare step function ``sgd_epoch``; "sgd fit" times one epoch of
``MF(solver="sgd").fit`` the same way as the peers, (fit with 6 − fit with 1 epoch) / 5, so it
includes what the estimator adds per epoch (the history row: objective, RMSE, divergence checks).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402


import mfcore  # noqa: E402
from bench_data import datasets, median_time  # noqa: E402
from mfcore.gd import armijo_step, lipschitz_bound  # noqa: E402


def mfcore_timings(train, K: int, repeat: int) -> tuple[dict, dict]:
    """(seconds per iteration/epoch, first-call overhead) for each solver's step function (after warm-up)."""
    lam = 1e-4
    P, Q, rng = mfcore.init_factors(train, K, seed=0)
    P, Q = mfcore.als_iteration(P, Q, train, lam)        # a realistic point, not the tiny initial one
    alpha_gd = 1.0 / lipschitz_bound(P, Q, train, lam)
    F0 = mfcore.objective(P, Q, train, lam)
    steps = {
        "als": lambda: mfcore.als_iteration(P, Q, train, lam),
        "gd": lambda: armijo_step(P, Q, train, lam, alpha_gd, F0=F0),
        "als-gd (L=1)": lambda: mfcore.als_gd_iteration(P, Q, train, lam, inner_steps=1),
        "sgd": lambda: mfcore.sgd_epoch(P.copy(), Q.copy(), train, lam, 0.005, rng=rng),
        "bgd (B=256)": lambda: mfcore.bgd_epoch(P.copy(), Q.copy(), train, lam, 0.16, 256, rng=rng),
    }
    first, per = {}, {}
    for name, fn in steps.items():
        t = time.perf_counter()
        fn()
        first[name] = time.perf_counter() - t
        per[name] = median_time(fn, repeat)
    copy_cost = median_time(lambda: (P.copy(), Q.copy()), repeat)
    for name in ("sgd", "bgd (B=256)"):
        per[name] = max(per[name] - copy_cost, 1e-9)
    per["sgd fit"] = fit_epoch(train, K, lam, "sgd", repeat)
    return per, {k: max(first[k] - per[k], 0.0) for k in first}


def fit_epoch(train, K: int, lam: float, solver: str, repeat: int) -> float:
    """One epoch of ``MF(solver=...).fit`` including its history row: (fit with 6 − fit with 1 epoch) / 5.

    Measured like the peers (their per-fit set-up cancels out), with the estimator's defaults.
    """
    def fit(epochs):
        return median_time(lambda: mfcore.MF(K=K, lam=lam, solver=solver, max_iter=epochs, seed=0).fit(train),
                           repeat)
    fit(1)                                             # warm-up (JIT load)
    return max(fit(6) - fit(1), 0.0) / 5


_JIT_PROBE = """
import time, json, mfcore
from mfcore.gd import armijo_step
d = mfcore.synthetic_ratings(60, 50, 600, seed=0)
out = {}
for name, fn in [
    ("objective+gradient", lambda P, Q, r: mfcore.gradient(P, Q, d, 1e-3)),
    ("als", lambda P, Q, r: mfcore.als_iteration(P, Q, d, 1e-3)),
    ("gd", lambda P, Q, r: armijo_step(P, Q, d, 1e-3, 1.0)),
    ("als-gd", lambda P, Q, r: mfcore.als_gd_iteration(P, Q, d, 1e-3)),
    ("sgd", lambda P, Q, r: mfcore.sgd_epoch(P, Q, d, 1e-3, 0.01, rng=r)),
    ("bgd", lambda P, Q, r: mfcore.bgd_epoch(P, Q, d, 1e-3, 0.01, 16, rng=r)),
]:
    P, Q, r = mfcore.init_factors(d, 3)
    t = time.perf_counter(); fn(P, Q, r); out[name] = time.perf_counter() - t
print(json.dumps(out))
"""


def jit_times() -> tuple[dict, dict]:
    """First-call seconds of each kernel in a fresh process: with an empty numba cache (compile), then cached."""
    import json
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs = [json.loads(subprocess.run([sys.executable, "-c", _JIT_PROBE], env=env, capture_output=True,
                                          text=True, check=True).stdout) for _ in range(2)]
    return runs[0], runs[1]


def surprise_epoch(train, K: int, repeat: int) -> float | None:
    try:
        import surprise
    except ImportError:
        return None
    df = train.to_frame()
    lo, hi = float(train.ratings.min()), float(train.ratings.max())
    trainset = surprise.Dataset.load_from_df(df[["user", "item", "rating"]],
                                             surprise.Reader(rating_scale=(lo, hi))).build_full_trainset()

    def fit(epochs):
        return median_time(lambda: surprise.SVD(n_factors=K, n_epochs=epochs, biased=False,
                                                random_state=0).fit(trainset), repeat)
    return max(fit(6) - fit(1), 0.0) / 5


def cmfrec_iteration(train, K: int, repeat: int) -> float | None:
    try:
        import cmfrec
        from scipy.sparse import coo_matrix
    except ImportError:
        return None
    X = coo_matrix((train.ratings, (train.users, train.items)), shape=train.shape)

    def fit(niter):
        return median_time(lambda: cmfrec.CMF(
            k=K, lambda_=1e-4 * len(train), method="als", use_cg=False, user_bias=False, item_bias=False,
            center=False, niter=niter, nthreads=1, precompute_for_predictions=False, use_float=False,
            random_state=0, verbose=False).fit(X), repeat)
    return max(fit(6) - fit(1), 0.0) / 5


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only the 100k set, fewer repeats")
    parser.add_argument("--markdown", action="store_true", help="print the README's performance table")
    parser.add_argument("--K", default="10,50", help="latent dimensions (default 10,50)")
    args = parser.parse_args(argv)
    Ks = [int(k) for k in args.K.split(",")]
    repeat = 3 if args.quick else 7
    rows = []
    for name, train in datasets(args.quick):
        for K in Ks:
            r = max(2, repeat if len(train) < 200_000 else repeat // 2)
            per, _ = mfcore_timings(train, K, r)
            sur = surprise_epoch(train, K, max(2, r // 2))
            cmf = cmfrec_iteration(train, K, max(2, r // 2))
            rows.append(dict(data=name, n=len(train), K=K, **{f"ms {k}": v * 1e3 for k, v in per.items()},
                             surprise=sur, cmfrec=cmf, per=per))
            print(f"measured {name} (|Ω|={len(train):,}) K={K}", flush=True)

    print("\nTime per iteration / epoch in ms (median, one thread); ratios < 1 mean mfcore is faster")
    head = (f"{'data':<16} {'|Ω|':>9} {'K':>3} | {'als':>7} {'gd':>7} {'als-gd':>7} {'sgd':>7} {'bgd':>7} "
            f"{'sgd fit':>7} | {'Surprise':>8} {'cmfrec':>7} | {'sgd/Surp':>8} {'fit/Surp':>8} {'als/cmf':>7} "
            f"{'gd/sgd':>6}")
    print(head)
    print("-" * len(head))
    table = []
    for r in rows:
        p = r["per"]
        sgd_ratio = p["sgd"] / r["surprise"] if r["surprise"] else float("nan")
        fit_ratio = p["sgd fit"] / r["surprise"] if r["surprise"] else float("nan")
        als_ratio = p["als"] / r["cmfrec"] if r["cmfrec"] else float("nan")
        gd_ratio = p["gd"] / p["sgd"]
        fmt = lambda v: f"{v * 1e3:7.2f}" if v else "    n/a"  # noqa: E731
        print(f"{r['data']:<16} {r['n']:>9,} {r['K']:>3} | {fmt(p['als'])} {fmt(p['gd'])} {fmt(p['als-gd (L=1)'])} "
              f"{fmt(p['sgd'])} {fmt(p['bgd (B=256)'])} {fmt(p['sgd fit'])} | {fmt(r['surprise']):>8} "
              f"{fmt(r['cmfrec'])} | {sgd_ratio:8.2f} {fit_ratio:8.2f} {als_ratio:7.2f} {gd_ratio:6.2f}")
        table.append((r, sgd_ratio, fit_ratio, als_ratio, gd_ratio))
    print("\nTargets: sgd/Surprise <= 0.5; sgd fit/Surprise <= 0.35 and als/cmfrec <= 0.25 at 80k ratings, K=10; "
          "als/cmfrec <= 0.5 at 100k and <= 1.0 at 1M; gd/sgd <= 3.")
    by_data = {r["data"]: r for r in rows if r["K"] == Ks[0]}
    if "synthetic 100k" in by_data and "synthetic 1M" in by_data:
        a, b = by_data["synthetic 100k"], by_data["synthetic 1M"]
        growth = {k: b["per"][k] / a["per"][k] for k in a["per"] if k != "sgd fit"}
        print(f"Growth 100k -> 1M at K={Ks[0]} (|Ω| grew {b['n'] / a['n']:.1f}x): "
              + ", ".join(f"{k} {v:.1f}x" for k, v in growth.items()))
    cold, cached = jit_times()
    print("JIT, first call in a fresh process (compile with an empty numba cache / load from the cache): "
          + ", ".join(f"{k} {cold[k]:.2f} s / {cached[k]:.2f} s" for k in cold))
    if any(r["surprise"] is None or r["cmfrec"] is None for r in rows):
        print("Peers missing: pip install -e '.[bench]' (or make bench) to measure Surprise and cmfrec.")
    if args.markdown:
        print("\n| data | ratings | K | als ms | gd ms | als-gd ms | sgd ms | bgd ms | sgd fit epoch ms | "
              "Surprise epoch ms | cmfrec iter ms | sgd / Surprise | sgd fit / Surprise | als / cmfrec | gd / sgd |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r, s, f, a, g in table:
            p = r["per"]
            cell = lambda v: f"{v * 1e3:.2f}" if v else "n/a"  # noqa: E731
            print(f"| {r['data']} | {r['n']:,} | {r['K']} | {cell(p['als'])} | {cell(p['gd'])} | "
                  f"{cell(p['als-gd (L=1)'])} | {cell(p['sgd'])} | {cell(p['bgd (B=256)'])} | {cell(p['sgd fit'])} | "
                  f"{cell(r['surprise'])} | {cell(r['cmfrec'])} | {s:.2f} | {f:.2f} | {a:.2f} | {g:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
