"""Execute a submission for grading: nbgrader's Execute step, in a throwaway sandbox, robust to hostile code.

:class:`IsolatedExecute` replaces nbgrader's ``Execute`` preprocessor (``nbgrader_config.py``).  It runs in the
``nbgrader autograde`` process, which never runs student code; the kernel runs in a sandbox
(:mod:`course.sandbox`) that sees mfcore with the homework's answer key blocked (:mod:`course.redact`) and
talks to a :class:`course.judge.Judge` in this process.  Per notebook:

* **test cells** are sent to the kernel tokenised (no hidden code or seed enters the kernel); their stderr
  output is relabelled stdout, so correct code that logs never loses in-notebook points either;
* **time**: each cell has the per-cell limit (``Execute.timeout``); a cell that ignores the interrupt is not
  waited for: the sandbox is killed and a new one started.  The whole notebook has its own limit;
* **a kernel that dies** (out of memory, ``os._exit``, a crash) or hangs costs only the cell that killed it:
  a new sandbox starts, the earlier non-test code cells are run again silently (they define the student's
  functions), and grading goes on with the next cell, whose points are still to win;
* **output** is capped per cell (default 100 kB) with a note; active content (JavaScript) is dropped;
* the **trusted result** (which test cells' checks passed, decided by the judge, plus the flags) is written
  to a JSON file outside every sandbox; ``course/autograde.py`` builds grades.csv from it, and keeps
  nbgrader's in-notebook score only to flag a difference.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from queue import Empty

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Any, Bool, Integer, Unicode

from . import sandbox
from .judge import Judge

JUDGE_SOCKET = "judge.sock"


def _nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test_cell(cell) -> bool:
    m = _nbg(cell)
    return cell.get("cell_type") == "code" and bool(m.get("grade")) and not m.get("solution")


class SandboxKernelManager(AsyncKernelManager):
    """Starts the kernel through ``wrap(cmd)`` (the sandbox), talks to it over Unix sockets, interrupts by message.

    A signal to the process group would reach bubblewrap, not the kernel; ipykernel's ``interrupt_request``
    makes the kernel interrupt itself from inside the sandbox.
    """

    wrap = Any(None, allow_none=True, help="callable: kernel argv -> sandboxed argv")
    owner = Any(None, allow_none=True, help="callable(path): give a file to the sandbox's user")

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        return self.wrap(cmd) if self.wrap else cmd

    def write_connection_file(self, **kwargs):
        result = super().write_connection_file(**kwargs)
        if self.owner:
            self.owner(self.connection_file)
        return result

    async def _async_interrupt_kernel(self) -> None:
        if not self.has_kernel:
            raise RuntimeError("Cannot interrupt kernel. No kernel is running!")
        msg = self.session.msg("interrupt_request", content={})
        self._connect_control_socket()
        self.session.send(self._control_socket, msg)

    interrupt_kernel = run_sync(_async_interrupt_kernel)


class IsolatedExecute(Execute):
    """nbgrader's Execute in a sandbox per submission, with a judge outside it (see the module docstring)."""

    isolation = Bool(True, help="run kernels in the sandbox (False only with make autograde NO_ISOLATION=1)"
                     ).tag(config=True)
    memory = Integer(sandbox.Limits.memory, help="memory limit of the kernel (bytes)").tag(config=True)
    processes = Integer(sandbox.Limits.processes, help="processes and threads of one sandbox").tag(config=True)
    notebook_timeout = Integer(1800, help="wall-clock limit of one notebook (seconds)").tag(config=True)
    output_limit = Integer(100_000, help="bytes of output kept per cell").tag(config=True)
    max_restarts = Integer(4, help="kernel restarts per notebook before the rest is skipped").tag(config=True)
    interrupt_grace = Integer(5, help="seconds a timed-out cell has to stop after the interrupt").tag(config=True)
    workspace = Unicode("", help="folder with <hw>.json: the blocked mfcore copy and its numba cache").tag(config=True)
    results_dir = Unicode("", help="where the trusted result of each notebook is written").tag(config=True)
    logs_dir = Unicode("", help="where each submission's grading log is written").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------------ the notebook
    def preprocess(self, nb: NotebookNode, resources: dict):
        info = resources.get("nbgrader", {})
        student, hw, name = info.get("student", "?"), info.get("assignment", "?"), info.get("notebook", "?")
        self._key = f"{hw}/{student}"
        self._private = Path(tempfile.mkdtemp(prefix="mfcore-grade-"))
        os.chmod(self._private, 0o755)
        self._judge = Judge(hw)
        self._judge.serve(str(self._private / JUDGE_SOCKET))
        self._flags: list[str] = []
        self._restarts: list[str] = []
        self._workdir: Path | None = None
        if not self.workspace:                 # nbgrader started without course.autograde: the course's own folders
            from . import layout

            root = layout.root_of()
            self.workspace = str(root / layout.SANDBOX)
            self.results_dir = self.results_dir or str(root / layout.RESULTS)
            self.logs_dir = self.logs_dir or str(root / layout.LOGS)
        self._logfile = self._open_log(hw, student)
        self._say(f"grading {student}/{hw}/{name}.ipynb; sandbox: "
                  f"{'on, ' + self._limits().describe() if self.isolation else 'OFF'}")
        self._package = self._workspace(hw)
        start = time.monotonic()
        self._error = ""
        try:
            self.nb = nb
            self.resources = resources
            self.reset_execution_trackers()
            self._check_assign_resources(resources)
            self.km = None
            self.kc = None
            self.owns_km = True
            run_sync(self._execute_all)()
        except Exception as exc:
            self._error = f"{type(exc).__name__}: {exc}"
            self._say(f"grading failed: {self._error}")
            raise
        finally:
            self._judge.close()
            self._stop_kernel_sync()
            seconds = time.monotonic() - start
            self._write_result(nb, hw, student, name, seconds)
            shutil.rmtree(self._private, ignore_errors=True)
            self._say(f"done in {seconds:.1f} s")
            self._logfile.close()
        return nb, resources

    def _limits(self) -> sandbox.Limits:
        return sandbox.Limits(memory=self.memory, processes=self.processes)

    def _open_log(self, hw, student):
        if not self.logs_dir:
            return open(os.devnull, "w")
        path = Path(self.logs_dir) / hw / f"{student}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path, "w")

    def _say(self, text: str) -> None:
        self._logfile.write(f"[{time.strftime('%H:%M:%S')}] {text}\n")
        self._logfile.flush()

    def _workspace(self, hw) -> dict:
        """The blocked mfcore copy for ``hw``; prepared here when nbgrader runs without course.autograde (the
        Formgrader's Autograde button), in the course's grading/ folder."""
        path = Path(self.workspace) / f"{hw}.json"
        if not path.exists():
            from .autograde import prepare_homework

            if self.isolation and not sandbox.available()[0]:
                raise RuntimeError(f"refusing to grade: no sandbox for student code ({sandbox.available()[1]})")
            prepare_homework(Path(self.workspace).parents[1], hw, self.isolation, self._say)
        return json.loads(path.read_text())

    # ------------------------------------------------------------------ kernels
    def _kernel_env(self, workdir: Path) -> dict:
        venv_bin = os.path.dirname(os.path.abspath(os.sys.executable))
        env = {"PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp/home", "TMPDIR": "/tmp",
               "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/mpl", "IPYTHONDIR": "/tmp/ipython",
               "JUPYTER_CONFIG_DIR": "/tmp/jupyter", "JUPYTER_DATA_DIR": "/tmp/jupyter-data",
               "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "MFCORE_QUIET": "1",
               "NBGRADER_EXECUTION": "autograde", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
               "MFCORE_JUDGE": str(self._private / JUDGE_SOCKET), "NUMBA_CACHE_DIR": str(workdir / "numba"),
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "NUMBA_NUM_THREADS": "1", "VIRTUAL_ENV": os.environ.get("VIRTUAL_ENV", "")}
        if not self.isolation:                  # no mount: the blocked copy comes first on the path instead
            env["PYTHONPATH"] = str(Path(self._package["package"]).parent)
            env["PATH"] = env["PATH"] + ":" + os.environ.get("PATH", "")
        return env

    def _new_workdir(self) -> Path:
        """A fresh private folder: the kernel's sockets, a copy of the submission's files, the numba cache."""
        workdir = Path(tempfile.mkdtemp(prefix="k-", dir=self._private))
        src = Path(self.resources.get("metadata", {}).get("path") or ".")
        shutil.copytree(src, workdir / "work", symlinks=True, ignore=shutil.ignore_patterns("*.ipynb", ".*"))
        cache = self._package.get("numba_cache")
        if cache and Path(cache).is_dir():
            shutil.copytree(cache, workdir / "numba", symlinks=True)
        else:
            (workdir / "numba").mkdir()
        sandbox.chown_for(workdir, self._key)
        return workdir

    async def _start_kernel(self) -> None:
        workdir = self._workdir = self._new_workdir()
        env = self._kernel_env(workdir)
        km = SandboxKernelManager(kernel_name=self.kernel_name or "python3", config=self.config)
        km.transport = "ipc"
        km.ip = str(workdir / "kernel")
        km.connection_file = str(workdir / "kernel.json")
        if self.isolation:
            package = self._package["package"]
            mounts = [(package, self._package["mount"])]
            km.wrap = lambda cmd: sandbox.command(
                cmd, key=self._key, readonly=mounts, writable=[(str(workdir), str(workdir)),
                                                               (str(self._private / JUDGE_SOCKET),
                                                                str(self._private / JUDGE_SOCKET))],
                env=env, cwd=str(workdir / "work"), limits=self._limits())
            km.owner = lambda path: sandbox.chown_for(Path(path), self._key)
        self.km = km
        self.owns_km = True
        out = open(workdir / "kernel-output.log", "ab")
        await ensure_async(km.start_kernel(extra_arguments=self.extra_arguments, cwd=str(workdir / "work"),
                                           env={**os.environ, **env} if not self.isolation else {},
                                           stdout=out, stderr=out))
        out.close()
        self.kc = km.client()
        await ensure_async(self.kc.start_channels())
        try:
            await ensure_async(self.kc.wait_for_ready(timeout=self.startup_timeout))
        except RuntimeError:
            await self._stop_kernel(show_output=True)
            raise
        self.kc.allow_stdin = False

    async def _stop_kernel(self, show_output: bool = False) -> None:
        if self.kc is not None:
            try:
                await ensure_async(self.kc.stop_channels())
            except Exception:                                                    # noqa: BLE001
                pass
        if self.km is not None:
            try:
                await ensure_async(self.km.shutdown_kernel(now=True))
            except Exception:                                                    # noqa: BLE001
                pass
            try:
                await ensure_async(self.km.cleanup_resources())
            except Exception:                                                    # noqa: BLE001
                pass
        self.kc = self.km = None
        if self._workdir is not None:
            log = self._workdir / "kernel-output.log"
            if show_output and log.exists() and log.stat().st_size:
                with open(log, "rb") as fh:
                    fh.seek(max(0, log.stat().st_size - 3000))
                    tail = fh.read().decode(errors="replace")
                self._say("the kernel's own output (last 3000 bytes):\n" + tail)
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    _stop_kernel_sync = run_sync(_stop_kernel)

    async def _idle(self, seconds: float) -> bool:
        """True if the kernel answers a kernel_info request within ``seconds`` (it is not stuck in a cell)."""
        try:
            msg_id = self.kc.kernel_info()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                try:
                    left = max(0.05, deadline - time.monotonic())
                    msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=left))
                except Empty:
                    continue
                if msg["parent_header"].get("msg_id") == msg_id:
                    return True
        except Exception:                                                        # noqa: BLE001
            return False
        return False

    async def _replay(self, sources: list[str]) -> str:
        """Run earlier cells again in a fresh kernel, silently; "" or why the replay stopped."""
        for k, src in enumerate(sources):
            msg_id = self.kc.execute(src, store_history=False, silent=True, stop_on_error=False)
            deadline = time.monotonic() + (self.timeout or 60)
            while True:
                if time.monotonic() > deadline:
                    return f"replaying an earlier cell took longer than {self.timeout} s"
                try:
                    msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=1))
                except Empty:
                    if not await ensure_async(self.kc.is_alive()):
                        return "the kernel died while replaying an earlier cell"
                    continue
                if msg["parent_header"].get("msg_id") == msg_id:
                    break
        return ""

    # ------------------------------------------------------------------ cells
    async def _execute_all(self) -> None:
        await self._start_kernel()
        self._say("kernel started")
        deadline = time.monotonic() + self.notebook_timeout
        replay: list[str] = []
        count = 0
        for index, cell in enumerate(self.nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            label = _nbg(cell).get("grade_id") or f"#{index + 1}"
            if time.monotonic() > deadline or self.kc is None:
                why = (f"the notebook's time limit ({self.notebook_timeout} s) was reached" if self.kc else
                       f"the kernel was restarted {self.max_restarts} times")
                cell.outputs = [_error("NotRun", f"not run: {why}")]
                if "notebook time limit" not in " ".join(self._flags) and self.kc:
                    self._flags.append(f"notebook time limit reached at cell {label}")
                continue
            test = is_test_cell(cell)
            original = cell.source
            cell.source = self._judge.tokenise(label, original) if test else original
            self._out_used, self._out_dropped = 0, 0
            died = False
            count += 1
            started = time.monotonic()
            try:
                await self.async_execute_cell(cell, index, execution_count=count)
            except DeadKernelError:
                died = True
            except Exception as exc:           # a broken message from a dying kernel, a closed socket, ...
                self._say(f"cell {label}: {type(exc).__name__}: {exc}")
                died = True
            finally:
                cell.source = original
            timed_out = any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError"
                            for o in cell.get("outputs", []))
            self._say(f"cell {label}: {time.monotonic() - started:.2f} s"
                      + (", timed out" if timed_out else "") + (", the kernel died" if died else ""))
            self._tidy_outputs(cell, test)
            stuck = timed_out and not died and not await self._idle(self.interrupt_grace)
            if died or stuck:
                what = "the kernel died (out of memory, os._exit, a crash?)" if died else \
                    "the cell did not stop after its time limit and the interrupt"
                cell.outputs.append(_error("KernelRestarted", f"{what} while running this cell; grading started a "
                                                              "new kernel and went on with the next cell"))
                self._flags.append(f"kernel restarted at cell {label}")
                self._restarts.append(label)
                self._say(f"cell {label}: {what}; restarting")
                await self._stop_kernel(show_output=True)
                if len(self._restarts) > self.max_restarts:
                    continue
                await self._start_kernel()
                why = await self._replay(replay)
                if why:
                    self._say(f"replay stopped: {why}")
            elif not test:
                replay.append(original)

    def output(self, outs, msg, display_id, cell_index):
        """nbclient's output hook, with the per-cell cap."""
        content = msg.get("content", {})
        size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values()) + \
            sum(len(str(x)) for x in content.get("traceback", []))
        room = self.output_limit - self._out_used
        if size > room:
            self._out_dropped += size - max(room, 0)
            if msg["msg_type"] == "stream" and room > 0:
                content["text"] = content["text"][:room]
                self._out_used = self.output_limit
                return super().output(outs, msg, display_id, cell_index)
            if msg["msg_type"] != "error":
                return None
            content["traceback"] = [str(x)[:2000] for x in content.get("traceback", [])[:20]]
            content["evalue"] = str(content.get("evalue", ""))[:2000]
        self._out_used += min(size, max(room, 0))
        return super().output(outs, msg, display_id, cell_index)

    def _tidy_outputs(self, cell, test: bool) -> None:
        for out in cell.get("outputs", []):
            if test and out.get("output_type") == "stream" and out.get("name") == "stderr":
                out["name"] = "stdout"
            data = out.get("data")
            if data:
                data.pop("application/javascript", None)
                html = str(data.get("text/html", ""))
                if "<script" in html.lower() or "javascript:" in html.lower():
                    data.pop("text/html", None)
        if self._out_dropped:
            cell.outputs.append(NotebookNode(output_type="stream", name="stdout",
                                             text=f"\n[output capped at {self.output_limit // 1000} kB: "
                                                  f"{self._out_dropped // 1000} kB more were not kept]\n"))
            flag = "output capped"
            if flag not in self._flags:
                self._flags.append(flag)

    # ------------------------------------------------------------------ the trusted result
    def _write_result(self, nb, hw, student, name, seconds) -> None:
        if not self.results_dir:
            return
        cells = {}
        for cell in nb.cells:
            if is_test_cell(cell):
                gid = _nbg(cell).get("grade_id")
                passed, detail = self._judge.cell_result(gid)
                cells[gid] = {"passed": passed, "detail": detail}
        flags = list(self._flags)
        refs = self._judge.calls_reference
        if refs:
            flags.insert(0, "calls the reference (" + ", ".join(refs) + ")")
        if not self.isolation:
            flags.append("graded without isolation")
        result = {"student": student, "assignment": hw, "notebook": name, "cells": cells, "flags": flags,
                  "error": self._error,
                  "isolated": bool(self.isolation), "seconds": round(seconds, 2), "restarts": self._restarts}
        path = Path(self.results_dir) / hw / student / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=1))
        os.replace(tmp, path)


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


__all__ = ["IsolatedExecute", "SandboxKernelManager", "is_test_cell"]
_ = asyncio
