"""nbgrader configuration of the mfcore homework: the repository root is the course root.

Instructors' sources are in solutions/<hw>/, the generated student versions in assignments/<hw>/, and
every piece of grading state in the git-ignored grading/ folder (see course/layout.py).  The README
section "Homework (nbgrader)" explains the workflow; `make release` and `make autograde` drive it.
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
if here not in sys.path:
    sys.path.insert(0, here)

from course import layout  # noqa: E402

c = get_config()  # noqa: F821  (injected by traitlets)

# ---- layout: one course at the repository root, all grading state under grading/
c.CourseDirectory.root = here
c.CourseDirectory.course_id = layout.COURSE_ID
c.CourseDirectory.source_directory = layout.SOURCE
c.CourseDirectory.release_directory = layout.RELEASE
c.CourseDirectory.submitted_directory = layout.SUBMITTED
c.CourseDirectory.autograded_directory = layout.AUTOGRADED
c.CourseDirectory.feedback_directory = layout.FEEDBACK
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, layout.GRADEBOOK)
# ---- the local exchange (`make course` creates it and releases every homework; `make lab` starts JupyterLab):
# the Assignment List fetches into my-homework/<hw>/ and submits from there.  JupyterLab's Assignment List reads
# the nbgrader config of that folder, so my-homework/nbgrader_config.py loads this file.
c.Exchange.root = os.path.join(here, layout.EXCHANGE)
c.Exchange.assignment_dir = os.path.join(here, layout.STUDENT_WORK)

# ---- execution: a per-cell time limit; a cell that ignores the interrupt is not waited for (its sandbox is
# killed and a new one started, see course/execute.py).
c.Execute.timeout = layout.CELL_TIMEOUT
c.Execute.interrupt_on_timeout = True
c.Execute.raise_on_iopub_timeout = False

# ---- hardening (facts measured on nbgrader 0.9.6):
# a deleted test cell is put back (full marks possible, no "needs manual grading");
c.OverwriteCells.add_missing_cells = True
# every submission runs in its own sandbox, its checks judged outside it (course/execute.py, course/judge.py);
# course/autograde.py passes the sandbox's workspace, limits and where the trusted results go.
c.Autograde.autograde_preprocessors = [
    "course.execute.IsolatedExecute",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# feedback never shows hidden tests (their code; the kernel never saw their seeds).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "course.feedback.HideHiddenTracebacks",
    "nbgrader.preprocessors.ClearHiddenTests",
]
