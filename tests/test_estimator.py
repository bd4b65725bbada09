"""The MF estimator: one interface for every solver, termination (notes/derivations.md §7), init (§8), errors."""

import warnings

import numpy as np
import pandas as pd
import pytest

import mfcore
from mfcore import MF

SOLVERS = ["als", "gd", "als-gd", "sgd", "bgd"]


@pytest.fixture(scope="module")
def split():
    data = mfcore.synthetic_ratings(n_users=150, n_items=120, n_ratings=5000, rank=3, seed=3)
    return mfcore.train_test_split(data, 0.2, seed=0)


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_fits_and_reports(solver, split):
    train, valid = split
    model = MF(K=3, lam=1e-4, solver=solver, max_iter=15, seed=1).fit(train, valid)
    assert model is not None and model.P_.shape == (150, 3) and model.Q_.shape == (120, 3)
    h = model.history_
    assert isinstance(h, pd.DataFrame) and h.index[0] == 0 and len(h) == model.n_iter_ + 1
    for col in ("objective", "train_rmse", "valid_rmse", "step", "seconds"):
        assert col in h.columns, f"history_ lacks the column {col!r}"
    assert h["seconds"].is_monotonic_increasing
    assert h["objective"].iloc[-1] < h["objective"].iloc[0], f"{solver} did not lower eq. (1)"
    assert model.stop_reason_ in ("tol", "max_iter")
    assert model.rmse(valid) == pytest.approx(h["valid_rmse"].iloc[-1])
    pred = model.predict(valid.users, valid.items)
    assert pred.shape == (len(valid),) and np.all(np.isfinite(pred))


def test_same_seed_same_start_for_every_solver(split):
    train, _ = split
    starts = [MF(K=4, solver=s, max_iter=1, seed=7).fit(train).history_["objective"].iloc[0] for s in SOLVERS]
    assert len(set(starts)) == 1, ("every solver must start from the same P⁽⁰⁾, Q⁽⁰⁾ for a seed "
                                   "(notes/derivations.md §8.1)")


def test_weighted_mode_records_both_objectives(split):
    train, _ = split
    h = MF(K=3, solver="sgd", reg_mode="weighted", lam=0.05, max_iter=3).fit(train).history_
    assert {"objective", "target"} <= set(h.columns)
    assert not np.allclose(h["objective"], h["target"])


def test_T1_budget_and_tolerance(split):
    train, _ = split
    m = MF(K=3, solver="als", tol=0, max_iter=7).fit(train)
    assert m.n_iter_ == 7 and m.stop_reason_ == "max_iter"
    m = MF(K=3, solver="als", tol=1e-4, max_iter=500).fit(train)
    assert m.stop_reason_ == "tol" and m.n_iter_ < 500
    F = m.history_["objective"].to_numpy()
    assert abs(F[-2] - F[-1]) <= 1e-4 * F[-2]
    assert abs(F[-3] - F[-2]) > 1e-4 * F[-3], "ALS stopped one iteration too late"


def test_T2_early_stopping_restores_the_best(split):
    train, valid = split
    m = MF(K=8, lam=1e-6, solver="als", tol=0, max_iter=200, patience=3).fit(train, valid)
    h = m.history_
    assert m.stop_reason_ == "early_stopping", "with λ ≈ 0 and K=8 the validation RMSE should rise (overfitting)"
    best = int(h["valid_rmse"].idxmin())
    assert m.n_iter_ - best <= 3
    assert m.rmse(valid) == pytest.approx(h["valid_rmse"].min(), rel=1e-12)


def test_T3_initialisation_is_reproducible_and_has_sigma0():
    data = mfcore.synthetic_ratings(n_users=900, n_items=800, n_ratings=40_000, seed=1)
    P1, Q1, _ = mfcore.initialization.init_factors(data, 20, seed=5, sigma0=0.3)
    P2, Q2, _ = mfcore.initialization.init_factors(data, 20, seed=5, sigma0=0.3)
    np.testing.assert_array_equal(P1, P2)
    assert abs(np.concatenate([P1.ravel(), Q1.ravel()]).std() / 0.3 - 1) < 0.05


def test_cold_start(split):
    data = mfcore.Ratings([0, 0, 1, 1], [0, 1, 0, 1], [4.0, 3.0, 5.0, 2.0], n_users=3, n_items=3)
    m = MF(K=2, solver="als", max_iter=5).fit(data)
    assert m.predict(np.array([2, 0]), np.array([0, 2])).tolist() == [0.0, 0.0]
    assert m.predict(np.array([2, 0]), np.array([0, 2]), cold_start="global_mean").tolist() == [3.5, 3.5]


@pytest.mark.parametrize("kwargs, match", [
    (dict(K=0), "K"), (dict(K=2.5), "K"), (dict(lam=-1), "lam"), (dict(solver="adam"), "unknown solver"),
    (dict(reg_mode="sum"), "reg_mode"), (dict(solver="gd", step=0.0), "step"), (dict(solver="sgd", step=-0.1), "step"),
    (dict(solver="bgd", batch_size=0), "batch_size"), (dict(solver="als-gd", inner_steps=0), "inner_steps"),
    (dict(max_iter=0), "max_iter"), (dict(solver="sgd", step="armijo"), "step-size rule"),
    (dict(order="random"), "order"), (dict(tol=-1), "tol"),
])
def test_bad_arguments_fail_before_any_work(kwargs, match, split):
    train, _ = split
    with pytest.raises(ValueError, match=match):
        MF(**kwargs).fit(train)


def test_bad_data_types(split):
    train, valid = split
    with pytest.raises(TypeError, match="Ratings"):
        MF().fit(train.to_frame())
    other = mfcore.synthetic_ratings(n_users=20, n_items=30, n_ratings=200, seed=0)
    with pytest.raises(ValueError, match="same Ratings"):
        MF().fit(train, other)
    with pytest.raises(ValueError, match="validation data"):
        MF(patience=2).fit(train)
    with pytest.raises(RuntimeError, match="not fitted"):
        MF().predict([0], [0])


@pytest.mark.parametrize("solver, step", [("sgd", 5.0), ("bgd", 1e4), ("als-gd", 1e5)])
def test_divergence_is_reported(solver, step, split):
    train, _ = split
    with pytest.raises(mfcore.DivergenceError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore", mfcore.ObjectiveIncreaseWarning)
        MF(K=3, solver=solver, step=step, max_iter=50, sigma0=1.0).fit(train)
    msg = str(info.value)
    assert solver in msg and "iteration" in msg and "step" in msg


def test_O4_every_solver_stays_at_zero(split):
    train, _ = split
    for s in SOLVERS:
        m = MF(K=2, solver=s, sigma0=0.0, max_iter=3, tol=0).fit(train)
        assert not m.P_.any() and not m.Q_.any(), f"{s} moved away from the stationary point P=Q=0"


# ------------------------------------------------------------------ the scikit-learn estimator protocol
def test_sklearn_clone_gives_an_unfitted_copy_with_the_same_parameters(split):
    from sklearn.base import clone

    train, _ = split
    model = MF(K=4, lam=1e-3, solver="sgd", step=0.01, max_iter=2, order="simultaneous").fit(train)
    copy = clone(model)
    assert copy is not model and copy.get_params() == model.get_params()
    assert not hasattr(copy, "P_"), "clone must not copy the fitted attributes"


def test_get_params_set_params_and_repr_round_trip():
    model = MF(K=3, solver="gd", step="lipschitz", tol=1e-7)
    params = model.get_params(deep=True)
    assert params["K"] == 3 and params["step"] == "lipschitz" and "lr" not in params
    assert set(params) == set(MF().get_params()), "every constructor parameter is a parameter (declared once)"
    assert model.set_params(K=5, lam=0.1) is model and model.K == 5 and model.lam == 0.1
    again = eval(repr(model), {"MF": MF})
    assert again.get_params() == model.get_params(), f"repr must show every parameter: {model!r}"
    with pytest.raises(ValueError, match="no parameter 'alpha'"):
        model.set_params(alpha=0.1)


def test_mfcore_does_not_import_sklearn():
    import subprocess
    import sys

    code = "import sys, mfcore; mfcore.MF(); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", "mfcore must not depend on scikit-learn at run time"


def test_not_fitted_error_is_a_value_and_attribute_error():
    for exc in (ValueError, AttributeError, mfcore.NotFittedError):
        with pytest.raises(exc, match="not fitted"):
            MF().rmse(mfcore.synthetic_ratings(20, 20, 100))


# ------------------------------------------------------------------ one name for the step size
def test_old_step_names_still_work_with_a_deprecation_warning(split):
    train, _ = split
    with pytest.warns(DeprecationWarning, match="'lr' is now called 'step'"):
        old = MF(K=3, solver="sgd", lr=0.01, max_iter=2).fit(train)
    new = MF(K=3, solver="sgd", step=0.01, max_iter=2).fit(train)
    np.testing.assert_array_equal(old.P_, new.P_)
    assert old.get_params() == new.get_params()
    with pytest.warns(DeprecationWarning, match="'lr'"):
        assert MF().set_params(lr=0.02).step == 0.02
    with pytest.raises(TypeError, match="twice"):
        MF(step=0.1, lr=0.1)


def test_every_step_function_accepts_its_old_name(split):
    train, _ = split
    P, Q, rng = mfcore.init_factors(train, 3)
    calls = [
        (mfcore.gd_step, dict(alpha=0.5), dict(step=0.5), ()),
        (mfcore.armijo_step, dict(alpha_trial=2.0), dict(step=2.0), ()),
    ]
    for fn, old, new, _ in calls:
        with pytest.warns(DeprecationWarning, match="now called 'step'"):
            a = fn(P, Q, train, 1e-3, **old)
        b = fn(P, Q, train, 1e-3, **new)
        np.testing.assert_array_equal(a[0], b[0])
    for fn, extra in ((mfcore.sgd_epoch, {}), (mfcore.bgd_epoch, {"batch_size": 8})):
        P1, Q1, P2, Q2 = P.copy(), Q.copy(), P.copy(), Q.copy()
        with pytest.warns(DeprecationWarning, match="now called 'step'"):
            fn(P1, Q1, train, 1e-3, alpha=0.01, rng=np.random.default_rng(1), **extra)
        fn(P2, Q2, train, 1e-3, step=0.01, rng=np.random.default_rng(1), **extra)
        np.testing.assert_array_equal(P1, P2)
    p, q = np.ones(3), np.ones(3)
    with pytest.warns(DeprecationWarning, match="now called 'step'"):
        mfcore.sgd_update(p, q, 4.0, alpha=0.1, lam_u=0.1, lam_i=0.1)


def test_cli_takes_the_step_size(tmp_path, capsys):
    from mfcore.cli import main

    code = main(["cv", "--data", "synthetic", "--solver", "sgd", "--step", "0.01", "--K", "2,3", "--lam", "1e-4,1e-3",
                 "--max-iter", "2", "--out", str(tmp_path)])
    assert code == 0 and (tmp_path / "best.json").is_file()
    assert main(["cv", "--solver", "sgd", "--step", "fast", "--K", "2", "--lam", "1e-4", "--out", str(tmp_path)]) == 2
    assert "step-size rule" in capsys.readouterr().err


@pytest.mark.parametrize("solver", ["sgd", "bgd"])
def test_early_stopping_restores_the_best_iterate_of_in_place_solvers(solver, split):
    train, valid = split
    m = MF(K=8, lam=1e-6, solver=solver, step=0.05 if solver == "sgd" else 2.0, max_iter=300, patience=3,
           seed=0).fit(train, valid)
    h = m.history_
    assert m.stop_reason_ == "early_stopping", "with λ ≈ 0 and K=8 the validation RMSE should rise (overfitting)"
    assert m.rmse(valid) == pytest.approx(h["valid_rmse"].min(), rel=1e-12), (
        "SGD/BGD update P, Q in place: the restored best iterate must be a copy, not the last one")


@pytest.mark.parametrize("solver", SOLVERS)
def test_fit_from_given_factors_starts_there_and_leaves_them_alone(solver, split):
    train, _ = split
    rng = np.random.default_rng(5)
    P0, Q0 = rng.normal(0, 0.3, (train.n_users, 3)), rng.normal(0, 0.3, (train.n_items, 3))
    kept = P0.copy(), Q0.copy()
    model = MF(K=3, lam=1e-4, solver=solver, max_iter=3, seed=1).fit(train, init=(P0, Q0))
    assert model.history_["objective"].iloc[0] == pytest.approx(mfcore.objective(P0, Q0, train, 1e-4), rel=1e-12)
    assert np.array_equal(P0, kept[0]) and np.array_equal(Q0, kept[1]), f"{solver} changed the caller's init"
    seeded = MF(K=3, lam=1e-4, solver=solver, max_iter=3, seed=1).fit(train)
    assert model.history_["objective"].iloc[0] != seeded.history_["objective"].iloc[0]


def test_als_from_given_factors_is_algorithm_1_from_there(split):
    train, _ = split
    P0, Q0, _ = mfcore.init_factors(train, 3, seed=11, sigma0=0.5)
    model = MF(K=3, lam=0.05, reg_mode="weighted", max_iter=2, tol=0, seed=0).fit(train, init=(P0, Q0))
    P, Q = mfcore.als_iteration(P0, Q0, train, 0.05, "weighted")
    P, Q = mfcore.als_iteration(P, Q, train, 0.05, "weighted")
    assert np.allclose(model.P_, P, rtol=0, atol=1e-12) and np.allclose(model.Q_, Q, rtol=0, atol=1e-12)


@pytest.mark.parametrize("init, error, match", [
    ("P", TypeError, "pair"),
    ((np.zeros((150, 3)),), TypeError, "pair"),
    ((np.zeros((149, 3)), np.zeros((120, 3))), ValueError, "P has 149 rows"),
    ((np.zeros((150, 3)), np.zeros((120, 2))), ValueError, "latent dimension"),
    ((np.zeros((150, 2)), np.zeros((120, 2))), ValueError, "K=2 columns but the model has K=3"),
    ((np.full((150, 3), np.nan), np.zeros((120, 3))), ValueError, "P0 contains NaN"),
    ((np.zeros((150, 3)), np.full((120, 3), np.inf)), ValueError, "Q0 contains NaN or inf"),
    ((np.zeros((150, 3), dtype=object), np.zeros((120, 3))), TypeError, "P0 must be a real numeric array"),
])
def test_bad_init_is_refused_before_any_work(init, error, match, split):
    train, _ = split
    with pytest.raises(error, match=match):
        MF(K=3, max_iter=2).fit(train, init=init)


def test_init_is_a_fit_argument_not_a_parameter():
    assert "init" not in MF().get_params(), "init is data, not a hyperparameter: clone() and searches never copy it"
