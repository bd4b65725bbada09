"""The clean process of the re-check: run a submission's code, then the student's functions on the checks' problems.

    python -m course.recheck_child JOBFILE

JOBFILE (JSON) lists the code cells to run (the submission's cells, test cells excluded), the groups of
checks (one group per test cell) and a time limit per cell / group.  This process only *executes*: it
writes what the student's functions returned (plain arrays, ``.npz``, no pickle) and progress lines;
the parent (course/recheck.py), which never runs student code, compares them with the reference.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys


class _Timeout(BaseException):
    """Raised by the alarm: a cell or a group ran past its time limit."""


def _alarm(signum, frame):
    raise _Timeout()


def _undefined(name):
    def missing(*args, **kwargs):
        raise NameError(f"{name} is not defined: did the cell that defines it fail?")
    return missing


def _progress(path, line):
    with open(path, "a") as fh:
        fh.write(line + "\n")


def _save(out_dir, g, j, observations):
    """observations: list of dicts of arrays, or {"error": msg}; arrays to .npz, errors to JSON."""
    import numpy as np

    arrays, errors = {}, {}
    for k, obs in enumerate(observations):
        if "error" in obs:
            errors[k] = str(obs["error"])
            continue
        for key, value in obs.items():
            arr = np.asarray(value)
            if arr.dtype.kind not in "biufcU":
                errors[k] = f"the result {key!r} could not be stored (dtype {arr.dtype})"
                break
            arrays[f"c{k}__{key}"] = arr
    np.savez(os.path.join(out_dir, f"g{g}_j{j}.npz"), **arrays)
    with open(os.path.join(out_dir, f"g{g}_j{j}.json"), "w") as fh:
        json.dump({"n": len(observations), "errors": errors}, fh)


def main(jobfile: str) -> None:
    with open(jobfile) as fh:
        job = json.load(fh)
    out_dir, status = job["out_dir"], job["status"]
    import matplotlib
    matplotlib.use("Agg")
    import mfcore.checks as checks                    # before any student code: the checks' snapshot

    timeout = float(job["timeout"])
    signal.signal(signal.SIGALRM, _alarm)
    ns = {"__name__": "__main__", "__builtins__": __builtins__, "display": lambda *a, **k: None}
    for k, src in enumerate(job["cells"]):
        if k in job.get("skip_cells", []):
            continue
        _progress(status, f"cell {k}")
        src = "\n".join(re.sub(r"^(\s*)[%!].*$", r"\1pass", line) for line in src.splitlines())   # magics
        try:
            signal.setitimer(signal.ITIMER_REAL, timeout)
            exec(compile(src, f"<cell {k}>", "exec"), ns)
        except BaseException:                         # a broken cell is skipped, like in the notebook
            pass
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    for g, group in enumerate(job["groups"]):
        if g not in job["todo"]:
            continue
        _progress(status, f"group {g}")
        results = []
        try:
            signal.setitimer(signal.ITIMER_REAL, timeout)
            for call in group:
                func = ns.get(call["func"]) or _undefined(call["func"])
                obs = checks.observe(call["name"], func, seed=call["seed"], edge=call["edge"])
                results.append(obs)
        except _Timeout:
            results = None
        except BaseException as exc:                  # e.g. SystemExit from student code
            results = [[{"error": f"{type(exc).__name__}: {exc}"}] for _ in group]
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if results is None:
            _progress(status, f"timeout {g}")
            continue
        for j, obs in enumerate(results):
            _save(out_dir, g, j, obs)
        _progress(status, f"done {g}")
    _progress(status, "finished")
    sys.stdout.flush()
    os._exit(0)                                       # no atexit hooks of student code


if __name__ == "__main__":
    main(sys.argv[1])
