"""Generate the student versions: ``python -m course.release [hw ...]`` (``make release``).

Runs ``nbgrader generate_assignment --force`` for every homework in solutions/ (or the ones named):
assignments/<hw>/ is regenerated from solutions/<hw>/ — never edit it by hand — and the gradebook in
grading/ learns the cells, points and hidden tests.  The result is byte-for-byte reproducible, so a test
(tests/test_homework.py) regenerates it into a temporary folder and fails on any difference.

``--out DIR`` writes the release to DIR instead and leaves the gradebook alone (``--no-db``).
"""

from __future__ import annotations

import argparse
import sys
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m course.release", description=__doc__.split("\n\n")[0])
    p.add_argument("homework", nargs="*", help="assignment ids (default: every folder of solutions/)")
    p.add_argument("--root", help="course root (default: the current directory)")
    p.add_argument("--out", help="write the release here instead of assignments/ (no gradebook update)")
    a = p.parse_args(argv)
    hws = release(a.root, a.homework or None, Path(a.out) if a.out else None)
    print(f"released {', '.join(hws)} -> {a.out or layout.RELEASE + '/'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
