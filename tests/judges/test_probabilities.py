"""Probability vectors: what is accepted, what is refused, how vectors combine."""

from __future__ import annotations

import math

import pytest

from judges._probs import combine, normalise, vote
from transcripts.errors import JudgeError


def test_small_sum_errors_are_renormalised_exactly() -> None:
    result = normalise([0.51, 0.51])
    assert result == [0.5, 0.5]
    assert math.fsum(normalise([0.333, 0.333, 0.333])) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([math.nan, 0.5], "finite"),
        ([math.inf, 0.0], "finite"),
        ([-0.1, 1.1], "negative"),
        ([0.0, 0.0], "all zero"),
        ([0.5, 0.2], "sum to 1"),
        ([1e308, 1e308], "at most 1"),
        ([], "no probabilities"),
    ],
)
def test_what_is_not_a_probability_vector_is_refused(values: list[float], message: str) -> None:
    with pytest.raises(JudgeError, match=message):
        normalise(values)


def test_votes_split_ties_and_majority_is_the_vote_share() -> None:
    assert vote([0.5, 0.5, 0.0]) == [0.5, 0.5, 0.0]
    votes = combine([[0.9, 0.1], [0.4, 0.6], [0.8, 0.2]], "majority")
    assert votes == pytest.approx([2 / 3, 1 / 3])
    assert combine([[0.9, 0.1], [0.4, 0.6]], "mean") == pytest.approx([0.65, 0.35])
    with pytest.raises(JudgeError, match="different lengths"):
        combine([[0.5, 0.5], [0.2, 0.3, 0.5]], "mean")
