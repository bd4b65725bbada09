"""Progress bars that stay quiet when nobody should see them.

nbgrader scores any test cell that writes to stderr as 0, and tests must not
write to stderr either, so bars are off when ``NBGRADER_EXECUTION`` is set,
under pytest, when ``MFCORE_QUIET`` is set to anything but ``0``, or when
stderr is not a terminal and we are not in a notebook.
"""

from __future__ import annotations

import os
import sys

from tqdm import tqdm

__all__ = ["progress", "quiet"]


def quiet() -> bool:
    """True when progress output must be suppressed (grading, tests, MFCORE_QUIET)."""
    if os.environ.get("NBGRADER_EXECUTION"):
        return True
    if "PYTEST_CURRENT_TEST" in os.environ:
        return True
    flag = os.environ.get("MFCORE_QUIET", "")
    return flag not in ("", "0")


def progress(iterable=None, *, total=None, desc=None, unit="it", enabled: bool = True, **kwargs) -> tqdm:
    """A tqdm bar on stderr, disabled when :func:`quiet` says so or ``enabled`` is False."""
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr,
                disable=(not enabled) or quiet(), dynamic_ncols=True, leave=False, **kwargs)
