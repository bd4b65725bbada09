"""Your homework, fetched from the course's local exchange (JupyterLab: Nbgrader → Assignment List → Fetch).

*Fetch* copies each homework here (``my-homework/hw1/hw1.ipynb``); *Validate* and *Submit* read it from here.
Everything in this folder but this file is git-ignored, so your answers never end up in a commit of the course.
JupyterLab's Assignment List reads the nbgrader configuration of this folder: it is the course's
(``../nbgrader_config.py``: the exchange in ``grading/exchange``, the course id).
"""

import os

course = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
load_subconfig(os.path.join(course, "nbgrader_config.py"))  # noqa: F821  (injected by traitlets)
