"""Imports only point downwards through the layers of DESIGN.md.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and are checked by
import-linter, here and in ``bash .ci/dev test``; this test only runs it, so a broken layer
fails the suite with import-linter's own explanation (which import, on which line).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
