"""The report's tables as plain data, rendered by the terminal and Markdown writers.

:func:`build_tables` lists them in reading order; the judge agreement and escalation tables
are built in :mod:`oversight.report._judge_agreement`."""

from __future__ import annotations

from typing import Any

from oversight.analysis import Analysis, Comparison, GroupStats
from oversight.analysis._twoway import TEST as TWO_WAY_TEST
from oversight.report._cells import (
    DASH,
    Table,
    _ci_or_why,
    _p,
    ci,
    num,
    pct,
    pp,
    signed_num,
    value,
)
from oversight.report._judge_agreement import agreement_table, escalation_table
from transcripts import answer_label

__all__ = ["DASH", "Table", "build_tables", "ci", "num", "pct", "pp", "signed_num", "value"]


def _accuracy(a: Analysis) -> Table:
    by = a.settings.by
    methods = sorted({g.ci_method for g in a.groups if g.ci_method})
    table = Table(
        "Accuracy by " + (" × ".join(by) or "run"),
        [*by, "n", "sources", "accuracy", "95% CI", "p(gold)", "rounds", "failed", "skipped"],
        note="accuracy: per judgment, gold answer most probable (ties half); CI over the "
        f"group's sources ({'; '.join(methods) or 'none'}); CR2 t below "
        f"{a.settings.small_sample_clusters} sources, where the bootstrap undercovers.",
    )
    table.numeric = set(range(len(by), len(table.headers)))
    for g in a.groups:
        table.rows.append(
            [
                *(value(g.by.get(f)) for f in by),
                str(g.n),
                str(g.n_clusters),
                pct(g.accuracy),
                _ci_or_why(g.ci95, g.n_clusters),
                num(g.mean_p_gold),
                num(g.mean_rounds, 1),
                str(g.n_failed),
                str(g.n_skipped),
            ]
        )
    return table


def _scoring(a: Analysis) -> Table | None:
    by = a.settings.by
    if not a.groups:
        return None
    binary = any(g.brier_binary is not None for g in a.groups)
    table = Table(
        "Calibration and scoring rules (95% CI)",
        [
            *by,
            "Brier (multi-class, 0-2)",
            *(["Brier (binary, 0-1)"] if binary else []),
            "log score",
            "ECE",
        ],
        note="Brier multi-class: sum over answers of (p - 1[gold])^2; binary: (1 - p(gold))^2, "
        "half of it, the convention of debate papers (two-answer groups only); log score: "
        f"mean ln p(gold); ECE: {a.settings.n_bins} equal-width bins (a, b] of max(p), "
        "percentile cluster-bootstrap CI, not debiased.",
    )
    table.numeric = set(range(len(by), len(table.headers)))
    for g in a.groups:
        row = [
            *(value(g.by.get(f)) for f in by),
            f"{num(g.brier)} {ci(g.brier_ci95, scale=1, digits=3)}",
        ]
        if binary:
            row.append(num(g.brier_binary))
        row += [
            f"{num(g.log_score)} {ci(g.log_score_ci95, scale=1, digits=3)}",
            f"{num(g.ece)} {ci(g.ece_ci95, scale=1, digits=3)}",
        ]
        table.rows.append(row)
    return table


def _selective(a: Analysis) -> Table | None:
    by = a.settings.by
    if not a.groups or not a.settings.thresholds:
        return None
    table = Table(
        "Selective accuracy: accuracy (coverage) of the judgments at least this confident",
        [*by, *(f"max(p) ≥ {t:g}" for t in a.settings.thresholds)],
        note="coverage: share of the group's judgments with confidence at or above the "
        "threshold; a calibrated judge gets more accurate as the threshold rises.",
    )
    table.numeric = set(range(len(by), len(table.headers)))
    for g in a.groups:
        cells = [
            f"{pct(p.accuracy)} ({pct(p.coverage, 0)})" if p.n else f"{DASH} (0%)"
            for p in g.selective
        ]
        table.rows.append([*(value(g.by.get(f)) for f in by), *cells])
    return table


def _comparisons(a: Analysis, also: str = "") -> Table | None:
    if not a.comparisons:
        return None
    strata = sorted({k for c in a.comparisons for k in c.by})
    holm = a.settings.multiplicity == "holm"
    table = Table(
        "Comparisons: accuracy of A minus B (per question)",
        [
            *strata,
            "A",
            "B",
            "design",
            "questions A/B",
            "sources",
            "A acc",
            "B acc",
            "difference",
            "95% CI",
            "p (clustered)",
            "p (Holm)" if holm else "p (unadjusted)",
            "McNemar p (b/c), unclustered",
        ],
        note="Per-question accuracy: each question counts once (the accuracy table counts "
        "judgments). paired: the shared questions, A_q - B_q; unpaired: all questions of "
        "each. CI: "
        + "; ".join(sorted({c.ci_method for c in a.comparisons if c.ci_method}))
        + ". p (clustered): sign-flip permutation over sources (paired) or CR3 "
        "cluster-jackknife t (unpaired)"
        + (
            ", or with judgments from two or more annotators a t over sources and "
            "annotators (two-way); "
            if any(c.test == TWO_WAY_TEST for c in a.comparisons)
            else "; "
        )
        + (
            "Holm-adjusted over the report's comparisons. "
            if holm
            else "not adjusted for multiple comparisons. "
        )
        + "McNemar: exact test on per-question majorities (b = right only under A, c = only "
        "under B); it ignores clustering and is shown for reference." + also,
    )
    table.numeric = set(range(len(strata) + 3, len(table.headers)))
    for c in a.comparisons:
        if c.expert is not None and (c.assisted, c.baseline) in {
            (o.assisted, o.baseline)
            for o in a.comparisons[: a.comparisons.index(c)]
            if o.by == c.by
        }:
            continue  # the same pair again for another expert: shown in the gap table
        table.rows.append(
            [
                *(value(c.by.get(f)) for f in strata),
                c.assisted,
                c.baseline,
                c.design,
                f"{c.n_questions}/{c.n_questions_baseline}",
                str(c.n_clusters),
                pct(c.accuracy_assisted),
                pct(c.accuracy_baseline),
                pp(c.difference),
                _ci_or_why(c.ci95, c.n_clusters, signed=True),
                _p(c.p_value),
                _p(c.p_adjusted),
                _mcnemar(c),
            ]
        )
    return table


def _gap(a: Analysis) -> Table | None:
    rows = [c for c in a.comparisons if c.expert is not None and c.n_questions_gap]
    if not rows:
        return None
    strata = sorted({k for c in rows for k in c.by})
    table = Table(
        "Gap closed toward the expert ceiling",
        [
            *strata,
            "A",
            "U",
            "E",
            "questions",
            "A - U",
            "95% CI",
            "E - U",
            "95% CI",
            "gap closed",
            "95% CI (Fieller)",
        ],
        note="gap closed = (A - U) / (E - U) on the questions all three share; Fieller's "
        "interval from the CR2 covariance of A - U and E - U; 'unbounded' when E - U is not "
        "clearly positive (then any ratio fits the data).",
    )
    table.numeric = set(range(len(strata) + 3, len(table.headers)))
    for c in rows:
        gap_ci = "unbounded" if c.gap_closed_bounded is False else ci(c.gap_closed_ci95, digits=0)
        table.rows.append(
            [
                *(value(c.by.get(f)) for f in strata),
                c.assisted,
                c.baseline,
                c.expert or DASH,
                str(c.n_questions_gap),
                pp(c.assisted_minus_baseline),
                ci(c.assisted_minus_baseline_ci95, signed=True),
                pp(c.expert_minus_baseline),
                ci(c.expert_minus_baseline_ci95, signed=True),
                pct(c.gap_closed, 0),
                gap_ci,
            ]
        )
    return table


def _mcnemar(c: Comparison) -> str:
    if c.mcnemar is None:
        return DASH
    m = c.mcnemar
    return f"{_p(m.p_value)} ({m.assisted_only}/{m.baseline_only})"


def _slice_text(g: GroupStats, kind: str, key: Any) -> str:
    slices = {"position": g.by_gold_position, "side": g.by_assigned_side}[kind]
    for s in slices:
        if s.value == key:
            return f"{pct(s.accuracy)} {ci(s.ci95)} n={s.n}"
    return DASH


def _bias(a: Analysis) -> Table | None:
    by = a.settings.by
    positions = sorted(
        {int(s.value) for g in a.groups for s in g.by_gold_position if isinstance(s.value, int)}
    )
    has_side = any(g.by_assigned_side for g in a.groups)
    if len(positions) < 2 and not has_side:
        return None
    headers = [*by, *(f"gold shown {answer_label(p)}" for p in positions), "picks first"]
    if has_side:
        headers += ["consultant correct", "consultant incorrect", "balanced (Khan et al.)"]
    table = Table(
        "Position and side bias (accuracy, 95% CI)",
        headers,
        note="gold shown X: accuracy when the gold answer was presented at position X; "
        "picks first: share of verdicts for the answer shown first (ties split); "
        "consultant correct/incorrect: the consultant argued the gold / a wrong answer; "
        "balanced: their mean, consultancy accuracy as Khan et al. (2024) report it.",
    )
    table.numeric = set(range(len(by), len(headers)))
    for g in a.groups:
        row = [value(g.by.get(f)) for f in by]
        row += [_slice_text(g, "position", p) for p in positions]
        row.append(pct(g.picks_first))
        if has_side:
            row += [
                _slice_text(g, "side", "correct"),
                _slice_text(g, "side", "incorrect"),
                f"{pct(g.balanced_accuracy)} {ci(g.balanced_accuracy_ci95)}"
                if g.balanced_accuracy is not None
                else DASH,
            ]
        table.rows.append(row)
    return table


def _ratings(a: Analysis) -> list[Table]:
    tables = []
    for r in a.ratings:
        where = "".join(f" · {k}={v}" for k, v in r.group.items())
        side = ""
        if r.side_advantage is not None and r.side_advantage_ci95 is not None:
            lo, hi = r.side_advantage_ci95
            side = (
                f" Arguing the correct side is worth {signed_num(r.side_advantage, 2)} logits "
                f"{ci((lo, hi), scale=1, signed=True, digits=2)}."
            )
        table = Table(
            f"Debaters judged by {r.judge}{where} ({r.n_matches} matches between different "
            f"debaters)",
            [
                "debater",
                "Elo",
                "95% CI",
                "matches",
                "win rate",
                "wins as correct",
                "wins as incorrect",
            ],
            numeric={1, 2, 3, 4, 5, 6},
            note="Side-adjusted Bradley-Terry (posterior mode"
            + (f", prior sd {r.prior_sd:g} logits" if r.prior_sd else "")
            + ") on the Elo scale (1500 = prior mean); a debater wins when the judge favours "
            "its assigned answer; wins by side include self-play." + side,
        )
        rated = {p.debater: p for p in r.players}
        order = sorted(
            r.debaters, key=lambda d: -rated[d.debater].elo if d.debater in rated else 1e9
        )
        for d in order:
            p = rated.get(d.debater)
            table.rows.append(
                [
                    d.debater,
                    num(p.elo, 0) if p else DASH,
                    ci(p.ci95, scale=1, digits=0) if p else DASH,
                    str(p.matches) if p else "0",
                    pct(p.win_rate) if p else DASH,
                    f"{pct(d.win_rate_correct)} of {d.matches_correct}",
                    f"{pct(d.win_rate_incorrect)} of {d.matches_incorrect}",
                ]
            )
        tables.append(table)
    return tables


def _model(a: Analysis) -> Table | None:
    fit = a.model
    if fit is None:
        return None
    spread = ", ".join(f"{k} sd {v:.2f}" for k, v in fit.random_effect_sd.items())
    glmm = fit.kind == "glmm"
    table = Table(
        f"Model-based analysis ({fit.kind}, n = {fit.n}): {fit.formula}",
        ["term", "log-odds", "posterior sd"] if glmm else ["term", "log-odds", "95% CI", "p"],
        numeric={1, 2} if glmm else {1, 2, 3},
        note=f"{fit.method}; condition terms against {fit.reference}"
        + (f"; random effects: {spread}" if spread else "")
        + (
            ". Descriptive: no intervals or p-values (variational Bayes understates the "
            "uncertainty; see the notes)"
            if glmm
            else ""
        )
        + ". Beside, not instead of, the design-based intervals above.",
    )
    for term in fit.terms:
        if glmm:
            table.rows.append([term.name, num(term.estimate), num(term.se)])
        else:
            table.rows.append(
                [term.name, num(term.estimate), ci(term.ci95, scale=1, digits=3), _p(term.p_value)]
            )
    return table


def build_tables(a: Analysis) -> list[Table]:
    from oversight.report._judges import judge_comparison_table
    from oversight.report._tournament import crossplay_note, tournament_tables  # builds on this

    """Every table of the report, in reading order (empty sections left out)."""
    from oversight.report._beliefs import belief_tables  # it builds on this module's helpers

    tables: list[Table | None] = [
        _accuracy(a),
        _scoring(a),
        _comparisons(a, crossplay_note(a)),
        _gap(a),
        _selective(a),
        _bias(a),
        *_ratings(a),
        *tournament_tables(a),
        judge_comparison_table(a),
        agreement_table(a),
        escalation_table(a),
        _model(a),
        _injection(a),
        *belief_tables(a),
    ]
    return [t for t in tables if t is not None]


def _injection(a: Analysis) -> Table | None:
    if not a.injection:
        return None
    table = Table(
        "Injection attempts flagged (heuristic detector)",
        ["condition", "transcripts", "flagged", "flagged turns"],
        numeric={1, 2, 3},
        note="speaker text that addresses the judge's instructions or imitates a framework "
        "mark or turn; a heuristic (see RELIABILITY.md for its false-positive rate): check "
        "the flagged turns with `oversight show RUN ID`.",
    )
    for c in a.injection:
        share = pct(c.flagged / c.transcripts)
        table.rows.append([c.condition, str(c.transcripts), f"{c.flagged} ({share})", str(c.turns)])
    return table
