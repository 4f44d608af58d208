"""One ``--where``: report, show and rejudge select the same records for the same clause."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from oversight.analysis import analyze
from oversight.runner import select_transcripts
from transcripts import JudgeIdentity, Judgment, RunStore
from transcripts.errors import ConfigError
from transcripts.filters import MISSING, parse_where, value_matches

from .factories import debate


@pytest.mark.parametrize(
    ("value", "raw", "expected"),
    [
        (True, "true", True),
        (True, "TRUE", True),
        (False, "true", False),
        ("True", "true", True),
        ("yes", "true", False),
        (1, "true", False),
        (3, "3", True),
        (3.0, "3", True),
        (3, "3.5", False),
        ("3", "3", True),
        ("human-debate", "human-debate", True),
        ("human-debate", "Human-debate", False),
        (None, "null", True),
        (MISSING, "none", True),
        (MISSING, "", True),
        ("x", "null", False),
        ([1, 2], "[1, 2]", True),
        ({"b": 1, "a": 2}, '{"a": 2, "b": 1}', True),
    ],
)
def test_value_matching_rules(value: Any, raw: str, expected: bool) -> None:
    assert value_matches(value, raw) is expected


def test_clauses_parse_or_say_how_to_write_them() -> None:
    (w,) = parse_where(["setting!=ai-debate"])
    assert (w.field, w.value, w.negate, str(w)) == (
        "setting",
        "ai-debate",
        True,
        "setting!=ai-debate",
    )
    assert [str(w) for w in parse_where({"included_in_paper": True, "x": None})] == [
        "included_in_paper=true",
        "x=null",
    ]
    with pytest.raises(ConfigError, match="FIELD=VALUE"):
        parse_where(["no-equals-sign"])


@pytest.mark.parametrize(
    "clause",
    [
        "paper=true",
        "paper!=true",
        "paper=null",
        "turns=3",
        "turns=3.0",
        "setting=human-debate",
        "setting!=human-debate",
        "condition=debate",
    ],
)
def test_report_and_show_select_the_same_transcripts(tmp_path: Path, clause: str) -> None:
    store = RunStore.create(tmp_path)
    values: list[dict[str, Any]] = [
        {"paper": True, "turns": 3, "setting": "human-debate"},
        {"paper": "True", "turns": 3.0, "setting": "ai-debate"},  # imported as text
        {"paper": False, "turns": 4, "setting": "human-debate"},
        {"turns": 2},  # paper and setting missing
    ]
    for i, metadata in enumerate(values):
        t = debate(id=f"t{i}", metadata=metadata)
        store.transcripts.append(t)
        store.judgments.append(
            Judgment(
                transcript_id=t.id,
                judge=JudgeIdentity(kind="llm", name="j"),
                probabilities=[0.8, 0.2],
            )
        )
    shown = {t.id for t in select_transcripts(store, where=[clause])}
    reported = analyze(tmp_path, where=[clause], n_bootstrap=10).totals.analysed
    assert reported == len(shown)
    assert shown  # every clause here selects something
