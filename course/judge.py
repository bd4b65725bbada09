"""The grader's side of every check: problems out, results in, verdicts kept here.

Under grading, the student's kernel never sees a test cell's checks as written.  :meth:`Judge.tokenise` turns
each ``check("hw.ex", func, seed=..., edge=...)`` statement of a test cell into
``check("hw.ex", func, token="<random>")`` before the cell is sent to the kernel, and remembers what the token
stands for.  So the hidden tests' code and seeds never enter the student's process (nothing it prints can
leak them), and a verdict belongs to one call of one test cell.

The kernel asks, over a Unix socket mounted into its sandbox (``$MFCORE_JUDGE``):

* ``{"op": "cases", "token": T}``: the problems' inputs, as data (:mod:`mfcore.checks.wire`);
* ``{"op": "verdict", "token": T, "obs": [...]}``: here the outputs are compared with the mfcore reference
  (:func:`mfcore.checks.judge`), in this process, which never runs student code.  The first verdict for a
  token is kept; asking again returns it.  Hidden problems get a message without their data;
* ``{"op": "blocked", "name": ...}``: a blocked reference was called (a flag for the instructor).

The trusted score of a test cell is its points when every call in it has a passing verdict, else 0.
"""

from __future__ import annotations

import ast
import os
import re
import secrets
import socket
import socketserver
import struct
import threading
from dataclasses import dataclass, field

from mfcore import checks
from mfcore.checks import wire
from mfcore.checks._core import CALLS_REFERENCE, display_name
from mfcore.checks.client import read_frame

MAX_REQUEST = 64 << 20         # bytes of one request
MAX_REQUESTS = 20_000          # requests per notebook
MAX_CONNECTIONS = 4            # connections served at once (each is a thread of the grading process)
MAX_WAITING = 64               # connections that may wait for a slot; a flood beyond that gets nothing
SLOT_WAIT = 60.0               # seconds a connection waits for a slot


@dataclass
class Call:
    """One ``check(...)`` statement of a test cell."""

    grade_id: str
    index: int
    name: str
    func: str
    seed: int | None
    edge: bool

    @property
    def hidden(self) -> bool:
        return self.seed is not None


@dataclass
class Verdict:
    passed: bool
    message: str
    calls_reference: bool = False


@dataclass
class Judge:
    """Tokens, problems and verdicts of one notebook being graded."""

    homework: str
    calls: dict[str, Call] = field(default_factory=dict)             # token -> call
    verdicts: dict[str, Verdict] = field(default_factory=dict)        # token -> first verdict
    blocked_calls: list[str] = field(default_factory=list)
    requests: int = 0
    _cases: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: socketserver.BaseServer | None = None

    # ------------------------------------------------------------------ test cells
    def tokenise(self, grade_id: str, source: str) -> str:
        """What the kernel runs for a test cell: its statements, each check call tokenised, no comments.

        (Comments such as the hidden-test markers stay out of the kernel too.)
        """
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return source
        out = []
        for index, stmt in enumerate(tree.body):
            call = _check_call(stmt)
            if call is None or call[0] not in checks.EXERCISES or not call[0].startswith(self.homework + "."):
                out.append(ast.get_source_segment(source, stmt) or ast.unparse(stmt))
                continue
            name, func, seed, edge = call
            token = secrets.token_hex(12)
            self.calls[token] = Call(grade_id, index, name, func, seed, edge)
            out.append(f"check({name!r}, {func}, token={token!r})")
        return "\n".join(out) + "\n"

    def cell_calls(self, grade_id: str) -> list[str]:
        return [t for t, c in self.calls.items() if c.grade_id == grade_id]

    # ------------------------------------------------------------------ requests
    def handle(self, request) -> dict:
        with self._lock:
            self.requests += 1
            if self.requests > MAX_REQUESTS:
                return {"ok": False, "message": "too many requests to the grader"}
        if not isinstance(request, dict):
            return {"ok": False, "message": "malformed request"}
        op = request.get("op")
        if op == "blocked":                 # only names of this homework's answer key: never resolve anything else
            name = str(request.get("name"))
            with self._lock:
                if name in checks.answer_key(self.homework) and name not in self.blocked_calls:
                    self.blocked_calls.append(name)
            return {"ok": True}
        call = self.calls.get(str(request.get("token")))
        if call is None:
            return {"ok": False, "message": "this check is not one of the graded test cells"}
        cases = self._cases_of(request["token"], call)
        if op == "cases":
            return {"ok": True, "cases": [{"label": "a hidden problem" if call.hidden else c.label, "args": c.args}
                                          for c in cases]}
        if op == "verdict":
            with self._lock:
                known = self.verdicts.get(request["token"])
            if known is None:
                obs = request.get("obs")
                if not isinstance(obs, list):
                    obs = []
                result = checks.judge(call.name, obs, cases, hidden=call.hidden)
                refers = any(isinstance(o, dict) and str(o.get("error", "")).startswith(CALLS_REFERENCE)
                             for o in obs)
                with self._lock:
                    known = self.verdicts.setdefault(request["token"], Verdict(result.passed, result.message, refers))
            return {"ok": True, "passed": known.passed, "message": known.message}
        return {"ok": False, "message": f"unknown request {op!r}"}

    def _cases_of(self, token: str, call: Call):
        with self._lock:
            cached = self._cases.get(token)
        if cached is None:
            cached = checks.cases_for(call.name, call.seed, call.edge)
            with self._lock:
                self._cases[token] = cached
        return cached

    # ------------------------------------------------------------------ the socket
    def serve(self, path: str) -> None:
        """Answer requests on the Unix socket ``path`` in a background thread."""
        judge = self
        slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        waiting = [0]
        waiting_lock = threading.Lock()

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                # An honest kernel asks one thing at a time, but under load its next request can arrive before the
                # thread that answered the previous one has let go of its slot: wait for a slot (a dropped request
                # would cost the student the check).  Only a flood beyond MAX_WAITING is turned away.
                with waiting_lock:
                    if waiting[0] >= MAX_WAITING:
                        return
                    waiting[0] += 1
                try:
                    got = slots.acquire(timeout=SLOT_WAIT)
                finally:
                    with waiting_lock:
                        waiting[0] -= 1
                if not got:
                    return
                try:
                    self._answer()
                finally:
                    slots.release()

            def _answer(self):
                self.request.settimeout(120)
                try:
                    request = wire.loads(read_frame(self.request, MAX_REQUEST), max_bytes=MAX_REQUEST)
                    answer = judge.handle(request)
                except (wire.WireError, OSError, ConnectionError, ValueError, KeyError, TypeError) as exc:
                    answer = {"ok": False, "message": f"bad request: {exc}"[:500]}
                try:
                    blob = wire.dumps(answer)
                    self.request.sendall(struct.pack("<Q", len(blob)) + blob)
                except OSError:
                    pass

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True
            request_queue_size = MAX_WAITING           # the listen backlog (socketserver's default is 5)

        if os.path.exists(path):
            os.unlink(path)
        self._server = Server(path, Handler)
        os.chmod(path, 0o777)
        threading.Thread(target=self._server.serve_forever, name="judge", daemon=True).start()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ------------------------------------------------------------------ results
    def cell_result(self, grade_id: str) -> tuple[bool, str]:
        """(every call of the cell passed, what failed) from the verdicts kept here."""
        tokens = self.cell_calls(grade_id)
        if not tokens:
            return False, "no check(...) calls found in this test cell"
        failed = []
        for t in tokens:
            v = self.verdicts.get(t)
            if v is None:
                failed.append(f"{self.calls[t].name}: not run (the cell stopped before it, or check was replaced)")
            elif not v.passed:
                failed.append(v.message.splitlines()[0])
        return not failed, "; ".join(failed)

    @property
    def calls_reference(self) -> list[str]:
        """The blocked references the notebook called (as a student would write them, e.g. mfcore.rmse)."""
        said = [v.message.split(" calls ", 1)[1].split(",", 1)[0] for v in self.verdicts.values()
                if v.calls_reference and " calls " in v.message]
        names = {n for n in said if re.fullmatch(r"mfcore(\.\w+){1,3}", n)}
        if said and not names:
            names.add("an mfcore reference")
        for dotted in self.blocked_calls:
            try:
                names.add(display_name(dotted))
            except Exception:                                                   # noqa: BLE001
                names.add(dotted)
        return sorted(names)


def _check_call(stmt):
    """(name, func, seed, edge) if ``stmt`` is ``check("hw.ex", func[, seed=int][, edge=bool])``, else None."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return None
    c = stmt.value
    if not (isinstance(c.func, ast.Name) and c.func.id == "check" and len(c.args) == 2
            and isinstance(c.args[0], ast.Constant) and isinstance(c.args[0].value, str)
            and isinstance(c.args[1], ast.Name)):
        return None
    kw = {"seed": None, "edge": False}
    for k in c.keywords:
        if k.arg not in kw or not isinstance(k.value, ast.Constant):
            return None
        kw[k.arg] = k.value.value
    return c.args[0].value, c.args[1].id, kw["seed"], bool(kw["edge"])


def parse_calls(source: str) -> list[dict] | None:
    """The ``check(...)`` calls of a test cell, or None if it holds anything else (tests assert our cells don't)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    calls = [_check_call(stmt) for stmt in tree.body]
    if not calls or any(c is None for c in calls):
        return None
    return [{"name": n, "func": f, "seed": s, "edge": e} for n, f, s, e in calls]


def probe(path: str) -> bool:
    """True when a judge answers on ``path`` (used by the tests)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(path)
        return True
    except OSError:
        return False
