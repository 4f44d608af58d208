"""The tournament section of the report: players' Elo and accuracy, and Khan et al.'s (2024)
figure of judge accuracy against Elo (``accuracy_vs_elo.png``).

The figure has a column of two panels per judge, both with x each player's aggregate
(side-adjusted) Elo with its interval, as the paper's: in self-play both debaters are the
player, so the pair's Elo is its own. Above, one point per player and protocol, y the
judge's accuracy (self-play debate; balanced consultancy) with its interval, and the fitted
line per protocol with its slope and interval in the legend; below, y the player's Elo as
the gold side and as the distractor side (the paper's correct and incorrect ratings against
aggregate Elo). A second table per judge gives each player's Elo and win rate as the gold
side and as the distractor side.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from oversight.analysis import Analysis, PlayerResult, TournamentTable
from oversight.report._tables import DASH, Table, ci, num, pct, signed_num

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["crossplay_note", "tournament_figure", "tournament_plot", "tournament_tables"]

_COLOURS = {"debate": "tab:blue", "consultancy": "tab:orange"}


def crossplay_note(a: Analysis) -> str:
    """The comparisons table's last words when the default comparisons, or those with the
    baseline, left out a tournament's cross-play conditions
    (``settings.left_out_of_comparisons``)."""
    left = a.settings.left_out_of_comparisons
    if not left:
        return ""
    base = a.settings.baseline
    which = "default comparisons" if base is None else f"comparisons with {base}"
    return (
        f" Left out of the {which}: {len(left)} tournament cross-play "
        f"condition{'s' if len(left) > 1 else ''} ({left[0]}{', ...' if len(left) > 1 else ''}; "
        "debates between two different players), which rate the players (players table); "
        "--compare A,B names one."
    )


def tournament_tables(a: Analysis) -> list[Table]:
    """One table per judge: every player's Elo, accuracies and the slopes."""
    tables = []
    for t in a.tournaments:
        slopes = (
            "; ".join(
                f"{s.protocol}: {signed_num(100 * s.relation.slope_per_100_elo)} pp per 100 Elo "
                f"{ci(s.relation.slope_ci95, signed=True)}"
                for s in t.slopes
            )
            or "fewer than three rated players with accuracies: no slope"
        )
        beta = DASH if t.side_advantage is None else signed_num(t.side_advantage, 2)
        shared = (
            ""
            if not t.rating_questions
            else f" Elo (on {t.rating_questions} question{'s' if t.rating_questions != 1 else ''})"
            " and accuracy share no question."
            if not t.shared_questions
            else f" Elo and accuracy share {t.shared_questions} of the {t.rating_questions} "
            "rated questions: a player's Elo and accuracy are correlated through them, which "
            "the slope's interval does not allow for (a [split] gives cross-play its own "
            "questions)."
        )
        table = Table(
            f"Players judged by {t.judge} ({t.n_matches} cross-play judgments)",
            [
                "player",
                "Elo",
                "95% CI",
                "matches",
                "debate acc.",
                "95% CI",
                "n",
                "consultancy acc.",
                "95% CI",
                "n",
            ],
            numeric=set(range(1, 10)),
            note=(
                f"Elo: side-adjusted Bradley-Terry on cross-play (gold side advantage {beta} "
                f"logits); debate accuracy in self-play, consultancy balanced over right and "
                f"wrong consultants, CIs over the player's sources (CR2 t below "
                f"{a.settings.small_sample_clusters}). Accuracy vs Elo (weighted least "
                f"squares, HC2 interval) — {slopes}.{shared}"
            ),
        )
        for p in t.players:
            table.rows.append(
                [
                    p.player,
                    num(p.elo, 0),
                    ci(p.elo_ci95, scale=1, digits=0),
                    str(p.matches),
                    pct(p.debate_accuracy),
                    ci(p.debate_accuracy_ci95),
                    str(p.debate_n),
                    pct(p.consultancy_accuracy),
                    ci(p.consultancy_accuracy_ci95),
                    str(p.consultancy_n),
                ]
            )
        tables.append(table)
        side = _side_table(t)
        if side is not None:
            tables.append(side)
    return tables


def _side_table(t: TournamentTable) -> Table | None:
    """Every player's Elo and win rate as the gold side and as the distractor side (Khan
    et al.'s per-side ratings and win rates); None when no player was rated on a side."""
    if all(p.elo_gold is None and p.elo_distractor is None for p in t.players):
        return None
    table = Table(
        f"Players judged by {t.judge}, by side ({t.n_matches} cross-play judgments)",
        [
            "player",
            "Elo as gold",
            "95% CI",
            "won as gold",
            "95% CI",
            "matches",
            "Elo as distractor",
            "95% CI",
            "won as distractor",
            "95% CI",
            "matches",
        ],
        numeric=set(range(1, 11)),
        note=(
            "Per-side Bradley-Terry on cross-play, as Khan et al.'s separate ratings: each "
            "player rated once arguing the gold answer and once arguing a wrong one, in one "
            "fit of its own (a player's rating shrinks to its side's level); Laplace CIs. "
            "Gold minus distractor: the player's odds as the gold side against itself as "
            "the distractor (400 points: 10:1). Won: the player's share of those matches "
            "won (draws half), CIs over their sources by the rule of the accuracies "
            "(none from one source)."
        ),
    )
    for p in t.players:
        table.rows.append(
            [
                p.player,
                num(p.elo_gold, 0),
                ci(p.elo_gold_ci95, scale=1, digits=0),
                pct(p.win_rate_gold),
                ci(p.win_rate_gold_ci95),
                str(p.matches_gold),
                num(p.elo_distractor, 0),
                ci(p.elo_distractor_ci95, scale=1, digits=0),
                pct(p.win_rate_distractor),
                ci(p.win_rate_distractor_ci95),
                str(p.matches_distractor),
            ]
        )
    return table


def tournament_plot(a: Analysis, path: Path) -> Path | None:
    """Draw accuracy against Elo for every judge with rated players; None without any."""
    fig = tournament_figure(a)
    if fig is None:
        return None
    fig.savefig(path, dpi=150)
    return path


def tournament_figure(a: Analysis) -> Figure | None:
    """The figure of :func:`tournament_plot`: per judge with rated players, a column of two
    panels, both with each player's aggregate Elo on x: judge accuracy (a series per
    protocol, with its fitted line) and the player's Elo by side (a series for the gold
    side and one for the distractor side). None without rated players."""
    panels = [t for t in a.tournaments if any(p.elo is not None for p in t.players)]
    if not panels:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5 * len(panels), 8.4))
    FigureCanvasAgg(fig)
    for n, t in enumerate(panels):
        top = fig.add_subplot(2, len(panels), n + 1)
        _accuracy_panel(top, t)
        top.set_title(f"judge: {t.judge}", fontsize=9)
        _sides_panel(fig.add_subplot(2, len(panels), len(panels) + n + 1), t)
    fig.tight_layout()
    return fig


_X_LABEL = "aggregate Elo (side-adjusted, cross-play)"


def _errorbars(
    ax: Axes,
    points: list[tuple[PlayerResult, float, tuple[float, float] | None]],
    *,
    colour: str,
    label: str,
) -> list[float]:
    """One series: x each player's aggregate Elo with its interval, y the value with its
    interval; the xs drawn."""
    xs = [p.elo or 0.0 for p, _, _ in points]
    ys = [y for _, y, _ in points]
    yerr = [
        [y - (c or (y, y))[0] for (_, y, c) in points],
        [(c or (y, y))[1] - y for (_, y, c) in points],
    ]
    spans = [p.elo_ci95 or (x, x) for x, (p, _, _) in zip(xs, points, strict=True)]
    xerr = [
        [x - lo for x, (lo, _) in zip(xs, spans, strict=True)],
        [hi - x for x, (_, hi) in zip(xs, spans, strict=True)],
    ]
    ax.errorbar(xs, ys, yerr=yerr, xerr=xerr, fmt="o", color=colour, capsize=3, label=label)
    for (p, y, _), x in zip(points, xs, strict=True):
        ax.annotate(p.player, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    return xs


def _accuracy_panel(ax: Axes, t: TournamentTable) -> None:
    """Judge accuracy against aggregate Elo, a series and fitted line per protocol."""
    for protocol, colour in _COLOURS.items():
        points = [
            (p, acc, acc_ci)
            for p in t.players
            if p.elo is not None
            for acc, acc_ci in [
                (p.debate_accuracy, p.debate_accuracy_ci95)
                if protocol == "debate"
                else (p.consultancy_accuracy, p.consultancy_accuracy_ci95)
            ]
            if acc is not None
        ]
        if not points:
            continue
        slope = next((s for s in t.slopes if s.protocol == protocol), None)
        line = None if slope is None else slope.relation
        label = (
            protocol
            if line is None
            else (
                f"{protocol}: {signed_num(100 * line.slope_per_100_elo)} pp/100 Elo "
                f"{ci(line.slope_ci95, signed=True)}"
            )
        )
        xs = _errorbars(ax, points, colour=colour, label=label)
        if line is not None:
            lo, hi = min(xs), max(xs)
            ax.plot(
                [lo, hi],
                [
                    line.accuracy_at_1500 + line.slope_per_100_elo * (x - 1500) / 100
                    for x in (lo, hi)
                ],
                color=colour,
                linewidth=1,
            )
    ax.set_xlabel(_X_LABEL)
    ax.set_ylabel("judge accuracy")
    ax.set_ylim(-0.04, 1.06)
    ax.legend(fontsize=7, loc="lower right")


def _sides_panel(ax: Axes, t: TournamentTable) -> None:
    """Each player's Elo as the gold side and as the distractor side against its aggregate
    Elo (Khan et al.'s ratings as the correct and the incorrect debater)."""
    for label, colour, gold in (
        ("as gold", "tab:green", True),
        ("as distractor", "tab:red", False),
    ):
        points = [
            (p, elo, elo_ci)
            for p in t.players
            if p.elo is not None
            for elo, elo_ci in [
                (p.elo_gold, p.elo_gold_ci95) if gold else (p.elo_distractor, p.elo_distractor_ci95)
            ]
            if elo is not None
        ]
        if points:
            _errorbars(ax, points, colour=colour, label=label)
    ax.set_xlabel(_X_LABEL)
    ax.set_ylabel("Elo by side (per-side fit)")
    if ax.containers:
        ax.legend(fontsize=7, loc="lower right")
