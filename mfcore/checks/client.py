"""The student's side of grading: ask the grader for the problems, run the student's function, send the results.

While a homework is graded (``make autograde``), each test cell's ``check("hw.ex", func)`` call is sent to the
kernel as ``check("hw.ex", func, token="...")``; the token stands for the call, and only the grading process
knows which problems (seeds, edge cases) it means.  Here, in the student's sandboxed process:

1. the problems' inputs come from the grader (``{"op": "cases"}``), as data (:mod:`mfcore.checks.wire`);
2. the student's function runs on them (:func:`mfcore.checks.observe`);
3. the outputs go back (``{"op": "verdict"}``) and the grader compares them with the reference, in its own
   process, records the verdict for that token (the first one counts) and answers with the message to show.

The socket is ``$MFCORE_JUDGE``.  Nothing decided here counts: the grader keeps its own record.
"""

from __future__ import annotations

import socket
import struct
import time

from . import wire

TIMEOUT = 600.0                    # the grader's per-cell limit interrupts long before this


RETRIES = 3                        # a request the grader dropped unanswered is sent again (requests are idempotent)


def request(path: str, message: dict, timeout: float = TIMEOUT) -> dict:
    """Send one request to the grader listening on ``path`` and return its answer.

    Asking twice is harmless (the problems are fixed per token and the grader keeps the first verdict), so a
    connection that closes before an answer, or finds the grader's queue full, is retried after a short pause, up
    to ``RETRIES`` times.
    """
    blob = wire.dumps(message)
    for attempt in range(RETRIES):
        try:
            return _request_once(path, blob, timeout)
        except (ConnectionError, BlockingIOError):      # closed before the answer, or the listen backlog was full
            time.sleep(0.1 * 2 ** attempt)
    return _request_once(path, blob, timeout)


def _request_once(path: str, blob: bytes, timeout: float) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(struct.pack("<Q", len(blob)) + blob)
        answer = wire.loads(read_frame(sock, wire.MAX_BYTES))
    if not isinstance(answer, dict):
        raise ConnectionError("the grader sent a malformed answer")
    return answer


def read_frame(sock, max_bytes: int) -> bytes:
    """One length-prefixed frame from ``sock``."""
    (n,) = struct.unpack("<Q", _read_exactly(sock, 8))
    if n > max_bytes:
        raise wire.WireError(f"a frame of {n} bytes is over the limit of {max_bytes}")
    return _read_exactly(sock, n)


def _read_exactly(sock, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise ConnectionError("the connection closed early")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def graded_check(name: str, func, token: str):
    """Run one tokenised check under grading; the :class:`~mfcore.checks.Result` the grader sent back."""
    import os

    from . import Result, _core, observe

    path = os.environ.get("MFCORE_JUDGE", "")
    try:
        answer = request(path, {"op": "cases", "token": str(token)})
        if not answer.get("ok"):
            return Result(name, False, f"{name}: {answer.get('message', 'the grader refused this check')}")
        cases = [_core.Case(str(c.get("label", "")), c.get("args", {})) for c in answer["cases"]]
        observations = observe(name, func, cases)
        try:
            wire.dumps(observations)
        except wire.WireError as exc:
            observations = [{"error": f"the result cannot be sent to the grader: {exc}"} for _ in cases]
        answer = request(path, {"op": "verdict", "token": str(token), "obs": observations})
    except (OSError, ConnectionError, wire.WireError, KeyError, TypeError) as exc:
        return Result(name, False, f"{name}: could not reach the grader ({type(exc).__name__}: {exc}); "
                                   "this check scores 0 unless the grader recorded a verdict.")
    return Result(name, bool(answer.get("passed")), str(answer.get("message", "")), len(cases))


def report_blocked(path: str, name: str) -> None:
    """Tell the grader that the blocked reference ``name`` was called (for the instructor's flags)."""
    request(path, {"op": "blocked", "name": str(name)}, timeout=5.0)
