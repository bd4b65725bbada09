"""The homework checks (mfcore.checks): the references pass every check, typical mistakes fail with a
message that names them, a function that calls the reference it should replace is not passed, and a notebook
that rebinds numpy or mfcore names cannot fool them.

Many "typical mistakes" below are built from the mfcore reference (a reference with one thing changed), so
those checks run with ``allow_answer_key=True``; students' functions never get that option."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

import mfcore
from mfcore import checks
from mfcore.checks import CheckFailure, cases_for, check, judge, observe, reference, run_check

ALL = list(checks.EXERCISES)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("seed, edge", [(None, False), (None, True), (11, True)], ids=["visible", "edge", "hidden"])
def test_the_reference_passes_its_own_check(name, seed, edge):
    result = run_check(name, reference(name), seed=seed, edge=edge, allow_answer_key=True)
    assert result.passed, result.message
    assert result.n_problems >= 1


@pytest.mark.parametrize("name", ALL)
def test_the_answer_key_covers_the_reference(name):
    """Every name of an exercise's answer key exists, and the reference itself is caught calling it."""
    for dotted in checks.EXERCISES[name].answer_key:
        assert callable(checks._core.resolve(dotted)), f"{name}: answer_key names {dotted}, which is not a function"
    result = run_check(name, reference(name))
    assert not result.passed and "NOT PASSED" in result.message and "which is" in result.message, result.message


def test_every_homework_has_its_exercises():
    assert checks.exercises("hw1") == ["hw1.objective", "hw1.rmse", "hw1.gradient", "hw1.build_M", "hw1.gradient_dense",
                                       "hw1.check_gradient", "hw1.gd_step", "hw1.armijo_step", "hw1.fit_gd"]
    assert len(checks.exercises("hw2")) == 6 and len(checks.exercises("hw3")) == 7
    assert checks.exercises("hw4") == ["hw4.ndcg_at_k", "hw4.top_n", "hw4.biased_sgd_update",
                                       "hw4.cold_start_prediction", "hw4.larger_bias", "hw4.level_dimensions"]


# ------------------------------------------------------------------------------- typical wrong implementations
def _e(P, Q, data):
    return data.ratings - np.sum(P[data.users] * Q[data.items], axis=1)


def objective_with_root(P, Q, data, lam):
    return np.sqrt(np.mean(_e(P, Q, data) ** 2)) + lam * (np.sum(P ** 2) + np.sum(Q ** 2))


def objective_penalising_seen_rows_only(P, Q, data, lam):
    u, i = np.unique(data.users), np.unique(data.items)
    return np.mean(_e(P, Q, data) ** 2) + lam * (np.sum(P[u] ** 2) + np.sum(Q[i] ** 2))


def rmse_without_root(P, Q, data):
    return np.mean(_e(P, Q, data) ** 2)


def gradient_without_factor_2(P, Q, data, lam):
    dP, dQ = mfcore.gradient(P, Q, data, lam)
    return dP / 2, dQ / 2


def gradient_with_lambda_penalty(P, Q, data, lam):
    dP, dQ = mfcore.gradient(P, Q, data, 0.0)
    return dP + lam * P, dQ + lam * Q


def M_upper_block_only(P, Q, data):
    M = mfcore.build_M(P, Q, data)
    M[data.n_users:, :data.n_users] = 0.0
    return M


def gd_step_sequential(P, Q, data, lam, alpha):
    P_new = P - alpha * mfcore.gradient(P, Q, data, lam)[0]
    return P_new, Q - alpha * mfcore.gradient(P_new, Q, data, lam)[1]


def armijo_never_halves(P, Q, data, lam, alpha_trial, F0=None, c=1e-4, beta=0.5):
    P, Q = mfcore.gd_step(P, Q, data, lam, alpha_trial)
    return P, Q, alpha_trial, mfcore.objective(P, Q, data, lam)


def fit_gd_without_F0(data, K, lam, n_iter, seed=0, sigma0=0.1):
    P, Q, history = reference("hw1.fit_gd")(data, K, lam, n_iter, seed=seed, sigma0=sigma0)
    return P, Q, history[1:]


def item_step_ridge_lambda(P, data, lam):
    return mfcore.als_item_step(P, data, lam / len(data))


def iteration_with_old_Q(P, Q, data, lam):
    return mfcore.als_user_step(Q, data, lam), mfcore.als_item_step(P, data, lam)


def block_step_without_2(F, G, view, lam, n_omega, w, inner_steps=1, step=0.01):
    return mfcore.block_gd_step(F, G, view, lam, n_omega, w, inner_steps, step / 2)


def sgd_update_simultaneous(p_u, q_i, r_ui, alpha, lam_u, lam_i):
    e = r_ui - p_u @ q_i
    p_old = p_u.copy()
    p_u += 2 * alpha * (e * q_i - lam_u * p_u)
    q_i += 2 * alpha * (e * p_old - lam_i * q_i)


def sgd_update_returning_copies(p_u, q_i, r_ui, alpha, lam_u, lam_i):
    p, q = p_u.copy(), q_i.copy()
    mfcore.sgd_update(p, q, r_ui, alpha, lam_u, lam_i, True)
    return p, q


def sgd_epoch_mean_penalty(P, Q, data, lam, alpha, rng):
    mfcore.sgd_epoch(P, Q, data, lam, alpha, reg_mode="mean", rng=rng)


def select_by_training_rmse(table):
    row = table.loc[table["fit_rmse"].idxmin()]
    return {"K": int(row["K"]), "lam": float(row["lam"])}, {"K": False, "lam": False}


def refit_keeping_lambda(train, best, n_fit, seed=0, max_iter=20):
    return mfcore.MF(K=best["K"], lam=best["lam"], solver="als", seed=seed, max_iter=max_iter).fit(train)


def ndcg_without_normalising(recommended, relevant, k):
    hits = np.array([x in set(relevant) for x in recommended[:k]], dtype=float)
    return float(np.sum(hits / np.log2(np.arange(2, len(hits) + 2))))


def ndcg_ideal_over_all_k(recommended, relevant, k):
    dcg = ndcg_without_normalising(recommended, relevant, k)
    return dcg / float(np.sum(1 / np.log2(np.arange(2, k + 2)))) if relevant else 0.0


def top_n_keeping_seen(P, Q, b, c, mu, u, seen, n):
    return mfcore.top_n(mu + b[u] + c + Q @ P[u], n)


def top_n_without_item_bias(P, Q, b, c, mu, u, seen, n):
    exclude = np.zeros(len(Q), dtype=bool)
    exclude[seen] = True
    return mfcore.top_n(Q @ P[u], n, exclude)


def sgd_update_with_the_old_residual(P, Q, b, c, u, i, r_ui, mu, alpha, lam, lam_b):
    e = r_ui - mu - b[u] - c[i] - P[u] @ Q[i]
    p, q = P[u].copy(), Q[i].copy()
    c[i] += 2 * alpha * (e - lam_b * c[i])
    Q[i] += 2 * alpha * (e * p - lam * q)
    b[u] += 2 * alpha * (e - lam_b * b[u])
    P[u] += 2 * alpha * (e * q - lam * p)


def sgd_update_without_mu(P, Q, b, c, u, i, r_ui, mu, alpha, lam, lam_b):
    reference("hw4.biased_sgd_update")(P, Q, b, c, u, i, r_ui, 0.0, alpha, lam, lam_b)


def cold_start_like_the_plain_model(mu, b, c, user, item):
    return 0.0


def cold_start_with_minus_one_as_an_index(mu, b, c, user, item):
    return mu + b[user] + c[item]


def larger_bias_by_mean_rating(ratings_a, ratings_b, mu, rho):
    return "a" if np.mean(ratings_a) > np.mean(ratings_b) else "b"


def level_dimensions_the_other_way(table):
    return int(table.loc[table["biased"].idxmin(), "K"] - table.loc[table["plain"].idxmin(), "K"])


def level_dimensions_by_position(table):
    return int(np.argmin(table["plain"].to_numpy()) - np.argmin(table["biased"].to_numpy()))


def stub(*args, **kwargs):
    raise NotImplementedError()


WRONG = [
    ("hw1.objective", objective_with_root, "square root"),
    ("hw1.objective", objective_penalising_seen_rows_only, "every row of P and Q"),
    ("hw1.rmse", rmse_without_root, "forgot the square root"),
    ("hw1.gradient", gradient_without_factor_2, "factor 2 is missing"),
    ("hw1.gradient", gradient_with_lambda_penalty, "2λp_u"),
    ("hw1.build_M", M_upper_block_only, "M is symmetric"),
    ("hw1.gd_step", gd_step_sequential, "together, from the old values"),
    ("hw1.armijo_step", armijo_never_halves, "never halved"),
    ("hw1.fit_gd", fit_gd_without_F0, "start with F⁽⁰⁾"),
    ("hw2.als_item_step", item_step_ridge_lambda, "λ|Ω|"),
    ("hw2.als_iteration", iteration_with_old_Q, "NEW Q"),
    ("hw2.block_gd_step", block_step_without_2, "factor 2 is missing"),
    ("hw3.sgd_update", sgd_update_simultaneous, "NEW q_i"),
    ("hw3.sgd_update", sgd_update_returning_copies, "in place"),
    ("hw3.sgd_epoch", sgd_epoch_mean_penalty, "λ itself"),
    ("hw3.select_best", select_by_training_rmse, "training RMSE"),
    ("hw3.refit", refit_keeping_lambda, "keep the ridge"),
    ("hw1.check_gradient", stub, "not implemented yet"),
    ("hw4.ndcg_at_k", ndcg_without_normalising, "divide it by the IDCG"),
    ("hw4.ndcg_at_k", ndcg_ideal_over_all_k, "min(k, |relevant|)"),
    ("hw4.top_n", top_n_keeping_seen, "leave out the items in `seen`"),
    ("hw4.top_n", top_n_without_item_bias, "the item bias c_i changes the order"),
    ("hw4.biased_sgd_update", sgd_update_with_the_old_residual, "NEW residual"),
    ("hw4.biased_sgd_update", sgd_update_without_mu, "μ is missing"),
    ("hw4.cold_start_prediction", cold_start_like_the_plain_model, "plain model's answer"),
    ("hw4.cold_start_prediction", cold_start_with_minus_one_as_an_index, "LAST user and item"),
    ("hw4.larger_bias", larger_bias_by_mean_rating, "SHRUNK mean"),
    ("hw4.level_dimensions", level_dimensions_the_other_way, "not the other way round"),
    ("hw4.level_dimensions", level_dimensions_by_position, "the K values themselves"),
]


@pytest.mark.parametrize("name, func, hint", WRONG, ids=[f"{n}-{f.__name__}" for n, f, _ in WRONG])
def test_a_typical_mistake_fails_with_a_message_naming_it(name, func, hint):
    result = run_check(name, func, edge=True, allow_answer_key=True)
    assert not result.passed
    assert hint in result.message, result.message
    assert "FAILED on problem" in result.message


def test_an_exception_in_student_code_is_reported_with_its_line():
    def objective(P, Q, data, lam):
        return P[100, 0]

    result = run_check("hw1.objective", objective)
    assert not result.passed and "IndexError" in result.message and "P[100, 0]" in result.message


def test_a_wrong_shape_says_so():
    result = run_check("hw2.als_item_step", lambda P, data, lam: mfcore.als_item_step(P, data, lam).T,
                       allow_answer_key=True)
    assert not result.passed and "shape" in result.message and "transposed" in result.message


# ------------------------------------------------------------------------------- calling the reference
def _als_item_step_by_name(P, data, lam):
    return mfcore.als_item_step(P, data, lam)


def _als_item_step_by_importlib(P, data, lam):
    import importlib
    return getattr(importlib.import_module("mfcore.als"), "als_item_step")(P, data, lam)


_stashed = mfcore.als_user_step


def _als_user_step_stashed_earlier(Q, data, lam):
    return _stashed(Q, data, lam)


def _als_item_step_by_kernel(P, data, lam):
    als = sys.modules["mfcore.als"]
    view = data.by_item
    Q = np.zeros((data.n_items, P.shape[1]))
    als.ridge_solve_rows(P, view.indptr, view.index, view.values, np.full(data.n_items, lam * len(data)),
                         np.ones(P.shape[1]), Q)
    return Q


def _fit_als_through_the_iteration(data, K, lam, n_iter, seed=0, sigma0=0.1):
    P, Q, _ = mfcore.init_factors(data, K, seed, sigma0)
    history = [mfcore.objective(P, Q, data, lam)]              # hw1's exercise: allowed in hw2
    for _ in range(n_iter):
        P, Q = mfcore.als_iteration(P, Q, data, lam)          # hw2's own exercise: not allowed
        history.append(mfcore.objective(P, Q, data, lam))
    return P, Q, np.array(history)


@pytest.mark.parametrize("name, func, called", [
    ("hw2.als_item_step", _als_item_step_by_name, "calls mfcore.als_item_step, which is the exercise"),
    ("hw2.als_item_step", _als_item_step_by_importlib, "calls mfcore.als_item_step, which is the exercise"),
    ("hw2.als_user_step", _als_user_step_stashed_earlier, "calls mfcore.als_user_step, which is the exercise"),
    ("hw2.als_item_step", _als_item_step_by_kernel, "calls mfcore._kernels.ridge_solve_rows"),
    ("hw2.fit_als", _fit_als_through_the_iteration, "mfcore.als_iteration, which is the exercise hw2.als_iteration"),
    ("hw1.gd_step", lambda P, Q, data, lam, alpha: mfcore.gd_step(P, Q, data, lam, alpha), "mfcore.gd_step"),
])
def test_a_function_that_calls_the_reference_is_not_passed(name, func, called):
    result = run_check(name, func)
    assert not result.passed and f"{name}: NOT PASSED" in result.message and called in result.message, \
        result.message
    with pytest.raises(CheckFailure, match="NOT PASSED"):
        check(name, func)


def test_other_homeworks_references_are_allowed():
    """hw2's fit_als may use mfcore.objective (hw1's exercise): only the homework's own answer key is blocked."""
    from mfcore.checks import hw2

    assert "mfcore.objectives.objective" not in checks.answer_key("hw2")
    assert all(d.startswith("mfcore.") for d in checks.answer_key("hw2")) and hw2.EXERCISES


# ------------------------------------------------------------------------------- the notebook interface
def student_rmse(P, Q, data):
    return np.sqrt(np.mean(_e(P, Q, data) ** 2))


def test_check_prints_passed_on_stdout_only(capsys):
    check("hw1.rmse", student_rmse)
    out, err = capsys.readouterr()
    assert out.strip() == "hw1.rmse: passed (2 problems)" and err == ""


def test_a_failing_check_raises_the_teaching_message(capsys):
    """The message is the exception's text, so nbgrader's Validate and the feedback show it."""
    with pytest.raises(CheckFailure) as info:
        check("hw1.rmse", rmse_without_root)
    text = str(info.value)
    assert "expected:" in text and "got:" in text and "likely mistake" in text
    assert capsys.readouterr() == ("", "")


def test_nothing_reaches_stderr_when_student_code_warns_or_prints_there(capsys):
    import sys
    import warnings

    def rmse(P, Q, data):
        print("debug", file=sys.stderr)
        warnings.warn("careful", RuntimeWarning)
        np.log(-1.0)                                       # a numpy RuntimeWarning
        return student_rmse(P, Q, data)

    check("hw1.rmse", rmse)
    assert capsys.readouterr().err == ""


def test_observe_then_judge_equals_run_check():
    cases = cases_for("hw2.als_user_step", seed=3, edge=True)
    for func in (reference("hw2.als_user_step"), stub):
        obs = observe("hw2.als_user_step", func, cases, allow_answer_key=True)
        assert judge("hw2.als_user_step", obs, cases).passed == \
            run_check("hw2.als_user_step", func, seed=3, edge=True, allow_answer_key=True).passed


def test_judge_rejects_observations_of_the_wrong_count():
    assert not judge("hw1.rmse", [{"rmse": np.array(1.0)}], cases_for("hw1.rmse")).passed


def test_a_hidden_verdict_teaches_without_showing_the_problem_or_the_answer():
    cases = cases_for("hw1.rmse", seed=123, edge=True)
    obs = observe("hw1.rmse", rmse_without_root, cases)
    shown, hidden = judge("hw1.rmse", obs, cases), judge("hw1.rmse", obs, cases, hidden=True)
    assert "expected:" in shown.message and "seed 123" in shown.message
    assert not hidden.passed and "likely mistake" in hidden.message and "hidden problem 1" in hidden.message
    assert not re.search(r"\bexpected\b|\bgot\b|123", hidden.message), hidden.message


def test_unknown_exercise_lists_the_known_ones():
    with pytest.raises(KeyError, match="hw1.objective"):
        run_check("hw1.objectiv", stub)


# ------------------------------------------------------------------------------- tampering inside the kernel
def test_rebinding_numpy_and_mfcore_names_does_not_fool_the_checks(monkeypatch):
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np.linalg, "norm", lambda *a, **k: 0.0)
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *a, **k: None)
    monkeypatch.setattr(mfcore, "objective", objective_with_root)                # the student's as "reference"
    objective_module = sys.modules["mfcore.objectives"]                      # (mfcore.objective is the function)
    monkeypatch.setattr(objective_module, "mse", lambda *a, **k: 0.0)         # inside the reference's module
    wrong = run_check("hw1.objective", objective_with_root)
    assert not wrong.passed and "square root" in wrong.message
    assert "numpy.allclose" in wrong.message and "numpy.linalg.norm" in wrong.message
    right = run_check("hw1.objective", reference("hw1.objective"), allow_answer_key=True)
    assert right.passed, right.message
    assert np.allclose(1, 2) is True and objective_module.mse(1) == 0.0        # the notebook's values are back


def test_the_student_never_gets_the_checks_arrays():
    seen = []

    def gradient(P, Q, data, lam):
        seen.append((P, Q))
        P[:] = 0.0                                      # mutating the inputs cannot change the expected values
        Q[:] = 0.0
        return mfcore.gradient(P, Q, data, lam)

    result = run_check("hw1.gradient", gradient, allow_answer_key=True)
    assert not result.passed and seen


# ------------------------------------------------------------------------------- trying functions out, the summary
def _stub(P, Q, data, lam):
    raise NotImplementedError()


def _uses_stub(P, Q, data, lam):
    return _stub(P, Q, data, lam) + 1


def test_try_it_returns_the_value_or_says_not_implemented(capsys, small):
    from mfcore.checks import try_it

    data, P, Q = small
    assert try_it(lambda P, Q, data, lam: 42.0, P, Q, data, lam=0.1) == 42.0
    assert try_it(_stub, P, Q, data, 0.1) is None
    assert try_it(_uses_stub, P, Q, data, 0.1) is None
    with try_it():
        _uses_stub(P, Q, data, 0.1)
        raise AssertionError("the block goes on after the stub")             # never reached
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("… _stub is not implemented yet: write it in its cell above") and err == ""
    assert lines[1].startswith("… _stub is not implemented yet (_uses_stub uses it)") and lines[2] == lines[1]


def test_try_it_raises_other_errors_outside_a_notebook(small):
    """Outside IPython (scripts, pytest) a real error is raised; only a notebook shows it and goes on."""
    from mfcore.checks import try_it

    data, P, Q = small
    with pytest.raises(IndexError):
        try_it(lambda P, Q, data, lam: P[100], P, Q, data, 0.1)
    with pytest.raises(ZeroDivisionError), try_it():
        1 / 0
    with pytest.raises(TypeError, match="try_it expects a function and its arguments"):
        try_it(3.0, P)
    with pytest.raises(TypeError, match="arguments but no function"):
        try_it(None, P)


def test_a_library_notimplementederror_is_not_taken_for_a_stub(capsys):
    """A NotImplementedError raised inside a library (here the standard library's numbers module) is an error."""
    import numbers

    from mfcore.checks import try_it

    with pytest.raises(NotImplementedError):
        try_it(numbers.Complex.real.fget, None)
    assert capsys.readouterr().out == ""


def test_summary_lists_every_exercise(capsys):
    from mfcore.checks import summary

    check("hw1.rmse", student_rmse)
    with pytest.raises(CheckFailure):
        check("hw1.gd_step", lambda P, Q, data, lam, alpha: (P, Q))
    capsys.readouterr()
    summary("hw1")
    out = capsys.readouterr().out
    assert re.match(r"hw1: \d+ of 9 exercises pass", out), out
    assert re.search(r"✓ rmse\s+passed", out) and re.search(r"✗ gd_step\s+FAILED on problem 1 of", out), out
    for name in checks.exercises("hw1"):
        assert re.search(rf"  [✓✗?] {name.split('.', 1)[1]}\s", out), (name, out)
    with pytest.raises(ValueError, match="unknown homework 'hw9'; the homeworks are: hw1, hw2, hw3"):
        summary("hw9")


def test_a_written_function_calling_a_stub_names_the_stub():
    def objective(P, Q, data, lam):
        raise NotImplementedError()

    def check_gradient(P, Q, data, lam, grad=None, h=1e-6):
        return objective(P, Q, data, lam)

    message = run_check("hw1.check_gradient", check_gradient).message
    assert "calls objective, which is not implemented yet" in message, message
    assert "not implemented yet" in run_check("hw1.objective", objective).message
