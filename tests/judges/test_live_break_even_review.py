"""The break-even hint for a belief typed with decimals (a reviewer's check)."""

from __future__ import annotations

from judges.live import cost_note


def test_a_belief_under_a_point_from_its_target_is_not_told_plus_0_points() -> None:
    # 99.9% on A: another round pays only above it, shown as 100% (a whole percent); the
    # move is under a point, not "+0 points" (as if it were already there).
    note = cost_note([0.999, 0.001], 0.01)
    assert "+0 points" not in note
    assert "100% on A (under 1 point more)" in note
    # Whole-percent beliefs are told as before.
    assert "71% on A (+1 point)" in cost_note([0.7, 0.3], 0.01)
