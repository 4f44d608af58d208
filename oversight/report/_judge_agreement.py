"""The report's tables of agreement between judges: each pair of judges on the transcripts
they share (:func:`agreement_table`), and a fallback judge's automatic verdicts against the
people it escalated to (:func:`escalation_table`). :mod:`oversight.report._tables` puts them
in the report's order."""

from __future__ import annotations

from oversight.analysis import Analysis
from oversight.report._cells import DASH, Table, ci, num, pct

__all__ = ["agreement_table", "escalation_table"]


def agreement_table(a: Analysis) -> Table | None:
    """Agreement of each pair of judges on the transcripts they share (kappa, and alpha over
    all judges), overall and per condition; None when no transcript was judged twice."""
    if a.agreement is None:
        return None
    ag = a.agreement
    per_condition = bool(a.agreement_by_condition)
    table = Table(
        f"Judge agreement on shared transcripts (Krippendorff's alpha {num(ag.alpha)} "
        f"{ci(ag.alpha_ci95, scale=1, digits=2)}, {ag.n_transcripts} transcripts, "
        f"{ag.n_judgments} verdicts)",
        ["condition", "judge A", "judge B", "pairs", "agreement", "Cohen's kappa", "alpha"],
        numeric={3, 4, 5, 6},
        note="Every judgment kept (a judge twice on a transcript pairs twice); alpha: over "
        "all judges of the condition, not the pair; 95% CIs over sources: the jackknife t below "
        "50 of them, else the cluster bootstrap.",
    )
    for scope in [ag, *a.agreement_by_condition] if per_condition else [ag]:
        label = scope.condition if scope.condition is not None else "all"
        for p in scope.pairs:
            table.rows.append(
                [
                    label,
                    p.judge_a,
                    p.judge_b,
                    str(p.n),
                    pct(p.observed),
                    f"{num(p.kappa)} {ci(p.kappa_ci95, scale=1, digits=2)}",
                    f"{num(scope.alpha)} {ci(scope.alpha_ci95, scale=1, digits=2)}",
                ]
            )
    return table


def escalation_table(a: Analysis) -> Table | None:
    """Each fallback judge's escalations to people, and how its automatic verdicts agree
    with the people's on the same items; None when no judge escalated."""
    if not a.escalations:
        return None
    table = Table(
        "Escalations to people (fallback judges)",
        [
            "judge",
            "judgments",
            "escalated",
            "pending",
            "pairs",
            "agreement",
            "kappa",
            "LLM acc",
            "human acc",
            "reasons",
        ],
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
