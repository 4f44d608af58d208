"""The report's tables as plain data, rendered by the terminal and Markdown writers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from oversight.analysis import Analysis, Comparison, GroupStats
from transcripts import answer_label

__all__ = ["Table", "build_tables", "ci", "num", "pct", "pp", "value"]

DASH = "—"


@dataclass
class Table:
    """A titled table of strings; ``numeric`` columns are right-aligned."""

    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    numeric: set[int] = field(default_factory=set)
    note: str = ""


def value(v: Any) -> str:
    """A grouping value for display."""
    return DASH if v is None else str(v)


def pct(x: float | None, digits: int = 1) -> str:
    """``0.723`` -> ``72.3%``."""
    return DASH if x is None else f"{100 * x:.{digits}f}%"


def pp(x: float | None) -> str:
    """A difference of proportions in percentage points, signed."""
    return DASH if x is None else f"{100 * x:+.1f} pp"


def num(x: float | None, digits: int = 3) -> str:
    """A plain number."""
    return DASH if x is None else f"{x:.{digits}f}"


def ci(
    interval: tuple[float, float] | None,
    *,
    scale: float = 100,
    signed: bool = False,
    digits: int = 1,
) -> str:
    """``[68.1, 76.0]`` (percent by default)."""
    if interval is None:
        return DASH
    fmt = f"{'+' if signed else ''}.{digits}f"
    return f"[{scale * interval[0]:{fmt}}, {scale * interval[1]:{fmt}}]"


def _accuracy(a: Analysis) -> Table:
    by = a.settings.by
    table = Table(
        "Accuracy by " + (" × ".join(by) or "run"),
        [*by, "n", "accuracy", "95% CI", "p(gold)", "Brier", "log score", "ECE", "rounds",
         "failed", "skipped"],
        note="accuracy: gold answer most probable (ties half); CI: bootstrap over sources; "
        "Brier in [0, 2], lower is better; log score: mean ln p(gold); "
        "ECE: 10 bins of max(p).",
    )
    table.numeric = set(range(len(by), len(table.headers)))
    for g in a.groups:
        table.rows.append(
            [
                *(value(g.by.get(f)) for f in by),
                str(g.n),
                pct(g.accuracy),
                ci(g.ci95),
                num(g.mean_p_gold),
                num(g.brier),
                num(g.log_score),
                num(g.ece),
                num(g.mean_rounds, 1),
                str(g.n_failed),
                str(g.n_skipped),
            ]
        )
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


def _comparisons(a: Analysis) -> Table | None:
    if not a.comparisons:
        return None
    strata = [f for f in a.settings.by if f not in ("condition", "protocol")]
    table = Table(
        "Assisted vs unassisted (paired by question)",
        [*strata, "assisted", "baseline", "pairs", "assisted acc", "baseline acc",
         "difference", "95% CI", "McNemar p (b/c)", "gap closed", "gap 95% CI"],
        note="difference: mean over shared questions of assisted minus baseline accuracy; "
        "CI: paired bootstrap over sources; McNemar: exact, b = right only when assisted, "
        "c = right only unassisted; gap closed: (A - U) / (E - U) toward the expert ceiling.",
    )
    table.numeric = set(range(len(strata) + 2, len(table.headers)))
    for c in a.comparisons:
        table.rows.append(
            [
                *(value(c.by.get(f)) for f in strata),
                c.assisted,
                c.baseline,
                str(c.n_questions),
                pct(c.accuracy_assisted),
                pct(c.accuracy_baseline),
                pp(c.difference),
                ci(c.ci95, signed=True),
                _mcnemar(c),
                pct(c.gap_closed, 0),
                ci(c.gap_closed_ci95, digits=0),
            ]
        )
    return table


def _mcnemar(c: Comparison) -> str:
    if c.mcnemar is None:
        return DASH
    m = c.mcnemar
    p = f"{m.p_value:.3g}" if m.p_value >= 1e-4 else f"{m.p_value:.1e}"
    return f"{p} ({m.assisted_only}/{m.baseline_only})"


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
        headers += ["consultant correct", "consultant incorrect"]
    table = Table(
        "Position and side bias (accuracy, 95% CI)",
        headers,
        note="gold shown X: accuracy when the gold answer was presented at position X; "
        "picks first: share of verdicts for the answer shown first (ties split); "
        "consultant correct/incorrect: the consultant argued the gold / a wrong answer.",
    )
    table.numeric = set(range(len(by), len(headers)))
    for g in a.groups:
        row = [value(g.by.get(f)) for f in by]
        row += [_slice_text(g, "position", p) for p in positions]
        row.append(pct(g.picks_first))
        if has_side:
            row += [_slice_text(g, "side", "correct"), _slice_text(g, "side", "incorrect")]
        table.rows.append(row)
    return table


def _ratings(a: Analysis) -> list[Table]:
    tables = []
    for r in a.ratings:
        table = Table(
            f"Debaters judged by {r.judge} ({r.n_matches} matches between different debaters)",
            ["debater", "Elo", "95% CI", "matches", "win rate", "wins as correct",
             "wins as incorrect"],
            numeric={1, 2, 3, 4, 5, 6},
            note="Bradley-Terry fit by maximum likelihood on the Elo scale (1500 = average); "
            "a debater wins when the judge favours its assigned answer; wins by side include "
            "self-play.",
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


def _agreement(a: Analysis) -> Table | None:
    if a.agreement is None:
        return None
    ag = a.agreement
    per_condition = bool(a.agreement_by_condition)
    table = Table(
        f"Judge agreement on shared transcripts (Krippendorff's alpha {num(ag.alpha)}, "
        f"{ag.n_transcripts} transcripts)",
        ["condition", "judge A", "judge B", "n", "agreement", "Cohen's kappa", "alpha"],
        numeric={3, 4, 5, 6},
    )
    for scope in [ag, *a.agreement_by_condition] if per_condition else [ag]:
        label = scope.condition if scope.condition is not None else "all"
        for p in scope.pairs:
            table.rows.append([label, p.judge_a, p.judge_b, str(p.n), pct(p.observed),
                               num(p.kappa), num(scope.alpha)])
    return table


def _escalations(a: Analysis) -> Table | None:
    if not a.escalations:
        return None
    table = Table(
        "Escalations to people (fallback judges)",
        ["judge", "judgments", "escalated", "pending", "pairs", "agreement", "kappa",
         "LLM acc", "human acc", "reasons"],
        numeric={1, 2, 3, 4, 5, 6, 7, 8},
        note="pairs: escalated items with both an automatic and a human verdict; "
        "accuracies are on those pairs.",
    )
    for e in a.escalations:
        table.rows.append(
            [
                e.judge,
                str(e.n),
                f"{e.escalated} ({pct(e.rate)})",
                str(e.pending),
                str(e.n_pairs),
                pct(e.agreement),
                num(e.kappa),
                pct(e.llm_accuracy),
                pct(e.human_accuracy),
                ", ".join(f"{k}: {v}" for k, v in e.reasons.items()) or DASH,
            ]
        )
    return table


def build_tables(a: Analysis) -> list[Table]:
    """Every table of the report, in reading order (empty sections left out)."""
    tables: list[Table | None] = [
        _accuracy(a),
        _comparisons(a),
        _selective(a),
        _bias(a),
        *_ratings(a),
        _agreement(a),
        _escalations(a),
        _injection(a),
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
        table.rows.append([c.condition, str(c.transcripts), f"{c.flagged} ({share})",
                           str(c.turns)])
    return table
