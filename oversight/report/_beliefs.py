"""The live judges' part of the report: belief turn by turn, turns used, reward.

Tables (terminal and Markdown) and ``beliefs.png``: accuracy and mean p(gold) after each
judge turn, one line per group with 95% intervals over question sources (see
:mod:`oversight.analysis._beliefs` for the definitions). These are one judge's evolving
belief within each transcript; ``rounds.png`` is a different thing, separate judgments of
transcripts cut to k rounds (offline judges, ``rejudge --rounds``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from oversight.analysis import Analysis, BeliefCurve
from oversight.report._tables import DASH, Table, ci, num, pct, value

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["BELIEF_DEFINITIONS", "belief_plot", "belief_tables"]

BELIEF_DEFINITIONS = """\
- **judge turn** (live judges): 0 is the judge's prior, before any speech; turn k follows
  the k-th round. A judge that ended earlier counts with its final belief (carried forward,
  as in Michael et al. 2023); **deciding** counts the transcripts still being judged.
- **reward** (live judges): log score of the final belief (base 2 in the paper) minus the
  turn penalty for each turn the judge chose to continue.
"""
"""How to read the live judges' numbers, as a Markdown list."""


def _by_fields(a: Analysis) -> list[str]:
    fields: list[str] = []
    for c in a.beliefs:
        fields += [f for f in c.by if f not in fields]
    return fields


def belief_tables(a: Analysis) -> list[Table]:
    """The belief-curve and turns-used tables (none without live judges)."""
    if not a.beliefs:
        return []
    by = _by_fields(a)
    notes = sorted({c.note for c in a.beliefs if c.note})
    curve = Table(
        "Live judges: belief after each judge turn, within transcripts",
        [*by, "turn", "deciding", "accuracy", "95% CI", "p(gold)", "95% CI"],
        numeric=set(range(len(by), len(by) + 6)),
        note="turn 0: the prior, before any speech; judges that ended count with their final "
        "belief; deciding: transcripts still being judged; CI over sources: CR2 t below 50, "
        "else the cluster bootstrap" + "".join(f"; {n}" for n in notes),
    )
    used = Table(
        "Live judges: turns used and reward",
        [
            *by,
            "n",
            "mean turns",
            "turns used (turns: transcripts)",
            "reward",
            "95% CI",
            "penalty",
            "turns from",
        ],
        numeric=set(range(len(by), len(by) + 2)) | {len(by) + 3, len(by) + 4, len(by) + 5},
        note="reward: log score of the final belief minus the penalty per continued turn",
    )
    for c in a.beliefs:
        keys = [value(c.by.get(f)) for f in by]
        for p in c.points:
            curve.rows.append(
                [
                    *keys,
                    str(p.turn),
                    f"{p.deciding} of {c.n_transcripts}",
                    pct(p.accuracy),
                    ci(p.accuracy_ci95),
                    num(p.p_gold),
                    ci(p.p_gold_ci95, scale=1, digits=3),
                ]
            )
        histogram = ", ".join(f"{k}: {v}" for k, v in c.turns_used.items())
        used.rows.append(
            [
                *keys,
                str(c.n_transcripts),
                num(c.mean_turns, 2),
                histogram,
                num(c.reward),
                ci(c.reward_ci95, scale=1, digits=3),
                num(c.turn_penalty, 2) if c.turn_penalty is not None else DASH,
                c.turns_from,
            ]
        )
    return [curve, used]


def belief_plot(a: Analysis, path: Path) -> Path | None:
    """``beliefs.png``: accuracy and p(gold) against the judge turn, per group."""
    if not a.beliefs:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(10, 4.6), dpi=150, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2, sharex=True)
    for ax, metric in zip(axes, ("accuracy", "p_gold"), strict=True):
        for k, c in enumerate(a.beliefs):
            _draw(ax, c, metric, offset=(k - (len(a.beliefs) - 1) / 2) * 0.06)
        ax.set_ylim(-0.04, 1.06)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("judge turn (0 = prior, before any speech)")
        ax.set_ylabel("accuracy" if metric == "accuracy" else "mean p(gold)")
        ax.axhline(0.5, color="grey", linewidth=0.6, linestyle=":")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(
            handles, labels, loc="outside lower center", ncols=min(len(labels), 4), fontsize="small"
        )
    fig.suptitle(
        "Live judges: belief within transcripts, turn by turn (final beliefs carried "
        "forward)\n95% intervals over question sources",
        fontsize="medium",
    )
    fig.savefig(path)
    return path


def _draw(ax: Axes, c: BeliefCurve, metric: str, *, offset: float) -> None:
    points = [p for p in c.points if p.deciding > 0]
    xs = [p.turn + offset for p in points]
    if metric == "accuracy":
        ys = [p.accuracy for p in points]
        intervals = [p.accuracy_ci95 for p in points]
    else:
        ys = [p.p_gold for p in points]
        intervals = [p.p_gold_ci95 for p in points]
    low = [max(0.0, y - i[0]) if i else 0.0 for y, i in zip(ys, intervals, strict=True)]
    high = [max(0.0, i[1] - y) if i else 0.0 for y, i in zip(ys, intervals, strict=True)]
    ax.errorbar(
        xs,
        ys,
        yerr=[low, high],
        marker="o",
        markersize=3,
        capsize=2,
        linewidth=1,
        label=f"{c.label} (n={c.n_transcripts})",
    )
