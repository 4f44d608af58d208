"""The tree of recursive reward modeling and prover–estimator debate: nodes being grown,
aggregation, the readable form the judge sees, and the typed record stored on the
transcript (:class:`transcripts.Tree`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from oversight.endpoints import strict_object
from transcripts import Quote, Role, Transcript, Tree, TreeNode, Turn
from transcripts.errors import ProtocolError
from transcripts.quotes import verify_quotes

if TYPE_CHECKING:
    from oversight.endpoints import Completion

__all__ = [
    "INNER_SCHEMA",
    "LEAF_SCHEMA",
    "SUBCLAIMS_SCHEMA",
    "Node",
    "decision_probabilities",
    "normalised",
    "subclaims_of",
]

SUBCLAIMS_SCHEMA = strict_object({"subclaims": {"type": "array", "items": {"type": "string"}}})
"""Structured reply of the assistant: the sub-claims of a claim."""

LEAF_SCHEMA = strict_object({"score": {"type": "number"}, "evidence": {"type": "string"}})
"""Structured reply of the evaluator on a leaf: a score in [0, 1] and the evidence."""

INNER_SCHEMA = strict_object({"score": {"type": "number"}, "justification": {"type": "string"}})
"""Structured reply of the evaluator on an inner claim (``aggregate="evaluator"``)."""


def subclaims_of(completion: Completion, branching: int) -> list[str]:
    """The non-empty sub-claims in the assistant's reply, at most ``branching`` of them."""
    claims = completion.parsed.get("subclaims") if isinstance(completion.parsed, dict) else None
    if not isinstance(claims, list):
        raise ProtocolError(f"the assistant gave no list of sub-claims: {completion.text[:200]!r}")
    return [str(c).strip() for c in claims if str(c).strip()][:branching]


@dataclass
class Node:
    """One claim in an answer's evaluation tree."""

    id: str
    """Path label: ``B`` for answer B's claim, ``B.2`` for its second sub-claim, ..."""
    claim: str
    """The statement evaluated at this node."""
    answer: int
    """Original index of the answer the tree evaluates."""
    children: list[Node] = field(default_factory=list)
    """Sub-claims; none at a leaf."""
    score: float = 0.0
    """In [0, 1]: the evaluator's at a leaf; above, the aggregate of the children's (or the
    evaluator's, with ``aggregate="evaluator"``)."""
    evidence: str = ""
    """The evaluator's evidence, with quotes in tags (leaves only)."""
    justification: str = ""
    """Why the evaluator gave an inner claim its score (``aggregate="evaluator"`` only)."""
    quotes: list[Quote] = field(default_factory=list)
    """Quotes of the evidence, justification or reply, verified against the hidden context."""
    question: str = ""
    """Weak-evaluator RRM: the sub-question this node answers."""
    reply: str = ""
    """Weak-evaluator RRM: the assistant's answer to ``question``, quotes marked."""
    judged: bool = True
    """False until an evaluator has scored the node (a reply not yet judged shows no score)."""
    reply_marked: str = ""
    """``reply`` with each quote marked verified or not, as the weak evaluator reads it."""
    estimate: float | None = None
    """Prover–estimator: the estimator's probability that the claim holds."""
    chosen: bool = False
    """Prover–estimator: the prover recursed on this sub-claim."""
    bet: Literal["higher", "lower"] | None = None
    """Prover–estimator: the prover's bet that the truth is above or below the estimate."""
    check: float | None = None
    """Prover–estimator, leaf: the judge's probability that the claim holds."""

    def walk(self) -> Iterator[Node]:
        """This node and every node below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def aggregate(self, how: str) -> float:
        """Set every inner node's score from its children's; return this node's.

        With ``how="evaluator"`` the evaluator has set every score already; none changes.
        """
        if self.children and how != "evaluator":
            scores = [child.aggregate(how) for child in self.children]
            self.score = min(scores) if how == "min" else sum(scores) / len(scores)
        return self.score

    def record(self) -> TreeNode:
        """The node and everything below it as the stored, typed record."""
        return TreeNode(
            id=self.id,
            claim=self.claim,
            answer=self.answer,
            score=self.score if self.judged else None,
            evidence=self.evidence,
            justification=self.justification,
            quotes=self.quotes,
            question=self.question,
            reply=self.reply,
            estimate=self.estimate,
            chosen=self.chosen,
            bet=self.bet,
            check=self.check,
            children=[child.record() for child in self.children],
        )

    def summary(self, *, marked: bool = False) -> str:
        """One line with the claim and score, then its evidence or justification (a reply
        with its quotes marked verified or not, if ``marked``)."""
        if self.question:
            trust = f" — trusted {self.score:.2f}" if self.judged else ""
            said = [f"Answer: {self.reply_marked if marked else self.reply}"]
            said += [f"Justification: {self.justification}"] if self.justification else []
            return "\n    ".join([f"[{self.id}] Q: {self.question}{trust}", *said])
        if self.estimate is not None:
            bet = f" <- the prover recursed here: the truth is {self.bet}" if self.chosen else ""
            said = [f"Prover's evidence: {self.evidence}"] if self.evidence else []
            said += [f"Estimator's reply: {self.justification}"] if self.justification else []
            said += [f"Judge's check: {self.check:.2f}"] if self.check is not None else []
            head = f"[{self.id}] {self.claim} — estimator {self.estimate:.2f}{bet}"
            return "\n    ".join([head, *said])
        said = [f"Evidence: {self.evidence}"] if self.evidence else []
        said += [f"Justification: {self.justification}"] if self.justification else []
        return "\n    ".join([f"[{self.id}] {self.claim} — score {self.score:.2f}", *said])

    def readable(self, how: str, indent: int = 0) -> str:
        """The tree as a judge reads it: one claim a line, evidence or justification below."""
        pad, n = "    " * indent, len(self.children)
        rule = "evaluator's judgment of" if how == "evaluator" else f"{how} of"
        rule = "weak evaluator's judgment with" if how == "weak" else rule
        rule = "the prover's decomposition into" if how == "prover-estimator" else rule
        kind = "sub-questions" if how == "weak" else "sub-claims"
        head, *said = self.summary().splitlines()
        lines = [f"{pad}{head}" + f" ({rule} {n} {kind})" * bool(n)]
        lines += [f"{pad}{line}" for line in said]
        return "\n".join(lines + [child.readable(how, indent + 1) for child in self.children])

    def turn(
        self,
        how: str,
        context: str | None,
        *,
        speaker: str = "Evaluation tree",
        role: Role = "evaluator",
    ) -> Turn:
        """The public turn (``Evaluation tree`` by default) showing this tree to the judge."""
        content = self.readable(how)
        return Turn(
            role=role,
            speaker=speaker,
            round=0,
            content=content,
            answer=self.answer,
            quotes=verify_quotes(content, context),
            metadata={"node": self.id},
        )


def normalised(rewards: list[float]) -> list[float]:
    """Rewards as probabilities: each over their sum; equally likely when all are 0."""
    total = float(sum(rewards))
    if total <= 0:
        return [1 / len(rewards)] * len(rewards)
    return [float(r) / total for r in rewards]


def decision_probabilities(transcript: Transcript) -> list[float]:
    """The protocol's own decision (original answer order) stored with its tree.

    RRM's normalised rewards or prover–estimator's estimate; a run written before trees
    were typed (schema version 1) keeps its rewards in ``metadata["rewards"]``.
    """
    tree: Tree | None = transcript.tree
    if tree is not None and tree.probabilities:
        return list(tree.probabilities)
    rewards = transcript.metadata.get("rewards")
    if transcript.protocol == "rrm" and isinstance(rewards, list) and rewards:
        return normalised([float(r) for r in rewards])
    raise ProtocolError(
        f"transcript {transcript.id!r} ({transcript.protocol}) holds no decision of its own: "
        "only finished rrm and prover-estimator transcripts do"
    )
