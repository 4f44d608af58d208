"""Judge prompts per protocol, overridable from configuration and Python, never past the view."""

from __future__ import annotations

import pytest

from judges import LLMJudge, build_judge
from judges.config import parse_judge_config
from oversight.endpoints import Request, endpoint
from transcripts import JudgeView
from transcripts.errors import ConfigError

from .helpers import CONTEXT, transcript


def _reply(request: Request) -> dict[str, object]:
    return {"rationale": "r", "probabilities": {"A": 0.5, "B": 0.5}}


def _view(protocol: str) -> JudgeView:
    return JudgeView.from_transcript(transcript().model_copy(update={"protocol": protocol}))


async def test_each_protocol_has_its_own_judge_system_prompt() -> None:
    systems = {}
    for protocol in ("debate", "consultancy", "unassisted"):
        ep = endpoint("mock/judge", replies=_reply)
        await LLMJudge(ep).judge(_view(protocol))
        systems[protocol] = ep.backend.requests[0].system or ""  # type: ignore[attr-defined]
    assert "Debater A defends answer A" in systems["debate"]
    assert "correct answer in half of the games" in systems["consultancy"]
    assert "[unverified]" in systems["consultancy"] and "[unverified]" not in systems["unassisted"]
    assert len(set(systems.values())) == 3


async def test_overrides_from_a_judges_table_apply_per_protocol() -> None:
    config = parse_judge_config(
        {
            "kind": "llm",
            "endpoint": "mock/judge",
            "prompts": {
                "consultancy:render_judge_system": "Consultancy judge for {labels}.",
                "render_judge_prompt": "Q: {question}\n{answers}\n{transcript}\nJSON.",
            },
        }
    )
    made: list[object] = []

    def factory(spec: str) -> object:
        ep = endpoint(spec, replies=_reply)
        made.append(ep)
        return ep

    judge = build_judge(config, endpoint_factory=factory)  # type: ignore[arg-type]
    await judge.judge(_view("consultancy"))
    await judge.judge(_view("debate"))
    consult, debate = made[0].backend.requests  # type: ignore[attr-defined]
    assert consult.system == "Consultancy judge for A, B."
    assert "Debater A defends answer A" in (debate.system or "")
    assert consult.messages[-1].content.startswith("Q: What did the lighthouse keeper record?")
    assert "[verified]" in consult.messages[-1].content


async def test_an_override_cannot_reach_what_the_view_does_not_hold() -> None:
    for hidden in ("{context}", "{correct}", "{roles}"):
        with pytest.raises(ConfigError, match="unknown field"):  # refused when it is built
            LLMJudge(
                endpoint("mock/judge", replies=_reply), prompts={"render_judge_prompt": hidden}
            )

    def sneaky(**fields: str) -> str:
        return " ".join(fields.values())

    ep = endpoint("mock/judge", replies=_reply)
    await LLMJudge(ep, prompts={"render_judge_prompt": sneaky}).judge(_view("debate"))
    sent = ep.backend.requests[0].messages[-1].content  # type: ignore[attr-defined]
    assert CONTEXT not in sent and "Every passing ship" in sent
    with pytest.raises(ConfigError, match="unknown judge prompt"):
        parse_judge_config({"kind": "llm", "endpoint": "mock/j", "prompts": {"render_x": "y"}})
