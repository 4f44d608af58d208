"""What the trees of RRM and prover–estimator debate say, beyond the judges' accuracy.

Per condition, from ``Transcript.tree`` of complete transcripts whose question has a gold
answer (clusters: question sources, as everywhere):

* RRM (``rrm``, ``rrm-expert-leaves``): the **reward margin**, the gold answer's reward minus
  the mean reward of the other answers (do the assisted rewards separate right from wrong?),
  and the share of items whose highest reward is the gold's (ties shared);
* prover–estimator debate: the prover's mean **payoff** at the leaf, the share it wins
  (payoff > 0; 0, within the tie tolerance of :mod:`transcripts.scoring`, counts half),
  and the mean payoff when it argued the gold answer
  minus when it argued another (the protocol should pay honesty: positive).

Intervals follow the report's one rule for every mean (:mod:`oversight.analysis._cluster`):
CR2 with a Bell-McCaffrey t below
:data:`~oversight.analysis._smallsample.SMALL_SAMPLE_CLUSTERS` sources, else the percentile
cluster bootstrap.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from oversight.analysis._cluster import ClusterEstimate, cluster_estimates, transcripts_of
from oversight.analysis._data import Data
from transcripts import RunStore, Transcript, score
from transcripts.scoring import TIE_TOLERANCE

__all__ = ["TreeStats", "tree_rows", "tree_stats"]

COLUMNS = ("margin", "m_n", "first", "payoff", "p_n", "won", "honest", "h_n", "liar", "l_n")
_RATIOS = {
    "reward_margin": ("margin", "m_n"),
    "gold_ranked_first": ("first", "m_n"),
    "payoff": ("payoff", "p_n"),
    "prover_wins": ("won", "p_n"),
    "payoff_arguing_gold": ("honest", "h_n"),
    "payoff_arguing_other": ("liar", "l_n"),
}
_SHARES = frozenset({"gold_ranked_first", "prover_wins"})
_BOUNDS = {
    "reward_margin": (-1.0, 1.0),
    "payoff": (-1.0, 1.0),
    "payoff_arguing_gold": (-1.0, 1.0),
    "payoff_arguing_other": (-1.0, 1.0),
}
_DIFFERENCES = {"honesty_premium": ("payoff_arguing_gold", "payoff_arguing_other")}


class TreeStats(BaseModel):
    """The trees of one condition."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    condition: str
    """The condition's label."""
    kind: str
    """The protocol that grew the trees (``rrm``, ``rrm-expert-leaves``, ``prover-estimator``)."""
    items: int
    """Transcripts with a tree and a gold answer."""
    sources: int
    """Question sources (clusters) among them."""
    reward_margin: ClusterEstimate
    """RRM: the gold answer's reward minus the mean of the others' (in [-1, 1])."""
    gold_ranked_first: ClusterEstimate
    """RRM: share of items whose highest reward is the gold answer's (ties shared)."""
    payoff: ClusterEstimate
    """Prover–estimator: the prover's mean payoff (the judge's leaf probability minus the
    estimator's, signed by the prover's bet)."""
    prover_wins: ClusterEstimate
    """Prover–estimator: share of debates the prover wins (payoff > 0; 0, within 1e-9,
    counts half)."""
    payoff_arguing_gold: ClusterEstimate
    """Prover–estimator: mean payoff when the prover argued the gold answer."""
    payoff_arguing_other: ClusterEstimate
    """Prover–estimator: mean payoff when it argued another answer."""
    honesty_premium: ClusterEstimate
    """Prover–estimator: payoff arguing gold minus payoff arguing another."""


def tree_rows(transcript: Transcript) -> dict[str, float] | None:
    """One item's sums (``COLUMNS``), or None without a tree or a gold answer."""
    tree, gold = transcript.tree, transcript.question.correct
    if transcript.status != "complete" or tree is None or gold is None:
        return None
    row = dict.fromkeys(COLUMNS, 0.0)
    if tree.rewards and len(tree.rewards) > 1:
        others = [r for i, r in enumerate(tree.rewards) if i != gold]
        row["margin"], row["m_n"] = tree.rewards[gold] - sum(others) / len(others), 1.0
        row["first"] = score(tree.rewards, gold)  # the scoring rule, ties within its tolerance
    if tree.prover_payoff is not None:
        pay = tree.prover_payoff
        row["payoff"], row["p_n"] = pay, 1.0
        # A payoff is a difference of probabilities: within the tie tolerance it is a draw.
        row["won"] = 0.5 if abs(pay) <= TIE_TOLERANCE else float(pay > 0)
        honest = tree.roots[0].answer == gold if tree.roots else False
        row["honest" if honest else "liar"] = pay
        row["h_n" if honest else "l_n"] = 1.0
    return row if row["m_n"] or row["p_n"] else None


def tree_stats(
    run: RunStore | str | os.PathLike[str] | Data | Iterable[Transcript],
    *,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> list[TreeStats]:
    """The tree statistics of every condition of ``run`` that grew trees (none: empty)."""
    by_condition: dict[str, list[tuple[Transcript, dict[str, float]]]] = {}
    for t in transcripts_of(run):
        row = tree_rows(t)
        if row is not None:
            by_condition.setdefault(t.condition, []).append((t, row))
    out = []
    for condition, items in sorted(by_condition.items()):
        clusters = [t.question.source or t.question.id for t, _ in items]
        measured = cluster_estimates(
            [r for _, r in items],
            clusters,
            COLUMNS,
            _RATIOS,
            _DIFFERENCES,
            n_boot=n_bootstrap,
            seed=seed,
            key=("trees", condition),
            shares=_SHARES,
            bounds=_BOUNDS,
        )
        kind = items[0][0].tree.kind if items[0][0].tree else ""
        out.append(
            TreeStats(
                condition=condition,
                kind=kind,
                items=len(items),
                sources=len(set(clusters)),
                **measured,
            )
        )
    return out
