"""The throwaway sandbox every graded submission runs in: bubblewrap plus resource limits.

A student's notebook is hostile code.  Its kernel runs in a sandbox built by `bubblewrap
<https://github.com/containers/bubblewrap>`_ (``bwrap``, Debian package ``bubblewrap``; the sandbox Flatpak
uses), with fresh PID, network, IPC and UTS namespaces:

* the file system is **read-only** and holds only what a kernel needs: the operating system (``/usr``,
  ``/etc``), the Python installation, the virtual environment, and the ``mfcore`` package (under grading, a
  copy whose answer-key functions are blocked, see ``course/redact.py``).  The course folder (config,
  tooling, ``solutions/``), the gradebook, the other submissions and all grading state are simply absent;
* writable are only a size-limited ``/tmp`` (also ``$HOME``) and one private folder of the grader
  (the kernel's connection file and sockets, and a copy of the submission's own files as working directory);
* **no network**: the new network namespace has only a loopback device (the kernel talks to the grader
  through Unix sockets in its private folder);
* **limits** (``prlimit``): memory (heap and private mappings, RLIMIT_DATA, default 2 GiB: beyond it an
  allocation raises MemoryError), number of processes and threads
  for the sandbox's own user, size of any file written, no core dumps; the wall-clock limits per cell and per
  notebook are enforced by the grader (``course/execute.py``), which kills the whole sandbox;
* as root, the kernel runs as an unprivileged user of its own (``setpriv``), with no capabilities and
  ``no_new_privs``; when bwrap's process dies (a kill by the grader, or the grader dying), every process of
  the sandbox dies with it (PID namespace).

:func:`available` says whether this machine can build the sandbox, and why not; ``make grading-setup``
installs bubblewrap on Debian/Ubuntu.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: What `make grading-setup` installs, and where to read about it.
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`, or `make grading-setup`), "
                "or pass --no-isolation to grade without a sandbox (every row is then flagged)")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox (per process where the kernel counts per process)."""

    memory: int = 2 << 30          # bytes of heap and private memory of each process (RLIMIT_DATA)
    processes: int = 256           # processes and threads of the sandbox's user (RLIMIT_NPROC)
    file_size: int = 256 << 20     # the largest file it may write (RLIMIT_FSIZE)
    tmp_size: int = 512 << 20      # size of the writable /tmp (tmpfs)

    def describe(self) -> str:
        return (f"memory {self.memory / 2**30:g} GiB, {self.processes} processes, files up to "
                f"{self.file_size >> 20} MiB, /tmp {self.tmp_size >> 20} MiB, no network")


def _tool(name: str) -> str | None:
    return shutil.which(name) or next((p for p in (f"/usr/bin/{name}", f"/bin/{name}") if os.path.exists(p)), None)


@lru_cache(maxsize=1)
def available() -> tuple[bool, str]:
    """(True, "") if sandboxes can be built here, else (False, the reason and how to fix it)."""
    if not sys.platform.startswith("linux"):
        return False, f"the sandbox needs Linux (this is {sys.platform}); {INSTALL_HINT}"
    missing = [t for t in ("bwrap", "prlimit") + (("setpriv",) if os.geteuid() == 0 else ()) if not _tool(t)]
    if missing:
        return False, f"{', '.join(missing)} not found: {INSTALL_HINT}"
    probe = command([sys.executable, "-c", "import socket, os; print(os.getuid())"], key="probe")
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=60, env={})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bubblewrap failed to start: {exc}"
    if done.returncode != 0:
        return False, (f"bubblewrap cannot create namespaces here (exit {done.returncode}: "
                       f"{done.stderr.strip()[:300]}); {INSTALL_HINT}")
    return True, ""


def sandbox_uid(key: str) -> int:
    """The unprivileged user a sandbox runs as (root only): one per submission, so limits are per submission."""
    return 61000 + zlib.crc32(key.encode()) % 4000


def _parents(path: str, made: set) -> list[str]:
    """bwrap arguments creating the parent folders of ``path`` world-readable (bwrap makes them 0700)."""
    out = []
    parts = Path(path).parts
    for k in range(2, len(parts)):
        parent = str(Path(*parts[:k]))
        if parent not in made:
            made.add(parent)
            out += ["--perms", "0755", "--dir", parent]
    return out


def python_paths() -> list[str]:
    """Folders the Python interpreter of this process needs: its installation and the virtual environment."""
    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}
    exe = os.path.realpath(sys.executable)
    if not any(exe.startswith(p + os.sep) for p in paths):
        paths.add(os.path.dirname(exe))
    return sorted(paths)


def command(cmd: list[str], *, key: str, readonly: list[tuple[str, str]] = (), writable: list[tuple[str, str]] = (),
            env: dict | None = None, cwd: str | None = None, limits: Limits = Limits()) -> list[str]:
    """The argv that runs ``cmd`` in a fresh sandbox.

    ``readonly`` / ``writable``: (host path, path inside) pairs to mount besides the system and Python;
    ``env``: the whole environment inside (nothing else leaks in); ``key`` names the submission (root picks a
    user id from it).
    """
    bwrap = _tool("bwrap") or "bwrap"
    args = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--clearenv", "--proc", "/proc", "--dev", "/dev"]
    made: set = set()
    for top in ("/usr", "/etc"):
        args += ["--ro-bind", top, top]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--perms", "1777", "--size", str(limits.tmp_size), "--tmpfs", "/tmp"]
    made.add("/tmp")
    mounts = [(p, p, "--ro-bind") for p in python_paths()]
    mounts += [(src, dst, "--ro-bind") for src, dst in readonly]
    mounts += [(src, dst, "--bind") for src, dst in writable]
    for src, dst, how in mounts:
        if dst.startswith(("/usr/", "/etc/")):
            continue
        args += _parents(dst, made) + [how, src, dst]
    root = os.geteuid() == 0
    if root:
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-user"]
    environment = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp/home", "TMPDIR": "/tmp", "LANG": "C.UTF-8"}
    environment.update(env or {})
    for k, v in environment.items():
        args += ["--setenv", k, str(v)]
    args += ["--chdir", cwd or "/tmp"]
    args.append("--")
    if root:
        uid = str(sandbox_uid(key))
        args += [_tool("setpriv") or "setpriv", "--reuid", uid, "--regid", uid, "--clear-groups", "--inh-caps=-all",
                 "--bounding-set=-all", "--no-new-privs", "--"]
    args += [_tool("prlimit") or "prlimit", f"--data={limits.memory}", f"--nproc={limits.processes}",
             f"--fsize={limits.file_size}", "--core=0", "--"]
    # $HOME must exist: make it from inside, then run the command
    return args + ["/bin/sh", "-c", 'mkdir -p "$HOME" && exec "$@"', "sandbox", *cmd]


def chown_for(path: Path, key: str) -> None:
    """Give the sandbox's user ``path`` (recursively): the folder it may write."""
    if os.geteuid() != 0:
        return
    uid = sandbox_uid(key)
    if not os.path.isdir(path):
        os.chown(path, uid, uid, follow_symlinks=False)
        return
    for dirpath, dirnames, filenames in os.walk(path):
        os.chown(dirpath, uid, uid)
        for name in filenames:
            os.chown(os.path.join(dirpath, name), uid, uid, follow_symlinks=False)


PROBE = r"""
import os, resource, socket, sys
import mfcore
home = os.path.dirname(os.path.dirname(mfcore.__file__))
print(f"  user id {os.getuid()}, working folder {os.getcwd()}")
print(f"  next to mfcore ({home}): {sorted(os.listdir(home))}")
try:
    open(mfcore.__file__, "a")
    print("  mfcore is WRITABLE")
except OSError as exc:
    print(f"  writing to mfcore: refused ({type(exc).__name__})")
try:
    socket.create_connection(("1.1.1.1", 80), timeout=2)
    print("  network: REACHABLE")
except OSError as exc:
    print(f"  network: unreachable ({type(exc).__name__})")
try:
    bytearray(8 << 30)
    print("  allocating 8 GiB: allowed")
except MemoryError:
    print("  allocating 8 GiB: MemoryError")
print(f"  processes: at most {resource.getrlimit(resource.RLIMIT_NPROC)[0]}")
"""


def main() -> int:
    """``python -m course.sandbox`` (make grading-check): can this machine isolate students, and how well?"""
    ok, why = available()
    if not ok:
        print(f"sandbox: NOT available: {why}")
        return 1
    import mfcore

    pkg = os.path.dirname(os.path.abspath(mfcore.__file__))
    print(f"sandbox: available ({_tool('bwrap')}); limits: {Limits().describe()}")
    print("inside a sandbox, a student's code sees:")
    done = subprocess.run(command([sys.executable, "-c", PROBE], key="check", readonly=[(pkg, pkg)]),
                          capture_output=True, text=True, env={}, timeout=120)
    print(done.stdout.rstrip() or done.stderr[-2000:])
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
