"""Grading tooling of the mfcore homework (nbgrader): release, autograde, re-check, sandbox.

Run from the repository root, e.g. ``python -m course.autograde``; ``make release`` and
``make autograde`` (homework.mk) call these modules.
"""
