"""Annotator quality: is each person's data worth publishing?

Example::

    from oversight.analysis import annotators
    table = annotators("runs/pilot")
    for a in table.annotators:
        print(a.annotator, a.accuracy, a.accuracy_ci, a.attention_failures)

Per annotator, over the judgments people gave (also those inside a fallback judge's final
judgment), one per (transcript, judge name, rounds seen, annotator) by the final-judgment rule
of :mod:`transcripts.final`:

* **accuracy** (mean score, ties half, as in :mod:`oversight.analysis._stats`) and **Brier**
  score, each with a 95% interval over question sources by the report's rule for every
  mean: CR2 t below :data:`~oversight.analysis._smallsample.SMALL_SAMPLE_CLUSTERS` sources
  or without spread (Clopper-Pearson for a person right every time), else the percentile
  cluster bootstrap (:mod:`oversight.analysis._bootstrap`: the same resampler as the rest
  of the report);
  **ECE** and mean confidence; transcripts without a gold answer are not scored;
* **time per item**: median and mean ``time_s`` of their judgments (skips included), and how
  many answers came after the study's time limit (``metadata["over_time"]``);
* **attention checks** (``RUN/attention.jsonl``): how many were answered, and *failures*:
  answers that do not put more than half their probability on the obvious answer (a skipped
  check is counted apart); they never enter the other numbers;
* **outside the study** (a run with ``RUN/study.json``): judgments under the study's judge
  name of transcripts not in the person's study list; counted in the numbers above, and
  shown so that a design the person broke (a question met twice) does not go unseen;
* **agreement**: people are compared like with like. A *unit* is a transcript judged under
  one judge name with the same rounds shown (``rounds_seen``); by the final-judgment rule
  each person has at most one verdict in a unit, so a person who judged a transcript twice
  (under a pilot judge name, or shown fewer rounds) has each verdict compared only with
  the others' verdicts of the same kind, never one silently in place of the other. With a
  study, only units under the study's judge name count (the study's design is what the
  agreement measures): people's judgments under other judge names are left out and
  counted (``left_out_of_agreement``). For every pair of annotators with shared units, the
  share of those units on which their verdicts (the single most probable answer; a tie is
  its own category) agree and Cohen's kappa; over everyone, Krippendorff's alpha (nominal)
  with units as its units. Each with a 95% interval over the question sources of the
  shared units (a unit is what people share; units of one source, e.g. one story, are not
  independent): the share agreeing by the report's rule for every mean (CR2 t below 50
  sources, else the percentile cluster bootstrap); kappa and alpha by the rule of the
  report's judge agreement (:func:`oversight.analysis._agreement.agreement_interval`: the
  delete-one-source jackknife t below 50 sources, else the percentile cluster bootstrap,
  sources resampled with all their units); no interval with fewer than two sources.
"""

from __future__ import annotations

import os
import zlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from itertools import combinations
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from oversight.analysis._agreement import agreement_interval, kappa_from_sums
from oversight.analysis._bootstrap import Resampler, sums_by_cluster
from oversight.analysis._data import Data, JudgmentRow, load
from oversight.analysis._fields import judgment_passes, parse_where
from oversight.analysis._interval_rule import ruled
from oversight.analysis._smallsample import mean_interval
from oversight.analysis._stats import (
    alpha_columns,
    alpha_from_sums,
    cohens_kappa,
    expected_calibration_error,
    row_metrics,
)
from transcripts import Judgment, RunStore
from transcripts.final import final_judgments
from transcripts.scoring import verdict
from transcripts.study import attention_log, attention_passed, read_study

__all__ = ["AnnotatorPair", "AnnotatorStats", "AnnotatorTable", "annotators"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class AnnotatorStats(_Out):
    """One person's judging, in numbers."""

    annotator: str
    """The person's name."""
    judgments: int
    """Judgments given (ok), attention checks not included."""
    scored: int
    """Of those, judgments of transcripts with a known gold answer."""
    skipped: int
    """Items skipped."""
    accuracy: float | None = None
    """Mean score on the scored judgments (ties count half)."""
    accuracy_ci: tuple[float, float] | None = None
    """95% cluster-bootstrap interval of the accuracy (None with fewer than two sources)."""
    brier: float | None = None
    """Mean multi-class Brier score (0 best, 2 worst)."""
    brier_ci: tuple[float, float] | None = None
    """95% cluster-bootstrap interval of the Brier score."""
    ece: float | None = None
    """Expected calibration error over 10 confidence bins."""
    mean_confidence: float | None = None
    """Mean probability on the answer they favoured."""
    median_time_s: float | None = None
    """Median seconds per item (judged or skipped)."""
    mean_time_s: float | None = None
    """Mean seconds per item."""
    over_time: int = 0
    """Answers given after the study's time limit."""
    attention_checks: int = 0
    """Attention-check items answered."""
    attention_failures: int = 0
    """Attention checks answered without a majority on the obvious answer."""
    attention_skipped: int = 0
    """Attention checks skipped."""
    outside_study: int = 0
    """Judgments (or skips) under the study's judge name of transcripts not in this person's
    study list (e.g. from ``oversight rejudge --judge human:NAME``): counted above, but
    outside the plan (under ``between`` the person may have met the question twice)."""


class AnnotatorPair(_Out):
    """Two people on the transcripts both judged."""

    annotator_a: str
    """First person."""
    annotator_b: str
    """Second person."""
    n: int
    """Units both judged (a transcript under one judge name and rounds shown)."""
    agreement: float | None = None
    """Share of those on which their verdicts agree."""
    agreement_ci: tuple[float, float] | None = None
    """95% interval of the agreement over question sources (CR2 t below 50 sources, else
    the percentile cluster bootstrap; None with fewer than two sources)."""
    kappa: float | None = None
    """Cohen's kappa of their verdicts (None when undefined)."""
    kappa_ci: tuple[float, float] | None = None
    """95% interval of kappa over question sources (the jackknife t below 50 sources, else
    the percentile cluster bootstrap; None with fewer than two sources)."""


class AnnotatorTable(_Out):
    """Every annotator of a run, and how they agree."""

    annotators: list[AnnotatorStats] = Field(default_factory=list)
    """One row per person, by name."""
    pairs: list[AnnotatorPair] = Field(default_factory=list)
    """Pairs with at least one shared transcript."""
    alpha: float | None = None
    """Krippendorff's alpha (nominal) of all people's verdicts on shared units."""
    alpha_ci: tuple[float, float] | None = None
    """95% interval of alpha over question sources (as ``AnnotatorPair.kappa_ci``)."""
    shared_transcripts: int = 0
    """Transcripts judged by two or more people under one judge name and rounds shown."""
    shared_units: int = 0
    """Units judged by two or more people: a transcript under one judge name and rounds
    shown (more than ``shared_transcripts`` where one was judged under several)."""
    agreement_judge_name: str | None = None
    """With a study: the judge name agreement is restricted to (the study's)."""
    left_out_of_agreement: int = 0
    """People's judgments (ok) under judge names other than the study's, left out of the
    agreement (counted in the per-person numbers)."""


def _number(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


Person = Judgment | JudgmentRow
"""A person's judgment: a row of the run's judgments, or an attention check."""


def _transcripts(data: Data) -> dict[str, tuple[int | None, str]]:
    """Per transcript id: its gold answer and its source (the question without one)."""
    return {
        t.id: (t.question.correct, t.question.source or t.question.id) for t in data.transcripts
    }


def annotators(
    store: RunStore | str | os.PathLike[str] | Data,
    *,
    n_bootstrap: int = 2000,
    seed: int = 0,
    where: Sequence[str] | Mapping[str, Any] | None = None,
) -> AnnotatorTable:
    """The annotator table of a run (empty when no person judged); ``where`` keeps only the
    judgments that pass it, as ``--where`` does for the report (attention checks have no
    transcript fields). ``store`` may be the run's already loaded :class:`Data`."""
    data = store if isinstance(store, Data) else load(store)
    run = RunStore.open(data.path)
    judgments: list[Person] = list(final_judgments(data.people, include_skipped=True))
    attention: list[Person] = list(
        final_judgments(list(attention_log(run).latest()), include_skipped=True)
    )
    if not judgments and not attention:
        return AnnotatorTable()  # no person judged (most runs)
    transcripts = _transcripts(data)
    wheres = parse_where(where if where is None or isinstance(where, Mapping) else list(where))
    if wheres:
        judgments, attention = (
            [j for j in kept if judgment_passes(wheres, data, j.transcript_id, j.judge, j.metadata)]
            for kept in (judgments, attention)
        )
    study = read_study(run)
    obvious = {t.id: t.question.correct for t in (study.attention_items if study else [])}
    names = sorted({j.judge.annotator or "" for j in [*judgments, *attention]})
    resampler = Resampler(n_bootstrap, seed)
    rows = [
        _stats(
            name,
            [j for j in judgments if j.judge.annotator == name],
            [j for j in attention if j.judge.annotator == name],
            obvious,
            transcripts,
            resampler,
        )
        for name in names
    ]
    if study is not None:
        listed = {(a, s.transcript_id) for a, slots in study.assignments.items() for s in slots}
        outside: dict[str, int] = defaultdict(int)
        for j in judgments:
            who = j.judge.annotator or ""
            if j.judge.name == study.design.judge_name and (who, j.transcript_id) not in listed:
                outside[who] += 1
        rows = [r.model_copy(update={"outside_study": outside[r.annotator]}) for r in rows]
    name = None if study is None else study.design.judge_name
    pairs, alpha, alpha_ci, units = _agreement(judgments, transcripts, name, resampler)
    return AnnotatorTable(
        annotators=rows,
        pairs=pairs,
        alpha=alpha,
        alpha_ci=alpha_ci,
        shared_transcripts=len({unit[0] for unit in units}),
        shared_units=len(units),
        agreement_judge_name=name,
        left_out_of_agreement=sum(
            1 for j in judgments if name is not None and _verdicts(j) and j.judge.name != name
        ),
    )


def _stats(
    name: str,
    mine: list[Person],
    checks: list[Person],
    obvious: dict[str, int | None],
    transcripts: dict[str, tuple[int | None, str]],
    resampler: Resampler,
) -> AnnotatorStats:
    ok = [j for j in mine if j.status == "ok" and j.probabilities is not None]
    scored = [j for j in ok if transcripts.get(j.transcript_id, (None, ""))[0] is not None]
    times = [j.time_s for j in mine if j.time_s is not None]
    out: dict[str, object] = {
        "annotator": name,
        "judgments": len(ok),
        "scored": len(scored),
        "skipped": sum(1 for j in mine if j.status == "skipped"),
        "median_time_s": float(np.median(times)) if times else None,
        "mean_time_s": float(np.mean(times)) if times else None,
        "over_time": sum(1 for j in [*mine, *checks] if j.metadata.get("over_time") is True),
        **_attention(checks, obvious),
    }
    if scored:
        width = max(len(j.probabilities or []) for j in scored)
        probs = np.zeros((len(scored), width))
        for i, j in enumerate(scored):
            probs[i, : len(j.probabilities or [])] = j.probabilities or []
        gold = np.array([transcripts[j.transcript_id][0] for j in scored], dtype=np.int64)
        metrics = row_metrics(probs, gold)
        sources = [transcripts[j.transcript_id][1] for j in scored]
        labels, local = np.unique(np.array(sources), return_inverse=True)
        sums = sums_by_cluster(
            local.astype(np.int64),
            np.stack([metrics.score, metrics.brier, np.ones(len(scored))], axis=1),
            labels.size,
        )
        boot = resampler.sums(_source_keys(labels), sums)
        with np.errstate(invalid="ignore", divide="ignore"):
            accuracy, brier = boot[:, 0] / boot[:, 2], boot[:, 1] / boot[:, 2]
        cluster = local.astype(np.int64)
        out |= {
            "accuracy": float(metrics.score.mean()),
            "accuracy_ci": ruled(
                labels.size,
                varies=bool(np.ptp(metrics.score) > 0),
                cr2=partial(mean_interval, metrics.score, cluster),
                bootstrap=accuracy,
            ).ci95,
            "brier": float(metrics.brier.mean()),
            "brier_ci": ruled(
                labels.size,
                varies=bool(np.ptp(metrics.brier) > 0),
                cr2=partial(mean_interval, metrics.brier, cluster, "brier"),
                bootstrap=brier,
            ).ci95,
            "ece": _number(expected_calibration_error(metrics.confidence, metrics.score)),
            "mean_confidence": float(metrics.confidence.mean()),
        }
    return AnnotatorStats.model_validate(out)


def _attention(checks: list[Person], obvious: dict[str, int | None]) -> dict[str, int]:
    """Checks answered and failed; the obvious answers come from the saved study."""
    answered = [j for j in checks if j.status == "ok" and j.probabilities is not None]
    failures = 0
    for j in answered:
        if not attention_passed(j.probabilities, obvious.get(j.transcript_id)):
            failures += 1
    return {
        "attention_checks": len(answered),
        "attention_failures": failures,
        "attention_skipped": sum(1 for j in checks if j.status == "skipped"),
    }


def _verdict(judgment: Person) -> int:
    """The single most probable answer; -2 for a tie (its own category)."""
    found = verdict(judgment.probabilities)
    return -2 if found is None else found


Unit = tuple[str, str, int | None]
"""A unit of agreement: transcript id, judge name, rounds seen."""


def _verdicts(judgment: Person) -> bool:
    """Whether ``judgment`` has a verdict to compare."""
    return judgment.status == "ok" and judgment.probabilities is not None


def _agreement(
    judgments: list[Person],
    transcripts: dict[str, tuple[int | None, str]],
    judge_name: str | None,
    resampler: Resampler,
) -> tuple[list[AnnotatorPair], float | None, tuple[float, float] | None, list[Unit]]:
    """Pairs, alpha (and its interval) and the shared units, over units of one transcript,
    judge name and rounds seen (only ``judge_name``'s, when given): see the module
    docstring."""
    by_unit: dict[Unit, dict[str, int]] = defaultdict(dict)
    for j in judgments:
        if (
            _verdicts(j)
            and j.transcript_id in transcripts
            and (judge_name is None or j.judge.name == judge_name)
        ):
            # One per person and unit: the judgments are final (transcripts.final).
            by_unit[(j.transcript_id, j.judge.name, j.rounds_seen)][j.judge.annotator or ""] = (
                _verdict(j)
            )
    shared = {u: v for u, v in by_unit.items() if len(v) >= 2}
    if not shared:
        return [], None, None, []
    names = sorted({a for v in shared.values() for a in v})
    # Units x people, verdict codes shifted so that -1 stays "missing".
    matrix = np.full((len(shared), len(names)), -1, dtype=np.int64)
    for i, v in enumerate(shared.values()):
        for a, said in v.items():
            matrix[i, names.index(a)] = said + 2
    labels, code = np.unique(matrix[matrix >= 0], return_inverse=True)
    k = labels.size
    codes = np.full(matrix.shape, -1, dtype=np.int64)
    codes[matrix >= 0] = code
    sources, cluster = np.unique(
        np.array([transcripts[u[0]][1] for u in shared]), return_inverse=True
    )
    cluster = cluster.astype(np.int64)
    key = _source_keys(sources)
    # Alpha and its interval: per-source sums of (D_o, n, n_c), resampled (as the judges').
    counts = np.zeros((len(shared), k))
    rows, cols = np.nonzero(codes >= 0)
    np.add.at(counts, (rows, codes[rows, cols]), 1.0)
    alpha_sums = sums_by_cluster(cluster, alpha_columns(counts), sources.size)
    alpha = _number(alpha_from_sums(alpha_sums.sum(axis=0, keepdims=True), k)[0])
    alpha_ci = agreement_interval(
        partial(alpha_from_sums, n_labels=k), alpha_sums, partial(resampler.sums, key, alpha_sums)
    )
    pairs = []
    for ia, ib in combinations(range(len(names)), 2):
        both = np.nonzero((codes[:, ia] >= 0) & (codes[:, ib] >= 0))[0]
        if both.size == 0:
            continue
        x, y = matrix[both, ia], matrix[both, ib]
        # Per unit, its one cell of the pair's k x k table; then per-source sums, resampled.
        cells = np.zeros((both.size, k * k))
        cells[np.arange(both.size), codes[both, ia] * k + codes[both, ib]] = 1.0
        mine, local = np.unique(cluster[both], return_inverse=True)
        sums = sums_by_cluster(local.astype(np.int64), cells, mine.size)
        boot = partial(resampler.sums, key[mine], sums)
        same = (x == y).astype(np.float64)
        kappa = _number(cohens_kappa(x, y))
        pairs.append(
            AnnotatorPair(
                annotator_a=names[ia],
                annotator_b=names[ib],
                n=int(both.size),
                agreement=float(same.mean()),
                agreement_ci=ruled(  # a share: the report's rule for every mean
                    int(mine.size),
                    varies=bool(np.ptp(same) > 0),
                    cr2=partial(mean_interval, same, local.astype(np.int64)),
                    bootstrap=partial(_share, boot, k),
                ).ci95,
                kappa=kappa,
                kappa_ci=None
                if kappa is None
                else agreement_interval(partial(kappa_from_sums, k=k), sums, boot),
            )
        )
    return pairs, alpha, None if alpha is None else alpha_ci, list(shared)


def _share(boot: Callable[[], NDArray[np.float64]], k: int) -> NDArray[np.float64]:
    """The share agreeing of each resample's flattened k x k table."""
    tables = boot()
    with np.errstate(invalid="ignore", divide="ignore"):
        out: NDArray[np.float64] = tables[:, :: k + 1].sum(axis=1) / tables.sum(axis=1)
    return out


def _source_keys(sources: NDArray[np.str_]) -> NDArray[np.int64]:
    """Sources keyed by a stable id, so statistics over the same sources share draws."""
    return np.array([zlib.crc32(str(s).encode()) for s in sources], dtype=np.int64)
