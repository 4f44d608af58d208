"""How far a live judge's belief must move for another round to pay (the debate app's hint
of Michael et al. 2023), from the one reward rule, :func:`transcripts.live.live_reward`."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import entropy

from judges.live import cost_note
from transcripts.live import Scoring, break_even, expected_reward


@pytest.mark.parametrize("belief", [[0.7, 0.3], [0.5, 0.5], [0.2, 0.8], [0.5, 0.3, 0.2]])
def test_the_break_even_belief_pays_exactly_the_penalty(belief: list[float]) -> None:
    scoring = Scoring(turn_penalty=0.08)
    targets = break_even(belief, scoring)
    assert targets is not None
    now = -entropy(belief, base=2)  # a log score's expected value: minus the entropy
    for k, t in enumerate(targets):
        rest = np.delete(np.array(belief), k)
        moved = np.insert(rest / rest.sum() * (1 - t), k, t)
        # Reaching it pays exactly the penalty (the log score's expectation is −entropy)...
        assert -entropy(moved, base=2) - 0.08 == pytest.approx(now, abs=1e-9)
        assert expected_reward(moved, 1, scoring) == pytest.approx(now, abs=1e-9)
        # ...and a point less does not.
        less = np.insert(rest / rest.sum() * (1 - t + 0.01), k, t - 0.01)
        assert expected_reward(less, 1, scoring) < now


def test_a_judge_too_sure_for_any_round_to_pay_is_told_so() -> None:
    assert break_even([0.995, 0.005], Scoring(turn_penalty=0.08)) is None
    assert "No belief another round could give you would pay for it" in cost_note(
        [0.995, 0.005], 0.08
    )
    assert "Another round" not in cost_note([0.7, 0.3], 0.0)  # free rounds: no hint
