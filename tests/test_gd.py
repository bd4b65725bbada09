"""Full gradient descent (notes/derivations.md §3): oracles G1–G4 and the divergence report."""

import warnings

import numpy as np
import pytest

import mfcore
from mfcore.gd import armijo_step, gd_step, lipschitz_bound
from problems import random_problem, rel


def a4_problem(seed=0, n=40, m=30, rank=3, noise=0.1, density=0.4):
    rng = np.random.default_rng(seed)
    mask = rng.random((n, m)) < density
    u, i = np.nonzero(mask)
    Pt, Qt = rng.standard_normal((n, rank)), rng.standard_normal((m, rank))
    r = np.einsum("ij,ij->i", Pt[u], Qt[i]) + noise * rng.standard_normal(len(u))
    return mfcore.Ratings(u, i, r, n, m)


def test_gd_step_is_eq_3(small):
    data, P, Q = small
    P1, Q1 = gd_step(P, Q, data, 0.1, 0.5)
    dTheta = mfcore.gradient_dense(P, Q, data, 0.1)
    Theta1 = mfcore.stack(P, Q) - 0.5 * dTheta
    assert rel(mfcore.stack(P1, Q1), Theta1) < 1e-13, "a GD step must be Θ − α(−(2/|Ω|)MΘ + 2λΘ)"


@pytest.mark.parametrize("reg_mode", ["mean", "weighted"])
def test_G1_armijo_is_monotone(reg_mode):
    data = a4_problem()
    model = mfcore.MF(K=3, lam=1e-3, solver="gd", reg_mode=reg_mode, max_iter=200, tol=0, sigma0=1.0).fit(data)
    F = model.history_["target" if reg_mode == "weighted" else "objective"].to_numpy()
    jumps = np.flatnonzero(np.diff(F) > 0)
    assert jumps.size == 0, (f"Armijo GD increased F at iterations {jumps[:5] + 1}: "
                             "the sufficient-decrease test forbids it")
    assert F[-1] < 0.2 * F[0]


@pytest.mark.parametrize("sigma0", [0.01, 0.1, 1.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_G2_lipschitz_step_recomputed_is_monotone(sigma0, seed):
    data = a4_problem(seed)
    model = mfcore.MF(K=3, lam=1e-3, solver="gd", step="lipschitz", max_iter=150, tol=0, sigma0=sigma0,
                      seed=seed).fit(data)
    F = model.history_["objective"].to_numpy()
    worst = np.max(np.diff(F) / F[:-1])
    assert worst <= 1e-12, f"α = 1/L̂(Θ⁽ˡ⁾) raised F by a relative {worst:.2e} (σ0={sigma0}, seed={seed})"


def test_G3_too_large_step_raises_divergence_error():
    data = a4_problem()
    P, Q, _ = mfcore.initialization.init_factors(data, 3, 0, 1.0)
    alpha = 1e3 / lipschitz_bound(P, Q, data, 1e-3)
    with pytest.raises(mfcore.DivergenceError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore", mfcore.ObjectiveIncreaseWarning)
        mfcore.MF(K=3, lam=1e-3, solver="gd", step=alpha, max_iter=50, sigma0=1.0).fit(data)
    msg = str(info.value)
    assert "gd" in msg and "iteration" in msg and f"{alpha:.4g}" in msg and "step='auto'" in msg
    hist = info.value.history
    assert hist is not None and len(hist) >= 2 and np.isfinite(hist["objective"].iloc[0])


def test_G4_bound_dominates_the_hessian():
    data, P, Q = random_problem(n=4, m=3, K=2, density=0.8, seed=5)
    lam = 0.05
    n = data.n_users
    theta = mfcore.stack(P, Q).ravel()
    h = 1e-5
    H = np.empty((theta.size, theta.size))
    for j in range(theta.size):
        def grad_at(t):
            Pt, Qt = mfcore.unstack(t.reshape(-1, 2), n)
            return mfcore.stack(*mfcore.gradient(Pt, Qt, data, lam)).ravel()
        tp, tm = theta.copy(), theta.copy()
        tp[j] += h
        tm[j] -= h
        H[:, j] = (grad_at(tp) - grad_at(tm)) / (2 * h)
    spectral = np.abs(np.linalg.eigvalsh((H + H.T) / 2)).max()
    for exact in (True, False):
        L = lipschitz_bound(P, Q, data, lam, exact=exact)
        assert L >= spectral * (1 - 1e-6), f"L̂ (exact={exact}) = {L:.4g} < ‖∇²F‖₂ = {spectral:.4g}"
    assert lipschitz_bound(P, Q, data, lam, exact=True) <= lipschitz_bound(P, Q, data, lam)


def test_armijo_step_at_a_stationary_point_does_nothing(small):
    data, P, Q = small
    Z = np.zeros_like(P), np.zeros_like(Q)
    P1, Q1, alpha, F = armijo_step(*Z, data, 0.1, 1.0)
    assert alpha == 0.0 and not P1.any() and not Q1.any()


def test_fixed_step_must_be_positive(small):
    data, P, Q = small
    with pytest.raises(ValueError, match="step size"):
        gd_step(P, Q, data, 0.1, -1.0)


def test_increase_warning_for_a_too_long_fixed_step():
    data = a4_problem()
    P, Q, _ = mfcore.initialization.init_factors(data, 3, 0, 1.0)
    alpha = 10 / lipschitz_bound(P, Q, data, 1e-3)     # the cheap bound is loose: 10/L̂ overshoots
    with pytest.warns(mfcore.ObjectiveIncreaseWarning, match="increased"):
        try:
            mfcore.MF(K=3, lam=1e-3, solver="gd", step=alpha, max_iter=300, sigma0=1.0).fit(data)
        except mfcore.DivergenceError:
            pass
