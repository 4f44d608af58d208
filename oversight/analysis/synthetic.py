"""Synthetic run stores with known answers, for tests, benchmarks and trying the report.

Example::

    from oversight.analysis.synthetic import SyntheticSpec, make_store
    store = make_store("runs/demo", SyntheticSpec(n_questions=400))
    # then: oversight report runs/demo --markdown --plots

Every question has two answers and comes from a source ("story") shared with
``questions_per_source - 1`` other questions. Each condition produces one transcript per
question (counterbalanced answer order; consultancy alternates the consultant's side;
debate draws two debaters from ``debaters``), and every judge judges every transcript.

Judges are calibrated by construction: for a judge of skill ``a`` in a condition, the
confidence ``c`` is drawn uniformly from ``[a - w, a + w]`` (clipped to ``[0.5, 0.99]``),
and the verdict is right with probability ``c``. So the expected accuracy is ``a`` (up to
clipping) and the expected calibration error is zero, except for judges listed in
``overconfident``, who report ``min(c + 0.15, 0.99)`` while being right with probability ``c``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from transcripts import JudgeIdentity, Judgment, Question, RunStore, Transcript, Turn, new_id

__all__ = ["SyntheticSpec", "make_store"]

_PROTOCOL_OF = {
    "unassisted": "unassisted",
    "consultancy": "consultancy",
    "debate": "debate",
    "expert": "expert",
}


@dataclass(frozen=True)
class SyntheticSpec:
    """What to generate. Skills are the expected accuracy of each judge per condition."""

    n_questions: int = 200
    """Questions (each judged once per condition and judge)."""
    questions_per_source: int = 5
    """Questions sharing one source (cluster)."""
    conditions: tuple[str, ...] = ("unassisted", "consultancy", "debate", "expert")
    """Condition labels; the protocol is the label's first word before ``-``."""
    judges: tuple[str, ...] = ("weak", "strong")
    """Judge names (LLM judges); a name starting with ``fallback`` makes a fallback judge."""
    skill: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "unassisted": {"weak": 0.60, "strong": 0.70},
            "consultancy": {"weak": 0.65, "strong": 0.75},
            "debate": {"weak": 0.75, "strong": 0.82},
            "expert": {"weak": 0.90, "strong": 0.95},
        }
    )
    """condition -> judge -> expected accuracy; missing entries default to 0.7."""
    spread: float = 0.15
    """Half-width ``w`` of the uniform confidence distribution."""
    overconfident: tuple[str, ...] = ()
    """Judges that report 0.15 more confidence than they have."""
    debaters: tuple[str, ...] = ("mock/debater-a", "mock/debater-b", "mock/debater-c")
    """Endpoint specs debaters are drawn from (two different ones per debate)."""
    turns_per_side: int = 3
    """Rounds of argument per speaker (affects file size, not statistics)."""
    rounds_effect: float | None = None
    """When set, judges of debate and consultancy see a random 1..turns_per_side rounds
    (``rounds_seen``) and their skill shifts by this much per round above the midpoint."""
    escalate_below: float = 0.65
    """Fallback judges escalate to a human when their confidence is below this."""
    seed: int = 0
    """Random seed."""


def _protocol(condition: str) -> str:
    head = condition.split("-")[0]
    return _PROTOCOL_OF.get(head, head)


def _judgment(
    rng: np.random.Generator,
    *,
    transcript: Transcript,
    judge: JudgeIdentity,
    skill: float,
    spec: SyntheticSpec,
    overconfident: bool,
) -> Judgment:
    correct = transcript.question.correct
    assert correct is not None
    lo, hi = max(0.5, skill - spec.spread), min(0.99, skill + spec.spread)
    conf = float(rng.uniform(lo, hi))
    right = bool(rng.random() < conf)
    reported = min(conf + 0.15, 0.99) if overconfident else conf
    verdict = correct if right else 1 - correct
    probs = [0.0, 0.0]
    probs[verdict] = round(reported, 6)
    probs[1 - verdict] = round(1.0 - probs[verdict], 6)
    return Judgment(
        transcript_id=transcript.id,
        run_id=transcript.run_id,
        judge=judge,
        probabilities=probs,
        rounds_seen=None,
    )


def _fallback(
    rng: np.random.Generator, first: Judgment, transcript: Transcript, spec: SyntheticSpec
) -> Judgment:
    assert first.probabilities is not None
    identity = JudgeIdentity(kind="fallback", name=first.judge.name, model=first.judge.model)
    llm = first.model_copy(
        update={"id": new_id(), "judge": JudgeIdentity(kind="llm", name="llm", model="m")}
    )
    if max(first.probabilities) >= spec.escalate_below:
        return first.model_copy(
            update={"judge": identity, "components": [llm], "decided_by": "llm"}
        )
    human = _judgment(
        rng,
        transcript=transcript,
        judge=JudgeIdentity(kind="human", name="human", annotator="ann"),
        skill=0.85,
        spec=spec,
        overconfident=False,
    )
    return human.model_copy(
        update={
            "judge": identity,
            "components": [llm, human],
            "decided_by": "human",
            "escalated": True,
            "escalation_reason": "low confidence",
            "escalated_from": llm.id,
        }
    )


def _turns(transcript_speakers: dict[str, int], rounds: int) -> list[Turn]:
    turns = []
    for r in range(rounds):
        for speaker, answer in transcript_speakers.items():
            turns.append(
                Turn(
                    role="debater" if len(transcript_speakers) > 1 else "consultant",
                    speaker=speaker,
                    round=r,
                    content=f"Round {r}: I argue for answer {answer}. " * 8,
                    answer=answer,
                )
            )
    return turns


def make_store(path: str | os.PathLike[str], spec: SyntheticSpec | None = None) -> RunStore:
    """Create a run store at ``path`` filled with synthetic transcripts and judgments."""
    spec = spec or SyntheticSpec()
    rng = np.random.default_rng(spec.seed)
    store = RunStore.create(path, run_id=f"synthetic-{spec.seed}")
    # Written in two batches (JsonlLog.extend): the same files as appending one by one.
    transcripts: list[Transcript] = []
    judgments: list[Judgment] = []
    for q in range(spec.n_questions):
        source = f"story-{q // spec.questions_per_source}"
        question = Question(
            id=f"q{q}",
            text=f"Question {q}?",
            answers=["yes", "no"],
            correct=int(rng.integers(2)),
            source=source,
            context="A story. " * 20,
            dataset="synthetic",
        )
        assert question.correct is not None
        for c, condition in enumerate(spec.conditions):
            protocol = _protocol(condition)
            order = [0, 1] if (q + c) % 2 == 0 else [1, 0]
            assignment: dict[str, int] = {}
            roles: dict[str, str] = {}
            if protocol == "consultancy":
                side = question.correct if q % 2 == 0 else 1 - question.correct
                assignment = {"Consultant": side}
                roles = {"Consultant": spec.debaters[0]}
            elif protocol == "debate":
                first = int(rng.integers(2))
                assignment = {"Debater A": first, "Debater B": 1 - first}
                pair = rng.choice(len(spec.debaters), size=2, replace=False)
                roles = {"Debater A": spec.debaters[pair[0]], "Debater B": spec.debaters[pair[1]]}
            transcript = Transcript(
                id=f"t{q}-{condition}",
                run_id=store.run_id,
                protocol=protocol,
                condition=condition,
                question=question,
                assignment=assignment,
                answer_order=order,
                judge_sees_context=protocol == "expert",
                turns=_turns(assignment, spec.turns_per_side),
                roles=roles,
            )
            transcripts.append(transcript)
            for name in spec.judges:
                skill = spec.skill.get(condition, {}).get(name, 0.7)
                rounds_seen = None
                if spec.rounds_effect is not None and assignment:
                    rounds_seen = int(rng.integers(1, spec.turns_per_side + 1))
                    mid = (1 + spec.turns_per_side) / 2
                    skill = min(0.99, max(0.5, skill + spec.rounds_effect * (rounds_seen - mid)))
                identity = JudgeIdentity(kind="llm", name=name, model=f"mock/{name}")
                judgment = _judgment(
                    rng,
                    transcript=transcript,
                    judge=identity,
                    skill=skill,
                    spec=spec,
                    overconfident=name in spec.overconfident,
                )
                if name.startswith("fallback"):
                    judgment = _fallback(rng, judgment, transcript, spec)
                if rounds_seen is not None:
                    judgment = judgment.model_copy(update={"rounds_seen": rounds_seen})
                judgments.append(judgment)
    store.transcripts.extend(transcripts)
    store.judgments.extend(judgments)
    store.close()
    return store
