"""``oversight judge`` opens a person's session without loading what only checks a model's
reply: jsonschema (validating structured output) comes in with the first reply checked, not
with the endpoints package that the judges' prompts import."""

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
print("IMPORTED", [m for m in ("jsonschema", "oversight.endpoints") if m in sys.modules])
sys.exit(code)
"""


def test_a_judging_session_loads_no_reply_validator(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "run")
    store.transcripts.append(debate(id="t0", question=question(id="q0")))
    store.close()
    done = subprocess.run(
        [sys.executable, "-c", CODE, "judge", str(tmp_path / "run"), "--annotator", "ann", "--all"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,  # the person closes the input at once: the session ends
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "COLUMNS": "120"},
        check=False,
    )
    shown, imported = done.stdout.rsplit("IMPORTED", 1)
    assert "Debater A" in shown, done.stdout + done.stderr  # the item was shown
    # The endpoints package is loaded (the judges' prompts), its validator is not.
    assert json.loads(imported.strip().replace("'", '"')) == ["oversight.endpoints"]
