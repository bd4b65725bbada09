"""Grade everything submitted: ``python -m course.autograde [hw ...]`` (``make autograde``).

Every student notebook is treated as hostile code; nothing it can reach decides a grade.  For every
``grading/submitted/<student>/<hw>/`` folder:

1. **isolation** is checked first: without bubblewrap (``course/sandbox.py``) grading stops, unless the
   instructor passes ``--no-isolation`` (then every row is flagged "graded without isolation");
2. the gradebook is brought in step with solutions/ (a scratch release into grading/release/), and for each
   homework a copy of mfcore with its **answer key blocked** is prepared, with a warm numba cache
   (``course/redact.py``);
3. each submission is **staged** (``course/stage.py``): a missing or renamed notebook, invalid JSON or a
   folder nbgrader cannot read are reported by name; grading metadata a student changed is restored and noted;
4. ``nbgrader autograde`` runs with :class:`course.execute.IsolatedExecute`: one throwaway sandbox per
   submission (a new one after a kernel death or a hang), test cells sent tokenised, every check judged in
   the grading process (``course/judge.py``), which writes the **trusted result** per notebook;
5. feedback HTML without hidden tests goes to grading/feedback/;
6. grading/grades.csv gets one row per student and notebook: ``score`` is the trusted score, ``flags`` says
   what an instructor should look at (see README "Homework", the flags table).

Exit status 0 when every submission was graded, 1 otherwise (the CSV says which and why), 2 when grading
was refused (no isolation).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import layout, redact, sandbox
from .nbgrader_run import env_for, nbgrader
from .stage import read_notebook, stage_notebook, tampering

GRADED = "graded"
NOT_GRADED = "could not be graded"
COLUMNS = ["student", "assignment", "notebook", "status", "reason", "score", "max_score", "flags", "notebook_score",
           "manual_grading", "feedback", "log"]

#: Run in a sandbox before grading a homework: compiles the numba kernels of the blocked mfcore copy into a
#: cache every kernel of that homework then starts with (blocked kernels are skipped).
WARM_UP = r"""
import mfcore.checks
from mfcore._kernels import compile_all
print("warm:", ", ".join(compile_all(skip_errors=True)))
"""


@dataclass
class Row:
    student: str
    assignment: str
    notebook: str
    status: str = ""
    reason: str = ""
    score: str = ""
    max_score: str = ""
    flags: str = ""
    notebook_score: str = ""
    manual_grading: str = ""
    feedback: str = ""
    log: str = ""
    notes: list = field(default_factory=list)


def _fmt(x) -> str:
    return "" if x is None else f"{float(x):g}"


def expected_notebooks(root: Path, hw: str) -> list[str]:
    return sorted(p.stem for p in (root / layout.SOURCE / hw).glob("*.ipynb"))


def find_submissions(root: Path, homeworks: list[str] | None):
    """({hw: [students]}, [(student, folder, reason)] of folders that cannot be graded)."""
    sub = root / layout.SUBMITTED
    known = layout.homeworks(root)
    found: dict[str, list[str]] = {}
    bad: list[tuple[str, str, str]] = []
    if not sub.is_dir():
        return found, bad
    for student_dir in sorted(sub.iterdir()):
        student = student_dir.name
        if not student_dir.is_dir():
            if not student.startswith("."):                     # .DS_Store and the like are no submissions
                bad.append((student, "", f"{layout.SUBMITTED}/{student} is a file, not a student's folder"))
            continue
        entries = sorted(student_dir.iterdir())
        loose = [p.name for p in entries if p.is_file() and p.suffix == ".ipynb"]
        if loose:
            bad.append((student, "", f"{', '.join(loose)} lie directly in {layout.SUBMITTED}/{student}/: move each "
                                     f"into its homework's folder ({layout.SUBMITTED}/{student}/<hw>/)"))
        elif not any(p.is_dir() for p in entries):
            bad.append((student, "", f"{layout.SUBMITTED}/{student}/ holds no homework folder"))
        for hw_dir in entries:
            if not hw_dir.is_dir() or homeworks is not None and hw_dir.name not in homeworks:
                continue
            if hw_dir.name not in known:
                bad.append((student, hw_dir.name, f"no homework is called {hw_dir.name!r} (homeworks: "
                                                  f"{', '.join(known)})"))
            elif student.startswith("."):
                bad.append((student, hw_dir.name, f"the folder name {layout.SUBMITTED}/{student} starts with '.', "
                                                  "which nbgrader ignores as hidden: rename it without the dot "
                                                  "and grade again"))
            elif student_dir.is_symlink() or hw_dir.is_symlink():
                bad.append((student, hw_dir.name, f"{layout.SUBMITTED}/{student}/{hw_dir.name} is a symbolic link: "
                                                  "copy the submission itself"))
            elif not re.fullmatch(r"[\w.@+-]+", student):
                bad.append((student, hw_dir.name, f"the folder name {student!r} has characters nbgrader cannot use "
                                                  "as a student id (use letters, digits, _ . @ + -)"))
            else:
                found.setdefault(hw_dir.name, []).append(student)
    return found, bad


def test_cells(source_nb: Path) -> dict[str, float]:
    """{grade_id: points} of the auto-graded test cells of the instructors' notebook."""
    nb = read_notebook(source_nb)
    out = {}
    for c in nb.cells:
        m = c.get("metadata", {}).get("nbgrader", {})
        if c.cell_type == "code" and m.get("grade") and not m.get("solution"):
            out[m["grade_id"]] = float(m.get("points", 0))
    return out


def total_points(source_nb: Path) -> float:
    nb = read_notebook(source_nb)
    return sum(float(c.metadata.get("nbgrader", {}).get("points", 0)) for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade"))


def _gradebook(root: Path, hw: str, student: str, notebook: str):
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook("sqlite:///" + str(root / layout.GRADEBOOK), "mfcore") as gb:
        try:
            nb = gb.find_submission_notebook(notebook, hw, student)
        except MissingEntry:
            return None
        auto = sum(g.auto_score or 0.0 for g in nb.grades if g.cell.cell_type == "code")
        pending = sum(g.max_score for g in nb.grades if g.needs_manual_grade)
        cells = {g.name: g.auto_score for g in nb.grades if g.cell.cell_type == "code"}
        return {"auto": auto, "pending": pending, "needs_manual": nb.needs_manual_grade, "cells": cells}


# --------------------------------------------------------------------------------------------- preparation
def prepare_homework(root: Path, hw: str, isolated: bool, say) -> None:
    """The blocked mfcore copy and its warm numba cache for ``hw``, described in grading/sandbox/<hw>.json."""
    from mfcore import checks

    workspace = root / layout.SANDBOX
    workspace.mkdir(parents=True, exist_ok=True)
    pkg = redact.redacted_copy(checks.answer_key(hw), workspace)
    cache = pkg.parent / "numba-cache"
    mount = str(redact.package_dir())
    if not (pkg.parent / ("warm" if isolated else "warm-unisolated")).exists():
        if cache.exists():
            shutil.rmtree(cache)
        cache.mkdir()
        start = time.monotonic()
        env = {"NUMBA_CACHE_DIR": str(cache), "MFCORE_QUIET": "1", "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0",
               "HOME": "/tmp/home", "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        if isolated:
            key = f"warm/{hw}"
            sandbox.chown_for(cache, key)
            cmd = sandbox.command([sys.executable, "-c", WARM_UP], key=key, readonly=[(str(pkg), mount)],
                                  writable=[(str(cache), str(cache))], env=env)
            done = subprocess.run(cmd, capture_output=True, text=True, env={}, timeout=900)
        else:
            env = {**env_for(root), **env, "PYTHONPATH": str(pkg.parent)}
            done = subprocess.run([sys.executable, "-c", WARM_UP], capture_output=True, text=True, env=env,
                                  timeout=900, cwd=cache)        # not the course root: its mfcore would come first
        if done.returncode != 0 or "warm" not in done.stdout:
            raise RuntimeError(f"warming the numba cache for {hw} failed (exit {done.returncode}):\n"
                               f"{done.stderr[-3000:]}")
        (pkg.parent / ("warm" if isolated else "warm-unisolated")).write_text("")
        say(f"{hw}: blocked {len(checks.answer_key(hw))} answer-key functions of mfcore; numba cache warmed in "
            f"{time.monotonic() - start:.0f} s")
    (workspace / f"{hw}.json").write_text(json.dumps({"package": str(pkg), "mount": mount,
                                                      "numba_cache": str(cache)}))


def stage_submission(root: Path, hw: str, student: str, names: list[str], rows: dict) -> bool:
    """Copy one submission to grading/staged/ with its grading metadata restored; False if nothing is gradable."""
    folder = root / layout.SUBMITTED / student / hw
    dest = root / layout.STAGED / student / hw
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for item in folder.iterdir():                        # the student's other files (data, ...), never links
        if item.is_file() and not item.is_symlink() and item.suffix != ".ipynb":
            shutil.copy2(item, dest / item.name)
    others = sorted(p.name for p in folder.glob("*.ipynb") if p.stem not in names)
    any_ok = False
    for name in names:
        row = rows[(student, hw, name)]
        path = folder / f"{name}.ipynb"
        if not path.is_file() or path.is_symlink():
            hint = f" (the folder holds {', '.join(others)}: renamed? submit it as {name}.ipynb)" if others else ""
            row.status, row.reason = NOT_GRADED, f"no {name}.ipynb in the submission{hint}"
            continue
        try:
            notes = stage_notebook(path, root / layout.SCRATCH_RELEASE / hw / f"{name}.ipynb", dest / f"{name}.ipynb")
        except ValueError as exc:
            row.status, row.reason = NOT_GRADED, str(exc)
            continue
        row.notes = notes
        any_ok = True
    return any_ok


# --------------------------------------------------------------------------------------------- grading
def autograde(root=None, homeworks: list[str] | None = None, timeout: float | None = None, jobs: int = 1,
              do_feedback: bool = True, out: Path | None = None, quiet: bool = False, isolation: bool = True,
              memory: int | None = None, notebook_timeout: int | None = None) -> tuple[int, list[Row]]:
    root = layout.root_of(root)
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    start = time.monotonic()
    ok, why = sandbox.available()
    if isolation and not ok:
        say(f"refusing to grade: no sandbox for student code ({why})")
        return 2, []
    limits = sandbox.Limits(memory=memory or sandbox.Limits.memory)
    for folder in (layout.LOGS, layout.RESULTS, layout.STAGED):
        (root / folder).mkdir(parents=True, exist_ok=True)
    subs, bad = find_submissions(root, homeworks)
    say(f"isolation: {'bubblewrap sandbox per submission (' + limits.describe() + ')' if isolation else 'OFF'}; "
        f"per-cell limit {timeout or layout.CELL_TIMEOUT:g} s, per notebook "
        f"{notebook_timeout or layout.NOTEBOOK_TIMEOUT} s; {sum(len(v) for v in subs.values())} submission(s) "
        f"in {layout.SUBMITTED}/")
    rows: dict[tuple, Row] = {}
    for student, folder, reason in bad:
        rows[(student, folder, "")] = Row(student, folder, "", NOT_GRADED, reason)
    gradable: dict[str, list[str]] = {}
    for hw, students in subs.items():
        log = root / layout.LOGS / f"release-{hw}.log"
        log.unlink(missing_ok=True)
        nbgrader(root, "generate_assignment", hw, "--force",
                 f"--CourseDirectory.release_directory={root / layout.SCRATCH_RELEASE}", log=log, check=True)
        names = expected_notebooks(root, hw)
        for student in students:
            for name in names:
                rows[(student, hw, name)] = Row(student, hw, name, log=f"{layout.LOGS}/{hw}/{student}.log")
            for stale in (root / layout.AUTOGRADED / student / hw, root / layout.RESULTS / hw / student):
                if stale.exists():
                    shutil.rmtree(stale)
            if stage_submission(root, hw, student, names, rows):
                gradable.setdefault(hw, []).append(student)
            for name in names:
                row = rows[(student, hw, name)]
                if row.status == NOT_GRADED:
                    row.log = ""

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        list(pool.map(lambda hw: prepare_homework(root, hw, isolation, say), gradable))
    _forget_old_copies(root)
    _create_students(root, {s for students in gradable.values() for s in students})

    def run_hw(hw):
        log = root / layout.LOGS / f"autograde-{hw}.log"
        log.unlink(missing_ok=True)
        args = ["autograde", hw, "--force", f"--CourseDirectory.submitted_directory={root / layout.STAGED}",
                f"--IsolatedExecute.isolation={isolation}", f"--IsolatedExecute.workspace={root / layout.SANDBOX}",
                f"--IsolatedExecute.results_dir={root / layout.RESULTS}",
                f"--IsolatedExecute.logs_dir={root / layout.LOGS}", f"--IsolatedExecute.memory={limits.memory}",
                f"--IsolatedExecute.notebook_timeout={notebook_timeout or layout.NOTEBOOK_TIMEOUT}"]
        if timeout:
            args.append(f"--Execute.timeout={int(timeout)}")
        done = nbgrader(root, *args, log=log)
        return hw, done.returncode

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        results = list(pool.map(run_hw, gradable))
    for hw, rc in results:
        say(f"nbgrader autograde {hw}: exit {rc}, {len(gradable[hw])} submission(s)")
        _collect(root, hw, rows)
    if do_feedback:
        for hw in gradable:
            nbgrader(root, "generate_feedback", hw, "--force", log=root / layout.LOGS / f"feedback-{hw}.log")
        for (student, hw, name), row in rows.items():
            html = root / layout.FEEDBACK / student / hw / f"{name}.html"
            if row.status == GRADED and html.exists():
                row.feedback = str(html.relative_to(root))

    out = Path(out) if out else root / layout.GRADES_CSV
    out.parent.mkdir(parents=True, exist_ok=True)
    ordered = [rows[k] for k in sorted(rows)]
    with open(out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        for row in ordered:
            w.writerow({k: v for k, v in asdict(row).items() if k in COLUMNS})
    n_bad = sum(r.status != GRADED for r in ordered)
    n_flag = sum(bool(r.flags) for r in ordered if r.status == GRADED)
    say(f"{len(ordered) - n_bad} of {len(ordered)} notebook(s) graded, {n_bad} could not be graded, "
        f"{n_flag} flagged; {time.monotonic() - start:.0f} s; wrote {out}")
    for r in ordered:
        if r.status != GRADED or r.flags:
            say(f"  {r.student}/{r.assignment}/{r.notebook}: {r.status}; {r.reason or r.flags}")
    return (0 if n_bad == 0 else 1), ordered


def _forget_old_copies(root: Path) -> None:
    """Remove blocked mfcore copies no homework uses any more (mfcore changed since they were made)."""
    workspace = root / layout.SANDBOX
    used = {Path(json.loads(p.read_text())["package"]).parent for p in workspace.glob("*.json")}
    for old in workspace.glob("mfcore-*"):
        if old not in used:
            shutil.rmtree(old, ignore_errors=True)


def _create_students(root: Path, students: set[str]) -> None:
    """Every student in the gradebook before the homeworks are graded in parallel (two nbgrader processes creating
    the same student at once would collide on sqlite's unique id)."""
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(root / layout.GRADEBOOK), "mfcore") as gb:
        for student in sorted(students):
            gb.update_or_create_student(student)


def _collect(root: Path, hw: str, rows: dict) -> None:
    """Fill the rows of ``hw`` from the trusted results and (for comparison) nbgrader's gradebook."""
    nbgrader_log = root / layout.LOGS / f"autograde-{hw}.log"
    log_text = nbgrader_log.read_text(errors="replace") if nbgrader_log.exists() else ""
    for (student, a, name), row in rows.items():
        if a != hw or row.status:
            continue
        source_nb = root / layout.SOURCE / hw / f"{name}.ipynb"
        points = test_cells(source_nb)
        result_path = root / layout.RESULTS / hw / student / f"{name}.json"
        if not result_path.exists():
            row.status = NOT_GRADED
            if f"/{student}/{hw}" in log_text:
                row.reason = f"nbgrader stopped before running it; its log {layout.LOGS}/autograde-{hw}.log says why"
            else:
                row.reason = "nbgrader did not run this notebook; see " + f"{layout.LOGS}/autograde-{hw}.log"
            row.log = f"{layout.LOGS}/autograde-{hw}.log"
            continue
        result = json.loads(result_path.read_text())
        if result.get("error"):
            row.status = NOT_GRADED
            row.reason = f"grading failed ({result['error'][:200]}); {row.log} says more"
            continue
        score = sum(p for gid, p in points.items() if result["cells"].get(gid, {}).get("passed"))
        row.status, row.score = GRADED, _fmt(score)
        row.max_score = _fmt(total_points(source_nb))
        flags = []
        if tampering(row.notes):
            flags.append("tampering attempt (" + "; ".join(tampering(row.notes)) + ")")
        flags += result["flags"]
        info = _gradebook(root, hw, student, name)
        if info is None:
            flags.append("nbgrader did not save its in-notebook score (see " + f"{layout.LOGS}/autograde-{hw}.log)")
        else:
            row.notebook_score = _fmt(info["auto"])
            row.manual_grading = f"pending ({_fmt(info['pending'])} points)" if info["needs_manual"] else ""
            diffs = [gid for gid in points
                     if abs((info["cells"].get(gid) or 0.0) - (points[gid] if result["cells"].get(gid, {}).get("passed")
                                                               else 0.0)) > 1e-9]
            if diffs:
                flags.append(f"in-notebook score differs (in notebook {_fmt(info['auto'])}, trusted {_fmt(score)}: "
                             + ", ".join(diffs[:6]) + (" ..." if len(diffs) > 6 else "") + ")")
        row.flags = "; ".join(flags)


def _memory(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", text, re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 2G, 512M)")
    return int(float(m.group(1)) * 1024 ** "KMGT".find(m.group(2).upper()) * (1024 if m.group(2) else 1))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m course.autograde", description=__doc__.split("\n\n")[0])
    p.add_argument("homework", nargs="*", help="assignment ids (default: every homework with submissions)")
    p.add_argument("--root", help="course root (default: the current directory)")
    p.add_argument("--timeout", type=float, help=f"per-cell time limit in seconds (default {layout.CELL_TIMEOUT})")
    p.add_argument("--notebook-timeout", type=int,
                   help=f"per-notebook time limit in seconds (default {layout.NOTEBOOK_TIMEOUT})")
    p.add_argument("--memory", type=_memory, help="memory limit of a student's kernel (default 2G)")
    p.add_argument("--jobs", type=int, default=2, help="homeworks graded in parallel")
    p.add_argument("--no-feedback", action="store_true", help="skip the feedback HTML")
    p.add_argument("--no-isolation", action="store_true",
                   help="grade without the sandbox (only where bubblewrap cannot run; every row is flagged)")
    a = p.parse_args(argv)
    status, _ = autograde(a.root, a.homework or None, a.timeout, a.jobs, not a.no_feedback,
                          isolation=not a.no_isolation, memory=a.memory, notebook_timeout=a.notebook_timeout)
    return status


if __name__ == "__main__":
    sys.exit(main())
