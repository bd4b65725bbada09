"""Exceptions and warnings raised by mfcore.

Every error a user can trigger with bad input is a subclass of a built-in
(``ValueError``, ``FileNotFoundError``, ``RuntimeError``), so ``except ValueError``
keeps working, and every message says what was wrong and how to fix it.
"""

from __future__ import annotations


class RatingsError(ValueError):
    """The ratings given to :class:`mfcore.Ratings` are invalid (notes/notation.md)."""


class ChecksumError(ValueError):
    """A data file does not have the published checksum (truncated or corrupted)."""


class DataUnavailableError(FileNotFoundError):
    """A data set is neither cached nor downloadable (e.g. the machine is offline)."""


class DivergenceError(RuntimeError):
    """A solver's objective or parameters became non-finite or exploded (notes/derivations.md §3.4).

    ``history`` holds the per-iteration records up to the failure.
    """

    def __init__(self, message: str, history=None):
        super().__init__(message)
        self.history = history


class NotFittedError(ValueError, AttributeError, RuntimeError):
    """An estimator was used before ``fit`` (ValueError and AttributeError, as scikit-learn's NotFittedError).

    Also a RuntimeError, which MF raised here before this class existed: ``except RuntimeError`` keeps working.
    """


class ObjectiveIncreaseWarning(UserWarning):
    """A deterministic fixed-step solver increased the objective (notes/derivations.md §3.4)."""


def describe_rows(rows, limit: int = 5) -> str:
    """Format the first offending row numbers for an error message."""
    rows = list(rows)
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


class ReferenceBlocked(RuntimeError):
    """A homework is being graded and this mfcore function is (part of) one of its exercises.

    While a submission is graded, the reference implementations of that homework's exercises are replaced
    by functions that raise this error (see ``course/redact.py``): a student's function must compute the
    answer itself.  ``name`` is the blocked function, ``exercise`` the homework exercise it answers.
    """

    def __init__(self, name: str, exercise: str):
        self.name, self.exercise = name, exercise
        super().__init__(f"{name} is not available while {exercise.split('.')[0]} is graded: it computes the "
                         f"answer of the exercise {exercise}. Write the computation yourself (numpy is fine).")
        _report_blocked_call(name)


def _report_blocked_call(name: str) -> None:
    """Tell the grader (if one listens) that a blocked reference was called, even if the caller swallows it."""
    import os

    path = os.environ.get("MFCORE_JUDGE")
    if not path:
        return
    try:
        from .checks.client import report_blocked

        report_blocked(path, name)
    except Exception:                     # noqa: BLE001  (best effort: the score does not depend on it)
        pass
