"""``import oversight`` loads its names lazily (PEP 562), and a type checker still sees each
one with its type. Before, mypy saw ``oversight.run_experiment`` (and every top-level name)
as ``Any`` through the module's ``__getattr__``, and a misspelt ``oversight.run_experimnt``
passed type checking; the names are now imported for type checkers only, the written-out
``__all__`` lists them, and ``__getattr__`` is hidden from type checkers. (Checked from the
source, since a cold mypy run over the package takes a minute.)"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import oversight

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ast.parse((ROOT / "oversight" / "__init__.py").read_text("utf-8"))


def _under(test: str) -> list[ast.stmt]:
    """The statements of the module's ``if TYPE_CHECKING:`` (or ``if not ...``) blocks."""
    return [
        stmt
        for node in SOURCE.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == test
        for stmt in node.body
    ]


def test_type_checkers_see_every_lazy_name_from_the_module_that_loads_it() -> None:
    seen = {
        alias.name: node.module
        for node in _under("TYPE_CHECKING")
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert seen == oversight._LAZY
    listed = next(
        ast.literal_eval(node.value)
        for node in SOURCE.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "__all__"
    )
    assert listed == sorted([*oversight._LAZY, "__version__"]) == oversight.__all__
    hidden = [n.name for n in _under("not TYPE_CHECKING") if isinstance(n, ast.FunctionDef)]
    assert hidden == ["__getattr__"], "a visible __getattr__ makes every unknown name Any"


def test_every_name_loads_on_first_use_and_import_oversight_loads_none() -> None:
    for name, module in oversight._LAZY.items():
        assert getattr(oversight, name) is getattr(importlib.import_module(module), name)
    code = (
        "import sys, oversight\n"
        "loaded = [m for m in sys.modules if m.startswith('oversight.')]\n"
        "assert loaded == [], loaded\n"
        "assert oversight.run_experiment.__module__ == 'oversight.runner._api'\n"
        "try:\n    oversight.run_experimnt\nexcept AttributeError as e:\n    print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "module 'oversight' has no attribute 'run_experimnt'" in done.stdout
