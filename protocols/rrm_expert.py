"""Factored evaluation with expert leaves (``rrm-expert-leaves``): the first wave's "rrm".

Not recursive reward modeling as Leike et al. 2018 describe it: here the evaluator reads
the hidden text, so the leaves are judged by an expert. :mod:`protocols.rrm` is the
faithful protocol, with a weak evaluator that never reads the text. Kept for comparison.

Evaluating an answer is hard, so the evaluation is split: an assistant breaks the claim
"answer X is correct" into ``branching`` sub-claims, each sub-claim is split again, down to
``depth`` levels; an evaluator judges each leaf directly against the hidden source text.
Scores flow back up into one reward per answer.

Aggregation: a leaf's score is the evaluator's, clamped to [0, 1]; a claim's score is the
mean (``aggregate="mean"``) or the minimum (``"min"``: a claim is as weak as its weakest
part) of its sub-claims' scores, or the evaluator's own judgment of the claim with its
sub-claims' scores and evidence in view (``"evaluator"``: one more call per inner claim,
bottom up, each with a score and a short justification); an answer's reward is its root
claim's score. With ``depth=0`` each answer's claim is judged directly. A claim the
assistant splits into no sub-claims is judged directly as a leaf; extra sub-claims beyond
``branching`` are dropped.

The whole tree (claim, evidence or justification with verified quotes, score at every node;
every call is a private turn naming its node) is stored in ``transcript.tree`` (kind
``rrm-expert-leaves``, with the rewards) and in each answer's public ``Evaluation tree``
turn, which shows it to the judge. The decision is the judge's, with the trees in view
(``decide="judge"``), or the rewards' own (``decide="rewards"``: each reward over their
sum).

Agents: ``assistant`` (splits claims), ``evaluator`` (judges leaves, and inner claims with
``aggregate="evaluator"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from protocols import _common, _turns
from protocols._tree import (
    INNER_SCHEMA,
    LEAF_SCHEMA,
    SUBCLAIMS_SCHEMA,
    Node,
    normalised,
    subclaims_of,
)
from protocols.base import ProtocolSpec, Setup
from protocols.prompts import rrm as prompts
from transcripts import Question, Transcript, Tree, Turn
from transcripts._validation import Integer
from transcripts.quotes import as_said, verify_quotes

if TYPE_CHECKING:
    from judges.base import Judge
    from oversight.endpoints import Endpoint

__all__ = ["NAME", "PROTOCOLS", "ROLES", "Config", "run", "setups"]

NAME = "rrm-expert-leaves"
"""Registry name of this protocol."""

ROLES = ("assistant", "evaluator")
"""Roles recursive reward modeling needs."""


class Config(_common.SpeakerConfig):
    """Options of recursive reward modeling."""

    depth: Integer = Field(default=2, ge=0)
    """Levels of decomposition below each answer's claim (0: judge the claim directly)."""
    branching: Integer = Field(default=2, ge=1)
    """Sub-claims each claim is split into."""
    aggregate: Literal["mean", "min", "evaluator"] = "mean"
    """How a claim's score follows from its sub-claims': their mean, their minimum, or the
    evaluator's judgment with their scores and evidence in view (one call per inner claim)."""
    decide: Literal["judge", "rewards"] = "judge"
    """Who decides: the judge with the trees in view, or the rewards themselves."""


def setups(question: Question, config: Config) -> list[Setup]:
    """Every answer order (rotations); every answer is evaluated, so nothing is assigned."""
    return _common.counterbalance(question, [])


async def run(
    question: Question,
    agents: Mapping[str, Endpoint],
    *,
    config: Config | None = None,
    setup: Setup | None = None,
    judge: Judge | None = None,
) -> Transcript:
    """Build and score every answer's evaluation tree (defaults: ``Config()``, first setup)."""
    config = config or Config()
    setup = setup or setups(question, config)[0]
    config.check_prompts(prompts)
    rec = _turns.Recorder(NAME, question, config, setup)
    b = config.branching
    helper = rec.prompt(prompts.render_assistant_system)
    assistant = rec.cast(agents, "Assistant", "assistant", role="assistant", system=helper)
    judging = rec.prompt(prompts.render_evaluator_system)
    evaluator = rec.cast(agents, "Evaluator", "evaluator", role="evaluator", system=judging)

    async def split(node: Node) -> Turn:
        ask = rec.prompt(prompts.render_decompose_prompt, claim=node.claim, branching=b)
        done = await assistant.complete(ask, schema=SUBCLAIMS_SCHEMA)
        claims = subclaims_of(done, b)
        node.children = [Node(f"{node.id}.{k + 1}", c, node.answer) for k, c in enumerate(claims)]
        return assistant.aside(done, node=node.id, subclaims=claims)

    async def evaluate(node: Node) -> Turn:
        # A leaf is judged against the text; an inner claim with its sub-claims in view.
        inner = bool(node.children)
        parts = "\n".join(child.summary() for child in node.children)
        render = prompts.render_inner_prompt if inner else prompts.render_leaf_prompt
        ask = rec.prompt(render, claim=node.claim, subclaims=parts)
        # Leaves wait on no other judgment: they may go in a provider batch.
        done = await evaluator.complete(
            ask, schema=INNER_SCHEMA if inner else LEAF_SCHEMA, batchable=not inner
        )
        node.score = _turns.score_of(done, "the evaluator")
        said = str(done.parsed.get("justification" if inner else "evidence", "")).strip()
        limits = {"word_limit": config.word_limit, "char_limit": config.char_limit}
        said, _ = _common.cut_to_limit(as_said(said, question.context), **limits)
        node.justification, node.evidence = (said, "") if inner else ("", said)
        node.quotes = verify_quotes(said, question.context)
        return evaluator.aside(done, node=node.id, score=node.score)

    roots = [
        Node(rec.letter(i), rec.prompt(prompts.render_root_claim, side=rec.side(i)), i)
        for i in rec.order
    ]
    levels = [roots]
    for _ in range(config.depth):
        rec.add(*await rec.each(split, levels[-1]))
        levels.append([child for node in levels[-1] for child in node.children])
    leaves = [node for root in roots for node in root.walk() if not node.children]
    rec.add(*await rec.each(evaluate, leaves))
    for level in reversed(levels if config.aggregate == "evaluator" else []):
        rec.add(*await rec.each(evaluate, [node for node in level if node.children]))
    for root in roots:
        root.aggregate(config.aggregate)
        rec.add(root.turn(config.aggregate, question.context))
    by_answer = sorted(roots, key=lambda node: node.answer)
    rewards = [root.score for root in by_answer]
    tree = Tree(
        kind=NAME,
        roots=[root.record() for root in by_answer],
        decide=config.decide,
        aggregate=config.aggregate,
        rewards=rewards,
        probabilities=normalised(rewards),
    )
    return rec.transcript().model_copy(update={"tree": tree})


PROTOCOLS = {NAME: ProtocolSpec(NAME, Config, ROLES, setups, run)}
"""The protocol this module implements, for :data:`protocols.base.REGISTRY`."""
