"""Small things a real, slow model showed: the progress rate, loading questions from a dict."""

from __future__ import annotations

import pytest

from oversight.datasets import load_questions
from oversight.runner._progress import rate_text
from transcripts.errors import DatasetError


def test_the_progress_rate_of_a_slow_run_is_not_zero() -> None:
    assert rate_text(12.34) == "12.3 calls/s"
    assert rate_text(0.04) == "2.4 calls/min"  # was "0.0 calls/s"
    assert rate_text(1 / 125) == "125 s/call"
    assert rate_text(0.0) == "no calls yet"


def test_load_questions_takes_the_dataset_table_as_a_dict() -> None:
    questions = load_questions({"loader": "sample", "limit": 3})
    assert len(questions) == 3 and questions[0].answers
    with pytest.raises(DatasetError, match="loaders are sample"):
        load_questions({"loader": "nope"})
