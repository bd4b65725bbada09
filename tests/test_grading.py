"""The grading round trip, in a temporary copy of the course (never the real grading/ folder).

One batch of made-up submissions, graded by one `python -m course.autograde` run (as `make autograde` does):
honest ones (solved, untouched, partial, broken) and one of every attack a student could try (course/submissions.py
ATTACKS, plus reading classmates' work and a folder nbgrader cannot read).  The attackers are graded before the
controls (nbgrader goes in alphabetical order: "a_..." before "z_..."), and the test asserts every row's exact
trusted score, in-notebook score and flags, that the repository is unchanged, that the controls are untouched by
the attackers, and that no hidden test reaches any feedback file or stored output.
The load test (`make test-slow`) grades a made-up class of 50 students.
"""

from __future__ import annotations

import csv
import html
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
from course.submissions import ATTACKS, Expected, fake_class, submit

TIMEOUT = 8          # per-cell limit for the tests: a hanging cell costs 8 s (plus 5 s of grace if it ignores SIGINT)

KINDS = {
    "hw1": ["solved", "untouched", "partial", "syntax_error", "infinite_loop", "deleted_test", "invalid_json",
            "calls_reference", "prints_hidden", "tampered_metadata", "memory_hog"],
    "hw2": ["solved", "untouched", "exception", "renamed", "stderr_noise", "edited_tests", "monkeypatch",
            "patch_checks", "overwrite_grader", "ignores_sigint", "calls_reference"],
    "hw3": ["solved", "untouched", "np_allclose", "dead_kernel", "segfault", "huge_output", "calls_reference"],
    "hw4": ["solved", "partial", "calls_reference"],
}

SNOOP = """
import glob, os
found, wrote = [], 0
for pattern in ("{course}/solutions/*/*.ipynb", "{repo}/solutions/*/*.ipynb", "{course}/grading/*/*/*/*.ipynb",
                "{course}/grading/*/*/*.ipynb", "{course}/grading/logs/*", "{repo}/.git/HEAD"):
    found += glob.glob(pattern)
for path in found:
    try:
        with open(path, "a") as fh:
            fh.write("There was an error processing assignment 'hw1' for student 'z_control'")
        wrote += 1
    except OSError:
        pass
db = "{course}/grading/gradebook.db"
db_size = os.path.getsize(db) if os.path.exists(db) else 0
print("SNOOP", "LEAK" if found or db_size else "hidden", len(found), db_size, wrote)
"""


def student_of(kind: str) -> str:
    return ("a_" if kind in ATTACKS else "m_") + kind


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


def flag_kinds(flags: str) -> set[str]:
    """The kinds of the flags in a grades.csv cell ("kernel restarted at cell x; output capped" -> 2 kinds)."""
    parts, depth, cur = [], 0, ""
    for ch in flags:
        depth += ch == "("
        depth -= ch == ")"
        if ch == ";" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return {re.split(r" \(| at cell ", p.strip(), maxsplit=1)[0] for p in parts if p.strip()}


def cell_scores(course: Path, student: str, hw: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(course / layout.GRADEBOOK), "mfcore") as gb:
        nb = gb.find_submission_notebook(hw, hw, student)
        return {g.name: g.auto_score for g in nb.grades if g.cell.cell_type == "code"}


def fingerprint(root: Path) -> dict:
    """What an attack on the installation would change: git's view, and every file of mfcore, course and the venv's
    site-packages top level (path -> size, mtime)."""
    status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True).stdout
    files = {}
    site = Path(sysconfig_purelib())
    for base in (root / "mfcore", root / "course", root / "nbgrader_config.py", site):
        paths = [base] if base.is_file() else [p for p in base.rglob("*") if p.is_file() and "__pycache__" not in
                                               p.parts and (base != site or p.parent == site)]
        for p in paths:
            st = p.stat()
            files[str(p)] = (st.st_size, st.st_mtime_ns)
    return {"git": status, "files": files}


def sysconfig_purelib() -> str:
    import sysconfig
    return sysconfig.get_paths()["purelib"]


def hidden_texts(course: Path, hw: str) -> list[str]:
    """The hidden tests of a homework: each line between the markers, as written in solutions/."""
    nb = nbformat.read(str(course / layout.SOURCE / hw / f"{hw}.ipynb"), as_version=4)
    lines = []
    for c in nb.cells:
        if "BEGIN HIDDEN TESTS" in c.source:
            block = c.source.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS", 1)[0]
            lines += [x.strip() for x in block.splitlines() if x.strip()]
    return lines


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    ok, why = sandbox.available()
    if not ok:
        pytest.skip(f"no sandbox for student code on this machine ({why}); `make grading-setup` installs bubblewrap")
    course = copy_course(tmp_path_factory.mktemp("course"))
    rng = random.Random(1)
    expected: dict[tuple[str, str], tuple[str, Expected]] = {}
    for hw, kinds in KINDS.items():
        for kind in kinds:
            expected[(student_of(kind), hw)] = (kind, submit(course, student_of(kind), hw, kind, rng))
        expected[("z_control", hw)] = ("solved", submit(course, "z_control", hw, "solved", rng))
    # a student who reads and writes the solutions, classmates' work, the gradebook and the logs while graded
    exp = submit(course, "b_snoop", "hw1", "solved")
    path = course / layout.SUBMITTED / "b_snoop" / "hw1" / "hw1.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    first = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "objective")
    first.source = SNOOP.format(course=course, repo=ROOT) + "\n" + first.source
    nbformat.write(nb, str(path))
    expected[("b_snoop", "hw1")] = ("snoop", exp)
    # a folder nbgrader cannot read
    expected[(".sneaky", "hw2")] = ("dot folder", submit(course, ".sneaky", "hw2", "solved"))
    expected[(".sneaky", "hw2")][1].graded = False
    expected[(".sneaky", "hw2")][1].reason_contains = "starts with '.'"
    before = fingerprint(ROOT)
    start = time.monotonic()
    done = run_autograde(course)
    seconds = time.monotonic() - start
    after = fingerprint(ROOT)
    print(f"\nround trip: {len(expected)} submissions graded in {seconds:.0f} s\n{done.stdout}")
    return course, expected, done, (before, after)


def test_exit_status_says_not_everything_was_graded(batch):
    course, expected, done, _ = batch
    assert done.returncode == 1, done.stdout + done.stderr
    assert "could not be graded" in done.stdout and "isolation: bubblewrap sandbox" in done.stdout


def test_every_submission_has_exactly_one_row(batch):
    course, expected, _, _ = batch
    rows = read_rows(course)
    assert set(rows) == set(expected), "a submission is missing from grades.csv (or an extra row appeared)"
    with open(course / layout.GRADES_CSV) as fh:
        assert len(list(csv.DictReader(fh))) == len(expected)


def test_scores_and_flags_are_exactly_as_expected(batch):
    course, expected, done, _ = batch
    rows = read_rows(course)
    problems = []
    for key, (kind, exp) in sorted(expected.items()):
        row = rows[key]
        if not exp.graded:
            if row["status"] != "could not be graded" or exp.reason_contains not in row["reason"]:
                problems.append(f"{key} {kind}: expected 'could not be graded' ({exp.reason_contains}), got {row}")
            continue
        if row["status"] != "graded":
            problems.append(f"{key} {kind}: expected graded, got {row['status']}: {row['reason']}")
            continue
        if float(row["score"]) != exp.score:
            problems.append(f"{key} {kind}: expected score {exp.score:g}, got {row['score']} "
                            f"(failing: {exp.exercises_failing}; flags: {row['flags']})")
        in_notebook = exp.score if exp.notebook_score is None else exp.notebook_score
        if float(row["notebook_score"]) != in_notebook:
            problems.append(f"{key} {kind}: expected in-notebook score {in_notebook:g}, got {row['notebook_score']}")
        if flag_kinds(row["flags"]) != set(exp.flags):
            problems.append(f"{key} {kind}: expected flags {sorted(exp.flags)}, got {row['flags']!r}")
        missing = [d for d in exp.flag_details if d not in row["flags"]]
        if missing:
            problems.append(f"{key} {kind}: the flags should say {missing}: {row['flags']!r}")
    assert not problems, "\n".join(problems) + "\n\n" + done.stdout


def test_controls_graded_after_the_attackers_are_untouched(batch):
    course, expected, _, _ = batch
    rows = read_rows(course)
    for hw in KINDS:
        row, full = rows[("z_control", hw)], expected[("z_control", hw)][1].score
        assert row["status"] == "graded" and float(row["score"]) == float(row["notebook_score"]) == full, row
        assert row["flags"] == "", row
        assert all(s and s > 0 for s in cell_scores(course, "z_control", hw).values())


def test_the_repository_and_the_installation_are_unchanged(batch):
    _, _, _, (before, after) = batch
    assert after["git"] == before["git"], "grading changed the repository's git status"
    changed = sorted(p for p in set(before["files"]) | set(after["files"])
                     if before["files"].get(p) != after["files"].get(p))
    assert not changed, f"grading changed installed files: {changed[:10]}"


def test_the_sandbox_hid_the_course_and_the_classmates(batch):
    course, _, _, _ = batch
    nb = nbformat.read(str(course / layout.AUTOGRADED / "b_snoop" / "hw1" / "hw1.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "SNOOP hidden 0 0 0" in text, text[:2000]
    attack = nbformat.read(str(course / layout.AUTOGRADED / "a_overwrite_grader" / "hw2" / "hw2.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in attack.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "ATTACK wrote" in text and "file(s): []" in text, text[:2000]        # only its own throwaway /tmp


def test_no_hidden_test_reaches_any_feedback_or_stored_output(batch):
    course, expected, _, _ = batch
    rows = read_rows(course)
    leaks = []
    for (student, hw), row in rows.items():
        if row["status"] != "graded":
            continue
        secrets_ = hidden_texts(course, hw)
        seeds = {m for line in secrets_ for m in re.findall(r"seed=\d+", line)}
        text = html.unescape(re.sub(r"<[^>]+>", "", (course / row["feedback"]).read_text()))
        nb = nbformat.read(str(course / layout.AUTOGRADED / student / hw / f"{hw}.ipynb"), as_version=4)
        outputs = nbformat.writes(nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_code_cell(outputs=c.get("outputs", [])) for c in nb.cells if c.cell_type == "code"]))
        for where, blob in (("feedback", text), ("stored outputs", outputs)):
            found = [s for s in secrets_ if s in blob] + [s for s in seeds if s in blob]
            if found or "HIDDEN TESTS" in blob:
                leaks.append(f"{student}/{hw} {where}: {found[:3]}")
    assert not leaks, "\n".join(leaks)
    leaker = (course / rows[("a_prints_hidden", "hw1")]["feedback"]).read_text()
    assert "token=" in html.unescape(leaker), "the leak attempt should have printed the (tokenised) input history"


def test_feedback_keeps_the_teaching_messages(batch):
    course, _, _, _ = batch
    rows = read_rows(course)
    untouched = html.unescape((course / rows[("m_untouched", "hw1")]["feedback"]).read_text())
    assert "CheckFailure" in untouched and "not implemented yet" in untouched
    assert "mfcore/checks" not in untouched, "a failed check's feedback shows the frames of mfcore.checks"
    calls = html.unescape((course / rows[("a_calls_reference", "hw2")]["feedback"]).read_text())
    assert "NOT PASSED" in calls and "is not available while hw2 is graded" in calls
    capped = (course / rows[("a_huge_output", "hw3")]["feedback"]).stat().st_size
    assert capped < 2_000_000, f"the capped feedback is {capped} bytes"


def test_kernel_deaths_and_hangs_cost_only_their_cells(batch):
    course, expected, _, _ = batch
    for student, hw in (("a_dead_kernel", "hw3"), ("a_segfault", "hw3"), ("a_ignores_sigint", "hw2")):
        failing = expected[(student, hw)][1].exercises_failing
        scores = cell_scores(course, student, hw)
        zero = sorted(g for g, s in scores.items() if s == 0)
        assert zero == sorted(f"{p}_{e}" for e in failing for p in ("test", "hidden")), (student, zero)
    log = (course / layout.LOGS / "hw2" / "a_ignores_sigint.log").read_text()
    assert "did not stop after its time limit" in log and "restarting" in log


def test_the_real_grading_folder_is_untouched(batch):
    course, _, _, _ = batch
    assert course != ROOT and not str(course).startswith(str(ROOT / layout.GRADING))


def test_grading_refuses_without_isolation_unless_told(tmp_path):
    """No sandbox: make autograde stops (exit 2); with --no-isolation it grades and flags every row."""
    course = copy_course(tmp_path / "course")
    submit(course, "alice", "hw1", "solved")
    env = dict(os.environ, PYTHONPATH=str(course))
    env.setdefault("JUPYTER_CONFIG_DIR", str(course / ".jupyter-config"))
    code = ("import course.sandbox as s; s._tool = lambda name: None; s.available.cache_clear(); "   # no bwrap
            "import course.autograde as a, sys; sys.exit(a.main(sys.argv[1:]))")
    refused = subprocess.run([sys.executable, "-c", code, "--timeout", "8"], cwd=course, env=env,
                             capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2 and "refusing to grade" in refused.stdout and "bubblewrap" in refused.stdout
    done = subprocess.run([sys.executable, "-c", code, "--timeout", "8", "--no-isolation"], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)
    rows = read_rows(course)
    row = rows[("alice", "hw1")]
    assert done.returncode == 0 and row["score"] == "23" and row["flags"] == "graded without isolation", \
        done.stdout + done.stderr


@pytest.mark.slow
def test_load_a_class_of_50(tmp_path):
    """50 students × 4 homeworks of mixed submissions, graded in one batch; every row as expected."""
    ok, why = sandbox.available()
    if not ok:
        pytest.skip(f"no sandbox for student code on this machine ({why})")
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
        if exp.graded:
            good = (row["status"] == "graded" and float(row["score"]) == exp.score
                    and flag_kinds(row["flags"]) == set(exp.flags))
        else:
            good = row["status"] == "could not be graded" and exp.reason_contains in row["reason"]
        if not good:
            wrong.append(f"{key} {kind}: {row}")
    print(f"\nload test: {len(expected)} notebooks ({len(rows)} rows) graded in {seconds:.0f} s; "
          f"{len(wrong)} unexpected rows\n{done.stdout[-3000:]}")
    assert not wrong, "\n".join(wrong)

