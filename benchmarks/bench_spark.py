"""Time per ALS iteration: mfcore (one thread) against Spark MLlib (local[2], this machine's two cores), in one run.

    make bench-spark                 # installs the [spark] extra (and a Java runtime when missing), then runs this
    python benchmarks/bench_spark.py [--quick] [--markdown] [--K 10]

Both run the same iteration, ALS-WR (mfcore's reg_mode="weighted", Spark's regParam = λ; notes/derivations.md §13).
* mfcore: the median time of one ``ALS.iterate`` (item step + user step) on checked arrays, after warm-up.
* Spark: one iteration = (fit with maxIter=6 − fit with maxIter=1) / 5 on a cached DataFrame, the factors
  collected by both fits; medians of ``--repeat`` pairs, so the per-fit set-up (partitioning the ratings
  into blocks, two shuffles) cancels out and is reported apart: set-up = fit(maxIter=1) − one iteration.
* Start-up: launching Spark (the Java process and the session) and moving the ratings into a DataFrame.
Machines are noisy: read the ratios (measured in the same process minutes apart), not the milliseconds.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import mfcore  # noqa: E402
from bench_data import datasets, median_time  # noqa: E402
from mfcore import spark as mfspark  # noqa: E402
from mfcore.als import ALS  # noqa: E402

LAM = 0.05


def mfcore_iteration(train, K: int, repeat: int) -> float:
    P, Q, _ = mfcore.init_factors(train, K, seed=0)
    als = ALS(train, LAM, "weighted")
    P, Q, _ = als.iterate(P, Q, 1, None)                  # warm-up (numba's cache) and a realistic point
    return median_time(lambda: als.iterate(P, Q, 1, None), repeat)


def spark_fit_seconds(spark, ratings, train, K: int, max_iter: int, blocks: int) -> float:
    from pyspark.ml.recommendation import ALS as SparkALS

    start = time.perf_counter()
    model = SparkALS(rank=K, maxIter=max_iter, regParam=mfspark.reg_param(LAM, "weighted"), seed=0,
                     numUserBlocks=blocks, numItemBlocks=blocks).fit(ratings)
    mfspark.factors(model, train.n_users, train.n_items)
    return time.perf_counter() - start


def spark_iteration(spark, train, K: int, repeat: int) -> dict:
    blocks = spark.sparkContext.defaultParallelism
    start = time.perf_counter()
    ratings = mfspark.to_spark(train, spark).cache()
    ratings.count()
    to_df = time.perf_counter() - start
    spark_fit_seconds(spark, ratings, train, K, 1, blocks)          # warm-up: the JVM compiles the hot paths
    pairs = [(spark_fit_seconds(spark, ratings, train, K, 1, blocks),
              spark_fit_seconds(spark, ratings, train, K, 6, blocks)) for _ in range(repeat)]
    ratings.unpersist()
    per = max(statistics.median((b - a) / 5 for a, b in pairs), 0.0)
    return dict(per=per, setup=max(statistics.median(a for a, _ in pairs) - per, 0.0), to_df=to_df)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only the 100k set")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--K", default="10", help="latent dimensions (default 10)")
    parser.add_argument("--repeat", type=int, default=3, help="Spark fit pairs per point (default 3)")
    args = parser.parse_args(argv)
    reason = mfspark.unavailable()
    if reason:
        print(f"Spark is not available here: {reason}")
        return 1
    start = time.perf_counter()
    spark = mfspark.session("local[2]")       # started before the mfcore timings, measured alone
    spark.range(1).count()
    session_seconds = time.perf_counter() - start
    print(f"Spark session (local[2]) started in {session_seconds:.1f} s", flush=True)
    points = [(name, train, int(K)) for name, train in datasets(args.quick) for K in args.K.split(",")]
    # mfcore first, for every point: the Java process keeps working (collecting garbage, cleaning up) after a fit,
    # which would slow a one-thread timing taken right after it.
    mf = {(name, K): mfcore_iteration(train, K, 7) for name, train, K in points}
    rows = []
    for name, train, K in points:
        sp = spark_iteration(spark, train, K, args.repeat)
        rows.append(dict(data=name, n=len(train), K=K, mf=mf[name, K], **sp))
        print(f"measured {name} (|Ω|={len(train):,}) K={K}", flush=True)

    print("\nALS-WR, time per iteration (item step + user step); Spark / mfcore > 1 means Spark is slower")
    if args.markdown:
        print("\n| data | ratings | K | mfcore ms/iter (1 thread) | Spark ms/iter (local[2]) | Spark / mfcore "
              "| Spark set-up per fit s | ratings → DataFrame s |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['data']} | {r['n']:,} | {r['K']} | {r['mf'] * 1e3:.2f} | {r['per'] * 1e3:.0f} | "
                  f"{r['per'] / r['mf']:.0f} | {r['setup']:.1f} | {r['to_df']:.1f} |")
    else:
        head = f"{'data':<16} {'|Ω|':>9} {'K':>3} | {'mfcore ms':>9} {'Spark ms':>9} {'ratio':>6} | {'set-up s':>8} " \
               f"{'to DF s':>7}"
        print(head + "\n" + "-" * len(head))
        for r in rows:
            print(f"{r['data']:<16} {r['n']:>9,} {r['K']:>3} | {r['mf'] * 1e3:9.2f} {r['per'] * 1e3:9.0f} "
                  f"{r['per'] / r['mf']:6.0f} | {r['setup']:8.1f} {r['to_df']:7.1f}")
    print(f"\nSpark's start-up in this run: {session_seconds:.1f} s for the session; each fit adds the set-up above.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
