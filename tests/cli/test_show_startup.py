"""``oversight show`` imports only what it needs: not the other subcommands, not the runner's
engine (endpoints, SDKs, experiments), which would cost more than the reads themselves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from transcripts import RunStore

from ..transcripts.factories import debate, question

ROOT = Path(__file__).resolve().parents[2]

CODE = """
import sys
from oversight.cli import main
code = main(sys.argv[1:])
heavy = ["oversight.runner._api", "oversight.endpoints", "openai", "oversight.cli.run",
         "oversight.cli.report", "oversight.analysis"]
print("IMPORTED", [m for m in heavy if m in sys.modules])
sys.exit(code)
"""


def test_show_imports_neither_the_runner_nor_other_subcommands(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "run")
    for i in range(3):
        store.transcripts.append(debate(id=f"t{i}", question=question(id=f"q{i}")))
    store.close()
    run = str(tmp_path / "run")
    outputs = []
    for args in (["show", run, "--limit", "2"], ["show", run, "t1"]):
        done = subprocess.run(
            [sys.executable, "-c", CODE, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(ROOT), "COLUMNS": "120"},
            check=False,
        )
        assert done.returncode == 0, done.stderr
        shown, imported = done.stdout.rsplit("IMPORTED", 1)
        assert json.loads(imported.strip().replace("'", '"')) == []
        outputs.append(shown)
    assert "3 transcript(s) (first 2 shown" in outputs[0]
    assert "Debater A" in outputs[1]
