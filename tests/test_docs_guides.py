"""What the guides in ``docs/guide/`` show a command printing is what it prints.

``tests/test_docs.py`` runs the tutorials; these check the guides' sample outputs, run as
the guide says, in a fresh folder, on the mock endpoints of the shipped examples.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from oversight.cli import main

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "guide"


def _block_after(page: str, marker: str) -> list[str]:
    """The lines of the first fenced block after ``marker``, whitespace collapsed."""
    start = page.index(marker)
    body = re.search(r"```\w*\n(.*?)```", page[start:], re.S)
    assert body is not None, marker
    return [" ".join(line.split()) for line in body.group(1).splitlines() if line.strip()]


@pytest.fixture
def examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_stress_guide_s_sample_table_is_what_the_quickstart_prints(
    examples: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["stress", "examples/quickstart.toml"]) == 0
    printed = {" ".join(line.split()) for line in capsys.readouterr().out.splitlines()}
    page = (GUIDE / "stress.md").read_text()
    shown = _block_after(page, "abridged quickstart output")
    rows = [line for line in shown if line != "…"]
    assert len(rows) > 15
    missing = [row for row in rows if row not in printed]
    assert not missing, missing


def test_the_store_guide_s_python_runs_on_a_quickstart_run(
    examples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "examples/quickstart.toml", "--out", "runs/quickstart"]) == 0
    shutil.copytree("runs/quickstart", "runs/big")  # the guide's large run, here a small one
    page = (GUIDE / "store.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    assert len(blocks) == 2
    session: dict[str, object] = {"__name__": "__guide__"}
    for body in blocks:
        exec(compile(body, "store.md", "exec"), session)
    out = capsys.readouterr().out
    assert "96 transcripts" in out and "12 of condition debate" in out
    assert len(session["complete"]) == 96  # type: ignore[arg-type]
    listed = set(re.findall(r"`([a-z_.]+\.(?:jsonl|json|sqlite))`", page))
    on_disk = {p.name for p in Path("runs/quickstart").iterdir() if p.is_file()}
    logs = {n for n in on_disk if not n.startswith(".") and ".idx" not in n and "-" not in n}
    assert {"spend.jsonl", "sent.jsonl", "status.json", "questions.jsonl"} <= logs <= listed
