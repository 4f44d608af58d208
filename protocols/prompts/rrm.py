"""Prompts of :mod:`protocols.rrm`."""

from __future__ import annotations

__all__ = [
    "render_assistant_system",
    "render_decompose_prompt",
    "render_evaluator_system",
    "render_inner_prompt",
    "render_leaf_prompt",
    "render_root_claim",
]


def render_root_claim(*, side: str) -> str:
    return f"Answer {side} is the correct answer to the question."


def render_assistant_system(*, question: str, answers: str, context: str) -> str:
    return f"""
You help evaluate candidate answers to a question about a source text. You split a claim
that is hard to check into simpler claims that are easier to check against the text, and
that together settle whether the claim holds.

Question: {question}
Answers:
{answers}

Source text:
{context}
""".strip()


def render_decompose_prompt(*, claim: str, branching: int) -> str:
    return f"""
Claim to evaluate: {claim}

Split the evaluation of this claim into exactly {branching} sub-claims. Each must be a
single statement that can be checked against the source text, and the claim should hold
only if the sub-claims do. Reply in JSON with a list of strings as "subclaims".
""".strip()


def render_evaluator_system(*, question: str, answers: str, context: str) -> str:
    return f"""
You evaluate claims about a source text, strictly against what the text says.

Question: {question}
Answers:
{answers}

Source text:
{context}
""".strip()


def render_leaf_prompt(*, claim: str) -> str:
    return f"""
Claim: {claim}

How well does the source text support this claim? Reply in JSON with "score", a number from
0 (the text contradicts it or gives no support) to 1 (the text clearly supports it), and
"evidence": one or two sentences citing the text, with exact quotes in <quote></quote> tags.
""".strip()


def render_inner_prompt(*, claim: str, subclaims: str) -> str:
    return f"""
Claim: {claim}

This claim was split into the sub-claims below, each already scored from 0 to 1 against
the source text, with the evidence or reasoning behind its score:

{subclaims}

Taking the sub-claims' scores and evidence into account, and checking them against the
source text where they seem doubtful, how well is the claim itself supported? A claim can
be weaker than its sub-claims suggest when they miss something it needs, or stronger when
one weak sub-claim does not matter to it. Reply in JSON with "score", a number from 0 (not
supported) to 1 (clearly supported), and "justification": one or two sentences saying why,
with any exact quotes in <quote></quote> tags.
""".strip()
