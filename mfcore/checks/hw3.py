"""Homework 3 checks: SGD in the slides' order, one shuffled epoch, mini-batch GD, and model selection.

Student signatures:

    sgd_update(p_u, q_i, r_ui, alpha, lam_u, lam_i) -> None (in place)      mfcore.sgd_update
    sgd_epoch(P, Q, data, lam, alpha, rng) -> None (in place)               mfcore.sgd_epoch(reg_mode="weighted")
    bgd_epoch(P, Q, data, lam, alpha, batch_size, rng) -> None (in place)   mfcore.bgd_epoch(reg_mode="weighted")
    cv_grid(train, K_values, lam_values, cv=0.2, seed=0, max_iter=20) -> DataFrame K, lam, fit_rmse, valid_rmse
                                                                            mfcore.grid_search(...).table
    select_best(table) -> (best, on_boundary)                               mfcore.selection.select_best, boundary_flags
    plot_heatmaps(table) -> matplotlib Figure                               mfcore.SearchResult.heatmap
    refit(train, best, n_fit, seed=0, max_iter=20) -> fitted mfcore.MF      mfcore.SearchResult.refit

The slides' SGD uses the per-sample penalty λ (mfcore's ``reg_mode="weighted"``, notes/derivations.md §6.3–6.4).
"""

from __future__ import annotations

import numpy as np

from ..bgd import bgd_epoch as _bgd_epoch
from ..selection import SearchResult as _SearchResult
from ..selection import boundary_flags as _boundary_flags
from ..selection import grid_search as _grid_search
from ..selection import select_best as _select_best
from ..estimator import MF as _MF
from ..sgd import sgd_epoch as _sgd_epoch
from ..sgd import sgd_update as _sgd_update
from ..split import train_test_split as _train_test_split
from ..synthetic import synthetic_ratings as _synthetic_ratings
from ._core import (Case, CheckFailure, Exercise, as_array, as_tuple, call, describe, expect, expect_close,
                    fresh_args, problem, quiet_reference, rel, seeds_for)

_default_rng = np.random.default_rng


# ------------------------------------------------------------------------------------------- sgd_update
def _update_cases(seed, edge):
    cases = []
    for s in seeds_for(seed):
        rng = _default_rng(500 + s)
        for K in (3, 5):
            p, q = rng.normal(0, 0.5, K), rng.normal(0, 0.5, K)
            r, alpha, lu, li = float(rng.integers(1, 6)), 0.05, 0.1, 0.02
            cases.append(Case(f"K={K}, r_ui={r:g}, α={alpha}, λ_u={lu}, λ_i={li}; seed {s}",
                              {"p_u": p, "q_i": q, "r_ui": r, "alpha": alpha, "lam_u": lu, "lam_i": li}))
        if edge:
            p, q = rng.normal(0, 1, 1), rng.normal(0, 1, 1)
            cases.append(Case(f"K=1, λ=0; seed {s}", {"p_u": p, "q_i": q, "r_ui": 4.0, "alpha": 0.1,
                                                     "lam_u": 0.0, "lam_i": 0.0}))
            cases.append(Case(f"p_u = q_i = 0 (the origin is stationary); seed {s}",
                              {"p_u": np.zeros(3), "q_i": np.zeros(3), "r_ui": 3.0, "alpha": 0.1, "lam_u": 0.1,
                               "lam_i": 0.1}))
    return cases


def _run_update(func, case):
    a = fresh_args(case)
    p, q = a["p_u"], a["q_i"]
    out = call(func, "sgd_update(p_u, q_i, r_ui, alpha, lam_u, lam_i)", p, q, a["r_ui"], a["alpha"], a["lam_u"],
               a["lam_i"])
    obs = {"p": as_array(p, "p_u after the call"), "q": as_array(q, "q_i after the call")}
    if isinstance(out, (tuple, list)) and len(out) == 2:
        try:
            obs["ret_p"] = as_array(out[0], "returned p_u")
            obs["ret_q"] = as_array(out[1], "returned q_i")
        except CheckFailure:
            pass
    return obs


def _ref_update(case, **kw):
    a = {**fresh_args(case), **kw}
    p, q = a["p_u"].copy(), a["q_i"].copy()
    _sgd_update(p, q, float(a["r_ui"]), float(a["alpha"]), float(a["lam_u"]), float(a["lam_i"]),
                kw.get("sequential", True))
    return p, q


def _verify_update(case, obs):
    p1, q1 = _ref_update(case)
    a = case.args
    if "ret_p" in obs and rel(obs["p"], a["p_u"]) == 0 and rel(obs["q"], a["q_i"]) == 0 and \
            rel(obs["ret_p"], p1) < 1e-12 and rel(obs["ret_q"], q1) < 1e-12:
        raise CheckFailure(f"on {case.label}: the values are right but p_u and q_i were not changed: update them "
                           "in place (p_u[:] = ..., q_i += ...); the function returns nothing.")
    expect_close(obs["q"], q1, "q_i after the update (the item update comes first)", case, 1e-12, hints=[
        (lambda: _ref_update(case, alpha=a["alpha"] / 2)[1],
         "the update is q_i + 2α(e p_u − λ_i q_i): the 2 is missing."),
        (lambda: _ref_update(case, lam_u=a["lam_i"], lam_i=a["lam_u"])[1], "λ_u and λ_i are swapped."),
    ])
    expect_close(obs["p"], p1, "p_u after the update", case, 1e-12, hints=[
        (lambda: _ref_update(case, sequential=False)[0],
         "the user update must use the NEW q_i and a new residual e' = r_ui − p_uᵀq_i(new) (the slides' order)."),
        (lambda: _ref_update(case, alpha=a["alpha"] / 2)[0],
         "the update is p_u + 2α(e' q_i − λ_u p_u): the 2 is missing."),
        (lambda: _ref_update(case, lam_u=a["lam_i"], lam_i=a["lam_u"])[0], "λ_u and λ_i are swapped."),
    ])


def _reference_update(p_u, q_i, r_ui, alpha, lam_u, lam_i):
    _sgd_update(p_u, q_i, float(r_ui), float(alpha), float(lam_u), float(lam_i), True)


# ------------------------------------------------------------------------------------------- epochs
def _epoch_cases(seed, edge, batch=False):
    cases = []
    for s in seeds_for(seed):
        data, P, Q = problem(s, n=7, m=6, K=3)
        for B in ((4, 7) if batch else (None,)):
            extra = f"; B={B}" if B else ""
            args = {"P": P, "Q": Q, "data": data, "lam": 0.05, "alpha": 0.05, "rng_seed": 700 + s}
            if B:
                args["batch_size"] = B
            cases.append(Case(describe(data, 3, 0.05, f"α=0.05{extra}; rng = np.random.default_rng({700 + s})"), args))
        if edge:
            data, P, Q = problem(1000 + s, n=8, m=7, K=2, unseen_user=True, unseen_item=True)
            args = {"P": P, "Q": Q, "data": data, "lam": 0.02, "alpha": 0.1, "rng_seed": 800 + s}
            if batch:
                for B in (1, len(data)):
                    cases.append(Case(describe(data, 2, 0.02, f"α=0.1; B={B}; rng = np.random.default_rng({800 + s})"),
                                      {**args, "batch_size": B}))
            else:
                cases.append(Case(describe(data, 2, 0.02, f"α=0.1; rng = np.random.default_rng({800 + s})"), args))
    return cases


def _run_epoch(func, case, batch):
    a = fresh_args(case)
    P, Q, data = a["P"], a["Q"], a["data"]
    rng = _default_rng(a["rng_seed"])
    what = ("bgd_epoch(P, Q, data, lam, alpha, batch_size, rng)" if batch else "sgd_epoch(P, Q, data, lam, alpha, rng)")
    extra = (a["batch_size"],) if batch else ()
    call(func, what, P, Q, data, a["lam"], a["alpha"], *extra, rng)
    return {"P": as_array(P, "P after the epoch", (data.n_users, P.shape[1])),
            "Q": as_array(Q, "Q after the epoch", (data.n_items, Q.shape[1]))}


def _ref_epoch(case, batch, **kw):
    a = {**fresh_args(case), **kw}
    P, Q = a["P"].copy(), a["Q"].copy()
    rng = _default_rng(a["rng_seed"])
    if batch:
        _bgd_epoch(P, Q, a["data"], a["lam"], a["alpha"], a["batch_size"], reg_mode=a.get("reg_mode", "weighted"),
                   rng=rng)
    else:
        _sgd_epoch(P, Q, a["data"], a["lam"], a["alpha"], reg_mode=a.get("reg_mode", "weighted"), rng=rng,
                   order=a.get("order", "sequential"))
    return P, Q


def _verify_epoch(case, obs, batch):
    P1, Q1 = _ref_epoch(case, batch)
    a = case.args
    unchanged = rel(obs["P"], a["P"]) == 0 and rel(obs["Q"], a["Q"]) == 0
    expect(not unchanged, f"on {case.label}: P and Q did not change: update them in place (the function "
                          "returns nothing); copies made inside the function are lost.")
    for k, (name, got, want) in enumerate((("P", obs["P"], P1), ("Q", obs["Q"], Q1))):
        hints = [(lambda: _ref_epoch(case, batch, reg_mode="mean")[k],
                  "the slides' SGD penalises each sample with λ itself (λ_u = λ_i = λ), not λ|Ω|/|I_u|."),
                 (lambda: _ref_epoch(case, batch, alpha=a["alpha"] / 2)[k],
                  "the step is half as long: the slides' update has 2α.")]
        if not batch:
            hints.insert(0, (lambda: _ref_epoch(case, batch, order="simultaneous")[k],
                             "inside the epoch, update each sample in the slides' order (sgd_update: q_i first, "
                             "then p_u with the new q_i)."))
        expect_close(got, want, f"{name} after one epoch", case, 1e-10, hints)


_ORDER_TEXT = ("shuffle with perm = rng.permutation(len(data)) (one call per epoch) and visit the ratings "
               "data.users[perm], data.items[perm], data.ratings[perm] in that order")


def _verify_sgd_epoch(case, obs):
    try:
        _verify_epoch(case, obs, False)
    except CheckFailure as exc:
        raise CheckFailure(f"{exc}\n  remember: {_ORDER_TEXT}.") from None


def _verify_bgd_epoch(case, obs):
    try:
        _verify_epoch(case, obs, True)
    except CheckFailure as exc:
        raise CheckFailure(f"{exc}\n  remember: {_ORDER_TEXT}; cut them into consecutive batches of "
                           "batch_size (the last may be smaller), average the per-sample gradients of a batch "
                           "(divide by its size |b|) and update all its rows at once from their values before "
                           "the batch.") from None


def _reference_sgd_epoch(P, Q, data, lam, alpha, rng):
    _sgd_epoch(P, Q, data, lam, alpha, reg_mode="weighted", rng=rng)


def _reference_bgd_epoch(P, Q, data, lam, alpha, batch_size, rng):
    _bgd_epoch(P, Q, data, lam, alpha, batch_size, reg_mode="weighted", rng=rng)


# ------------------------------------------------------------------------------------------- model selection
def _train(s):
    return _synthetic_ratings(n_users=60, n_items=40, n_ratings=900, rank=2, noise=0.3, seed=s)


def _grid_cases(seed, edge):
    cases = []
    for s in seeds_for(seed):
        train = _train(s)
        cases.append(Case(describe(train, extra=f"synthetic seed {s}; K_values=[1, 2, 3], "
                                                f"lam_values=[1e-4, 1e-3, 1e-2], cv=0.2, seed={s}"),
                          {"train": train, "K_values": [1, 2, 3], "lam_values": [1e-4, 1e-3, 1e-2], "cv": 0.2,
                           "seed": s, "max_iter": 20}))
        if edge:
            cases.append(Case(describe(train, extra=f"synthetic seed {s}; K_values=[2], lam_values=[1e-3], "
                                                    f"cv=0.3, seed={s + 7}"),
                              {"train": train, "K_values": [2], "lam_values": [1e-3], "cv": 0.3, "seed": s + 7,
                               "max_iter": 10}))
    return cases


def _table_obs(df, what):
    cols = ("K", "lam", "fit_rmse", "valid_rmse")
    if not hasattr(df, "columns"):
        raise CheckFailure(f"{what} must be a pandas DataFrame, got {type(df).__name__}.")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise CheckFailure(f"{what} lacks the column(s) {missing}; it needs {list(cols)} (it has {list(df.columns)}).")
    arr = {c: as_array(np.asarray(df[c], dtype=float), f"column {c}") for c in cols}
    order = np.lexsort((arr["lam"], arr["K"]))
    return {c: arr[c][order] for c in cols}


def _run_grid(func, case):
    a = fresh_args(case)
    df = call(func, "cv_grid(train, K_values, lam_values, cv=..., seed=..., max_iter=...)", a["train"],
              a["K_values"], a["lam_values"], cv=a["cv"], seed=a["seed"], max_iter=a["max_iter"])
    return _table_obs(df, "the table returned by cv_grid")


def _ref_grid(a):
    return quiet_reference(_grid_search, a["train"], K=a["K_values"], lam=a["lam_values"], solver="als", cv=a["cv"],
                           seed=a["seed"], max_iter=a["max_iter"], verbose=False)


def _verify_grid(case, obs):
    a = case.args
    want = _table_obs(_ref_grid(a).table, "the reference table")
    got_pairs = list(zip(obs["K"].tolist(), obs["lam"].tolist()))
    want_pairs = list(zip(want["K"].tolist(), want["lam"].tolist()))
    expect(got_pairs == want_pairs, f"on {case.label}: the table must have one row per (K, λ) of the grid, "
                                    f"{want_pairs}; got {got_pairs}.")
    fit, val = _train_test_split(a["train"], a["cv"], a["seed"])

    def variant(which):
        out = []
        for K, lam in want_pairs:
            model = quiet_reference(lambda: _MF(K=int(K), lam=lam, solver="als", seed=a["seed"],
                                                max_iter=a["max_iter"]).fit(a["train"] if which == "all" else fit))
            out.append(model.rmse(val if which != "train-as-valid" else fit))
        return np.array(out)

    expect_close(obs["fit_rmse"], want["fit_rmse"], "the fit_rmse column", case, 1e-8, hints=[
        (want["valid_rmse"], "fit_rmse holds validation RMSEs: fit_rmse is the RMSE on the fitting part."),
    ])
    expect_close(obs["valid_rmse"], want["valid_rmse"], "the valid_rmse column", case, 1e-8, hints=[
        (want["fit_rmse"], "valid_rmse holds the RMSE on the fitting part: score the held-out part."),
        (lambda: variant("all"), "you fitted on all of train: split once with mfcore.train_test_split(train, "
                                 "test_size=cv, seed=seed) and fit on the fitting part only."),
    ])


def _reference_grid(train, K_values, lam_values, cv=0.2, seed=0, max_iter=20):
    res = _grid_search(train, K=K_values, lam=lam_values, solver="als", cv=cv, seed=seed, max_iter=max_iter,
                       verbose=False)
    return res.table[["K", "lam", "fit_rmse", "valid_rmse"]]


def _hand_table(kind, rng):
    import pandas as pd
    Ks, lams = [1, 2, 4, 8], [1e-4, 1e-3, 1e-2, 1e-1]
    valid = rng.uniform(0.9, 1.2, (4, 4))
    if kind == "interior":
        valid[1, 2] = 0.8
    elif kind == "corner":
        valid[3, 0] = 0.8
    elif kind == "edge":
        valid[2, 3] = 0.8
    elif kind == "tie":
        valid[1, 1] = valid[2, 2] = valid[1, 3] = 0.8         # ties: smaller K, then larger λ
    elif kind == "one_K":
        valid = valid[:1]
        Ks = Ks[:1]
        valid[0, 1] = 0.8
    fit = valid - 0.1
    corner = (-1, 1) if kind == "corner" else (-1, 0)         # training RMSE best at large K, small λ,
    fit[corner] = fit.min() - 0.3                             # away from the validation optimum
    rows = [{"K": K, "lam": lam, "fit_rmse": fit[a, b], "valid_rmse": valid[a, b]}
            for a, K in enumerate(Ks) for b, lam in enumerate(lams)]
    return pd.DataFrame(rows).sample(frac=1.0, random_state=int(rng.integers(1000))).reset_index(drop=True)


def _select_cases(seed, edge):
    kinds = ["interior", "corner", "edge"] + (["tie", "one_K", "random"] if edge else [])
    cases = []
    for s in seeds_for(seed):
        rng = _default_rng(900 + s)
        for kind in kinds:
            cases.append(Case(f"a hand-made 4 × 4 table with the validation minimum {kind.replace('_', ' ')}; seed {s}",
                              {"table": _hand_table(kind, rng)}))
    return cases


def _run_select(func, case):
    a = fresh_args(case)
    out = as_tuple(call(func, "select_best(table)", a["table"]), "select_best", 2, "(best, on_boundary)")
    best, flags = out
    if not isinstance(best, dict) or not {"K", "lam"} <= set(best):
        raise CheckFailure(f"best must be a dict with keys 'K' and 'lam', got {best!r}.")
    if not isinstance(flags, dict) or not {"K", "lam"} <= set(flags):
        raise CheckFailure(f"on_boundary must be a dict with keys 'K' and 'lam' (True/False), got {flags!r}.")
    return {"K": as_array(best["K"], "best['K']"), "lam": as_array(best["lam"], "best['lam']"),
            "flag_K": np.array(float(bool(flags["K"]))), "flag_lam": np.array(float(bool(flags["lam"])))}


def _verify_select(case, obs):
    table = case.args["table"]
    best = _select_best(table)
    flags, _ = _boundary_flags(best, table["K"].tolist(), table["lam"].tolist())
    got = (int(obs["K"]), float(obs["lam"]))
    if got != (best["K"], best["lam"]):
        hint = ""
        fit_best = table.loc[table["fit_rmse"].idxmin()]
        if got == (int(fit_best["K"]), float(fit_best["lam"])):
            hint = "\n  likely mistake: you minimised the training RMSE; select by the validation RMSE."
        elif len(table[table["valid_rmse"] == table["valid_rmse"].min()]) > 1:
            hint = "\n  likely mistake: on a tie prefer the smaller K, then the larger λ (the simpler model)."
        raise CheckFailure(f"on {case.label}: best should be K={best['K']}, λ={best['lam']:g}; got K={got[0]}, "
                           f"λ={got[1]:g}.{hint}")
    for axis in ("K", "lam"):
        if bool(obs[f"flag_{axis}"]) != flags[axis]:
            values = sorted(set(table[axis]))
            raise CheckFailure(
                f"on {case.label}: on_boundary['{axis}'] should be {flags[axis]} (best {axis} = {best[axis]:g}, grid "
                f"{values}): a value is on the boundary when it is the smallest or the largest of its axis"
                + (" (an axis with one value has no boundary to extend)." if len(values) == 1 else "."))


def _reference_select(table):
    best = _select_best(table)
    flags, _ = _boundary_flags(best, table["K"].tolist(), table["lam"].tolist())
    return best, flags


def _result_from_table(table, seed=0, fit_options=None, fit_sizes=(0,), best_params=None):
    """An mfcore SearchResult built from a student-style table (one hold-out fold)."""
    return _SearchResult.from_table(table, solver="als", seed=seed, fit_options=fit_options, fit_sizes=fit_sizes,
                                    best_params=best_params)


def _heatmap_cases(seed, edge):
    cases = []
    for s in seeds_for(seed):
        rng = _default_rng(950 + s)
        cases.append(Case(f"a 4 × 4 grid table; seed {s}", {"table": _hand_table("interior", rng)}))
        if edge:
            cases.append(Case(f"a 1 × 4 grid table (one K); seed {s}", {"table": _hand_table("one_K", rng)}))
    return cases


def _figure_obs(fig, what):
    import matplotlib.collections as mcoll
    import matplotlib.figure as mfig
    import matplotlib.pyplot as plt

    if not isinstance(fig, mfig.Figure):
        raise CheckFailure(f"{what} must return the matplotlib Figure (e.g. fig, axes = plt.subplots(1, 2); ...; "
                           f"return fig), got {type(fig).__name__}.")
    obs = {}
    maps = []
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        meshes = [c for c in ax.collections if isinstance(c, mcoll.QuadMesh)]
        if meshes:
            maps.append((ax, meshes[0]))
    plt.close(fig)
    if len(maps) != 2:
        raise CheckFailure(f"{what}: expected two heatmaps (training and validation RMSE, e.g. seaborn.heatmap "
                           f"on two axes), found {len(maps)}.")
    for k, (ax, mesh) in enumerate(maps):
        arr = np.ma.filled(np.ma.asarray(mesh.get_array(), dtype=float), np.nan)
        if arr.ndim == 1:
            rows = len(ax.get_yticklabels()) or 1
            arr = arr.reshape(rows, -1)
        obs[f"values{k}"] = arr
        obs[f"title{k}"] = np.array(ax.get_title())
        obs[f"ylabels{k}"] = np.array([t.get_text() for t in ax.get_yticklabels()] or [""])
    return obs


def _run_heatmap(func, case):
    a = fresh_args(case)
    return _figure_obs(call(func, "plot_heatmaps(table)", a["table"]), "plot_heatmaps(table)")


def _verify_heatmap(case, obs):
    table = case.args["table"]
    for k, (value, word) in enumerate((("fit_rmse", "train"), ("valid_rmse", "valid"))):
        want = table.pivot(index="K", columns="lam", values=value).sort_index().sort_index(axis=1).to_numpy()
        got = obs[f"values{k}"]
        label = "first (training RMSE)" if k == 0 else "second (validation RMSE)"
        expect_close(got, want, f"the values of the {label} heatmap", case, 1e-12, hints=[
            (want[::-1], "the rows are upside down: K ascending from the top row (sort the pivot by K)."),
            (want.T, "rows must be K and columns λ (pivot(index='K', columns='lam', ...))."),
            (lambda: table.pivot(index="K", columns="lam", values="valid_rmse" if k == 0 else "fit_rmse")
             .sort_index().sort_index(axis=1).to_numpy(),
             "the two heatmaps are swapped or show the same column: first training (fit_rmse), then validation."),
        ])
        title = str(obs[f"title{k}"]).lower()
        expect(word in title, f"on {case.label}: give the {label} heatmap a title that says so "
                              f"(it should contain '{word}'), got {str(obs[f'title{k}'])!r}.")


def _reference_heatmap(table):
    return _result_from_table(table).heatmap()


def _refit_cases(seed, edge):
    cases = []
    for s in seeds_for(seed):
        train = _train(s)
        cases.append(Case(describe(train, extra=f"synthetic seed {s}; best K=2, λ=1e-3, n_fit=720, seed={s}"),
                          {"train": train, "best": {"K": 2, "lam": 1e-3}, "n_fit": 720, "seed": s, "max_iter": 20}))
        if edge:
            cases.append(Case(describe(train, extra=f"synthetic seed {s}; best K=1, λ=0.02, n_fit=630"),
                              {"train": train, "best": {"K": 1, "lam": 0.02}, "n_fit": 630, "seed": s + 3,
                               "max_iter": 10}))
    return cases


def _run_refit(func, case):
    a = fresh_args(case)
    model = call(func, "refit(train, best, n_fit, seed=..., max_iter=...)", a["train"], a["best"], a["n_fit"],
                 seed=a["seed"], max_iter=a["max_iter"])
    if not hasattr(model, "P_") or not hasattr(model, "predict"):
        raise CheckFailure(f"refit must return the fitted mfcore.MF model (MF(...).fit(train)), got "
                           f"{type(model).__name__}.")
    train = case.args["train"]
    return {"lam": as_array(model.lam, "model.lam"),
            "pred": as_array(model.predict(train.users.copy(), train.items.copy()), "the model's predictions")}


def _verify_refit(case, obs):
    a = case.args
    res = _result_from_table(_dummy_table(a["best"]), seed=a["seed"], fit_options={"max_iter": a["max_iter"]},
                             fit_sizes=[a["n_fit"]], best_params=a["best"])
    model = quiet_reference(res.refit, a["train"])
    lam_ref = float(model.lam)
    got = float(obs["lam"])
    if abs(got - lam_ref) > 1e-12 * lam_ref:
        hint = ""
        if abs(got - a["best"]["lam"]) <= 1e-12 * a["best"]["lam"]:
            hint = ("\n  likely mistake: you kept λ*; keep the ridge λ|Ω| instead: λ_refit = λ*·|Ω_fit| / |Ω_train| "
                    "(notes/derivations.md §9.6), here λ*·n_fit / len(train).")
        raise CheckFailure(f"on {case.label}: the refit λ should be {lam_ref:.10g}, got {got:.10g}.{hint}")
    want = model.predict(a["train"].users, a["train"].items)
    expect_close(obs["pred"], want, "the refitted model's predictions on train", case, 1e-8, hints=[])


def _dummy_table(best):
    import pandas as pd
    return pd.DataFrame([{"K": best["K"], "lam": best["lam"], "fit_rmse": 0.0, "valid_rmse": 0.0}])


def _reference_refit(train, best, n_fit, seed=0, max_iter=20):
    res = _result_from_table(_dummy_table(best), seed=seed, fit_options={"max_iter": max_iter}, fit_sizes=[n_fit],
                             best_params=best)
    return res.refit(train)


EXERCISES = [
    Exercise("hw3.sgd_update", "sgd_update(p_u, q_i, r_ui, alpha, lam_u, lam_i)", _reference_update,
             _update_cases, _run_update, _verify_update, "one SGD step in the slides' order",
             answer_key=("mfcore.sgd.sgd_update", "mfcore._kernels.sgd_update")),
    Exercise("hw3.sgd_epoch", "sgd_epoch(P, Q, data, lam, alpha, rng)", _reference_sgd_epoch,
             lambda seed, edge: _epoch_cases(seed, edge), lambda f, c: _run_epoch(f, c, False), _verify_sgd_epoch,
             "one shuffled SGD epoch",
             answer_key=("mfcore.sgd.sgd_epoch", "mfcore._kernels.sgd_epoch_kernel")),
    Exercise("hw3.bgd_epoch", "bgd_epoch(P, Q, data, lam, alpha, batch_size, rng)", _reference_bgd_epoch,
             lambda seed, edge: _epoch_cases(seed, edge, batch=True), lambda f, c: _run_epoch(f, c, True),
             _verify_bgd_epoch, "one mini-batch GD epoch",
             answer_key=("mfcore.bgd.bgd_epoch", "mfcore._kernels.bgd_epoch_kernel")),
    Exercise("hw3.cv_grid", "cv_grid(train, K_values, lam_values, cv=0.2, seed=0, max_iter=20)", _reference_grid,
             _grid_cases, _run_grid, _verify_grid, "the hold-out CV grid",
             answer_key=("mfcore.selection.grid.grid_search", "mfcore.selection.trials.run_trials",
                         "mfcore.selection.trials.fit_one")),
    Exercise("hw3.select_best", "select_best(table)", _reference_select, _select_cases, _run_select, _verify_select,
             "the best (K, λ) and the boundary rule",
             answer_key=("mfcore.selection.best.select_best", "mfcore.selection.best.boundary_flags")),
    Exercise("hw3.plot_heatmaps", "plot_heatmaps(table)", _reference_heatmap, _heatmap_cases, _run_heatmap,
             _verify_heatmap, "the training and validation heatmaps",
             answer_key=("mfcore.selection.result.SearchResult.heatmap",)),
    Exercise("hw3.refit", "refit(train, best, n_fit, seed=0, max_iter=20)", _reference_refit, _refit_cases,
             _run_refit, _verify_refit, "the refit with (K*, λ*)",
             answer_key=("mfcore.selection.result.SearchResult.refit",)),
]
