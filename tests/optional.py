"""Optional extras (``inspect``, ``hf``, ``ray``, playwright) imported only when a test uses
them, never while the tests are collected.

Every pytest-xdist worker imports every test module to collect it; a module-level
``pytest.importorskip("inspect_ai")`` cost each worker seconds for a few tests that run on
one of them. Instead a test module says what it needs, which skips without importing
anything, and names the module lazily::

    inspect_log = lazy("inspect_ai.log")
    pytestmark = needs("inspect_ai", "the inspect extra is not installed")

    def test_...():
        inspect_log.read_eval_log(path)  # imported here, on first use
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any

import pytest

__all__ = ["lazy", "needs"]


def needs(package: str, reason: str) -> pytest.MarkDecorator:
    """A mark that skips, saying ``reason``, unless the top-level ``package`` is installed
    (found on the path, not imported)."""
    return pytest.mark.skipif(importlib.util.find_spec(package) is None, reason=reason)


class _Lazy:
    """A module imported on first attribute access."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):  # probes (pytest's, copy's) import nothing
            raise AttributeError(attribute)
        module: ModuleType = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy(name: str) -> Any:
    """The module ``name``, imported when one of its attributes is first read."""
    return _Lazy(name)
