"""Debaters and judges: ratings, agreement between judges, escalations to people.

* **Matches.** In a transcript with two or more assigned speakers whose ``roles`` name who
  played them, every pair of speakers is a match per judgment: the one whose assigned answer
  got more of the judge's probability wins, equal probabilities are a draw (half each).
  Matches between two speakers played by the same debater (self-play) say nothing about who
  is stronger: they count in the win rates by side, not in the ratings.
* **Ratings** are side-adjusted Bradley-Terry fits per judge within each ``by`` group (by
  default per condition), see :mod:`oversight.analysis._players`.
* **Agreement**: see :mod:`oversight.analysis._agreement`.
* **Escalations.** For each fallback judge: how many of its judgments it escalated and why;
  where both an LLM and a human verdict exist for an escalated item (the fallback judgment's
  components: the person's final judgment of a queued item, or their answer in interactive
  mode), how often they agree (and kappa: over the pairs where neither is a tie, which
  has no verdict, as in the agreement table) and how accurate each was; ``pending`` counts
  queued items still waiting for a person, by the rule ``oversight judge`` serves them by
  (:func:`transcripts.final.resolved_escalation_ids`: a skip or a failed judgment decides
  nothing).
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from typing import Any

import numpy as np
from numpy.typing import NDArray

from oversight.analysis._data import Data, JudgmentRow
from oversight.analysis._players import rate_players
from oversight.analysis._schema import (
    DebaterStats,
    EscalationStats,
    InjectionCount,
    RatingTable,
)
from oversight.analysis._stats import cohens_kappa, row_metrics
from oversight.analysis._types import Floats, Ints
from transcripts.final import resolved_escalation_ids
from transcripts.scoring import TIE_TOLERANCE

__all__ = ["escalations", "injection_counts", "pair_table", "ratings"]


def pair_table(data: Data) -> tuple[Ints, Ints, Ints, Ints, Ints, list[str]]:
    """All speaker pairs of all debates: transcript, debater codes, assigned answers."""
    names: dict[str, int] = {}
    cols: list[list[int]] = [[], [], [], [], []]
    # Transcripts that store the same maps share one object of each (see _rows.Shared):
    # the pairs of each combination are worked out once (debaters coded at first sight).
    known: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
    for t, tr in enumerate(data.transcripts):
        pairs = known.get((id(tr.assignment), id(tr.roles)))
        if pairs is None:
            pairs = known[id(tr.assignment), id(tr.roles)] = []
            speakers = [(s, a) for s, a in sorted(tr.assignment.items()) if s in tr.roles]
            for (s1, a1), (s2, a2) in combinations(speakers, 2):
                d1 = names.setdefault(tr.roles[s1], len(names))
                d2 = names.setdefault(tr.roles[s2], len(names))
                pairs.append((d1, a1, d2, a2))
        for pair in pairs:
            for col, v in zip(cols, (t, *pair), strict=True):
                col.append(v)
    arrays = [np.asarray(c, dtype=np.int64) for c in cols]
    return arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], list(names)


PairTable = tuple[Ints, Ints, Ints, Ints, Ints, list[str]]


def ratings(
    data: Data, rows: Ints, *, group: dict[str, Any], pairs: PairTable | None = None
) -> list[RatingTable]:
    """Per judge among ``rows`` (one ``by`` group), side-adjusted debater ratings and win
    rates by side from the scored judgments. ``pairs`` is :func:`pair_table` of ``data``,
    when the caller already has it (it is the same for every group)."""
    p_t, p_d1, p_a1, p_d2, p_a2, names = pairs if pairs is not None else pair_table(data)
    if p_t.size == 0:
        return []
    rows = rows[data.scored[rows]]
    # Join judgments to their transcript's pairs.
    order = np.argsort(p_t, kind="stable")
    starts = np.searchsorted(p_t[order], data.t[rows], side="left")
    ends = np.searchsorted(p_t[order], data.t[rows], side="right")
    counts = ends - starts
    r = np.repeat(rows, counts)
    pair = order[np.repeat(starts, counts) + _ranges(counts)]
    diff = data.probs[r, p_a1[pair]] - data.probs[r, p_a2[pair]]
    outcome = np.where(diff > TIE_TOLERANCE, 1.0, np.where(diff < -TIE_TOLERANCE, 0.0, 0.5))
    gold = data.t_correct[data.t[r]]
    judges = sorted({data.judge[i].name for i in r})
    judge_of = np.array([judges.index(data.judge[i].name) for i in r], dtype=np.int64)
    shown = {k: v for k, v in group.items() if k != "judge"}
    out = []
    for j, judge in enumerate(judges):
        mine = judge_of == j
        out.append(
            _table(
                judge,
                names,
                group=shown,
                d1=p_d1[pair[mine]],
                d2=p_d2[pair[mine]],
                outcome=outcome[mine],
                correct1=p_a1[pair[mine]] == gold[mine],
                correct2=p_a2[pair[mine]] == gold[mine],
            )
        )
    return out


def _ranges(counts: Ints) -> Ints:
    """``[0..c0), [0..c1), ...`` concatenated."""
    if counts.size == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    return np.arange(ends[-1]) - np.repeat(ends - counts, counts)


def _table(
    judge: str,
    names: list[str],
    *,
    group: dict[str, Any],
    d1: Ints,
    d2: Ints,
    outcome: Floats,
    correct1: NDArray[np.bool_],
    correct2: NDArray[np.bool_],
) -> RatingTable:
    debaters = []
    for d, name in enumerate(names):
        as1, as2 = d1 == d, d2 == d
        if not (as1.any() or as2.any()):
            continue
        won = np.concatenate([outcome[as1], 1.0 - outcome[as2]])
        right = np.concatenate([correct1[as1], correct2[as2]])
        debaters.append(
            DebaterStats(
                debater=name,
                matches_correct=int(right.sum()),
                win_rate_correct=float(won[right].mean()) if right.any() else None,
                matches_incorrect=int((~right).sum()),
                win_rate_incorrect=float(won[~right].mean()) if (~right).any() else None,
            )
        )
    other = d1 != d2
    fit = None
    if np.unique(np.concatenate([d1[other], d2[other]])).size >= 2:
        fit = rate_players(
            [names[i] for i in d1[other]],
            [names[i] for i in d2[other]],
            outcome[other],
            first_correct=correct1[other],
            second_correct=correct2[other],
        )
    return RatingTable(
        judge=judge,
        group=group,
        n_matches=int(other.sum()),
        players=fit.players if fit else [],
        debaters=debaters,
        side_advantage=fit.side_advantage if fit else None,
        side_advantage_ci95=fit.side_advantage_ci95 if fit else None,
        prior_sd=fit.prior_sd if fit else None,
    )


def _probs(j: JudgmentRow, width: int) -> list[float] | None:
    if j.status != "ok" or j.probabilities is None or len(j.probabilities) != width:
        return None
    return j.probabilities


def escalations(data: Data, rows: Ints) -> list[EscalationStats]:
    """Per fallback judge among ``rows``: escalation counts and human/LLM agreement."""
    listed: list[int] = rows.tolist()  # Python ints: cheaper to index lists with
    fallback = [r for r in listed if data.judge[r].kind == "fallback"]
    if not fallback:
        return []
    # The human sessions' rule (transcripts.final): a queued item waits until a person's ok
    # final judgment names it; a skip or a failed judgment decides nothing.
    resolved = resolved_escalation_ids(j for j in data.judgments if j is not None)

    out = []
    for name in sorted({data.judge[r].name for r in fallback}):
        mine = [r for r in fallback if data.judge[r].name == name]
        reasons: Counter[str] = Counter()
        pending = 0
        llm_p: list[list[float]] = []
        human_p: list[list[float]] = []
        gold: list[int] = []
        for r in mine:
            j = data.judgments[r]
            if j is None or not j.escalated:
                continue
            reasons[_reason_kind(j.escalation_reason)] += 1
            if j.escalation_id is not None and j.escalation_id not in resolved:
                pending += 1
                continue
            llm = next((c for c in j.components if c.judge.kind != "human"), None)
            human = next((c for c in j.components if c.judge.kind == "human"), None)
            if human is None:
                continue
            t = int(data.t[r])
            width = len(data.transcripts[t].question.answers)
            first = _probs(llm, width) if llm is not None else None
            second = _probs(human, width)
            if first is None or second is None:
                continue
            llm_p.append(first + [0.0] * (data.probs.shape[1] - width))
            human_p.append(second + [0.0] * (data.probs.shape[1] - width))
            gold.append(int(data.t_correct[t]))
        n_esc = sum(reasons.values())
        g = np.array(gold, dtype=np.int64)
        known = g >= 0
        width = data.probs.shape[1]
        lm = row_metrics(np.array(llm_p).reshape(-1, width), np.clip(g, 0, None))
        hm = row_metrics(np.array(human_p).reshape(-1, width), np.clip(g, 0, None))
        # A tie is no verdict: agreement and kappa leave it out, as the agreement table does.
        both = (lm.verdict >= 0) & (hm.verdict >= 0)
        kappa = cohens_kappa(lm.verdict[both], hm.verdict[both])
        out.append(
            EscalationStats(
                judge=name,
                n=len(mine),
                escalated=n_esc,
                rate=n_esc / len(mine),
                reasons=dict(sorted(reasons.items())),
                pending=pending,
                n_pairs=int(g.size),
                agreement=float((lm.verdict == hm.verdict)[both].mean()) if both.any() else None,
                kappa=kappa if np.isfinite(kappa) else None,
                llm_accuracy=float(lm.score[known].mean()) if known.any() else None,
                human_accuracy=float(hm.score[known].mean()) if known.any() else None,
            )
        )
    return out


def _reason_kind(reason: str | None) -> str:
    """The kind of an escalation reason: its text before the first colon.

    Reasons read like ``low confidence: 0.55 < threshold 0.70``; counting them by their full
    text would give every confidence value a row of its own.
    """
    if not reason:
        return "unstated"
    return reason.split(":", 1)[0].strip() or "unstated"


def injection_counts(data: Data) -> list[InjectionCount]:
    """Flagged transcripts and turns per condition, for conditions with any."""
    counts: dict[str, list[int]] = {}
    for t in data.transcripts:
        flagged = t.injection_turns
        row = counts.setdefault(t.condition, [0, 0, 0])
        row[0] += 1
        row[1] += int(flagged > 0)
        row[2] += flagged
    return [
        InjectionCount(condition=c, transcripts=n, flagged=f, turns=k)
        for c, (n, f, k) in sorted(counts.items())
        if f
    ]
