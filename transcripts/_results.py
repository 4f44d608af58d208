"""Typed results some protocols add to a transcript: evaluation trees and critique outcomes.

Recursive reward modeling and prover–estimator debate store their tree in
``Transcript.tree`` (a :class:`Tree`); critique stores what the GDC measurement and the
critique ratings need in ``Transcript.critique`` (a :class:`CritiqueOutcome`). Neither is
ever copied into a :class:`~transcripts.JudgeView`: the planted flaw's key, the rewards and
the raters' verdicts stay with the researcher.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from transcripts._models import Quote, Record

__all__ = ["CritiqueOutcome", "CritiqueRating", "Tree", "TreeKind", "TreeNode"]

TreeKind = Literal["rrm", "rrm-expert-leaves", "prover-estimator"]
"""Which protocol grew the tree."""


class TreeNode(Record):
    """One claim in an evaluation tree (RRM) or on a prover–estimator debate's path."""

    id: str
    """Path label: ``B`` for answer B's claim, ``B.2`` for its second sub-claim, ..."""
    claim: str
    """The statement evaluated at this node."""
    answer: int | None = None
    """Original index of the answer the tree is about."""
    score: float | None = None
    """RRM: the node's score in [0, 1] (leaf: the evaluator's; inner: the aggregate, or the
    evaluator's judgment). None in prover–estimator debate."""
    evidence: str = ""
    """What supports the claim, quotes in tags: an expert leaf's evidence, or the prover's
    evidence for the leaf of a prover–estimator debate."""
    justification: str = ""
    """Why the (weak or expert) evaluator gave the claim its score."""
    quotes: list[Quote] = Field(default_factory=list)
    """Quotes of ``evidence``, ``justification`` and ``reply``, verified against the hidden text."""
    question: str = ""
    """Weak-evaluator RRM: the sub-question the evaluator asked, which this node answers."""
    reply: str = ""
    """Weak-evaluator RRM: the assistant's answer to ``question`` (the claim checked below)."""
    estimate: float | None = None
    """Prover–estimator debate: the estimator's probability, in [0, 1], that the claim holds."""
    chosen: bool = False
    """Prover–estimator debate: the prover chose to recurse on this sub-claim."""
    bet: Literal["higher", "lower"] | None = None
    """Prover–estimator debate: the prover's claim that the truth is above or below
    ``estimate`` (set on the chosen sub-claim)."""
    check: float | None = None
    """Prover–estimator debate, leaf only: the judge's probability that the claim holds."""
    children: list[TreeNode] = Field(default_factory=list)
    """Sub-claims (RRM) or sub-claims offered at this step (prover–estimator); none at a leaf."""

    def walk(self) -> list[TreeNode]:
        """This node and every node below it, depth first."""
        return [self, *(node for child in self.children for node in child.walk())]


class Tree(Record):
    """A protocol's tree and the decision it implies."""

    kind: TreeKind
    """Which protocol grew it: ``rrm`` (weak evaluator), ``rrm-expert-leaves`` or
    ``prover-estimator``."""
    roots: list[TreeNode]
    """RRM: one root per answer, in the question's original order. Prover–estimator: the
    assigned answer's claim, its chosen path spelled out to the leaf."""
    decide: str
    """Who decides the item: ``judge`` (the experiment's judges read the tree), ``rewards``
    (RRM) or ``estimator`` (prover–estimator)."""
    aggregate: str | None = None
    """RRM: how inner scores follow from their sub-claims (``mean``, ``min``, ``evaluator``)."""
    rewards: list[float] | None = None
    """RRM: each answer's reward in [0, 1], original order."""
    probabilities: list[float] | None = None
    """The tree's own probability per answer (original order): RRM's rewards normalised, or
    the estimator's root estimate for the prover's answer (the rest shared by the others)."""
    prover_payoff: float | None = None
    """Prover–estimator: the prover's payoff, ``check - estimate`` at the leaf, signed by its
    bet (positive: the judge sided with the prover against the estimator)."""


class CritiqueRating(Record):
    """A rater's verdict on one critique (Saunders et al. 2022 rate helpfulness and validity)."""

    critique: str
    """Speaker label of the critique rated, e.g. ``Critic 2``."""
    helpfulness: int = Field(ge=1, le=7)
    """How much the critique helps decide whether the answer is right (1 not at all, 7 very)."""
    real_flaw: bool
    """The rater found that the critique points at a real flaw of the answer."""
    identifies_key: bool | None = None
    """With the key: the critique identifies the known flaw (None without a key, or for an
    answer known to be good)."""
    claims_flaw: bool | None = Field(default=None, exclude_if=lambda claims: claims is None)
    """The critique says the answer has a flaw, real or not (what GDC's critique accuracy
    scores on an answer known to be good: claiming none is right). None when not asked: a
    person rating without the key or an answer not known to be good, and every rating
    stored before schema 4. Stored only when set."""
    saw_key: bool = False
    """The rater read the known flaw and the hidden text; else it saw what the judge sees."""
    reason: str = ""
    """The rater's reason, in a sentence."""
    rater: str = ""
    """Who rated: an LLM rater's endpoint spec, or ``human:NAME`` for a person
    (``oversight rate``)."""


class CritiqueOutcome(Record):
    """What a critique produced beyond its turns: the answer critiqued, GDC data, ratings."""

    target: Literal["own", "given", "planted"]
    """``own``: the answerer's answer; ``given``: a dataset's answer; ``planted``: the
    answerer's justification of the gold, with a flaw planted in the flawed variant."""
    critiqued: int | None = None
    """Original index of the answer critiqued."""
    flawed: bool | None = None
    """Known truth about the critiqued answer: flawed or good (None when unknown)."""
    flaw: str | None = None
    """The key: what is wrong with a known-flawed answer. Never shown to the judge."""
    final_answer: int | None = None
    """Original index of the answer after refinement (``critiqued`` without refinement)."""
    changed: bool = False
    """The refinement changed the answer."""
    p_flawed: float | None = None
    """Discrimination: the critic's probability, before critiquing, that the answer is flawed."""
    generated: int | None = None
    """Generation: the answer (original index) the critic's model gives on its own."""
    ratings: list[CritiqueRating] = Field(default_factory=list)
    """The raters' verdicts, one per critique."""
