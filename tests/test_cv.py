"""Model selection, Algorithm 6 (notes/derivations.md §9–10): oracles C1–C5, O5, boundary rule, searches, CLI."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import mfcore
from mfcore.selection import boundary_flags, select_best


@pytest.fixture(scope="module")
def rank3():
    """Synthetic data of known rank K0 = 3 (continuous ratings, noise 0.3), split 80/20."""
    data = mfcore.synthetic_ratings(n_users=300, n_items=250, n_ratings=15_000, rank=3, noise=0.3,
                                    stars=False, seed=11)
    return data, *mfcore.train_test_split(data, 0.2, seed=0)


@pytest.fixture(scope="module")
def grid(rank3):
    data, train, test = rank3
    return mfcore.grid_search(train, K=[1, 2, 3, 4, 5, 6, 8], lam=[1e-6, 1e-5, 1e-4, 1e-3, 1e-2],
                              solver="als", cv=0.2, seed=0, max_iter=60, verbose=False)


def test_C2_the_true_rank_is_recovered(rank3, grid):
    data, train, test = rank3
    K_star = grid.best_params["K"]
    assert abs(K_star - data.truth.rank) <= 1, (
        f"cross-validation chose K*={K_star}, the data has true rank {data.truth.rank}:\n{grid.pivot().round(4)}")
    model = grid.refit(train)
    ratio = model.rmse(test) / data.truth.noise_rmse
    assert ratio < 1.10, (f"test RMSE {model.rmse(test):.4f} is not within 10% of the noise level "
                          f"{data.truth.noise_rmse:.4f}")


def test_table_is_tidy(grid):
    t = grid.table
    assert len(t) == 7 * 5 and t.fold.eq(0).all()
    for col in ("K", "lam", "fold", "fit_rmse", "valid_rmse", "objective", "n_iter", "stop_reason", "seconds"):
        assert col in t.columns
    pivot = grid.pivot()
    assert list(pivot.index) == [1, 2, 3, 4, 5, 6, 8] and list(pivot.columns) == [1e-6, 1e-5, 1e-4, 1e-3, 1e-2]
    assert grid.best_valid_rmse == pytest.approx(pivot.min().min())
    assert grid.on_boundary == {"K": False, "lam": False}, grid.advice


def test_training_rmse_pattern_of_derivations_9_4(grid):
    fit = grid.pivot("fit_rmse")
    assert fit.iloc[-1, 0] == fit.min().min() or fit.iloc[-1, 0] <= fit.min().min() * 1.02, \
        "the training RMSE is (about) best at the largest K and the smallest λ"


@pytest.mark.parametrize("K, lam, flags", [
    ([1, 2], [1e-6, 1e-5, 1e-4, 1e-3, 1e-2], {"K": True, "lam": False}),   # K grid below the truth
    ([2, 3, 4], [1e-3, 3e-3], {"K": False, "lam": True}),                   # λ too large: best is the smallest
])
def test_boundary_flags_fire_when_the_grid_excludes_the_optimum(rank3, K, lam, flags):
    _, train, _ = rank3
    # tie_tol: with a large λ the extra dimension of K=4 shrinks to ~0, so K=3 and K=4 tie
    # (notes/derivations.md §9.4 plateau)
    res = mfcore.grid_search(train, K=K, lam=lam, max_iter=40, verbose=False, tie_tol=1e-4)
    assert res.on_boundary == flags, (res.best_params, res.advice)
    assert any("extend" in a or "add" in a for a in res.advice)


def test_C3_boundary_rule_and_tie_break_on_hand_made_tables():
    def table(values):
        K = [1, 2, 4]
        lam = [1e-3, 1e-2, 1e-1]
        return pd.DataFrame([{"K": k, "lam": v, "valid_rmse": values[a][b]}
                             for a, k in enumerate(K) for b, v in enumerate(lam)])
    corner = table([[9, 9, 9], [9, 9, 9], [9, 9, 1]])
    best = select_best(corner)
    assert best == {"K": 4, "lam": 1e-1}
    assert boundary_flags(best, [1, 2, 4], [1e-3, 1e-2, 1e-1])[0] == {"K": True, "lam": True}
    edge = table([[9, 9, 9], [9, 9, 1], [9, 9, 9]])
    assert boundary_flags(select_best(edge), [1, 2, 4], [1e-3, 1e-2, 1e-1])[0] == {"K": False, "lam": True}
    inside = table([[9, 9, 9], [9, 1, 9], [9, 9, 9]])
    flags, advice = boundary_flags(select_best(inside), [1, 2, 4], [1e-3, 1e-2, 1e-1])
    assert flags == {"K": False, "lam": False} and "inside" in advice[0]
    tie = table([[9, 9, 9], [1, 1, 9], [1, 9, 9]])
    assert select_best(tie) == {"K": 2, "lam": 1e-2}, "ties go to the smaller K, then the larger λ"
    _, advice = boundary_flags({"K": 4, "lam": 1e-1}, [1, 2, 4], [1e-3, 1e-2, 1e-1])
    assert "largest value tried: extend the grid upward" in advice[0]


def test_C4_refit_keeps_the_ridge(grid, rank3):
    _, train, _ = rank3
    fit_size = grid.fit_sizes[0]
    model = grid.refit(train)
    assert model.lam_refit_ * len(train) == pytest.approx(grid.best_params["lam"] * fit_size, rel=1e-15)
    assert grid.refit(train, refit_lam="keep").lam_refit_ == grid.best_params["lam"]
    with pytest.raises(ValueError, match="refit_lam"):
        grid.refit(train, refit_lam="double")


def test_O5_lambda_max_is_where_the_origin_wins():
    rng = np.random.default_rng(2)
    mask = rng.random((40, 30)) < 0.5
    u, i = np.nonzero(mask)
    data = mfcore.Ratings(u, i, rng.normal(3, 1, len(u)), 40, 30)
    lmax = mfcore.lambda_max(data)
    R = data.to_dense()
    assert lmax == pytest.approx(np.linalg.norm(R, 2) / len(data), rel=1e-8)
    above = mfcore.MF(K=3, lam=1.2 * lmax, max_iter=100, tol=0, sigma0=1.0).fit(data)
    assert np.abs(above.P_ @ above.Q_.T).max() < 1e-6, "for λ > λ_max ALS must collapse to 0"
    below = mfcore.MF(K=3, lam=0.5 * lmax, max_iter=100, tol=0, sigma0=1.0).fit(data)
    assert np.abs(below.P_ @ below.Q_.T).max() > 1e-2
    lw = mfcore.lambda_max(data, reg_mode="weighted")
    above_w = mfcore.MF(K=3, lam=1.2 * lw, reg_mode="weighted", max_iter=100, tol=0, sigma0=1.0).fit(data)
    below_w = mfcore.MF(K=3, lam=0.5 * lw, reg_mode="weighted", max_iter=100, tol=0, sigma0=1.0).fit(data)
    assert np.abs(above_w.P_ @ above_w.Q_.T).max() < 1e-6 < np.abs(below_w.P_ @ below_w.Q_.T).max(), \
        "the weighted threshold ‖D_u^-1/2 R D_i^-1/2‖₂ must separate collapse from a non-zero fit"
    grid = mfcore.lambda_grid(data, num=4)
    assert len(grid) == 4 and np.all(np.diff(grid) > 0) and grid[-1] < lmax


def test_kfold_cv_and_parallel_runs_are_identical(rank3):
    _, train, _ = rank3
    kw = dict(K=[2, 3], lam=[1e-4, 1e-3], cv=3, seed=5, max_iter=15, verbose=False)
    serial = mfcore.grid_search(train, n_jobs=1, **kw)
    parallel = mfcore.grid_search(train, n_jobs=2, **kw)
    assert len(serial.table) == 2 * 2 * 3 and sorted(serial.table.fold.unique()) == [0, 1, 2]
    pd.testing.assert_frame_equal(serial.table.drop(columns="seconds"), parallel.table.drop(columns="seconds"),
                                  check_exact=True)
    assert serial.best_params == parallel.best_params
    assert "valid_std" in serial.summary.columns


@pytest.mark.parametrize("kwargs, match", [
    (dict(K=[], lam=[1e-3]), "empty"), (dict(K=[0, 1], lam=[1e-3]), "K"), (dict(K=[1], lam=[-1.0]), "lam"),
    (dict(K=[1, 1], lam=[1e-3]), "repeats"), (dict(K=[1], lam=[1e-3], cv=1.5), "cv"),
    (dict(K=[1], lam=[1e-3], n_jobs=0), "n_jobs"), (dict(K=[1], lam=[1e-3], solver="newton"), "solver"),
])
def test_bad_grids_fail_before_any_work(rank3, kwargs, match):
    _, train, _ = rank3
    with pytest.raises(ValueError, match=match):
        mfcore.grid_search(train, verbose=False, **kwargs)


def test_heatmap_is_drawn_headless(grid, tmp_path):
    fig = grid.heatmap()
    assert len(fig.axes) >= 2
    titles = [ax.get_title() for ax in fig.axes]
    assert any("training" in t for t in titles) and any("validation" in t for t in titles)
    assert fig.axes[0].get_xlabel().startswith("λ") and fig.axes[0].get_ylabel().startswith("K")
    path = tmp_path / "heat.png"
    fig.savefig(path)
    assert path.stat().st_size > 10_000


def test_random_and_bayes_search_return_the_same_type(rank3):
    _, train, _ = rank3
    rnd = mfcore.random_search(train, K=(1, 6), lam=(1e-6, 1e-2), n_trials=8, max_iter=20, verbose=False)
    bay = mfcore.bayes_search(train, K=(1, 6), lam=(1e-6, 1e-2), n_trials=8, max_iter=20, verbose=False)
    for res in (rnd, bay):
        assert isinstance(res, mfcore.SearchResult)
        assert set(res.best_params) == {"K", "lam"} and set(res.on_boundary) == {"K", "lam"}
        assert res.table.trial.nunique() == 8
        assert 1 <= res.best_params["K"] <= 6 and 1e-6 <= res.best_params["lam"] <= 1e-2
    again = mfcore.random_search(train, K=(1, 6), lam=(1e-6, 1e-2), n_trials=8, max_iter=20, verbose=False)
    pd.testing.assert_frame_equal(rnd.table.drop(columns="seconds"), again.table.drop(columns="seconds"))
    fig = mfcore.compare_searches({"random": rnd, "bayes": bay})
    assert len(fig.axes) == 2 and fig.axes[1].get_xlabel().startswith("cumulative")


def test_bayes_search_prunes_on_validation_rmse(rank3):
    _, train, _ = rank3
    res = mfcore.bayes_search(train, K=(1, 8), lam=(1e-7, 1e-1), n_trials=16, solver="sgd", max_iter=30,
                              verbose=False)
    assert (res.table.stop_reason == "pruned").any(), "hopeless trials should be pruned by the median rule"
    assert res.best_params in [{"K": int(r.K), "lam": float(r.lam)}
                               for r in res.table.itertuples() if r.stop_reason != "pruned"]


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "mfcore", *args], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "MPLBACKEND": "Agg", **(env or {})})


def test_cli_cv_end_to_end(tmp_path):
    out = cli("cv", "--data", "synthetic", "--K", "3,5,8", "--lam", "1e-6,1e-5,1e-4", "--max-iter", "15",
              "--out", str(tmp_path), env={"NBGRADER_EXECUTION": "autograde"})
    assert out.returncode == 0, out.stderr
    assert out.stderr == "", "nothing on stderr when quiet"
    for name in ("cv.csv", "cv_heatmap.png", "best.json"):
        assert (tmp_path / name).is_file() and str(tmp_path / name) in out.stdout
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["best_params"]["K"] == 5 and best["true_rank"] == 5
    assert best["test_rmse"] < 1.1 * best["noise_rmse"]
    assert "test RMSE" in out.stdout and "K* = 5" in out.stdout
    assert len(pd.read_csv(tmp_path / "cv.csv")) == 9


def test_cli_tune_random(tmp_path):
    out = cli("tune", "--search", "random", "--trials", "4", "--K", "2,6", "--lam", "1e-6,1e-4",
              "--max-iter", "10", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "random.csv").is_file() and (tmp_path / "random_progress.png").is_file()


@pytest.mark.parametrize("args, words", [
    (["cv", "--K", ""], "empty"),
    (["cv", "--K", "0,2"], "K"),
    (["cv", "--K", "1,x"], "--K"),
    (["cv", "--lam=-1e-3"], "lam"),
    (["cv", "--no-such-option"], "unrecognized"),
    (["cv", "--K", "2,2"], "repeats"),
    (["cv", "--data", "missing.csv"], "no data set or file"),
    (["cv", "--cv", "abc"], "--cv"),
    (["tune", "--K", "5"], "range"),
])
def test_cli_errors_are_one_line_with_status_2(tmp_path, args, words):
    out = cli(*args, "--out", str(tmp_path))
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert words in out.stderr


def test_cli_bad_csv(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("user,item,rating\n1,1,3\n1,1,4\n")
    out = cli("cv", "--data", str(bad), "--out", str(tmp_path))
    assert out.returncode == 2 and "duplicated" in out.stderr and "Traceback" not in out.stderr


def test_search_result_from_a_table_applies_the_selection_and_boundary_rules():
    rows = [{"K": k, "lam": lam, "fit_rmse": 0.5, "valid_rmse": 1.0 + abs(k - 2) + abs(np.log10(lam) + 2)}
            for k in (1, 2, 4) for lam in (1e-3, 1e-2, 1e-1)]
    res = mfcore.SearchResult.from_table(pd.DataFrame(rows), fit_sizes=[100])
    assert res.best_params == {"K": 2, "lam": 1e-2} and res.on_boundary == {"K": False, "lam": False}
    assert {"fold", "objective", "n_iter", "seconds", "stop_reason"} <= set(res.table), "missing columns filled in"
    ranged = mfcore.SearchResult.from_table(pd.DataFrame(rows), K_range=(2, 8), lam_range=(1e-2, 1.0))
    assert ranged.on_boundary == {"K": True, "lam": True}, "K* = 2 and λ* = 1e-2 are the low ends of the ranges"
    assert any("widen" in a for a in ranged.advice)
    with pytest.raises(ValueError, match="valid_rmse"):
        mfcore.SearchResult.from_table(pd.DataFrame([{"K": 1, "lam": 0.1}]))


# ------------------------------------------------------------------ the refit rule, early stopping, divergence
@pytest.fixture(scope="module")
def small_train():
    data = mfcore.synthetic_ratings(n_users=120, n_items=90, n_ratings=3000, rank=2, seed=21)
    return mfcore.train_test_split(data, 0.2, seed=0)[0]


def test_C4_refit_keeps_lambda_in_weighted_mode(small_train):
    """The weighted penalty already grows with each row's ratings (notes/derivations.md §9.6): λ* is kept."""
    res = mfcore.grid_search(small_train, K=[2], lam=[0.01, 0.05], solver="als", reg_mode="weighted", max_iter=10,
                             verbose=False)
    model = res.refit(small_train)
    assert model.lam_refit_ == res.best_params["lam"] and model.refit_rule_ == "keep"
    assert res.refit(small_train, refit_lam="ridge").lam_refit_ < res.best_params["lam"]
    mean = mfcore.grid_search(small_train, K=[2], lam=[1e-4], solver="als", max_iter=10, verbose=False)
    assert mean.refit(small_train).refit_rule_ == "ridge"


def test_refit_after_early_stopping_runs_the_best_number_of_iterations(small_train):
    res = mfcore.grid_search(small_train, K=[4], lam=[1e-7], solver="als", max_iter=200, tol=0, patience=5,
                             verbose=False)
    row = res.table.iloc[0]
    assert row["stop_reason"] == "early_stopping" and 1 <= row["best_iter"] < row["n_iter"]
    model = res.refit(small_train)                           # used to raise: patience needs validation data
    assert model.n_iter_ == row["best_iter"] and model.patience is None


def test_a_diverging_trial_does_not_stop_the_search(small_train):
    """SGD with reg_mode="mean" and a large λ: the per-sample shrink 2αλ|Ω|/|I_u| overshoots (§6.3)."""
    res = mfcore.grid_search(small_train, K=[2], lam=[1e-4, 0.5], solver="sgd", step=0.05, max_iter=20,
                             verbose=False)
    bad = res.table[res.table["lam"] == 0.5].iloc[0]
    assert bad["stop_reason"] == "diverged" and np.isinf(bad["valid_rmse"])
    assert "λ" in bad["error"] and "reg_mode='weighted'" in bad["error"], "say more than 'the learning rate'"
    assert res.best_params["lam"] == 1e-4
    assert any("diverged" in a for a in res.advice)
    res.heatmap()                                             # infinite cells are drawn blank
    import matplotlib.pyplot as plt
    plt.close("all")


def test_bayes_search_survives_diverging_trials(small_train):
    res = mfcore.bayes_search(small_train, K=(1, 3), lam=(1e-5, 1.0), n_trials=8, solver="sgd", step=0.05,
                              max_iter=10, verbose=False, seed=1)
    reasons = set(res.table["stop_reason"])
    assert "diverged" in reasons and reasons - {"diverged", "pruned"}, reasons
    assert np.isfinite(res.best_valid_rmse)


def test_a_search_in_which_every_trial_diverges_says_so(small_train):
    with pytest.raises(mfcore.DivergenceError, match="every trial"):
        mfcore.grid_search(small_train, K=[2], lam=[0.5, 1.0], solver="sgd", step=0.05, max_iter=10, verbose=False)


# ------------------------------------------------------------------ the CLI: tab-separated files and a test file
def _write_tsv(path, rows, header=False):
    text = ("user\titem\trating\ttimestamp\n" if header else "") + "".join(f"{u}\t{i}\t{r}\t88{u}{i}\n"
                                                                           for u, i, r in rows)
    path.write_text(text)


@pytest.fixture(scope="module")
def movielens_like_folds(tmp_path_factory):
    """u1.base / u1.test in ml-100k's format (user, item, rating, timestamp; tabs; no header)."""
    folder = tmp_path_factory.mktemp("ml100k")
    data = mfcore.synthetic_ratings(n_users=80, n_items=60, n_ratings=1500, rank=2, seed=3)
    train, test = mfcore.train_test_split(data, 0.2, seed=0)
    as_rows = lambda d: [(u + 1, i + 1, int(r)) for u, i, r in zip(d.users, d.items, d.ratings)]  # noqa: E731
    _write_tsv(folder / "u1.base", as_rows(train))
    _write_tsv(folder / "u1.test", as_rows(test) + [(999, 1, 4)])              # one user only in the test file
    _write_tsv(folder / "with_header.base", as_rows(train), header=True)
    return folder, train, test


def test_tab_separated_files_with_or_without_a_header(movielens_like_folds):
    folder, train, _ = movielens_like_folds
    for name in ("u1.base", "with_header.base"):
        data = mfcore.load_data(str(folder / name))
        assert len(data) == len(train) and data.n_users == train.n_users, name
        assert sorted(data.ratings) == sorted(train.ratings)


def test_cli_cv_scores_a_separate_test_file(movielens_like_folds, tmp_path):
    folder, train, test = movielens_like_folds
    out = cli("cv", "--data", str(folder / "u1.base"), "--test", str(folder / "u1.test"), "--K", "1,2",
              "--lam", "1e-4,1e-3", "--max-iter", "10", "--biased", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["test_pairs"] == len(test) + 1 and best["cold_test_pairs"] == 1 and best["biased"]
    assert "1 cold" in out.stdout and "u1.test" in out.stdout
