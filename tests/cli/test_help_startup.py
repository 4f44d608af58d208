"""``oversight --help`` and ``oversight COMMAND --help`` import no subcommand's machinery:
not the run store's models (pydantic), the runner, endpoints and their SDKs, judges,
protocols, the statistics (numpy, scipy) or ``rich``. Before, ``oversight --help`` imported
all of them (``rejudge`` pulled in the runner and the analysis), and the test suite and its
users start the command line hundreds of times."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from oversight.cli._main import SUBCOMMANDS

ROOT = Path(__file__).resolve().parents[2]

HEAVY = [
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "pydantic",
    "rich",
    "openai",
    "anthropic",
    "httpx",
    "jsonschema",
    "transcripts",
    "judges",
    "protocols",
    "oversight._rejudge",
    "oversight.runner._api",  # the runner (its package alone is light: names load lazily)
    "oversight.runner._run",
    "oversight.analysis",
    "oversight.report",
    "oversight.endpoints",
    "oversight.experiment",
    "oversight.datasets",
]

CODE = """
import json, sys
from oversight.cli import main
heavy = json.loads(sys.argv[1])
first = {}
for words in json.loads(sys.argv[2]):
    try:
        main(words)
    except SystemExit as done:
        assert done.code == 0, (words, done.code)
    for name in heavy:
        if name in sys.modules:
            first.setdefault(name, " ".join(words))
print("IMPORTED", json.dumps(first))
"""


def test_help_imports_none_of_the_subcommands_machinery() -> None:
    commands = [["--help"], *([name, "--help"] for name in SUBCOMMANDS)]
    done = subprocess.run(
        [sys.executable, "-c", CODE, json.dumps(HEAVY), json.dumps(commands)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "COLUMNS": "100"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    shown, imported = done.stdout.rsplit("IMPORTED", 1)
    assert "usage: oversight" in shown and "oversight datasets" in shown
    # Each heavy module imported, with the first command that imported it.
    assert json.loads(imported) == {}


def test_export_help_names_every_kind_it_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    """``--kind`` lost argparse's choices (they would load the run store for every
    ``--help``), so its help lists the kinds by hand: it must name each one the command
    accepts (transcripts.export.KINDS), or a kind added there goes unmentioned."""
    from oversight.cli import main
    from transcripts.export import KINDS

    with pytest.raises(SystemExit):
        main(["export", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for kind in KINDS:
        assert f"{kind}: one" in shown, kind
