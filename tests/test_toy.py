"""The 2-D toy of notes/derivations.md §12 (mfcore.toy): oracle X1 of notes/checks.md and agreement with the library
on 1×1 data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mfcore
from mfcore import toy

CASES = [(1.0, 0.1, 1.8), (1.0, 0.1, -0.7), (3.5, 0.02, 0.4), (0.05, 0.1, 1.2), (2.0, 0.0, 0.9)]


def one_by_one(r):
    """The toy as mfcore data: one user, one item, one rating (|Ω| = 1)."""
    return mfcore.Ratings([0], [0], [r], 1, 1)


def test_X1_als_closed_form_converges_to_sqrt_point_nine():
    path = toy.als_path(1.8, 0.1, r=1.0, lam=0.1, n_iter=200)
    p, q = path[-1]
    s = np.sqrt(0.9)
    assert abs(p - s) < 1e-10 and abs(q - s) < 1e-10, (
        f"ALS on the toy should converge to p = q = √0.9 = {s!r}, got ({p!r}, {q!r}) (notes/checks.md X1)")
    F = float(toy.objective(p, q, 1.0, 0.1))
    assert abs(F - 0.19) < 1e-10, f"F at the ALS limit should be 2λr − λ² = 0.19, got {F!r}"
    assert toy.minimum(1.0, 0.1) == pytest.approx((s, s, 0.19), abs=1e-15)


def test_X1_als_path_is_axis_parallel_and_monotone():
    path = toy.als_path(*toy.START, n_iter=20)
    assert path.shape == (41, 2)
    steps = np.diff(path, axis=0)
    assert np.all((steps[:, 0] == 0) | (steps[:, 1] == 0)), "every ALS half-step moves one coordinate only"
    F = toy.objective(path[:, 0], path[:, 1])
    assert np.all(np.diff(F) <= 1e-15), "exact block minimisation never increases F (notes/derivations.md §4.5)"


@pytest.mark.parametrize("r, lam, p", CASES)
def test_X1_coordinate_updates_equal_mfcore_als_on_the_1x1_problem(r, lam, p):
    data = one_by_one(r)
    P = np.array([[p]])
    Q = np.array([[0.3]])
    with warnings.catch_warnings():                      # lam = 0: mfcore warns that ALS is not unique
        warnings.simplefilter("ignore", UserWarning)
        Q_item = mfcore.als_item_step(P, data, lam)
        P_user = mfcore.als_user_step(Q, data, lam)
        P_new, Q_new = mfcore.als_iteration(P, Q, data, lam)
    assert Q_item[0, 0] == pytest.approx(float(toy.update_q(p, r, lam)), rel=1e-12, abs=1e-300)
    assert P_user[0, 0] == pytest.approx(float(toy.update_p(0.3, r, lam)), rel=1e-12, abs=1e-300)
    q1 = float(toy.update_q(p, r, lam))
    assert Q_new[0, 0] == pytest.approx(q1, rel=1e-12, abs=1e-300)
    assert P_new[0, 0] == pytest.approx(float(toy.update_p(q1, r, lam)), rel=1e-12, abs=1e-300)
    assert toy.als_path(p, 0.3, r, lam, n_iter=1)[-1] == pytest.approx([P_new[0, 0], Q_new[0, 0]], rel=1e-12)


@pytest.mark.parametrize("r, lam", [(1.0, 0.1), (3.5, 0.02), (0.05, 0.1), (-2.0, 0.3)])
def test_gradient_equals_central_differences_and_mfcore(r, lam):
    rng = np.random.default_rng(0)
    h = 1e-6
    for p, q in rng.normal(0, 1.5, (20, 2)):
        g = np.array(toy.gradient(p, q, r, lam), dtype=float)
        num = np.array([(toy.objective(p + h, q, r, lam) - toy.objective(p - h, q, r, lam)) / (2 * h),
                        (toy.objective(p, q + h, r, lam) - toy.objective(p, q - h, r, lam)) / (2 * h)])
        err = np.linalg.norm(num - g) / max(np.linalg.norm(num), np.linalg.norm(g), 1e-12)
        assert err < 1e-6, f"toy gradient at ({p}, {q}) disagrees with central differences: rel. error {err:.2e}"
        dP, dQ = mfcore.gradient(np.array([[p]]), np.array([[q]]), one_by_one(r), lam)
        assert [dP[0, 0], dQ[0, 0]] == pytest.approx(g, rel=1e-12, abs=1e-14)
        assert float(toy.objective(p, q, r, lam)) == pytest.approx(
            mfcore.objective(np.array([[p]]), np.array([[q]]), one_by_one(r), lam), rel=1e-13)


def test_hessian_equals_differences_of_the_gradient():
    h = 1e-6
    for p, q in [(0.3, -1.2), (1.8, 0.1), (-0.5, 0.9)]:
        H = toy.hessian(p, q, 1.0, 0.1)
        num = np.column_stack([
            (np.array(toy.gradient(p + h, q)) - np.array(toy.gradient(p - h, q))) / (2 * h),
            (np.array(toy.gradient(p, q + h)) - np.array(toy.gradient(p, q - h))) / (2 * h)])
        np.testing.assert_allclose(H, num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("r, lam", [(1.0, 0.1), (3.5, 0.02), (0.05, 0.1), (-2.0, 0.3)])
def test_stationary_points(r, lam):
    points = toy.stationary_points(r, lam)
    assert len(points) == (3 if abs(r) > lam else 1)
    for p, q, kind in points:
        assert np.allclose(toy.gradient(p, q, r, lam), 0.0, atol=1e-14), f"∇F({p}, {q}) must vanish"
        eig = np.linalg.eigvalsh(toy.hessian(p, q, r, lam))
        if kind == "minimum":
            assert eig.min() > 0
        else:
            assert eig.min() < 0 < eig.max(), "the origin is a saddle when |r| > λ"
    origin = toy.hessian(0.0, 0.0, r, lam)
    assert sorted(np.linalg.eigvalsh(origin)) == pytest.approx(sorted([2 * lam - 2 * abs(r), 2 * lam + 2 * abs(r)]))
    if abs(r) > lam:
        p, q, F_min = toy.minimum(r, lam)
        assert F_min == pytest.approx(2 * lam * abs(r) - lam ** 2, rel=1e-14)
        assert float(toy.objective(p, q, r, lam)) == pytest.approx(F_min, rel=1e-14)
        # eigenvalues 4(|r| − λ) across the valley and 4λ along it (notes/derivations.md §12)
        assert sorted(np.linalg.eigvalsh(toy.hessian(p, q, r, lam))) == pytest.approx(
            sorted([4 * (abs(r) - lam), 4 * lam]), rel=1e-12)
        grid = np.linspace(-3, 3, 301)
        Pg, Qg = np.meshgrid(grid, grid)
        assert toy.objective(Pg, Qg, r, lam).min() >= F_min - 1e-12


def test_gd_path_steps_equal_mfcore_gd_step():
    data = one_by_one(1.0)
    path = toy.gd_path(*toy.START, step=0.1, n_iter=30)
    assert path.shape == (31, 2)
    P, Q = np.array([[toy.START[0]]]), np.array([[toy.START[1]]])
    for k in range(1, 31):
        P, Q = mfcore.gd_step(P, Q, data, 0.1, 0.1)
        assert path[k] == pytest.approx([P[0, 0], Q[0, 0]], rel=1e-12)


@pytest.mark.parametrize("L", [1, 3])
def test_als_gd_path_equals_mfcore_als_gd_iteration(L):
    data = one_by_one(1.0)
    path = toy.als_gd_path(*toy.START, step=0.1, L=L, n_iter=5)
    assert path.shape == (2 * L * 5 + 1, 2)
    steps = np.diff(path, axis=0)
    assert np.all((steps[:, 0] == 0) | (steps[:, 1] == 0)), "ALS+GD steps are axis-parallel"
    P, Q = np.array([[toy.START[0]]]), np.array([[toy.START[1]]])
    for k in range(1, 6):
        P, Q = mfcore.als_gd_iteration(P, Q, data, 0.1, inner_steps=L, step=0.1)
        assert path[2 * L * k] == pytest.approx([P[0, 0], Q[0, 0]], rel=1e-12)


def test_als_gd_with_block_step_is_als():
    """α = 1/(2(p²+λ)) is one over the block curvature: one GD step is the exact update (notes/derivations.md §12,
    §5.2)."""
    a = toy.als_gd_path(*toy.START, step="block", L=1, n_iter=10)
    b = toy.als_path(*toy.START, n_iter=10)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("order", ["sequential", "simultaneous"])
def test_sgd_step_equals_mfcore_sgd_update(order):
    p, q = 1.8, 0.1
    for r_j in (0.6, 1.4):
        path = toy.sgd_path(p, q, [r_j], lam=0.1, step=0.05, n_epochs=1, order=order)
        p_u, q_i = np.array([p]), np.array([q])
        mfcore.sgd_update(p_u, q_i, r_j, 0.05, 0.1, 0.1, order == "sequential")
        assert path[-1] == pytest.approx([p_u[0], q_i[0]], rel=1e-14)


def test_sgd_path_is_reproducible_and_ends_near_the_minimum_of_F_N():
    a = toy.sgd_path(*toy.START, seed=3)
    b = toy.sgd_path(*toy.START, seed=3)
    c = toy.sgd_path(*toy.START, seed=4)
    assert a.shape == (len(toy.RATINGS) * 50 + 1, 2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    s = np.sqrt(np.mean(toy.RATINGS) - toy.LAM)
    last_epoch = a[-len(toy.RATINGS):]
    assert np.all(np.abs(last_epoch - s) < 0.1), "with α = 0.05 SGD hovers within O(α) of the minimum"
    # F_N = F(·; r̄) + Var(r): the same contours as F with r = r̄
    p, q = 0.7, -0.2
    direct = np.mean([(r - p * q) ** 2 for r in toy.RATINGS]) + toy.LAM * (p * p + q * q)
    assert float(toy.objective_repeated(p, q, toy.RATINGS)) == pytest.approx(direct, rel=1e-14)


def test_bad_arguments_say_what_to_change():
    with pytest.raises(ValueError, match="lam"):
        toy.objective(1.0, 1.0, lam=-1)
    with pytest.raises(ValueError, match="n_iter"):
        toy.als_path(1.0, 1.0, n_iter=0)
    with pytest.raises(ValueError, match="step"):
        toy.gd_path(1.0, 1.0, step=0.0)
    with pytest.raises(ValueError, match="block"):
        toy.als_gd_path(1.0, 1.0, step="exact")
    with pytest.warns(DeprecationWarning, match="now called 'step'"):
        np.testing.assert_array_equal(toy.gd_path(1.0, 1.0, alpha=0.2), toy.gd_path(1.0, 1.0, step=0.2))
    with pytest.raises(ValueError, match="ratings"):
        toy.sgd_path(1.0, 1.0, ratings=[])
    with pytest.raises(ValueError, match="lam = 0"):
        toy.update_q(0.0, 1.0, 0.0)
