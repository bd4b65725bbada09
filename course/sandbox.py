"""Run a command (the grading kernel, or the re-check process) with parts of the file system hidden.

    python -m course.sandbox --hide DIR [--hide FILE ...] -- COMMAND ...

On Linux with ``unshare`` (util-linux) and user namespaces, COMMAND runs in new user, mount and PID
namespaces: every ``--hide`` directory is covered by an empty, read-only tmpfs and every ``--hide``
file by /dev/null, so the command cannot read the instructors' solutions, the submissions or the
gradebook.  A second, nested user + mount namespace then *locks* those mounts: even as root inside,
the command cannot unmount them to look underneath.  The new PID namespace (with its own /proc) keeps
it from reaching the files through another process's /proc/PID/root, and when the command exits
every process it started is gone.

Without namespace support, :func:`available` says why and the caller decides (the autograder runs
the kernel unsandboxed and says so in its report).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import sys
from functools import lru_cache

MS_RDONLY = 1
MS_BIND = 4096
MS_REC = 16384


def command(hide, cmd: list[str]) -> list[str]:
    """The argv that runs ``cmd`` with the paths in ``hide`` covered (stage 1 of this module)."""
    args = [sys.executable, "-m", "course.sandbox"]
    for path in hide:
        args += ["--hide", os.path.abspath(path)]
    return args + ["--"] + list(cmd)


@lru_cache(maxsize=1)
def available() -> tuple[bool, str]:
    """(True, "") if the namespaces work here, else (False, the reason)."""
    if not sys.platform.startswith("linux"):
        return False, f"namespaces need Linux, this is {sys.platform}"
    unshare = shutil.which("unshare")
    if unshare is None:
        return False, "the unshare command (util-linux) is not installed"
    probe = [sys.executable, "-c", "import sys; sys.exit(0)"]
    try:
        done = subprocess.run(_stage1(unshare, [], probe), capture_output=True, text=True, timeout=30,
                              env=_env())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"unshare failed: {exc}"
    if done.returncode != 0:
        return False, f"user/mount/pid namespaces are not permitted here: {done.stderr.strip()[:200]}"
    return True, ""


_OUTER = ["--user", "--map-root-user", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc",
          "--propagation", "private"]


def _env():
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _stage1(unshare: str, hide: list[str], cmd: list[str]) -> list[str]:
    inner = [sys.executable, "-m", "course.sandbox", "--inside"]
    for path in hide:
        inner += ["--hide", path]
    return [unshare, *_OUTER, "--", *inner, "--", *cmd]


def _mount(libc, source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    res = libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                     data.encode() if data else None)
    if res != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def _stage2(hide: list[str], cmd: list[str]) -> None:
    """Inside the new namespaces: cover the hidden paths, then lock them in a nested namespace."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    cwd = os.getcwd()
    for path in hide:
        if os.path.isdir(path):
            _mount(libc, "tmpfs", path, "tmpfs", MS_RDONLY, "size=4k,mode=0555")
        elif os.path.exists(path):
            _mount(libc, "/dev/null", path, None, MS_BIND, None)
    os.chdir(cwd)                                # re-resolve the working directory through the new mounts
    unshare = shutil.which("unshare")
    os.execv(unshare, [unshare, "--user", "--map-root-user", "--mount", "--", *cmd])


def main(argv: list[str]) -> None:
    if "--" not in argv:
        sys.exit("usage: python -m course.sandbox [--hide PATH ...] -- COMMAND ...")
    split = argv.index("--")
    opts, cmd = argv[:split], argv[split + 1:]
    inside = "--inside" in opts
    hide = [opts[k + 1] for k, a in enumerate(opts) if a == "--hide"]
    if inside:
        _stage2(hide, cmd)
    ok, why = available()
    if not ok:
        sys.exit(f"course.sandbox: cannot sandbox: {why}")
    args = _stage1(shutil.which("unshare"), hide, cmd)
    os.execve(args[0], args, _env())


if __name__ == "__main__":
    main(sys.argv[1:])
