"""Homework 4 checks: from factors to recommendations (notes/derivations.md §11), and reading an experiment.

Student signatures:

    ndcg_at_k(recommended, relevant, k) -> float                          mfcore.ndcg_at_k
    top_n(P, Q, b, c, mu, u, seen, n) -> item indices, best first          mfcore.ranking.user_scores + top_n
    biased_sgd_update(P, Q, b, c, u, i, r_ui, mu, alpha, lam, lam_b)       mfcore.sgd_epoch(b=, c=) on one rating
        -> None (in place)
    cold_start_prediction(mu, b, c, user, item) -> float                  mfcore.predict with unseen rows
    larger_bias(ratings_a, ratings_b, mu, rho) -> "a" or "b"               mfcore.als_item_step with P = 0
    level_dimensions(table) -> int                                         mfcore.selection.select_best

The last three are the interpretation part: what the fitted model predicts for a stranger, why the largest biases
belong to films many people liked, and how many dimensions the plain model spends on the rating level.
"""

from __future__ import annotations

import numpy as np

from ..als import als_item_step as _als_item_step
from ..data import Ratings
from ..objectives import predict as _predict
from ..ranking import ndcg_at_k as _ndcg_at_k
from ..ranking import top_n as _top_n
from ..ranking import user_scores as _user_scores
from ..selection.best import select_best as _select_best
from ..sgd import sgd_epoch as _sgd_epoch
from ._core import (Case, CheckFailure, Exercise, as_array, as_scalar, call, expect, expect_close, fresh_args,
                    problem, quiet_reference, seeds_for)

_default_rng = np.random.default_rng


# ------------------------------------------------------------------------------------------- ndcg_at_k
def _ndcg_cases(seed, edge):
    cases = []
    for s in seeds_for(seed):
        rng = _default_rng(400 + s)
        for k, n_rel in ((5, 3), (10, 4)):
            recommended = rng.permutation(40)[:k].tolist()
            relevant = sorted(rng.choice(recommended, 2, replace=False).tolist()
                              + rng.choice(np.arange(40, 60), n_rel - 2, replace=False).tolist())
            cases.append(Case(f"recommended={recommended}, relevant={relevant}, k={k}; seed {s}",
                              {"recommended": recommended, "relevant": relevant, "k": k}))
        if edge:
            cases.append(Case("an ideal list: every recommended item relevant, more relevant than k",
                              {"recommended": [3, 1, 2], "relevant": [1, 2, 3, 4, 5], "k": 3}))
            cases.append(Case("a single hit at rank 1, two relevant items",
                              {"recommended": [7, 8, 9, 10], "relevant": [7, 11], "k": 4}))
            cases.append(Case("no relevant item at all", {"recommended": [1, 2, 3], "relevant": [], "k": 3}))
            cases.append(Case("k longer than the list", {"recommended": [4, 5], "relevant": [5], "k": 6}))
    return cases


def _run_ndcg(func, case):
    a = fresh_args(case)
    return {"ndcg": as_scalar(call(func, "ndcg_at_k(recommended, relevant, k)", a["recommended"], a["relevant"],
                                   a["k"]), "the NDCG returned")}


def _discounts(case):
    a = case.args
    hits = np.array([1.0 if x in set(a["relevant"]) else 0.0 for x in a["recommended"][:a["k"]]])
    return hits, 1.0 / np.log2(np.arange(2, a["k"] + 2))


def _verify_ndcg(case, obs):
    a = case.args
    want = quiet_reference(_ndcg_at_k, a["recommended"], a["relevant"], a["k"])
    hits, disc = _discounts(case)
    dcg = float(np.sum(hits * disc[:len(hits)]))
    expect_close(obs["ndcg"], want, "NDCG@k", case, 1e-12, hints=[
        (dcg, "that is the DCG: divide it by the IDCG, the DCG of an ideal list."),
        (lambda: dcg / float(np.sum(disc)) if len(a["relevant"]) else None,
         "the ideal list holds only min(k, |relevant|) relevant items: IDCG = Σ_{j ≤ min(k, |relevant|)} "
         "1/log2(j + 1), not a sum over all k ranks."),
        (lambda: float(np.sum(hits / np.log2(np.arange(2, len(hits) + 2) + 1)))
         / float(np.sum(1.0 / np.log2(np.arange(2, min(a["k"], len(a["relevant"])) + 2) + 1)))
         if len(a["relevant"]) else None,
         "the discount of rank j (counting from 1) is 1/log2(j + 1): rank 1 gets 1/log2(2) = 1."),
        (float(hits.sum() / a["k"]), "that is precision@k: NDCG weighs each hit by its rank."),
    ])


def _reference_ndcg(recommended, relevant, k):
    return _ndcg_at_k(recommended, relevant, k)


# ------------------------------------------------------------------------------------------- top_n
def _top_cases(seed, edge):
    cases = []
    for s in seeds_for(seed):
        data, P, Q = problem(410 + s, n=6, m=12, K=3, density=0.4)
        rng = _default_rng(420 + s)
        b, c = rng.normal(0, 0.5, data.n_users), rng.normal(0, 0.5, data.n_items)
        for u, n in ((0, 3), (2, 5)):
            seen = sorted(data.items[data.users == u].tolist())
            cases.append(Case(f"n_users=6, n_items=12, K=3, user u={u} who rated items {seen}, n={n}; seed {s}",
                              {"P": P, "Q": Q, "b": b, "c": c, "mu": 3.5, "u": u, "seen": seen, "n": n}))
        if edge:
            Q2 = Q.copy()
            Q2[5], c2 = Q2[4], c.copy()
            c2[5] = c2[4]                                     # items 4 and 5 tie: the smaller index first
            cases.append(Case(f"items 4 and 5 have the same score (a tie), nothing seen, n=12; seed {s}",
                              {"P": P, "Q": Q2, "b": b, "c": c2, "mu": 3.5, "u": 1, "seen": [], "n": 12}))
            P0 = P.copy()
            P0[3] = 0.0
            cases.append(Case(f"user 3 has p_u = 0 (the ranking is by c_i alone), n=4; seed {s}",
                              {"P": P0, "Q": Q, "b": b, "c": c, "mu": 3.5, "u": 3, "seen": [0, 1], "n": 4}))
            cases.append(Case(f"n larger than the number of unseen items (9 of 12 seen); seed {s}",
                              {"P": P, "Q": Q, "b": b, "c": c, "mu": 3.5, "u": 2, "seen": list(range(9)), "n": 6}))
    return cases


def _run_top(func, case):
    a = fresh_args(case)
    out = call(func, "top_n(P, Q, b, c, mu, u, seen, n)", a["P"], a["Q"], a["b"], a["c"], a["mu"], a["u"], a["seen"],
               a["n"])
    return {"items": as_array(out, "the items returned").ravel()}


def _ref_top(a, **kw):
    a = {**a, **kw}
    scores = _user_scores(a["P"], a["Q"], a["b"], a["c"], a["mu"], a["u"])
    exclude = np.zeros(len(scores), dtype=bool)
    exclude[np.asarray(a["seen"], dtype=np.int64)] = True
    return _top_n(scores, a["n"], exclude).astype(float)


def _verify_top(case, obs):
    a = case.args
    want = quiet_reference(_ref_top, a)
    got = obs["items"]
    if got.shape == want.shape and np.array_equal(got, want):
        return
    hint = ""
    seen = set(a["seen"])
    if any(int(x) in seen for x in got if float(x).is_integer()):
        hint = "leave out the items in `seen`: the user rated them already."
    elif got.shape == want.shape and np.array_equal(got, quiet_reference(_ref_top, a, c=np.zeros_like(a["c"]))):
        hint = "the item bias c_i changes the order (μ + b_u is the same for every item and does not)."
    elif got.shape == want.shape and np.array_equal(got[::-1], want):
        hint = "best first: sort by decreasing score."
    elif len(got) > len(want) or len(got) < min(a["n"], len(a["Q"]) - len(seen)):
        hint = "return n items (or all the unseen ones when fewer are left)."
    raise CheckFailure(f"top_n differs from the reference on the problem: {case.label}\n"
                       f"  expected items {want.astype(int).tolist()}\n  got            {got.tolist()}"
                       + (f"\n  likely mistake: {hint}" if hint else
                          "\n  remember: score every item by μ + b_u + c_i + p_uᵀq_i, leave out `seen`, sort by "
                          "decreasing score (ties: the smaller index first, e.g. a stable sort of −score)."))


def _reference_top(P, Q, b, c, mu, u, seen, n):
    return _ref_top({"P": P, "Q": Q, "b": b, "c": c, "mu": mu, "u": u, "seen": seen, "n": n}).astype(np.int64)


# ------------------------------------------------------------------------------------------- biased_sgd_update
def _sgd_cases(seed, edge):
    cases = []
    for s in seeds_for(seed):
        rng = _default_rng(430 + s)
        for K, (u, i) in ((3, (1, 2)), (2, (0, 4))):
            P, Q = rng.normal(0, 0.5, (4, K)), rng.normal(0, 0.5, (5, K))
            b, c = rng.normal(0, 0.3, 4), rng.normal(0, 0.3, 5)
            r = float(rng.integers(1, 6))
            cases.append(Case(f"K={K}, u={u}, i={i}, r_ui={r:g}, μ=3.5, α=0.05, λ=0.1, λ_b=0.02; seed {s}",
                              {"P": P, "Q": Q, "b": b, "c": c, "u": u, "i": i, "r_ui": r, "mu": 3.5, "alpha": 0.05,
                               "lam": 0.1, "lam_b": 0.02}))
        if edge:
            P, Q = rng.normal(0, 1, (3, 1)), rng.normal(0, 1, (3, 1))
            cases.append(Case(f"K=1, the biases still 0 (the first step of a fit), λ_b=0; seed {s}",
                              {"P": P, "Q": Q, "b": np.zeros(3), "c": np.zeros(3), "u": 2, "i": 0, "r_ui": 5.0,
                               "mu": 3.0, "alpha": 0.1, "lam": 0.05, "lam_b": 0.0}))
    return cases


def _run_sgd(func, case):
    a = fresh_args(case)
    out = call(func, "biased_sgd_update(P, Q, b, c, u, i, r_ui, mu, alpha, lam, lam_b)", a["P"], a["Q"], a["b"],
               a["c"], a["u"], a["i"], a["r_ui"], a["mu"], a["alpha"], a["lam"], a["lam_b"])
    obs = {name: as_array(a[name], f"{name} after the call") for name in ("P", "Q", "b", "c")}
    obs["returned"] = np.array(float(out is not None))
    return obs


def _ref_sgd(a, order="sequential", **kw):
    a = {**fresh_args(Case("", a)), **kw}
    P, Q, b, c = a["P"], a["Q"], a["b"], a["c"]
    one = Ratings([a["u"]], [a["i"]], [a["r_ui"]], P.shape[0], Q.shape[0])
    # reg_mode="weighted": the per-sample coefficients of a sample are λ and λ_b themselves (§6.4, §11.4)
    _sgd_epoch(P, Q, one, a["lam"], a["alpha"], "weighted", rng=_default_rng(0), order=order, b=b, c=c,
               mu=a["mu"], lam_b=a["lam_b"])
    return {"P": P, "Q": Q, "b": b, "c": c}


def _verify_sgd(case, obs):
    a = case.args
    want = quiet_reference(_ref_sgd, a)
    unchanged = all(np.array_equal(obs[k], a[k]) for k in ("P", "Q", "b", "c"))
    expect(not unchanged, f"on {case.label}: P, Q, b and c did not change: update them in place (P[u] += ..., "
                          "b[u] += ...); the function returns nothing.")
    u, i = a["u"], a["i"]
    for name, row in (("c", i), ("Q", i), ("b", u), ("P", u)):
        got, w = obs[name][row], want[name][row]
        what = {"c": "c_i, the item bias (updated first, from e)", "Q": "q_i (updated with c_i, from e)",
                "b": "b_u, the user bias (from the new residual e')", "P": "p_u (from e')"}[name]
        expect_close(got, w, what, case, 1e-12, hints=[
            (lambda: quiet_reference(_ref_sgd, a, order="simultaneous")[name][row],
             "the user side must use the NEW residual e' = r − μ − b_u − c_i − p_uᵀq_i computed after c_i and q_i "
             "changed (the slides' order, derivations §11.4)."),
            (lambda: quiet_reference(_ref_sgd, a, mu=0.0)[name][row],
             "the residual is r_ui − μ − b_u − c_i − p_uᵀq_i: μ is missing."),
            (lambda: quiet_reference(_ref_sgd, a, lam=a["lam_b"], lam_b=a["lam"])[name][row],
             "λ penalises the factors and λ_b the biases: they are swapped."),
            (lambda: quiet_reference(_ref_sgd, a, alpha=a["alpha"] / 2)[name][row],
             "each update is x + 2α(...): the 2 is missing."),
        ])
    for name in ("P", "Q", "b", "c"):
        expect_close(obs[name], want[name], f"all of {name} (only row {u if name in 'Pb' else i} may change)",
                     case, 1e-12)


def _reference_sgd(P, Q, b, c, u, i, r_ui, mu, alpha, lam, lam_b):
    out = _ref_sgd({"P": P, "Q": Q, "b": b, "c": c, "u": u, "i": i, "r_ui": r_ui, "mu": mu, "alpha": alpha,
                    "lam": lam, "lam_b": lam_b})
    for name, arr in (("P", P), ("Q", Q), ("b", b), ("c", c)):
        arr[...] = out[name]


# ------------------------------------------------------------------------------------------- cold_start_prediction
def _cold_cases(seed, edge):
    cases = []
    for s in seeds_for(seed):
        rng = _default_rng(440 + s)
        b, c = rng.normal(0, 0.4, 6), rng.normal(0, 0.4, 8)
        for user, item in ((-1, 3), (2, -1), (-1, -1)):
            who = "a new user" if user < 0 else f"user {user}"
            what = "a new item" if item < 0 else f"item {item}"
            cases.append(Case(f"{who} and {what} (−1 = not in the training data), μ=3.6; seed {s}",
                              {"mu": 3.6, "b": b, "c": c, "user": user, "item": item}))
        if edge:
            cases.append(Case(f"a new user and the last item (item 7: c[7], not 'unknown'); seed {s}",
                              {"mu": 3.6, "b": b, "c": c, "user": -1, "item": 7}))
    return cases


def _run_cold(func, case):
    a = fresh_args(case)
    return {"r": as_scalar(call(func, "cold_start_prediction(mu, b, c, user, item)", a["mu"], a["b"], a["c"],
                                a["user"], a["item"]), "the prediction")}


def _ref_cold(mu, b, c, user, item):
    """The fitted biased model's prediction: an unknown row is an unseen one, zero factor and zero bias (§11.5)."""
    n, m = len(b), len(c)
    b_ext, c_ext = np.r_[b, 0.0], np.r_[c, 0.0]
    u = n if user < 0 else user
    i = m if item < 0 else item
    P, Q = np.zeros((n + 1, 1)), np.zeros((m + 1, 1))            # the factors never matter here: one side is 0
    return float(_predict(P, Q, [u], [i], b_ext, c_ext, mu)[0])


def _verify_cold(case, obs):
    a = case.args
    want = quiet_reference(_ref_cold, a["mu"], a["b"], a["c"], a["user"], a["item"])
    b, c = a["b"], a["c"]
    expect_close(obs["r"], want, "the cold-start prediction", case, 1e-12, hints=[
        (0.0, "that is the plain model's answer (a zero factor predicts 0 stars); the biased model predicts μ plus "
              "the bias it knows."),
        (a["mu"], "μ alone ignores the bias the model does know (b_u of a known user, c_i of a known item)."),
        (lambda: a["mu"] + b[a["user"]] + c[a["item"]],
         "−1 means 'not in the training data': numpy's b[-1] and c[-1] are the LAST user and item, not 'unknown'."),
    ])


def _reference_cold(mu, b, c, user, item):
    return _ref_cold(mu, b, c, user, item)


# ------------------------------------------------------------------------------------------- larger_bias
_BIAS_CASES = [   # (ratings of a, ratings of b, μ, ρ): the raw means and the shrunk biases sometimes disagree
    ([5.0, 5.0], [4.0, 5.0, 4.5, 4.0, 5.0] * 40, 3.5, 10.0),
    ([4.0] * 3, [4.5, 4.0, 4.0, 4.5, 4.0] * 10, 3.5, 10.0),
    ([1.0], [2.5, 2.0, 3.0, 2.5] * 25, 3.5, 10.0),
    ([4.5, 5.0, 4.5, 5.0] * 30, [4.0, 4.5] * 3, 3.5, 5.0),
]
_BIAS_EDGE = [
    ([5.0] * 8, [4.0] * 300, 3.5, 50.0),
    ([2.0] * 300, [1.0] * 4, 3.5, 20.0),
]


def _bias_cases(seed, edge):
    cases = []
    rng = _default_rng(450 + (0 if seed is None else seed))
    chosen = _BIAS_CASES if seed is None else [_BIAS_CASES[k] for k in rng.permutation(len(_BIAS_CASES))[:3]]
    for k, (ra, rb, mu, rho) in enumerate(chosen + (_BIAS_EDGE if edge else [])):
        swap = seed is not None and rng.random() < 0.5             # hidden problems also swap a and b
        ra, rb = (rb, ra) if swap else (ra, rb)
        cases.append(Case(f"film a: {len(ra)} ratings averaging {np.mean(ra):.2f}; film b: {len(rb)} ratings "
                          f"averaging {np.mean(rb):.2f}; μ={mu:g}, ρ = λ_b|Ω| = {rho:g}",
                          {"ratings_a": list(ra), "ratings_b": list(rb), "mu": mu, "rho": rho}))
    return cases


def _run_bias(func, case):
    a = fresh_args(case)
    out = call(func, "larger_bias(ratings_a, ratings_b, mu, rho)", a["ratings_a"], a["ratings_b"], a["mu"], a["rho"])
    if out not in ("a", "b"):
        raise CheckFailure(f"larger_bias must return 'a' or 'b', got {out!r}.")
    return {"choice": np.array(out)}


def _shrunk_biases(ratings_a, ratings_b, mu, rho):
    """(c_a, c_b) by one ALS item step with P = 0 and b = 0: c_i = Σ(r − μ)/(|U_i| + ρ) (notes/derivations.md §11.3)."""
    r = np.r_[ratings_a, ratings_b]
    items = np.r_[np.zeros(len(ratings_a)), np.ones(len(ratings_b))].astype(np.int64)
    data = Ratings(np.arange(len(r)), items, r, len(r), 2)        # one user per rating: no user bias to share
    _, c = _als_item_step(np.zeros((len(r), 1)), data, rho / len(r), b=np.zeros(len(r)), mu=mu)
    return c


def _verify_bias(case, obs):
    a = case.args
    c = quiet_reference(_shrunk_biases, a["ratings_a"], a["ratings_b"], a["mu"], a["rho"])
    want = "a" if c[0] > c[1] else "b"
    got = str(obs["choice"])
    if got != want:
        by_mean = "a" if np.mean(a["ratings_a"]) > np.mean(a["ratings_b"]) else "b"
        hint = ("\n  likely mistake: you compared the mean ratings; the bias is a SHRUNK mean, "
                "c_i = Σ(r − μ)/(|U_i| + ρ): few ratings are weak evidence." if got == by_mean else "")
        raise CheckFailure(f"on {case.label}: the larger bias belongs to film {want!r} (c_a = {c[0]:+.3f}, "
                           f"c_b = {c[1]:+.3f}), got {got!r}.{hint}")


def _reference_bias(ratings_a, ratings_b, mu, rho):
    c = _shrunk_biases(ratings_a, ratings_b, mu, rho)
    return "a" if c[0] > c[1] else "b"


# ------------------------------------------------------------------------------------------- level_dimensions
def _level_table(rng, Ks, k_plain, k_biased):
    import pandas as pd
    plain = 0.95 + 0.03 * np.abs(np.arange(len(Ks)) - k_plain) + rng.uniform(0, 0.004, len(Ks))
    biased = 0.90 + 0.03 * np.abs(np.arange(len(Ks)) - k_biased) + rng.uniform(0, 0.004, len(Ks))
    return pd.DataFrame({"K": Ks, "plain": plain.round(4), "biased": biased.round(4)})


def _level_cases(seed, edge):
    cases = []
    for s in seeds_for(seed):
        rng = _default_rng(460 + s)
        for Ks, kp, kb in (([1, 2, 3, 4, 5, 6], 3, 2), ([1, 2, 3, 4, 5, 6], 2, 2), ([1, 2, 4, 8, 16], 3, 1)):
            table = _level_table(rng, Ks, kp, kb)
            cases.append(Case(f"validation RMSE of the plain and biased models for K in {Ks}; seed {s}",
                              {"table": table}))
        if edge:
            table = _level_table(rng, [1, 2, 3, 4], 1, 1)
            table.loc[0, "plain"] = table.loc[1, "plain"]              # a tie at the minimum: the smaller K
            cases.append(Case("a table with a tie in the plain column (the smaller K wins)", {"table": table}))
            cases.append(Case("the biased model needs MORE dimensions here",
                              {"table": _level_table(rng, [1, 2, 3, 4, 5], 1, 3)}))
    return cases


def _run_level(func, case):
    a = fresh_args(case)
    out = call(func, "level_dimensions(table)", a["table"])
    value = as_scalar(out, "the number of dimensions returned")
    if float(value) != round(float(value)):
        raise CheckFailure(f"level_dimensions must return a whole number (K*_plain − K*_biased), got {float(value)!r}.")
    return {"d": value}


def _k_star(table, column):
    import pandas as pd
    frame = pd.DataFrame({"K": table["K"], "lam": 0.0, "valid_rmse": table[column]})
    return _select_best(frame)["K"]                      # argmin; ties to the smaller K (derivations §9.5)


def _verify_level(case, obs):
    t = case.args["table"]
    kp, kb = quiet_reference(_k_star, t, "plain"), quiet_reference(_k_star, t, "biased")
    want = kp - kb
    got = int(round(float(obs["d"])))
    if got == want:
        return
    hint = ""
    if got == -want and want:
        hint = "K*_plain − K*_biased (the plain model's extra dimensions), not the other way round."
    elif got == int(t.loc[t["plain"].idxmax(), "K"]) - int(t.loc[t["biased"].idxmax(), "K"]):
        hint = "the best K has the LOWEST validation RMSE."
    elif got == int(np.argmin(t["plain"].to_numpy())) - int(np.argmin(t["biased"].to_numpy())):
        hint = "subtract the K values themselves (the K column), not their row positions."
    raise CheckFailure(f"on {case.label}: K*_plain = {kp}, K*_biased = {kb}, so the answer is {want}; got {got}."
                       + (f"\n  likely mistake: {hint}" if hint else ""))


def _reference_level(table):
    return _k_star(table, "plain") - _k_star(table, "biased")


EXERCISES = [
    Exercise("hw4.ndcg_at_k", "ndcg_at_k(recommended, relevant, k)", _reference_ndcg, _ndcg_cases, _run_ndcg,
             _verify_ndcg, "NDCG@k of one list", answer_key=("mfcore.ranking.ndcg_at_k",)),
    Exercise("hw4.top_n", "top_n(P, Q, b, c, mu, u, seen, n)", _reference_top, _top_cases, _run_top, _verify_top,
             "a user's top-N list", answer_key=("mfcore.ranking.top_n", "mfcore.ranking.user_scores",
                                               "mfcore.estimator.MF.recommend")),
    Exercise("hw4.biased_sgd_update", "biased_sgd_update(P, Q, b, c, u, i, r_ui, mu, alpha, lam, lam_b)",
             _reference_sgd, _sgd_cases, _run_sgd, _verify_sgd, "one biased SGD step in the slides' order",
             answer_key=("mfcore.sgd.sgd_epoch", "mfcore.sgd.sgd_update", "mfcore._kernels.sgd_update",
                         "mfcore._kernels.sgd_epoch_kernel")),
    Exercise("hw4.cold_start_prediction", "cold_start_prediction(mu, b, c, user, item)", _reference_cold,
             _cold_cases, _run_cold, _verify_cold, "what the biased model predicts for a stranger",
             answer_key=("mfcore.objectives.predict",)),
    Exercise("hw4.larger_bias", "larger_bias(ratings_a, ratings_b, mu, rho)", _reference_bias, _bias_cases,
             _run_bias, _verify_bias, "which film gets the larger bias (shrinkage)",
             answer_key=("mfcore.als.als_item_step",)),
    Exercise("hw4.level_dimensions", "level_dimensions(table)", _reference_level, _level_cases, _run_level,
             _verify_level, "how many dimensions the plain model spends on the rating level",
             answer_key=("mfcore.selection.best.select_best",)),
]
