"""The homework notebooks: assignments/ is generated from solutions/ and in sync; every solution passes its
own tests and every untouched student version fails all of them; the notebooks have the promised shape."""

from __future__ import annotations

import ast
import os
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


# ------------------------------------------------------------------------------- Run All in a student's own kernel
def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _execute(nb, folder: Path, monkeypatch):
    """Run every cell as JupyterLab's Run All does in a student's kernel: no nbgrader in the environment."""
    from nbclient import NotebookClient

    for var in ("NBGRADER_EXECUTION", "NBGRADER_VALIDATING", "MFCORE_JUDGE"):
        monkeypatch.delenv(var, raising=False)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=False,
                   resources={"metadata": {"path": str(folder)}}).execute()     # raises on the first error
    return nb


def _outputs(cell) -> str:
    return _strip_ansi("".join(o.get("text", "") for o in cell.get("outputs", [])))


def _solved(nb, sol, gid):
    """The notebook with exercise ``gid`` written as the solution does (markers removed)."""
    src = next(c.source for c in sol.cells if _nbg(c).get("grade_id") == gid)
    markers = ("### BEGIN SOLUTION", "### END SOLUTION")
    body = "\n".join(line for line in src.splitlines() if line.strip() not in markers)
    next(c for c in nb.cells if _nbg(c).get("grade_id") == gid).source = body


WRONG_RMSE = """def rmse(P, Q, data):
    e = data.ratings - np.sum(P[data.users] * Q[data.items], axis=1)
    return np.mean(e ** 2)
"""
BUGGY_GRADIENT = """def gradient(P, Q, data, lam):
    return P[data.n_users + 10], Q
"""


@pytest.mark.parametrize("hw", HOMEWORKS)
def test_run_all_of_an_untouched_homework_reaches_the_end(hw, tmp_path, monkeypatch):
    """No cell stops Run All: each test cell prints its exercise's status, the try-it cells say "not implemented
    yet", and the last cell lists every exercise."""
    nb = _execute(_read(layout.RELEASE, hw), tmp_path, monkeypatch)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code)
    noise = [(c.id, o.get("name") or o.output_type) for c in code for o in c.outputs
             if o.output_type == "error" or o.get("name") == "stderr"]
    assert not noise, noise
    names = checks.exercises(hw)
    for gid, calls in _test_calls(nb):
        text = _outputs(next(c for c in nb.cells if _nbg(c).get("grade_id") == gid))
        for call in calls:
            assert f"✗ {call['name']}: FAILED" in text and "is not implemented yet" in text, (gid, text)
    tried = [c for c in code if not _nbg(c) and ("try_it(" in c.source)]
    assert tried, f"{hw}: no cell tries a function out"
    for cell in tried:
        assert "is not implemented yet" in _outputs(cell), (cell.id, _outputs(cell))
    summary = _outputs(code[-1])
    assert summary.startswith(f"{hw}: 0 of {len(names)} exercises pass"), summary
    for name in names:
        assert re.search(rf"✗ {re.escape(name.split('.', 1)[1])}\s+not implemented yet", summary), (name, summary)


def _partly_done_hw1():
    """hw1 as a student leaves it midway: objective right, rmse without the square root, gradient crashing."""
    nb = _read(layout.RELEASE, "hw1")
    _solved(nb, _read(layout.SOURCE, "hw1"), "objective")
    next(c for c in nb.cells if _nbg(c).get("grade_id") == "rmse").source = WRONG_RMSE
    next(c for c in nb.cells if _nbg(c).get("grade_id") == "gradient").source = BUGGY_GRADIENT
    return nb


def test_run_all_shows_each_exercise_status_midway(tmp_path, monkeypatch):
    nb = _execute(_partly_done_hw1(), tmp_path, monkeypatch)
    said = {_nbg(c).get("grade_id") or c.id: _outputs(c) for c in nb.cells if c.cell_type == "code"}
    assert said["test_objective"].strip() == "hw1.objective: passed (2 problems)", said["test_objective"]
    assert "✗ hw1.rmse: FAILED" in said["test_rmse"]
    for word in ("expected:", "got:", "likely mistake: you forgot the square root"):
        assert word in said["test_rmse"], said["test_rmse"]
    assert "✗ hw1.gradient: FAILED" in said["test_gradient"] and "raised IndexError" in said["test_gradient"]
    # the try-it cell under gradient shows the student's traceback and Run All goes on
    demo = next(c for c in nb.cells
                if c.cell_type == "code" and "with try_it():" in c.source and "gradient(" in c.source)
    assert "✗ this cell raised IndexError" in _outputs(demo) and "IndexError" in _outputs(demo).split("\n", 2)[-1]
    summary = _outputs(nb.cells[-1])
    assert summary.startswith(f"hw1: 1 of {len(checks.exercises('hw1'))} exercises pass"), summary
    assert re.search(r"✓ objective\s+passed", summary) and re.search(r"✗ rmse\s+FAILED on problem 1", summary)
    assert re.search(r"✗ gradient\s+FAILED", summary) and re.search(r"✗ fit_gd\s+not implemented yet", summary)


def test_validate_still_fails_and_shows_the_teaching_messages(tmp_path, monkeypatch):
    """nbgrader's Validate (its Python API: `nbgrader validate` always exits 0) runs the same notebook with
    NBGRADER_EXECUTION=validate: every failing check fails its cell, with the message and no traceback frames."""
    from nbgrader.validator import Validator

    for var in ("NBGRADER_EXECUTION", "NBGRADER_VALIDATING", "MFCORE_JUDGE"):
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "hw1.ipynb"
    nbformat.write(_partly_done_hw1(), str(path))
    results = Validator().validate(str(path))
    failed = {r["source"].splitlines()[-1]: r["raw_error"] for r in results.get("failed", [])}
    tests = {c.source.splitlines()[-1] for c in _read(layout.RELEASE, "hw1").cells
             if _nbg(c).get("grade") and c.cell_type == "code"}
    assert set(failed) == tests - {'check("hw1.objective", objective)', 'check("hw1.objective", objective, edge=True)'}
    rmse = _strip_ansi(failed['check("hw1.rmse", rmse)'])
    assert rmse.startswith("CheckFailure: hw1.rmse: FAILED on problem 1 of 2"), rmse
    for word in ("expected:", "got:", "likely mistake: you forgot the square root"):
        assert word in rmse, rmse
    assert "raised IndexError" in failed['check("hw1.gradient", gradient)']
    assert "not implemented yet" in failed['check("hw1.fit_gd", fit_gd)']
    assert not any("Traceback" in e or "mfcore/checks" in e for e in failed.values())
    assert os.environ.get("NBGRADER_EXECUTION") is None                   # Validate put the environment back
