"""Work items: question x condition x setup x repeat, with ids that survive a restart.

A condition with ``questions = "<part>"`` gets items only for that ``[split]`` part's
questions; the others' items, and every id, are as without a split.

An item's id is a hash of (condition label, question id, setup label, repeat) and becomes
the transcript's id, so a resumed run knows which items are finished. A judgment's id is a
hash of (transcript id, judge name, rounds), so judging is idempotent too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from oversight.datasets._common import keep_answers, rng_for
from oversight.experiment import Condition, Experiment
from oversight.experiment._split import question_parts, split_problems
from protocols.base import ProtocolConfig, ProtocolSpec, Setup, get
from transcripts import Question
from transcripts.errors import ConfigError

__all__ = [
    "WorkItem",
    "answer_set",
    "item_id",
    "judgment_id",
    "plan",
    "repeat_offset",
    "split_parts",
]

REPEAT_SAMPLE_OFFSET = 10_000
"""Added to ``sample_index`` per repeat below 10 (:func:`repeat_offset`)."""
_REPEATS_BY_TEN = 1_000_000_000
"""Added per ten repeats: above every other offset (a protocol's draws, 100,000 each, and a
judge's retries, 1,000,000 each), which repeat 10 at 10 x 10,000 would reach."""


def repeat_offset(repeat: int) -> int:
    """Added to every ``sample_index`` of repeat ``repeat``, for the item's agents and its
    judges alike, so repeats are cached (and sampled) apart, and never meet another draw of
    the same setup. Below 10 it is ``repeat * 10,000``, as it always was (no cache key of
    an earlier run moves)."""
    tens, units = divmod(repeat, 10)
    return units * REPEAT_SAMPLE_OFFSET + tens * _REPEATS_BY_TEN


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]


def item_id(condition: str, question_id: str, setup_label: str, repeat: int) -> str:
    """The id of one work item (and of its transcript)."""
    return _digest("item", condition, question_id, setup_label, repeat)


def judgment_id(transcript_id: str, judge_name: str, rounds: int | None, extra: str = "") -> str:
    """The id of one judge's judgment of one transcript (cut to ``rounds`` rounds if given)."""
    shown = "all" if rounds is None else rounds
    return _digest("judgment", transcript_id, judge_name, shown, extra)


@dataclass(frozen=True)
class WorkItem:
    """One protocol run on one question, and the judgments of its transcript."""

    id: str
    """Deterministic id, used as the transcript id."""
    condition: Condition
    """The condition this item belongs to."""
    protocol: ProtocolSpec
    """The condition's protocol."""
    config: ProtocolConfig
    """The protocol's validated options."""
    question: Question
    """The question."""
    setup: Setup
    """The counterbalancing choice (answer order, assignment)."""
    repeat: int
    """Repeat index, from 0."""


def _setup_label(setup: Setup) -> str:
    if setup.label:
        return setup.label
    order = "".join(map(str, setup.order))
    sides = ",".join(f"{k}={v}" for k, v in sorted(setup.assignment.items()))
    return f"o{order}-{sides}"


def answer_set(question: Question, experiment: Experiment) -> Question:
    """The question as every condition presents it: with ``sides = "correct-and-one"``, only
    the gold and one seeded distractor (so no condition shows an answer nobody argues, and
    every condition shows the same answers)."""
    n = len(question.answers)
    if experiment.counterbalance.sides != "correct-and-one" or question.correct is None or n <= 2:
        return question
    others = [i for i in range(n) if i != question.correct]
    one = rng_for("side", experiment.seed, question.id).choice(others)
    return keep_answers(question, 2, seed=experiment.seed, preferred=[one])


def _filter(
    setups: Sequence[Setup], question: Question, index: int, experiment: Experiment
) -> list[Setup]:
    """Apply ``[counterbalance] orders`` to one question's setups."""
    chosen = list(setups)
    balance = experiment.counterbalance
    if balance.orders == "identity":
        chosen = [s for s in chosen if s.order == sorted(s.order)]
    elif balance.orders == "balanced":
        orders: list[list[int]] = []
        for s in chosen:
            if s.order not in orders:
                orders.append(s.order)
        if orders:
            keep = orders[index % len(orders)]
            chosen = [s for s in chosen if s.order == keep]
    return chosen


def split_parts(experiment: Experiment, questions: Sequence[Question]) -> dict[str, frozenset[str]]:
    """The question ids of each ``[split]`` part; ConfigError where a condition names no part
    or the split does not fit the questions (a part left empty, an id the dataset lacks)."""
    named = [
        (f"condition {c.label}: questions", c.questions)
        for c in experiment.conditions
        if c.questions is not None
    ]
    problems = split_problems(experiment.split, named)
    if problems:
        raise ConfigError("; ".join(dict.fromkeys(problems)))
    return question_parts(experiment.split, questions, seed=experiment.seed)


def plan(experiment: Experiment, questions: Sequence[Question]) -> Iterator[WorkItem]:
    """Every work item, repeat by repeat, question by question, condition by condition.

    Question-major order means a run stopped early (cost cap) has every condition for the
    questions it reached, which is what paired comparisons need. Raises ConfigError when the
    experiment's ``[split]`` does not fit the questions (:func:`split_parts`).
    """
    parts = split_parts(experiment, questions)
    conditions = [
        (c, spec, spec.config.model_validate(c.options))
        for c in experiment.conditions
        for spec in [get(c.protocol)]
    ]
    made: dict[tuple[int, int], list[Setup]] = {}  # the setups do not change with the repeat
    for repeat in range(experiment.repeats):
        for index, asked in enumerate(questions):
            question = answer_set(asked, experiment)
            for which, (condition, spec, config) in enumerate(conditions):
                if condition.questions is not None and asked.id not in parts[condition.questions]:
                    continue
                setups = made.get((index, which)) if repeat else None
                if setups is None:
                    setups = _filter(spec.setups(question, config), question, index, experiment)
                    if experiment.repeats > 1:
                        made[index, which] = setups
                for setup in setups:
                    yield WorkItem(
                        id=item_id(condition.label, question.id, _setup_label(setup), repeat),
                        condition=condition,
                        protocol=spec,
                        config=config,
                        question=question,
                        setup=setup,
                        repeat=repeat,
                    )
