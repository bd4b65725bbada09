"""The pieces of trusted grading, one at a time (fast): the wire format, the judge, the blocked mfcore copy,
the staging of tampered notebooks, and the sandbox itself.  tests/test_grading.py runs them together."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import nbformat
import numpy as np
import pytest
from problems import ROOT

import mfcore
from course import redact, sandbox
from course.judge import Judge, parse_calls
from course.stage import stage_notebook
from mfcore import checks
from mfcore.checks import wire
from mfcore.errors import ReferenceBlocked


# ----------------------------------------------------------------------------------------------- wire format
def test_wire_round_trips_every_type_the_checks_send():
    data = mfcore.synthetic_ratings(n_users=20, n_items=15, n_ratings=120, rank=2, seed=3)
    rng = np.random.default_rng(5)
    import pandas as pd

    value = {"P": np.arange(6.0).reshape(2, 3), "scalar": np.array(2.5), "title": np.array("valid RMSE"),
             "data": data, "view": data.by_item, "rng": rng, "nested": [1, (2.0, None), {"x": float("inf")}],
             "table": pd.DataFrame({"K": [1, 2], "lam": [1e-3, 1e-2]}), "flag": True, "count": np.int64(3)}
    back = wire.loads(wire.dumps(value))
    assert back["P"].tolist() == value["P"].tolist() and back["scalar"].shape == ()
    assert str(back["title"]) == "valid RMSE"
    assert isinstance(back["data"], mfcore.Ratings) and np.array_equal(back["data"].ratings, data.ratings)
    assert back["data"].truth is not None and np.array_equal(back["data"].truth.P, data.truth.P)
    assert np.array_equal(back["view"].indptr, data.by_item.indptr)
    assert back["rng"].random() == np.random.default_rng(5).random(), "the generator's state must travel"
    assert back["nested"] == [1, (2.0, None), {"x": float("inf")}] and back["flag"] is True and back["count"] == 3
    assert back["table"].equals(value["table"])


@pytest.mark.parametrize("bad", [b"", b"not a message", wire.MAGIC + b"\xff" * 8, wire.dumps([1])[:-1] + b"",
                                 wire.MAGIC + (10).to_bytes(8, "little") + b'{"tree": {"t": "array", "i": 0}, '
                                                                          b'"arrays": [{"dtype": "|O", "shape": [1], '
                                                                          b'"offset": 0, "nbytes": 8}]}'])
def test_wire_rejects_malformed_or_unsafe_messages(bad):
    with pytest.raises(wire.WireError):
        wire.loads(bad)


def test_wire_never_sends_python_objects_or_too_much():
    with pytest.raises(wire.WireError, match="cannot be sent"):
        wire.dumps({"f": lambda: 1})
    with pytest.raises(wire.WireError, match="dtype object"):
        wire.dumps(np.array([object()]))
    with pytest.raises(wire.WireError, match="limit"):
        wire.loads(wire.dumps(np.zeros(1000)), max_bytes=100)


# ----------------------------------------------------------------------------------------------- the judge
HIDDEN_CELL = '''# Edge cases (1 point, with the hidden tests)
check("hw1.rmse", rmse, edge=True)
### BEGIN HIDDEN TESTS
check("hw1.rmse", rmse, seed=123)
### END HIDDEN TESTS
'''


def _rmse(P, Q, data):
    return np.sqrt(np.mean((data.ratings - np.sum(P[data.users] * Q[data.items], axis=1)) ** 2))


def _ask(judge, token, func):
    cases = judge.handle({"op": "cases", "token": token})["cases"]
    obs = checks.observe("hw1.rmse", func, [checks._core.Case(c["label"], c["args"]) for c in cases])
    return judge.handle({"op": "verdict", "token": token, "obs": wire.loads(wire.dumps(obs))})


def test_the_kernel_never_sees_hidden_code_or_seeds():
    judge = Judge("hw1")
    sent = judge.tokenise("hidden_rmse", HIDDEN_CELL)
    assert sent.count("token=") == 2
    # The tokens are random hex and may contain "123" by chance: look at the code around them.
    code = re.sub(r"token=(['\"])[0-9a-f]+\1", "token=T", sent)
    assert code.count("token=T") == 2, sent
    for leaked in ("123", "HIDDEN", "seed", "edge"):
        assert leaked not in code, f"{leaked!r} of the hidden cell reached the student's kernel: {code!r}"
    tokens = judge.cell_calls("hidden_rmse")
    labels = [c["label"] for c in judge.handle({"op": "cases", "token": tokens[1]})["cases"]]
    assert labels == ["a hidden problem"], labels


def test_the_first_verdict_counts_and_hidden_failures_show_no_data():
    judge = Judge("hw1")
    judge.tokenise("hidden_rmse", HIDDEN_CELL)
    visible, hidden = judge.cell_calls("hidden_rmse")
    wrong = lambda P, Q, data: _rmse(P, Q, data) ** 2                     # noqa: E731
    answer = _ask(judge, hidden, wrong)
    assert not answer["passed"] and "hidden problem" in answer["message"] and "expected" not in answer["message"]
    assert not _ask(judge, hidden, _rmse)["passed"], "a second, right answer must not replace the first verdict"
    assert _ask(judge, visible, _rmse)["passed"]
    assert judge.cell_result("hidden_rmse") == (False, judge.verdicts[hidden].message.splitlines()[0])


def test_the_judge_refuses_what_is_not_a_graded_call():
    judge = Judge("hw1")
    judge.tokenise("test_rmse", 'check("hw1.rmse", rmse)\ncheck("hw2.als_item_step", rmse)\n')
    assert len(judge.calls) == 1, "only this homework's checks are tokenised"
    assert not judge.handle({"op": "cases", "token": "guess"})["ok"]
    judge.handle({"op": "blocked", "name": "os.system"})                   # never resolved, never recorded
    judge.handle({"op": "blocked", "name": "mfcore.objectives.rmse"})
    assert judge.blocked_calls == ["mfcore.objectives.rmse"] and judge.calls_reference == ["mfcore.rmse"]


def test_the_judge_answers_every_request_of_a_busy_kernel(tmp_path, monkeypatch):
    """More requests at once than the judge serves: each waits for a slot and gets its answer (a dropped one would
    cost the student the check: 'could not reach the grader'); one retried request gets the same answer."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from course import judge as judge_module
    from mfcore.checks import client

    judge = Judge("hw1")
    judge.tokenise("hidden_rmse", HIDDEN_CELL)
    token = judge.cell_calls("hidden_rmse")[0]
    busy = threading.Semaphore(0)
    slow_handle = judge.handle

    def handle(request):                          # every answer takes a while: the four slots fill up
        busy.acquire(timeout=0.05)
        return slow_handle(request)

    monkeypatch.setattr(judge, "handle", handle)
    path = str(tmp_path / "judge.sock")
    judge.serve(path)
    try:
        n = 4 * judge_module.MAX_CONNECTIONS
        with ThreadPoolExecutor(n) as pool:
            answers = list(pool.map(lambda _: client.request(path, {"op": "cases", "token": token}), range(n)))
    finally:
        judge.close()
    assert all(a.get("ok") for a in answers), [a for a in answers if not a.get("ok")][:2]
    assert len({str(a["cases"]) for a in answers}) == 1, "the same token must always get the same problems"


def test_parse_calls_reads_only_check_statements():
    assert parse_calls(HIDDEN_CELL) == [{"name": "hw1.rmse", "func": "rmse", "seed": None, "edge": True},
                                        {"name": "hw1.rmse", "func": "rmse", "seed": 123, "edge": False}]
    assert parse_calls("check('hw1.rmse', rmse)\nprint(1)") is None


# ----------------------------------------------------------------------------------------------- blocked mfcore
def test_the_blocked_copy_raises_keeps_lines_and_hides_the_source(tmp_path):
    key = checks.answer_key("hw2")
    pkg = redact.redacted_copy(key, tmp_path)
    kernels = (pkg / "_kernels.py").read_text()
    original = (redact.package_dir() / "_kernels.py").read_text()
    assert len(kernels.splitlines()) == len(original.splitlines()), "line numbers must stay"
    assert "np.linalg.lstsq" in original and "np.linalg.lstsq" not in kernels, "the reference's code must be gone"
    assert not list(pkg.rglob("__pycache__")) and not list(pkg.rglob("*.nbi"))
    code = ("import mfcore, numpy as np\n"
            "from mfcore.errors import ReferenceBlocked\n"
            "d = mfcore.synthetic_ratings(n_users=20, n_items=15, n_ratings=100, rank=2, seed=0)\n"
            "P, Q, _ = mfcore.init_factors(d, 2, 0, 0.1)\n"
            "print('objective', round(mfcore.objective(P, Q, d, 0.1), 6))\n"
            "try:\n    mfcore.als_item_step(P, d, 0.1)\nexcept ReferenceBlocked as e:\n    print('blocked:', e.name)\n"
            "import importlib, mfcore.als\nimportlib.reload(mfcore.als)\n"
            "try:\n    mfcore.als.ridge_solve_rows(None, None, None, None, None, None, None)\n"
            "except ReferenceBlocked as e:\n    print('blocked:', e.name)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(pkg.parent), "MFCORE_QUIET": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    want = round(mfcore.objective(*mfcore.init_factors(mfcore.synthetic_ratings(
        n_users=20, n_items=15, n_ratings=100, rank=2, seed=0), 2, 0, 0.1)[:2],
        mfcore.synthetic_ratings(n_users=20, n_items=15, n_ratings=100, rank=2, seed=0), 0.1), 6)
    assert f"objective {want}" in done.stdout, "the rest of mfcore must work as usual"
    assert "blocked: mfcore.als.als_item_step" in done.stdout
    assert "blocked: mfcore._kernels.ridge_solve_rows" in done.stdout


def test_the_blocked_copy_is_reused_while_mfcore_is_unchanged(tmp_path):
    key = checks.answer_key("hw3")
    first = redact.redacted_copy(key, tmp_path)
    (first.parent / "marker").write_text("")
    assert redact.redacted_copy(key, tmp_path) == first and (first.parent / "marker").exists()
    assert redact.redacted_copy(checks.answer_key("hw1"), tmp_path) != first


# ----------------------------------------------------------------------------------------------- staging
def _release(hw="hw2"):
    return ROOT / "assignments" / hw / f"{hw}.ipynb"


def _cells(nb, gid):
    return [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == gid]


def test_staging_restores_tampered_metadata_and_says_what_changed(tmp_path):
    nb = nbformat.read(str(_release()), as_version=4)
    _cells(nb, "test_als_item_step")[0].metadata["nbgrader"]["grade"] = False
    _cells(nb, "hidden_als_user_step")[0].metadata["nbgrader"]["points"] = 99
    copy = nbformat.from_dict(json.loads(json.dumps(_cells(nb, "test_fit_als")[0])))
    copy["id"] = "a-copied-test-cell"
    nb.cells.append(copy)
    victim = _cells(nb, "test_block_gd_step")[0]
    nb.cells[nb.cells.index(victim)] = nbformat.v4.new_markdown_cell(victim.source, metadata=victim.metadata)
    nb.cells.remove(_cells(nb, "hidden_als_iteration")[0])
    _cells(nb, "test_als_iteration")[0].source = "print('passed')"
    path, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, str(path))
    notes = stage_notebook(path, _release(), out)
    staged = nbformat.read(str(out), as_version=4)
    release = nbformat.read(str(_release()), as_version=4)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in staged.cells if "nbgrader" in c.metadata]
    assert ids == [c.metadata["nbgrader"]["grade_id"] for c in release.cells if "nbgrader" in c.metadata]
    for gid in ids:
        got, want = _cells(staged, gid)[0], _cells(release, gid)[0]
        assert got.metadata["nbgrader"] == want.metadata["nbgrader"] and got.cell_type == want.cell_type
        if want.metadata["nbgrader"].get("locked"):
            assert got.source == want.source
    text = "; ".join(notes)
    for word in ("test_als_item_step changed", "hidden_als_user_step changed", "a copy of cell test_fit_als",
                 "test_block_gd_step changed from code to markdown", "hidden_als_iteration was deleted",
                 "locked cell test_als_iteration edited"):
        assert word in text, (word, notes)


def test_staging_keeps_the_students_answers(tmp_path):
    nb = nbformat.read(str(_release()), as_version=4)
    _cells(nb, "als_item_step")[0].source = "def als_item_step(P, data, lam):\n    return 42\n"
    path, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, str(path))
    assert stage_notebook(path, _release(), out) == []
    assert "return 42" in _cells(nbformat.read(str(out), as_version=4), "als_item_step")[0].source


# ----------------------------------------------------------------------------------------------- the sandbox
PROBE = r"""
import os, socket, resource
print("uid", os.getuid())
print("visible", sorted(os.listdir(os.path.dirname(os.path.dirname(__import__('mfcore').__file__)))))
for path in ("/root", "/work/shared", os.path.expanduser("~/.ssh"), "/home"):
    print("lists", path, sorted(os.listdir(path)) if os.path.isdir(path) else None)
try:
    open(__import__('mfcore').__file__, "a")
except OSError as e:
    print("write refused", isinstance(e, OSError))
try:
    socket.create_connection(("1.1.1.1", 80), timeout=2)
except OSError as e:
    print("network", type(e).__name__)
try:
    bytearray(3 << 30)
except MemoryError:
    print("memory", "MemoryError")
print("nproc", resource.getrlimit(resource.RLIMIT_NPROC)[0])
"""


def test_the_sandbox_is_read_only_offline_limited_and_sees_only_python():
    ok, why = sandbox.available()
    if not ok:
        pytest.skip(f"no sandbox on this machine: {why}")
    pkg = str(redact.package_dir())
    done = subprocess.run(sandbox.command([sys.executable, "-c", PROBE], key="probe/test", readonly=[(pkg, pkg)]),
                          capture_output=True, text=True, env={}, timeout=120)
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert "uid 0" not in out, "the sandbox must not run as root"
    visible = out.split("visible ", 1)[1].splitlines()[0]
    assert "solutions" not in visible and "grading" not in visible and ".git" not in visible, visible
    assert "write refused True" in out and "network OSError" in out and "memory MemoryError" in out, out
    for line in out.splitlines():                   # only the Python installation may show through
        if line.startswith("lists "):
            assert line.split(" ", 2)[2] in ("None", "[]", "['.pyenv']"), line
    assert f"nproc {sandbox.Limits.processes}" in out


def test_reference_blocked_names_the_exercise():
    err = ReferenceBlocked("mfcore.als.als_item_step", "hw2.als_item_step")
    assert "while hw2 is graded" in str(err) and "hw2.als_item_step" in str(err)



# ----------------------------------------------------------------------------------------------- every folder
def test_every_student_folder_is_graded_or_reported_with_a_reason(tmp_path):
    from course.autograde import find_submissions

    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    sub = tmp_path / "grading" / "submitted"
    (sub / "alice" / "hw1").mkdir(parents=True)
    (sub / "bob").mkdir()
    (sub / "carol").mkdir()
    (sub / "carol" / "hw1.ipynb").write_text("{}")
    (sub / ".dave" / "hw2").mkdir(parents=True)
    (sub / "erin" / "homework1").mkdir(parents=True)
    (sub / ".DS_Store").write_text("")
    found, bad = find_submissions(tmp_path, None)
    reasons = {student: reason for student, _, reason in bad}
    assert found == {"hw1": ["alice"]}
    assert set(reasons) == {"bob", "carol", ".dave", "erin"}, reasons
    assert "no homework folder" in reasons["bob"] and "directly in" in reasons["carol"]
    assert "starts with '.'" in reasons[".dave"] and "no homework is called 'homework1'" in reasons["erin"]
