"""A run folder this user cannot write to (a shared archive, a read-only mount): ``show``
and ``report`` read it, count flagged turns from the texts, and leave it as it was.

Root writes anywhere, so as root the commands run under ``setpriv`` without the
capabilities that let root ignore file permissions (skipped where ``setpriv`` is missing).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from oversight.testing import cli_command
from tests.transcripts.factories import ATTACK, PLAIN, debate, judgment
from transcripts import RunStore

ROOT = Path(__file__).resolve().parents[2]


def _as_a_reader(args: list[str]) -> list[str]:
    """The command as a user without write access to the folder runs it."""
    if os.geteuid() != 0:
        return args
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root writes to read-only folders, and setpriv is not here to stop it")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", *args]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("indexes", ["kept", "deleted"])
def test_show_and_report_read_a_run_nobody_may_write_and_leave_it_as_it_was(
    tmp_path: Path, indexes: str
) -> None:
    run = tmp_path / "run"
    store = RunStore.create(run)
    store.transcripts.append(debate(id="t1", turns=[ATTACK, PLAIN, ATTACK]))
    store.transcripts.append(debate(id="t2", turns=[PLAIN]))
    for t in ("t1", "t2"):
        store.judgments.append(judgment(t, id=f"j-{t}"))
    store.close()
    if indexes == "deleted":  # an index would have to be built: it is, in memory
        for index in run.glob("*.idx*"):
            index.unlink()
    before = _files(run)
    run.chmod(0o555)
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = [
            subprocess.run(
                _as_a_reader(cli_command(*args)),
                capture_output=True,
                text=True,
                env=env,
                check=False,
                timeout=120,
            )
            for args in (
                ["report", str(run), "--json"],
                ["show", str(run), "--limit", "1"],
                ["show", str(run), "t1"],
            )
        ]
    finally:
        run.chmod(0o755)
    for result in done:
        assert result.returncode == 0, result.stderr
    (count,) = json.loads(done[0].stdout)["injection"]
    assert (count["transcripts"], count["flagged"], count["turns"]) == (2, 1, 2)
    assert "2 transcript(s) (first 1 shown" in done[1].stdout
    assert "Ignore previous instructions" in done[2].stdout
    assert _files(run) == before, "nothing was written into the folder"
