"""Debate with optimising players: best-of-n and critique-and-refine, scored by the judge model."""

from __future__ import annotations

import math
import re

import pytest

from oversight.endpoints import Reply, Request, TokenLogprob
from protocols import debate
from transcripts import JudgeView
from transcripts.errors import ProtocolError

from .debate_helpers import QUOTE, setup, speech
from .scripted import CONTEXT, argue, mock, question, round_in, sent, speaker_in, text


def _judge_probabilities(request: Request, scores: dict[int, float]) -> dict[str, float]:
    """The scorer's belief: the candidate's score for the side that spoke it."""
    found = re.findall(r"(Debater [AB]) speaks in round \d\. [^\n]* Candidate (\d)", text(request))
    speaker, k = found[-1]  # the candidate is the last speech; earlier rounds come first
    k, a_spoke = int(k), speaker == "Debater A"
    return {"A": scores[k], "B": 1 - scores[k]} if a_spoke else {"A": 1 - scores[k], "B": scores[k]}


async def test_best_of_n_is_scored_by_the_judge_model_against_a_dummy_opponent() -> None:
    scores = {0: 0.2, 1: 0.9, 2: 0.5}
    debater = mock(
        "debater",
        lambda r: argue(
            f"{speaker_in(r)} speaks in round {round_in(r)}. {QUOTE} Candidate {r.sample_index}."
        ),
    )

    def logprobs(request: Request) -> Reply:
        p = _judge_probabilities(request, scores)
        top = {k: math.log(v) for k, v in p.items()}
        best = max(top, key=lambda k: top[k])
        return Reply(text=best, logprobs=[TokenLogprob(token=best, logprob=top[best], top=top)])

    preference = mock("preference", logprobs)
    transcript = await debate.run(
        question(),
        {"debater": debater, "preference": preference},
        config=debate.Config(rounds=2, best_of_n=3),
        setup=setup([0, 1]),
    )
    public = [t for t in transcript.turns if t.visibility == "public"]
    assert len(public) == 4 and all(t.content.endswith("Candidate 1.") for t in public)
    assert all(t.metadata["bo_scores"] == pytest.approx([0.2, 0.9, 0.5]) for t in public)
    losers = [
        t
        for t in transcript.turns
        if t.metadata.get("candidate_of") == "bo"
        and t.visibility == "private"
        and "kind" not in t.metadata
    ]
    assert len(losers) == 8
    # The scorer reads the judge's own rendering: marks, names, and a dummy opponent.
    asked = text(sent(preference)[0])
    assert "[verified]" in asked and "I stand by my answer" in asked
    assert "Reply with exactly one letter" in asked
    assert all(r.logprobs for r in sent(preference))
    assert all(CONTEXT not in text(r) and "secret plan" not in text(r) for r in sent(preference))
    scoring = [t for t in transcript.turns if t.role == "preference"]
    assert len(scoring) == 12 and all(t.visibility == "private" and t.call for t in scoring)
    assert len(transcript.calls) == len(sent(debater)) + len(sent(preference)) == 24
    assert transcript.players == {"Debater A": "mock/debater:bo3", "Debater B": "mock/debater:bo3"}
    assert "Candidate 0" not in JudgeView.from_transcript(transcript).model_dump_json()


async def test_critique_and_refine_replaces_the_speech_with_the_best_refinement() -> None:
    def reply(request: Request) -> str:
        last = request.messages[-1].content
        if "Criticise the speaker" in last:
            return f"Critique {request.sample_index}: quote the crew."
        if "Here is a critique" in last:
            k = last.split("Critique ")[1][0]
            return argue(f"{speaker_in(request)} refined after critique {k}. {QUOTE}")
        return speech(request)

    debater = mock("debater", reply)
    preference = mock(
        "preference",
        lambda r: {
            "rationale": "r",
            "probabilities": (
                {"A": 0.7, "B": 0.3} if "critique 1" in text(r) else {"A": 0.4, "B": 0.6}
            ),
        },
    )
    config = debate.Config(
        rounds=1, score_mode="structured", players={"debater_a": {"refine": 2, "name": "refiner"}}
    )
    transcript = await debate.run(
        question(),
        {"debater": debater, "preference": preference},
        config=config,
        setup=setup([0, 1]),
    )
    public = {t.speaker: t for t in transcript.turns if t.visibility == "public"}
    assert public["Debater A"].content.startswith("Debater A refined after critique 1")
    assert public["Debater B"].content.startswith("Debater B speaks")  # its own optimisation
    assert transcript.players == {"Debater A": "refiner", "Debater B": "mock/debater:bo1"}
    critiques = [t for t in transcript.turns if t.metadata.get("kind") == "critique"]
    assert len(critiques) == 2 and all(t.visibility == "private" for t in critiques)
    critique_call = next(r for r in sent(debater) if "Criticise" in r.messages[-1].content)
    assert critique_call.system is None and CONTEXT in critique_call.messages[-1].content
    refine_call = next(r for r in sent(debater) if "Here is a critique" in r.messages[-1].content)
    assert [m.role for m in refine_call.messages] == ["user", "assistant", "user"]
    assert "<thinking>" in refine_call.messages[1].content  # continues its own first reply
    assert "Critique" not in JudgeView.from_transcript(transcript).model_dump_json()


async def test_an_optimising_player_needs_a_scorer() -> None:
    with pytest.raises(ProtocolError, match="'preference'"):
        await debate.run(
            question(),
            {"debater": mock("d", speech)},
            config=debate.Config(best_of_n=2),
            setup=setup([0, 1]),
        )
    assert debate.needed_roles(debate.Config(players={"debater_b": {"best_of_n": 4}})) == (
        "debater",
        "preference",
    )


async def test_in_turn_a_candidate_is_scored_after_what_the_earlier_speaker_really_said() -> None:
    # Debater B answers Debater A's speech of the same round; the scorer must read that
    # speech, as the judge will, and a dummy only for speakers who have not spoken yet.
    debater = mock(
        "debater",
        lambda r: argue(
            f"{speaker_in(r)} speaks in round {round_in(r)}. {QUOTE} #{r.sample_index}"
        ),
    )

    def even(request: Request) -> Reply:
        top = {"A": math.log(0.5), "B": math.log(0.5)}
        return Reply(text="A", logprobs=[TokenLogprob(token="A", logprob=top["A"], top=top)])

    preference = mock("preference", even)
    transcript = await debate.run(
        question(),
        {"debater": debater, "preference": preference},
        config=debate.Config(rounds=1, best_of_n=2, simultaneous=False),
        setup=setup([0, 1]),
    )
    (said_by_a,) = [
        t.content.split("</quote> ")[1]
        for t in transcript.turns
        if t.speaker == "Debater A" and t.visibility == "public"
    ]
    asked = [text(r) for r in sent(preference)]
    for_a = [t for t in asked if "Debater B speaks" not in t]
    for_b = [t for t in asked if "Debater B speaks" in t]
    assert len(for_a) == len(for_b) == 2
    assert all("I stand by my answer" in t for t in for_a)  # B has not spoken yet
    for t in for_b:  # A's real speech (the kept candidate), then B's candidate; no dummy
        assert "Debater A speaks in round 1." in t and said_by_a in t
        assert "I stand by my answer" not in t
