"""Belief curves of live judges: how belief moves turn by turn within transcripts.

A live judge (:mod:`protocols.live`, or the judges of rooms imported from the NYU debate
dataset) states a probability per answer at each of its turns: a prior before any speech,
then one after every round, until it ends the protocol. Its *belief turns* are the judge
turns of a transcript that carry probabilities. For each group of transcripts (``by``):

* **curve**: after judge turn ``k`` (0 = the prior), the mean probability on the gold answer
  and the accuracy (the score of :mod:`oversight.analysis._stats`: 1 right, 0 wrong, a share
  of a tie) over every transcript of the group. A judge that has already ended counts with
  its final belief (carried forward), so every point averages the same transcripts and the
  curve ends where the longest transcript ends; ``deciding`` says how many were still
  judging at that turn (the rest are carried). This is how Michael et al. 2023 draw it: on
  the rooms of the paper their human-debate curve reads 0.52, 0.68, 0.80, 0.82, 0.84
  accuracy after turns 0-4 (mean p(gold) 0.51, 0.59, 0.70, 0.76, 0.78).
* **turns used**: how many belief turns each transcript took (its histogram and mean).
* **reward**: the judge's reward as in the paper, the log score of its final belief minus
  the turn penalty per turn it chose to continue (:func:`transcripts.live.live_reward`; the
  rule is read from each transcript's protocol configuration: ``turn_penalty`` of our
  protocols, the debate app's ``LogScoreWithLinearPenalty`` of imported rooms). Turns that
  record no decision (imported ones) count every turn but the last as a continue.

Intervals follow the report's one rule for means over sources (:mod:`oversight.analysis.
_groups`): below :data:`~oversight.analysis._smallsample.SMALL_SAMPLE_CLUSTERS` question
sources the CR2 t interval (shares never narrower than the independent-judgments one), from
there on the percentile cluster bootstrap; ``ci_method`` says which. Only complete
transcripts with a gold answer and at least one belief turn count.

Groups: ``by`` fields resolve per transcript (built-in transcript fields, then transcript
and question metadata; ``judge`` is the live judge's name). Fields of judgments (judge
kind, model, annotator) do not apply to turns and are left out of the grouping; ``where``
filters on such fields are left out too, which the curve's ``note`` says.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from oversight.analysis._belief_models import BeliefCurve, BeliefPoint
from oversight.analysis._bootstrap import Resampler, sums_by_cluster
from oversight.analysis._data import Data, full_transcripts
from oversight.analysis._interval_rule import ci_method, ruled
from oversight.analysis._smallsample import SMALL_SAMPLE_CLUSTERS, Cr2, cr2_means, mean_interval
from oversight.analysis._stats import row_metrics
from transcripts import Transcript
from transcripts.filters import MISSING, Where
from transcripts.live import JUDGE_SPEAKER, live_reward, scoring_of

__all__ = ["BeliefCurve", "BeliefPoint", "belief_curves"]

_JUDGMENT_ONLY = frozenset({"judge_kind", "judge_model", "annotator"})


def _value(t: Transcript, name: str) -> Any:
    """The field ``name`` of transcript ``t`` (MISSING when it has none)."""
    builtin: dict[str, Any] = {
        "condition": t.condition,
        "protocol": t.protocol,
        "run_id": t.run_id,
        "repeat": t.repeat,
        "transcript_status": t.status,
        "question": t.question.id,
        "source": t.question.source,
        "dataset": t.question.dataset,
    }
    if name in builtin:
        return builtin[name]
    if name == "judge":
        return t.roles.get(JUDGE_SPEAKER, t.metadata.get("live_judge_name", MISSING))
    prefix, _, key = name.partition(".")
    if key and prefix == "metadata":
        return t.metadata.get(key, MISSING)
    if key and prefix == "question":
        return t.question.metadata.get(key, MISSING)
    if name in t.metadata:
        return t.metadata[name]
    return t.question.metadata.get(name, MISSING)


def _beliefs(t: Transcript) -> list[list[float]]:
    n = len(t.question.answers)
    return [
        turn.probabilities
        for turn in t.turns
        if turn.role == "judge" and turn.probabilities is not None and len(turn.probabilities) == n
    ]


def belief_curves(
    data: Data,
    *,
    by: Sequence[str],
    where: Sequence[Where] = (),
    resampler: Resampler,
) -> list[BeliefCurve]:
    """The belief curves of the run's transcripts with belief turns, per ``by`` group (only
    those transcripts are read again, in full)."""
    flagged = [i for i, t in enumerate(data.transcripts) if t.beliefs]
    if not flagged:
        return []  # most runs
    position = {data.transcripts[i].id: i for i in flagged}
    rows = sorted(full_transcripts(data, flagged), key=lambda t: position[t.id])
    usable = [
        t for t in rows if t.status == "complete" and t.question.correct is not None and _beliefs(t)
    ]
    if not usable:
        return []
    fields = [
        f
        for f in by
        if f not in _JUDGMENT_ONLY and any(_value(t, f) is not MISSING for t in usable)
    ]
    filters = [w for w in where if w.field not in _JUDGMENT_ONLY]
    left_out = [f"--by {f}" for f in by if f not in fields] + [
        f"--where {w}" for w in where if w not in filters
    ]
    usable = [t for t in usable if all(w.accepts(_value(t, w.field)) for w in filters)]
    groups: dict[str, list[Transcript]] = {}
    values: dict[str, list[Any]] = {}
    for t in usable:
        vals = [_value(t, f) for f in fields]
        vals = [None if v is MISSING else v for v in vals]
        key = repr(vals)
        groups.setdefault(key, []).append(t)
        values[key] = vals
    note = f"not applicable to turns, left out: {', '.join(left_out)}" if left_out else ""
    sources: dict[str, int] = {}
    for t in usable:
        sources.setdefault(_source(t), len(sources))
    return [
        _curve(groups[k], dict(zip(fields, values[k], strict=True)), sources, resampler, note)
        for k in sorted(groups, key=lambda k: [str(v) for v in values[k]])
    ]


def _source(t: Transcript) -> str:
    """The cluster key of a transcript: its question's source, or the question itself."""
    q = t.question
    return f"s\x1f{q.source}" if q.source is not None else f"q\x1f{q.dataset or ''}\x1f{q.id}"


def _curve(
    members: list[Transcript],
    by: dict[str, Any],
    sources: dict[str, int],
    resampler: Resampler,
    note: str,
) -> BeliefCurve:
    beliefs = [_beliefs(t) for t in members]
    used = np.array([len(b) for b in beliefs], dtype=np.int64)
    steps = int(used.max())
    width = max(len(t.question.answers) for t in members)
    gold = np.array([t.question.correct or 0 for t in members], dtype=np.int64)
    score = np.zeros((len(members), steps))
    p_gold = np.zeros((len(members), steps))
    for k in range(steps):
        probs = np.zeros((len(members), width))
        for i, b in enumerate(beliefs):
            chosen = b[min(k, len(b) - 1)]
            probs[i, : len(chosen)] = chosen
        metrics = row_metrics(probs, gold)
        score[:, k], p_gold[:, k] = metrics.score, metrics.p_gold
    rewards: list[float] = []
    penalties: set[float] = set()
    for t, b, g in zip(members, beliefs, gold, strict=True):
        scoring = scoring_of(t.protocol_config)
        if scoring is None:
            continue
        decided = [turn.decision for turn in t.turns if turn.decision is not None]
        continues = decided.count("continue") if decided else len(b) - 1
        rewards.append(live_reward(b[-1][int(g)], continues, scoring))
        penalties.add(scoring.turn_penalty)
    rewarded = bool(rewards) and len(rewards) == len(members)
    reward = np.array(rewards) if rewarded else np.zeros(len(members))
    # Clusters by their run-wide ids, so groups over the same sources share their draws.
    ids, cluster = np.unique([sources[_source(t)] for t in members], return_inverse=True)
    n_clusters = int(ids.size)
    columns = np.hstack([score, p_gold, reward[:, None], np.ones((len(members), 1))])
    boot = (
        resampler.sums(ids, sums_by_cluster(cluster, columns, n_clusters))
        if n_clusters >= SMALL_SAMPLE_CLUSTERS
        else np.zeros((0, columns.shape[1]))
    )

    def cr2(j: int, kind: str) -> tuple[float, float] | None:
        if kind == "share":
            return mean_interval(columns[:, j], cluster)
        mean, cov, df = cr2_means(columns[:, j], cluster)  # a reward: any real number
        return Cr2(float(mean[0]), float(np.sqrt(max(cov[0, 0], 0.0))), float(df[0])).interval()

    def draws(j: int) -> NDArray[np.float64]:
        with np.errstate(invalid="ignore", divide="ignore"):
            out: NDArray[np.float64] = boot[:, j] / boot[:, -1]
        return out

    def interval(j: int, kind: str = "share") -> tuple[float, float] | None:
        return ruled(
            n_clusters,
            varies=bool(np.ptp(columns[:, j]) > 0),
            cr2=partial(cr2, j, kind),
            bootstrap=partial(draws, j),
        ).ci95

    points = [
        BeliefPoint(
            turn=k,
            deciding=int((used > k).sum()),
            accuracy=float(score[:, k].mean()),
            accuracy_ci95=interval(k),
            p_gold=float(p_gold[:, k].mean()),
            p_gold_ci95=interval(steps + k),
        )
        for k in range(steps)
    ]
    live = all(any(turn.decision is not None for turn in t.turns) for t in members)
    return BeliefCurve(
        by=by,
        label=" · ".join("—" if v is None else str(v) for v in by.values()) or "all",
        turns_from="live judge" if live else "imported",
        n_transcripts=len(members),
        n_clusters=n_clusters,
        ci_method=ci_method(n_clusters),
        points=points,
        turns_used={int(k): v for k, v in sorted(Counter(used.tolist()).items())},
        mean_turns=float(used.mean()),
        reward=float(reward.mean()) if rewarded else None,
        reward_ci95=interval(2 * steps, "reward") if rewarded else None,
        turn_penalty=penalties.pop() if len(penalties) == 1 else None,
        note=note,
    )
