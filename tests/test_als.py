"""ALS, Algorithm 1 (notes/derivations.md §4): oracles A1–A6 and O4 of notes/checks.md"""

from __future__ import annotations

import numpy as np
import pytest
from problems import random_problem, rel
from hypothesis import given, settings
from hypothesis import strategies as st

from mfcore._kernels import ridge_solve_rows
from mfcore.als import als_item_step, als_iteration, als_user_step
from mfcore.gradients import gradient
from mfcore.initialization import init_factors
from mfcore.objectives import objective

REG_MODES = ("mean", "weighted")


def stacked_lstsq(F, view, ridge):
    """Reference of notes/checks.md A2: per row, lstsq of [F_U; sqrt(ridge_r) I] x = [r_U; 0]."""
    K = F.shape[1]
    out = np.zeros((len(view.indptr) - 1, K))
    for r in range(len(out)):
        rows = slice(view.indptr[r], view.indptr[r + 1])
        X = np.vstack([F[view.index[rows]], np.sqrt(ridge[r]) * np.eye(K)])
        y = np.concatenate([view.values[rows], np.zeros(K)])
        out[r] = np.linalg.lstsq(X, y, rcond=None)[0]
    return out


def assert_no_increase(before, after, what):
    assert after <= before + 1e-12 * max(1.0, before), (
        f"ALS {what} increased F from {before!r} to {after!r}: each half-step minimises F exactly "
        "over one block (notes/derivations.md §4.5)")


@pytest.mark.parametrize("reg_mode", REG_MODES)
def test_A1_objective_never_increases_after_a_half_step(reg_mode):
    data, P, Q = random_problem(12, 10, 3, density=0.5, seed=1, unseen_user=True, unseen_item=True)
    lam = 0.02
    F = objective(P, Q, data, lam, reg_mode)
    for it in range(20):
        Q = als_item_step(P, data, lam, reg_mode)
        F_item = objective(P, Q, data, lam, reg_mode)
        assert_no_increase(F, F_item, f"item step {it}")
        P = als_user_step(Q, data, lam, reg_mode)
        F = objective(P, Q, data, lam, reg_mode)
        assert_no_increase(F_item, F, f"user step {it}")


@pytest.mark.parametrize("lam", [1e-6, 1e-3, 0.1])
def test_A2_rows_with_fewer_ratings_than_K_use_the_dual_system_exactly(lam):
    # K = 12 and ~20% density: most rows have fewer than K ratings and take the cnt x cnt path
    data, P, Q = random_problem(30, 25, 12, density=0.2, seed=4)
    assert (data.item_counts < 12).mean() > 0.5 and (data.user_counts < 12).mean() > 0.5
    ridge = np.full(data.n_items, lam * len(data))
    Q1 = als_item_step(P, data, lam)
    ref = stacked_lstsq(P, data.by_item, ridge)
    assert rel(Q1, ref) < 1e-10, (f"item step with |U_i| < K differs from the stacked least-squares reference "
                                  f"(rel {rel(Q1, ref):.2e}): (F_UᵀF_U + ρI)⁻¹F_Uᵀr must equal F_Uᵀ(F_U F_Uᵀ + ρI)⁻¹r")
    P1 = als_user_step(Q, data, lam)
    assert rel(P1, stacked_lstsq(Q, data.by_user, np.full(data.n_users, lam * len(data)))) < 1e-10


@pytest.mark.parametrize("unseen", [False, True])
def test_A2_steps_match_the_stacked_least_squares_reference(unseen):
    data, P, Q = random_problem(9, 7, 3, seed=2, unseen_user=unseen, unseen_item=unseen)
    lam = 0.1
    ridge = lam * len(data)
    Q1 = als_item_step(P, data, lam)
    ref = stacked_lstsq(P, data.by_item, np.full(data.n_items, ridge))
    assert rel(Q1, ref) < 1e-10, f"item step differs from lstsq of [P_U; sqrt(λ|Ω|) I]: rel {rel(Q1, ref):.2e}"
    g_Q = np.linalg.norm(gradient(P, Q1, data, lam)[1])
    assert g_Q < 1e-10, f"‖∇_Q F‖ = {g_Q:.2e} after the item step, expected ~0: Q is the exact block minimiser"
    P1 = als_user_step(Q, data, lam)
    ref = stacked_lstsq(Q, data.by_user, np.full(data.n_users, ridge))
    assert rel(P1, ref) < 1e-10, f"user step differs from lstsq of [Q_I; sqrt(λ|Ω|) I]: rel {rel(P1, ref):.2e}"
    g_P = np.linalg.norm(gradient(P1, Q, data, lam)[0])
    assert g_P < 1e-10, f"‖∇_P F‖ = {g_P:.2e} after the user step, expected ~0"


def test_A2_lambda_zero_gives_the_minimum_norm_least_squares_solution():
    data, P, Q = random_problem(6, 5, 4, density=0.5, seed=4)     # several items with |U_i| < K
    assert (data.item_counts < 4).any()
    with pytest.warns(UserWarning, match="not unique"):
        Q1 = als_item_step(P, data, 0.0)
    ref = stacked_lstsq(P, data.by_item, np.zeros(data.n_items))
    assert rel(Q1, ref) < 1e-10, f"λ=0 item step is not the minimum-norm lstsq solution: rel {rel(Q1, ref):.2e}"


@pytest.mark.parametrize("lam", [0.1, 0.0])
def test_A3_unseen_rows_are_exactly_zero(lam):
    data, P, Q = random_problem(7, 6, 3, seed=3, unseen_user=True, unseen_item=True)
    P[-1] = Q[-1] = 5.0
    if lam == 0.0:
        with pytest.warns(UserWarning, match="lam=0"):
            P1, Q1 = als_iteration(P, Q, data, lam)
    else:
        P1, Q1 = als_iteration(P, Q, data, lam)
    assert np.all(Q1[-1] == 0.0) and np.all(P1[-1] == 0.0), (
        f"unseen rows should be exactly 0 (their exact block minimiser, notes/derivations.md §4.4), "
        f"got q={Q1[-1]}, p={P1[-1]}")


def test_A4_stationary_point_is_balanced():
    data, _, _ = random_problem(40, 30, 3, density=0.5, seed=5, noise=0.1)
    P, Q, _ = init_factors(data, 4, seed=0)
    lam = 1e-3
    for _ in range(300):
        P, Q = als_iteration(P, Q, data, lam)
    PtP, QtQ = P.T @ P, Q.T @ Q
    balance = np.linalg.norm(PtP - QtQ) / np.linalg.norm(PtP)
    dP, dQ = gradient(P, Q, data, lam)
    g = np.sqrt(np.sum(dP ** 2) + np.sum(dQ ** 2))
    assert balance < 1e-6, (f"‖PᵀP − QᵀQ‖/‖PᵀP‖ = {balance:.2e} after 300 ALS iterations, expected < 1e-6 "
                            "(notes/derivations.md §4.6)")
    assert g < 1e-6, f"‖∇F‖ = {g:.2e} after 300 ALS iterations, expected < 1e-6 (a stationary point)"


def test_A5_weighted_mode_uses_ridge_lambda_times_count():
    data, P, Q = random_problem(9, 7, 3, seed=6, unseen_user=True, unseen_item=True)
    lam = 0.3
    Q1 = als_item_step(P, data, lam, reg_mode="weighted")
    ref = stacked_lstsq(P, data.by_item, lam * data.item_counts)
    assert rel(Q1, ref) < 1e-10, (f"weighted item step should use the ridge λ|U_i| (notes/derivations.md §6.4): "
                                  f"rel {rel(Q1, ref):.2e}")
    P1 = als_user_step(Q, data, lam, reg_mode="weighted")
    ref = stacked_lstsq(Q, data.by_user, lam * data.user_counts)
    assert rel(P1, ref) < 1e-10, f"weighted user step should use the ridge λ|I_u|: rel {rel(P1, ref):.2e}"
    g_Q = np.linalg.norm(gradient(P, Q1, data, lam, reg_mode="weighted")[1])
    assert g_Q < 1e-10, f"‖∇_Q G‖ = {g_Q:.2e} after the weighted item step, expected ~0"


def test_A6_identical_columns_stay_identical():
    data, P, Q = random_problem(10, 8, 3, seed=7)
    P0 = np.repeat(P[:, :1], 3, axis=1)
    Q1 = als_item_step(P0, data, 0.05)
    for k in (1, 2):
        assert rel(Q1[:, k], Q1[:, 0]) < 1e-10, (
            f"column {k} of Q⁽¹⁾ differs from column 0 by rel {rel(Q1[:, k], Q1[:, 0]):.2e}: ALS keeps "
            "q_i in the row space of P, so identical columns stay identical (notes/derivations.md §8.3)")


def test_O4_origin_is_a_fixed_point():
    data, P, Q = random_problem(6, 5, 3, seed=8)
    P1, Q1 = als_iteration(np.zeros_like(P), np.zeros_like(Q), data, 0.1)
    assert not P1.any() and not Q1.any(), ("ALS from P=Q=0 must return exactly zero factors "
                                           "(notes/derivations.md §8.2, O4)")


def test_als_iteration_is_item_step_then_user_step_and_does_not_mutate():
    data, P, Q = random_problem(8, 6, 2, seed=9)
    P0, Q0 = P.copy(), Q.copy()
    P1, Q1 = als_iteration(P, Q, data, 0.05, reg_mode="weighted")
    Q_ref = als_item_step(P, data, 0.05, reg_mode="weighted")
    assert np.array_equal(Q1, Q_ref) and np.array_equal(P1, als_user_step(Q_ref, data, 0.05, "weighted"))
    assert np.array_equal(P, P0) and np.array_equal(Q, Q0), "als_iteration must not modify its inputs"


def test_singular_system_falls_back_to_least_squares():
    F = np.array([[1.0, 1.0], [1.0, 1.0]])                 # Σ f fᵀ is singular; ridge 1e-300 is lost to rounding
    indptr = np.array([0, 2])
    index = np.array([0, 1])
    values = np.array([1.0, 3.0])
    out = np.empty((1, 2))
    n = ridge_solve_rows(F, indptr, index, values, np.array([1e-300]), np.ones(2), out)
    assert n == 1, "a non-positive Cholesky pivot should switch the row to least squares"
    np.testing.assert_allclose(out[0], [1.0, 1.0], rtol=1e-12,
                               err_msg="expected the minimum-norm solution of q1 + q2 = mean(r) = 2")


@pytest.mark.parametrize("call, match", [
    (lambda d, P, Q: als_item_step(P[:-1], d, 0.1), "n_users"),
    (lambda d, P, Q: als_user_step(Q[:, :, None], d, 0.1), "2-D"),
    (lambda d, P, Q: als_iteration(P, Q[:, :2], d, 0.1), "latent dimension"),
    (lambda d, P, Q: als_iteration(P, Q, d, -1.0), "lam"),
    (lambda d, P, Q: als_iteration(P, Q, d, 0.1, reg_mode="sum"), "reg_mode"),
    (lambda d, P, Q: als_iteration(np.full_like(P, np.nan), Q, d, 0.1), "NaN"),
    (lambda d, P, Q: als_user_step(np.full_like(Q, np.inf), d, 0.1), "NaN or inf"),
])
def test_bad_arguments_raise_value_error(call, match):
    data, P, Q = random_problem(5, 4, 3, seed=0)
    with pytest.raises(ValueError, match=match):
        call(data, P, Q)


def test_data_must_be_ratings():
    _, P, Q = random_problem()
    with pytest.raises(TypeError, match="Ratings"):
        als_item_step(P, [(0, 0, 1.0)], 0.1)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 8), m=st.integers(2, 8), K=st.integers(1, 4), density=st.floats(0.2, 1.0),
       seed=st.integers(0, 10_000), lam=st.floats(1e-3, 1.0), reg_mode=st.sampled_from(REG_MODES))
def test_item_step_is_a_block_minimiser(n, m, K, density, seed, lam, reg_mode):
    data, P, Q = random_problem(n, m, K, density=density, seed=seed)
    Q1 = als_item_step(P, data, lam, reg_mode)
    g = np.linalg.norm(gradient(P, Q1, data, lam, reg_mode)[1])
    scale = np.linalg.norm(gradient(P, np.zeros_like(Q), data, lam, reg_mode)[1])   # (2/|Ω|)‖R_Ωᵀ P‖
    assert g <= 1e-8 * scale + 1e-300, f"‖∇_Q F‖ = {g:.2e} after the item step (scale {scale:.2e}), expected ~0"
    F0, F1 = objective(P, Q, data, lam, reg_mode), objective(P, Q1, data, lam, reg_mode)
    assert_no_increase(F0, F1, "item step")


# ------------------------------------------------------------------ the helpers of line 7, each on its own
def _gathered(K=4, cnt=3, seed=0):
    from mfcore._kernels import gather_rows
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((6, K))
    index = np.array([4, 1, 5, 0, 2], dtype=np.int64)[:cnt]
    XT = np.empty((K, cnt))
    gather_rows(F, index, 0, cnt, XT)
    np.testing.assert_array_equal(XT, F[index].T, err_msg="gather_rows must put the rows F[U] as columns")
    return F[index], XT, rng.standard_normal(cnt)


def test_cholesky_solve_matches_numpy_and_refuses_a_singular_system():
    from mfcore._kernels import cholesky_solve
    rng = np.random.default_rng(1)
    X = rng.standard_normal((7, 4))
    A, b = X.T @ X, rng.standard_normal(4)
    want = np.linalg.solve(A + 0.3 * np.eye(4), b)
    got = b.copy()
    assert cholesky_solve(A.copy(), 0.3, got)
    assert rel(got, want) < 1e-12, "cholesky_solve must return (A + ρI)⁻¹ b"
    singular = np.outer(X[0], X[0])                 # rank 1
    assert not cholesky_solve(singular, 0.0, b.copy()), "a rank-deficient A with ρ = 0 must be refused"


def test_dual_solve_equals_the_primal_ridge_solution():
    from mfcore._kernels import dual_solve
    F_U, XT, r_U = _gathered(K=6, cnt=3)
    rho = 0.7
    primal = np.linalg.solve(F_U.T @ F_U + rho * np.eye(6), F_U.T @ r_U)
    x = np.empty(6)
    assert dual_solve(XT, 3, r_U, rho, np.empty((6, 6)), np.empty(6), x)
    assert rel(x, primal) < 1e-12, ("with fewer ratings than K, F_Uᵀ(F_U F_Uᵀ + ρI)⁻¹r must equal "
                                    "(F_UᵀF_U + ρI)⁻¹F_Uᵀr (push-through identity)")


def test_ridge_solve_rows_is_gather_gram_rhs_solve():
    from mfcore._kernels import gram, rhs
    F_U, XT, r_U = _gathered(K=3, cnt=5)
    A, b = np.empty((3, 3)), np.empty(3)
    gram(XT, 5, A)
    rhs(XT, 5, r_U, b)
    np.testing.assert_allclose(A, F_U.T @ F_U, rtol=1e-13, err_msg="gram: A = Σ f fᵀ")
    np.testing.assert_allclose(b, F_U.T @ r_U, rtol=1e-13, err_msg="rhs: b = Σ r f")
