"""Scripted mock endpoints, a question with hidden context, and judges for the protocol tests."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from judges.base import Judge
from oversight.endpoints import Endpoint, MockBackend, Request, endpoint
from transcripts import JudgeIdentity, JudgeView, Judgment, Question

CONTEXT = (
    "Captain Ilse Brandt sailed the Merrow out of Kestrel Bay in the spring of 1911.\n"
    "She carried forty barrels of salt cod and a crate of \u201cbrass compass needles\u201d. "
    "The harbour master, Odo Finch, noted that the crew numbered eleven. "
    "Nobody aboard ever learned that the cook had hidden a silver locket under the stove."
)
SECRET = "the cook had hidden a silver locket under the stove"
"""A sentence of the context no speaker ever quotes: seeing it means seeing the context."""

ANSWERS = ["Salt cod", "Iron ore", "Raw wool"]


def question(
    *, answers: int = 2, correct: int | None = 0, context: str | None = CONTEXT
) -> Question:
    return Question(
        id="merrow",
        text="What did the Merrow carry out of Kestrel Bay?",
        answers=ANSWERS[:answers],
        correct=correct,
        context=context,
        source="story-merrow",
    )


Reply = str | dict[str, Any]


def mock(name: str, reply: Callable[[Request], Reply]) -> Endpoint:
    """A mock endpoint answering with ``reply(request)``."""
    return endpoint(f"mock/{name}", replies=reply)


def sent(ep: Endpoint) -> list[Request]:
    """Every request ``ep`` received."""
    backend = ep.backend
    assert isinstance(backend, MockBackend)
    return backend.requests


def text(request: Request) -> str:
    """Everything a model was shown in one request."""
    return "\n".join([request.system or "", *(m.content for m in request.messages)])


def prompt(request: Request) -> str:
    return request.messages[-1].content


def properties(request: Request) -> dict[str, Any]:
    return dict((request.schema_ or {}).get("properties", {}))


def speaker_in(request: Request) -> str:
    """The debater label a debate prompt addresses (``Debater A``, ...)."""
    found = re.search(r"You are (Debater [A-Z])", text(request))
    assert found, text(request)
    return found.group(1)


def round_in(request: Request) -> int:
    found = re.search(r"This is round (\d+) of", prompt(request))
    assert found, prompt(request)
    return int(found.group(1))


def argue(body: str, thinking: str = "Plan: stress the cargo.") -> str:
    """A speaker's reply in the tagged format: private reasoning, then the public argument."""
    return f"<thinking>{thinking}</thinking>\n<argument>{body}</argument>"


def anything(request: Request) -> Reply:
    """A reply that fits any request of any protocol (first choice, middling scores)."""
    props = properties(request)
    if "probabilities" in props and "rationale" in props:  # a judge's verdict
        labels = list(props["probabilities"]["properties"])
        return {"rationale": "even", "probabilities": {k: 1 / len(labels) for k in labels}}
    if "answer" in props:
        return {"answer": props["answer"]["enum"][0], "reason": "it fits"}
    if "subclaims" in props:
        return {"subclaims": ["The text names the cargo.", "The cargo left Kestrel Bay."]}
    if "questions" in props:
        return {"questions": ["What was the cargo?", "Where did it sail from?"]}
    if "evidence" in props:
        return {"score": 0.75, "evidence": "<quote>forty barrels of salt cod</quote>"}
    if "justification" in props and "score" in props:
        return {"score": 0.6, "justification": "<quote>forty barrels of salt cod</quote>"}
    if "flaw" in props:
        return {"justification": "It was <quote>a crate</quote>.", "flaw": "Not the cargo."}
    if "p_flawed" in props:
        return {"p_flawed": 0.4, "reason": "maybe"}
    if "helpfulness" in props:
        return {
            "helpfulness": 5,
            "real_flaw": True,
            "identifies_key": False,
            "claims_flaw": True,
            "reason": "ok",
        }
    if "bet" in props:
        return {"index": 1, "bet": "lower", "reason": "overconfident"}
    if "probabilities" in props:
        keys = props["probabilities"]["properties"]
        return {"probabilities": dict.fromkeys(keys, 0.7), "reason": "plausible"}
    if "probability" in props:
        return {"probability": 0.6, "reason": "plausible"}
    if "score" in props:
        return {"score": 0.5, "reason": "fair"}
    case = "My case: <quote>She carried forty barrels of salt cod</quote>."
    return argue(case) if "<argument>" in text(request) else case


class ScriptedJudge(Judge):
    """Asks scripted questions through a mock endpoint that records everything it was sent."""

    def __init__(self, questions: list[str | None]) -> None:
        self.questions = list(questions)
        self.views: list[JudgeView] = []
        self.endpoint = mock("judge", self._reply)

    def _reply(self, request: Request) -> str:
        return self.questions.pop(0) or ""

    @property
    def identity(self) -> JudgeIdentity:
        return JudgeIdentity(kind="llm", name="scripted")

    async def ask(self, view: JudgeView) -> str | None:
        self.views.append(view)
        completion = await self.endpoint.complete(
            view.model_dump_json(), system="Ask one question."
        )
        return completion.text or None

    async def judge(self, view: JudgeView) -> Judgment:
        n = len(view.answers)
        return Judgment(
            transcript_id=view.transcript_id, judge=self.identity, probabilities=[1 / n] * n
        )


def as_json(data: dict[str, Any]) -> str:
    return json.dumps(data)
