"""Made-up submissions for testing the grading pipeline (and for trying it out before a real class).

Every kind starts from the released student notebook (assignments/<hw>/<hw>.ipynb) and fills in some
solution cells from solutions/; :class:`Expected` says what a correct grader must give it: the trusted score,
nbgrader's in-notebook score when it differs, and the flags grades.csv must show.

    python -m course.submissions --students 50 --seed 0    # a mixed class into grading/submitted/

Honest kinds: ``solved``, ``untouched``, ``partial`` (only some exercises solved), ``syntax_error``,
``exception``, ``infinite_loop`` (the cell is interrupted), ``deleted_test`` (a test cell removed; restored),
``invalid_json``, ``renamed``, ``stderr_noise`` (correct code that logs and writes to stderr every way),
``memory_hog`` (one function allocates more than the memory limit).

Hostile kinds (ATTACKS): ``edited_tests`` (test cells replaced by ``print("passed")``), ``monkeypatch``
(rebinds ``check``), ``patch_checks`` (replaces mfcore.checks' functions, writes no code), ``np_allclose``
(wrong code plus rebound numpy comparisons), ``calls_reference`` (exercise bodies call the mfcore reference,
by name and through importlib/getattr), ``overwrite_grader`` (tries to append to the installed checks, the
course config, site-packages and IPython's start-up folder), ``tampered_metadata`` (grade flag off, points
and cell type changed, a test cell copied with its grade id, a hidden test deleted), ``prints_hidden``
(prints the input history and stack traces, to leak hidden tests), ``huge_output`` (a 50 MB line),
``ignores_sigint`` (a function that ignores the interrupt and sleeps), ``dead_kernel`` (``os._exit``),
``segfault`` (a crash in C).
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
    "hw4": {},                                 # no exercise calls another (the experiments call them, see _leaves)
}

HONEST = ("solved", "untouched", "partial", "syntax_error", "exception", "infinite_loop", "deleted_test",
          "invalid_json", "renamed", "stderr_noise", "memory_hog")
ATTACKS = ("edited_tests", "monkeypatch", "patch_checks", "np_allclose", "calls_reference", "overwrite_grader",
           "tampered_metadata", "prints_hidden", "huge_output", "ignores_sigint", "dead_kernel", "segfault")
KINDS = HONEST + ATTACKS
#: The kinds of a made-up class (make fake-class, the load test): every kind but the slow ones.
CLASS_KINDS = tuple(k for k in KINDS if k not in ("ignores_sigint", "huge_output", "memory_hog"))


@dataclass
class Expected:
    graded: bool
    score: float | None = None                 # the trusted score (None: not graded)
    notebook_score: float | None = None        # nbgrader's in-notebook score, when it differs from the trusted one
    flags: tuple = ()                          # the kinds of flag grades.csv must show (exactly these)
    flag_details: tuple = ()                   # text the flags must contain
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
    ex_signatures = _signatures(hw, all_ex)
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

    def body(gid, code):
        """The exercise's solution with ``code`` (indented lines) run first in the function."""
        src = solution[gid]
        return src.replace("### BEGIN SOLUTION\n", "### BEGIN SOLUTION\n" + code, 1)

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
        code = {"syntax_error": "    return (1 +\n",
                "exception": "    raise ValueError('something went wrong in my code')\n",
                "infinite_loop": "    while True:\n        pass\n"}[kind]
        head, sep, _ = src.partition("### BEGIN SOLUTION")
        cell(nb, target).source = head + "### BEGIN SOLUTION\n" + code if sep else src + "\n" + code
        s, bad = score_without({target})
        exp = Expected(True, s, exercises_failing=bad)
    elif kind == "deleted_test":
        fill(nb, all_ex)
        gid = "test_" + rng.choice(all_ex)
        nb.cells = [c for c in nb.cells if _nbg(c).get("grade_id") != gid]
        exp = Expected(True, auto_total)
    elif kind == "invalid_json":
        text = nbformat.writes(fill(nb, all_ex))
        return text[: len(text) // 2], name, Expected(False, reason_contains="invalid JSON")
    elif kind == "renamed":
        fill(nb, all_ex)
        return nbformat.writes(nb), f"{hw}_final.ipynb", Expected(False, reason_contains="renamed")
    elif kind == "stderr_noise":
        fill(nb, all_ex)
        noise = ("    import logging, os, sys\n    logging.warning('my debug message')\n"
                 "    os.write(2, b'raw stderr\\n')\n    sys.__stderr__.write('sys.__stderr__\\n')\n"
                 "    print('print to stderr', file=sys.stderr)\n")
        used = {d for deps in DEPENDS.get(hw, {}).values() for d in deps}
        for gid in all_ex:                  # not in functions others call in a loop (the output would be capped)
            if gid not in used:
                cell(nb, gid).source = body(gid, noise)
        exp = Expected(True, auto_total)
    elif kind == "memory_hog":
        fill(nb, all_ex)
        target = rng.choice(_leaves(hw, all_ex))
        cell(nb, target).source = body(target, "    hog = bytearray(3 << 30)       # 3 GiB: over the limit\n")
        s, bad = score_without({target})
        exp = Expected(True, s, exercises_failing=bad)
    # ---------------------------------------------------------------- attacks
    elif kind == "edited_tests":
        for c in nb.cells:
            if _nbg(c).get("grade") and c.cell_type == "code":
                c.source = 'print("passed")'
        exp = Expected(True, 0.0, flags=("tampering attempt",), exercises_failing=all_ex)
    elif kind == "monkeypatch":
        first = cell(nb, all_ex[0])
        first.source = "check = lambda *args, **kwargs: print('passed')\n\n" + first.source
        exp = Expected(True, 0.0, notebook_score=auto_total, flags=("in-notebook score differs",),
                       exercises_failing=all_ex)
    elif kind == "patch_checks":
        cell(nb, all_ex[0]).source = PATCH_CHECKS + "\n" + cell(nb, all_ex[0]).source
        exp = Expected(True, 0.0, notebook_score=auto_total, flags=("in-notebook score differs",),
                       exercises_failing=all_ex)
    elif kind == "np_allclose":
        for gid in all_ex:                                            # wrong everywhere
            c = cell(nb, gid)
            c.source = c.source.replace("raise NotImplementedError()", "return 0.0")
        cell(nb, all_ex[0]).source = ("np.allclose = lambda *args, **kwargs: True\n"
                                      "np.testing.assert_allclose = lambda *args, **kwargs: None\n\n"
                                      + cell(nb, all_ex[0]).source)
        exp = Expected(True, 0.0, exercises_failing=all_ex)
    elif kind == "calls_reference":
        fill(nb, all_ex)
        by_name, by_import = all_ex[0], all_ex[1]
        for gid, how in ((by_name, "mfcore.{f}"),
                         (by_import, "getattr(__import__('importlib').import_module('mfcore'), '{f}')")):
            sig = ex_signatures[gid]
            fname, params = sig.split("(", 1)[0], [p.split("=")[0].strip() for p in sig.split("(", 1)[1].rstrip(")")
                                                   .split(",") if p.strip()]
            head = solution[gid].partition("### BEGIN SOLUTION")[0]
            cell(nb, gid).source = (head + "### BEGIN SOLUTION\n    return " + how.format(f=fname)
                                    + f"({', '.join(params)})\n    ### END SOLUTION\n")
        s, bad = score_without({by_name, by_import})
        exp = Expected(True, s, flags=("calls the reference",), exercises_failing=bad,
                       flag_details=(f"mfcore.{ex_signatures[by_name].split('(')[0]}",))
    elif kind == "overwrite_grader":
        fill(nb, all_ex)
        cell(nb, all_ex[0]).source = OVERWRITE_GRADER + "\n" + cell(nb, all_ex[0]).source
        exp = Expected(True, auto_total)
    elif kind == "tampered_metadata":
        fill(nb, all_ex)
        a, b, c_, d = (all_ex * 4)[:4] if len(all_ex) < 4 else all_ex[:4]
        cell(nb, f"test_{a}").metadata["nbgrader"]["grade"] = False
        cell(nb, f"hidden_{b}").metadata["nbgrader"]["points"] = 100
        victim = cell(nb, f"test_{c_}")
        nb.cells[nb.cells.index(victim)] = nbformat.v4.new_markdown_cell(victim.source, metadata=victim.metadata)
        nb.cells.append(nbformat.v4.new_code_cell(cell(nb, f"test_{a}").source,
                                                  metadata=json.loads(json.dumps(cell(nb, f"test_{a}").metadata))))
        nb.cells = [x for x in nb.cells if _nbg(x).get("grade_id") != f"hidden_{d}"]
        exp = Expected(True, auto_total, flags=("tampering attempt",),
                       flag_details=(f"grading metadata of cell test_{a} changed", f"a copy of cell test_{a}"))
    elif kind == "prints_hidden":
        fill(nb, all_ex)
        leak = ("    import traceback, sys\n    traceback.print_stack(limit=3, file=sys.stdout)\n"
                "    print((globals().get('In') or [''])[-1])\n")
        used = {d for deps in DEPENDS.get(hw, {}).values() for d in deps}
        target = next(e for e in all_ex if e not in used)          # called once per problem, not in a loop
        cell(nb, target).source = body(target, leak)
        nb.cells.append(nbformat.v4.new_code_cell("print(In)\nraise RuntimeError('\\n'.join(In[-12:]))"))
        exp = Expected(True, auto_total)
    elif kind == "huge_output":
        fill(nb, all_ex)
        nb.cells.insert(1, nbformat.v4.new_code_cell("print('x' * 50_000_000)"))
        exp = Expected(True, auto_total, flags=("output capped",))
    elif kind == "ignores_sigint":
        fill(nb, all_ex)
        target = rng.choice(_leaves(hw, all_ex))
        cell(nb, target).source = body(target, "    import signal, time\n"
                                               "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                               "    time.sleep(10_000)\n")
        s, bad = score_without({target})
        exp = Expected(True, s, flags=("kernel restarted",), exercises_failing=bad,
                       flag_details=(f"kernel restarted at cell test_{target}",
                                     f"kernel restarted at cell hidden_{target}"))
    elif kind in ("dead_kernel", "segfault"):
        fill(nb, all_ex)
        target = all_ex[-1]
        crash = "import os\nos._exit(1)\n" if kind == "dead_kernel" else "import ctypes\nctypes.string_at(0)\n"
        cell(nb, target).source += "\n" + crash
        s, bad = score_without({target})
        exp = Expected(True, s, flags=("kernel restarted",), exercises_failing=bad,
                       flag_details=(f"kernel restarted at cell {target}",))
    else:
        raise ValueError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    return nbformat.writes(nb), name, exp


PATCH_CHECKS = """import mfcore.checks as _c
_fake = _c.Result("fake", True, "passed")
_c.run_check = lambda *args, **kwargs: _fake
_c.observe = lambda *args, **kwargs: []
_c.judge = lambda *args, **kwargs: _fake
_c.check = check = lambda *args, **kwargs: print("passed")
"""

OVERWRITE_GRADER = """import glob, os, site, sys
import mfcore, mfcore.checks
_targets = [mfcore.checks.__file__, os.path.join(os.path.dirname(mfcore.__file__), "estimator.py")]
_root = os.path.dirname(os.path.dirname(mfcore.__file__))
_targets += [os.path.join(_root, "nbgrader_config.py"),
             os.path.join(os.getcwd(), "..", "..", "..", "nbgrader_config.py")]
_targets += [os.path.join(p, "sitecustomize.py") for p in site.getsitepackages()]
_targets += [os.path.expanduser("~/.ipython/profile_default/startup/00-pwn.py")]
_written = []
for _t in _targets:
    try:
        os.makedirs(os.path.dirname(_t), exist_ok=True)
        with open(_t, "a") as _fh:
            _fh.write("\\nimport mfcore.checks as _c; _c.run_check = lambda *a, **k: None\\n")
        _written.append(_t)
    except OSError:
        pass
print("ATTACK wrote", len(_written), "file(s):", [t for t in _written if "/tmp/" not in t])
"""


def _signatures(hw: str, all_ex: list[str]) -> dict[str, str]:
    from mfcore import checks

    return {gid: checks.EXERCISES[f"{hw}.{gid}"].signature for gid in all_ex}


def _leaves(hw: str, all_ex: list[str]) -> list[str]:
    """Exercises no other exercise (nor the closing demo) calls: a hang there costs only its own cells."""
    used = {d for deps in DEPENDS.get(hw, {}).values() for d in deps}
    demo_uses = {"hw1": {"fit_gd", "rmse", "armijo_step", "gradient", "objective", "gradient_dense"},
                 "hw2": {"fit_als", "als_iteration", "als_item_step", "als_user_step", "als_gd_iteration",
                         "block_gd_step"},
                 "hw3": {"sgd_epoch", "sgd_update", "cv_grid", "plot_heatmaps", "select_best", "refit",
                         "bgd_epoch"},
                 "hw4": {"ndcg_at_k", "top_n", "biased_sgd_update", "level_dimensions", "cold_start_prediction"}
                 }.get(hw, set())
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
               kinds=CLASS_KINDS) -> dict[tuple[str, str], tuple[str, Expected]]:
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
