"""What a run and a dry run print while they work: ``progress=False`` prints nothing, a dry
run from Python is silent unless asked, and a dry run's progress says it rehearses on mocks
(it never reads as calls sent, tokens or dollars spent)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

import oversight
from oversight.cli import main

from .helpers import Factory, experiment

EXPERIMENT = """
name = "small"
[dataset]
loader = "sample"
limit = 2
[endpoints.strong]
spec = "mock/strong"
[[conditions]]
label = "consultancy"
protocol = "consultancy"
roles = { consultant = "strong" }
options = { rounds = 1 }
[[judges]]
kind = "llm"
name = "judge"
endpoint = "mock/weak"
"""


def test_a_dry_run_from_python_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    estimate = oversight.dry_run(experiment())
    assert estimate.endpoints and estimate.endpoints[0].calls > 0
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_false_prints_nothing(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    result = oversight.run_experiment(
        experiment(),
        out=tmp_path / "run",
        endpoint_factory=Factory(),
        progress=False,
        summary=False,
    )
    assert result.items_complete == 32
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_lines_prints_plain_lines(tmp_path: Path) -> None:
    out = io.StringIO()
    oversight.run_experiment(
        experiment(),
        out=tmp_path / "run",
        endpoint_factory=Factory(),
        console=Console(file=out, width=200),
        progress="lines",
        summary=False,
    )
    assert out.getvalue().startswith("items 32/32 · ")
    assert "calls/s" in out.getvalue() or "calls/min" in out.getvalue()


def test_a_dry_run_asked_for_progress_says_it_rehearses_and_sends_nothing() -> None:
    out = io.StringIO()
    oversight.dry_run(experiment(), console=Console(file=out, width=200), progress="lines")
    line = out.getvalue().strip()
    assert line.startswith("rehearsed on mock endpoints: items 32/32 · ")
    assert "mock calls, nothing sent" in line
    assert "calls/s" not in line and "$" not in line and "tok" not in line


def test_the_cli_dry_run_shows_the_rehearsal_not_calls_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT, encoding="utf-8")
    assert main(["run", str(path), "--dry-run", "--no-progress"]) == 0
    out = capsys.readouterr().out
    line = out.splitlines()[0]
    assert line.startswith("rehearsed on mock endpoints: items 8/8 · ")
    assert "calls/s" not in line and "$" not in line
    assert "estimate for the real run" in out


def test_the_cli_run_keeps_its_plain_progress_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT, encoding="utf-8")
    run = ["run", str(path), "--out", str(tmp_path / "run"), "--no-progress", "--no-report"]
    assert main(run) == 0
    assert "items 8/8 · " in capsys.readouterr().out


def test_a_bad_progress_value_is_refused_before_the_folder_is_made(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match='progress must be None, True, False or "lines"'):
        oversight.run_experiment(experiment(), out=tmp_path / "run", progress="quiet")  # type: ignore[typeddict-item]
    assert not (tmp_path / "run").exists()
