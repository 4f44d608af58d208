"""Shared protocol machinery: length limits, setups, prompt overrides, role errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from oversight.endpoints import Request
from protocols import _common, baselines, consultancy, critique, debate, rrm
from protocols.base import Setup
from transcripts import JudgeView
from transcripts.errors import ConfigError

from .scripted import anything, mock, prompt, question, sent


def test_word_limit_cuts_at_a_word_boundary() -> None:
    assert _common.cut_to_limit("one two three", word_limit=3, char_limit=None) == (
        "one two three",
        False,
    )
    assert _common.cut_to_limit("one two  three four", word_limit=3, char_limit=None) == (
        "one two  three",
        True,
    )


def test_quoted_words_count_and_an_open_quote_is_closed() -> None:
    text = "See <quote>alpha beta gamma</quote> delta"
    assert _common.cut_to_limit(text, word_limit=3, char_limit=None) == (
        "See <quote>alpha beta</quote>",
        True,
    )
    # Tags do not count towards characters: "See alpha beta gamma" is 20 characters.
    assert _common.cut_to_limit(text, word_limit=None, char_limit=20) == (
        "See <quote>alpha beta gamma</quote>",
        True,
    )
    assert _common.cut_to_limit(text, word_limit=None, char_limit=19) == (
        "See <quote>alpha beta</quote>",
        True,
    )
    # A stray closing tag earlier in the speech does not hide that the last quote is open.
    stray = "One</quote> two, <quote>alpha beta gamma</quote>"
    assert _common.cut_to_limit(stray, word_limit=3, char_limit=None) == (
        "One</quote> two, <quote>alpha</quote>",
        True,
    )


def test_a_single_overlong_word_is_cut_hard() -> None:
    assert _common.cut_to_limit("abcdefghij", word_limit=None, char_limit=4) == ("abcd", True)


def test_counterbalanced_setups_are_labelled_and_deterministic() -> None:
    q = question(answers=3)
    setups = _common.counterbalance(q, [{"Consultant": 2}])
    assert [(s.order, s.label) for s in setups] == [
        ([0, 1, 2], "o012-a2"),
        ([1, 2, 0], "o120-a2"),
        ([2, 0, 1], "o201-a2"),
    ]
    assert _common.sides(q, "incorrect") == [1, 2]
    assert _common.sides(question(correct=None), "correct") == [0, 1]


def echo(request: Request) -> str:
    return "said"


async def test_prompt_template_overrides_with_format_fields() -> None:
    debater = mock("debater", echo)
    config = debate.Config(
        rounds=1,
        scratchpad=False,
        require_quotes=False,
        prompts={"render_debater_turn": "  {speaker} argues {side}, round {round}/{rounds}.  "},
    )
    await debate.run(
        question(),
        {"debater": debater},
        config=config,
        setup=Setup(order=[1, 0], assignment={"Debater A": 1, "Debater B": 0}),
    )
    assert sorted(prompt(r) for r in sent(debater)) == [
        "Debater A argues A. Iron ore, round 1/1.",
        "Debater B argues B. Salt cod, round 1/1.",
    ]


async def test_prompt_function_overrides_are_called_and_recorded_by_name() -> None:
    def my_turn(*, speaker: str, round: int, **_: object) -> str:
        return f"custom {speaker} {round}"

    debater = mock("debater", echo)
    config = debate.Config(
        rounds=1, scratchpad=False, require_quotes=False, prompts={"render_debater_turn": my_turn}
    )
    transcript = await debate.run(
        question(),
        {"debater": debater},
        config=config,
        setup=Setup(order=[0, 1], assignment={"Debater A": 0, "Debater B": 1}),
    )
    assert sorted(prompt(r) for r in sent(debater)) == ["custom Debater A 1", "custom Debater B 1"]
    recorded = transcript.protocol_config["prompts"]["render_debater_turn"]
    assert recorded.startswith("python:") and recorded.endswith("my_turn")


async def test_prompt_files_override_from_a_folder(tmp_path: Path) -> None:
    (tmp_path / "render_debater_system.txt").write_text("You are {speaker}. Argue {side}.\n")
    (tmp_path / "render_something_else.txt").write_text("ignored")
    debater = mock("debater", echo)
    config = debate.Config(rounds=1, prompt_dir=tmp_path, scratchpad=False, require_quotes=False)
    await debate.run(
        question(),
        {"debater": debater},
        config=config,
        setup=Setup(order=[0, 1], assignment={"Debater A": 0, "Debater B": 1}),
    )
    assert sorted(r.system or "" for r in sent(debater)) == [
        "You are Debater A. Argue A. Salt cod.",
        "You are Debater B. Argue B. Iron ore.",
    ]


async def test_bad_prompt_overrides_say_what_is_wrong(tmp_path: Path) -> None:
    agents = {"debater": mock("debater", echo)}
    setup = Setup(order=[0, 1], assignment={"Debater A": 0, "Debater B": 1})
    with pytest.raises(ConfigError, match="render_debater_trun"):
        await debate.run(
            question(),
            agents,
            setup=setup,
            config=debate.Config(prompts={"render_debater_trun": "x"}),
        )
    with pytest.raises(ConfigError, match=r"unknown field 'colour'.*speaker"):
        await debate.run(
            question(),
            agents,
            setup=setup,
            config=debate.Config(prompts={"render_debater_turn": "{colour}"}),
        )
    with pytest.raises(ValidationError, match="not a folder"):
        debate.Config(prompt_dir=tmp_path / "missing")


def test_options_are_validated_and_keyword_only() -> None:
    with pytest.raises(ValidationError):
        debate.Config(rounds=0)
    with pytest.raises(ValidationError):
        debate.Config(roundz=2)  # type: ignore[call-arg]


async def test_a_prompt_override_cannot_reach_context_its_role_may_not_read() -> None:
    # The dummy opponent the scorer reads takes no context, so no override can add it.
    config = debate.Config(best_of_n=2, prompts={"render_dummy_argument": "{context}"})
    agents = {"debater": mock("debater", echo), "preference": mock("preference", echo)}
    with pytest.raises(ConfigError, match="unknown field 'context'"):
        await debate.run(question(), agents, config=config)


async def test_every_protocol_runs_with_its_defaults() -> None:
    agents = {
        role: mock(role, anything)
        for role in ("debater", "consultant", "answerer", "critic", "assistant", "evaluator")
    }
    for run in (
        debate.run,
        consultancy.run,
        critique.run,
        rrm.run,
        baselines.run_unassisted,
        baselines.run_expert,
    ):
        transcript = await run(question(), agents)
        assert transcript.answer_order == [0, 1]


def shouting_turn(*, speaker: str, round: int, **_: object) -> str:
    return f"{speaker.upper()} ROUND {round}"


async def test_prompt_functions_can_be_named_for_experiment_files() -> None:
    ref = f"python:{__name__}.shouting_turn"
    config = debate.Config.model_validate(
        {
            "rounds": 1,
            "scratchpad": False,
            "require_quotes": False,
            "prompts": {"render_debater_turn": ref},
        }
    )
    debater = mock("debater", echo)
    transcript = await debate.run(question(), {"debater": debater}, config=config)
    assert sorted(prompt(r) for r in sent(debater)) == ["DEBATER A ROUND 1", "DEBATER B ROUND 1"]
    assert transcript.protocol_config["prompts"] == {"render_debater_turn": ref}
    assert debate.Config.model_validate(transcript.protocol_config) == config
    with pytest.raises(ValidationError, match="cannot be imported"):
        debate.Config(prompts={"render_debater_turn": "python:nowhere.at_all"})


async def test_any_speaking_protocol_can_keep_its_reasoning_private() -> None:
    def reply(request: Request) -> str:
        return "<thinking>my hidden doubts</thinking><argument>Salt cod, clearly.</argument>"

    agents = {role: mock(role, reply) for role in ("answerer", "critic")}
    transcript = await critique.run(question(), agents, config=critique.Config(scratchpad=True))
    private = [t for t in transcript.turns if t.metadata.get("kind") == "scratchpad"]
    assert {t.role for t in private} == {"answerer", "critic"}
    assert all(t.visibility == "private" and t.content == "my hidden doubts" for t in private)
    view = JudgeView.from_transcript(transcript)
    assert "hidden doubts" not in view.model_dump_json() and view.turns
    assert all("<thinking>" in r.messages[-1].content for a in agents.values() for r in sent(a))
