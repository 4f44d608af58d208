"""Recursive reward modeling with a weak evaluator (after Leike et al. 2018, "Scalable agent
alignment via reward modeling").

The evaluator (the weak model, or a person's stand-in) decides how good each answer is but
never reads the hidden source text. It is assisted: for the claim "answer X is correct" it
asks up to ``branching`` sub-questions, and assistants who read the text answer them. Each
answer it relies on is a sub-evaluation of its own ("the assistant's answer to Q is
accurate"), itself assisted the same way, down to ``depth`` levels; at the bottom the
evaluator judges an answer on its face (quotes marked verified or not). Every judgment is
the evaluator's, bottom up, with the sub-evaluations' answers and trust scores in view; an
answer's reward is the evaluator's assisted judgment of its claim.

With ``depth=0`` the evaluator judges each claim unassisted. The tree (every question,
reply, trust score and justification, with verified quotes) is stored in
``transcript.tree`` (kind ``rrm``) and shown in each answer's public ``Evaluation tree``
turn. The decision is the rewards' own (``decide="rewards"``: each reward over their sum),
or the experiment's judges', reading the trees (``decide="judge"``).

Agents: ``evaluator`` (weak: asks and judges, never reads the text), ``assistant`` (reads the
text, answers). :mod:`protocols.rrm_expert` keeps the first wave's variant, whose leaves are
judged by an evaluator that reads the text (``rrm-expert-leaves``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from oversight.endpoints import strict_object
from protocols import _common, _turns
from protocols._tree import INNER_SCHEMA, Node, normalised
from protocols.base import ProtocolSpec, Setup
from protocols.prompts import rrm as prompts
from transcripts import Question, Transcript, Tree
from transcripts._validation import Integer
from transcripts.errors import ProtocolError
from transcripts.quotes import as_said, verify_quotes

if TYPE_CHECKING:
    from judges.base import Judge
    from oversight.endpoints import Endpoint

__all__ = [
    "PROTOCOLS",
    "QUESTIONS_SCHEMA",
    "ROLES",
    "Config",
    "reward_probabilities",
    "run",
    "setups",
]

ROLES = ("assistant", "evaluator")
"""Roles recursive reward modeling needs."""

QUESTIONS_SCHEMA = strict_object({"questions": {"type": "array", "items": {"type": "string"}}})
"""Structured reply of the evaluator: the sub-questions it wants answered."""


class Config(_common.SpeakerConfig):
    """Options of recursive reward modeling with a weak evaluator."""

    depth: Integer = Field(default=2, ge=0)
    """Levels of assistance: 1, the evaluator's questions are answered; 2, each answer is
    itself evaluated with assistance; ... (0: the evaluator judges unassisted)."""
    branching: Integer = Field(default=2, ge=1)
    """Most sub-questions the evaluator asks per evaluation."""
    decide: Literal["rewards", "judge"] = "rewards"
    """Who decides: the evaluator's assisted rewards, or the experiment's judges reading the
    trees."""


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
    """Evaluate every answer with the weak evaluator, assisted (defaults: ``Config()``, first
    setup)."""
    config = config or Config()
    setup = setup or setups(question, config)[0]
    config.check_prompts(prompts)
    rec = _turns.Recorder("rrm", question, config, setup)
    helper = rec.prompt(prompts.render_helper_system)
    assistant = rec.cast(agents, "Assistant", "assistant", role="assistant", system=helper)
    blind = rec.prompt(prompts.render_weak_evaluator_system)  # takes no context field
    evaluator = rec.cast(agents, "Evaluator", "evaluator", role="evaluator", system=blind)
    b = config.branching

    def in_view(node: Node) -> str:
        """The claim as the evaluator reads it: a sub-evaluation's with the answer it judges."""
        if not node.question:
            return node.claim
        return rec.prompt(prompts.render_reply_in_view, claim=node.claim, reply=node.reply_marked)

    async def evaluate(node: Node, level: int) -> None:
        """Score ``node``: ask, have it answered, evaluate the answers (deeper), judge."""
        claim = in_view(node)
        if level < config.depth:
            ask = rec.prompt(prompts.render_ask_prompt, claim=claim, branching=b)
            done = await evaluator.complete(ask, schema=QUESTIONS_SCHEMA)
            asked = _questions(done.parsed, done.text)[:b]
            rec.add(evaluator.aside(done, node=node.id, questions=asked))
            node.children = [
                Node(
                    f"{node.id}.{k + 1}",
                    rec.prompt(prompts.render_reply_claim, asked=q),
                    node.answer,
                    question=q,
                    judged=False,
                )
                for k, q in enumerate(asked)
            ]
            await rec.each(lambda child: answer(child, level + 1), node.children)
        findings = "\n".join(child.summary(marked=True) for child in node.children)
        ask = rec.prompt(
            prompts.render_weak_judge_prompt,
            claim=claim,
            findings=findings or "(no assistance: judge it as it stands)",
        )
        # A leaf's judgment waits on no other: it may go in a provider batch.
        done = await evaluator.complete(ask, schema=INNER_SCHEMA, batchable=not node.children)
        node.score, node.judged = _turns.score_of(done, "the evaluator"), True
        said = str(done.parsed.get("justification", "")).strip()
        node.justification, _ = _common.cut_to_limit(
            as_said(said, question.context),
            word_limit=config.word_limit,
            char_limit=config.char_limit,
        )
        node.quotes = verify_quotes(f"{node.reply}\n{node.justification}", question.context)
        rec.add(evaluator.aside(done, node=node.id, score=node.score))

    async def answer(node: Node, level: int) -> None:
        """The assistant answers ``node.question``; the answer is evaluated in turn."""
        turn = await assistant.say(
            rec.prompt(prompts.render_subanswer_prompt, asked=node.question), round=0
        )
        rec.add(turn.model_copy(update={"visibility": "private", "metadata": {"node": node.id}}))
        node.reply, node.reply_marked = turn.content, _turns._marked(turn)
        await evaluate(node, level)

    roots = [
        Node(rec.letter(i), rec.prompt(prompts.render_root_claim, side=rec.side(i)), i)
        for i in rec.order
    ]
    await rec.each(lambda root: evaluate(root, 0), roots)
    for root in roots:
        rec.add(root.turn("weak", question.context))  # quotes verified for the judge
    by_answer = sorted(roots, key=lambda node: node.answer)
    rewards = [root.score for root in by_answer]
    tree = Tree(
        kind="rrm",
        roots=[root.record() for root in by_answer],
        decide=config.decide,
        rewards=rewards,
        probabilities=normalised(rewards),
    )
    return rec.transcript().model_copy(update={"tree": tree})


def _questions(parsed: Any, text: str) -> list[str]:
    questions = parsed.get("questions") if isinstance(parsed, dict) else None
    if not isinstance(questions, list):
        raise ProtocolError(f"the evaluator gave no list of questions: {text[:200]!r}")
    return [str(q).strip() for q in questions if str(q).strip()]


def reward_probabilities(transcript: Transcript) -> list[float]:
    """The rewards as probabilities (original answer order): each reward over their sum,
    equally likely when every reward is 0. Reads runs written before trees were typed."""
    from protocols._tree import decision_probabilities

    return decision_probabilities(transcript)


PROTOCOLS = {"rrm": ProtocolSpec("rrm", Config, ROLES, setups, run)}
"""The protocol this module implements, for :data:`protocols.base.REGISTRY`."""
