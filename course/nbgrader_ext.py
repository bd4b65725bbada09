"""nbgrader extensions used by nbgrader_config.py.

* :class:`SandboxedExecute` runs the grading kernel through :mod:`course.sandbox`, so student code
  cannot read the solutions, the other submissions or the gradebook (when namespaces are available).
* :class:`HideHiddenTracebacks` (feedback) shortens the traceback of a failing hidden test to its last
  line: the full traceback would quote the hidden test's code in the feedback HTML.
"""

from __future__ import annotations

from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import List, Unicode

from . import sandbox


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel inside :mod:`course.sandbox` with ``hide`` covered."""

    hide = List(Unicode(), help="Paths the kernel must not see.").tag(config=True)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        ok, _ = sandbox.available()
        if ok and self.hide:
            return sandbox.command(self.hide, cmd)
        return cmd


class SandboxedExecute(Execute):
    """nbgrader's Execute preprocessor with :class:`SandboxKernelManager`."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)


class HideHiddenTracebacks(NbGraderPreprocessor):
    """In cells with hidden tests, keep only "ErrorName: message" of an error (the message says which check failed)."""

    begin = Unicode("BEGIN HIDDEN TESTS").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and self.begin in cell.source:
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
        return cell, resources
