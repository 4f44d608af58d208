"""What the repository tracks is source and text: no build output or profiler dump.

A cProfile dump named ``run`` once landed at the root by mistake (``python -m cProfile -o
run ...``); ``.gitignore`` cannot name such a file in advance, so this test reads every
tracked file instead. Skipped outside a git checkout (an unpacked sdist).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tracked() -> list[Path]:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        [git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def test_every_tracked_file_is_text() -> None:
    binary = []
    for path in _tracked():
        if not path.is_file():  # deleted in the work tree, not yet committed
            continue
        data = path.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            binary.append(path.relative_to(ROOT).as_posix())
            continue
        if b"\0" in data:
            binary.append(path.relative_to(ROOT).as_posix())
    assert not binary, f"binary files are tracked (remove them with git rm): {binary}"
