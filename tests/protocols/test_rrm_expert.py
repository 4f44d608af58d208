"""Factored evaluation with expert leaves (``rrm-expert-leaves``, the first wave's rrm) end to
end: tree shape, aggregation, rewards, who saw what."""

from __future__ import annotations

import re

import pytest

from oversight.endpoints import Request
from protocols import rrm_expert as rrm
from protocols._tree import decision_probabilities, normalised
from protocols.base import Setup
from transcripts import JudgeView, Transcript
from transcripts.errors import ProtocolError, StructuredOutputError

from .scripted import ANSWERS, CONTEXT, SECRET, mock, prompt, properties, question, sent, text

# Leaf scores by answer text and the leaf's path of sub-claim numbers.
SCORES = {
    ("Salt cod", "1.1"): 1.0,
    ("Salt cod", "1.2"): 0.5,
    ("Salt cod", "2.1"): 1.0,
    ("Salt cod", "2.2"): 0.9,
    ("Iron ore", "1.1"): 0.2,
    ("Iron ore", "1.2"): 0.0,
    ("Iron ore", "2.1"): 0.6,
    ("Iron ore", "2.2"): 0.2,
}


def split(request: Request, width: int = 2) -> dict[str, object]:
    claim = re.search(r"Claim to evaluate: (.*)", prompt(request))
    assert claim
    return {"subclaims": [f"{claim.group(1)} #{k + 1}" for k in range(width)]}


def evaluate(request: Request) -> dict[str, object]:
    claim = re.search(r"Claim: (.*)", prompt(request))
    assert claim
    answer = next(a for a in ANSWERS if a in claim.group(1))
    path = ".".join(re.findall(r"#(\d)", claim.group(1)))
    return {
        "score": SCORES.get((answer, path), 0.3),
        "evidence": f"{answer} {path}: <quote>forty barrels of salt cod</quote>",
    }


# Inner-claim scores the evaluator gives with aggregate="evaluator", far from the means.
INNER = {
    ("Salt cod", "1"): 0.2,
    ("Salt cod", "2"): 0.4,
    ("Salt cod", ""): 0.95,
    ("Iron ore", "1"): 0.6,
    ("Iron ore", "2"): 0.7,
    ("Iron ore", ""): 0.1,
}


def evaluate_all(request: Request) -> dict[str, object]:
    """Leaves as :func:`evaluate`; inner claims from :data:`INNER`, with a justification."""
    if "justification" not in properties(request):
        return evaluate(request)
    claim = re.search(r"Claim: (.*)", prompt(request))
    assert claim
    answer = next(a for a in ANSWERS if a in claim.group(1))
    path = ".".join(re.findall(r"#(\d)", claim.group(1)))
    return {"score": INNER[(answer, path)], "justification": f"{answer} [{path}] weighed."}


def roots_of(transcript: Transcript) -> list[dict[str, object]]:
    assert transcript.tree is not None and transcript.tree.kind == "rrm-expert-leaves"
    return [root.model_dump(mode="json") for root in transcript.tree.roots]


def tree_of(transcript: Transcript):  # type: ignore[no-untyped-def]
    assert transcript.tree is not None
    return transcript.tree


async def run(
    config: rrm.Config, order: list[int], assistant: object = split, judged: object = evaluate
) -> tuple:
    helper = mock("assistant", assistant)  # type: ignore[arg-type]
    evaluator = mock("evaluator", judged)  # type: ignore[arg-type]
    transcript = await rrm.run(
        question(),
        {"assistant": helper, "evaluator": evaluator},
        config=config,
        setup=Setup(order=order),
    )
    return transcript, helper, evaluator


async def test_the_tree_has_the_configured_depth_and_branching() -> None:
    transcript, helper, evaluator = await run(rrm.Config(depth=2, branching=2), order=[1, 0])
    # Per answer: 1 + 2 decompositions, 4 leaves.
    assert len(sent(helper)) == 2 * 3 and len(sent(evaluator)) == 2 * 4
    assert len(transcript.calls) == 14
    trees = roots_of(transcript)
    assert [t["id"] for t in trees] == ["B", "A"]  # original order; answer 1 is shown first
    leaves = [leaf["id"] for child in trees[0]["children"] for leaf in child["children"]]
    assert leaves == ["B.1.1", "B.1.2", "B.2.1", "B.2.2"]
    assert all(not leaf["children"] for c in trees[0]["children"] for leaf in c["children"])
    private = [t for t in transcript.turns if t.visibility == "private"]
    assert len(private) == 14 and all(t.call is not None for t in private)
    assert {t.metadata["node"] for t in private if t.role == "evaluator"} == {
        f"{a}.{i}.{j}" for a in "AB" for i in (1, 2) for j in (1, 2)
    }
    assert all(CONTEXT in text(r) for r in [*sent(helper), *sent(evaluator)])


async def test_mean_aggregation_gives_one_reward_per_answer_in_original_order() -> None:
    transcript, _, _ = await run(rrm.Config(depth=2, branching=2), order=[1, 0])
    salt = ((1.0 + 0.5) / 2 + (1.0 + 0.9) / 2) / 2
    iron = ((0.2 + 0.0) / 2 + (0.6 + 0.2) / 2) / 2
    assert tree_of(transcript).rewards == pytest.approx([salt, iron])
    tree = roots_of(transcript)[0]
    assert tree["score"] == pytest.approx(salt)
    assert tree["children"][0]["score"] == pytest.approx(0.75)
    assert tree["children"][0]["children"][1]["evidence"].startswith("Salt cod 1.2")
    assert tree["children"][0]["children"][1]["quotes"][0]["verified"] is True
    assert decision_probabilities(transcript) == pytest.approx(
        [salt / (salt + iron), iron / (salt + iron)]
    )


async def test_min_aggregation_takes_the_weakest_sub_claim() -> None:
    transcript, _, _ = await run(rrm.Config(depth=2, branching=2, aggregate="min"), order=[0, 1])
    assert tree_of(transcript).rewards == pytest.approx([0.5, 0.0])
    assert tree_of(transcript).aggregate == "min"


async def test_the_evaluator_judges_inner_claims_with_their_sub_claims_in_view() -> None:
    config = rrm.Config(depth=2, branching=2, aggregate="evaluator")
    transcript, helper, evaluator = await run(config, order=[1, 0], judged=evaluate_all)
    # Per answer: 4 leaves, then 2 inner claims and the root: leaves + inner nodes calls.
    assert len(sent(helper)) == 2 * 3 and len(sent(evaluator)) == 2 * (4 + 3)
    judged = [t for t in transcript.turns if t.role == "evaluator" and t.visibility == "private"]
    assert len(judged) == 14 and all(t.call is not None for t in judged)
    assert len(transcript.calls) == 6 + 14
    assert {t.metadata["node"] for t in judged} == {
        f"{a}{path}" for a in "AB" for path in ("", ".1", ".2", ".1.1", ".1.2", ".2.1", ".2.2")
    }
    # Scores come from the evaluator's replies, not the mean; rewards follow the roots.
    assert tree_of(transcript).rewards == pytest.approx([0.95, 0.1])
    assert tree_of(transcript).aggregate == "evaluator"
    salt = roots_of(transcript)[0]
    assert [c["score"] for c in salt["children"]] == pytest.approx([0.2, 0.4])
    assert salt["justification"] == "Salt cod [] weighed."
    assert salt["children"][0]["justification"] == "Salt cod [1] weighed."
    assert salt["children"][0]["children"][1]["evidence"].startswith("Salt cod 1.2")
    assert salt["children"][0]["children"][1]["justification"] == ""
    assert decision_probabilities(transcript) == pytest.approx([0.95 / 1.05, 0.1 / 1.05])
    # Each inner claim is judged with its sub-claims' scores and evidence in view.
    inner = [r for r in sent(evaluator) if "justification" in properties(r)]
    first = next(r for r in inner if re.search(r"Claim: .*Salt cod.* #1$", prompt(r), re.M))
    assert "— score 0.50\n    Evidence: Salt cod 1.2: <quote>" in prompt(first)
    root = next(r for r in inner if "#" not in prompt(r).splitlines()[0] and "Salt" in prompt(r))
    assert "— score 0.20\n    Justification: Salt cod [1] weighed." in prompt(root)
    assert all(CONTEXT in text(r) for r in sent(evaluator))
    # The judge reads the evaluator's justifications, never the hidden text.
    view = JudgeView.from_transcript(transcript)
    shown = view.turns[1].content
    assert shown.splitlines()[:2] == [
        f"[B] Answer B. {ANSWERS[0]} is the correct answer to the question. "
        "— score 0.95 (evaluator's judgment of 2 sub-claims)",
        "    Justification: Salt cod [] weighed.",
    ]
    assert view.context is None and SECRET not in view.model_dump_json()


async def test_the_judge_sees_each_tree_in_readable_form() -> None:
    transcript, _, _ = await run(rrm.Config(depth=1, branching=2), order=[1, 0])
    view = JudgeView.from_transcript(transcript)
    assert [(t.speaker, t.answer) for t in view.turns] == [
        ("Evaluation tree", 0),
        ("Evaluation tree", 1),
    ]
    shown = view.turns[0].content
    assert shown.splitlines()[0] == (
        f"[A] Answer A. {ANSWERS[1]} is the correct answer to the question. "
        "— score 0.30 (mean of 2 sub-claims)"
    )
    assert "    [A.1] " in shown and "        Evidence: Iron ore 1: <quote>" in shown
    assert all(q.verified for q in view.turns[0].quotes) and len(view.turns[0].quotes) == 2
    assert view.context is None and SECRET not in view.model_dump_json()
    assert tree_of(transcript).decide == "judge"


async def test_decide_by_rewards() -> None:
    transcript, _, _ = await run(rrm.Config(depth=0, decide="rewards"), order=[0, 1])
    assert tree_of(transcript).decide == "rewards"
    assert tree_of(transcript).rewards == [0.3, 0.3]
    assert decision_probabilities(transcript) == [0.5, 0.5]


async def test_depth_zero_judges_each_answer_directly() -> None:
    transcript, helper, evaluator = await run(rrm.Config(depth=0), order=[0, 1])
    assert sent(helper) == [] and len(sent(evaluator)) == 2
    assert all(tree["children"] == [] for tree in roots_of(transcript))


async def test_sub_claims_are_cut_to_the_branching_and_none_make_a_leaf() -> None:
    def uneven(request: Request) -> dict[str, object]:
        return split(request, width=0 if "#" in prompt(request) else 5)

    transcript, _, evaluator = await run(
        rrm.Config(depth=2, branching=3), order=[0, 1], assistant=uneven
    )
    tree = roots_of(transcript)[0]
    assert [c["id"] for c in tree["children"]] == ["A.1", "A.2", "A.3"]
    assert all(c["children"] == [] for c in tree["children"])
    assert len(sent(evaluator)) == 2 * 3


async def test_all_zero_rewards_are_equally_likely_and_v1_rewards_still_read() -> None:
    assert normalised([0, 0]) == [0.5, 0.5]
    transcript, _, _ = await run(rrm.Config(depth=0), order=[0, 1])
    # A transcript written with schema version 1 kept its rewards in metadata.
    v1 = transcript.model_copy(
        update={"protocol": "rrm", "tree": None, "metadata": {"rewards": [0.2, 0.6]}}
    )
    assert decision_probabilities(v1) == pytest.approx([0.25, 0.75])
    with pytest.raises(ProtocolError, match="holds no decision of its own"):
        decision_probabilities(v1.model_copy(update={"metadata": {}}))


async def test_a_bad_decomposition_is_one_clear_error() -> None:
    # The endpoint layer validates the schema; the protocol re-checks the shape.
    with pytest.raises((ProtocolError, StructuredOutputError), match=r"subclaims|sub-claims"):
        await run(rrm.Config(depth=1), order=[0, 1], assistant=lambda r: {"subclaims": "x"})


def test_setups_are_orders_only() -> None:
    assert [s.label for s in rrm.setups(question(answers=3), rrm.Config())] == [
        "o012",
        "o120",
        "o201",
    ]
