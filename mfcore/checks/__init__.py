"""Homework checks: compare a student's function with the mfcore reference on generated problems.

In a homework notebook (the first, locked cell imports it)::

    from mfcore.checks import check
    check("hw2.als_item_step", als_item_step)          # prints "hw2.als_item_step: passed (2 problems)"

On a difference it prints a teaching message on stdout (the problem, expected vs got, shapes, the
likely mistake) and raises :class:`CheckFailure` (an ``AssertionError``), so the nbgrader test cell
fails.  Hidden tests call the same checks with other seeds and edge cases::

    check("hw2.als_item_step", als_item_step, seed=11, edge=True)

The checks are pytest-style: each exercise is ``cases`` (generated problems), ``run`` (the student's
function on copies of the inputs, turned into plain arrays) and ``verify`` (compare with the mfcore
reference, raise ``CheckFailure``).  The project's own tests (``tests/test_checks.py``) run every
check against :func:`reference` and against typical wrong implementations.  ``run`` and ``verify`` are
separate so the grader can run the student's code in one process and verify in another
(:func:`observe`, :func:`judge`; see ``course/recheck.py``).

Nothing is printed on stderr and no warning escapes: under nbgrader, stderr output zeroes a test cell.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import _core
from ._core import CheckFailure, Exercise
from . import hw1, hw2, hw3

__all__ = ["check", "run_check", "observe", "judge", "reference", "exercises", "EXERCISES", "CheckFailure",
           "Result"]

EXERCISES: dict[str, Exercise] = {}
for _module in (hw1, hw2, hw3):
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


def _cases(ex: Exercise, seed, edge):
    with _core.pristine():
        return ex.cases(seed, edge)


def observe(name: str, func, seed: int | None = None, edge: bool = False) -> list[dict]:
    """Run the student's function on every problem; one observation (dict of arrays) or ``{"error": msg}`` each.

    This is the only part that executes student code.
    """
    ex = _exercise(name)
    out = []
    for case in _cases(ex, seed, edge):
        try:
            with _core.pristine():
                obs = ex.run(func, case)
        except CheckFailure as exc:
            obs = {"error": str(exc)}
        out.append(obs)
    return out


def judge(name: str, observations: list[dict], seed: int | None = None, edge: bool = False) -> Result:
    """Compare observations (from :func:`observe`, maybe in another process) with the reference."""
    ex = _exercise(name)
    cases = _cases(ex, seed, edge)
    if len(observations) != len(cases):
        return Result(name, False, f"{name}: expected {len(cases)} observations, got {len(observations)}.",
                      len(cases))
    for k, (case, obs) in enumerate(zip(cases, observations), 1):
        try:
            if "error" in obs:
                raise CheckFailure(str(obs["error"]))
            with _core.pristine():
                ex.verify(case, obs)
        except CheckFailure as exc:
            head = f"{name}: FAILED on problem {k} of {len(cases)}"
            return Result(name, False, f"{head}\n{exc}", len(cases))
    return Result(name, True, f"{name}: passed ({len(cases)} problem{'s' if len(cases) != 1 else ''})",
                  len(cases))


def run_check(name: str, func, seed: int | None = None, edge: bool = False) -> Result:
    """Run one check in this process and return the :class:`Result` (nothing printed)."""
    ex = _exercise(name)
    with _core.pristine() as changed:          # only to learn which names the notebook reassigned
        pass
    cases = _cases(ex, seed, edge)
    for k, case in enumerate(cases, 1):
        try:
            with _core.pristine():
                obs = ex.run(func, case)
                ex.verify(case, obs)
        except CheckFailure as exc:
            head = f"{name}: FAILED on problem {k} of {len(cases)}"
            note = _tamper_note(changed)
            return Result(name, False, f"{head}\n{exc}{note}", len(cases))
    note = _tamper_note(changed)
    return Result(name, True, f"{name}: passed ({len(cases)} problem{'s' if len(cases) != 1 else ''}){note}",
                  len(cases))


def _tamper_note(changed) -> str:
    if not changed:
        return ""
    shown = ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else "")
    return (f"\n  note: this notebook reassigned {shown}; the check used the originals. "
            "Don't assign to attributes of numpy, builtins or mfcore.")


def check(name: str, func, seed: int | None = None, edge: bool = False) -> None:
    """Check ``func`` against the reference for exercise ``name``: print "passed" or a teaching message.

    ``seed`` selects other generated problems (hidden tests use their own), ``edge=True`` adds edge
    cases (rows without ratings, K = 1, ...).  Raises :class:`CheckFailure` when the check fails.
    """
    result = run_check(name, func, seed=seed, edge=edge)
    _print(result.message, flush=True)
    if not result.passed:
        raise CheckFailure(f"{name} failed: see the message above.") from None


_core.take_snapshot()
