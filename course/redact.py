"""A copy of mfcore for grading one homework: the functions that compute its answers are blocked.

Each exercise of :mod:`mfcore.checks` declares its *answer key*: the mfcore reference and the private helpers
and numba kernels it is made of (``Exercise.answer_key``).  While a homework is graded, the student's sandbox
sees, at the very path of the installed package, a copy of ``mfcore`` in which every function of that
homework's answer key keeps its name, signature and docstring but whose body only raises
:class:`mfcore.errors.ReferenceBlocked` (numba decorators removed).  So the reference cannot be reached by
name, ``importlib``, ``importlib.reload`` or by reading the source: the source is not there (no
``__pycache__`` either).  Everything else of mfcore works as usual, including the other homeworks' references.

Line numbers are kept (the blocked bodies are padded), so tracebacks through mfcore read as usual.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import json
import os
import shutil
from pathlib import Path

IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc", "*.so.lock")


def _module_and_qualname(dotted: str) -> tuple[str, str]:
    parts = dotted.split(".")
    for k in range(len(parts) - 1, 0, -1):
        name = ".".join(parts[:k])
        try:
            importlib.import_module(name)
        except ImportError:
            continue
        return name, ".".join(parts[k:])
    raise ImportError(f"no module in {dotted!r}")


def _find(tree: ast.Module, qualname: str):
    body, node = tree.body, None
    for part in qualname.split("."):
        node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == part), None)
        if node is None:
            return None
        body = node.body
    return node if isinstance(node, ast.FunctionDef) else None


def _is_jit(decorator: ast.expr) -> bool:
    text = ast.unparse(decorator)
    return "jit" in text or "vectorize" in text


def block_functions(source: str, blocked: dict[str, tuple[str, str]]) -> str:
    """``source`` with the functions ``{qualname: (dotted name, exercise)}`` replaced by raising stubs."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    edits = []
    for qualname, (dotted, exercise) in blocked.items():
        node = _find(tree, qualname)
        if node is None:
            raise LookupError(f"{dotted}: no function {qualname!r} in the module's source")
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        indent = " " * node.col_offset
        keep = [f"{indent}@{ast.unparse(d)}\n" for d in node.decorator_list if not _is_jit(d)]
        doc = ast.get_docstring(node, clean=False)
        body = (f"{doc!r}; " if doc is not None else "") + \
            f"from mfcore.errors import ReferenceBlocked; raise ReferenceBlocked({dotted!r}, {exercise!r})"
        if node.body[0].lineno == node.lineno:                       # a one-line def
            stub = keep + [f"{indent}def {node.name}({ast.unparse(node.args)}): {body}\n"]
        else:
            stub = keep + [f"{indent}def {node.name}({ast.unparse(node.args)}):\n", f"{indent}    {body}\n"]
        span = node.end_lineno - first + 1
        stub += ["\n"] * max(0, span - len(stub))          # keep the line numbers of everything below
        edits.append((first, node.end_lineno, stub))
    for first, last, stub in sorted(edits, reverse=True):
        lines[first - 1:last] = stub
    out = "".join(lines)
    ast.parse(out)                                          # the stubbed module must still be valid Python
    return out


def package_dir() -> Path:
    """The folder of the installed mfcore package (what the sandbox mounts the copy over)."""
    import mfcore

    return Path(mfcore.__file__).resolve().parent


def redacted_copy(key: dict[str, str], dest_root: Path) -> Path:
    """A copy of mfcore with the answer key ``{dotted name: exercise}`` blocked, under ``dest_root``.

    The copy's folder is named after a hash of the package's sources and of the key, so an unchanged
    package is reused (and the numba cache warmed for it stays valid).  Returns the copy's package folder.
    """
    src = package_dir()
    digest = hashlib.sha256(json.dumps(sorted(key.items())).encode())
    for path in sorted(src.rglob("*.py")):
        if "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(src)).encode())
            digest.update(path.read_bytes())
    dest = Path(dest_root) / f"mfcore-{digest.hexdigest()[:16]}"
    pkg = dest / "mfcore"
    if (dest / "complete").exists():
        return pkg
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, pkg, ignore=IGNORE)
    by_module: dict[str, dict[str, tuple[str, str]]] = {}
    for dotted, exercise in key.items():
        module, qualname = _module_and_qualname(dotted)
        by_module.setdefault(module, {})[qualname] = (dotted, exercise)
    for module, blocked in by_module.items():
        origin = Path(importlib.import_module(module).__file__).resolve()
        target = pkg / origin.relative_to(src)
        target.write_text(block_functions(origin.read_text(), blocked))
        stat = origin.stat()
        os.utime(target, (stat.st_atime, stat.st_mtime))
    os.chmod(dest, 0o755)
    (dest / "complete").write_text("")
    return pkg
