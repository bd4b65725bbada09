"""The biased model μ + b_u + c_i + p_uᵀq_i (notes/derivations.md §11), checked with the plain model's oracles:
the gradient against finite differences, ALS never increasing the objective and matching a stacked
least-squares reference, SGD and BGD against their closed forms, every solver reaching the same objective,
and the plain model staying exactly what it was (biases fixed at 0)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from problems import random_problem, rel

import mfcore
from mfcore import MF

MODES = ["mean", "weighted"]


def _biases(data, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    b, c = scale * rng.standard_normal(data.n_users), scale * rng.standard_normal(data.n_items)
    b[data.user_counts == 0] = 0.0
    c[data.item_counts == 0] = 0.0
    return b, c


# ------------------------------------------------------------------ X2: objective and gradient
def test_the_biased_objective_by_hand():
    """2 users, 2 items, 3 ratings: F^b = MSE + λ‖Θ‖² + λ_b(‖b‖² + ‖c‖²) with μ the mean rating."""
    data = mfcore.Ratings([0, 0, 1], [0, 1, 1], [5.0, 3.0, 4.0])
    P, Q = np.array([[1.0], [0.5]]), np.array([[0.2], [-0.4]])
    b, c = np.array([0.3, -0.1]), np.array([0.2, 0.0])
    mu = 4.0
    e = [5 - (mu + 0.3 + 0.2 + 0.2), 3 - (mu + 0.3 + 0.0 - 0.4), 4 - (mu - 0.1 + 0.0 - 0.2)]
    want = np.mean(np.square(e)) + 0.1 * (1 + 0.25 + 0.04 + 0.16) + 0.5 * (0.09 + 0.01 + 0.04)
    assert mfcore.objective(P, Q, data, 0.1, b=b, c=c, lam_b=0.5) == pytest.approx(want, rel=1e-12)
    assert mfcore.rmse(P, Q, data, b=b, c=c, mu=mu) == pytest.approx(np.sqrt(np.mean(np.square(e))), rel=1e-12)


def test_rmse_with_biases_needs_the_training_mean():
    data, P, Q = random_problem()
    b, c = _biases(data)
    with pytest.raises(ValueError, match="training"):
        mfcore.rmse(P, Q, data, b=b, c=c)


@pytest.mark.parametrize("reg_mode", MODES)
@pytest.mark.parametrize("lam, lam_b", [(0.1, None), (0.1, 0.3), (0.0, 0.2), (0.0, 0.0)])
def test_X2_gradient_matches_finite_differences(reg_mode, lam, lam_b):
    data, P, Q = random_problem(6, 5, 3, seed=1, unseen_user=True, unseen_item=True)
    b, c = _biases(data, seed=2)
    err = mfcore.check_gradient(P, Q, data, lam, reg_mode, b=b, c=c, lam_b=lam_b)
    assert err < 1e-6, f"the biased gradient is off by {err:.2e} (notes/derivations.md §11.2)"


def test_the_biased_gradient_of_a_bias_is_minus_the_mean_residual_plus_the_penalty():
    data, P, Q = random_problem(5, 4, 2, seed=4)
    b, c = _biases(data, seed=5)
    mu = data.mean
    _, _, db, dc = mfcore.gradient(P, Q, data, 0.1, b=b, c=c, lam_b=0.3)
    e = mfcore.residuals(P, Q, data, b=b, c=c, mu=mu)
    want_b = -2 / len(data) * np.bincount(data.users, e, data.n_users) + 2 * 0.3 * b
    want_c = -2 / len(data) * np.bincount(data.items, e, data.n_items) + 2 * 0.3 * c
    assert rel(db, want_b) < 1e-13 and rel(dc, want_c) < 1e-13


# ------------------------------------------------------------------ X2: ALS
def _stacked_item_reference(P, b, data, lam, lam_b, reg_mode):
    """(Q, c) by np.linalg.lstsq on [F̃; √ρS] x = [y; 0] per item, F̃ = (p_u, 1), y = r − μ − b_u (§11.3)."""
    K = P.shape[1]
    w = mfcore.penalty_weights(data, reg_mode)[1]
    Q, c = np.zeros((data.n_items, K)), np.zeros(data.n_items)
    for i in range(data.n_items):
        rows = np.flatnonzero(data.items == i)
        if len(rows) == 0:
            continue
        u = data.users[rows]
        F = np.hstack([P[u], np.ones((len(rows), 1))])
        y = data.ratings[rows] - data.mean - b[u]
        ridge = len(data) * w[i] * np.array([lam] * K + [lam_b])
        x = np.linalg.lstsq(np.vstack([F, np.diag(np.sqrt(ridge))]), np.r_[y, np.zeros(K + 1)], rcond=None)[0]
        Q[i], c[i] = x[:K], x[K]
    return Q, c


@pytest.mark.filterwarnings("ignore:ALS with lam=0")          # λ = 0: only the biases are penalised here
@pytest.mark.parametrize("reg_mode", MODES)
@pytest.mark.parametrize("lam, lam_b", [(0.05, 0.05), (0.05, 0.2), (0.0, 0.1)])
def test_X2_item_step_matches_the_stacked_least_squares_reference(reg_mode, lam, lam_b):
    data, P, _ = random_problem(8, 6, 3, seed=6, unseen_item=True)
    b, _ = _biases(data, seed=7)
    Q, c = mfcore.als_item_step(P, data, lam, reg_mode, b=b, lam_b=lam_b)
    Q_ref, c_ref = _stacked_item_reference(P, b, data, lam, lam_b, reg_mode)
    assert rel(Q, Q_ref) < 1e-10 and rel(c, c_ref) < 1e-10
    assert not Q[-1].any() and c[-1] == 0.0, "an item without ratings gets q = 0 and c = 0 (its exact optimum)"


@pytest.mark.parametrize("reg_mode", MODES)
def test_X2_half_steps_never_increase_the_biased_objective(reg_mode):
    data, P, Q = random_problem(12, 9, 3, density=0.5, seed=8, unseen_user=True)
    b, c = np.zeros(data.n_users), np.zeros(data.n_items)
    lam, lam_b = 0.02, 0.05

    def F():
        return mfcore.objective(P, Q, data, lam, reg_mode, b=b, c=c, lam_b=lam_b)

    values = [F()]
    for _ in range(15):
        Q, c = mfcore.als_item_step(P, data, lam, reg_mode, b=b, lam_b=lam_b)
        values.append(F())
        P, b = mfcore.als_user_step(Q, data, lam, reg_mode, c=c, lam_b=lam_b)
        values.append(F())
    steps = np.diff(values)
    assert np.all(steps <= 1e-12 * max(1.0, values[0])), f"a half-step increased F^b by {steps.max():.2e}"


def test_with_zero_factors_the_item_bias_is_a_shrunk_mean():
    """P = 0: c_i = Σ_{u∈U_i}(r_ui − μ − b_u) / (|U_i| + λ_b|Ω|), the mean deviation with a pseudo-count (§11.5)."""
    data, _, _ = random_problem(10, 7, 2, seed=9)
    b, _ = _biases(data, seed=10)
    lam_b = 0.03
    Q, c = mfcore.als_item_step(np.zeros((data.n_users, 2)), data, 0.01, b=b, lam_b=lam_b)
    dev = data.ratings - data.mean - b[data.users]
    want = np.bincount(data.items, dev, data.n_items) / (data.item_counts + lam_b * len(data))
    assert rel(c, want) < 1e-12 and not Q.any()


# ------------------------------------------------------------------ SGD and BGD
@pytest.mark.parametrize("order", ["sequential", "simultaneous"])
def test_one_biased_sgd_step_matches_its_closed_form(order):
    data = mfcore.Ratings([0], [0], [4.0])
    rng = np.random.default_rng(11)
    P, Q = rng.standard_normal((1, 3)), rng.standard_normal((1, 3))
    b, c = np.array([0.3]), np.array([-0.2])
    p, q, bu, ci = P[0].copy(), Q[0].copy(), 0.3, -0.2
    alpha, lam, lam_b, mu = 0.05, 0.1, 0.4, 3.0
    e = 4.0 - mu - bu - ci - p @ q
    if order == "sequential":                      # item side first, then the user with the new c_i and q_i
        ci2 = ci + 2 * alpha * (e - lam_b * ci)
        q2 = q + 2 * alpha * (e * p - lam * q)
        e2 = 4.0 - mu - bu - ci2 - p @ q2
        bu2, p2 = bu + 2 * alpha * (e2 - lam_b * bu), p + 2 * alpha * (e2 * q2 - lam * p)
    else:
        ci2, bu2 = ci + 2 * alpha * (e - lam_b * ci), bu + 2 * alpha * (e - lam_b * bu)
        q2, p2 = q + 2 * alpha * (e * p - lam * q), p + 2 * alpha * (e * q - lam * p)
    # "weighted": the per-sample coefficients are λ and λ_b themselves
    mfcore.sgd_epoch(P, Q, data, lam, alpha, "weighted", order=order, b=b, c=c, mu=mu, lam_b=lam_b)
    assert rel(Q[0], q2) < 1e-14 and rel(P[0], p2) < 1e-14
    assert b[0] == pytest.approx(bu2, rel=1e-14) and c[0] == pytest.approx(ci2, rel=1e-14)


@pytest.mark.parametrize("reg_mode", MODES)
def test_full_batch_biased_bgd_is_one_biased_gd_step(reg_mode):
    data, P, Q = random_problem(7, 6, 3, seed=12)
    b, c = _biases(data, seed=13)
    want = mfcore.gd_step(P, Q, data, 0.05, 0.3, reg_mode, b=b, c=c, lam_b=0.1)
    P2, Q2, b2, c2 = P.copy(), Q.copy(), b.copy(), c.copy()
    mfcore.bgd_epoch(P2, Q2, data, 0.05, 0.3, len(data), reg_mode, b=b2, c=c2, lam_b=0.1)
    for got, w in zip((P2, Q2, b2, c2), want):
        assert rel(got, w) < 1e-12


def test_biases_must_be_writeable_arrays_for_in_place_epochs():
    data, P, Q = random_problem()
    with pytest.raises(ValueError, match="in place"):
        mfcore.sgd_epoch(P, Q, data, 0.1, 0.01, b=[0.0] * data.n_users, c=np.zeros(data.n_items))


# ------------------------------------------------------------------ every solver, one objective
@pytest.fixture(scope="module")
def fits():
    data = mfcore.synthetic_ratings(n_users=150, n_items=120, n_ratings=5000, rank=3, seed=3)

    def decay(a0):
        return lambda t: a0 / (1 + t / 50)

    settings_ = {"als": dict(max_iter=500, tol=1e-12), "gd": dict(max_iter=3000, tol=1e-13),
                 "als-gd": dict(max_iter=2000, tol=1e-12), "sgd": dict(step=decay(0.01), max_iter=600),
                 "bgd": dict(step=decay(0.5), max_iter=600)}
    return {s: MF(K=3, lam=1e-3, solver=s, biased=True, seed=0, **kw).fit(data) for s, kw in settings_.items()}


@pytest.mark.parametrize("solver", ["gd", "als-gd", "sgd", "bgd"])
def test_every_solver_reaches_the_biased_objective_of_als(fits, solver):
    F_als = fits["als"].history_["objective"].iloc[-1]
    F = fits[solver].history_["objective"].iloc[-1]
    tol = 1e-6 if solver in ("gd", "als-gd") else 1e-2
    assert abs(F - F_als) <= tol * F_als, f"{solver} ends at F^b = {F:.8g}, ALS at {F_als:.8g}"
    assert rel(fits[solver].c_, fits["als"].c_) < (1e-3 if solver in ("gd", "als-gd") else 0.1)


def test_the_biased_fit_is_monotone_with_als_and_keeps_mu(fits):
    F = fits["als"].history_["objective"].to_numpy()
    assert np.all(np.diff(F) <= 1e-12 * F[0])
    assert fits["als"].mu_ > 0 and fits["als"].lam_b_ == 1e-3


@pytest.mark.parametrize("solver", ["als", "gd", "als-gd", "sgd", "bgd"])
def test_the_plain_model_is_the_biased_one_with_biases_fixed_at_zero(solver):
    data = mfcore.synthetic_ratings(n_users=60, n_items=50, n_ratings=900, rank=2, seed=4)
    m = MF(K=2, lam=1e-3, solver=solver, max_iter=5, seed=0).fit(data)
    assert not m.b_.any() and not m.c_.any() and m.mu_ == 0.0 and m.lam_b_ is None
    assert m.history_["objective"].iloc[-1] == pytest.approx(mfcore.objective(m.P_, m.Q_, data, 1e-3), rel=1e-12)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), reg_mode=st.sampled_from(MODES), lam=st.floats(1e-3, 0.3),
       lam_b=st.floats(0.0, 0.3))
def test_property_gradient_of_random_biased_problems(seed, reg_mode, lam, lam_b):
    data, P, Q = random_problem(5, 4, 2, seed=seed, unseen_user=seed % 2 == 0)
    b, c = _biases(data, seed=seed + 1)
    assert mfcore.check_gradient(P, Q, data, lam, reg_mode, b=b, c=c, lam_b=lam_b) < 1e-6


# ------------------------------------------------------------------ cold start (C5)
def test_C5_cold_start_of_the_biased_model_is_mu_plus_the_known_bias():
    data = mfcore.Ratings([0, 0, 1, 1], [0, 1, 0, 1], [4.0, 3.0, 5.0, 2.0], n_users=3, n_items=3)
    m = MF(K=2, solver="als", biased=True, max_iter=20).fit(data)
    r = m.predict(np.array([2, 2, 0]), np.array([0, 2, 2]))
    assert r[0] == pytest.approx(m.mu_ + m.c_[0]) and r[1] == pytest.approx(m.mu_)
    assert r[2] == pytest.approx(m.mu_ + m.b_[0])
    assert m.mu_ == pytest.approx(3.5) and m.b_[2] == 0.0 and m.c_[2] == 0.0
    assert m.predict(np.array([2]), np.array([0]), cold_start="global_mean")[0] == pytest.approx(3.5)


def test_bad_bias_arguments_say_what_to_change():
    data, P, Q = random_problem()
    with pytest.raises(ValueError, match="biased=True"):
        MF(lam_b=0.1).fit(data)
    with pytest.raises(ValueError, match="lam_b"):
        MF(biased=True, lam_b=-1.0).fit(data)
    with pytest.raises(ValueError, match="shape"):
        mfcore.objective(P, Q, data, 0.1, b=np.zeros(2), c=np.zeros(data.n_items))
