"""The homework notebooks: assignments/ is generated from solutions/ and in sync; every solution passes its
own tests and every untouched student version fails all of them; the notebooks have the promised shape."""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path

import nbformat
import pytest
from problems import ROOT

from course import layout
from course.judge import parse_calls
from course.release import release
from mfcore import checks
from tools import nbmeta

HOMEWORKS = layout.homeworks(ROOT)


def _nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _read(folder: str, hw: str):
    return nbformat.read(str(ROOT / folder / hw / f"{hw}.ipynb"), as_version=4)


def test_there_are_four_homeworks():
    assert HOMEWORKS == ["hw1", "hw2", "hw3", "hw4"]


def _release_files(folder):
    """The files of a released homework folder, without editor state (.ipynb_checkpoints/ of JupyterLab)."""
    return sorted(p.relative_to(folder) for p in folder.rglob("*")
                  if p.is_file() and ".ipynb_checkpoints" not in p.relative_to(folder).parts)


def _same_release_file(a, b) -> bool:
    """Byte-identical, or for notebooks identical after normalising the editor metadata (tools/nbmeta.py)."""
    if a.read_bytes() == b.read_bytes():
        return True
    return a.suffix == ".ipynb" and nbmeta.normalise(a.read_text("utf-8")) == nbmeta.normalise(b.read_text("utf-8"))


def test_assignments_are_generated_from_solutions_and_in_sync(tmp_path):
    release(ROOT, out=tmp_path)
    for hw in HOMEWORKS:
        fresh = _release_files(tmp_path / hw)
        committed = _release_files(ROOT / layout.RELEASE / hw)
        assert fresh == committed, f"assignments/{hw} has other files than a fresh release: run `make release`"
        for rel in fresh:
            assert _same_release_file(tmp_path / hw / rel, ROOT / layout.RELEASE / hw / rel), (
                f"assignments/{hw}/{rel} differs from what `make release` generates from solutions/{hw}: "
                "never edit assignments/ by hand; run `make release` and commit the result")


def test_sync_check_ignores_editor_state(tmp_path):
    """Opening a homework in JupyterLab writes .ipynb_checkpoints/ and rewrites kernelspec/language_info:
    neither is a difference between solutions/ and assignments/."""
    src = ROOT / layout.RELEASE / "hw1" / "hw1.ipynb"
    folder = tmp_path / "hw1"
    (folder / ".ipynb_checkpoints").mkdir(parents=True)
    (folder / ".ipynb_checkpoints" / "hw1-checkpoint.ipynb").write_bytes(src.read_bytes())
    nb = json.loads(src.read_text("utf-8"))
    nb["metadata"]["kernelspec"]["display_name"] = "Python 3"
    nb["metadata"]["language_info"] = {"name": "python", "version": "3.11.7", "mimetype": "text/x-python",
                                       "codemirror_mode": {"name": "ipython", "version": 3}}
    (folder / "hw1.ipynb").write_text(json.dumps(nb, indent=1), "utf-8")
    assert _release_files(folder) == [Path("hw1.ipynb")]
    assert _same_release_file(folder / "hw1.ipynb", src)
    # ... while a real change (one character of a cell) still counts
    nb["cells"][0]["source"] = "".join(nb["cells"][0]["source"]) + " "
    (folder / "hw1.ipynb").write_text(json.dumps(nb, indent=1), "utf-8")
    assert not _same_release_file(folder / "hw1.ipynb", src)


def _run_cells(nb) -> dict:
    """Execute the setup and solution cells of a notebook (not tests, not demos) in a fresh namespace."""
    ns: dict = {"__name__": "__main__"}
    for cell in nb.cells:
        m = _nbg(cell)
        if cell.cell_type == "code" and m and not (m.get("grade") and not m.get("solution")):
            exec(compile(cell.source, f"<{m.get('grade_id')}>", "exec"), ns)
    return ns


def _test_calls(nb):
    for cell in nb.cells:
        m = _nbg(cell)
        if cell.cell_type == "code" and m.get("grade") and not m.get("solution"):
            calls = parse_calls(cell.source)
            assert calls, f"test cell {m['grade_id']} must consist of check(...) calls (the grader tokenises them)"
            yield m["grade_id"], calls


@pytest.mark.parametrize("hw", HOMEWORKS)
def test_each_solution_passes_its_own_tests(hw):
    nb = _read(layout.SOURCE, hw)
    ns = _run_cells(nb)
    for gid, calls in _test_calls(nb):
        for c in calls:
            res = checks.run_check(c["name"], ns[c["func"]], seed=c["seed"], edge=c["edge"])
            assert res.passed, f"solutions/{hw}: test cell {gid} fails:\n{res.message}"


@pytest.mark.parametrize("hw", HOMEWORKS)
def test_an_untouched_student_version_fails_every_test(hw):
    nb = _read(layout.RELEASE, hw)
    ns = _run_cells(nb)
    for gid, calls in _test_calls(nb):
        passed = [c for c in calls if checks.run_check(c["name"], ns[c["func"]], seed=c["seed"], edge=c["edge"]).passed]
        assert not passed, f"assignments/{hw}: test cell {gid} passes on the untouched stub: {passed}"


@pytest.mark.parametrize("hw", HOMEWORKS)
def test_notebook_shape(hw):
    src, rel = _read(layout.SOURCE, hw), _read(layout.RELEASE, hw)
    intro = src.cells[0].source
    for word in ("Goals", "Self-check", "Submit", "60 seconds"):
        assert word in intro, f"solutions/{hw}: the opening cell must explain {word!r}"
    assert all(c.get("id") for c in src.cells), "every cell needs an id (reproducible releases)"
    ids = [_nbg(c)["grade_id"] for c in src.cells if _nbg(c)]
    assert len(ids) == len(set(ids)), f"duplicate grade_id in solutions/{hw}"
    assert all(_nbg(c)["schema_version"] == 3 for c in src.cells if _nbg(c))

    solutions = {_nbg(c)["grade_id"]: c.source for c in src.cells if _nbg(c).get("solution") and c.cell_type == "code"}
    exercises = {name.split(".", 1)[1] for name in checks.exercises(hw)}
    assert set(solutions) == exercises, f"solutions/{hw}: one solution cell per exercise of mfcore.checks"
    tests = {_nbg(c)["grade_id"]: c for c in src.cells if _nbg(c).get("grade") and c.cell_type == "code"}
    for ex, code in solutions.items():
        assert "### BEGIN SOLUTION" in code and "### END SOLUTION" in code
        assert f"test_{ex}" in tests and f"hidden_{ex}" in tests, f"{hw}.{ex} needs a visible and a hidden test cell"
        hidden = tests[f"hidden_{ex}"].source
        assert "### BEGIN HIDDEN TESTS" in hidden and "### END HIDDEN TESTS" in hidden
        assert all(_nbg(tests[t]).get("points", 0) > 0 for t in (f"test_{ex}", f"hidden_{ex}"))
        # the student's function has the reference signature
        fn = next(n for n in ast.parse(code).body if isinstance(n, ast.FunctionDef))
        params = [a.arg for a in fn.args.args]
        want = checks.EXERCISES[f"{hw}.{ex}"].signature
        assert f"{fn.name}({', '.join(params)}" in re.sub(r"=[^,)]*", "", want), (fn.name, params, want)
        assert list(inspect.signature(checks.reference(f"{hw}.{ex}")).parameters)[:len(params)] == params
    total = sum(float(_nbg(c).get("points", 0)) for c in src.cells if _nbg(c).get("grade"))
    stated = intro.split("**Rules of the grader.** ", 1)[1]
    assert stated.startswith(f"{total:g} "), f"solutions/{hw}: the intro must state the total, {total:g} points"

    text = nbformat.writes(rel)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert not any(re.search(r"seed=\d", c.source) for c in rel.cells if _nbg(c).get("grade")), "hidden seeds leaked"
    stubs = [c.source for c in rel.cells if _nbg(c).get("solution") and c.cell_type == "code"]
    assert all("raise NotImplementedError()" in s for s in stubs)
