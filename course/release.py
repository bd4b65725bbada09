"""Generate the student versions: ``python -m course.release [hw ...]`` (``make release``); put them on the
course's local exchange: ``python -m course.release --exchange`` (``make course``, run by ``make lab``).

Runs ``nbgrader generate_assignment --force`` for every homework in solutions/ (or the ones named):
assignments/<hw>/ is regenerated from solutions/<hw>/ — never edit it by hand — and the gradebook in
grading/ learns the cells, points and hidden tests.  The result is byte-for-byte reproducible, so a test
(tests/test_homework.py) regenerates it into a temporary folder and fails on any difference.

``--out DIR`` writes the release to DIR instead and leaves the gradebook alone (``--no-db``).

``--exchange`` sets up what JupyterLab's nbgrader panels need on a fresh clone: the ``grading/`` folder, the
gradebook with every homework (the Formgrader lists them; a scratch release into grading/release/ leaves
assignments/ alone), the committed student versions released into ``grading/exchange`` (the Assignment List
shows them: Fetch, Validate, Submit) and the student's folder ``my-homework/``.  It is idempotent: a homework
whose sources, student version, gradebook entry and exchange copy are unchanged since the last run is skipped
(``grading/course.json`` remembers what was released); a changed one is released again (``--force``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

from . import layout
from .nbgrader_run import nbgrader


def release(root: Path, homeworks: list[str] | None = None, out: Path | None = None) -> list[str]:
    root = layout.root_of(root)
    hws = homeworks or layout.homeworks(root)
    if not hws:
        raise SystemExit(f"no homework found in {root / layout.SOURCE}")
    for hw in hws:
        if not (root / layout.SOURCE / hw).is_dir():
            raise SystemExit(f"{layout.SOURCE}/{hw} does not exist; homeworks: {', '.join(layout.homeworks(root))}")
        args = ["generate_assignment", hw, "--force"]
        if out is not None:
            args += ["--no-db", f"--CourseDirectory.release_directory={Path(out).resolve()}"]
        else:
            (root / layout.GRADING).mkdir(exist_ok=True)          # sqlite cannot create the gradebook's folder
        nbgrader(root, *args, check=True)
    return hws


def _digest(*folders: Path) -> str:
    """A hash of every file of the folders (names and bytes), editor state (.ipynb_checkpoints/) left out."""
    h = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts):
            h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _in_gradebook(root: Path, hw: str) -> bool:
    if not (root / layout.GRADEBOOK).is_file():
        return False
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook("sqlite:///" + str(root / layout.GRADEBOOK), layout.COURSE_ID) as gb:
        try:
            return bool(gb.find_assignment(hw).notebooks)
        except MissingEntry:
            return False


def prepare(root=None, homeworks: list[str] | None = None, say=print) -> dict[str, str]:
    """Set up the gradebook and the local exchange for JupyterLab (``make course``); {hw: what was done}."""
    root = layout.root_of(root)
    hws = homeworks or layout.homeworks(root)
    if not hws:
        raise SystemExit(f"no homework found in {root / layout.SOURCE}")
    (root / layout.GRADING).mkdir(exist_ok=True)              # sqlite cannot create the gradebook's folder
    (root / layout.LOGS).mkdir(parents=True, exist_ok=True)
    (root / layout.STUDENT_WORK).mkdir(exist_ok=True)         # the Assignment List changes into it: it must exist
    state_file = root / layout.COURSE_STATE
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        state = {}
    done = {}
    for hw in hws:
        source, student = root / layout.SOURCE / hw, root / layout.RELEASE / hw
        if not source.is_dir():
            raise SystemExit(f"{layout.SOURCE}/{hw} does not exist; homeworks: {', '.join(layout.homeworks(root))}")
        if not student.is_dir():
            raise SystemExit(f"{layout.RELEASE}/{hw} does not exist: run `make release` first")
        outbound = root / layout.EXCHANGE / layout.COURSE_ID / "outbound" / hw
        digest = _digest(source, student)
        if (state.get(hw) == digest and outbound.is_dir() and _digest(outbound) == _digest(student)
                and _in_gradebook(root, hw)):
            done[hw] = "up to date"
            continue
        start = time.monotonic()
        log = root / layout.LOGS / f"course-{hw}.log"
        log.unlink(missing_ok=True)
        # the gradebook learns the homework's cells and points (scratch release: assignments/ is not rewritten) ...
        nbgrader(root, "generate_assignment", hw, "--force",
                 f"--CourseDirectory.release_directory={root / layout.SCRATCH_RELEASE}", log=log, check=True)
        # ... and the committed student version goes on the exchange, where the Assignment List finds it
        nbgrader(root, "release_assignment", hw, "--force", log=log, check=True)
        state[hw] = digest
        state_file.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")
        stale = _stale_release(root, hw)
        done[hw] = f"released in {time.monotonic() - start:.0f} s" + (f"; {stale}" if stale else "")
    for hw, what in done.items():
        say(f"{hw}: {what}")
    say(f"exchange: {layout.EXCHANGE}/{layout.COURSE_ID}/outbound ({', '.join(hws)}); gradebook: {layout.GRADEBOOK}; "
        f"fetched homework goes to {layout.STUDENT_WORK}/<hw>/")
    return done


def _stale_release(root: Path, hw: str) -> str:
    """A warning when the committed student version is not what solutions/ generates (someone forgot make release)."""
    def cells(path: Path):
        try:
            return json.loads(path.read_text("utf-8"))["cells"]
        except (OSError, ValueError, KeyError):
            return None

    fresh, committed = root / layout.SCRATCH_RELEASE / hw, root / layout.RELEASE / hw
    for nb in sorted(fresh.glob("*.ipynb")):
        if cells(nb) != cells(committed / nb.name):
            return (f"WARNING: {layout.RELEASE}/{hw}/{nb.name} is not what {layout.SOURCE}/{hw} generates: run "
                    "`make release` (and commit assignments/), then `make course` again")
    return ""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m course.release", description=__doc__.split("\n\n")[0])
    p.add_argument("homework", nargs="*", help="assignment ids (default: every folder of solutions/)")
    p.add_argument("--root", help="course root (default: the current directory)")
    p.add_argument("--out", help="write the release to DIR instead of assignments/ (no gradebook update)")
    p.add_argument("--exchange", action="store_true",
                   help="set up grading/ (gradebook) and release the student versions to the local exchange")
    a = p.parse_args(argv)
    if a.exchange:
        if a.out:
            p.error("--exchange releases assignments/ to the exchange; it takes no --out")
        prepare(a.root, a.homework or None)
        return 0
    hws = release(a.root, a.homework or None, Path(a.out) if a.out else None)
    print(f"released {', '.join(hws)} -> {a.out or layout.RELEASE + '/'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
