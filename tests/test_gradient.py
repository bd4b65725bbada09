"""Gradients: oracles O2 (finite differences), O3 (dense = sparse, the M matrix), O4 (∇F(0) = 0)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mfcore
from problems import random_problem, rel


@pytest.mark.parametrize("lam", [0.0, 0.1])
@pytest.mark.parametrize("unseen", [False, True])
@pytest.mark.parametrize("reg_mode", ["mean", "weighted"])
def test_O2_sparse_gradient_matches_finite_differences(lam, unseen, reg_mode):
    data, P, Q = random_problem(unseen_user=unseen, unseen_item=unseen)
    err = mfcore.check_gradient(P, Q, data, lam, reg_mode)
    assert err < 1e-6, (f"relative error {err:.2e} between the analytic gradient and central differences "
                        f"(λ={lam}, reg_mode={reg_mode}); a correct gradient gives ~1e-9")


def test_unseen_rows_get_pure_shrinkage():
    data, P, Q = random_problem(unseen_user=True, unseen_item=True)
    dP, dQ = mfcore.gradient(P, Q, data, 0.1)
    np.testing.assert_allclose(dP[-1], 0.2 * P[-1], rtol=1e-15)
    np.testing.assert_allclose(dQ[-1], 0.2 * Q[-1], rtol=1e-15)


def test_check_gradient_catches_a_wrong_gradient(small):
    data, P, Q = small

    def forgot_the_two(P, Q, data, lam, reg_mode):      # a typical student slip: no factor 2 on the loss
        dP, dQ = mfcore.gradient(P, Q, data, lam, reg_mode)
        gP, gQ = mfcore.gradient(P, Q, data, 0.0, reg_mode)
        return dP - gP / 2, dQ - gQ / 2

    assert mfcore.check_gradient(P, Q, data, 0.1, grad=forgot_the_two) > 1e-2


def test_directional_check_on_a_larger_problem():
    data = mfcore.synthetic_ratings(n_users=300, n_items=200, n_ratings=6000, seed=1)
    rng = np.random.default_rng(0)
    P, Q = rng.normal(0, 0.5, (300, 4)), rng.normal(0, 0.5, (200, 4))
    assert mfcore.check_gradient(P, Q, data, 0.01, n_directions=5) < 1e-6


@pytest.mark.parametrize("reg_mode", ["mean", "weighted"])
def test_O3_dense_equals_sparse(small, reg_mode):
    data, P, Q = small
    dense = mfcore.gradient_dense(P, Q, data, 0.1, reg_mode=reg_mode)
    assert rel(dense, mfcore.stack(*mfcore.gradient(P, Q, data, 0.1, reg_mode))) < 1e-12, \
        "−(2/|Ω|)MΘ + 2λΘ must equal the sparse per-row gradient"


def test_O3_structure_of_M(small):
    data, P, Q = small
    n = data.n_users
    M = mfcore.build_M(P, Q, data)
    assert M.shape == (n + data.n_items,) * 2
    np.testing.assert_array_equal(M, M.T, err_msg="M must be exactly symmetric")
    assert not M[:n, :n].any() and not M[n:, n:].any(), "the diagonal blocks of M are zero"
    e = mfcore.residuals(P, Q, data)
    np.testing.assert_array_equal(M[data.users, n + data.items], e, err_msg="M[u, n+i] = e_ui on Ω")
    assert np.count_nonzero(M) == 2 * np.count_nonzero(e), "M has exactly 2|Ω| non-zeros"


def test_dense_gradient_refuses_large_problems():
    data = mfcore.synthetic_ratings(n_users=4000, n_items=2000, n_ratings=90_000, seed=0)
    P, Q = np.zeros((4000, 2)), np.zeros((2000, 2))
    with pytest.raises(MemoryError, match="mfcore.gradient"):
        mfcore.gradient_dense(P, Q, data, 0.1)


def test_O4_gradient_at_zero_is_exactly_zero(small):
    data, P, Q = small
    dP, dQ = mfcore.gradient(np.zeros_like(P), np.zeros_like(Q), data, 0.1)
    assert not dP.any() and not dQ.any(), "the origin is a stationary point: ∇F(0) = 0 exactly"


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 7), m=st.integers(1, 7), K=st.integers(1, 4), lam=st.sampled_from([0.0, 0.01, 0.5]),
       density=st.floats(0.2, 1.0), seed=st.integers(0, 100_000), reg_mode=st.sampled_from(["mean", "weighted"]))
def test_gradient_properties_on_random_problems(n, m, K, lam, density, seed, reg_mode):
    data, P, Q = random_problem(n, m, K, density, seed=seed)
    assert mfcore.check_gradient(P, Q, data, lam, reg_mode) < 1e-6
    dense = mfcore.gradient_dense(P, Q, data, lam, reg_mode=reg_mode)
    assert rel(dense, mfcore.stack(*mfcore.gradient(P, Q, data, lam, reg_mode))) < 1e-12
