"""Homework checks: compare a student's function with the mfcore reference on generated problems.

In a homework notebook (the first, locked cell imports it)::

    from mfcore.checks import check
    check("hw2.als_item_step", als_item_step)          # prints "hw2.als_item_step: passed (2 problems)"

On a difference it raises :class:`CheckFailure` (an ``AssertionError``) whose message teaches: the problem,
expected vs got, shapes, the likely mistake; so the nbgrader test cell fails and Validate shows why.  A
function that calls the mfcore function it should replace (the exercise's *answer key*) is "NOT PASSED".
Hidden tests call the same checks with other seeds and edge cases::

    check("hw2.als_item_step", als_item_step, seed=11, edge=True)

The checks are pytest-style: each exercise is ``cases`` (generated problems), ``run`` (the student's
function on copies of the inputs, turned into plain arrays) and ``verify`` (compare with the mfcore
reference, raise ``CheckFailure``).  The project's own tests (``tests/test_checks.py``) run every
check against :func:`reference` and against typical wrong implementations.  ``run`` and ``verify`` are
separate so that, under grading, the student's code runs in a sandbox (:func:`observe`, via
:mod:`mfcore.checks.client`) and the comparison in the grader (:func:`judge`, ``course/judge.py``), with only
data passing between them (:mod:`mfcore.checks.wire`).

Nothing is printed on stderr and no warning escapes.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import _core
from ._core import Case, CheckFailure, Exercise
from . import hw1, hw2, hw3, hw4

__all__ = ["check", "run_check", "cases_for", "observe", "judge", "reference", "answer_key", "exercises",
           "EXERCISES", "CheckFailure", "Result"]

EXERCISES: dict[str, Exercise] = {}
for _module in (hw1, hw2, hw3, hw4):
    for _ex in _module.EXERCISES:
        EXERCISES[_ex.name] = _ex

_print = print                         # bound now: a notebook that rebinds print cannot hide messages


@dataclass
class Result:
    """The outcome of one check: ``passed``, the message printed, the number of problems."""

    name: str
    passed: bool
    message: str
    n_problems: int = 0

    def __bool__(self) -> bool:
        return self.passed


def exercises(homework: str | None = None) -> list[str]:
    """The exercise names, e.g. ``exercises("hw1")``."""
    return [n for n in EXERCISES if homework is None or n.startswith(homework + ".")]


def _exercise(name: str) -> Exercise:
    try:
        return EXERCISES[name]
    except KeyError:
        raise KeyError(f"unknown exercise {name!r}; the exercises are: {', '.join(EXERCISES)}") from None


def reference(name: str):
    """The reference implementation with the student's signature (mfcore functions, or thin adapters)."""
    return _exercise(name).reference


def answer_key(homework: str) -> dict[str, str]:
    """{dotted name: exercise} of every mfcore function that computes an answer of ``homework``."""
    return {dotted: ex.name for ex in EXERCISES.values() if ex.homework == homework for dotted in ex.answer_key}


def cases_for(name: str, seed: int | None = None, edge: bool = False) -> list[Case]:
    """The generated problems of one check (deterministic for a seed)."""
    ex = _exercise(name)
    with _core.pristine():
        return ex.cases(seed, edge)


def observe(name: str, func, cases: list[Case], allow_answer_key: bool = False) -> list[dict]:
    """Run the student's function on every problem; one observation (dict of arrays) or ``{"error": msg}`` each.

    This is the only part that executes student code.  A call of the homework's answer key (the mfcore
    functions the exercises ask to write) is an error observation saying so (``allow_answer_key=True``: the
    project's own tests, which check the references themselves).
    """
    ex = _exercise(name)
    watched = {} if allow_answer_key else answer_key(ex.homework)
    out = []
    for case in cases:
        called: list = []
        try:
            with _core.pristine(), _core.watch_calls(watched) as called:
                obs = ex.run(func, case)
        except CheckFailure as exc:
            obs = {"error": str(exc)}
        if called:                                  # also when the call failed (a blocked reference raises)
            obs = {"error": _core.reference_note(called, name, _func_name(func))}
        out.append(obs)
    return out


def judge(name: str, observations: list[dict], cases: list[Case], hidden: bool = False) -> Result:
    """Compare observations (from :func:`observe`, maybe in another process) with the reference.

    ``hidden=True`` (hidden tests, under grading) keeps the verdict and the likely mistake but not the problem
    or the expected values, so a message cannot teach the answer to a hidden problem.
    """
    ex = _exercise(name)
    n = len(cases)
    plural = "s" if n != 1 else ""
    if len(observations) != n:
        return Result(name, False, f"{name}: expected {n} results, got {len(observations)}.", n)
    for k, (case, obs) in enumerate(zip(cases, observations), 1):
        try:
            if not isinstance(obs, dict):
                raise CheckFailure(f"malformed result of type {type(obs).__name__}")
            if "error" in obs:
                error = str(obs["error"])
                if error.startswith(_core.CALLS_REFERENCE):
                    return Result(name, False, f"{name}: NOT PASSED: {error[len(_core.CALLS_REFERENCE):]}", n)
                raise CheckFailure(error)
            with _core.pristine():
                ex.verify(case, obs)
        except CheckFailure as exc:
            if hidden:
                return Result(name, False, f"{name}: FAILED on hidden problem {k} of {n}\n{_redact(str(exc))}", n)
            return Result(name, False, f"{name}: FAILED on problem {k} of {n}\n{exc}", n)
        except Exception as exc:                                  # noqa: BLE001  (a malformed observation)
            return Result(name, False, f"{name}: FAILED on problem {k} of {n}: unusable result "
                                       f"({type(exc).__name__}: {exc})", n)
    return Result(name, True, f"{name}: passed ({n} {'hidden ' if hidden else ''}problem{plural})", n)


_KEEP = ("likely mistake", "hint:", "remember:", "NaN or inf", "NOT PASSED", "not implemented", "raised ",
         "did you forget", "must be", "must return", "has shape", "is None", "expected a function")


def _redact(message: str) -> str:
    """A hidden problem's failure without its data: the lines that teach, not the ones that show values."""
    kept = [line for line in message.splitlines() if any(key in line for key in _KEEP) and "where:" not in line]
    kept = [line if len(line) <= 300 else line[:300] + " ..." for line in kept[:4]]
    return "\n".join(kept) if kept else "  (the result differs from the reference)"


def _func_name(func) -> str:
    return getattr(func, "__name__", "this function")


def run_check(name: str, func, seed: int | None = None, edge: bool = False, allow_answer_key: bool = False) -> Result:
    """Run one check in this process and return the :class:`Result` (nothing printed)."""
    with _core.pristine() as changed:          # only to learn which names the notebook reassigned
        pass
    cases = cases_for(name, seed, edge)
    result = judge(name, observe(name, func, cases, allow_answer_key), cases)
    note = _tamper_note(changed)
    return Result(name, result.passed, result.message + note, result.n_problems)


def _tamper_note(changed) -> str:
    if not changed:
        return ""
    shown = ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else "")
    return (f"\n  note: this notebook reassigned {shown}; the check used the originals. "
            "Don't assign to attributes of numpy, builtins or mfcore.")


def check(name: str, func, seed: int | None = None, edge: bool = False, token: str | None = None) -> None:
    """Check ``func`` against the reference for exercise ``name``: print "passed", or raise a teaching message.

    ``seed`` selects other generated problems (hidden tests use their own), ``edge=True`` adds edge
    cases (rows without ratings, K = 1, ...).  Raises :class:`CheckFailure` (an ``AssertionError``) whose
    message says what differs: the problem, expected vs got, the shapes and the likely mistake.

    Under grading the test cells pass a ``token`` instead: the problems come from the grader, which also
    compares the results with the reference outside this process (:mod:`mfcore.checks.client`).
    """
    if token is not None:
        from .client import graded_check

        result = graded_check(name, func, token)
    elif _grading():
        _print(f"{name}: not evaluated here: while the homework is graded only the test cells' checks count.")
        return
    else:
        result = run_check(name, func, seed=seed, edge=edge)
    if not result.passed:
        raise CheckFailure(result.message) from None
    _print(result.message, flush=True)


def _grading() -> bool:
    """True in a kernel the grader started (its test cells call check with a token)."""
    import os

    return bool(os.environ.get("MFCORE_JUDGE"))


_core.take_snapshot()
