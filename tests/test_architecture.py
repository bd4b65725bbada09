"""The library's structure: every module reachable by name, imports run downward, kernels in one place."""

import ast
import importlib
import importlib.metadata
import pkgutil
import tomllib
import types

import numba
import pytest

import mfcore
from mfcore import _kernels
from problems import ROOT

SOLVER_MODULES = ("als", "gd", "als_gd", "sgd", "bgd")


def _submodules():
    for info in pkgutil.walk_packages(mfcore.__path__, prefix="mfcore."):
        if not info.name.endswith(".__main__"):                # python -m mfcore: runs the CLI when imported
            yield info.name


def test_every_submodule_is_reachable_under_its_own_name():
    for name in _submodules():
        module = importlib.import_module(name)
        parent_name, _, leaf = name.rpartition(".")
        parent = importlib.import_module(parent_name)
        attr = getattr(parent, leaf, None)
        assert attr is module, (
            f"{parent_name}.{leaf} is {type(attr).__name__} {attr!r}, not the submodule {name}: a package attribute "
            f"shadows it. Rename the module (or the attribute) so that both can be reached.")


def test_the_flat_functions_of_lectures_and_homework_keep_working():
    for name in ("objective", "gradient", "rmse", "init_factors", "als_item_step", "als_user_step", "als_iteration",
                 "gd_step", "armijo_step", "block_gd_step", "als_gd_iteration", "sgd_update", "sgd_epoch",
                 "bgd_epoch", "grid_search", "random_search", "bayes_search", "compare_searches", "lambda_grid",
                 "lambda_max", "penalty_weights"):
        assert callable(getattr(mfcore, name)) and not isinstance(getattr(mfcore, name), types.ModuleType), name
    assert isinstance(mfcore.SearchResult, type) and isinstance(mfcore.MF, type)


def _imports(path):
    """The mfcore modules that a file imports (relative imports resolved against the package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            base = node.module or ""
            found.add(base.split(".")[0] if base else "")
            if not base:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mfcore."):
            found.add(node.module.split(".")[1])
    return found


@pytest.mark.parametrize("module", SOLVER_MODULES)
def test_no_solver_module_imports_another_solver(module):
    others = set(SOLVER_MODULES) - {module}
    used = _imports(ROOT / "mfcore" / f"{module}.py") & others
    assert not used, (f"mfcore/{module}.py imports {sorted(used)}: solver modules only import downward "
                      "(_kernels, _validate, data, objectives, gradients, sampling); move a shared helper down.")


def test_numba_kernels_live_in_one_module():
    for path in sorted((ROOT / "mfcore").rglob("*.py")):
        if path.name == "_kernels.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert "njit" not in text and "from numba" not in text, (
            f"{path.relative_to(ROOT)} defines numba code: every kernel lives in mfcore/_kernels.py")


def test_compile_all_compiles_every_kernel():
    names = _kernels.compile_all()
    kernels = {n for n, v in vars(_kernels).items() if isinstance(v, numba.core.registry.CPUDispatcher)}
    assert set(names) == kernels, f"compile_all misses {sorted(kernels - set(names))}"
    for name in names:
        assert getattr(_kernels, name).signatures, f"{name} was not compiled by compile_all()"


def test_the_version_is_defined_once():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in meta["project"] and "version" in meta["project"]["dynamic"], (
        "pyproject.toml must read the version from mfcore.__version__ (dynamic), not repeat it")
    assert meta["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mfcore.__version__"}
    assert importlib.metadata.version("mfcore") == mfcore.__version__
