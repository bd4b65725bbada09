"""Homework 1 checks: objective, RMSE, the sparse and the M-matrix gradient, finite differences, GD.

Student signatures (the mfcore references' parameters, without the options the homework does not use):

    objective(P, Q, data, lam) -> float                      mfcore.objective
    rmse(P, Q, data) -> float                                mfcore.rmse
    gradient(P, Q, data, lam) -> (dP, dQ)                    mfcore.gradient
    build_M(P, Q, data) -> (n+m, n+m) array                  mfcore.build_M
    gradient_dense(P, Q, data, lam) -> (n+m, K) array        mfcore.gradient_dense
    check_gradient(P, Q, data, lam, grad=None, h=1e-6)       mfcore.check_gradient
    gd_step(P, Q, data, lam, alpha) -> (P, Q)                mfcore.gd_step
    armijo_step(P, Q, data, lam, alpha_trial, F0=None, c=1e-4, beta=0.5) -> (P, Q, alpha, F)
                                                             mfcore.armijo_step
    fit_gd(data, K, lam, n_iter, seed=0, sigma0=0.1) -> (P, Q, history)
                                                             mfcore.MF(solver="gd", tol=0)
"""

from __future__ import annotations

import numpy as np

from ..estimator import MF as _MF
from ..gd import armijo_step as _armijo_step
from ..gd import gd_step as _gd_step
from ..gd import lipschitz_bound as _lipschitz_bound
from ..gradients import build_M as _build_M
from ..gradients import check_gradient as _check_gradient
from ..gradients import gradient as _gradient
from ..gradients import gradient_dense as _gradient_dense
from ..objectives import mse as _mse
from ..objectives import objective as _objective
from ..objectives import penalty as _penalty
from ..objectives import rmse as _rmse
from ..data import Ratings as _Ratings
from ._core import (Case, CheckFailure, Exercise, as_array, as_scalar, as_tuple, call, describe, expect,
                    expect_close, fresh_args, problem, quiet_reference, rel, seeds_for)

_sqrt = np.sqrt
_zeros = np.zeros
_vstack = np.vstack


# ------------------------------------------------------------------------------------------- problems
def _factor_cases(seed, edge, lams=(0.1,), with_lam=True):
    cases = []
    for s in seeds_for(seed):
        data, P, Q = problem(s)
        for lam in lams:
            args = {"P": P, "Q": Q, "data": data}
            if with_lam:
                args["lam"] = lam
            cases.append(Case(describe(data, P.shape[1], lam if with_lam else None, f"seed {s}"), args))
        if edge:
            data, P, Q = problem(1000 + s, n=7, m=6, K=2, unseen_user=True, unseen_item=True)
            args = {"P": P, "Q": Q, "data": data}
            if with_lam:
                args["lam"] = 0.05
            cases.append(Case(describe(data, 2, 0.05 if with_lam else None, f"seed {1000 + s}"), args))
            data, P, Q = problem(2000 + s, n=4, m=3, K=1, density=0.8)
            args = {"P": P, "Q": Q, "data": data}
            if with_lam:
                args["lam"] = 0.0
            cases.append(Case(describe(data, 1, 0.0 if with_lam else None, f"seed {2000 + s}"), args))
    return cases


def _all_pairs(data: _Ratings) -> _Ratings:
    """Every (u, i) with r_ui on Ω and 0 elsewhere: what "R − PQᵀ over all pairs" would use."""
    R = data.to_dense()
    users, items = np.nonzero(np.ones_like(R, dtype=bool))
    return _Ratings(users, items, R[users, items], data.n_users, data.n_items)


def _seen_only(P, Q, data):
    P = P * (data.user_counts > 0)[:, None]
    Q = Q * (data.item_counts > 0)[:, None]
    return P, Q


# ------------------------------------------------------------------------------------------- objective
def _run_objective(func, case):
    a = fresh_args(case)
    return {"F": as_scalar(call(func, "objective(P, Q, data, lam)", a["P"], a["Q"], a["data"], a["lam"]),
                           "the value returned by objective")}


def _verify_objective(case, obs):
    P, Q, data, lam = (case.args[k] for k in ("P", "Q", "data", "lam"))
    want = _objective(P, Q, data, lam)
    mse, pen = _mse(P, Q, data), _penalty(P, Q, data)
    Ps, Qs = _seen_only(P, Q, data)
    expect_close(obs["F"], want, "objective(P, Q, data, lam)", case, 1e-10, hints=[
        (lambda: _sqrt(mse) + lam * pen, "you took a square root of the MSE: eq. (1) is MSE + penalty, no root."),
        (lambda: _sqrt(mse + lam * pen), "you took a square root: eq. (1) has none (it is not the RMSE)."),
        (mse, "the penalty λ(Σ‖p_u‖² + Σ‖q_i‖²) is missing."),
        (lambda: mse * len(data) + lam * pen, "you summed the squared errors: eq. (1) averages them (1/|Ω|)."),
        (lambda: mse + lam * _penalty(Ps, Qs, data),
         "the penalty must include every row of P and Q, also users and items without ratings."),
        (lambda: mse + lam * pen / len(data), "the penalty is not divided by |Ω| in eq. (1)."),
        (lambda: mse + lam * (np.linalg.norm(P) + np.linalg.norm(Q)),
         "the penalty uses squared norms ‖p_u‖², not norms."),
        (lambda: mse + 2 * lam * pen, "the penalty is λ‖Θ‖², without a factor 2."),
    ])


# ------------------------------------------------------------------------------------------- rmse
def _run_rmse(func, case):
    a = fresh_args(case)
    return {"rmse": as_scalar(call(func, "rmse(P, Q, data)", a["P"], a["Q"], a["data"]), "the value returned by rmse")}


def _verify_rmse(case, obs):
    P, Q, data = (case.args[k] for k in ("P", "Q", "data"))
    want = _rmse(P, Q, data)
    mse = _mse(P, Q, data)
    expect_close(obs["rmse"], want, "rmse(P, Q, data)", case, 1e-10, hints=[
        (mse, "you forgot the square root: RMSE = sqrt(MSE)."),
        (lambda: _sqrt(mse * len(data)), "you summed the squared errors: divide by |Ω| before the root."),
        (lambda: _sqrt(mse * len(data) / (data.n_users * data.n_items)),
         "you divided by n·m: average over the observed ratings |Ω| only."),
        (lambda: _sqrt(_mse(P, Q, _all_pairs(data))),
         "you compared with all n·m entries of R (zeros included): only observed pairs count."),
        (lambda: _sqrt(mse + 0.1 * _penalty(P, Q, data)), "the RMSE never contains a penalty."),
    ])


# ------------------------------------------------------------------------------------------- gradient
def _run_gradient(func, case):
    a = fresh_args(case)
    n, m, K = a["data"].n_users, a["data"].n_items, a["P"].shape[1]
    out = as_tuple(call(func, "gradient(P, Q, data, lam)", a["P"], a["Q"], a["data"], a["lam"]),
                   "gradient", 2, "(dP, dQ)")
    return {"dP": as_array(out[0], "dP", (n, K), "(n_users, K)"), "dQ": as_array(out[1], "dQ", (m, K), "(n_items, K)")}


def _gradient_hints(P, Q, data, lam, part):
    k = 0 if part == "dP" else 1
    loss = lambda: _gradient(P, Q, data, 0.0)[k]          # noqa: E731  (−(2/|Ω|) E Q  or  −(2/|Ω|) Eᵀ P)
    own = P if part == "dP" else Q
    return [
        (lambda: loss() / 2 + lam * own, "a factor 2 is missing: d/dx (r − x)² = −2(r − x), and d/dx λx² = 2λx."),
        (lambda: loss() / 2 + 2 * lam * own, "the loss part lacks the factor 2 from the square: −(2/|Ω|) Σ e_ui q_i."),
        (lambda: loss() + lam * own, "the penalty gradient is 2λp_u (2λq_i), not λp_u."),
        (lambda: -loss() + 2 * lam * own, "the sign of the loss part is flipped: ∂(r − pᵀq)²/∂p = −2 e q."),
        (lambda: -_gradient(P, Q, data, lam)[k], "the whole gradient has the wrong sign."),
        (lambda: loss() * len(data) + 2 * lam * own, "the loss part must be divided by |Ω| (eq. 1 averages)."),
        (lambda: loss(), "the penalty part 2λp_u (2λq_i) is missing."),
        (lambda: _gradient(P, Q, _all_pairs(data), 0.0)[k] * (data.n_users * data.n_items) / len(data) + 2 * lam * own,
         "you used R − PQᵀ over all pairs: only observed (u, i) ∈ Ω contribute (E is masked)."),
    ]


def _verify_gradient(case, obs):
    P, Q, data, lam = (case.args[k] for k in ("P", "Q", "data", "lam"))
    dP, dQ = _gradient(P, Q, data, lam)
    if obs["dP"].shape == dQ.shape and rel(obs["dP"], dQ) < 1e-10 and rel(obs["dQ"], dP) < 1e-10:
        raise CheckFailure(f"on {case.label}: dP and dQ are swapped: return (∇_P F, ∇_Q F).")
    expect_close(obs["dP"], dP, "dP (∇_P F)", case, 1e-10, _gradient_hints(P, Q, data, lam, "dP"))
    expect_close(obs["dQ"], dQ, "dQ (∇_Q F)", case, 1e-10, _gradient_hints(P, Q, data, lam, "dQ"))


# ------------------------------------------------------------------------------------------- build_M
def _run_build_M(func, case):
    a = fresh_args(case)
    size = a["data"].n_users + a["data"].n_items
    return {"M": as_array(call(func, "build_M(P, Q, data)", a["P"], a["Q"], a["data"]), "M", (size, size),
                          "(n + m, n + m)")}


def _verify_build_M(case, obs):
    P, Q, data = (case.args[k] for k in ("P", "Q", "data"))
    M = _build_M(P, Q, data)
    n = data.n_users
    upper = M.copy()
    upper[n:, :n] = 0.0
    ratings_M = _build_M(np.zeros_like(P), np.zeros_like(Q), data)      # residuals at Θ = 0 are the ratings
    expect_close(obs["M"], M, "M(Ω, r, Θ)", case, 1e-12, hints=[
        (upper, "only the block M[u, n+i] is filled: M is symmetric, also set M[n+i, u] = e_ui."),
        (lambda: upper.T, "only the block M[n+i, u] is filled: M is symmetric, also set M[u, n+i] = e_ui."),
        (ratings_M, "you put the ratings r_ui in M: its entries are the residuals e_ui = r_ui − p_uᵀq_i."),
        (lambda: -M, "the sign is flipped: M holds e_ui = r_ui − p_uᵀq_i."),
        (lambda: 2 * M, "each residual must appear once at (u, n+i) and once at (n+i, u), not added twice."),
    ])


# ------------------------------------------------------------------------------------------- gradient_dense
def _run_gradient_dense(func, case):
    a = fresh_args(case)
    size = a["data"].n_users + a["data"].n_items
    out = call(func, "gradient_dense(P, Q, data, lam)", a["P"], a["Q"], a["data"], a["lam"])
    if isinstance(out, tuple) and len(out) == 2:
        raise CheckFailure("gradient_dense must return one (n+m)×K array, the gradient with respect to "
                           "Θ = [P; Q] (stack dP on dQ), not a tuple.")
    return {"G": as_array(out, "the gradient", (size, a["P"].shape[1]), "(n + m, K)")}


def _verify_gradient_dense(case, obs):
    P, Q, data, lam = (case.args[k] for k in ("P", "Q", "data", "lam"))
    want = _gradient_dense(P, Q, data, lam)
    Theta = _vstack([P, Q])
    loss = want - 2 * lam * Theta
    expect_close(obs["G"], want, "∂F/∂Θ = −(2/|Ω|) M Θ + 2λΘ", case, 1e-10, hints=[
        (lambda: loss / 2 + lam * Theta, "a factor 2 is missing in both terms (eq. 2: −(2/|Ω|)MΘ + 2λΘ)."),
        (lambda: loss + lam * Theta, "the penalty gradient is 2λΘ, not λΘ."),
        (lambda: loss * len(data) + 2 * lam * Theta, "divide MΘ by |Ω|."),
        (lambda: -loss + 2 * lam * Theta, "the sign of the −(2/|Ω|)MΘ term is flipped."),
        (lambda: loss, "the penalty term 2λΘ is missing."),
        (lambda: 2 * loss + 2 * lam * Theta,
         "MΘ counted twice: build M with e_ui once at (u, n+i) and once at (n+i, u)."),
    ])


# ------------------------------------------------------------------------------------------- check_gradient
def _half_gradient(P, Q, data, lam, reg_mode="mean"):
    dP, dQ = _gradient(P, Q, data, lam, reg_mode)
    return 0.5 * dP, 0.5 * dQ


def _one_wrong_entry(P, Q, data, lam, reg_mode="mean"):
    dP, dQ = _gradient(P, Q, data, lam, reg_mode)
    dQ = dQ.copy()
    dQ[0, 0] += 1e-3 * max(1.0, float(np.linalg.norm(dQ)))
    return dP, dQ


def _reference_gradient(P, Q, data, lam, reg_mode="mean"):
    return _gradient(P, Q, data, lam, reg_mode)


_GRADS = {"correct": _reference_gradient, "half": _half_gradient, "one_wrong_entry": _one_wrong_entry}
_GRAD_TEXT = {"correct": "the correct gradient", "half": "a gradient that is half the true one",
              "one_wrong_entry": "a gradient with one wrong entry"}


def _check_gradient_cases(seed, edge):
    """The gradient handed to the student's check_gradient is data (its value at the problem's P, Q), so the
    problem can be sent to a process where the reference gradient is not available."""
    cases = []

    def case(s, data, P, Q, K, lam, kind):
        return Case(describe(data, K, lam, f"seed {s}; grad = {_GRAD_TEXT[kind]}"),
                    {"P": P, "Q": Q, "data": data, "lam": lam,
                     "grad_value": tuple(_GRADS[kind](P, Q, data, lam))}, {"grad": kind})

    for s in seeds_for(seed):
        data, P, Q = problem(s, n=5, m=4, K=3)
        cases += [case(s, data, P, Q, 3, 0.1, kind) for kind in ("correct", "half", "one_wrong_entry")]
        if edge:
            data, P, Q = problem(3000 + s, n=5, m=4, K=2, unseen_user=True)
            cases += [case(3000 + s, data, P, Q, 2, 0.0, kind) for kind in ("correct", "half")]
    return cases


def _frozen_gradient(value):
    """``grad(P, Q, data, lam)`` that returns the gradient at the problem's point."""
    dP, dQ = value

    def grad(P, Q, data, lam, reg_mode="mean"):
        return dP.copy(), dQ.copy()
    return grad


def _run_check_gradient(func, case):
    a = fresh_args(case)
    P0, Q0 = a["P"].copy(), a["Q"].copy()
    err = call(func, "check_gradient(P, Q, data, lam, grad=...)", a["P"], a["Q"], a["data"], a["lam"],
               grad=_frozen_gradient(a["grad_value"]))
    obs = {"err": as_scalar(err, "the relative error returned by check_gradient")}
    obs["changed"] = np.array(float(rel(a["P"], P0) + rel(a["Q"], Q0)))
    return obs


def _verify_check_gradient(case, obs):
    P, Q, data, lam = (case.args[k] for k in ("P", "Q", "data", "lam"))
    kind = case.meta["grad"]
    err = float(obs["err"])
    expect(float(obs["changed"]) == 0.0,
           f"on {case.label}: check_gradient changed P or Q: after perturbing a coordinate put its old value "
           "back (Θ_j ← old), so every difference quotient starts from the same Θ.")
    expect(np.isfinite(err) and err >= 0, f"on {case.label}: the relative error must be a number >= 0, got {err!r}.")
    want = quiet_reference(_check_gradient, P, Q, data, lam, grad=_GRADS[kind])
    if kind == "correct":
        hint = ""
        if 1e-7 < err < 1e-3:
            hint = ("\n  likely mistake: forward differences (F(Θ+hE) − F(Θ))/h are only O(h) accurate; use "
                    "central differences (F(Θ+hE) − F(Θ−hE))/(2h).")
        expect(err < 1e-6, f"on {case.label}: with the correct gradient the relative error must be < 1e-6 "
                           f"(about 1e-9 is typical), got {err:.3g}.{hint}")
        return
    if abs(err - want) <= 1e-4 * max(want, 1e-12):
        return
    g = np.linalg.norm(np.vstack(_GRADS[kind](P, Q, data, lam)))
    g_true = np.linalg.norm(np.vstack(_gradient(P, Q, data, lam)))
    absolute = want * max(g, g_true)
    if abs(err - absolute) <= 1e-3 * absolute:
        hint = ("return the *relative* error ‖g̃ − g‖ / max(‖g̃‖, ‖g‖, 1e-12), not the absolute ‖g̃ − g‖.")
    elif err < 1e-6:
        hint = ("the wrong gradient was not detected: compare the finite differences with the gradient returned "
                "by grad(P, Q, data, lam), the function passed in.")
    elif abs(err - want) <= 1e-2 * want:
        hint = ("close but not accurate enough: use central differences (F(Θ+hE_j) − F(Θ−hE_j))/(2h) with "
                "h = 1e-6, for every coordinate j of Θ = [P; Q].")
    else:
        hint = ""
    raise CheckFailure(f"on {case.label}: the relative error should be {want:.6g}, got {err:.6g}."
                       + (f"\n  likely mistake: {hint}" if hint else ""))


def _reference_check_gradient(P, Q, data, lam, grad=None, h=1e-6):
    return _check_gradient(P, Q, data, lam, grad=grad, h=h)


# ------------------------------------------------------------------------------------------- gd_step
def _gd_cases(seed, edge):
    cases = []
    for s in seeds_for(seed):
        data, P, Q = problem(s)
        alpha = 0.5 / _lipschitz_bound(P, Q, data, 0.1)
        cases.append(Case(describe(data, 3, 0.1, f"seed {s}, α={alpha:.4g}"),
                          {"P": P, "Q": Q, "data": data, "lam": 0.1, "alpha": alpha}))
        if edge:
            data, P, Q = problem(1000 + s, n=7, m=6, K=2, unseen_user=True, unseen_item=True)
            cases.append(Case(describe(data, 2, 0.05, f"seed {1000 + s}, α=2.0"),
                              {"P": P, "Q": Q, "data": data, "lam": 0.05, "alpha": 2.0}))
    return cases


def _run_gd_step(func, case):
    a = fresh_args(case)
    n, m, K = a["data"].n_users, a["data"].n_items, a["P"].shape[1]
    out = as_tuple(call(func, "gd_step(P, Q, data, lam, alpha)", a["P"], a["Q"], a["data"], a["lam"], a["alpha"]),
                   "gd_step", 2, "(P_new, Q_new)")
    return {"P": as_array(out[0], "P_new", (n, K)), "Q": as_array(out[1], "Q_new", (m, K))}


def _verify_gd_step(case, obs):
    P, Q, data, lam, alpha = (case.args[k] for k in ("P", "Q", "data", "lam", "alpha"))
    P1, Q1 = _gd_step(P, Q, data, lam, alpha)
    dP, dQ = _gradient(P, Q, data, lam)
    expect_close(obs["P"], P1, "P after one GD step", case, 1e-10, hints=[
        (lambda: P + alpha * dP, "the step goes against the gradient: Θ ← Θ − α∇F."),
        (lambda: P - 0.5 * alpha * dP, "the step is half as long: check the factor 2 in the gradient."),
    ])
    expect_close(obs["Q"], Q1, "Q after one GD step", case, 1e-10, hints=[
        (lambda: Q - alpha * _gradient(P1, Q, data, lam)[1],
         "Q's gradient was computed with the new P: GD moves P and Q together, from the old values."),
        (lambda: Q + alpha * dQ, "the step goes against the gradient: Θ ← Θ − α∇F."),
    ])


# ------------------------------------------------------------------------------------------- armijo_step
def _armijo_cases(seed, edge):
    cases = []
    for s in seeds_for(seed):
        data, P, Q = problem(s)
        L = _lipschitz_bound(P, Q, data, 0.1)
        for factor, F0 in ((1.0, None), (64.0, "given")):
            F0v = _objective(P, Q, data, 0.1) if F0 else None
            cases.append(Case(describe(data, 3, 0.1, f"seed {s}, alpha_trial={factor / L:.4g}"
                                       + (", F0 given" if F0 else "")),
                              {"P": P, "Q": Q, "data": data, "lam": 0.1, "alpha_trial": factor / L, "F0": F0v}))
        if edge:
            data, P, Q = problem(1000 + s, n=7, m=6, K=2, unseen_user=True, unseen_item=True)
            cases.append(Case(describe(data, 2, 0.05, f"seed {1000 + s}, alpha_trial=1e4"),
                              {"P": P, "Q": Q, "data": data, "lam": 0.05, "alpha_trial": 1e4, "F0": None}))
    return cases


def _run_armijo(func, case):
    a = fresh_args(case)
    n, m, K = a["data"].n_users, a["data"].n_items, a["P"].shape[1]
    out = as_tuple(call(func, "armijo_step(P, Q, data, lam, alpha_trial, F0=...)", a["P"], a["Q"], a["data"],
                        a["lam"], a["alpha_trial"], F0=a["F0"]), "armijo_step", 4, "(P_new, Q_new, alpha, F_new)")
    return {"P": as_array(out[0], "P_new", (n, K)), "Q": as_array(out[1], "Q_new", (m, K)),
            "alpha": as_scalar(out[2], "alpha (the step used)"), "F": as_scalar(out[3], "F_new")}


def _verify_armijo(case, obs):
    P, Q, data, lam, trial, F0 = (case.args[k] for k in ("P", "Q", "data", "lam", "alpha_trial", "F0"))
    P1, Q1, alpha, F1 = _armijo_step(P, Q, data, lam, trial, F0=F0)
    got = float(obs["alpha"])
    if abs(got - alpha) > 1e-12 * alpha:
        hint = ""
        if abs(got - trial) <= 1e-12 * trial:
            hint = ("never halved: test F(Θ − αG) ≤ F(Θ) − c·α·‖G‖²_F and halve α (α ← βα) until it holds.")
        elif abs(got - 2 * alpha) <= 1e-12 * alpha:
            hint = "one halving too few: keep halving while F(Θ − αG) > F(Θ) − c·α·‖G‖²_F."
        elif abs(got - alpha / 2) <= 1e-12 * alpha:
            hint = "one halving too many: stop as soon as F(Θ − αG) ≤ F(Θ) − c·α·‖G‖²_F."
        elif got < alpha:
            hint = ("the sufficient-decrease test is too strict: it uses the squared Frobenius norm "
                    "‖G‖²_F = Σ dP² + Σ dQ² and c = 1e-4.")
        raise CheckFailure(f"on {case.label}: the accepted step α should be {alpha:.10g}, got {got:.10g}."
                           + (f"\n  likely mistake: {hint}" if hint else ""))
    expect_close(obs["P"], P1, "P_new", case, 1e-10)
    expect_close(obs["Q"], Q1, "Q_new", case, 1e-10)
    expect_close(obs["F"], F1, "F_new (the objective at the new point)", case, 1e-10)


# ------------------------------------------------------------------------------------------- fit_gd
def _fit_cases(seed, edge, n_iter=15, lam=0.05):
    from ..synthetic import synthetic_ratings
    cases = []
    for s in seeds_for(seed):
        data = synthetic_ratings(n_users=30, n_items=20, n_ratings=240, rank=2, noise=0.3, seed=s)
        cases.append(Case(describe(data, 3, lam, f"synthetic seed {s}, n_iter={n_iter}, seed={s}"),
                          {"data": data, "K": 3, "lam": lam, "n_iter": n_iter, "seed": s, "sigma0": 0.1}))
        if edge:
            data, _, _ = problem(4000 + s, n=8, m=7, K=1, unseen_user=True, unseen_item=True)
            cases.append(Case(describe(data, 1, 0.01, f"seed {4000 + s}, n_iter=8, sigma0=1"),
                              {"data": data, "K": 1, "lam": 0.01, "n_iter": 8, "seed": s, "sigma0": 1.0}))
    return cases


def run_fit(func, case, what):
    a = fresh_args(case)
    data, K = a["data"], a["K"]
    out = as_tuple(call(func, what, data, K, a["lam"], a["n_iter"], seed=a["seed"], sigma0=a["sigma0"]),
                   what.split("(")[0], 3, "(P, Q, history)")
    return {"P": as_array(out[0], "P", (data.n_users, K)), "Q": as_array(out[1], "Q", (data.n_items, K)),
            "history": as_array(out[2], "history").ravel()}


def verify_fit(case, obs, solver, extra_hint=""):
    a = case.args
    model = quiet_reference(lambda: _MF(K=a["K"], lam=a["lam"], solver=solver, max_iter=a["n_iter"], tol=0.0,
                                        seed=a["seed"], sigma0=a["sigma0"]).fit(a["data"]))
    hist = model.history_["objective"].to_numpy()
    got = obs["history"]
    if got.shape != hist.shape:
        hint = ""
        if got.size == hist.size - 1:
            hint = " It should start with F⁽⁰⁾, the objective at the initial point (n_iter + 1 values)."
        raise CheckFailure(f"on {case.label}: history must hold {hist.size} objective values "
                           f"(F⁽⁰⁾, ..., F⁽{a['n_iter']}⁾), got {got.size}.{hint}")
    k = int(np.argmax(np.abs(got - hist) > 1e-9 * np.abs(hist))) if rel(got, hist) > 1e-9 else -1
    if k >= 0:
        extra = ""
        if k == 0:
            extra = ("\n  likely mistake: F⁽⁰⁾ differs, so the start differs: take P, Q from "
                     "mfcore.init_factors(data, K, seed, sigma0) and record F at that point first.")
        elif extra_hint:
            extra = f"\n  hint: {extra_hint}"
        raise CheckFailure(f"on {case.label}: history[{k}] should be {hist[k]:.10g}, got {got[k]:.10g} "
                           f"(history[:{k}] agrees).{extra}")
    expect_close(obs["P"], model.P_, "the final P", case, 1e-8)
    expect_close(obs["Q"], model.Q_, "the final Q", case, 1e-8)


def _reference_fit_gd(data, K, lam, n_iter, seed=0, sigma0=0.1):
    model = quiet_reference(lambda: _MF(K=K, lam=lam, solver="gd", max_iter=n_iter, tol=0.0, seed=seed,
                                        sigma0=sigma0).fit(data))
    return model.P_, model.Q_, model.history_["objective"].to_numpy()


def _verify_fit_gd(case, obs):
    verify_fit(case, obs, "gd", "the first trial step is 1/mfcore.lipschitz_bound(P, Q, data, lam) at the "
                                "initial point; after each step the next trial is 2·(the α just used).")


EXERCISES = [
    Exercise("hw1.objective", "objective(P, Q, data, lam)", lambda P, Q, data, lam: _objective(P, Q, data, lam),
             lambda seed, edge: _factor_cases(seed, edge), _run_objective, _verify_objective,
             "the objective F_λ of eq. (1)",
             answer_key=("mfcore.objectives.objective", "mfcore.objectives._objective", "mfcore.objectives.mse",
                         "mfcore.objectives.penalty", "mfcore.objectives._penalty")),
    Exercise("hw1.rmse", "rmse(P, Q, data)", lambda P, Q, data: _rmse(P, Q, data),
             lambda seed, edge: _factor_cases(seed, edge, with_lam=False), _run_rmse, _verify_rmse, "the RMSE",
             answer_key=("mfcore.objectives.rmse",)),
    Exercise("hw1.gradient", "gradient(P, Q, data, lam)", lambda P, Q, data, lam: _gradient(P, Q, data, lam),
             lambda seed, edge: _factor_cases(seed, edge), _run_gradient, _verify_gradient, "the sparse gradient",
             answer_key=("mfcore.gradients.gradient", "mfcore.gradients._gradient",
                         "mfcore._kernels.loss_gradient_kernel")),
    Exercise("hw1.build_M", "build_M(P, Q, data)", lambda P, Q, data: _build_M(P, Q, data),
             lambda seed, edge: _factor_cases(seed, edge, with_lam=False), _run_build_M, _verify_build_M,
             "the slides' matrix M",
             answer_key=("mfcore.gradients.build_M",)),
    Exercise("hw1.gradient_dense", "gradient_dense(P, Q, data, lam)",
             lambda P, Q, data, lam: _gradient_dense(P, Q, data, lam),
             lambda seed, edge: _factor_cases(seed, edge), _run_gradient_dense, _verify_gradient_dense,
             "the gradient of eq. (2) with M",
             answer_key=("mfcore.gradients.gradient_dense",)),
    Exercise("hw1.check_gradient", "check_gradient(P, Q, data, lam, grad=None, h=1e-6)", _reference_check_gradient,
             _check_gradient_cases, _run_check_gradient, _verify_check_gradient, "the finite-difference check",
             answer_key=("mfcore.gradients.check_gradient",)),
    Exercise("hw1.gd_step", "gd_step(P, Q, data, lam, alpha)",
             lambda P, Q, data, lam, alpha: _gd_step(P, Q, data, lam, alpha), _gd_cases, _run_gd_step,
             _verify_gd_step, "one GD step (eq. 3)",
             answer_key=("mfcore.gd.gd_step", "mfcore.gd._gd_step")),
    Exercise("hw1.armijo_step", "armijo_step(P, Q, data, lam, alpha_trial, F0=None, c=1e-4, beta=0.5)",
             lambda P, Q, data, lam, alpha_trial, F0=None, c=1e-4, beta=0.5:
             _armijo_step(P, Q, data, lam, alpha_trial, F0=F0, c=c, beta=beta),
             _armijo_cases, _run_armijo, _verify_armijo, "one GD step with Armijo backtracking",
             answer_key=("mfcore.gd.armijo_step", "mfcore.gd._armijo_step")),
    Exercise("hw1.fit_gd", "fit_gd(data, K, lam, n_iter, seed=0, sigma0=0.1)", _reference_fit_gd,
             _fit_cases, lambda func, case: run_fit(func, case, "fit_gd(data, K, lam, n_iter, seed=..., sigma0=...)"),
             _verify_fit_gd, "the GD loop with backtracking",
             answer_key=("mfcore.estimator.MF.fit",)),
]
