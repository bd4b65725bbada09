"""Running nbgrader from the grading scripts: the right interpreter, PATH, config and environment."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path


def env_for(root: Path) -> dict:
    """The environment of nbgrader and of the processes it starts.

    * the venv's bin/ first on PATH (nbgrader runs ``alembic`` and the kernel by name);
    * the course root on PYTHONPATH (``course.nbgrader_ext`` in nbgrader_config.py);
    * an empty JUPYTER_CONFIG_DIR unless one is set: a personal ~/.jupyter/nbgrader_config.py would
      silently change the generated notebooks;
    * progress bars off (stderr output zeroes a test cell).
    """
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(root) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if not env.get("JUPYTER_CONFIG_DIR"):
        empty = Path(tempfile.gettempdir()) / "mfcore-empty-jupyter-config"
        empty.mkdir(exist_ok=True)
        env["JUPYTER_CONFIG_DIR"] = str(empty)
    env.setdefault("MFCORE_QUIET", "1")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def nbgrader(root: Path, *args: str, log: Path | None = None, check: bool = False) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in the course root; output goes to ``log`` (appended) or is captured."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    if log is None:
        done = subprocess.run(cmd, cwd=root, env=env_for(root), capture_output=True, text=True)
    else:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as fh:
            fh.write(f"\n$ nbgrader {' '.join(args)}\n")
            fh.flush()
            done = subprocess.run(cmd, cwd=root, env=env_for(root), stdout=fh, stderr=subprocess.STDOUT, text=True)
    if check and done.returncode != 0:
        tail = (done.stdout or "")[-3000:] if log is None else log.read_text()[-3000:]
        raise RuntimeError(f"nbgrader {' '.join(args)} failed (exit {done.returncode}):\n{tail}")
    return done
