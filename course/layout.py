"""Where the course keeps things: one place, shared by nbgrader_config.py and the grading scripts.

Everything nbgrader writes while grading lives in ``grading/`` (git-ignored)::

    grading/submitted/<student>/<hw>/<hw>.ipynb    collected submissions (input of autograde)
    grading/autograded/<student>/<hw>/             executed copies with test cells restored
    grading/feedback/<student>/<hw>/<hw>.html      feedback without hidden tests
    grading/gradebook.db                           nbgrader's gradebook (sqlite)
    grading/exchange/                              nbgrader's exchange (release/submit/collect)
    grading/release/                               scratch release that keeps the gradebook in step
    grading/logs/                                  nbgrader and re-check logs
    grading/grades.csv                             one row per student and notebook (make autograde)
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

SOURCE = "solutions"
RELEASE = "assignments"
GRADING = "grading"
SUBMITTED = f"{GRADING}/submitted"
AUTOGRADED = f"{GRADING}/autograded"
FEEDBACK = f"{GRADING}/feedback"
EXCHANGE = f"{GRADING}/exchange"
SCRATCH_RELEASE = f"{GRADING}/release"
LOGS = f"{GRADING}/logs"
GRADEBOOK = f"{GRADING}/gradebook.db"
GRADES_CSV = f"{GRADING}/grades.csv"

#: Per-cell time limit of the grading kernel, in seconds (nbgrader's Execute.timeout).
CELL_TIMEOUT = 60


def root_of(path=None) -> Path:
    """The course root: ``path``, else $MFCORE_COURSE_ROOT, else the current directory."""
    return Path(path or os.environ.get("MFCORE_COURSE_ROOT") or os.getcwd()).resolve()


def homeworks(root: Path) -> list[str]:
    """The assignment ids: the folders of solutions/ holding a notebook, sorted."""
    src = Path(root) / SOURCE
    return sorted(p.name for p in src.iterdir() if p.is_dir() and any(p.glob("*.ipynb"))) if src.is_dir() else []


def _repo_of_mfcore() -> Path | None:
    spec = importlib.util.find_spec("mfcore")
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).resolve().parents[1]


def hidden_paths(root) -> list[str]:
    """What the grading kernel and the re-check process must not see: solutions, submissions, feedback,
    the exchange and the gradebook, of this course and of the checkout mfcore is imported from."""
    roots = {Path(root).resolve()}
    repo = _repo_of_mfcore()
    if repo is not None and (repo / SOURCE).is_dir():
        roots.add(repo)
    out = []
    for r in sorted(roots):
        for rel in (SOURCE, SUBMITTED, FEEDBACK, EXCHANGE, SCRATCH_RELEASE, GRADEBOOK):
            p = r / rel
            if p.exists():
                out.append(str(p))
    return out
