"""Re-check a graded submission in a separate, clean process and compare outside it.

Student code runs in the grading kernel together with the tests, so it can tamper with in-kernel checks
(rebind ``check``, patch the checks module, install an IPython input transformer, ...).  The re-check:

1. reads the test cells from the instructors' source notebook (solutions/), never from the submission,
   and turns each into its ``check(name, function, seed=..., edge=...)`` calls;
2. runs the submission's other code cells as plain Python in a fresh process (course/recheck_child.py,
   sandboxed like the kernel), then the student's functions on the checks' generated problems, with the
   same per-cell time limit; that process only writes what the functions returned (``.npz``, no pickle);
3. compares those results with the mfcore reference *here*, in a process that never ran student code
   (:func:`mfcore.checks.judge`), and scores each test cell all-or-nothing, like nbgrader.

A child that hangs past the time limit or dies is killed and restarted for the remaining test cells, so
one bad function never costs the others.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import layout, sandbox
from .nbgrader_run import env_for


@dataclass
class CellResult:
    grade_id: str
    points: float
    score: float | None            # None: the cell is not made of check(...) calls, not re-checkable
    detail: str = ""


@dataclass
class Recheck:
    cells: dict[str, CellResult] = field(default_factory=dict)
    error: str = ""
    sandboxed: bool = False

    @property
    def score(self) -> float:
        return float(sum(c.score for c in self.cells.values() if c.score is not None))


def _nb(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _is_test(cell) -> bool:
    m = _nb(cell)
    return cell.get("cell_type") == "code" and bool(m.get("grade")) and not m.get("solution")


def parse_calls(source: str) -> list[dict] | None:
    """The ``check("hw.ex", func, seed=..., edge=...)`` calls of a test cell, or None if it holds anything else."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    calls = []
    for stmt in tree.body:
        if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
            return None
        call = stmt.value
        if not (isinstance(call.func, ast.Name) and call.func.id == "check" and len(call.args) == 2
                and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)
                and isinstance(call.args[1], ast.Name)):
            return None
        kw = {"seed": None, "edge": False}
        for k in call.keywords:
            if k.arg not in kw or not isinstance(k.value, ast.Constant):
                return None
            kw[k.arg] = k.value.value
        calls.append({"name": call.args[0].value, "func": call.args[1].id, **kw})
    return calls


def test_cells(source_nb: Path) -> list[tuple[str, float, list[dict] | None]]:
    """(grade_id, points, calls) of every autograded test cell of the instructors' notebook."""
    nb = nbformat.read(str(source_nb), as_version=4)
    return [(_nb(c)["grade_id"], float(_nb(c).get("points", 0)), parse_calls(c.source))
            for c in nb.cells if _is_test(c)]


def recheck(notebook: Path, source_nb: Path, root: Path, timeout: float = layout.CELL_TIMEOUT,
            log: Path | None = None, grace: float = 10.0) -> Recheck:
    """Re-check ``notebook`` (the autograded copy: locked cells restored) against ``source_nb``'s tests."""
    result = Recheck()
    tests = test_cells(source_nb)
    for gid, points, calls in tests:
        result.cells[gid] = CellResult(gid, points, None if calls is None else 0.0,
                                       "" if calls is not None else "not made of check(...) calls")
    groups = [(gid, calls) for gid, _, calls in tests if calls is not None]
    try:
        nb = nbformat.read(str(notebook), as_version=4)
    except Exception as exc:                                     # noqa: BLE001
        result.error = f"cannot read {notebook.name}: {exc}"
        return result
    test_ids = {gid for gid, _, _ in tests}
    cells = [c.source for c in nb.cells
             if c.get("cell_type") == "code" and not _is_test(c) and _nb(c).get("grade_id") not in test_ids]
    work = Path(tempfile.mkdtemp(prefix="mfcore-recheck-"))
    ok, _ = sandbox.available()
    result.sandboxed = ok
    hide = layout.hidden_paths(root)
    outcome: dict[int, str] = {}                                # group -> "done" | "timeout" | "died"
    skip_cells: list[int] = []
    logfh = open(log, "a") if log else subprocess.DEVNULL
    try:
        for attempt in range(len(groups) + len(cells) + 2):
            todo = [g for g in range(len(groups)) if g not in outcome]
            if not todo:
                break
            status = work / f"status{attempt}.txt"
            status.write_text("")
            jobfile = work / f"job{attempt}.json"
            jobfile.write_text(json.dumps({
                "cells": cells, "skip_cells": skip_cells, "groups": [calls for _, calls in groups],
                "todo": todo, "timeout": timeout, "out_dir": str(work), "status": str(status)}))
            cmd = [sys.executable, "-m", "course.recheck_child", str(jobfile)]
            if ok and hide:
                cmd = sandbox.command(hide, cmd)
            env = env_for(root)
            env.update(MPLBACKEND="Agg", NBGRADER_EXECUTION="recheck", MFCORE_QUIET="1")
            proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=logfh, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            seen, deadline = 0, time.monotonic() + timeout + grace + 30     # start-up: imports, numba
            while proc.poll() is None:
                lines = status.read_text().splitlines()
                if len(lines) > seen:
                    seen = len(lines)
                    deadline = time.monotonic() + timeout + grace
                if time.monotonic() > deadline:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    break
                time.sleep(0.05)
            lines = status.read_text().splitlines()
            for line in lines:
                kind, _, arg = line.partition(" ")
                if kind in ("done", "timeout"):
                    outcome[int(arg)] = kind
            last = lines[-1] if lines else ""
            kind, _, arg = last.partition(" ")
            if kind == "cell":                                  # hung or died while running a cell
                skip_cells.append(int(arg))
            elif kind == "group":
                outcome[int(arg)] = "died"
            elif kind not in ("finished", "done", "timeout"):
                for g in todo:                                  # died before any progress
                    outcome.setdefault(g, "died")
                result.error = f"the re-check process failed to start (exit {proc.returncode})"
        from mfcore import checks                               # judged here: no student code ran in this process
        for g, (gid, calls) in enumerate(groups):
            cell = result.cells[gid]
            state = outcome.get(g, "died")
            if state == "timeout":
                cell.detail = f"timed out (over {timeout:g} s)"
                continue
            if state == "died":
                cell.detail = "the process running the student's code died or hung"
                continue
            failures = []
            for j, call in enumerate(calls):
                obs = _load(work, g, j)
                res = checks.judge(call["name"], obs, seed=call["seed"], edge=call["edge"])
                if not res.passed:
                    failures.append(res.message.splitlines()[0])
            cell.score = cell.points if not failures else 0.0
            cell.detail = "; ".join(failures)
    finally:
        if log:
            logfh.close()
        shutil.rmtree(work, ignore_errors=True)
    return result


def _load(work: Path, g: int, j: int) -> list[dict]:
    import numpy as np

    meta_path, arr_path = work / f"g{g}_j{j}.json", work / f"g{g}_j{j}.npz"
    if not meta_path.exists() or not arr_path.exists():
        return [{"error": "no result was written"}]
    try:
        meta = json.loads(meta_path.read_text())
        n = min(int(meta["n"]), 1000)
        errors = {int(k): str(v) for k, v in meta.get("errors", {}).items()}
        obs = [dict() for _ in range(n)]
        with np.load(arr_path, allow_pickle=False) as z:
            for key in z.files:
                k, _, name = key.partition("__")
                obs[int(k[1:])][name] = z[key]
        for k, msg in errors.items():
            obs[k] = {"error": msg}
        return obs
    except Exception as exc:                                    # noqa: BLE001  (malformed output = failure)
        return [{"error": f"unreadable result: {exc}"}]
