"""Fixtures of the analysis tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import RunBuilder


@pytest.fixture
def run(tmp_path: Path) -> RunBuilder:
    """A fresh run store with builder helpers."""
    return RunBuilder(tmp_path / "run")
