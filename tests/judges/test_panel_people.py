"""A panel with a person in it, during ``oversight run`` in a real terminal: the panel's
verdict is combined from the person's answer, and nothing is left for a later session that
the panel's verdict would never see."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.terminal import finish, spawn_cli

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")

PROMPT = "q quit: "
PANEL = """
name = "trio"
kind = "panel"
[[judges.members]]
name = "strong"
kind = "llm"
endpoint = "mock/strong"
[[judges.members]]
name = "weak+pat"
kind = "fallback"
endpoint = "mock/weak"
threshold = 1.0
mode = "interactive"
annotator = "pat"
"""
"""A panel of an LLM judge and an interactive fallback judge that always asks pat."""


def _experiment(tmp_path: Path) -> Path:
    exp = tmp_path / "exp.toml"
    exp.write_text(
        'name = "panel-people"\n[dataset]\nloader = "sample"\nlimit = 2\n'
        '[[conditions]]\nlabel = "unassisted"\nprotocol = "unassisted"\n'
        f"[[judges]]{PANEL}[limits]\nconcurrency = 1\n"
    )
    return exp


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_the_panel_s_verdict_is_combined_from_the_person_s_answer_and_a_quit_queues_nothing(
    tmp_path: Path,
) -> None:
    exp, run = _experiment(tmp_path), tmp_path / "run"
    child = spawn_cli("run", str(exp), "--out", str(run), "--no-report")
    child.expect_exact(PROMPT)
    child.sendline("100 0")  # the first answer shown: certain
    child.expect_exact("Reason (optional")
    child.sendline("")
    child.expect_exact(PROMPT)
    child.sendline("q")  # pat stops answering: the rest of the session is the weak judge's
    out = " ".join(finish(child).split())
    assert "complete: 4 of 4 items done" in out

    first, *rest = _lines(run / "judgments.jsonl")
    strong, member = first["components"]
    assert member["decided_by"] == "human" and max(member["probabilities"]) == 1.0
    pairs = zip(strong["probabilities"], member["probabilities"], strict=True)
    combined = [(a + b) / 2 for a, b in pairs]
    assert first["probabilities"] == pytest.approx(combined)  # the person's answer counts
    # (was: queued in escalations.jsonl; the person's later answer in `oversight judge`
    # superseded the member's judgment alone, the panel's verdict stayed the weak judge's)
    assert _lines(run / "escalations.jsonl") == []
    assert len(rest) == 3
    for panel in rest:  # decided by the weak judge, said so, and final
        member = panel["components"][1]
        assert member["decided_by"] == "llm" and member["escalated"]
        assert member["metadata"]["human"].startswith("unavailable")
        assert member["escalation_id"] is None
