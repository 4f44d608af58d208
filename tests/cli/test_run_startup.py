"""A one-process ``oversight run`` does not import the machinery of ``--workers`` and
``--ray`` (worker processes, pipes, the fork server), nor with ``--no-report`` the analysis
(its models and numpy; a stress run's plan imported it for every run): it starts sooner for
what it does not use. (``ctypes``, which a worker loads to outlive its parent, is not a sign
of it: numpy loads it too, and quote verification uses numpy.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CODE = """
import sys
from oversight.cli import main
code = main(sys.argv[1:])
workers = ["oversight.runner._workers", "oversight.runner._worker", "oversight.runner._ray",
           "oversight._forkserver", "oversight.analysis"]
print("IMPORTED", [m for m in workers if m in sys.modules])
sys.exit(code)
"""


def test_a_one_process_run_imports_none_of_the_workers_machinery_nor_the_analysis(
    tmp_path: Path,
) -> None:
    command = ["run", "examples/quickstart.toml", "--out", str(tmp_path / "run"), "--no-report"]
    done = subprocess.run(
        [sys.executable, "-c", CODE, *command, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "CI": "true"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result, imported = done.stdout.rsplit("IMPORTED", 1)
    assert json.loads(result)["status"] == "complete"
    assert json.loads(imported.strip().replace("'", '"')) == []
