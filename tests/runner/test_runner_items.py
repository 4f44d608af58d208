"""The items a run plans and runs: counterbalancing, repeats drawn apart, RRM, judges that ask."""

from __future__ import annotations

import json
from pathlib import Path

from oversight.datasets import load_questions
from oversight.endpoints import Request
from oversight.experiment import Counterbalance
from oversight.runner._items import plan
from transcripts import RunStore

from .helpers import Factory, experiment
from .runner_helpers import ITEMS, _run


def test_counterbalance_and_repeats_shape_the_items() -> None:
    exp = experiment()
    questions = load_questions(exp.dataset)
    assert len(list(plan(exp, questions))) == ITEMS
    identity = exp.model_copy(update={"counterbalance": Counterbalance(orders="identity")})
    items = list(plan(identity, questions))
    assert len(items) == ITEMS // 2 and all(i.setup.order == [0, 1] for i in items)
    balanced = exp.model_copy(update={"counterbalance": Counterbalance(orders="balanced")})
    items = list(plan(balanced, questions))
    assert len(items) == ITEMS // 2
    firsts = {i.question.id: i.setup.order[0] for i in items}
    assert sorted(firsts.values()) == [0, 0, 1, 1]
    twice = exp.model_copy(update={"repeats": 2})
    ids = [i.id for i in plan(twice, questions)]
    assert len(ids) == 2 * ITEMS == len(set(ids))


def test_correct_and_one_keeps_one_distractor_per_question(tmp_path: Path) -> None:
    data = tmp_path / "four.jsonl"
    data.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": f"q{i}",
                    "question": "Which?",
                    "answers": ["a", "b", "c", "d"],
                    "correct": i % 4,
                    "context": "ctx",
                    "source": "s",
                }
            )
            for i in range(3)
        )
        + "\n"
    )
    exp = experiment(
        dataset={"loader": "jsonl", "path": str(data)},
        counterbalance={"sides": "correct-and-one", "orders": "identity"},
    )
    questions = load_questions(exp.dataset)
    items = list(plan(exp, questions))
    # Every condition presents the same two answers per question: the gold and one other.
    shown = {(i.question.id, tuple(i.question.answers)) for i in items}
    assert len(shown) == 3 and all(len(answers) == 2 for _, answers in shown)
    assert all(
        i.question.answers[i.question.correct] == "abcd"[int(i.question.id[1:]) % 4]
        for i in items
        if i.question.correct is not None
    )
    debate = [i for i in items if i.condition.protocol == "debate"]
    assert len(debate) == 3  # per question: one debate (identity order, one model)


def test_repeats_are_sampled_apart(tmp_path: Path) -> None:
    factory = Factory()
    exp = experiment(
        repeats=2,
        conditions=[
            {
                "label": "consultancy",
                "protocol": "consultancy",
                "roles": {"consultant": "strong"},
                "options": {"rounds": 1},
            }
        ],
    )
    result = _run(tmp_path / "run", factory, exp=exp)
    assert result.status == "complete"
    assert factory.sent["mock/strong"] == 2 * 4 * 4  # nothing answered from the other repeat
    store = RunStore.open(tmp_path / "run")
    assert {t.repeat for t in store.transcripts} == {0, 1}


def test_repeats_of_an_unassisted_condition_are_judged_apart(tmp_path: Path) -> None:
    """The judge alone sees the same view in every repeat: each repeat is still its own
    draw of the judge, not the first repeat's reply from the cache."""
    factory = Factory()
    exp = experiment(repeats=2, conditions=[{"label": "unassisted", "protocol": "unassisted"}])
    result = _run(tmp_path / "run", factory, exp=exp)
    assert result.status == "complete" and result.items_complete == 2 * 4 * 2
    assert factory.sent["mock/weak"] == 2 * 4 * 2, "every repeat's judgment was asked for"
    store = RunStore.open(tmp_path / "run")
    judgments = list(store.judgments.latest())
    assert len(judgments) == 16 and not any(c.cached for j in judgments for c in j.calls)
    store.close()
    # A resume draws the same: nothing is asked again, every judgment stays as it was.
    again = Factory()
    assert _run(tmp_path / "run", again, exp=exp).status == "complete"
    assert again.total == 0


def test_repeats_of_a_judge_with_a_seed_are_sent_their_own_seeds(tmp_path: Path) -> None:
    """A provider that honours seeds gives the same draw for the same seed: each repeat's
    judgment is sent its own seed, or the repeats are one draw copied."""
    seeds: dict[int, list[int | None]] = {}

    def record(request: Request) -> bool:
        seeds.setdefault(request.sample_index // 10_000, []).append(request.seed)
        return False

    judges = [{"kind": "llm", "name": "weak-judge", "endpoint": "weak", "seed": 7}]
    exp = experiment(
        repeats=2,
        conditions=[{"label": "unassisted", "protocol": "unassisted"}],
        judges=judges,
    )
    assert _run(tmp_path / "run", Factory(fail=record), exp=exp).status == "complete"
    assert sorted(seeds) == [0, 1]  # requests of repeat 0 and repeat 1
    assert set(seeds[0]).isdisjoint(seeds[1]), seeds


def test_ten_repeats_and_more_never_replay_another_draw_of_the_same_setup(
    tmp_path: Path,
) -> None:
    """A consultant argues the gold of a three-answer question in two draws of one setup;
    repeat 10 of the first draw is still its own sample, not draw 2 of repeat 0."""
    lines = tmp_path / "three.jsonl"
    row = {"id": "q3", "question": "Which?", "answers": ["red", "blue", "green"], "correct": 0}
    lines.write_text(json.dumps(row) + "\n")
    conditions = [
        {
            "label": "consultancy",
            "protocol": "consultancy",
            "roles": {"consultant": "strong"},
            "options": {"rounds": 1},
        }
    ]
    dataset = {"loader": "jsonl", "path": str(lines)}
    balance = {"orders": "identity"}
    once, eleven = Factory(), Factory()
    exp = experiment(dataset=dataset, conditions=conditions, counterbalance=balance)
    _run(tmp_path / "once", once, exp=exp)
    exp = experiment(dataset=dataset, conditions=conditions, counterbalance=balance, repeats=11)
    result = _run(tmp_path / "eleven", eleven, exp=exp)
    assert result.status == "complete"
    assert eleven.sent["mock/strong"] == 11 * once.sent["mock/strong"]


def test_rrm_rewards_are_filed_as_a_judgment_and_judges_may_interject(tmp_path: Path) -> None:
    exp = experiment(
        dataset={"loader": "sample", "limit": 2},
        conditions=[
            {
                "label": "rrm",
                "protocol": "rrm",
                "roles": {"assistant": "strong", "evaluator": "strong"},
                "options": {"depth": 1, "branching": 2, "decide": "rewards"},
            },
            {
                "label": "debate-q",
                "protocol": "debate",
                "roles": {"debater": "strong"},
                "options": {"rounds": 2, "judge_questions": True},
                "judge": "asker",
            },
        ],
        judges=[
            {"kind": "llm", "name": "weak-judge", "endpoint": "weak"},
            {"kind": "llm", "name": "asker", "endpoint": "weak", "ask_questions": True},
        ],
    )
    result = _run(tmp_path / "run", Factory(), exp=exp)
    assert result.status == "complete", result.errors
    store = RunStore.open(tmp_path / "run")
    rewards = [j for j in store.judgments if j.judge.name == "rrm-rewards"]
    assert len(rewards) == 4 and all(j.status == "ok" for j in rewards)
    assert all(j.metadata["decided_by"] == "rewards" for j in rewards)
    debates = [t for t in store.transcripts if t.condition == "debate-q"]
    assert debates and all(any(turn.role == "judge" for turn in t.turns) for t in debates)
