"""``analyze``: from a run store to an :class:`~oversight.analysis.Analysis`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from oversight._gc import gc_paused
from oversight.analysis._agreement import agreement
from oversight.analysis._beliefs import belief_curves
from oversight.analysis._bootstrap import Resampler
from oversight.analysis._codes import unique_codes, unique_rows
from oversight.analysis._compare import compare
from oversight.analysis._data import Data, load
from oversight.analysis._fields import field_codes, parse_where, where_mask
from oversight.analysis._groups import group_stats, protocols_of
from oversight.analysis._judge_compare import JUDGE_FIELDS, judge_comparisons
from oversight.analysis._judges import escalations, injection_counts, pair_table, ratings
from oversight.analysis._model import MODEL_KINDS, fit_model
from oversight.analysis._pairs import comparison_pairs, no_pairs_reason
from oversight.analysis._runtime import one_blas_thread
from oversight.analysis._schema import (
    Agreement,
    Analysis,
    Comparison,
    GroupStats,
    ModelFit,
    RatingTable,
    Settings,
    Totals,
)
from oversight.analysis._smallsample import SMALL_SAMPLE_CLUSTERS, holm
from oversight.analysis._stats import RowMetrics, row_metrics
from oversight.analysis._tournament import crossplay_conditions, tournaments
from oversight.analysis._twoway import clustering
from oversight.analysis._types import Ints
from transcripts import RunStore
from transcripts.errors import ConfigError

__all__ = ["DEFAULT_BY", "DEFAULT_THRESHOLDS", "analyze"]


DEFAULT_BY = ("condition", "judge")
"""Groups of the report unless ``by`` says otherwise."""
DEFAULT_THRESHOLDS = (0.6, 0.7, 0.8, 0.9)
"""Confidence thresholds of selective accuracy."""

_PROTOCOL_RANK = {"unassisted": 0, "expert": 2}
_STRATUM_EXCLUDED = ("condition", "protocol")


def _sort_key(value: Any, rank: int = 1) -> tuple[int, int, float, str]:
    if value is None:
        return (rank, 2, 0.0, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (rank, 0, float(value), "")
    return (rank, 1, 0.0, str(value))


def _label(values: Sequence[Any]) -> str:
    return " · ".join("—" if v is None else str(v) for v in values) or "all"


def _split(codes: list[Ints], uniques: list[list[Any]], rows: Ints) -> list[tuple[list[Any], Ints]]:
    """Rows split by the combination of their codes: ``(values, rows)`` per combination."""
    if rows.size == 0:
        return []
    if not codes:
        return [([], rows)]
    stacked = np.stack([c[rows] for c in codes], axis=1)
    combos, inverse = unique_rows(stacked)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(combos.shape[0] + 1))
    out = []
    for g, combo in enumerate(combos):
        values = [uniques[f][int(code)] for f, code in enumerate(combo)]
        out.append((values, rows[order[bounds[g] : bounds[g + 1]]]))
    return out


def _agreement_by_condition(
    data: Data, metrics: RowMetrics, rows: Ints, resampler: Resampler
) -> list[Agreement]:
    """Judge agreement within each condition that has shared transcripts."""
    codes, values = field_codes(data, "condition")
    out = []
    for c in unique_codes(codes[rows])[0]:
        found = agreement(
            data, metrics, rows[codes[rows] == c], resampler=resampler, condition=str(values[c])
        )
        if found is not None:
            out.append(found)
    return out


def _normalise_by(by: Sequence[str] | str | None) -> list[str]:
    if by is None:
        return list(DEFAULT_BY)
    names = by.split(",") if isinstance(by, str) else list(by)
    out: list[str] = []
    for name in (n.strip() for n in names):
        if not name:
            continue
        if name in out:
            raise ConfigError(f"--by names {name!r} twice")
        out.append(name)
    return out


def _parse_pairs(
    pairs: Sequence[tuple[str, str]] | Sequence[str] | None,
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for pair in pairs or []:
        parts = [p.strip() for p in pair.split(",")] if isinstance(pair, str) else list(pair)
        if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
            raise ConfigError(
                f"--compare takes two different conditions as A,B (e.g. --compare "
                f"debate,consultancy), got {pair!r}"
            )
        out.append((parts[0], parts[1]))
    return out


def _per_condition(codes: Ints, cond_codes: Ints, rows: Ints) -> bool:
    """Whether a field only renames the conditions (one value each, all different), like
    NYU's ``setting``: as a stratum it would leave no two conditions to compare."""
    if rows.size == 0:
        return False
    pairs = unique_rows(np.stack([cond_codes[rows], codes[rows]], axis=1))[0]
    n = pairs.shape[0]
    return bool(
        n > 1 and unique_codes(pairs[:, 0])[0].size == n == unique_codes(pairs[:, 1])[0].size
    )


def _model(
    kind: str | None,
    data: Data,
    metrics: RowMetrics,
    rows: Ints,
    protocol_of: dict[str, str],
    warnings: list[str],
    two_way: bool,
) -> ModelFit | None:
    if kind is None:
        return None
    if kind not in MODEL_KINDS:
        raise ConfigError(f"--model must be one of {', '.join(MODEL_KINDS)}, got {kind!r}")
    conditions = sorted(protocol_of)
    if not conditions:
        return None
    unassisted = [c for c in conditions if protocol_of[c] == "unassisted"]
    reference = (unassisted or conditions)[0]
    fit = fit_model(kind, data, metrics, rows, reference=reference, two_way=two_way)
    warnings += [f"model ({kind}): {note}" for note in fit.notes]
    return fit


@gc_paused()
@one_blas_thread()
def analyze(
    store: RunStore | str | os.PathLike[str] | Data,
    *,
    by: Sequence[str] | str | None = None,
    where: Sequence[str] | dict[str, Any] | None = None,
    n_bootstrap: int = 2000,
    seed: int = 0,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    n_bins: int = 10,
    pool_judges: bool = False,
    compare_pairs: Sequence[tuple[str, str]] | Sequence[str] | None = None,
    baseline: str | None = None,
    multiplicity: str = "holm",
    model: str | None = None,
    cluster: str | Sequence[str] = "sources,annotators",
) -> Analysis:
    """Analyse a run: per-group accuracy and calibration, assisted vs unassisted, bias,
    debater ratings, judge agreement and escalations.

    ``store`` is a :class:`~transcripts.RunStore`, its folder, or already loaded
    :class:`Data`. ``by`` names the grouping fields (default ``condition`` and ``judge``;
    a comma-separated string works too); ``where`` filters judgments with ``FIELD=VALUE`` /
    ``FIELD!=VALUE`` strings or a ``{field: value}`` dict (see :mod:`oversight.analysis._fields`).
    Intervals use ``n_bootstrap`` cluster-bootstrap resamples drawn from ``seed``.

    ``compare_pairs`` (``[("A", "B"), ...]`` or ``["A,B", ...]``) names the comparisons
    ``A - B``; else ``baseline`` compares every condition with it (a tournament's cross-play
    conditions only when named in ``compare_pairs``); else the defaults of
    :mod:`oversight.analysis._compare` (assisted vs unassisted, debate vs consultancy).
    ``multiplicity`` is ``holm`` (default: Holm-adjusted p-values over all comparisons) or
    ``none``. ``model`` (``gee`` or ``glmm``) adds a logistic model of each judgment's
    correctness (see :mod:`oversight.analysis._model`; needs statsmodels). ``cluster``:
    ``"sources,annotators"`` (default: judgments of two or more people clustered by source
    and annotator, about the population of annotators) or ``"sources"`` (by source alone,
    about the people who judged; :mod:`oversight.analysis._twoway`).

    Judgments of different judges are never pooled silently: when the filtered judgments
    come from more than one judge and ``by`` names no judge field, ``judge`` is added to
    the grouping (with a warning); pass ``pool_judges=True`` to pool them on purpose.
    """
    if n_bootstrap < 1:
        raise ConfigError(f"n_bootstrap must be at least 1, got {n_bootstrap}")
    if not isinstance(n_bins, int) or isinstance(n_bins, bool) or n_bins < 1:
        raise ConfigError(f"n_bins (calibration bins) must be a positive integer, got {n_bins!r}")
    if multiplicity not in ("holm", "none"):
        raise ConfigError(f"multiplicity must be 'holm' or 'none', got {multiplicity!r}")
    pairs = _parse_pairs(compare_pairs)
    clusters = clustering(cluster)
    two_way = "annotators" in clusters
    data = store if isinstance(store, Data) else load(store)
    by_names = _normalise_by(by)
    wheres = parse_where(where if where is None or isinstance(where, dict) else list(where))
    thresholds = tuple(float(t) for t in thresholds)

    mask = np.ones(data.t.size, dtype=bool)
    for w in wheres:
        mask &= where_mask(w, data)
    rows = np.nonzero(mask)[0]
    pooled_warning = None
    if not pool_judges and not JUDGE_FIELDS.intersection(by_names):
        names = {data.judge[r].name for r in rows}
        if len(names) > 1:
            by_names.append("judge")
            pooled_warning = (
                f"the judgments come from {len(names)} judges ({', '.join(sorted(names))}); "
                f"'judge' was added to the grouping so they are not pooled "
                f"(pool them on purpose with --pool-judges)"
            )
    gold = np.clip(data.t_correct[data.t], 0, None)
    metrics = row_metrics(data.probs, gold, data.t_first[data.t])

    protocol_of = protocols_of(data, rows)
    resampler = Resampler(n_bootstrap, seed)
    resolved = [field_codes(data, name) for name in by_names]
    codes = [c for c, _ in resolved]
    uniques = [u for _, u in resolved]

    def group_key(values: list[Any]) -> list[tuple[int, int, float, str]]:
        key = []
        for name, v in zip(by_names, values, strict=True):
            if name == "condition":
                key.append(_sort_key(v, _PROTOCOL_RANK.get(protocol_of.get(v, ""), 1)))
            elif name == "protocol":
                key.append(_sort_key(v, _PROTOCOL_RANK.get(str(v), 1)))
            else:
                key.append(_sort_key(v))
        return key

    groups: list[GroupStats] = []
    rating_tables: list[RatingTable] = []
    matches = pair_table(data)
    n_answers = np.array([len(tr.question.answers) for tr in data.transcripts], dtype=np.int64)
    for values, members in sorted(_split(codes, uniques, rows), key=lambda g: group_key(g[0])):
        label = _label(values)
        groups.append(
            group_stats(
                data,
                metrics,
                members,
                by=dict(zip(by_names, values, strict=True)),
                label=label,
                resampler=resampler,
                thresholds=thresholds,
                n_bins=n_bins,
                n_answers=n_answers,
                two_way=two_way,
            )
        )
        rating_tables += ratings(
            data, members, group=dict(zip(by_names, values, strict=True)), pairs=matches
        )

    warnings: list[str] = [pooled_warning] if pooled_warning else []
    comparisons: list[Comparison] = []
    left_out: list[str] = []
    cond_codes, cond_values = field_codes(data, "condition")
    crossplay = crossplay_conditions(data, rows)
    scored_rows = rows[data.scored[rows]]
    known = sorted({str(cond_values[c]) for c in unique_codes(cond_codes[rows])[0]})
    for name in {n for pair in pairs for n in pair} | ({baseline} if baseline else set()):
        if name not in known:
            raise ConfigError(
                f"--compare/--baseline names the condition {name!r}, which is not among the "
                f"analysed judgments; conditions: {', '.join(known) or 'none'}"
            )
    strata = [
        i
        for i, name in enumerate(by_names)
        if name not in _STRATUM_EXCLUDED and not _per_condition(codes[i], cond_codes, rows)
    ]
    for values, members in sorted(
        _split([codes[i] for i in strata], [uniques[i] for i in strata], scored_rows),
        key=lambda g: [_sort_key(v) for v in g[0]],
    ):
        by_condition = {
            str(cond_values[c]): members[cond_codes[members] == c]
            for c in unique_codes(cond_codes[members])[0]
        }
        comparisons += compare(
            data,
            metrics,
            by_condition,
            protocol_of,
            pairs=comparison_pairs(
                sorted(
                    by_condition,
                    key=lambda c: _sort_key(c, _PROTOCOL_RANK.get(protocol_of.get(c, ""), 1)),
                ),
                protocol_of,
                pairs=pairs,
                baseline=baseline,
                rating_only=crossplay,
            ),
            by={by_names[i]: v for i, v in zip(strata, values, strict=True)},
            resampler=resampler,
            warnings=warnings,
            left_out=left_out,
            two_way=two_way,
        )
    if left_out:
        warnings.append(
            "paired comparisons use the questions judged under both conditions; questions "
            "judged under only one (A/B) were left out of them: " + "; ".join(left_out)
        )
    if multiplicity == "holm":
        adjusted = holm([c.p_value for c in comparisons])
    else:
        adjusted = [c.p_value for c in comparisons]
    comparisons = [
        c.model_copy(update={"p_adjusted": p}) for c, p in zip(comparisons, adjusted, strict=True)
    ]
    if scored_rows.size and not pairs and baseline is None and not comparisons:
        scored = {str(cond_values[c]) for c in cond_codes[scored_rows]}
        fields = [by_names[i] for i in strata]
        warnings.append(no_pairs_reason(scored, protocol_of, fields, crossplay))
    by_judges = judge_comparisons(
        data,
        metrics,
        rows,
        by=by_names,
        order=lambda f, v: (
            _sort_key(v, _PROTOCOL_RANK.get(protocol_of.get(v, ""), 1))
            if f == "condition"
            else _sort_key(v)
        ),
        resampler=resampler,
        multiplicity=multiplicity,
        two_way=two_way,
    )
    few = sorted(
        {x.n_clusters for xs in (groups, comparisons, by_judges) for x in xs}
        & set(range(2, SMALL_SAMPLE_CLUSTERS))
    )
    if few:
        warnings.append(
            f"few sources ({', '.join(map(str, few))}; fewer than {SMALL_SAMPLE_CLUSTERS}): "
            f"intervals of means and differences use CR2 with a t distribution (Bell-McCaffrey "
            f"df) instead of the bootstrap, which undercovers with few clusters; they are "
            f"wide because the data say little"
        )

    if scored_rows.size == 0:
        warnings.append(
            "no judgment could be scored (none in the store, all filtered out, or none ok "
            "with a gold answer): there is nothing to report"
        )
    status = data.status[rows]
    unscored = int(((status == 0) & ~data.scored[rows]).sum())
    if data.orphans:
        warnings.append(
            f"{data.orphans} judgments refer to transcripts that are not in the store; "
            f"they were left out"
        )
    if unscored:
        warnings.append(_unscored_warning(data, rows[(status == 0) & ~data.scored[rows]]))
    return Analysis(
        run=str(data.path),
        run_id=data.run_id,
        settings=Settings(
            by=by_names,
            where=[str(w) for w in wheres],
            n_bootstrap=n_bootstrap,
            small_sample_clusters=SMALL_SAMPLE_CLUSTERS,
            multiplicity=multiplicity,
            cluster=clusters,
            compare=[list(p) for p in pairs],
            baseline=baseline,
            left_out_of_comparisons=[] if pairs else sorted(crossplay - {baseline}),
            seed=seed,
            ci_level=0.95,
            n_bins=n_bins,
            thresholds=list(thresholds),
        ),
        totals=Totals(
            transcripts=len(data.transcripts),
            judgments=int(data.t.size),
            orphaned=data.orphans,
            replaced=data.replaced,
            filtered_out=int(data.t.size - rows.size),
            analysed=int(rows.size),
            scored=int(scored_rows.size),
            failed=int((status == 1).sum()),
            skipped=int((status == 2).sum()),
            unscored=unscored,
        ),
        groups=groups,
        comparisons=comparisons,
        judge_comparisons=by_judges,
        ratings=rating_tables,
        agreement=agreement(data, metrics, rows, resampler=resampler),
        agreement_by_condition=_agreement_by_condition(data, metrics, rows, resampler),
        escalations=escalations(data, rows),
        model=_model(model, data, metrics, rows, protocol_of, warnings, two_way),
        injection=injection_counts(data),
        tournaments=tournaments(
            data,
            rows,
            sorted({data.judge[r].name for r in rows}),
            metrics.score,
            n_bootstrap=n_bootstrap,
            seed=seed,
            two_way=two_way,
        ),
        beliefs=belief_curves(data, by=_normalise_by(by), where=wheres, resampler=resampler)
        if data.path.is_dir()
        else [],
        warnings=warnings,
    )


def _unscored_warning(data: Data, rows: Ints) -> str:
    """Why the ok judgments ``rows`` could not be scored, counted by reason."""
    valid = data.valid[rows]
    no_gold = int((valid & (data.t_correct[data.t[rows]] < 0)).sum())
    reasons = [
        (no_gold, "on a question without a gold answer"),
        (int(valid.sum()) - no_gold, "on a transcript that ended in error"),
        (int((~valid).sum()), "without one probability per answer of the question"),
    ]
    return f"{rows.size} ok judgments could not be scored and were left out: " + ", ".join(
        f"{n} {why}" for n, why in reasons if n
    )
