"""The table of judges compared on the same transcripts (paired accuracy A - B)."""

from __future__ import annotations

from oversight.analysis import Analysis
from oversight.analysis._twoway import TEST as TWO_WAY_TEST
from oversight.report._cells import Table, _ci_or_why, _p, pct, pp, value

__all__ = ["judge_comparison_table"]


def judge_comparison_table(a: Analysis) -> Table | None:
    """One row per pair of judges per condition (and other ``by`` values), or None."""
    if not a.judge_comparisons:
        return None
    strata = list(dict.fromkeys(k for c in a.judge_comparisons for k in c.by))
    holm = a.settings.multiplicity == "holm"
    methods = "; ".join(sorted({c.ci_method for c in a.judge_comparisons if c.ci_method}))
    table = Table(
        "Judges compared on the same transcripts: accuracy of judge A minus judge B (paired)",
        [
            *strata,
            "judge A",
            "judge B",
            "pairs",
            "only A/B",
            "sources",
            "A acc",
            "B acc",
            "difference",
            "95% CI",
            "p (clustered)",
            "p (Holm)" if holm else "p (unadjusted)",
        ],
        note="A pair is a transcript both judges judged, at the same rounds seen; only A/B: "
        "transcripts one of them alone judged, left out (the accuracy table counts them). "
        "Ties count 1/m. CI: "
        + methods
        + ". p (clustered): sign-flip permutation over sources"
        + (
            ", or where each transcript was judged by at most one of two or more people a t "
            "over sources and annotators (two-way); "
            if any(c.test == TWO_WAY_TEST for c in a.judge_comparisons)
            else "; "
        )
        + (
            "Holm-adjusted over the report's judge comparisons."
            if holm
            else "not adjusted for multiple comparisons."
        ),
    )
    table.numeric = set(range(len(strata) + 2, len(table.headers)))
    for c in a.judge_comparisons:
        table.rows.append(
            [
                *(value(c.by.get(f)) for f in strata),
                c.judge_a,
                c.judge_b,
                str(c.n_pairs),
                f"{c.n_only_a}/{c.n_only_b}",
                str(c.n_clusters),
                pct(c.accuracy_a),
                pct(c.accuracy_b),
                pp(c.difference),
                _ci_or_why(c.ci95, c.n_clusters, signed=True),
                _p(c.p_value),
                _p(c.p_adjusted),
            ]
        )
    return table
