#!/usr/bin/env python3
"""Normalise a notebook's editor metadata, so that opening a notebook never dirties git.

JupyterLab's autosave rewrites the notebook-level ``kernelspec`` (display name) and ``language_info``
(Python version, codemirror mode, ...) of every notebook it opens.  Those are facts about the
reader's machine, not about the course, so the repository stores one canonical form:

* ``kernelspec``    = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
* ``language_info`` = {"name": "python"}

and the JSON layout nbformat writes (indent 1, sorted keys, UTF-8, trailing newline).

Used two ways:

* as a git *clean* filter (``.gitattributes``: ``*.ipynb filter=nbmeta``; ``make`` runs
  ``git config filter.nbmeta.clean "python3 tools/nbmeta.py"``): reads a notebook on stdin and writes
  the normalised notebook on stdout, so ``git status`` and ``git diff`` ignore autosave rewrites;
* as a library (``normalise(text) -> text``) for the homework sync test.

Only the standard library is used: git runs the filter with whatever ``python3`` is on PATH.
Input that is not a notebook is passed through unchanged (a filter must never lose data).
"""

from __future__ import annotations

import json
import sys

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}


def normalise(text: str) -> str:
    """The canonical text of notebook JSON ``text``; ``text`` itself if it is not a notebook."""
    try:
        nb = json.loads(text)
    except ValueError:
        return text
    if not isinstance(nb, dict) or "cells" not in nb or not isinstance(nb.get("metadata"), dict):
        return text
    nb["metadata"]["kernelspec"] = dict(KERNELSPEC)
    nb["metadata"]["language_info"] = dict(LANGUAGE_INFO)
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    data = sys.stdin.buffer.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        sys.stdout.buffer.write(data)
        return
    sys.stdout.buffer.write(normalise(text).encode("utf-8"))


if __name__ == "__main__":
    main()
