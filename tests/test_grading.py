"""The grading round trip, in a temporary copy of the course (never the real grading/ folder).

One batch of made-up submissions, every kind the pipeline must survive, spread over the three homeworks
and graded by one `python -m course.autograde` run (as `make autograde` does): solutions get full marks,
untouched releases 0, a partial submission its exact score; broken ones (syntax error, infinite loop,
exception, deleted or edited test cells) are graded, undecodable ones (invalid JSON, renamed notebook,
dead kernel) are reported by name; a student who rebinds `check` is flagged by the clean re-check.
The load test (`make test-slow`) grades a made-up class of 50 students.
"""

from __future__ import annotations

import csv
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from problems import ROOT

from course import layout, sandbox
from course.submissions import Expected, fake_class, submit

TIMEOUT = 8          # per-cell limit for the tests: the infinite loop costs 2 cells × 8 s (and again in the re-check)

KINDS = {
    "hw1": ["solved", "untouched", "partial", "syntax_error", "infinite_loop", "deleted_test", "invalid_json"],
    "hw2": ["solved", "untouched", "exception", "edited_tests", "monkeypatch", "renamed"],
    "hw3": ["solved", "untouched", "np_allclose", "dead_kernel"],
}

SNOOP = """
import glob, os
found = []
for pattern in ("{course}/solutions/*/*.ipynb", "{repo}/solutions/*/*.ipynb", "{course}/grading/submitted/*/*/*.ipynb"):
    found += glob.glob(pattern)
db = "{course}/grading/gradebook.db"
db_size = os.path.getsize(db) if os.path.exists(db) else 0
print("SNOOP", "LEAK" if found or db_size else "hidden", len(found), db_size)
"""


def copy_course(dest: Path) -> Path:
    """The course without its grading state: config, tooling, sources and releases."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    for folder in ("course", layout.SOURCE, layout.RELEASE):
        shutil.copytree(ROOT / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def run_autograde(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(course), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("JUPYTER_CONFIG_DIR", str(course / ".jupyter-config"))
    Path(env["JUPYTER_CONFIG_DIR"]).mkdir(parents=True, exist_ok=True)
    return subprocess.run([sys.executable, "-m", "course.autograde", "--timeout", str(TIMEOUT), *args],
                          cwd=course, env=env, capture_output=True, text=True, timeout=1800)


def read_rows(course: Path) -> dict[tuple[str, str], dict]:
    with open(course / layout.GRADES_CSV) as fh:
        return {(r["student"], r["assignment"]): r for r in csv.DictReader(fh)}


def cell_scores(course: Path, student: str, hw: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(course / layout.GRADEBOOK), "mfcore") as gb:
        nb = gb.find_submission_notebook(hw, hw, student)
        return {g.name: g.auto_score for g in nb.grades if g.cell.cell_type == "code"}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("course"))
    rng = random.Random(1)
    expected: dict[tuple[str, str], tuple[str, Expected]] = {}
    for hw, kinds in KINDS.items():
        for kind in kinds:
            expected[(kind, hw)] = (kind, submit(course, kind, hw, kind, rng))
    # a student who tries to read the solutions, the submissions and the gradebook while being graded
    exp = submit(course, "snoop", "hw1", "solved")
    path = course / layout.SUBMITTED / "snoop" / "hw1" / "hw1.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    first = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "objective")
    first.source = SNOOP.format(course=course, repo=ROOT) + "\n" + first.source
    nbformat.write(nb, str(path))
    expected[("snoop", "hw1")] = ("snoop", exp)
    start = time.monotonic()
    done = run_autograde(course)
    seconds = time.monotonic() - start
    print(f"\nround trip: {len(expected)} submissions graded in {seconds:.0f} s\n{done.stdout}")
    return course, expected, done, seconds


def test_exit_status_says_not_everything_was_graded(batch):
    course, expected, done, _ = batch
    assert done.returncode == 1, done.stdout + done.stderr
    assert "could not be graded" in done.stdout


def test_every_submission_has_exactly_one_row(batch):
    course, expected, _, _ = batch
    rows = read_rows(course)
    assert set(rows) == set(expected), "a submission is missing from grades.csv (or an extra row appeared)"
    with open(course / layout.GRADES_CSV) as fh:
        assert len(list(csv.DictReader(fh))) == len(expected)


def test_scores_and_statuses_are_exactly_as_expected(batch):
    course, expected, done, _ = batch
    rows = read_rows(course)
    problems = []
    for key, (kind, exp) in sorted(expected.items()):
        row = rows[key]
        if not exp.graded:
            if row["status"] != "could not be graded" or exp.reason_contains not in row["reason"]:
                problems.append(f"{key}: expected 'could not be graded' ({exp.reason_contains}), got {row}")
            continue
        if row["status"] != "graded":
            problems.append(f"{key}: expected graded, got {row['status']}: {row['reason']}")
        elif float(row["score"]) != exp.score:
            problems.append(f"{key}: expected score {exp.score:g}, got {row['score']} (failing: {exp.exercises_failing})")
        flagged = row["recheck"].startswith("DISAGREES")
        if flagged != exp.recheck_flag or not (flagged or row["recheck"] == "agrees"):
            problems.append(f"{key}: re-check should {'disagree' if exp.recheck_flag else 'agree'}: {row['recheck']}")
    assert not problems, "\n".join(problems) + "\n\n" + done.stdout


def test_solutions_get_every_point_and_untouched_releases_none(batch):
    course, _, _, _ = batch
    for hw in KINDS:
        solved, untouched = cell_scores(course, "solved", hw), cell_scores(course, "untouched", hw)
        assert solved and all(s is not None and s > 0 for s in solved.values()), (hw, solved)
        assert all(s == 0 for s in untouched.values()), (hw, untouched)
    rows = read_rows(course)
    assert rows[("solved", "hw3")]["manual_grading"].startswith("pending (3 points)")


def test_the_monkeypatching_student_is_flagged_cell_by_cell(batch):
    course, _, _, _ = batch
    row = read_rows(course)[("monkeypatch", "hw2")]
    assert row["score"] == row["max_score"] != "0" and row["recheck_score"] == "0"
    assert "test_als_item_step (in notebook 2, clean 0)" in row["recheck"]


def test_broken_submissions_keep_their_other_points(batch):
    course, expected, _, _ = batch
    loop = cell_scores(course, "infinite_loop", "hw1")
    failing = expected[("infinite_loop", "hw1")][1].exercises_failing
    assert [g for g, s in loop.items() if s == 0] == [f"{p}_{failing[0]}" for p in ("test", "hidden")]
    log = (course / layout.LOGS / "autograde-hw1.log").read_text()
    assert "Timeout waiting for execute reply" in log


def test_feedback_is_written_without_hidden_tests(batch):
    course, expected, _, _ = batch
    rows = read_rows(course)
    for key, (kind, exp) in expected.items():
        row = rows[key]
        if row["status"] != "graded":
            assert row["feedback"] == ""
            continue
        text = re.sub(r"<[^>]+>", "", (course / row["feedback"]).read_text())
        assert "BEGIN HIDDEN TESTS" not in text and not re.search(r"seed=[123]\d\d\b", text), (key, row["feedback"])
    untouched = (course / rows[("untouched", "hw1")]["feedback"]).read_text()
    assert "CheckFailure" in untouched and "not implemented yet" in untouched        # the teaching message stays


def test_the_grading_kernel_cannot_read_solutions_submissions_or_gradebook(batch):
    ok, why = sandbox.available()
    if not ok:
        pytest.skip(f"no kernel sandbox on this machine: {why}")
    course, _, _, _ = batch
    nb = nbformat.read(str(course / layout.AUTOGRADED / "snoop" / "hw1" / "hw1.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "SNOOP hidden 0 0" in text, text[:2000]
    assert read_rows(course)[("snoop", "hw1")]["score"] == "23"


def test_the_real_grading_folder_is_untouched(batch):
    course, _, _, _ = batch
    assert course != ROOT and not str(course).startswith(str(ROOT / layout.GRADING))


@pytest.mark.slow
def test_load_a_class_of_50(tmp_path):
    """50 students × 3 homeworks of mixed submissions, graded in one batch; every row as expected."""
    course = copy_course(tmp_path / "course")
    expected = fake_class(course, 50, seed=2024)
    start = time.monotonic()
    done = run_autograde(course, "--jobs", "2")
    seconds = time.monotonic() - start
    rows = read_rows(course)
    assert set(rows) == set(expected), "submissions lost"
    wrong = []
    for key, (kind, exp) in expected.items():
        row = rows[key]
        ok = (row["status"] == "graded" and float(row["score"]) == exp.score
              and row["recheck"].startswith("DISAGREES") == exp.recheck_flag) if exp.graded else \
            (row["status"] == "could not be graded" and exp.reason_contains in row["reason"])
        if not ok:
            wrong.append(f"{key} {kind}: {row}")
    print(f"\nload test: {len(expected)} notebooks ({len(rows)} rows) graded in {seconds:.0f} s; "
          f"{len(wrong)} unexpected rows\n{done.stdout[-3000:]}")
    assert not wrong, "\n".join(wrong)
