"""The model, eq. (1) and the RMSE: oracle O1 and the reg_mode conventions (notes/derivations.md §1, §6.4)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mfcore
from problems import random_problem, rel


def hand_example():
    # 2 users x 2 items, 3 observed pairs, K = 1
    data = mfcore.Ratings([0, 0, 1], [0, 1, 1], [3.0, 1.0, 2.0], 2, 2)
    P = np.array([[1.0], [2.0]])
    Q = np.array([[2.0], [0.5]])
    return data, P, Q


def test_O1_hand_computed_objective():
    data, P, Q = hand_example()
    # predictions 2, 0.5, 1 -> residuals 1, 0.5, 1 -> MSE = (1 + 0.25 + 1)/3 = 0.75
    # penalty = 1 + 4 + 4 + 0.25 = 9.25
    assert mfcore.objective(P, Q, data, lam=0.1) == pytest.approx(0.75 + 0.925, abs=1e-12)
    assert mfcore.rmse(P, Q, data) == pytest.approx(np.sqrt(0.75), abs=1e-12)
    np.testing.assert_allclose(mfcore.predict(P, Q, [0, 1], [1, 0]), [0.5, 4.0])
    np.testing.assert_allclose(mfcore.residuals(P, Q, data), [1.0, 0.5, 1.0])


def test_O1_F0_equals_rmse_squared(small):
    data, P, Q = small
    assert rel(mfcore.objective(P, Q, data, 0.0), mfcore.rmse(P, Q, data) ** 2) < 1e-12


def test_O1_penalty_counts_unseen_rows():
    data, P, Q = random_problem(unseen_user=True, unseen_item=True)
    P2, Q2 = P.copy(), Q.copy()
    P2[-1] += 1.0
    Q2[-1] -= 1.0
    assert mfcore.rmse(P, Q, data) == mfcore.rmse(P2, Q2, data), "unseen rows do not change predictions on Ω"
    assert mfcore.objective(P2, Q2, data, 0.1) != mfcore.objective(P, Q, data, 0.1), \
        "eq. (1) penalises every row of P and Q, also users/items without ratings"
    expected = mfcore.mse(P, Q, data) + 0.1 * (np.sum(P**2) + np.sum(Q**2))
    assert mfcore.objective(P, Q, data, 0.1) == pytest.approx(expected, rel=1e-14)


def test_weighted_mode_is_G_of_derivations_6_3(small):
    data, P, Q = small
    lam = 0.3
    n_omega = len(data)
    G = mfcore.mse(P, Q, data) + lam / n_omega * (
        sum(data.user_counts[u] * P[u] @ P[u] for u in range(data.n_users))
        + sum(data.item_counts[i] * Q[i] @ Q[i] for i in range(data.n_items)))
    assert rel(mfcore.objective(P, Q, data, lam, reg_mode="weighted"), G) < 1e-13
    # G is the mean of the slides' per-sample objective ℓ_ui
    e = mfcore.residuals(P, Q, data)
    ell = e**2 + lam * (np.sum(P[data.users]**2, 1) + np.sum(Q[data.items]**2, 1))
    assert rel(ell.mean(), G) < 1e-13


def test_rmse_never_contains_a_penalty(small):
    data, P, Q = small
    assert mfcore.rmse(P, Q, data) == pytest.approx(np.sqrt(np.mean(mfcore.residuals(P, Q, data) ** 2)))


@pytest.mark.parametrize("call, match", [
    (lambda d, P, Q: mfcore.objective(P[:-1], Q, d, 0.1), "n_users"),
    (lambda d, P, Q: mfcore.objective(P, Q[:, :2], d, 0.1), "latent dimension K"),
    (lambda d, P, Q: mfcore.objective(P, Q, d, -1.0), "lam"),
    (lambda d, P, Q: mfcore.objective(P, Q, d, float("nan")), "lam"),
    (lambda d, P, Q: mfcore.objective(P, Q, d, 0.1, reg_mode="sum"), "reg_mode"),
    (lambda d, P, Q: mfcore.objective(P, Q, d.to_frame(), 0.1), "from_frame"),
])
def test_bad_arguments_are_explained(small, call, match):
    data, P, Q = small
    with pytest.raises((ValueError, TypeError), match=match):
        call(data, P, Q)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 8), m=st.integers(1, 8), K=st.integers(1, 4), lam=st.floats(0, 2),
       seed=st.integers(0, 10_000))
def test_objective_matches_the_definition(n, m, K, lam, seed):
    data, P, Q = random_problem(n, m, K, 0.7, seed=seed)
    R = data.to_dense()
    mask = np.zeros_like(R, dtype=bool)
    mask[data.users, data.items] = True
    E = np.where(mask, R - P @ Q.T, 0.0)
    F = np.sum(E**2) / mask.sum() + lam * (np.sum(P**2) + np.sum(Q**2))
    assert rel(mfcore.objective(P, Q, data, lam), F) < 1e-12
