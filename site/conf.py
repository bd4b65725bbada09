"""Sphinx configuration of the course website (`make site`).

Why Sphinx + MyST-NB: every piece installs from PyPI with pip into the project's .venv and builds offline.
MyST-NB renders the lecture notebooks with their stored outputs (nothing is re-executed) and reads the notes'
Markdown, including $...$ maths and the same heading anchors GitHub uses.  (Jupyter Book 2 / mystmd fetches its
HTML theme from the web at build time, which fails on machines that reach only the package registries.)

The source directory is the repository root (`sphinx-build -c site . build/site`); `include_patterns` picks
the course: notes/, the lectures, the lecture map and the student versions of the homework.  MathJax 3 is
served from the build (`_static/mathjax`, installed from npm by `make site`): browsers need no CDN.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MATHJAX = Path(os.environ.get("MFCORE_MATHJAX", ROOT / "build" / "mathjax" / "node_modules" / "mathjax" / "es5"))

project = "Matrix factorization for recommender systems"
author = "the mfcore course"
copyright = "the mfcore course authors, MIT licence"

extensions = ["myst_nb"]
root_doc = "notes/start"
include_patterns = ["notes/*.md", "lectures/0*.ipynb", "lectures/1*.ipynb", "lectures/README.md",
                    "assignments/hw*/hw*.ipynb"]
exclude_patterns = [".venv/**", "build/**", "grading/**", "**/.ipynb_checkpoints/**"]

# Stored outputs only: the lectures are checked against them by nbval; the homework stays unexecuted.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3            # [x](derivations.md#42-the-ridge) resolves as on GitHub
suppress_warnings = ["myst.header"]  # notebooks start at "# Lecture n", then "## 1." sections: fine for a book

html_theme = "sphinx_book_theme"
html_title = "MF for recommender systems"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "navigation_with_keys": False,
}
html_static_path = []
html_favicon = "favicon.svg"        # also spares browsers a 404 on /favicon.ico
html_last_updated_fmt = None
html_context = {"default_mode": "light"}   # the theme logs a console error on a first visit without a stored mode
html_copy_source = True

# MathJax 3, served from the build (no CDN).
if not (MATHJAX / "tex-chtml.js").is_file():
    raise RuntimeError(f"MathJax is missing at {MATHJAX}: run `make site` (it installs it with npm) "
                       "or set MFCORE_MATHJAX")
html_static_path.append(str(MATHJAX.parent))          # copies es5/ to _static/es5/
mathjax_path = "es5/tex-chtml.js"
mathjax3_config = {
    "tex": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]], "processEscapes": True},
    "options": {"processHtmlClass": "tex2jax_process|mathjax_process|math|output_area"},
}

TOCTREE = """

```{toctree}
:hidden:
:caption: Lectures

/lectures/01-model-and-data
/lectures/02-matrix-calculus-gradient
/lectures/03-als
/lectures/04-gradient-descent
/lectures/05-als-gd
/lectures/06-sgd-and-minibatch
/lectures/07-cross-validation
/lectures/08-hyperparameter-optimisation
/lectures/09-from-factors-to-recommendations
/lectures/10-als-at-scale
```

```{toctree}
:hidden:
:caption: Homework

/assignments/hw1/hw1
/assignments/hw2/hw2
/assignments/hw3/hw3
/assignments/hw4/hw4
```

```{toctree}
:hidden:
:caption: Notes

/notes/notation
/notes/derivations
/notes/errata
/notes/slides
/notes/checks
/lectures/README
```
"""


def _add_toctree(app, docname, source):
    """The navigation lives in the site only: notes/start.md stays plain Markdown on GitHub."""
    if docname == root_doc:
        source[0] = source[0] + TOCTREE


def _index_redirect(app, exception):
    """build/site/index.html opens the start page."""
    if exception is None and app.builder.format == "html":
        Path(app.outdir, "index.html").write_text(
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta http-equiv="refresh" content="0; url=notes/start.html">'
            '<link rel="icon" href="_static/favicon.svg">'    # else a browser asks for /favicon.ico: a 404
            '<title>MF for recommender systems</title></head>'
            '<body><p><a href="notes/start.html">Start here</a></p></body></html>\n', encoding="utf-8")


def setup(app):
    app.connect("source-read", _add_toctree)
    app.connect("build-finished", _index_redirect)
