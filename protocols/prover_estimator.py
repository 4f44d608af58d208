"""Prover–estimator debate (after Brown-Cohen, Irving and Piliouras 2025, "Avoiding
obfuscation with prover-estimator debate").

The prover is assigned an answer and claims it is correct; the estimator, who reads the
same source text, gives its probability for that claim. Then, ``depth`` times: the prover
splits the current claim into at most ``branching`` sub-claims; the estimator gives a
probability for each; the prover picks the sub-claim whose probability it thinks is most
wrong and bets the truth is ``higher`` or ``lower``; the debate recurses on it. At the leaf
the prover gives evidence for its bet, the estimator replies (``leaf_reply``), and the judge
checks that leaf claim alone, without the text: only quotes marked verified can convince
it. The prover's payoff is the judge's probability minus the estimator's, signed by its bet.

The path is stored like an RRM tree, in ``transcript.tree`` (kind ``prover-estimator``: at
each step every sub-claim offered with its estimate, the chosen one marked with the bet,
the leaf with the evidence and the judge's check) and shown in a public ``Debate path``
turn. The item's decision is the estimator's root probability for the prover's answer (the
rest shared by the other answers, ``decide="estimator"``): the estimate the game gives the
estimator reason to make honest. With ``decide="judge"`` the experiment's judges decide,
reading the path.

Agents: ``prover``, ``estimator`` (both read the text), ``leaf_judge`` (never reads it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from oversight.endpoints import strict_object
from protocols import _common, _turns
from protocols._tree import SUBCLAIMS_SCHEMA, Node, subclaims_of
from protocols.base import ProtocolSpec, Setup
from protocols.prompts import prover_estimator as prompts
from transcripts import Question, Transcript, Tree
from transcripts._validation import Integer
from transcripts.errors import ProtocolError
from transcripts.quotes import verify_quotes

if TYPE_CHECKING:
    from judges.base import Judge
    from oversight.endpoints import Completion, Endpoint

__all__ = ["NAME", "PROTOCOLS", "PROVER", "ROLES", "Config", "run", "setups"]

NAME = "prover-estimator"
"""Registry name of this protocol."""

ROLES = ("prover", "estimator", "leaf_judge")
"""Roles prover–estimator debate needs."""

PROVER = "Prover"
"""The prover's speaker label."""

PROBABILITY_SCHEMA = strict_object(
    {"probability": {"type": "number"}, "reason": {"type": "string"}}
)


def _estimates_schema(n: int) -> dict[str, Any]:
    """The estimator's probabilities for ``n`` sub-claims, keyed ``"1"`` .. ``"n"``."""
    each = strict_object({str(k + 1): {"type": "number"} for k in range(n)})
    return strict_object({"probabilities": each, "reason": {"type": "string"}})


def _choice_schema(n: int) -> dict[str, Any]:
    """The prover's choice among ``n`` sub-claims and its bet."""
    return strict_object(
        {
            "index": {"type": "integer", "enum": list(range(1, n + 1))},
            "bet": {"type": "string", "enum": ["higher", "lower"]},
            "reason": {"type": "string"},
        }
    )


class Config(_common.SpeakerConfig):
    """Options of prover–estimator debate."""

    depth: Integer = Field(default=2, ge=0)
    """Recursion steps from the answer's claim to the leaf the judge checks (0: the claim)."""
    branching: Integer = Field(default=3, ge=1)
    """Most sub-claims per decomposition."""
    leaf_reply: bool = True
    """The estimator answers the prover's leaf evidence before the judge checks the leaf."""
    decide: Literal["estimator", "judge"] = "estimator"
    """Who decides the item: the estimator's root probability, or the experiment's judges
    reading the debate path."""
    sides: _common.Sides = "all"
    """Which answers the prover is assigned across setups (all when gold is unknown)."""
    word_limit: Integer | None = Field(default=150, ge=1)
    """Most words of leaf evidence (quoted words count); longer is cut and marked."""


def setups(question: Question, config: Config) -> list[Setup]:
    """One setup per assigned answer (see ``sides``) per answer order."""
    assigned = [{PROVER: i} for i in _common.sides(question, config.sides)]
    return _common.counterbalance(question, assigned)


def _probability(done: Completion, key: str = "probability") -> float:
    parsed = done.parsed if isinstance(done.parsed, dict) else {}
    try:
        return min(1.0, max(0.0, float(parsed[key])))
    except (KeyError, TypeError, ValueError) as err:
        raise ProtocolError(f"no probability in {done.text[:200]!r}") from err


async def run(
    question: Question,
    agents: Mapping[str, Endpoint],
    *,
    config: Config | None = None,
    setup: Setup | None = None,
    judge: Judge | None = None,
) -> Transcript:
    """Run one prover–estimator debate (defaults: ``Config()``, the first setup)."""
    config = config or Config()
    setup = setup or setups(question, config)[0]
    config.check_prompts(prompts)
    rec = _turns.Recorder(NAME, question, config, setup, speakers=[PROVER])
    answer = rec.assignment[PROVER]
    prover = rec.cast(
        agents, PROVER, "prover", role="prover", system=rec.prompt(prompts.render_prover_system)
    ).arguing(answer)
    estimator = rec.cast(
        agents,
        "Estimator",
        "estimator",
        role="estimator",
        system=rec.prompt(prompts.render_estimator_system),
    )
    blind = rec.prompt(prompts.render_leaf_judge_system)  # takes no context field
    checker = rec.cast(agents, "Leaf judge", "leaf_judge", role="leaf_judge", system=blind)

    root = Node(
        rec.letter(answer),
        rec.prompt(prompts.render_root_claim, side=rec.side(answer)),
        answer,
        judged=False,
    )  # estimated, never scored
    done = await estimator.complete(
        rec.prompt(prompts.render_estimate_prompt, claim=root.claim), schema=PROBABILITY_SCHEMA
    )
    root.estimate = _probability(done)
    rec.add(estimator.aside(done, node=root.id, estimate=root.estimate))
    node = root
    for _ in range(config.depth):
        assert node.estimate is not None
        shown = f"{node.estimate:.2f}"
        ask = rec.prompt(
            prompts.render_decompose_prompt,
            claim=node.claim,
            estimate=shown,
            branching=config.branching,
        )
        done = await prover.complete(ask, schema=SUBCLAIMS_SCHEMA)
        claims = subclaims_of(done, config.branching)
        rec.add(prover.aside(done, node=node.id, subclaims=claims))
        if not claims:
            break  # nothing simpler to say: the current claim is the leaf
        node.children = [
            Node(f"{node.id}.{k + 1}", c, answer, judged=False) for k, c in enumerate(claims)
        ]
        listed = "\n".join(f"{k + 1}. {c}" for k, c in enumerate(claims))
        ask = rec.prompt(
            prompts.render_estimates_prompt, claim=node.claim, estimate=shown, subclaims=listed
        )
        done = await estimator.complete(ask, schema=_estimates_schema(len(claims)))
        given = done.parsed.get("probabilities") if isinstance(done.parsed, dict) else None
        for k, child in enumerate(node.children):
            try:
                child.estimate = min(1.0, max(0.0, float(given[str(k + 1)])))  # type: ignore[index]
            except (KeyError, TypeError, ValueError) as err:
                raise ProtocolError(
                    f"the estimator gave no probability for sub-claim {k + 1}: {done.text[:200]!r}"
                ) from err
        rec.add(estimator.aside(done, node=node.id, estimates=[c.estimate for c in node.children]))
        listed = "\n".join(
            f"{k + 1}. {c.claim} — {c.estimate:.2f}" for k, c in enumerate(node.children)
        )
        done = await prover.complete(
            rec.prompt(prompts.render_choose_prompt, claim=node.claim, estimates=listed),
            schema=_choice_schema(len(claims)),
        )
        parsed = done.parsed if isinstance(done.parsed, dict) else {}
        index, bet = parsed.get("index"), parsed.get("bet")
        if (
            not isinstance(index, int)
            or not 1 <= index <= len(claims)
            or bet not in ("higher", "lower")
        ):
            raise ProtocolError(f"the prover chose no sub-claim and bet: {done.text[:200]!r}")
        node = node.children[index - 1]
        node.chosen, node.bet = True, bet
        rec.add(prover.aside(done, node=node.id, bet=bet))

    # The leaf: evidence, a reply, and the judge's check of that claim alone.
    bet = node.bet or "higher"  # at depth 0 the prover argues for its own claim
    node.bet = bet
    said = await prover.say(
        rec.prompt(prompts.render_leaf_evidence_prompt, claim=node.claim, bet=bet), round=0
    )
    rec.add(said.model_copy(update={"visibility": "private", "metadata": {"node": node.id}}))
    node.evidence = said.content
    evidence = f"Prover's evidence:\n{_turns._marked(said)}"
    if config.leaf_reply:
        reply = await estimator.say(
            rec.prompt(
                prompts.render_leaf_reply_prompt, claim=node.claim, evidence=_turns._marked(said)
            ),
            round=0,
        )
        rec.add(reply.model_copy(update={"visibility": "private", "metadata": {"node": node.id}}))
        node.justification = reply.content
        evidence += f"\n\nEstimator's reply:\n{_turns._marked(reply)}"
    done = await checker.complete(
        rec.prompt(prompts.render_leaf_judge_prompt, claim=node.claim, evidence=evidence),
        schema=PROBABILITY_SCHEMA,
    )
    node.check = _probability(done)
    node.quotes = verify_quotes(f"{node.evidence}\n{node.justification}", question.context)
    rec.add(checker.aside(done, node=node.id, check=node.check))
    assert node.estimate is not None and root.estimate is not None
    payoff = (node.check - node.estimate) * (1 if bet == "higher" else -1)

    rec.add(root.turn("prover-estimator", question.context, speaker="Debate path", role="prover"))
    n = len(question.answers)
    probabilities = [
        root.estimate if i == answer else (1 - root.estimate) / (n - 1) for i in range(n)
    ]
    tree = Tree(
        kind=NAME,
        roots=[root.record()],
        decide=config.decide,
        probabilities=probabilities,
        prover_payoff=payoff,
    )
    return rec.transcript().model_copy(update={"tree": tree})


PROTOCOLS = {NAME: ProtocolSpec(NAME, Config, ROLES, setups, run)}
"""The protocol this module implements, for :data:`protocols.base.REGISTRY`."""
