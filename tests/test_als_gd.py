"""ALS+GD, Algorithms 3/4 (notes/derivations.md §5): oracles B1–B4 of notes/checks.md, step sizes and argument
checks."""

from __future__ import annotations

import numpy as np
import pytest
from problems import random_problem, rel

from mfcore.als import als_iteration
from mfcore.als_gd import als_gd_iteration, block_gd_step
from mfcore.gradients import gradient
from mfcore.objectives import objective, penalty_weights

REG_MODES = ("mean", "weighted")


def item_sweep(P, Q, data, lam, reg_mode="mean", **kw):
    return block_gd_step(P, Q, data.by_item, lam, len(data), penalty_weights(data, reg_mode)[1], **kw)


def user_sweep(P, Q, data, lam, reg_mode="mean", **kw):
    return block_gd_step(Q, P, data.by_user, lam, len(data), penalty_weights(data, reg_mode)[0], **kw)


def max_kappa(F, view, lam, n_omega, w):
    """max_i κ_i = L_i/μ_i of the block Hessians H_i = (2/|Ω|)Σ f fᵀ + 2λw_i I (notes/derivations.md §5.2)."""
    worst = 1.0
    K = F.shape[1]
    for r in range(len(view.indptr) - 1):
        rows = F[view.index[view.indptr[r]:view.indptr[r + 1]]]
        ev = np.linalg.eigvalsh(2.0 / n_omega * rows.T @ rows + 2 * lam * w[r] * np.eye(K))
        worst = max(worst, ev[-1] / ev[0])
    return worst


@pytest.mark.parametrize("reg_mode", REG_MODES)
@pytest.mark.parametrize("step", ["block", "block_trace"])
@pytest.mark.parametrize("inner_steps", [1, 3, 20])
def test_B1_sweeps_never_increase_the_objective(reg_mode, step, inner_steps):
    data, P, Q = random_problem(12, 10, 3, density=0.5, seed=11, unseen_user=True, unseen_item=True)
    lam = 0.01
    F = objective(P, Q, data, lam, reg_mode)
    for it in range(8):
        Q = item_sweep(P, Q, data, lam, reg_mode, inner_steps=inner_steps, step=step)
        F_item = objective(P, Q, data, lam, reg_mode)
        assert F_item <= F + 1e-12 * max(1.0, F), (
            f"item sweep {it} ({step}, L={inner_steps}) increased F from {F!r} to {F_item!r}: with "
            "α_i <= 1/L_i every block step decreases g_i (notes/derivations.md §5.2)")
        P = user_sweep(P, Q, data, lam, reg_mode, inner_steps=inner_steps, step=step)
        F = objective(P, Q, data, lam, reg_mode)
        assert F <= F_item + 1e-12 * max(1.0, F_item), (
            f"user sweep {it} ({step}, L={inner_steps}) increased F from {F_item!r} to {F!r} "
            "(notes/derivations.md §5.2)")


@pytest.mark.parametrize("mode", [dict(inner_steps=3000, step="block"),
                                  dict(inner_steps="exact", step="block", tol_inner=1e-12),
                                  dict(inner_steps="exact", step="block_trace", tol_inner=1e-12)])
def test_B2_many_inner_steps_recover_als(mode):
    data, P, Q = random_problem(10, 8, 3, density=0.6, seed=12, unseen_user=True, unseen_item=True)
    lam = 0.05
    P_als, Q_als = als_iteration(P, Q, data, lam)
    ones_u, ones_i = np.ones(data.n_users), np.ones(data.n_items)
    kappa = max(max_kappa(P, data.by_item, lam, len(data), ones_i),
                max_kappa(Q_als, data.by_user, lam, len(data), ones_u))
    assert kappa <= 100, f"test problem should have max κ_i <= 100, got {kappa:.1f}"
    P_gd, Q_gd = als_gd_iteration(P, Q, data, lam, **mode)
    diff = max(np.abs(Q_gd - Q_als).max(), np.abs(P_gd - P_als).max())
    assert diff < 1e-8, (f"ALS+GD with {mode} differs from one ALS iteration by {diff:.2e}, expected < 1e-8: "
                         "GD until convergence solves each block exactly (notes/derivations.md §5.3)")


@pytest.mark.parametrize("reg_mode, unseen", [("mean", True), ("mean", False), ("weighted", False)])
def test_B3_K1_one_block_step_is_the_als_step(reg_mode, unseen):
    data, P, Q = random_problem(9, 7, 1, seed=13, unseen_user=unseen, unseen_item=unseen)
    lam = 0.03
    P_gd, Q_gd = als_gd_iteration(P, Q, data, lam, reg_mode, inner_steps=1, step="block")
    P_als, Q_als = als_iteration(P, Q, data, lam, reg_mode)
    assert rel(Q_gd, Q_als) < 1e-12 and rel(P_gd, P_als) < 1e-12, (
        f"K=1 with α_i = 1/L_i: one step should land on the 1-D minimiser (notes/derivations.md §5.2), got rel "
        f"{rel(Q_gd, Q_als):.2e} (Q) and {rel(P_gd, P_als):.2e} (P)")


@pytest.mark.parametrize("reg_mode", REG_MODES)
def test_B4_one_step_with_a_global_alpha_is_a_gradient_step(reg_mode):
    data, P, Q = random_problem(9, 7, 3, seed=14, unseen_user=True, unseen_item=True)
    lam, alpha = 0.1, 0.7
    Q1 = item_sweep(P, Q, data, lam, reg_mode, inner_steps=1, step=alpha)
    ref = Q - alpha * gradient(P, Q, data, lam, reg_mode)[1]
    assert rel(Q1, ref) < 1e-14, f"item sweep with L=1, fixed α differs from Q − α∇_Q F by rel {rel(Q1, ref):.2e}"
    P1 = user_sweep(P, Q1, data, lam, reg_mode, inner_steps=1, step=alpha)
    ref = P - alpha * gradient(P, Q1, data, lam, reg_mode)[0]
    assert rel(P1, ref) < 1e-14, (f"user sweep with L=1, fixed α differs from P − α∇_P F(P, Q⁽ˡ⁺¹⁾) "
                                  f"by rel {rel(P1, ref):.2e}")
    P2, Q2 = als_gd_iteration(P, Q, data, lam, reg_mode, inner_steps=1, step=alpha)
    assert np.array_equal(Q2, Q1) and np.array_equal(P2, P1), "als_gd_iteration = item sweep, then user sweep"


def test_global_step_is_one_alpha_from_the_largest_trace_bound():
    data, P, Q = random_problem(9, 7, 3, seed=15)
    lam = 0.1
    p2 = np.sum(P ** 2, axis=1)
    L_bar = max(2.0 / len(data) * p2[data.by_item.index[data.by_item.indptr[i]:data.by_item.indptr[i + 1]]].sum()
                + 2 * lam for i in range(data.n_items))
    Q1 = item_sweep(P, Q, data, lam, inner_steps=1, step="global")
    Q_ref = item_sweep(P, Q, data, lam, inner_steps=1, step=1.0 / L_bar)
    assert rel(Q1, Q_ref) < 1e-14, "step='global' should equal the fixed α = 1/max_i L̄_i (notes/derivations.md §5.2)"


def test_unseen_rows_go_to_zero_with_lambda_and_stay_without():
    data, P, Q = random_problem(7, 6, 3, seed=16, unseen_user=True, unseen_item=True)
    P[-1] = Q[-1] = 3.0
    P1, Q1 = als_gd_iteration(P, Q, data, 0.1, inner_steps=1)
    assert not Q1[-1].any() and not P1[-1].any(), (
        f"with λ>0 an unseen row reaches its minimiser 0 in one step of α = 1/(2λ) (notes/derivations.md §5.2), "
        f"got {Q1[-1]}")
    P1, Q1 = als_gd_iteration(P, Q, data, 0.0, inner_steps=1)
    assert np.array_equal(Q1[-1], Q[-1]) and np.array_equal(P1[-1], P[-1]), (
        "with λ=0 an unseen row has zero gradient and must not move")


def test_origin_is_a_fixed_point_and_inputs_are_not_mutated():
    data, P, Q = random_problem(6, 5, 3, seed=17)
    P1, Q1 = als_gd_iteration(np.zeros_like(P), np.zeros_like(Q), data, 0.1, inner_steps=5)
    assert not P1.any() and not Q1.any(), ("ALS+GD from P=Q=0 must return exactly zero factors "
                                           "(notes/derivations.md §8.2, O4)")
    P0, Q0 = P.copy(), Q.copy()
    als_gd_iteration(P, Q, data, 0.1, inner_steps="exact", step="block")
    assert np.array_equal(P, P0) and np.array_equal(Q, Q0), "als_gd_iteration must not modify its inputs"


def test_exact_mode_warns_when_max_inner_is_too_small():
    data, P, Q = random_problem(6, 5, 3, seed=18)
    with pytest.warns(UserWarning, match="max_inner"):
        als_gd_iteration(P, Q, data, 0.01, inner_steps="exact", tol_inner=1e-14, max_inner=2)


@pytest.mark.parametrize("kwargs, match", [
    (dict(inner_steps=0), "inner_steps"),
    (dict(inner_steps=2.5), "inner_steps"),
    (dict(inner_steps="until"), "inner_steps"),
    (dict(step="armijo"), "step"),
    (dict(step=-0.1), "step"),
    (dict(step=float("nan")), "step"),
    (dict(inner_steps="exact", tol_inner=-1.0), "tol_inner"),
    (dict(inner_steps="exact", max_inner=0), "max_inner"),
    (dict(lam=-0.5), "lam"),
    (dict(reg_mode="sum"), "reg_mode"),
])
def test_bad_arguments_raise_value_error(kwargs, match):
    data, P, Q = random_problem(5, 4, 3, seed=0)
    kwargs = {"lam": 0.1, **kwargs}
    with pytest.raises(ValueError, match=match):
        als_gd_iteration(P, Q, data, **kwargs)


def test_wrong_shapes_raise_value_error():
    data, P, Q = random_problem(5, 4, 3, seed=0)
    with pytest.raises(ValueError, match="n_users"):
        als_gd_iteration(P[:-1], Q, data, 0.1)
    with pytest.raises(ValueError, match="rows"):
        block_gd_step(P, Q, data.by_user, 0.1, len(data), np.ones(data.n_items))     # roles not swapped
    with pytest.raises(ValueError, match="penalty weight"):
        block_gd_step(P, Q, data.by_item, 0.1, len(data), np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        als_gd_iteration(P, np.full_like(Q, np.nan), data, 0.1)
    with pytest.raises(ValueError, match="n_omega"):
        block_gd_step(P, Q, data.by_item, 0.1, 0, np.ones(data.n_items))
