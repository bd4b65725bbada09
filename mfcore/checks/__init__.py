"""Homework checks: compare a student's function with the mfcore reference on generated problems.

In a homework notebook (the first, locked cell imports it)::

    from mfcore.checks import check
    check("hw2.als_item_step", als_item_step)          # prints "hw2.als_item_step: passed (2 problems)"

On a difference the message teaches: the problem, expected vs got, shapes, the likely mistake.  Where it goes
depends on who runs the notebook:

* **validated or graded** (nbgrader sets ``NBGRADER_EXECUTION`` in the kernel's environment for Validate and for
  autograde; graded test cells pass a ``token``), and **outside a notebook** (scripts, pytest): it raises
  :class:`CheckFailure` (an ``AssertionError``) with the message, so the test cell fails and Validate and the
  feedback show why;
* **a student's own kernel** (IPython, no nbgrader): it prints the message on stdout, marked ✗, and does not
  raise, so *Run All* goes on to the end and shows every exercise's status; :func:`summary` lists them.

A function that calls the mfcore function it should replace (the exercise's *answer key*) is "NOT PASSED".
Hidden tests call the same checks with other seeds and edge cases::

    check("hw2.als_item_step", als_item_step, seed=11, edge=True)

The cells that try a function out use :func:`try_it`: an exercise not written yet says so instead of stopping
*Run All* with a ``NotImplementedError``::

    try_it(objective, P_toy, Q_toy, toy, 0.1)          # the value, or "objective is not implemented yet ..."
    with try_it():                                      # a block that uses several exercises
        P, Q, history = fit_gd(train, K=3, lam=1e-4, n_iter=100)

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

__all__ = ["check", "try_it", "summary", "run_check", "cases_for", "observe", "judge", "reference", "answer_key",
           "exercises", "EXERCISES", "CheckFailure", "Result"]

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
    """Check ``func`` against the reference for exercise ``name``: print "passed", or the teaching message.

    ``seed`` selects other generated problems (hidden tests use their own), ``edge=True`` adds edge
    cases (rows without ratings, K = 1, ...).  On a difference the message says what differs: the problem,
    expected vs got, the shapes and the likely mistake.  It is raised as :class:`CheckFailure` (an
    ``AssertionError``) under nbgrader (Validate, autograde) and outside a notebook; in a student's own
    notebook kernel it is printed (marked ✗) and nothing is raised, so *Run All* reaches every exercise.

    Under grading the test cells pass a ``token`` instead: the problems come from the grader, which also
    compares the results with the reference outside this process (:mod:`mfcore.checks.client`).  A failure
    is always raised there.
    """
    if token is not None:
        from .client import graded_check

        result = graded_check(name, func, token)
    elif _grading():
        _print(f"{name}: not evaluated here: while the homework is graded only the test cells' checks count.")
        return
    else:
        result = run_check(name, func, seed=seed, edge=edge)
        _SESSION[(name, seed, bool(edge))] = result
    if not result.passed:
        if token is None and _interactive():
            _print(_marked(result.message), flush=True)
            return
        failure = CheckFailure(result.message)
        # IPython shows this instead of the frames of this module: Validate and the feedback show the message only.
        failure._render_traceback_ = lambda: _teaching_traceback(result.message)
        raise failure from None
    _print(result.message, flush=True)


def _grading() -> bool:
    """True in a kernel the grader started (its test cells call check with a token)."""
    import os

    return bool(os.environ.get("MFCORE_JUDGE"))


def _interactive() -> bool:
    """True in a student's own notebook kernel: IPython, and neither nbgrader's Validate nor autograde.

    nbgrader sets ``NBGRADER_EXECUTION`` (``validate`` or ``autograde``) and, for Validate, ``NBGRADER_VALIDATING``
    in the environment of the kernels it starts; the grader's sandbox also sets ``MFCORE_JUDGE``.
    """
    import os
    import sys

    if _grading() or os.environ.get("NBGRADER_EXECUTION") or os.environ.get("NBGRADER_VALIDATING"):
        return False
    ipython = sys.modules.get("IPython")
    return ipython is not None and ipython.get_ipython() is not None


_RED, _BOLD, _RESET = "\x1b[31m", "\x1b[1m", "\x1b[0m"


def _marked(message: str) -> str:
    """A failure as a notebook shows it: ✗ and the first line in bold red, then the teaching message."""
    first, _, rest = message.partition("\n")
    return f"{_BOLD}{_RED}✗ {first}{_RESET}" + (f"\n{rest}" if rest else "")


def _teaching_traceback(message: str) -> list[str]:
    """The lines IPython shows for a failed check (``_render_traceback_``): its name and the message, no frames."""
    first, _, rest = message.partition("\n")
    return [f"{_RED}CheckFailure{_RESET}: {first}", *rest.splitlines()]


# ---------------------------------------------------------------------------------------------- summary
#: The latest result of every check run in this kernel: (name, seed, edge) -> Result.
_SESSION: dict[tuple, Result] = {}


def _status(results: list[Result]) -> tuple[str, str]:
    """(mark, text) of one exercise from its latest check results."""
    if not results:
        return "?", "not checked yet: run its test cells"
    failed = [r for r in results if not r.passed]
    if not failed:
        return "✓", "passed"
    if any("is not implemented yet" in r.message for r in failed):
        return "✗", "not implemented yet"
    first = failed[0].message.split("\n", 1)[0]
    return "✗", first.split(": ", 1)[1] if ": " in first else first


def summary(homework: str) -> None:
    """Print every exercise of ``homework`` with the status of its latest checks in this kernel.

    The last cell of each homework calls it, so *Run All* ends with the whole picture::

        hw1: 1 of 9 exercises pass
          ✓ objective          passed
          ✗ rmse               FAILED on problem 1 of 2
          ✗ gradient           not implemented yet
    """
    names = exercises(homework)
    if not names:
        homeworks = sorted({n.split(".", 1)[0] for n in EXERCISES})
        raise ValueError(f"unknown homework {homework!r}; the homeworks are: {', '.join(homeworks)}")
    if _grading():
        _print(f"{homework}: no summary while the homework is graded (the grader keeps its own).")
        return
    rows = []
    for name in names:
        mark, text = _status([r for (n, _, _), r in _SESSION.items() if n == name])
        rows.append((mark, name.split(".", 1)[1], text))
    n_pass = sum(mark == "✓" for mark, _, _ in rows)
    width = max(len(short) for _, short, _ in rows)
    lines = [f"{homework}: {n_pass} of {len(rows)} exercises pass"
             + ("" if n_pass == len(rows) else "; the cells above say what is missing or wrong")]
    for mark, short, text in rows:
        line = f"  {mark} {short:<{width}}  {text}"
        lines.append(f"{_RED}{line}{_RESET}" if mark == "✗" and _interactive() else line)
    _print("\n".join(lines), flush=True)


# ---------------------------------------------------------------------------------------------- try it
def try_it(func=None, /, *args, **kwargs):
    """Try a function out: ``try_it(f, *args, **kwargs)`` returns ``f(*args, **kwargs)``; ``with try_it(): ...``
    runs a block.

    While an exercise is not written yet (its body still raises ``NotImplementedError``) this prints
    "<name> is not implemented yet ..." and returns ``None`` instead of stopping *Run All*.  Any other error
    raised by the student's code is shown with its traceback (on stdout) and, in a notebook, the cells below
    still run; outside IPython (a script) it is raised.
    """
    if func is None:
        if args or kwargs:
            raise TypeError("try_it() with arguments but no function: write try_it(f, x, y), which calls f(x, y)")
        return _TryBlock()
    if not callable(func):
        raise TypeError(f"try_it expects a function and its arguments, e.g. try_it(objective, P, Q, data, 0.1); "
                        f"got {type(func).__name__} {_safe_repr(func)[:60]} (did you call the function already?)")
    try:
        return func(*args, **kwargs)
    except Exception as exc:                     # KeyboardInterrupt (a time limit) passes through
        if not _tried(exc, skip=1):
            raise
        return None


def _safe_repr(x) -> str:
    try:
        return repr(x)
    except Exception:                            # noqa: BLE001  (a broken __repr__ is not our problem)
        return f"<{type(x).__name__}>"


class _TryBlock:
    """``with try_it(): ...``: a block whose "not implemented yet" (or other error) is reported, not raised."""

    def __enter__(self):
        return self

    def __exit__(self, etype, exc, tb):
        if exc is None or not isinstance(exc, Exception):
            return False
        return _tried(exc, skip=0)


def _tried(exc: BaseException, skip: int) -> bool:
    """Report an error of tried-out code; True if reported (swallowed), False if the caller must raise it."""
    frames = _frames(exc.__traceback__)[skip:]
    own = [f for f in frames if _is_students(f.f_code.co_filename)]
    if isinstance(exc, NotImplementedError) and frames and own and frames[-1] is own[-1]:
        where = own[-1].f_code.co_name
        users = [f.f_code.co_name for f in own[:-1]
                 if not f.f_code.co_name.startswith("<") and f.f_code.co_name != where]
        name = "this cell" if where == "<module>" else where
        needed = f" ({users[-1]} uses it)" if users else ""
        _print(f"… {name} is not implemented yet{needed}: write it in its cell above (replace "
               "`raise NotImplementedError()`), run that cell, then this one again.", flush=True)
        return True
    if not _interactive():
        return False
    _print(f"{_BOLD}{_RED}✗ this cell raised {type(exc).__name__}: {exc}{_RESET}\n"
           "  (the traceback below shows where; the cells below still run)", flush=True)
    _print(_traceback_text(exc, skip), flush=True)
    return True


def _frames(tb) -> list:
    out = []
    while tb is not None:
        out.append(tb.tb_frame)
        tb = tb.tb_next
    return out


def _is_students(filename: str) -> bool:
    """A notebook cell's code (ipykernel's cell files, IPython's <ipython-input-...>), not a library's."""
    import os
    import sys

    name = filename.replace("\\", "/")
    if name.startswith("<ipython-input") or name.startswith("<cell") or "/ipykernel_" in name:
        return True
    if name.startswith("<"):
        return False
    libraries = {os.path.dirname(__file__).rsplit(os.sep, 1)[0], sys.prefix, sys.base_prefix, sys.exec_prefix}
    return not any(os.path.abspath(filename).startswith(os.path.abspath(lib) + os.sep) for lib in libraries)


def _traceback_text(exc: BaseException, skip: int) -> str:
    """The traceback from the student's code on, as IPython formats it (colours, cell names), else as Python does."""
    import traceback

    tb = exc.__traceback__
    for _ in range(skip):
        tb = tb.tb_next if tb is not None and tb.tb_next is not None else tb
    try:
        import IPython

        shell = IPython.get_ipython()
        stb = shell.InteractiveTB.structured_traceback(type(exc), exc, tb)
        return shell.InteractiveTB.stb2text(stb)
    except Exception:                            # noqa: BLE001  (no IPython, or another API: plain Python's)
        return "".join(traceback.format_exception(type(exc), exc, tb))


_core.take_snapshot()
