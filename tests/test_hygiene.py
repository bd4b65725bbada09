"""Working in the repository never breaks the suite or dirties git (opening notebooks in JupyterLab)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from problems import ROOT

from tools import nbmeta

NOTEBOOKS = sorted(p for folder in ("lectures", "solutions", "assignments") for p in (ROOT / folder).rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)


def _jupyterlab_autosave(text: str) -> str:
    """What JupyterLab 4 writes back for a notebook it merely opened: its own kernelspec and language_info."""
    nb = json.loads(text)
    nb["metadata"]["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb["metadata"]["language_info"] = {
        "codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
        "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3", "version": "3.11.7"}
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 14, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_notebooks_are_in_canonical_form(path):
    text = path.read_text("utf-8")
    assert nbmeta.normalise(text) == text, (
        f"{path.relative_to(ROOT)} is not in the canonical form: run `python3 tools/nbmeta.py < f > tmp && mv tmp f` "
        "(or `make setup` once, then git normalises notebooks on commit)")
    assert nbmeta.normalise(_jupyterlab_autosave(text)) == text


def test_filter_is_declared_and_registered_by_make():
    attributes = (ROOT / ".gitattributes").read_text()
    assert any(line.split()[:2] == ["*.ipynb", "filter=nbmeta"] for line in attributes.splitlines())
    assert 'git config filter.nbmeta.clean "python3 tools/nbmeta.py"' in (ROOT / "Makefile").read_text()
    assert "\n.ipynb_checkpoints/" in "\n" + (ROOT / ".gitignore").read_text()


def test_non_notebook_input_passes_through():
    for text in ("", "not json", "[1, 2]", '{"a": 1}'):
        assert nbmeta.normalise(text) == text


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_opening_a_notebook_in_jupyterlab_leaves_git_clean(tmp_path):
    """A scratch repository with the project's .gitattributes and filter: after an autosave rewrite and a
    checkpoint file, `git diff` is empty and `git add -A` stages nothing; a real edit is a change.

    (git's quick stat check may still list the rewritten file in `git status` until the next `git add`, which
    finds nothing to stage: the same as with nbstripout.)"""
    def git(*args):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path,
                              check=True, capture_output=True, text=True).stdout

    git("init", "-q")
    shutil.copy(ROOT / ".gitattributes", tmp_path / ".gitattributes")
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "nbmeta.py", tmp_path / "tools" / "nbmeta.py")
    git("config", "filter.nbmeta.clean", f"{sys.executable} tools/nbmeta.py")
    git("config", "filter.nbmeta.smudge", "cat")
    nb = tmp_path / "hw1.ipynb"
    original = (ROOT / "assignments" / "hw1" / "hw1.ipynb").read_text("utf-8")
    nb.write_text(original, "utf-8")
    git("add", "-A")
    git("commit", "-qm", "start")
    nb.write_text(_jupyterlab_autosave(original), "utf-8")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "hw1-checkpoint.ipynb").write_text(original, "utf-8")
    assert git("diff") == "", "an autosave rewrite shows up in git diff"
    git("add", "-A")
    assert git("status", "--porcelain") == "", "an autosave rewrite or a checkpoint would be committed"
    edited = json.loads(original)
    edited["cells"][0]["source"] = "".join(edited["cells"][0]["source"]) + "\nmy note"
    nb.write_text(json.dumps(edited, indent=1), "utf-8")
    assert "my note" in git("diff")
    git("add", "-A")
    assert git("status", "--porcelain").strip() == "M  hw1.ipynb"


def test_set_up_compiled_every_numba_kernel_so_no_student_waits_for_the_compiler():
    """`make kernels` (run by make demo/test) fills numba's on-disk cache next to mfcore/_kernels.py."""
    if "NUMBA_CACHE_DIR" in __import__("os").environ:
        pytest.skip("NUMBA_CACHE_DIR points numba's cache elsewhere")
    if not (ROOT / ".venv" / ".kernels-stamp").exists():
        pytest.skip("set-up has not run here (`make kernels` compiles the kernels)")
    from mfcore import _kernels

    cached = {p.name.split(".")[1].split("-")[0] for p in (ROOT / "mfcore" / "__pycache__").glob("_kernels.*.nbi")}
    missing = sorted(k.__name__ for k in _kernels.KERNELS if k.__name__ not in cached)
    assert not missing, f"no compiled cache for {missing}: run `make kernels` (numba compile at set-up)"
