"""What the bad-input tests share: a command that must fail with a message and no traceback."""

from __future__ import annotations

import pytest

from oversight.cli import main


def _fails(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return " ".join(captured.err.split())  # rich wraps long lines
