"""Where the course keeps things: one place, shared by nbgrader_config.py and the grading scripts.

Everything nbgrader writes while grading lives in ``grading/`` (git-ignored)::

    grading/submitted/<student>/<hw>/<hw>.ipynb    collected submissions (input of autograde)
    grading/autograded/<student>/<hw>/             executed copies with test cells restored
    grading/feedback/<student>/<hw>/<hw>.html      feedback without hidden tests
    grading/gradebook.db                           nbgrader's gradebook (sqlite)
    grading/exchange/                              nbgrader's exchange (release/submit/collect)
    grading/release/                               scratch release that keeps the gradebook in step
    grading/staged/<student>/<hw>/                 submissions with their grading metadata restored
    grading/sandbox/                               per homework: mfcore with its answer key blocked, numba cache
    grading/results/<hw>/<student>/<nb>.json       the trusted result of each notebook (judge's verdicts, flags)
    grading/logs/                                  nbgrader's logs, and one log per submission (<hw>/<student>.log)
    grading/grades.csv                             one row per student and notebook (make autograde)
    grading/course.json                            what `make course` last put on the exchange (to skip repeats)

The student's side of the local exchange (JupyterLab's Assignment List, ``make lab``) is ``my-homework/``: *Fetch*
copies ``<hw>/`` there, *Validate* and *Submit* read it.  It is git-ignored but for its ``nbgrader_config.py``.

None of it is ever visible to a student's code: each submission runs in a sandbox (course/sandbox.py) that
mounts only the system, Python, the virtual environment and the blocked mfcore copy.
"""

from __future__ import annotations

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
STAGED = f"{GRADING}/staged"
SANDBOX = f"{GRADING}/sandbox"
RESULTS = f"{GRADING}/results"
GRADEBOOK = f"{GRADING}/gradebook.db"
GRADES_CSV = f"{GRADING}/grades.csv"
COURSE_STATE = f"{GRADING}/course.json"
#: Where Fetch puts a student's copy (nbgrader's Exchange.assignment_dir): my-homework/<hw>/<hw>.ipynb.
STUDENT_WORK = "my-homework"
#: nbgrader's course id (the exchange keeps each course in its own folder).
COURSE_ID = "mfcore"

#: Per-cell time limit of the grading kernel, in seconds (nbgrader's Execute.timeout).
CELL_TIMEOUT = 60
#: Wall-clock limit of one notebook, in seconds (course/execute.py).
NOTEBOOK_TIMEOUT = 1800


def root_of(path=None) -> Path:
    """The course root: ``path``, else $MFCORE_COURSE_ROOT, else the current directory."""
    return Path(path or os.environ.get("MFCORE_COURSE_ROOT") or os.getcwd()).resolve()


def homeworks(root: Path) -> list[str]:
    """The assignment ids: the folders of solutions/ holding a notebook, sorted."""
    src = Path(root) / SOURCE
    return sorted(p.name for p in src.iterdir() if p.is_dir() and any(p.glob("*.ipynb"))) if src.is_dir() else []
