"""Homework 2 checks: the ALS item and user steps, the ALS loop, the inexact ALS+GD block step.

Student signatures:

    als_item_step(P, data, lam) -> Q                          mfcore.als_item_step
    als_user_step(Q, data, lam) -> P                          mfcore.als_user_step
    als_iteration(P, Q, data, lam) -> (P, Q)                  mfcore.als_iteration
    fit_als(data, K, lam, n_iter, seed=0, sigma0=0.1) -> (P, Q, history)
                                                              mfcore.MF(solver="als", tol=0)
    block_gd_step(F, G, view, lam, n_omega, w, inner_steps=1, step=0.01) -> G_new
                                                              mfcore.block_gd_step (a float step α)
    als_gd_iteration(P, Q, data, lam, inner_steps=1, step=0.01) -> (P, Q)
                                                              mfcore.als_gd_iteration (a float step α)
"""

from __future__ import annotations

import numpy as np

from ..als import als_item_step as _als_item_step
from ..als import als_iteration as _als_iteration
from ..als import als_user_step as _als_user_step
from ..als_gd import als_gd_iteration as _als_gd_iteration
from ..als_gd import block_gd_step as _block_gd_step
from ..gd import lipschitz_bound as _lipschitz_bound
from ._core import (Case, Exercise, as_array, as_tuple, call, describe, expect_close, fresh_args,
                    problem, quiet_reference, seeds_for)
from .hw1 import _fit_cases, run_fit, verify_fit
from ..estimator import MF as _MF

_ones = np.ones


# ------------------------------------------------------------------------------------------- problems
def _als_cases(seed, edge):
    cases = []
    for s in seeds_for(seed):
        data, P, Q = problem(s, n=7, m=6, K=3)
        cases.append(Case(describe(data, 3, 0.05, f"seed {s}"), {"P": P, "Q": Q, "data": data, "lam": 0.05}))
        if edge:
            data, P, Q = problem(1000 + s, n=8, m=7, K=2, unseen_user=True, unseen_item=True)
            cases.append(Case(describe(data, 2, 0.01, f"seed {1000 + s}"), {"P": P, "Q": Q, "data": data, "lam": 0.01}))
            data, P, Q = problem(2000 + s, n=5, m=4, K=1)
            cases.append(Case(describe(data, 1, 0.2, f"seed {2000 + s}"), {"P": P, "Q": Q, "data": data, "lam": 0.2}))
            data, P, Q = problem(3000 + s, n=6, m=5, K=2, density=1.0)
            cases.append(Case(describe(data, 2, 0.0, f"seed {3000 + s}, every pair rated"),
                              {"P": P, "Q": Q, "data": data, "lam": 0.0}))
    return cases


def _unseen_fixed(want, got, counts):
    """The reference with the student's rows where the row has no rating: matches if only those differ."""
    v = want.copy()
    if got.shape == want.shape:
        v[counts == 0] = got[counts == 0]
    return v if (counts == 0).any() else None


def _ridge_hints(step, fixed, data, lam, got, counts, side):
    rows = "U_i" if side == "item" else "I_u"
    return [
        (lambda: quiet_reference(step, fixed, data, lam / len(data)),
         "the ridge is λ|Ω| (eq. 1 averages the loss over |Ω|), not λ: (Σ ... + λ|Ω| I)⁻¹."),
        (lambda: quiet_reference(step, fixed, data, lam, "weighted"),
         f"the ridge is λ|Ω|, not λ|{rows}| (that is ALS-WR, reg_mode='weighted')."),
        (lambda: quiet_reference(step, fixed, data, 0.0), "the ridge term λ|Ω| I is missing."),
        (lambda: _unseen_fixed(quiet_reference(step, fixed, data, lam), got, counts),
         "only rows without ratings differ: with no ratings the system is λ|Ω| I q = 0, so that row is exactly 0."),
    ]


# ------------------------------------------------------------------------------------------- item / user steps
def _run_item(func, case):
    a = fresh_args(case)
    data = a["data"]
    return {"Q": as_array(call(func, "als_item_step(P, data, lam)", a["P"], data, a["lam"]), "the returned Q",
                          (data.n_items, a["P"].shape[1]), "(n_items, K)")}


def _verify_item(case, obs):
    P, data, lam = (case.args[k] for k in ("P", "data", "lam"))
    want = quiet_reference(_als_item_step, P, data, lam)
    expect_close(obs["Q"], want, "Q from the item step", case, 1e-9,
                 _ridge_hints(_als_item_step, P, data, lam, obs["Q"], data.item_counts, "item"))


def _run_user(func, case):
    a = fresh_args(case)
    data = a["data"]
    return {"P": as_array(call(func, "als_user_step(Q, data, lam)", a["Q"], data, a["lam"]), "the returned P",
                          (data.n_users, a["Q"].shape[1]), "(n_users, K)")}


def _verify_user(case, obs):
    Q, data, lam = (case.args[k] for k in ("Q", "data", "lam"))
    want = quiet_reference(_als_user_step, Q, data, lam)
    expect_close(obs["P"], want, "P from the user step", case, 1e-9,
                 _ridge_hints(_als_user_step, Q, data, lam, obs["P"], data.user_counts, "user"))


# ------------------------------------------------------------------------------------------- one iteration
def _run_iteration(func, case):
    a = fresh_args(case)
    data, K = a["data"], a["P"].shape[1]
    out = as_tuple(call(func, "als_iteration(P, Q, data, lam)", a["P"], a["Q"], data, a["lam"]), "als_iteration", 2,
                   "(P_new, Q_new)")
    return {"P": as_array(out[0], "P_new", (data.n_users, K)), "Q": as_array(out[1], "Q_new", (data.n_items, K))}


def _verify_iteration(case, obs):
    P, Q, data, lam = (case.args[k] for k in ("P", "Q", "data", "lam"))
    P1, Q1 = quiet_reference(_als_iteration, P, Q, data, lam)
    Pu = lambda: quiet_reference(_als_user_step, Q, data, lam)          # noqa: E731
    expect_close(obs["Q"], Q1, "Q⁽ˡ⁺¹⁾ (the item step, first)", case, 1e-9, hints=[
        (lambda: quiet_reference(_als_item_step, Pu(), data, lam),
         "the item step must come first and use P⁽ˡ⁾ (Algorithm 1: items, then users)."),
    ])
    expect_close(obs["P"], P1, "P⁽ˡ⁺¹⁾ (the user step, second)", case, 1e-9, hints=[
        (Pu, "the user step must use the NEW Q⁽ˡ⁺¹⁾ from the item step, not the old Q."),
    ])


# ------------------------------------------------------------------------------------------- the ALS loop
def _reference_fit_als(data, K, lam, n_iter, seed=0, sigma0=0.1):
    model = quiet_reference(lambda: _MF(K=K, lam=lam, solver="als", max_iter=n_iter, tol=0.0, seed=seed,
                                        sigma0=sigma0).fit(data))
    return model.P_, model.Q_, model.history_["objective"].to_numpy()


# ------------------------------------------------------------------------------------------- block GD step
def _block_cases(seed, edge):
    cases = []
    for s in seeds_for(seed):
        data, P, Q = problem(s, n=7, m=6, K=3)
        lam = 0.05
        alpha = 0.5 / _lipschitz_bound(P, Q, data, lam)
        for side, L in (("item", 1), ("user", 3)):
            F, G, view = (P, Q, data.by_item) if side == "item" else (Q, P, data.by_user)
            cases.append(Case(describe(data, 3, lam, f"seed {s}; {side} sweep, L={L}, α={alpha:.4g}, w = 1"),
                              {"F": F, "G": G, "view": view, "lam": lam, "n_omega": len(data),
                               "w": _ones(G.shape[0]), "inner_steps": L, "step": alpha}))
        if edge:
            data, P, Q = problem(1000 + s, n=8, m=7, K=2, unseen_user=True, unseen_item=True)
            alpha = 0.5 / _lipschitz_bound(P, Q, data, 0.02)
            w = data.item_counts / len(data)
            cases.append(Case(describe(data, 2, 0.02, f"seed {1000 + s}; item sweep, L=2, α={alpha:.4g}, "
                                                       "w = |U_i|/|Ω| (per-row penalty weights)"),
                              {"F": P, "G": Q, "view": data.by_item, "lam": 0.02, "n_omega": len(data), "w": w,
                               "inner_steps": 2, "step": alpha}))
            cases.append(Case(describe(data, 2, 0.02, f"seed {1000 + s}; user sweep, L=5, α={alpha:.4g}, w = 1"),
                              {"F": Q, "G": P, "view": data.by_user, "lam": 0.02, "n_omega": len(data),
                               "w": _ones(P.shape[0]), "inner_steps": 5, "step": alpha}))
    return cases


def _run_block(func, case):
    a = fresh_args(case)
    out = call(func, "block_gd_step(F, G, view, lam, n_omega, w, inner_steps=L, step=α)", a["F"], a["G"], a["view"],
               a["lam"], a["n_omega"], a["w"], inner_steps=a["inner_steps"], step=a["step"])
    return {"G": as_array(out, "the returned G", a["G"].shape, "the shape of G")}


def _verify_block(case, obs):
    F, G, view, lam, n, w, L, alpha = (case.args[k] for k in ("F", "G", "view", "lam", "n_omega", "w",
                                                              "inner_steps", "step"))
    ref = lambda **kw: _block_gd_step(**{**dict(F=F, G=G, view=view, lam=lam, n_omega=n, w=w,        # noqa: E731
                                                  inner_steps=L, step=alpha), **kw})
    want = ref()
    expect_close(obs["G"], want, "G after the block GD sweep", case, 1e-10, hints=[
        (lambda: ref(step=alpha / 2), "the slides' step is q ← q − 2α(−(1/|Ω|) Σ p(r − pᵀq) + λq): "
                                      "the factor 2 is missing."),
        (lambda: ref(step=2 * alpha),
         "the step is twice too long: q ← q − 2α(...) where (...) is already half the gradient."),
        (lambda: ref(G=np.zeros_like(G)), "start each row from its current value G[r] (warm start), not from 0."),
        (lambda: ref(w=np.ones_like(w)), "multiply λ by the row's penalty weight w[r]."),
        (lambda: ref(lam=lam * n), "the penalty term in the bracket is λ w_r q, not λ|Ω| q."),
        (lambda: ref(inner_steps=1),
         f"you took one step; take L = {L} steps per row (recompute the residuals each time)."),
    ])


def _iteration_gd_cases(seed, edge):
    cases = []
    for s in seeds_for(seed):
        data, P, Q = problem(s, n=7, m=6, K=3)
        alpha = 0.5 / _lipschitz_bound(P, Q, data, 0.05)
        for L in (1, 2):
            cases.append(Case(describe(data, 3, 0.05, f"seed {s}; L={L}, α={alpha:.4g}"),
                              {"P": P, "Q": Q, "data": data, "lam": 0.05, "inner_steps": L, "step": alpha}))
        if edge:
            data, P, Q = problem(1000 + s, n=8, m=7, K=2, unseen_user=True, unseen_item=True)
            alpha = 0.5 / _lipschitz_bound(P, Q, data, 0.02)
            cases.append(Case(describe(data, 2, 0.02, f"seed {1000 + s}; L=3, α={alpha:.4g}"),
                              {"P": P, "Q": Q, "data": data, "lam": 0.02, "inner_steps": 3, "step": alpha}))
    return cases


def _run_iteration_gd(func, case):
    a = fresh_args(case)
    data, K = a["data"], a["P"].shape[1]
    out = as_tuple(call(func, "als_gd_iteration(P, Q, data, lam, inner_steps=L, step=α)", a["P"], a["Q"], data,
                        a["lam"], inner_steps=a["inner_steps"], step=a["step"]), "als_gd_iteration", 2,
                   "(P_new, Q_new)")
    return {"P": as_array(out[0], "P_new", (data.n_users, K)), "Q": as_array(out[1], "Q_new", (data.n_items, K))}


def _verify_iteration_gd(case, obs):
    P, Q, data, lam, L, alpha = (case.args[k] for k in ("P", "Q", "data", "lam", "inner_steps", "step"))
    P1, Q1 = _als_gd_iteration(P, Q, data, lam, inner_steps=L, step=alpha)
    w_u, w_i = np.ones(data.n_users), np.ones(data.n_items)
    expect_close(obs["Q"], Q1, "Q after the item sweep", case, 1e-10, hints=[
        (lambda: _block_gd_step(P, Q, data.by_item, lam, len(data), w_i, L, alpha / 2),
         "the factor 2 of the slides' step q ← q − 2α(...) is missing."),
    ])
    expect_close(obs["P"], P1, "P after the user sweep", case, 1e-10, hints=[
        (lambda: _block_gd_step(Q, P, data.by_user, lam, len(data), w_u, L, alpha),
         "the user sweep must use the NEW Q from the item sweep (Q⁽ˡ⁺¹⁾), not the old Q."),
    ])


def _reference_block(F, G, view, lam, n_omega, w, inner_steps=1, step=0.01):
    return _block_gd_step(F, G, view, lam, n_omega, w, inner_steps=inner_steps, step=step)


def _reference_iteration_gd(P, Q, data, lam, inner_steps=1, step=0.01):
    return _als_gd_iteration(P, Q, data, lam, inner_steps=inner_steps, step=step)


EXERCISES = [
    Exercise("hw2.als_item_step", "als_item_step(P, data, lam)", lambda P, data, lam: _als_item_step(P, data, lam),
             _als_cases, _run_item, _verify_item, "the ALS item step (Algorithm 1, line 7)",
             answer_key=("mfcore.als.als_item_step", "mfcore.als._half_step", "mfcore._kernels.ridge_solve_rows",
                         "mfcore._kernels.dual_solve", "mfcore._kernels.cholesky_solve", "mfcore._kernels.lstsq_solve",
                         "mfcore._kernels.gram", "mfcore._kernels.rhs", "mfcore._kernels.gather_rows")),
    Exercise("hw2.als_user_step", "als_user_step(Q, data, lam)", lambda Q, data, lam: _als_user_step(Q, data, lam),
             _als_cases, _run_user, _verify_user, "the ALS user step (Algorithm 1, line 11)",
             answer_key=("mfcore.als.als_user_step",)),
    Exercise("hw2.als_iteration", "als_iteration(P, Q, data, lam)",
             lambda P, Q, data, lam: _als_iteration(P, Q, data, lam), _als_cases, _run_iteration, _verify_iteration,
             "one ALS iteration",
             answer_key=("mfcore.als.als_iteration",)),
    Exercise("hw2.fit_als", "fit_als(data, K, lam, n_iter, seed=0, sigma0=0.1)", _reference_fit_als,
             lambda seed, edge: _fit_cases(seed, edge, n_iter=10),
             lambda func, case: run_fit(func, case, "fit_als(data, K, lam, n_iter, seed=..., sigma0=...)"),
             lambda case, obs: verify_fit(case, obs, "als", "each iteration is als_iteration(P, Q, data, lam); "
                                                            "record the objective after every iteration."),
             "the ALS loop",
             answer_key=("mfcore.estimator.MF.fit",)),
    Exercise("hw2.block_gd_step", "block_gd_step(F, G, view, lam, n_omega, w, inner_steps=1, step=0.01)",
             _reference_block, _block_cases, _run_block, _verify_block, "the inexact ALS+GD block step",
             answer_key=("mfcore.als_gd.block_gd_step", "mfcore.als_gd._sweep", "mfcore._kernels.block_gd_rows")),
    Exercise("hw2.als_gd_iteration", "als_gd_iteration(P, Q, data, lam, inner_steps=1, step=0.01)",
             _reference_iteration_gd, _iteration_gd_cases, _run_iteration_gd, _verify_iteration_gd,
             "one ALS+GD iteration",
             answer_key=("mfcore.als_gd.als_gd_iteration", "mfcore.als_gd._iteration")),
]
