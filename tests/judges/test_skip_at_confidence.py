"""``s`` typed at the confidence prompt, after a letter, in a real terminal (pexpect)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from judges.terminal import SKIP_PROMPT
from tests.terminal import close, finish, plain, spawn_cli

from .helpers import saved_run, transcript

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")


def test_a_letter_then_s_skips_the_item_and_says_the_letter_was_not_saved(
    tmp_path: Path,
) -> None:
    # Typing "A" then "s" at "Confidence in A" skipped the item with no word about the A:
    # the saved skip's entry read "s", as if nothing had been chosen. The confidence prompt
    # was still open, so the skip is what counts, and now the person is told that A was
    # not saved as a verdict, and the skip's saved entry keeps both (nothing lost).
    run = tmp_path / "run"
    saved_run(run, [transcript("t1"), transcript("t2")]).close()
    child = spawn_cli("judge", str(run), "--annotator", "ann", "--all")
    try:
        child.expect_exact("q quit: ")
        child.sendline("A")
        child.expect_exact("Confidence in A")
        child.sendline("s")
        child.expect_exact(SKIP_PROMPT)
        child.sendline("unsure")
        child.expect_exact("q quit: ")
        child.sendline("q")
        finish(child)
        screen = " ".join(plain(child.printed.getvalue()).split())
    finally:
        close(child)
    assert "Skipped: A was not saved as your verdict" in screen
    [skipped] = [json.loads(line) for line in (run / "judgments.jsonl").read_text().splitlines()]
    assert skipped["status"] == "skipped" and skipped["probabilities"] is None
    assert skipped["rationale"] == "unsure"
    assert skipped["metadata"]["entry"] == "A s"
