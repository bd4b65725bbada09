"""Grade everything submitted: ``python -m course.autograde [hw ...]`` (``make autograde``).

For every ``grading/submitted/<student>/<hw>/`` folder:

1. the gradebook is brought in step with solutions/ (a scratch release into grading/release/);
2. each submission is checked before nbgrader sees it: a missing or renamed notebook and invalid JSON
   are reported by name (nbgrader would drop them, and its export would show a silent 0);
3. ``nbgrader autograde`` runs (sandboxed kernel, per-cell time limit, deleted and edited test cells
   restored, see nbgrader_config.py); a submission nbgrader could not grade is reported with its reason,
   and the batch goes on;
4. every graded submission is re-checked in a separate, clean process (course/recheck.py); a test cell
   whose clean score differs from the in-notebook score is flagged;
5. feedback HTML without hidden tests is written to grading/feedback/;
6. grading/grades.csv gets one row per student and notebook.

Exit status 0 when every submission was graded, 1 otherwise (the CSV says which and why).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from . import layout, sandbox
from .nbgrader_run import nbgrader
from .recheck import recheck

GRADED = "graded"
NOT_GRADED = "could not be graded"
COLUMNS = ["student", "assignment", "notebook", "status", "reason", "score", "max_score", "manual_grading",
           "recheck_score", "recheck", "feedback"]


@dataclass
class Row:
    student: str
    assignment: str
    notebook: str
    status: str = ""
    reason: str = ""
    score: str = ""
    max_score: str = ""
    manual_grading: str = ""
    recheck_score: str = ""
    recheck: str = ""
    feedback: str = ""


def _fmt(x) -> str:
    return "" if x is None else f"{float(x):g}"


def expected_notebooks(root: Path, hw: str) -> list[str]:
    return sorted(p.stem for p in (root / layout.SOURCE / hw).glob("*.ipynb"))


def find_submissions(root: Path, homeworks: list[str] | None) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """({hw: [students]} for every grading/submitted/<student>/<hw>/ folder, [(student, folder)] of
    folders that are no homework of this course)."""
    sub = root / layout.SUBMITTED
    known = layout.homeworks(root)
    found: dict[str, list[str]] = {}
    unknown: list[tuple[str, str]] = []
    if not sub.is_dir():
        return found, unknown
    for student_dir in sorted(p for p in sub.iterdir() if p.is_dir()):
        for hw_dir in sorted(p for p in student_dir.iterdir() if p.is_dir()):
            if hw_dir.name in known:
                if homeworks is None or hw_dir.name in homeworks:
                    found.setdefault(hw_dir.name, []).append(student_dir.name)
            elif homeworks is None:
                unknown.append((student_dir.name, hw_dir.name))
    return found, unknown


def precheck(path: Path, others: list[str]) -> str:
    """Why nbgrader cannot grade this file ("" if it looks gradable)."""
    if not path.exists():
        hint = f" (the folder holds {', '.join(others)}: renamed? submit it as {path.name})" if others else ""
        return f"no {path.name} in the submission{hint}"
    try:
        with open(path, encoding="utf-8") as fh:
            nb = json.load(fh)
    except UnicodeDecodeError as exc:
        return f"not a text file: {exc}"
    except json.JSONDecodeError as exc:
        return f"invalid JSON (the file is damaged): {exc}"
    except OSError as exc:
        return f"cannot read the file: {exc}"
    if not isinstance(nb, dict) or "cells" not in nb:
        return "not a Jupyter notebook (no cells)"
    return ""


_EXC = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit))\b:?\s*(.*)$")


def failures_from_log(text: str, hw: str) -> dict[str, str]:
    """{student: reason} for each submission nbgrader reported as failed in its log."""
    failed = set(re.findall(rf"There was an error processing assignment '{re.escape(hw)}' for student '([^']+)'", text))
    reasons = {}
    lines = text.splitlines()
    for k, line in enumerate(lines):
        m = re.search(r"There was an error processing assignment: .*[/\\]([^/\\]+)[/\\]" + re.escape(hw) + r"\s*$", line)
        if not m:
            continue
        student = m.group(1)
        before = [x.split("ERROR] ", 1)[1] for x in lines[max(0, k - 3):k]
                  if "| ERROR]" in x and "Interrupting" not in x and "Timeout waiting" not in x]
        exc = ""
        for x in lines[k + 1:k + 400]:
            if x.startswith("[") and "Traceback" not in x:
                break
            mm = _EXC.match(x)
            if mm:
                exc = f"{mm.group(1).split('.')[-1]}: {mm.group(2)}".strip().rstrip(":")
        reasons[student] = "; ".join([*before[-1:], exc] if exc else before[-1:]) or "nbgrader failed (see the log)"
    return {s: reasons.get(s, "nbgrader failed (see the log)") for s in failed}


def _gradebook_rows(root: Path, hw: str, student: str, notebook: str):
    from nbgrader.api import Gradebook, MissingEntry

    url = "sqlite:///" + str(root / layout.GRADEBOOK)
    with Gradebook(url, "mfcore") as gb:
        try:
            nb = gb.find_submission_notebook(notebook, hw, student)
        except MissingEntry:
            return None
        cells = {g.name: (g.auto_score, g.max_score, g.cell.cell_type) for g in nb.grades}
        pending = sum(g.max_score for g in nb.grades if g.needs_manual_grade)
        return {"score": nb.score, "max_score": nb.max_score, "needs_manual": nb.needs_manual_grade,
                "pending": pending, "cells": cells}


def autograde(root=None, homeworks: list[str] | None = None, timeout: float | None = None, jobs: int = 1,
              do_recheck: bool = True, do_feedback: bool = True, out: Path | None = None, quiet: bool = False) -> tuple[int, list[Row]]:
    root = layout.root_of(root)
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    start = time.monotonic()
    (root / layout.LOGS).mkdir(parents=True, exist_ok=True)
    subs, unknown = find_submissions(root, homeworks)
    ok, why = sandbox.available()
    say(f"kernel sandbox: {'on' if ok else 'OFF (' + why + ')'}; per-cell time limit "
        f"{timeout or layout.CELL_TIMEOUT:g} s; {sum(len(v) for v in subs.values())} submission(s) in "
        f"{layout.SUBMITTED}/")
    rows: dict[tuple, Row] = {}
    gradable: dict[str, list[str]] = {}
    for student, folder in unknown:
        rows[(student, folder, "")] = Row(student, folder, "", NOT_GRADED,
                                          f"no homework is called {folder!r} (homeworks: "
                                          f"{', '.join(layout.homeworks(root))})")
    for hw, students in subs.items():
        log = root / layout.LOGS / f"release-{hw}.log"
        log.unlink(missing_ok=True)
        nbgrader(root, "generate_assignment", hw, "--force",
                 f"--CourseDirectory.release_directory={root / layout.SCRATCH_RELEASE}", log=log, check=True)
        for student in students:
            folder = root / layout.SUBMITTED / student / hw
            names = expected_notebooks(root, hw)
            others = sorted(p.name for p in folder.glob("*.ipynb") if p.stem not in names)
            any_ok = False
            for name in names:
                row = Row(student, hw, name)
                row.reason = precheck(folder / f"{name}.ipynb", others)
                row.status = NOT_GRADED if row.reason else ""
                any_ok |= not row.reason
                rows[(student, hw, name)] = row
            stale = root / layout.AUTOGRADED / student / hw
            if stale.exists():
                shutil.rmtree(stale)
            if any_ok:
                gradable.setdefault(hw, []).append(student)

    def run_hw(hw):
        log = root / layout.LOGS / f"autograde-{hw}.log"
        log.unlink(missing_ok=True)
        args = ["autograde", hw, "--force"]
        if timeout:
            args.append(f"--Execute.timeout={int(timeout)}")
        done = nbgrader(root, *args, log=log)
        return hw, done.returncode, failures_from_log(log.read_text(), hw)

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        results = list(pool.map(run_hw, gradable))
    for hw, rc, failed in results:
        say(f"nbgrader autograde {hw}: exit {rc}, {len(gradable[hw]) - len(failed)} of {len(gradable[hw])} "
            f"submission(s) processed")
        for (student, a, name), row in rows.items():
            if a != hw or row.status:
                continue
            if student in failed:
                row.status, row.reason = NOT_GRADED, f"nbgrader: {failed[student]}"
                continue
            graded_nb = root / layout.AUTOGRADED / student / hw / f"{name}.ipynb"
            info = _gradebook_rows(root, hw, student, name) if graded_nb.exists() else None
            if info is None:
                row.status, row.reason = NOT_GRADED, "nbgrader wrote no graded notebook (see grading/logs/)"
                continue
            row.status = GRADED
            row.score, row.max_score = _fmt(info["score"]), _fmt(info["max_score"])
            row.manual_grading = f"pending ({_fmt(info['pending'])} points)" if info["needs_manual"] else ""
            row._cells = info["cells"]                                                # noqa: SLF001

    def run_recheck(key):
        student, hw, name = key
        row = rows[key]
        try:
            res = recheck(root / layout.AUTOGRADED / student / hw / f"{name}.ipynb",
                          root / layout.SOURCE / hw / f"{name}.ipynb", root,
                          timeout=timeout or layout.CELL_TIMEOUT, log=root / layout.LOGS / f"recheck-{hw}.log")
        except Exception as exc:                                                     # noqa: BLE001
            row.recheck = f"not run: {type(exc).__name__}: {exc}"
            return
        row.recheck_score = _fmt(res.score)
        diffs = []
        for gid, cell in res.cells.items():
            if cell.score is None:
                continue
            in_nb = row._cells.get(gid, (None,))[0]                                  # noqa: SLF001
            in_nb = 0.0 if in_nb is None else float(in_nb)
            if abs(in_nb - cell.score) > 1e-9:
                diffs.append(f"{gid} (in notebook {in_nb:g}, clean {cell.score:g})")
        if res.error:
            row.recheck = f"not run: {res.error}"
        elif diffs:
            row.recheck = "DISAGREES: " + ", ".join(diffs)
        else:
            row.recheck = "agrees"

    if do_recheck:
        graded = [k for k, r in rows.items() if r.status == GRADED]
        with ThreadPoolExecutor(max(1, jobs)) as pool:
            list(pool.map(run_recheck, graded))
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
    n_flag = sum(r.recheck.startswith("DISAGREES") for r in ordered)
    say(f"{len(ordered) - n_bad} of {len(ordered)} notebook(s) graded, {n_bad} could not be graded, "
        f"{n_flag} flagged by the clean re-check; {time.monotonic() - start:.0f} s; wrote {out}")
    for r in ordered:
        if r.status != GRADED or r.recheck.startswith("DISAGREES"):
            say(f"  {r.student}/{r.assignment}/{r.notebook}: {r.status}; {r.reason or r.recheck}")
    return (0 if n_bad == 0 else 1), ordered


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m course.autograde", description=__doc__.split("\n\n")[0])
    p.add_argument("homework", nargs="*", help="assignment ids (default: every homework with submissions)")
    p.add_argument("--root", help="course root (default: the current directory)")
    p.add_argument("--timeout", type=float, help=f"per-cell time limit in seconds (default {layout.CELL_TIMEOUT})")
    p.add_argument("--jobs", type=int, default=2, help="homeworks graded (and re-checks run) in parallel")
    p.add_argument("--no-recheck", action="store_true", help="skip the clean re-check")
    p.add_argument("--no-feedback", action="store_true", help="skip the feedback HTML")
    a = p.parse_args(argv)
    status, _ = autograde(a.root, a.homework or None, a.timeout, a.jobs, not a.no_recheck, not a.no_feedback)
    return status


if __name__ == "__main__":
    sys.exit(main())
