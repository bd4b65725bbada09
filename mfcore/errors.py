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


class ObjectiveIncreaseWarning(UserWarning):
    """A deterministic fixed-step solver increased the objective (notes/derivations.md §3.4)."""


def describe_rows(rows, limit: int = 5) -> str:
    """Format the first offending row numbers for an error message."""
    rows = list(rows)
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"
