"""The debate workload of ``bench_debate.py``, shared by its contenders and its fake server.

Plain Python only: the inspect_ai contender imports it from its own virtual environment,
where ``oversight`` is not installed.

One debate is three simultaneous rounds of two debaters (each sees the earlier rounds),
then a judge asked for JSON probabilities: 7 calls, 4 of them in turn. The server's
replies keep every contender on that path: a debater's speech has its private reasoning,
its argument and a quote the story really contains (so no speech is redrawn), and a
verdict's probabilities add up to one (so no verdict is asked again).
"""

from __future__ import annotations

import json
from typing import Any

ROUNDS = 3
CALLS_PER_DEBATE = 2 * ROUNDS + 1
QUOTE = "the lighthouse keeper counted the ships twice"
STORY = (
    "On the northern cape the lighthouse keeper counted the ships twice every night, once "
    "by lamp and once by ledger. " * 40
)
"""The hidden text (~4,400 characters), the same for every question."""
DEBATER_MODEL = "gpt-4o-mini"
"""The model every contender's debaters and judge ask (one shared limit of requests)."""

SPEECH = (
    "<thinking>Point to the ledger.</thinking><argument>The story is plain: "
    f"<quote>{QUOTE}</quote>. Only my answer fits that; the other side cannot explain "
    "why the keeper kept a ledger at all, and its reading leaves the second count "
    "unexplained.</argument>"
)


def question(i: int) -> dict[str, Any]:
    """The ``i``-th question (the oversight contender's dataset row)."""
    return {
        "id": f"q{i}",
        "question": f"How many times a night did the keeper count the ships? ({i})",
        "answers": ["twice", "once"],
        "correct": 0,
        "context": STORY,
        "source": f"story-{i // 10}",
    }


def debater_messages(i: int, side: int, speeches: list[tuple[str, str]]) -> list[dict[str, str]]:
    """What the bare and inspect_ai contenders send a debater: the rules, the story and
    the debate so far (``(speaker, speech)`` of earlier rounds)."""
    q = question(i)
    name = "AB"[side]
    system = (
        f"You are Debater {name} in a debate before a judge who cannot read the story. "
        f"Defend the answer {q['answers'][side]!r} to the question. Think in <thinking> tags, "
        "then give a public <argument> of at most 150 words that quotes the story in "
        f"<quote> tags.\n\n<story>\n{STORY}\n</story>\n\nQuestion: {q['question']}"
    )
    transcript = "\n\n".join(f"{who}: {said}" for who, said in speeches) or "(none yet)"
    user = f"The debate so far:\n\n{transcript}\n\nWrite your next speech."
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def judge_messages(i: int, speeches: list[tuple[str, str]]) -> list[dict[str, str]]:
    """What the bare and inspect_ai contenders send the judge."""
    q = question(i)
    transcript = "\n\n".join(f"{who}: {said}" for who, said in speeches)
    system = (
        "You judge a debate without the story. Give the probability that each answer is "
        "correct, as JSON."
    )
    user = (
        f"Question: {q['question']}\nA: {q['answers'][0]}\nB: {q['answers'][1]}\n\n"
        f"{transcript}\n\nWhich answer is correct?"
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "rationale": {"type": "string"},
        "probabilities": {
            "type": "object",
            "properties": {"A": {"type": "number"}, "B": {"type": "number"}},
            "required": ["A", "B"],
            "additionalProperties": False,
        },
    },
    "required": ["rationale", "probabilities"],
    "additionalProperties": False,
}
"""The bare and inspect_ai judges' JSON schema (oversight's judge sends its own)."""


def reply(body: dict[str, Any]) -> str:
    """The fake server's answer to any contender's request: a verdict where a schema with
    ``probabilities`` is asked, else a debater's speech."""
    response_format = body.get("response_format") or {}
    schema = (response_format.get("json_schema") or {}).get("schema") or {}
    probabilities = (schema.get("properties") or {}).get("probabilities")
    if probabilities is None:
        return SPEECH
    labels = list(probabilities.get("properties") or {})
    share = 0.3 / max(1, len(labels) - 1)
    verdict = {label: 0.7 if k == 0 else share for k, label in enumerate(labels)}
    return json.dumps({"rationale": "Debater A quoted the story.", "probabilities": verdict})
