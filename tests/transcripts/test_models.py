from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from oversight import errors
from transcripts import Escalation, JudgeIdentity, Judgment, Transcript, Turn
from transcripts.errors import OversightError

from .factories import call, debate, judgment, question


@pytest.mark.parametrize(
    "record",
    [
        question(),
        call(),
        debate(),
        debate(order=[1, 0]),
        judgment(),
        Escalation(
            transcript_id="t1", judge_name="fb", reason="confidence 0.55 < 0.7", first=judgment()
        ),
    ],
    ids=lambda r: type(r).__name__,
)
def test_every_model_round_trips_through_json(record: object) -> None:
    cls = type(record)
    text = record.model_dump_json()  # type: ignore[attr-defined]
    assert cls.model_validate_json(text) == record  # type: ignore[attr-defined]


def test_nested_judgment_with_components_round_trips() -> None:
    llm = judgment(probabilities=[0.55, 0.45])
    human = judgment(
        judge=JudgeIdentity(kind="human", name="fb", annotator="ana"),
        probabilities=[0.1, 0.9],
        calls=[],
    )
    final = judgment(
        judge=JudgeIdentity(kind="fallback", name="fb"),
        probabilities=[0.1, 0.9],
        components=[llm, human],
        decided_by="human",
        escalated=True,
        escalated_from=llm.id,
        calls=[],
    )
    again = Judgment.model_validate_json(final.model_dump_json())
    assert again == final
    assert again.components[1].judge.annotator == "ana"
    assert again.cost_usd == pytest.approx(0.0012)


@given(st.lists(st.floats(min_value=0.01, max_value=1.0), min_size=2, max_size=6))
def test_normalised_probabilities_are_accepted_and_verdict_is_the_clear_argmax(
    raw: list[float],
) -> None:
    total = sum(raw)
    probs = [p / total for p in raw]
    j = judgment(probabilities=probs)
    best = max(probs)
    near = [i for i, p in enumerate(probs) if best - p < 1e-9]  # ties within the tolerance
    assert j.verdict == (near[0] if len(near) == 1 else None)


def test_bad_probabilities_are_refused_with_the_values() -> None:
    with pytest.raises(ValidationError, match="sum to 1"):
        judgment(probabilities=[0.7, 0.7])
    with pytest.raises(ValidationError, match=r"\[0, 1\]"):
        judgment(probabilities=[1.5, -0.5])
    with pytest.raises(ValidationError, match="needs probabilities"):
        judgment(probabilities=None)
    failed = judgment(probabilities=None, status="failed", error="unparseable")
    assert failed.verdict is None


def test_a_tie_has_no_verdict() -> None:
    assert judgment(probabilities=[0.5, 0.5]).verdict is None


def test_question_needs_two_answers_and_a_valid_gold() -> None:
    with pytest.raises(ValidationError, match="at least 2"):
        question(answers=["only one"])
    with pytest.raises(ValidationError, match="correct=5"):
        question(correct=5)


def test_transcript_refuses_a_bad_order_or_assignment() -> None:
    with pytest.raises(ValidationError, match="not a permutation"):
        debate(order=[0, 0])
    with pytest.raises(ValidationError, match="assigned answer 3"):
        debate(assignment={"Debater A": 3})


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Turn.model_validate(
            {"role": "debater", "speaker": "A", "round": 0, "content": "x", "mystery": 1}
        )


def test_transcript_totals() -> None:
    t = debate()
    assert t.rounds == 2
    assert len(t.calls) == 4
    assert t.cost_usd == pytest.approx(4 * 0.0012)
    unknown = t.model_copy(
        update={
            "turns": [
                *t.turns,
                Turn(
                    role="debater",
                    speaker="Debater B",
                    round=1,
                    content="x",
                    call=call().model_copy(update={"cost_usd": None}),
                ),
            ]
        }
    )
    assert unknown.cost_usd is None


def test_one_exception_tree() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), OversightError)
    assert issubclass(errors.MissingAPIKeyError, errors.ConfigError)
    assert issubclass(errors.SchemaVersionError, errors.StoreError)


def test_records_are_immutable() -> None:
    t: Transcript = debate()
    with pytest.raises(ValidationError):
        t.protocol = "other"  # type: ignore[misc]
