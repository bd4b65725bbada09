"""mfcore.spark (notes/checks.md K1-K3): Spark MLlib's ALS is mfcore's weighted ALS (notes/derivations.md §13).

The first tests need no Spark.  The others start Spark ("local[2]") and skip, with the reason, where pyspark or a
Java runtime is missing; ``make test-spark`` installs both (and sets MFCORE_REQUIRE_SPARK=1, so that a missing
pyspark fails there instead of skipping).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import mfcore
from mfcore import MF
from mfcore import spark as mfspark
from problems import ROOT

LAM = 0.05


@pytest.fixture(scope="module")
def split():
    data = mfcore.synthetic_ratings(n_users=120, n_items=90, n_ratings=3000, rank=3, seed=1)
    train, valid = mfcore.train_test_split(data, 0.2, seed=0)
    # one more user and item with no training rating: Spark has no row for them, mfcore gives 0
    grow = dict(n_users=train.n_users + 1, n_items=train.n_items + 1)
    return (mfcore.Ratings(train.users, train.items, train.ratings, **grow),
            mfcore.Ratings(valid.users, valid.items, valid.ratings, **grow))


# ---------------------------------------------------------------------------------------------- without Spark
def test_import_mfcore_does_not_import_pyspark():
    code = "import sys, mfcore, mfcore.spark; assert 'pyspark' not in sys.modules, 'import mfcore imported pyspark'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_a_missing_pyspark_is_named_with_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)          # makes `import pyspark` fail
    with pytest.raises(ImportError, match=r'mfcore\[spark\]'):
        mfspark.session()
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    assert "mfcore[spark]" in mfspark.unavailable()


def test_reg_param_is_lambda_of_the_weighted_mode():
    assert mfspark.reg_param(0.05) == 0.05 and mfspark.reg_param(0.3, "weighted") == 0.3
    with pytest.raises(ValueError, match=r"lam \(λ\) must be"):
        mfspark.reg_param(-1.0)


def test_the_mean_mode_is_refused_with_the_reason(split):
    train, _ = split
    with pytest.raises(ValueError, match=r"regParam·n_u.*same ridge λ\|Ω\|.*reg_mode='weighted'"):
        mfspark.reg_param(1e-4, "mean")
    with pytest.raises(ValueError, match="cannot fit reg_mode='mean'"):     # before any Spark is started
        mfspark.SparkALS(K=3, lam=1e-4, reg_mode="mean").fit(train, spark=object())


def test_no_single_regparam_gives_the_uniform_ridge(split):
    """The reason in numbers: the regParam that would give user u the ridge λ|Ω| is λ|Ω|/n_u, one per user."""
    train, _ = split
    n_u = train.user_counts[train.user_counts > 0]
    needed = 1e-4 * len(train) / n_u
    assert needed.max() / needed.min() > 2, "the rows' counts differ, so would the regParams"


# ---------------------------------------------------------------------------------------------- with Spark
def _skip_reason() -> str | None:
    reason = mfspark.unavailable()
    if reason and os.environ.get("MFCORE_REQUIRE_SPARK") == "1" and "pyspark" in reason:
        pytest.fail(f"make test-spark installs pyspark, yet: {reason}")
    return reason


@pytest.fixture(scope="module")
def spark():
    reason = _skip_reason()
    if reason:
        pytest.skip(f"Spark is not available here: {reason}")
    return mfspark.session("local[2]")


@pytest.fixture(scope="module")
def parity(spark, split):
    train, valid = split
    sp = mfspark.SparkALS(K=4, lam=LAM, max_iter=6, seed=3).fit(train, valid, spark=spark)
    mf = MF(K=4, lam=LAM, reg_mode="weighted", solver="als", max_iter=6, tol=0).fit(train, valid, init=sp.init_)
    return sp, mf


def _rel(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)) / np.maximum(np.abs(np.asarray(a)), 1e-300)


def test_parity_from_the_same_start(parity, split):
    """Objective, RMSEs and predictions agree to 1e-6 relative at every iteration (Spark stores float32)."""
    train, valid = split
    sp, mf = parity
    assert list(sp.history_.index) == list(mf.history_.index) == list(range(7))
    for col in ("target", "objective", "train_rmse", "valid_rmse"):
        worst = _rel(mf.history_[col], sp.history_[col]).max()
        assert worst < 1e-6, f"{col}: Spark and mfcore differ by {worst:.2e} relative"
    assert sp.history_["target"].iloc[-1] < 0.5 * sp.history_["target"].iloc[0], "the fit must move for parity to mean"
    for data in (train, valid):
        a = mfcore.predict(sp.P_, sp.Q_, data.users, data.items)
        b = mf.predict(data.users, data.items)
        assert np.abs(a - b).max() < 1e-6 * np.abs(b).max()


def test_eq_1_from_the_same_start_is_another_fit(parity, split):
    """The check above can fail: eq. (1) from Spark's start, with the ridge λ|Ω| of an average row, ends elsewhere."""
    train, valid = split
    sp, _ = parity
    average_ridge = LAM * train.user_counts[train.user_counts > 0].mean()
    mean = MF(K=4, lam=average_ridge / len(train), reg_mode="mean", max_iter=6, tol=0).fit(train, valid, init=sp.init_)
    a, b = mfcore.predict(sp.P_, sp.Q_, valid.users, valid.items), mean.predict(valid.users, valid.items)
    assert np.abs(a - b).max() > 1e-3 * np.abs(b).max(), "1000x the tolerance of the parity check"


def test_factors_come_back_as_float64_with_unseen_rows_zero(parity, split):
    train, _ = split
    sp, _ = parity
    for P, Q in ((sp.P_, sp.Q_), sp.init_):
        assert P.dtype == Q.dtype == np.float64
        assert P.shape == (train.n_users, 4) and Q.shape == (train.n_items, 4)
        assert not P[-1].any() and not Q[-1].any(), "a row without ratings must be 0"
        assert np.array_equal(P, P.astype(np.float32)), "Spark's float32 values, widened exactly"
    seen = train.user_counts > 0
    norms = np.linalg.norm(sp.init_[0][seen], axis=1)
    assert np.allclose(norms, 1.0, atol=1e-6), "Spark's own start is one unit vector per row"


def test_history_at_chosen_iterations_retraces_the_same_path(spark, parity, split):
    train, valid = split
    sp, _ = parity
    some = mfspark.SparkALS(K=4, lam=LAM, max_iter=6, seed=3, history=[2, 6]).fit(train, valid, spark=spark)
    assert list(some.history_.index) == [0, 2, 6]
    pd.testing.assert_frame_equal(some.history_.drop(columns="seconds"),
                                  sp.history_.loc[[0, 2, 6]].drop(columns="seconds"))
    assert np.array_equal(some.P_, sp.P_)
    with pytest.raises(ValueError, match="iteration 9 but max_iter=6"):
        mfspark.SparkALS(K=4, max_iter=6, history=[9]).fit(train, spark=spark)


def test_ratings_round_trip_through_a_dataframe(spark, split):
    train, _ = split
    df = mfspark.to_spark(train, spark)
    assert df.columns == ["user", "item", "rating"] and df.count() == len(train)
    back = mfspark.from_spark(df, train.n_users, train.n_items)
    a, b = train.to_frame().sort_values(["user", "item"]), back.to_frame().sort_values(["user", "item"])
    assert back.shape == train.shape
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    with pytest.raises(ValueError, match="no column 'stars'"):
        mfspark.from_spark(df, rating_col="stars")


def test_valid_must_come_from_the_same_ratings(spark, split):
    train, valid = split
    other = mfcore.Ratings(valid.users, valid.items, valid.ratings, valid.n_users + 3, valid.n_items)
    with pytest.raises(ValueError, match="same Ratings"):
        mfspark.SparkALS(K=2, max_iter=1).fit(train, other, spark=spark)


def test_the_session_writes_nothing_to_stderr(spark, tmp_path):
    """A fresh process: start Spark, fit, collect. Logs go to the log file; no progress bars, no warnings."""
    code = textwrap.dedent("""
        import mfcore
        from mfcore import spark as mfspark
        train = mfcore.synthetic_ratings(n_users=60, n_items=40, n_ratings=800, seed=0)
        s = mfspark.session("local[2]")
        sp = mfspark.SparkALS(K=2, lam=0.1, max_iter=2).fit(train, spark=s)
        print(sp.history_["target"].iloc[-1] < sp.history_["target"].iloc[0], s.conf.get("spark.mfcore.logFile"))
    """)
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stderr == "", f"Spark wrote to stderr:\n{out.stderr[:2000]}"
    assert out.stdout.split()[0] == "True"
    log = out.stdout.split()[1]
    assert os.path.getsize(log) > 0, "the Java process's output should be in the log file"
