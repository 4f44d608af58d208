"""The GDC gaps and the RRM / prover–estimator tree statistics as report tables (terminal and
Markdown); see :mod:`oversight.analysis._gdc` and :mod:`oversight.analysis._trees`."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console

from oversight.analysis._gdc import GDCEstimate, GDCStats
from oversight.analysis._smallsample import SMALL_SAMPLE_CLUSTERS
from oversight.analysis._trees import TreeStats
from oversight.report._markdown import _md_table
from oversight.report._tables import Table, ci, num, pct, pp, signed_num
from oversight.report._terminal import _rich

__all__ = [
    "GDC_NOTE",
    "TREES_NOTE",
    "gdc_markdown",
    "gdc_table",
    "print_gdc",
    "tree_table",
    "trees_markdown",
]

_CI_RULE = (
    f"CIs over question sources: below {SMALL_SAMPLE_CLUSTERS} sources CR2 with a "
    "Bell–McCaffrey t (a share every item scored alike: Clopper–Pearson over its sources), "
    "from there on the percentile cluster bootstrap; none from one source."
)

GDC_NOTE = (
    "G: the model's own answers that are gold; D: answers it rightly calls flawed "
    "(p_flawed > 0.5) or good; C: its critiques right by a rater who reads the key (flaw "
    "identified, or no false flaw on a good answer). Each gap is its later letter minus its "
    "earlier (GD = GC + CD on the same answers): GD > 0, it tells flaws apart better than it "
    "avoids them; CD > 0, "
    "it knows of flaws it does not articulate (over the answers both measure); GC > 0, it "
    "critiques better than it answers. " + _CI_RULE
)


def _share(e: GDCEstimate) -> str:
    return f"{pct(e.value)} {ci(e.ci95)}" if e.ci95 else pct(e.value)


def _gap(e: GDCEstimate) -> str:
    return f"{pp(e.value)} {ci(e.ci95, signed=True)}" if e.ci95 else pp(e.value)


def gdc_table(stats: Sequence[GDCStats]) -> Table:
    """One row per condition: G, D, C and the gaps with 95% intervals, Brier, helpfulness."""
    headers = [
        "condition",
        "critic",
        "items",
        "flawed",
        "G",
        "D",
        "C",
        "GD = D − G",
        "CD = D − C",
        "GC = C − G",
        "CD (flawed)",
        "Brier(D)",
        "helpfulness",
    ]
    unscored = sum(s.unscored_good for s in stats)
    note = GDC_NOTE + (
        f" {unscored} key-reading rating(s) of answers known to be good predate claims_flaw "
        f"(schema 4) and score no C: re-grade them with oversight rate --with-key."
        if unscored
        else ""
    )
    table = Table("Generator–discriminator–critique gaps (95% CI)", headers, note=note)
    table.numeric = set(range(2, len(headers)))
    for s in stats:
        table.rows.append(
            [
                s.condition,
                s.critic or "—",
                str(s.items),
                str(s.flawed),
                _share(s.generation),
                _share(s.discrimination),
                _share(s.critique),
                _gap(s.d_minus_g),
                _gap(s.d_minus_c),
                _gap(s.c_minus_g),
                _gap(s.d_minus_c_flawed),
                num(s.discrimination_brier.value),
                num(s.helpfulness.value, 2),
            ]
        )
    return table


def print_gdc(stats: Sequence[GDCStats], console: Console) -> None:
    """Print the GDC table (nothing when no condition measured GDC)."""
    if stats:
        console.print(_rich(gdc_table(stats)))


def gdc_markdown(stats: Sequence[GDCStats]) -> str:
    """The GDC table as a Markdown section."""
    return "\n".join(["## GDC gaps", "", _md_table(gdc_table(stats)), ""])


TREES_NOTE = (
    "RRM: reward margin = the gold answer's reward minus the mean of the others'; gold first = "
    "share of items whose highest reward is the gold's (ties shared). Prover–estimator: payoff "
    "= the judge's leaf probability minus the estimator's, signed by the prover's bet; wins = "
    "payoff > 0; honesty premium = payoff arguing the gold minus arguing another answer. "
    + _CI_RULE
)


def _mean(e: GDCEstimate, digits: int = 2) -> str:
    if e.value is None:
        return "—"
    shown = signed_num(e.value, digits)
    return f"{shown} {ci(e.ci95, scale=1, signed=True, digits=digits)}" if e.ci95 else shown


def tree_table(stats: Sequence[TreeStats]) -> Table:
    """One row per condition that grew trees."""
    headers = [
        "condition",
        "protocol",
        "items",
        "reward margin",
        "gold first",
        "payoff",
        "prover wins",
        "honesty premium",
    ]
    table = Table("RRM rewards and prover–estimator payoffs (95% CI)", headers, note=TREES_NOTE)
    table.numeric = set(range(2, len(headers)))
    for s in stats:
        table.rows.append(
            [
                s.condition,
                s.kind,
                str(s.items),
                _mean(s.reward_margin),
                _share(s.gold_ranked_first),
                _mean(s.payoff),
                _share(s.prover_wins),
                _mean(s.honesty_premium),
            ]
        )
    return table


def trees_markdown(stats: Sequence[TreeStats]) -> str:
    """The tree statistics as a Markdown section."""
    return "\n".join(
        ["## RRM rewards and prover–estimator payoffs", "", _md_table(tree_table(stats)), ""]
    )
