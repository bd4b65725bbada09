"""nbgrader feedback preprocessors (``GenerateFeedback.preprocessors`` in nbgrader_config.py).

Hidden tests never reach the student's kernel (``course/judge.py`` sends them tokenised), so nothing a student
prints can contain them; nbgrader's ``ClearHiddenTests`` removes their code from the cells shown in the
feedback.  :class:`HideHiddenTracebacks` also shortens a failing hidden test's traceback to its last line:
the traceback quotes the (tokenised) statement, which would show the cell's structure for nothing.
"""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode


class HideHiddenTracebacks(NbGraderPreprocessor):
    """In cells with hidden tests, keep only "ErrorName: message" of an error (the message says which check failed)."""

    begin = Unicode("BEGIN HIDDEN TESTS").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and self.begin in cell.source:
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
        return cell, resources
