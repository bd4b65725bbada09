"""Made-up submissions for testing the grading pipeline (and for trying it out before a real class).

Every kind starts from the released student notebook (assignments/<hw>/<hw>.ipynb) and fills in some
solution cells from solutions/; :func:`expected_score` says what a correct grader must give it.

    python -m course.submissions --students 50 --seed 0    # a mixed class into grading/submitted/

Kinds: ``solved``, ``untouched``, ``partial`` (only some exercises solved), ``syntax_error``,
``exception``, ``infinite_loop``, ``deleted_test`` (a test cell removed; nbgrader restores it),
``edited_tests`` (test cells replaced by ``print("passed")``; restored), ``invalid_json``, ``renamed``,
``dead_kernel`` (the kernel exits), ``monkeypatch`` (rebinds ``check``: fools the in-notebook score,
flagged by the clean re-check), ``np_allclose`` (wrong code plus ``np.allclose = lambda *a, **k: True``;
the checks are not fooled).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import layout

#: Which exercises use which others (an exercise fails when one it calls fails).
DEPENDS = {
    "hw1": {"check_gradient": ["objective"], "gd_step": ["gradient"], "armijo_step": ["objective", "gradient"],
            "fit_gd": ["armijo_step"], "gradient_dense": ["build_M"]},
    "hw2": {"als_iteration": ["als_item_step", "als_user_step"], "fit_als": ["als_iteration"],
            "als_gd_iteration": ["block_gd_step"]},
    "hw3": {"sgd_epoch": ["sgd_update"], "select_best": [], "plot_heatmaps": [], "refit": []},
}

KINDS = ("solved", "untouched", "partial", "syntax_error", "exception", "infinite_loop", "deleted_test",
         "edited_tests", "invalid_json", "renamed", "dead_kernel", "monkeypatch", "np_allclose")


@dataclass
class Expected:
    graded: bool
    score: float | None = None                 # in-notebook score (None: not graded)
    recheck_flag: bool = False                 # the clean re-check must disagree
    exercises_failing: list = field(default_factory=list)
    reason_contains: str = ""


def _nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _read(path: Path):
    return nbformat.read(str(path), as_version=4)


def exercises(root: Path, hw: str) -> list[str]:
    """The exercise ids of a homework: the grade_ids of its solution code cells, in order."""
    nb = _read(Path(root) / layout.SOURCE / hw / f"{hw}.ipynb")
    return [_nbg(c)["grade_id"] for c in nb.cells if _nbg(c).get("solution") and c.cell_type == "code"]


def points(root: Path, hw: str) -> dict[str, float]:
    """Points per exercise (its visible and hidden test cells), and "manual" for written answers."""
    nb = _read(Path(root) / layout.SOURCE / hw / f"{hw}.ipynb")
    out: dict[str, float] = {}
    for c in nb.cells:
        m = _nbg(c)
        if m.get("grade") and c.cell_type == "code":
            ex = m["grade_id"].split("_", 1)[1]
            out[ex] = out.get(ex, 0.0) + float(m.get("points", 0))
        elif m.get("grade"):
            out["manual"] = out.get("manual", 0.0) + float(m.get("points", 0))
    return out


def failing(hw: str, broken: set[str], all_ex: list[str]) -> set[str]:
    """``broken`` plus every exercise that (transitively) uses one of them."""
    out = set(broken)
    changed = True
    while changed:
        changed = False
        for ex in all_ex:
            if ex not in out and any(d in out for d in DEPENDS.get(hw, {}).get(ex, [])):
                out.add(ex)
                changed = True
    return out


def build(root: Path, hw: str, kind: str, rng: random.Random | None = None):
    """(notebook text or None, file name, Expected) for one made-up submission."""
    root = Path(root)
    rng = rng or random.Random(0)
    release = _read(root / layout.RELEASE / hw / f"{hw}.ipynb")
    source = _read(root / layout.SOURCE / hw / f"{hw}.ipynb")
    solution = {_nbg(c)["grade_id"]: c.source for c in source.cells if _nbg(c).get("solution")}
    all_ex = exercises(root, hw)
    pts = points(root, hw)
    auto_total = sum(v for k, v in pts.items() if k != "manual")

    def fill(nb, which):
        """Solve the exercises ``which``; answering everything also answers the written questions."""
        for c in nb.cells:
            gid = _nbg(c).get("grade_id")
            if _nbg(c).get("solution") and (gid in which or c.cell_type == "markdown" and set(which) >= set(all_ex)):
                c.source = solution[gid]
        return nb

    def score_without(broken):
        bad = failing(hw, set(broken), all_ex)
        return auto_total - sum(pts[e] for e in bad), sorted(bad)

    def cell(nb, gid):
        return next(c for c in nb.cells if _nbg(c).get("grade_id") == gid)

    name = f"{hw}.ipynb"
    nb = release
    if kind == "solved":
        fill(nb, all_ex)
        exp = Expected(True, auto_total)
    elif kind == "untouched":
        exp = Expected(True, 0.0, exercises_failing=all_ex)
    elif kind == "partial":
        chosen = sorted(rng.sample(all_ex, max(1, len(all_ex) // 2)), key=all_ex.index)
        fill(nb, chosen)
        s, bad = score_without(set(all_ex) - set(chosen))
        exp = Expected(True, s, exercises_failing=bad)
    elif kind in ("syntax_error", "exception", "infinite_loop"):
        fill(nb, all_ex)
        target = rng.choice(_leaves(hw, all_ex)) if kind == "infinite_loop" else rng.choice(all_ex)
        src = solution[target]
        body = {"syntax_error": "    return (1 +\n",
                "exception": "    raise ValueError('something went wrong in my code')\n",
                "infinite_loop": "    while True:\n        pass\n"}[kind]
        head, sep, _ = src.partition("### BEGIN SOLUTION")
        cell(nb, target).source = head + "### BEGIN SOLUTION\n" + body if sep else src + "\n" + body
        s, bad = score_without({target})
        exp = Expected(True, s, exercises_failing=bad)
    elif kind == "deleted_test":
        fill(nb, all_ex)
        gid = "test_" + rng.choice(all_ex)
        nb.cells = [c for c in nb.cells if _nbg(c).get("grade_id") != gid]
        exp = Expected(True, auto_total)
    elif kind == "edited_tests":
        for c in nb.cells:
            if _nbg(c).get("grade") and c.cell_type == "code":
                c.source = 'print("passed")'
        exp = Expected(True, 0.0, exercises_failing=all_ex)
    elif kind == "invalid_json":
        text = nbformat.writes(fill(nb, all_ex))
        return text[: len(text) // 2], name, Expected(False, reason_contains="invalid JSON")
    elif kind == "renamed":
        fill(nb, all_ex)
        return nbformat.writes(nb), f"{hw}_final.ipynb", Expected(False, reason_contains="renamed")
    elif kind == "dead_kernel":
        fill(nb, all_ex)
        c = cell(nb, all_ex[-1])
        c.source = c.source + "\nimport os\nos._exit(1)\n"
        return nbformat.writes(nb), name, Expected(False, reason_contains="DeadKernelError")
    elif kind == "monkeypatch":
        first = cell(nb, all_ex[0])
        first.source = "check = lambda *args, **kwargs: print('passed')\n\n" + first.source
        exp = Expected(True, auto_total, recheck_flag=True, exercises_failing=all_ex)
    elif kind == "np_allclose":
        for gid in all_ex:                                            # wrong everywhere
            c = cell(nb, gid)
            c.source = c.source.replace("raise NotImplementedError()", "return 0.0")
        cell(nb, all_ex[0]).source = ("np.allclose = lambda *args, **kwargs: True\n"
                                      "np.testing.assert_allclose = lambda *args, **kwargs: None\n\n"
                                      + cell(nb, all_ex[0]).source)
        exp = Expected(True, 0.0, exercises_failing=all_ex)
    else:
        raise ValueError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    return nbformat.writes(nb), name, exp


def _leaves(hw: str, all_ex: list[str]) -> list[str]:
    """Exercises no other exercise (nor the closing demo) calls: a hang there costs only its own cells."""
    used = {d for deps in DEPENDS.get(hw, {}).values() for d in deps}
    demo_uses = {"hw1": {"fit_gd", "rmse", "armijo_step", "gradient", "objective", "gradient_dense"},
                 "hw2": {"fit_als", "als_iteration", "als_item_step", "als_user_step", "als_gd_iteration",
                         "block_gd_step"},
                 "hw3": {"sgd_epoch", "sgd_update", "cv_grid", "plot_heatmaps", "select_best", "refit",
                         "bgd_epoch"}}.get(hw, set())
    return [e for e in all_ex if e not in used and e not in demo_uses] or all_ex[-1:]


def submit(root: Path, student: str, hw: str, kind: str, rng: random.Random | None = None) -> Expected:
    """Write one made-up submission to grading/submitted/<student>/<hw>/ and return what to expect."""
    text, name, exp = build(root, hw, kind, rng)
    folder = Path(root) / layout.SUBMITTED / student / hw
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / name).write_text(text)
    return exp


def fake_class(root: Path, n_students: int, seed: int = 0, homeworks: list[str] | None = None,
               kinds=KINDS) -> dict[tuple[str, str], tuple[str, Expected]]:
    """A class of ``n_students`` with mixed submissions for every homework; {(student, hw): (kind, expected)}."""
    rng = random.Random(seed)
    hws = homeworks or layout.homeworks(root)
    out = {}
    for k in range(n_students):
        student = f"student{k:03d}"
        for hw in hws:
            kind = kinds[(k + hws.index(hw)) % len(kinds)] if k < len(kinds) else rng.choice(kinds)
            out[(student, hw)] = (kind, submit(root, student, hw, kind, rng))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m course.submissions", description=__doc__.split("\n\n")[0])
    p.add_argument("--root", help="course root (default: the current directory)")
    p.add_argument("--students", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    root = layout.root_of(a.root)
    made = fake_class(root, a.students, a.seed)
    json.dump({f"{s}/{hw}": kind for (s, hw), (kind, _) in made.items()}, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
